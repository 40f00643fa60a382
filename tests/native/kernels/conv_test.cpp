// Convolution: the optimized drivers against the direct nested-loop reference twin, gradients
// by central finite differences in double, and argument validation.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/text.hpp"
#include "kernels/cpu/conv/conv_implicit_gemm.hpp"
#include "kernels/cpu/conv/conv_implicit_gemm_kernel.hpp"
#include "kernels/cpu/conv/conv_lowering.hpp"
#include "kernels/cpu/conv/im2col.hpp"
#include "conv_test_cases.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::test {
namespace {

std::string describe(const ConvCase& c) {
    auto list = [](const std::vector<int64_t>& v) {
        std::string s;
        for (int64_t e : v) s += std::to_string(e) + ",";
        return s;
    };
    return cat("x=", list(c.x_shape), " M=", c.out_channels, " k=", list(c.kernel), " s=", list(c.strides), " d=",
               list(c.dilations), " pb=", list(c.pads_begin), " pe=", list(c.pads_end), " g=", c.groups);
}

std::vector<ConvCase> edge_cases() {
    return {
        // 2-d: plain 3x3, stride > kernel, dilation, asymmetric pads, groups 2, depthwise, 1x1.
        {{2, 3, 7, 9}, 5, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 4, 11, 10}, 6, {2, 3}, {3, 4}, {1, 1}, {0, 1}, {1, 0}, 1},
        {{2, 4, 9, 9}, 4, {3, 3}, {1, 2}, {2, 3}, {2, 0}, {1, 3}, 2},
        {{3, 6, 8, 7}, 4, {3, 2}, {2, 1}, {1, 1}, {1, 0}, {0, 1}, 2},
        {{2, 5, 9, 13}, 5, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 5},
        {{1, 7, 10, 19}, 7, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 7},
        {{1, 3, 6, 41}, 3, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 3},  // depthwise rows over 16 outputs
        {{2, 3, 9, 8}, 3, {5, 5}, {1, 2}, {2, 1}, {4, 2}, {3, 2}, 3},
        {{2, 9, 5, 7}, 17, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 8, 5, 6}, 4, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 2},
        {{1, 1, 1, 1}, 1, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{0, 3, 5, 5}, 2, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 3, 4, 4}, 2, {4, 4}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        // 1-d and 3-d.
        {{3, 4, 17}, 6, {3}, {2}, {2}, {1}, {2}, 2},
        {{2, 3, 5, 6, 7}, 4, {2, 3, 3}, {1, 2, 1}, {2, 1, 1}, {1, 0, 1}, {0, 1, 1}, 1},
        {{1, 4, 5, 5, 6}, 4, {3, 3, 3}, {1, 1, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 4},
        // Enough (image, group) tasks to run the images in parallel.
        {{8, 4, 6, 6}, 8, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        {{9, 3, 5, 5}, 4, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        // Stride-1 backward data as a forward conv with flipped filters (at least 256 dx
        // positions): pads 0, 1, asymmetric, dilation, groups, 1-d and 3-d.
        {{2, 5, 13, 11}, 7, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 6, 17, 19}, 4, {3, 2}, {1, 1}, {2, 1}, {0, 1}, {3, 0}, 2},
        {{3, 4, 11, 9}, 6, {5, 3}, {1, 1}, {1, 2}, {2, 0}, {1, 2}, 1},
        {{2, 3, 131}, 5, {4}, {1}, {1}, {2}, {1}, 1},
        {{1, 4, 7, 8, 6}, 4, {3, 3, 2}, {1, 1, 1}, {1, 1, 1}, {1, 0, 1}, {1, 2, 0}, 2},
        // Depthwise backward over rows longer than the 16-lane accumulators: stride 1 and 2,
        // dilation, a channel multiplier of 1 with uneven widths.
        {{2, 3, 9, 37}, 3, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 3},
        {{3, 2, 10, 41}, 2, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, 2},
        {{1, 4, 12, 35}, 4, {3, 5}, {1, 1}, {2, 2}, {2, 4}, {2, 3}, 4},
        // Depthwise over more channels than one block of lanes (16 f32, 8 f64), with a partial
        // last block.
        {{2, 19, 6, 5}, 19, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 19},
        {{3, 35, 5, 4}, 35, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 35},
        // Depthwise through the padded strips (forward, backward filter, stride-1 backward data)
        // and the strided backward-data scatter: stride 2 with dilation 2, unequal strides,
        // stride 3 with asymmetric pads, 1-d and 3-d with strides, images tall enough for
        // several strips, fewer channels than a block.
        {{1, 17, 9, 11}, 17, {3, 3}, {2, 2}, {2, 2}, {2, 1}, {1, 2}, 17},
        {{2, 16, 8, 13}, 16, {3, 3}, {2, 1}, {1, 1}, {1, 1}, {1, 1}, 16},
        {{1, 20, 10, 10}, 20, {3, 3}, {3, 3}, {1, 1}, {0, 1}, {2, 0}, 20},
        {{2, 18, 23}, 18, {5}, {2}, {1}, {2}, {2}, 18},
        {{1, 16, 5, 6, 7}, 16, {3, 3, 3}, {2, 1, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 16},
        {{1, 16, 150, 40}, 16, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 16},
        {{1, 9, 150, 9}, 9, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 9},
        {{1, 16, 9, 12}, 16, {3, 3}, {1, 1}, {2, 1}, {2, 1}, {2, 1}, 16},  // 3 x 3 rows, dilated between rows
    };
}

template <class T>
double tolerance(int64_t terms) {
    return std::numeric_limits<T>::epsilon() * 16.0 * static_cast<double>(terms + 4);
}

template <class T>
void check_against_reference(mln_device* device, const ConvCase& c) {
    SCOPED_TRACE(describe(c));
    const mln_conv_params p = params_of(c);
    HostTensor<T> x(c.x_shape), w(w_shape_of(c)), bias({c.out_channels});
    HostTensor<T> y(y_shape_of(c)), y_want(y_shape_of(c));
    fill_random(x);
    fill_random(w);
    fill_random(bias);
    for (int64_t i = 0; i < y.count(); ++i) y.at(i) = std::numeric_limits<T>::quiet_NaN();
    ASSERT_EQ(mln_conv_forward(device, &p, x.desc(), w.desc(), bias.desc(), MLN_UNARY_OP_IDENTITY, nullptr, y.desc()), MLN_STATUS_OK) << mln_last_error();
    const TensorView bias_view = bias.view();
    reference::conv_forward(p, x.view(), w.view(), &bias_view, MLN_UNARY_OP_IDENTITY, nullptr, y_want.view());
    int64_t terms = w.count() / std::max<int64_t>(c.out_channels, 1) * 16;
    EXPECT_TRUE(near_all(y, y_want, tolerance<T>(terms))) << "forward";

    // Backward passes, fed a random dy.
    HostTensor<T> dy(y_shape_of(c)), dx(c.x_shape), dx_want(c.x_shape), dw(w_shape_of(c)), dw_want(w_shape_of(c));
    HostTensor<T> dbias({c.out_channels}), dbias_want({c.out_channels});
    fill_random(dy);
    for (int64_t i = 0; i < dx.count(); ++i) dx.at(i) = std::numeric_limits<T>::quiet_NaN();
    for (int64_t i = 0; i < dw.count(); ++i) dw.at(i) = std::numeric_limits<T>::quiet_NaN();
    ASSERT_EQ(mln_conv_backward_data(device, &p, dy.desc(), w.desc(), dx.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::conv_backward_data(p, dy.view(), w.view(), dx_want.view());
    EXPECT_TRUE(near_all(dx, dx_want, tolerance<T>(c.out_channels * 16 * 16))) << "backward data";
    ASSERT_EQ(mln_conv_backward_filter(device, &p, x.desc(), dy.desc(), dw.desc(), dbias.desc()), MLN_STATUS_OK)
        << mln_last_error();
    const TensorView dbias_view = dbias_want.view();
    reference::conv_backward_filter(p, x.view(), dy.view(), dw_want.view(), &dbias_view);
    const int64_t per_filter = y.count() / std::max<int64_t>(c.out_channels, 1) * 16;
    EXPECT_TRUE(near_all(dw, dw_want, tolerance<T>(per_filter))) << "backward filter";
    EXPECT_TRUE(near_all(dbias, dbias_want, tolerance<T>(per_filter))) << "backward bias";
}

// check(element, c) for every case: in f32 at every ISA, then in f64.
template <class Check>
void for_every_isa_and_f64(const std::vector<ConvCase>& cases, Check&& check) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const ConvCase& c : cases) {
            SCOPED_TRACE(cat(describe(c), " f32 isa=", static_cast<int>(isa)));
            check(0.0f, c);
        }
    }
    for (const ConvCase& c : cases) {
        SCOPED_TRACE(cat(describe(c), " f64"));
        check(0.0, c);
    }
}

// A pass that overwrites its result (every element: the result starts as NaN): at 1 thread within
// `tolerance` of the reference twin, at 2 and 3 threads the same bits as at 1 thread.
template <class T, class Reference, class Pass>
void expect_reference_at_one_thread_and_same_bits_at_more(mln_device* device, const std::vector<int64_t>& shape,
                                                          double tolerance, Reference&& reference, Pass&& pass) {
    int32_t previous = 0;
    ASSERT_EQ(mln_device_get_thread_count(device, &previous), MLN_STATUS_OK);
    HostTensor<T> want(shape), at_one(shape), result(shape);
    reference(want.view());
    auto run = [&](HostTensor<T>& out, int32_t threads) {
        EXPECT_EQ(mln_device_set_thread_count(device, threads), MLN_STATUS_OK);
        for (T& v : out.storage()) v = std::numeric_limits<T>::quiet_NaN();
        EXPECT_EQ(pass(out), MLN_STATUS_OK) << mln_last_error();
    };
    run(at_one, 1);
    EXPECT_TRUE(near_all(at_one, want, tolerance));
    for (int32_t threads : {2, 3}) {
        run(result, threads);
        EXPECT_EQ(std::memcmp(result.storage().data(), at_one.storage().data(), result.storage().size() * sizeof(T)), 0)
            << "differs from 1 thread at " << threads;
    }
    ASSERT_EQ(mln_device_set_thread_count(device, previous), MLN_STATUS_OK);
}

// dW of each case on random x and dy, at every ISA and in f64: within tolerance of the reference
// twin at 1 thread, the same bits at 2 and 3.
void expect_backward_filter_reference_and_same_bits(mln_device* device, const std::vector<ConvCase>& cases) {
    for_every_isa_and_f64(cases, [&](auto element, const ConvCase& c) {
        using T = decltype(element);
        HostTensor<T> x(c.x_shape), dy(y_shape_of(c));
        fill_random(x);
        fill_random(dy);
        const mln_conv_params p = params_of(c);
        expect_reference_at_one_thread_and_same_bits_at_more<T>(
            device, w_shape_of(c), tolerance<T>(dy.count() / c.out_channels * 16),
            [&](const TensorView& want) { reference::conv_backward_filter(p, x.view(), dy.view(), want, nullptr); },
            [&](HostTensor<T>& dw) {
                return mln_conv_backward_filter(device, &p, x.desc(), dy.desc(), dw.desc(), nullptr);
            });
    });
}

class ConvTest : public CpuDeviceTest {
protected:
    // Backward data of each case (random dy and w) against the reference at one thread, f32 at
    // every ISA and f64, and the same bits at 2 and 3 threads.
    void expect_backward_data_matches_reference_and_thread_counts_agree(const std::vector<ConvCase>& cases) {
        for_every_isa_and_f64(cases, [&](auto element, const ConvCase& c) {
            using T = decltype(element);
            HostTensor<T> dy(y_shape_of(c)), w(w_shape_of(c));
            fill_random(dy);
            fill_random(w);
            const mln_conv_params p = params_of(c);
            expect_reference_at_one_thread_and_same_bits_at_more<T>(
                device_, c.x_shape, tolerance<T>(c.out_channels * 16 * 16),
                [&](const TensorView& want) { reference::conv_backward_data(p, dy.view(), w.view(), want); },
                [&](HostTensor<T>& dx) { return mln_conv_backward_data(device_, &p, dy.desc(), w.desc(), dx.desc()); });
        });
    }
};

TEST_F(ConvTest, MatchesReferenceOnEdgeCasesF32EveryIsa) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const ConvCase& c : edge_cases()) check_against_reference<float>(device_, c);
    }
}

TEST_F(ConvTest, MatchesReferenceOnEdgeCasesF64) {
    for (const ConvCase& c : edge_cases()) check_against_reference<double>(device_, c);
}

TEST_F(ConvTest, MatchesReferenceWithOneThreadAndWithThree) {
    at_thread_counts(device_, {1, 3}, [&] {
        for (const ConvCase& c : edge_cases()) check_against_reference<float>(device_, c);
    });
}

// The fused epilogue y = activation(conv + bias + residual) on every driver path (depthwise, 1x1,
// im2col, groups; image-parallel and inner-parallel), each combination of bias and residual
// the drivers treat differently, against the reference twin.
struct EpilogueCase {
    bool bias;
    bool residual;
    mln_unary_op activation;
};

template <class T>
void check_epilogue_against_reference(mln_device* device, const ConvCase& c, const EpilogueCase& e) {
    SCOPED_TRACE(cat(describe(c), " bias=", e.bias, " residual=", e.residual, " activation=",
                     static_cast<int>(e.activation)));
    const mln_conv_params p = params_of(c);
    HostTensor<T> x(c.x_shape), w(w_shape_of(c)), bias({c.out_channels}), residual(y_shape_of(c));
    HostTensor<T> y(y_shape_of(c)), y_want(y_shape_of(c));
    fill_random(x);
    fill_random(w);
    fill_random(bias);
    fill_random(residual);
    for (int64_t i = 0; i < y.count(); ++i) y.at(i) = std::numeric_limits<T>::quiet_NaN();
    ASSERT_EQ(mln_conv_forward(device, &p, x.desc(), w.desc(), e.bias ? bias.desc() : nullptr, e.activation,
                               e.residual ? residual.desc() : nullptr, y.desc()),
              MLN_STATUS_OK)
        << mln_last_error();
    const TensorView bias_view = bias.view();
    const TensorView residual_view = residual.view();
    reference::conv_forward(p, x.view(), w.view(), e.bias ? &bias_view : nullptr, e.activation,
                            e.residual ? &residual_view : nullptr, y_want.view());
    const int64_t terms = w.count() / std::max<int64_t>(c.out_channels, 1) * 16;
    EXPECT_TRUE(near_all(y, y_want, tolerance<T>(terms)));
}

const EpilogueCase kEpilogues[] = {
    {true, false, MLN_UNARY_OP_RELU},   {true, false, MLN_UNARY_OP_GELU},  {false, true, MLN_UNARY_OP_IDENTITY},
    {false, true, MLN_UNARY_OP_RELU},   {true, true, MLN_UNARY_OP_RELU},   {true, true, MLN_UNARY_OP_SILU},
    {false, false, MLN_UNARY_OP_TANH},
};

TEST_F(ConvTest, EpilogueMatchesReferenceOnEveryPathF32EveryIsa) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const ConvCase& c : edge_cases()) {
            for (const EpilogueCase& e : kEpilogues) check_epilogue_against_reference<float>(device_, c, e);
        }
    }
}

TEST_F(ConvTest, EpilogueMatchesReferenceF64WithOneThreadAndWithThree) {
    at_thread_counts(device_, {1, 3}, [&] {
        for (const ConvCase& c : edge_cases()) {
            for (const EpilogueCase& e : kEpilogues) check_epilogue_against_reference<double>(device_, c, e);
        }
    });
}

// Large enough for the packed GEMM path (many tiles, several depth blocks) on one image, so the
// epilogue runs inside the blocked driver rather than the small unpacked path.
TEST_F(ConvTest, EpilogueMatchesReferenceOnAPackedGemm) {
    const ConvCase c{{1, 32, 20, 20}, 40, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1};
    for (const EpilogueCase& e : kEpilogues) check_epilogue_against_reference<float>(device_, c, e);
}

// Shapes that exercise every seam of the implicit-GEMM forward (conv_implicit_gemm.hpp): several
// depth blocks (f32 blocks of 256, f64 of 128), several blocks of output positions, positions
// and output channels that are not multiples of the tile, output channels split into chunks,
// the depth split into slices (one deep image with few positions at 2 and 3 threads: slices of
// several depth blocks, starting inside a channel's taps, their partial sums added before the
// epilogue), strides, dilation, asymmetric padding, groups, 1x1 and 3-d.
std::vector<ConvCase> implicit_gemm_cases() {
    return {
        {{1, 64, 7, 7}, 30, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 40, 23, 29}, 13, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 60, 9, 11}, 14, {3, 3}, {2, 2}, {2, 2}, {2, 1}, {1, 2}, 2},
        {{1, 300, 9, 9}, 20, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 520, 5, 7}, 8, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 12, 6, 7, 8}, 9, {3, 3, 3}, {1, 2, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
        {{1, 3, 70, 70}, 16, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        // Stride 2 from polyphase planes (AVX-512; one group and at most 64 channels: the direct
        // kernel below): odd sizes, asymmetric pads, two position blocks, groups over a batch.
        {{1, 5, 13, 17}, 9, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 4, 12, 9}, 11, {3, 2}, {2, 2}, {1, 1}, {0, 1}, {1, 0}, 1},
        {{1, 8, 40, 64}, 17, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 1},
        {{2, 6, 10, 11}, 4, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 2},
        // A shallow stem (27 deep) over more than one phase block of positions (33 x 35 = 1155 >
        // 1024) below AVX-512, the bias through the micro-kernel's residual operand in one depth
        // block.
        {{1, 3, 66, 70}, 16, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        // Depth slices over polyphase planes: 360 deep, slices of 184 or 120 (not whole channels;
        // AVX-512: the direct kernel, two depth blocks of 184 and 176); 648 deep from 72 channels
        // (AVX-512 too: 90 positions, slices at 2 and 3 threads).
        {{1, 40, 15, 13}, 13, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 72, 17, 19}, 13, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        // Slices of several depth blocks each (f32 blocks of 256), 7x7 outputs as ResNet's layer4.
        {{1, 140, 7, 7}, 19, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        // The transposed form (AVX-512 f32, one image, positions that fill 32-lane panels
        // poorly): 49 positions in tiles of 14 + 7 over 9 depth blocks of whole channels (1260
        // deep: 144 each, a partial last one of 108, slices at 2 and 3 threads; the tiles of a
        // 3x3 with padding 1 leave out the padding's products: window_tiles_apply); 143
        // positions (tiles ending in 3 rows) and 90 output channels (a partial last 32-channel
        // panel); stride 2 with dilation (gathered, no polyphase planes); 3-d; a single output
        // position.
        {{1, 140, 7, 7}, 64, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 24, 13, 11}, 64, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 37, 7, 7}, 90, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 20, 13, 13}, 64, {3, 3}, {2, 2}, {2, 2}, {2, 2}, {2, 2}, 1},
        {{1, 8, 3, 5, 5}, 64, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
        {{1, 50, 3, 3}, 33, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        // Transposed over polyphase planes (AVX-512): 3x3/2 to 7x7 as ResNet's layer4, and odd
        // sizes (27 x 25 to 14 x 13: 182 positions), 28x28 to 14x14 as ResNet's layer3, and
        // 13x13 to 7x7 (padding read by the first and the last output column); 27x27 to 14x14,
        // whose top and bottom rows' tiles leave out the tap rows that read padding only (and
        // the first and last columns' products) over two depth blocks of 96, the second
        // starting at tap 6.
        {{1, 20, 14, 14}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 9, 27, 25}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 12, 28, 28}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 12, 13, 13}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 20, 27, 27}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        // 3x3/2 from even sizes (padding read on the top and left only: window_tiles_apply) in
        // depth blocks of whole channels: 360 deep in blocks of 144, 144 and 72 (slices of 144 at
        // 3 threads, channel ranges at 2) to 14x14 and to 7x7 (the top row's tile leaving out the
        // first tap row, the left column's products in every tile). The tiles read the image in
        // place (strided_window_tile_avx512), also where it is not square: 20 x 14 to 10 x 7
        // (70 positions), 12 x 28 to 6 x 14 with no padding after (the same outputs).
        {{1, 40, 28, 28}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 40, 14, 14}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 20, 20, 14}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 20, 12, 28}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, 1},
        // Transposed over a batch (w^T packed once, an image per task, each task splitting its
        // image's planes or padding it in its thread's buffer): with planes, also odd sizes and
        // padding read by the last column and row; with a partial last channel panel and 10
        // depth blocks.
        {{3, 20, 14, 14}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{3, 9, 27, 25}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 140, 7, 7}, 90, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        // Images two to a task where 7-row last tiles pair up (7x7 outputs from lowered planes: a
        // pair's middle tile 7 positions of each image), the last `threads` images one a task:
        // batches of 5 and 6 give pairs and single images at 1, 2 and 3 threads; 40 channels (a
        // partial last panel). From 14x14 the middle tile is a window tile that leaves out the
        // second image's top row under tap row 0 (image_pair_window_tile_avx512): 81 deep (one
        // depth block) and 180 (blocks of 144 and 36); from 13x13 the tile walks no taps.
        {{5, 9, 14, 14}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{5, 20, 14, 14}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{5, 9, 10, 14}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{6, 12, 13, 13}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        // The polyphase direct kernel (AVX2 and AVX-512 f32, stride 2, one group, at most 64
        // channels; conv_phase_direct.hpp): ResNet's 7x7/2 stem above (pad 3: column shifts -2..1), then
        // odd sizes and 13 output channels (one 13-row panel, a partial last 32-position
        // tile), rows narrower than a tile (7 wide: a tile spans 5 rows), asymmetric pads (0
        // before: no zero row above; 2 after), even kernels (2x2 and 4x4), pad 2 with a 5x5
        // kernel, 7 channels of 3x3 (63 deep); a batch of 3 and of 2 (blocks per image at 1, 2 and
        // 3 threads); 192 deep with an 8x8 kernel (5 column shifts, one depth block) and 12 or 13
        // channels of 4x4 (192 and 208 deep: one and two depth blocks); 64 channels of 3x3 over a
        // 40 x 38 image (576 deep: 3 depth blocks, 20-wide rows in blocks of tiles that start
        // inside a row, 380 positions: several blocks at 2 and 3 threads) and 65 channels (the
        // implicit GEMM again). Output channels split into panels of balanced heights up to 14
        // (AVX2: 6): 1 (one row), 43 (10, 11, 11, 11; AVX2 5 and 6), 64 (12, 13, 13, 13, 13;
        // AVX2 5 and 6) over a 7x7 kernel.
        {{1, 3, 31, 29}, 13, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 3, 17, 19}, 1, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        // Fewer depth rows than one 16-row step of the weight packer's transpose (9 deep).
        {{1, 1, 15, 17}, 5, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 3, 23, 21}, 43, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 3, 26, 24}, 64, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        {{1, 2, 14, 13}, 9, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 3, 19, 23}, 8, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {2, 2}, 1},
        {{1, 4, 17, 16}, 11, {2, 2}, {2, 2}, {1, 1}, {0, 1}, {1, 0}, 1},
        {{1, 3, 21, 20}, 16, {4, 4}, {2, 2}, {1, 1}, {1, 2}, {2, 1}, 1},
        {{1, 3, 22, 25}, 10, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 1},
        {{1, 7, 33, 35}, 24, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{3, 3, 30, 30}, 21, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        {{2, 3, 25, 27}, 17, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 3, 18, 18}, 8, {8, 8}, {2, 2}, {1, 1}, {3, 3}, {4, 4}, 1},
        {{1, 12, 12, 12}, 8, {4, 4}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 13, 12, 12}, 8, {4, 4}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 64, 40, 38}, 19, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 65, 20, 21}, 16, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        // Transposed at batch 1 split by 32-channel panels among the threads (the cases above
        // with 64 and 90 channels at 2 and 3 threads take it or depth slices): 9 panels, the last
        // partial, claimed one a task (the padded image read in place), 4 + 5 or 3 each owned.
        {{1, 16, 7, 7}, 280, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        // The same over polyphase planes, each thread splitting the image's planes itself.
        {{1, 12, 14, 13}, 280, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 24, 14, 14}, 280, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        // A last channel panel of exactly 16 (80 channels: the w^T packer's 16-row blocks end
        // with no row left), 31 input channels (279 deep: blocks of 96, 96 and 87, the last
        // ending 7 short of a 16-deep step).
        {{1, 31, 7, 7}, 80, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        // Stride-1 "same" images 14 and 7 wide read from a zero-padded copy in place of lowered
        // columns (padded_source_applies): 14x14 (one output row per tile), dilation 2 with pad
        // 2, a 5x5 kernel at 7x7 (tiles of two rows, pad wider than a row's margin), a 2x2
        // kernel with pads 0 before and 1 after, a batch of 2 (padded by all threads first).
        {{1, 40, 14, 14}, 64, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 20, 14, 14}, 64, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, 1},
        {{1, 12, 7, 7}, 64, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, 1},
        {{1, 30, 7, 7}, 64, {2, 2}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, 1},
        {{2, 24, 14, 14}, 96, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        // The tiles leave out the depth steps whose tap row reads only padding, and the first
        // or last column's products of taps shifted one column: a 7x7 kernel at 14x14 with pad
        // 3 (each of the first and last three output rows' tiles its own tap rows; two of the
        // seven tap columns one column off the centre); 9 x 7 taps, past the 49 the tiles
        // walk, take lowered columns.
        {{1, 6, 14, 14}, 64, {7, 7}, {1, 1}, {1, 1}, {3, 3}, {3, 3}, 1},
        {{1, 4, 14, 14}, 40, {9, 7}, {1, 1}, {1, 1}, {4, 3}, {4, 3}, 1},
    };
}

TEST_F(ConvTest, ImplicitGemmForwardMatchesReferenceAcrossBlocksAndThreadCounts) {
    at_thread_counts(device_, {1, 2, 3}, [&] {
        for (mln_isa isa : available_isas()) {
            ScopedIsa scoped(isa);
            for (const ConvCase& c : implicit_gemm_cases()) {
                for (const EpilogueCase& e : kEpilogues) check_epilogue_against_reference<float>(device_, c, e);
            }
        }
        for (const ConvCase& c : implicit_gemm_cases()) {
            check_epilogue_against_reference<double>(device_, c, {true, true, MLN_UNARY_OP_RELU});
            check_epilogue_against_reference<double>(device_, c, {true, false, MLN_UNARY_OP_GELU});
        }
    });
}

// The pointwise (1x1) drivers (conv_pointwise.hpp) on every seam: channel counts and positions
// that are primes or not multiples of any strip tile (AVX-512 8 x 48 / 8 x 24, AVX2 6 x 16 /
// 6 x 8, scalar 4 x 4; AVX2's short panels of 4 rows: 16, 20, 22, 40, 64 and 70 rows, one or
// two of them after the 6-row ones, 8 rows two alone) or dot tile (6 x 4, 3 x 3, 2 x 2), a depth of 300 (one pass over C in
// f32, two in f64 below AVX-512), of 530 (two passes in f32 and three in f64 below AVX-512; at
// AVX-512, whose passes are three times as deep, one) and of 1600 (at AVX-512 two passes in f32,
// three in f64) with images grouped per task,
// batch 1 and 3, stride 2 (gathered forward, scattered backward data) and stride 3 on one axis,
// groups, 1-d and 3-d; backward filter through the dot kernel (>= 256 positions: whole images
// per chunk, several images per chunk, blocks of one image's positions with partial sums carried
// between them: 3599 positions against 70 rows of x, 3 blocks in f32; x as the kernel's A, dW written transposed, where x's channels fill its tiles and
// dy's do not: 18 of x and 20 of dy, and the 3-d case's 6 and 13) and through the GEMM (fewer
// positions). The tail kernel (positions mod a register's lanes at most a quarter of them: 49,
// 196, 2 and 323 positions at AVX-512 f32, 49 at every vector ISA): forward on full and edge
// panels (13 and 20 rows; 196 positions 37 deep into 22 rows, batch 1: four columns per pass
// over 4 rows at a time, the edge panel's 6 rows a full and a partial pass; AVX-512 f32's 8 x 4
// passes of two rows' halves, 37 deep a masked last half, once per task over its panels; 1600
// deep into 13 rows, two depth blocks: per panel, C accumulated; 2 groups of 9 deep into 13
// rows: the per-task pass per group), backward data with rows across lanes (530, 300, 20, 12 rows: full
// and masked registers; AVX-512 f32 stores each row's four columns at once), 530 deep (two passes over C), stride 2 (49 gathered positions), groups;
// an image of 2 positions is all tail. Strided forward on several threads gathers per task:
// 31 x 23 outputs (position blocks that start inside an output row) and 3-d stride 2 (runs that
// cross a plane), 2 images of 6 x 4 at stride 2 (6 positions 5 deep: the AVX-512 row gather's
// whole stores stop at the block's end); at AVX-512 rows whose skipped rows span 32+ floats (45 to
// 58 wide) row by row across the channels, whole stores stopping at each channel's row end, the
// last row's prefetch inside x. Task splits (split_tasks): position blocks on whole tiles of about equal
// registers where the L2 budget takes two (196 positions 800 deep; 400 deep, 2 images: one
// block each, the image under kImageBlockBytes, one image a task) or the pool more (784
// positions at 2 and 3 threads, the last block ending in a one-register tile), images in uneven
// groups (7 images of 7x7 in groups of 2 and 3). Forward tail columns of several images as one
// strip (AVX-512 f32, half a register or more): 4 images of 196 positions (16 or 8 columns), 2
// of 100 positions 1600 deep (8 columns over two depth blocks: C copied in and accumulated).
// Tail columns fused into a strip's first full tile (AVX-512): 7x7 forward, one column, 700 deep (one
// depth pass whose L2 budget once left the tail a block of its own) and 1600 (two passes, C
// accumulated); its dot products 32 deep at a time, then 16, then masked (depths 12, 16, 24, 40,
// 300, 700: each step first and later); backward data with rows across the lanes, one column (300 and 24 rows at 7x7)
// and two (50 positions: 45 rows, the last panel an edge one; 2 images).
// Strided backward data spreads each task's block into dx with the zeros between: 2 images of
// 58 x 46 at stride 2, 300 deep (4 position blocks for the L2 budget, starting inside output
// rows; the last input row and column skipped, zeros after the last block's outputs); 8
// channels of 56 x 56 at stride 2, whose second block (2 threads) begins a register late, where
// its spread starts a cache line (AVX-512 spreads stride-2 rows in registers: rows of 23 and 28,
// a full register and a masked one, runs cut short by the blocks); whole planes of input twice
// the output (AVX-512 spreads them as one stream over the channels, its pattern repeating every
// 5 or 7 registers in f32 and f64; rows of up to 16 outputs): 20 channels of 14 x 14 (rows of
// 7), 2 images of 13 channels of 28 x 28 (an edge panel), 3 images of 9 channels of 6 x 10 (rows
// of 5). Where those planes are whole registers (AVX-512) the strip kernel's stores spread the
// outputs themselves, each tile the input positions its outputs own, through two registers of
// outputs permuted: the 28 x 28 case above (4 tail columns spread after), 2 images of 21
// channels of 20 x 24 (120 positions: a masked last tile, an edge panel), 16 channels of 32 x 32
// (256 positions, the last tile one register), 8 channels of 48 x 32 (384 positions: at 2 and 3
// threads blocks of them, each owning its input positions), in f64 24 channels of 26 x 4 (26
// positions: two tail columns fused into the first tile, spread after). An x of 8 MB (forward
// prefetches its next tile's columns). Below AVX-512, tasks of 4+ row panels on images of 784+
// positions at most 128 deep prefetch them on every panel: forward 70 deep into 24 rows at 61 x 59
// (a masked last tile), 9 deep into 30 rows gathered at stride 2 (29 x 28 outputs); backward
// data 24 deep into 70 rows, 16 into 40 at 28 x 28, 5 into 64 at 130 x 130 (at AVX-512 these and
// the other backward data cases up to 21 deep prefetch the next tile's dy columns into L1 on
// every panel: masked last tiles, edge panels, tail columns, spread stores).
// Column chunks (AVX-512), every panel over a chunk of tiles before the next (depth 32-64, 8 row
// panels or more, stride 1): forward 40 deep into 70 rows (an edge panel), 3 images of 323
// positions (their tail columns as one strip), 2 images 33 deep into 64 rows at 289 positions
// (one tail column fused into the last chunk's first tile; one image's forward keeps whole
// blocks, its tail column fused into the strip's first tile); backward data 45 deep into 72 rows
// at 306 positions (two tail columns fused, rows across the lanes).
// Below AVX-512, images of 128 to 256 positions read B in place in depth blocks of 1 KiB, never
// packed: 14x14 backward data 300 deep (two passes over dx) and 2 images of 13 x 11 (143
// positions, the last tile masked) forward 600 deep (three passes, C accumulated), besides the
// 14x14 cases above (530, 800 and 400 deep). AVX2 fuses backward data's one tail column at 7x7 into
// a panel's last packed tile (300 deep into 40 rows: 4-row short panel, 2 images) as into its first
// in-place tile (17 deep into 700 rows). Every epilogue in f32 at every ISA, all
// three passes in f32 and f64, at 1, 2 and 3 threads.
std::vector<ConvCase> pointwise_cases() {
    return {
        {{1, 17, 13, 11}, 29, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{3, 16, 19, 17}, 96, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 70, 61, 59}, 24, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 13, 23, 29}, 7, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 300, 7, 7}, 40, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{3, 530, 5, 6}, 21, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 20, 15, 13}, 33, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 5, 45, 47}, 12, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 9, 14, 16}, 11, {1, 1}, {3, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 8, 17, 16}, 20, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {{2, 18, 16, 17}, 20, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 5, 300}, 11, {1}, {1}, {1}, {0}, {0}, 1},
        {{1, 6, 4, 9, 10}, 13, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, 1},
        {{1, 12, 7, 7}, 20, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 530, 14, 14}, 13, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 33, 1, 2}, 19, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 20, 14, 14}, 24, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 16, 7, 7}, 24, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {{1, 7, 61, 45}, 10, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 6, 5, 9, 10}, 13, {1, 1, 1}, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, 1},
        {{2, 400, 14, 14}, 8, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 800, 14, 14}, 8, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 37, 14, 14}, 22, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 40, 28, 28}, 16, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{7, 24, 7, 7}, 40, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{4, 12, 14, 14}, 20, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 1600, 10, 10}, 9, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{3, 1600, 7, 7}, 20, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 64, 130, 130}, 5, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 700, 7, 7}, 17, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 45, 5, 10}, 24, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 24, 58, 46}, 300, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 8, 56, 56}, 16, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{3, 40, 19, 17}, 70, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 72, 18, 17}, 45, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 33, 17, 17}, 64, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 33, 17, 17}, 64, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 24, 14, 14}, 300, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 600, 13, 11}, 10, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 40, 7, 7}, 300, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 9, 57, 56}, 30, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 13, 28, 28}, 40, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{3, 9, 6, 10}, 11, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 5, 6, 4}, 7, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 21, 20, 24}, 24, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 16, 32, 32}, 19, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 8, 48, 32}, 12, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 24, 26, 4}, 17, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 1600, 14, 14}, 13, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 18, 14, 14}, 26, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
    };
}

TEST_F(ConvTest, PointwiseMatchesReferenceAtEveryIsaAndThreadCount) {
    at_thread_counts(device_, {1, 2, 3}, [&] {
        for (mln_isa isa : available_isas()) {
            ScopedIsa scoped(isa);
            for (const ConvCase& c : pointwise_cases()) {
                check_against_reference<float>(device_, c);
                check_against_reference<double>(device_, c);
                for (const EpilogueCase& e : kEpilogues) check_epilogue_against_reference<float>(device_, c, e);
                check_epilogue_against_reference<double>(device_, c, {true, true, MLN_UNARY_OP_RELU});
            }
        }
    });
}

// At AVX-512, where B takes 8 MB or more and tasks whole images, the panels after a task's first
// prefetch the next task's images (PointwiseStrip::stream): 28 images of 14x14, forward 384 deep
// into 9 rows (the second panel an edge one), backward data 384 out of 9 channels. f32 at 2
// threads only: the reference twin over these sizes at every ISA and thread count outlasted the
// test timeout on a loaded machine.
TEST_F(ConvTest, PointwiseStreamsNextTaskImagesAtAvx512) {
    const std::vector<mln_isa> isas = available_isas();
    if (std::find(isas.begin(), isas.end(), MLN_ISA_AVX512) == isas.end()) GTEST_SKIP() << "no AVX-512 here";
    ScopedIsa scoped(MLN_ISA_AVX512);
    at_thread_counts(device_, {2}, [&] {
        check_against_reference<float>(device_, {{28, 384, 14, 14}, 9, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1});
        check_against_reference<float>(device_, {{28, 9, 14, 14}, 384, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1});
    });
}

// Geometry of one image for the lowering tests: in/kernel/stride/dilation/pad per axis, out derived.
WindowGeometry lowering_geometry(std::vector<int64_t> in, std::vector<int64_t> kernel, std::vector<int64_t> stride,
                                 std::vector<int64_t> dilation, std::vector<int64_t> pad) {
    WindowGeometry g;
    const size_t skip = 3 - in.size();
    g.spatial_rank = static_cast<int32_t>(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        const size_t d = skip + i;
        g.in[d] = in[i];
        g.kernel[d] = kernel[i];
        g.stride[d] = stride[i];
        g.dilation[d] = dilation[i];
        g.pad_begin[d] = g.pad_end[d] = pad[i];
        g.out[d] = (in[i] + 2 * pad[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i] + 1;
    }
    return g;
}

// `lower` against im2col; nullptr: the ISA's column_panel_lowering.
template <class T>
void check_lowering(mln_isa isa, const WindowGeometry& g, int64_t channels, int64_t nr,
                    kernels::ColumnPanelLowering<T> lower = nullptr) {
    SCOPED_TRACE(cat("isa=", static_cast<int>(isa), " nr=", nr, " in=", g.in[0], ",", g.in[1], ",", g.in[2],
                     " k=", g.kernel[1], ",", g.kernel[2], " s=", g.stride[2], " d=", g.dilation[2],
                     " p=", g.pad_begin[2]));
    const int64_t depth = channels * g.kernel_size();
    const int64_t out_size = g.out_size();
    std::vector<T> x(static_cast<size_t>(channels * g.in_size()));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(i % 97) - T(40);
    // Non-finite values are copied like any other.
    x[x.size() / 3] = std::numeric_limits<T>::quiet_NaN();
    x[x.size() / 2] = std::numeric_limits<T>::infinity();
    std::vector<T> columns(static_cast<size_t>(depth * out_size));
    kernels::im2col_rows(x.data(), g, 0, depth, columns.data());
    if (lower == nullptr) lower = kernels::column_panel_lowering<T>(isa);
    // Blocks that start and end inside and on panel and image-row edges, over all rows or a depth slice.
    const int64_t starts[] = {0, 1, nr - 1, nr, g.out[2] + 3};
    for (int64_t q0 : starts) {
        for (int64_t cols : {int64_t{1}, nr - 1, nr, nr + 1, 3 * nr + 5, out_size}) {
            if (q0 >= out_size) continue;
            cols = std::min(cols, out_size - q0);
            for (int64_t pc : {int64_t{0}, depth / 3}) {
                const int64_t kc = std::max<int64_t>(1, depth - pc - depth / 4);
                const int64_t panels = (cols + nr - 1) / nr;
                std::vector<T> packed(static_cast<size_t>(panels * nr * kc + 1), T(-7));
                lower(x.data(), g, pc, kc, q0, cols, nr, packed.data());
                bool same = packed.back() == T(-7);  // nothing past the panels
                for (int64_t p = 0; p < kc && same; ++p) {
                    for (int64_t j = 0; j < panels * nr && same; ++j) {
                        const T got = packed[static_cast<size_t>(j / nr * nr * kc + p * nr + j % nr)];
                        const T want = j < cols ? columns[static_cast<size_t>((pc + p) * out_size + q0 + j)] : T(0);
                        same = std::memcmp(&got, &want, sizeof(T)) == 0;
                        EXPECT_TRUE(same) << "q0=" << q0 << " cols=" << cols << " pc=" << pc << " row " << p
                                          << " column " << j << ": " << got << " vs " << want;
                    }
                }
            }
        }
    }
}

// The AVX2 flipped-filter packer (position panels' w^T for backward data as the forward of dy)
// against its formula, bit for bit: 16 channels (a whole panel row), 21 (a block and 5 single
// lanes, zeros after them) and 7 (single lanes only); 9 taps (a column of 8 and one gathered), 8
// (a column alone), 3 (gathered only) and 25; depth ranges from 0 and from inside a dy channel's
// taps, ending inside another's.
TEST(ConvFlippedWeightsTest, Avx2PanelsMatchTheFlippedFilters) {
    const std::vector<mln_isa> isas = available_isas();
    if (std::find(isas.begin(), isas.end(), MLN_ISA_AVX2) == isas.end()) GTEST_SKIP() << "no AVX2 here";
    constexpr int64_t kWidth = kernels::kFlippedPanelWidthAvx2;
    for (const int64_t K : {9, 8, 3, 25}) {
        for (const int64_t rows : {16, 7}) {
            const int64_t out_channels = 21, dy_channels = 5;
            std::vector<float> w(static_cast<size_t>(dy_channels * out_channels * K));
            for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 251) - 100.0f;
            const int64_t depth = dy_channels * K;
            for (const int64_t oc : {int64_t{0}, out_channels - rows}) {
                for (const auto& [pc, kc] : {std::pair<int64_t, int64_t>{0, depth}, {K / 2 + 1, depth - K - 1}}) {
                    SCOPED_TRACE(cat("K=", K, " rows=", rows, " oc=", oc, " pc=", pc, " kc=", kc));
                    std::vector<float> panel(static_cast<size_t>(kc * kWidth + 1), -7.0f);
                    kernels::pack_flipped_weights_avx2(w.data() + oc * K, out_channels * K, K, rows, pc, kc,
                                                       panel.data());
                    EXPECT_EQ(panel.back(), -7.0f);  // nothing past the panel
                    for (int64_t i = 0; i < kc; ++i) {
                        const int64_t m = (pc + i) / K, k = (pc + i) % K;
                        for (int64_t j = 0; j < kWidth; ++j) {
                            const float want = j < rows ? w[static_cast<size_t>((m * out_channels + oc + j) * K + K - 1 - k)]
                                                        : 0.0f;
                            ASSERT_EQ(panel[static_cast<size_t>(i * kWidth + j)], want) << "row " << i << " lane " << j;
                        }
                    }
                }
            }
        }
    }
}

// Position panels' tiles (and backward data's transposed column GEMM's): whole MR panels, then
// edge tiles of 4 to MR rows, rows taken from the last whole panels where the rest alone would be
// shorter; every position in exactly one tile.
TEST(ConvPositionPanelsTest, TilesCoverThePositionsInPanelsAndEdgeTilesOfFourRowsOrMore) {
    using kernels::implicit_gemm::position_panels::position_tiles;
    auto tiles_of = [](int64_t positions) {
        const auto t = position_tiles(positions, 6, true);
        std::vector<int64_t> rows{t.panel_rows};
        for (int i = 0; i < t.tails; ++i) rows.push_back(t.tail_rows[i]);
        return rows;
    };
    EXPECT_EQ(tiles_of(49), (std::vector<int64_t>{36, 5, 4, 4}));
    EXPECT_EQ(tiles_of(196), (std::vector<int64_t>{192, 4}));
    EXPECT_EQ(tiles_of(48), (std::vector<int64_t>{48}));
    EXPECT_EQ(tiles_of(14), (std::vector<int64_t>{6, 4, 4}));
    EXPECT_EQ(tiles_of(15), (std::vector<int64_t>{6, 5, 4}));
    EXPECT_EQ(tiles_of(117), (std::vector<int64_t>{108, 5, 4}));
    EXPECT_EQ(tiles_of(5), (std::vector<int64_t>{0, 5}));
    EXPECT_EQ(tiles_of(1), (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(tiles_of(7), (std::vector<int64_t>{0, 4, 3}));
    // No edge kernel: all in panels, the last one partial.
    EXPECT_EQ(position_tiles(49, 6, false).panel_rows, 49);
    EXPECT_EQ(position_tiles(49, 6, false).tails, 0);
}

TEST(ConvLoweringTest, PanelsMatchIm2colAtEveryIsaAndPanelWidth) {
    const WindowGeometry geometries[] = {
        lowering_geometry({9, 23}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
        lowering_geometry({11, 37}, {3, 3}, {2, 2}, {1, 1}, {1, 1}),
        lowering_geometry({16, 40}, {7, 7}, {2, 2}, {1, 1}, {3, 3}),
        lowering_geometry({13, 50}, {1, 1}, {2, 2}, {1, 1}, {0, 0}),
        lowering_geometry({10, 31}, {3, 2}, {3, 3}, {2, 3}, {2, 1}),
        lowering_geometry({3, 2}, {5, 5}, {1, 1}, {1, 1}, {2, 2}),
        lowering_geometry({5, 6, 19}, {2, 3, 3}, {1, 2, 2}, {2, 1, 1}, {1, 1, 2}),
        lowering_geometry({67}, {4}, {2}, {3}, {2}),
        // Rows under 16 outputs (the AVX-512 gather path).
        lowering_geometry({7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
        lowering_geometry({14, 15}, {3, 3}, {2, 2}, {1, 1}, {1, 1}),
        lowering_geometry({4, 9, 5}, {3, 2, 3}, {2, 1, 1}, {1, 2, 1}, {1, 0, 2}),
        // Stride 1, output the input's size (the masked-load path of conv_same_size_lowering.hpp in
        // 2-d: AVX2 at NR a multiple of 8; AVX-512's gather path), dilated, 3-d and 1x1.
        lowering_geometry({12, 20}, {3, 3}, {1, 1}, {2, 2}, {2, 2}),
        lowering_geometry({4, 5, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),
        lowering_geometry({6, 33}, {1, 1}, {1, 1}, {1, 1}, {0, 0}),
        lowering_geometry({11, 13}, {7, 7}, {1, 1}, {1, 1}, {3, 3}),
    };
    for (mln_isa isa : available_isas()) {
        for (const WindowGeometry& g : geometries) {
            for (int64_t nr : {4, 8, 16, 32}) {
                check_lowering<float>(isa, g, 3, nr);
                check_lowering<double>(isa, g, 2, nr);
            }
        }
    }
}

#if defined(MYELIN_X86_64_KERNELS)
// The transposed implicit GEMM's lowering for stride 1 with outputs the input's size (masks per
// tap): 3x3 as ResNet's 14x14 and 7x7, dilated and wider than the pad, asymmetric pads, 1x1, a
// 7x7 kernel (49 taps, the most it takes), an even kernel, a 1-wide image; blocks that start and
// end inside rows and panels (check_lowering), NaN and Inf copied.
TEST(ConvLoweringTest, SameSizePanelsMatchIm2col) {
    const std::vector<mln_isa> isas = available_isas();
    if (std::find(isas.begin(), isas.end(), MLN_ISA_AVX512) == isas.end()) GTEST_SKIP() << "no AVX-512 here";
    std::vector<WindowGeometry> geometries = {
        lowering_geometry({14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
        lowering_geometry({7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
        lowering_geometry({12, 20}, {3, 3}, {1, 1}, {2, 2}, {2, 2}),
        lowering_geometry({9, 23}, {1, 1}, {1, 1}, {1, 1}, {0, 0}),
        lowering_geometry({11, 13}, {7, 7}, {1, 1}, {1, 1}, {3, 3}),
        lowering_geometry({5, 1}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
    };
    // Asymmetric: 2x2 kernel, pad 0 before and 1 after keeps the size.
    WindowGeometry even = lowering_geometry({6, 9}, {2, 2}, {1, 1}, {1, 1}, {0, 0});
    even.pad_end[1] = even.pad_end[2] = 1;
    even.out[1] = 6;
    even.out[2] = 9;
    geometries.push_back(even);
    for (const WindowGeometry& g : geometries) {
        for (int64_t nr : {16, 32}) {
            ASSERT_TRUE(kernels::same_size_lowering_applies(g, g.out_size(), nr));
            check_lowering<float>(MLN_ISA_AVX512, g, 3, nr, kernels::lower_same_size_avx512);
        }
    }
    // Not taken: stride 2, an output of another size, 3-d, more than 49 taps, too many columns.
    EXPECT_FALSE(kernels::same_size_lowering_applies(lowering_geometry({14, 15}, {3, 3}, {2, 2}, {1, 1}, {1, 1}), 56, 64));
    EXPECT_FALSE(kernels::same_size_lowering_applies(lowering_geometry({14, 14}, {3, 3}, {1, 1}, {1, 1}, {0, 0}), 144, 144));
    EXPECT_FALSE(kernels::same_size_lowering_applies(lowering_geometry({4, 5, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}), 120, 128));
    EXPECT_FALSE(kernels::same_size_lowering_applies(lowering_geometry({9, 9}, {9, 9}, {1, 1}, {1, 1}, {4, 4}), 81, 96));
    EXPECT_FALSE(kernels::same_size_lowering_applies(lowering_geometry({40, 40}, {3, 3}, {1, 1}, {1, 1}, {1, 1}), 1600, 1600));
}

// Which images the transposed form reads from a zero-padded copy (the cases in
// implicit_gemm_cases rely on it): stride 1, output the input's size, 2-d, 7 or 14 wide.
TEST(ConvLoweringTest, PaddedSourceTakesSameSizeImagesSevenOrFourteenWide) {
    using kernels::implicit_gemm::transposed::padded_source_applies;
    EXPECT_TRUE(padded_source_applies(lowering_geometry({14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1}), 256));
    EXPECT_TRUE(padded_source_applies(lowering_geometry({7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}), 512));
    EXPECT_TRUE(padded_source_applies(lowering_geometry({14, 14}, {3, 3}, {1, 1}, {2, 2}, {2, 2}), 20));
    EXPECT_TRUE(padded_source_applies(lowering_geometry({3, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}), 8));
    EXPECT_FALSE(padded_source_applies(lowering_geometry({13, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1}), 24));
    EXPECT_FALSE(padded_source_applies(lowering_geometry({14, 14}, {3, 3}, {2, 2}, {1, 1}, {1, 1}), 256));
    EXPECT_FALSE(padded_source_applies(lowering_geometry({14, 14}, {3, 3}, {1, 1}, {1, 1}, {0, 0}), 256));
    EXPECT_FALSE(padded_source_applies(lowering_geometry({2, 7, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}), 8));
    EXPECT_FALSE(padded_source_applies(lowering_geometry({7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}), int64_t{1} << 24));
    // The tiles walk at most PaddedTaps::kMaxTaps taps: 7x7 takes the padded image, 9x7 not.
    EXPECT_TRUE(padded_source_applies(lowering_geometry({14, 14}, {7, 7}, {1, 1}, {1, 1}, {3, 3}), 8));
    EXPECT_FALSE(padded_source_applies(lowering_geometry({14, 14}, {9, 7}, {1, 1}, {1, 1}, {4, 3}), 8));
}

// The stride-2 lowering from polyphase planes against im2col, on blocks that start and end inside
// and on panel and image-row edges, with NaN and Inf copied like any other value; at AVX-512 and
// AVX2 where the CPU has them.
TEST(ConvLoweringTest, PhasePlanePanelsMatchIm2col) {
    const std::vector<mln_isa> isas = available_isas();
    if (std::find(isas.begin(), isas.end(), MLN_ISA_AVX2) == isas.end()) GTEST_SKIP() << "no AVX2 here";
    const WindowGeometry geometries[] = {
        lowering_geometry({16, 40}, {7, 7}, {2, 2}, {1, 1}, {3, 3}),
        lowering_geometry({11, 37}, {3, 3}, {2, 2}, {1, 1}, {1, 1}),
        lowering_geometry({14, 15}, {3, 3}, {2, 2}, {1, 1}, {1, 1}),
        lowering_geometry({10, 8}, {2, 4}, {2, 2}, {1, 1}, {0, 1}),
        lowering_geometry({2, 3}, {3, 3}, {2, 2}, {1, 1}, {1, 1}),
        lowering_geometry({9, 9}, {3, 3}, {2, 2}, {1, 1}, {2, 2}),  // planes past the image's rows and columns
    };
    // AVX2's masks per tap stop at kMaxPhaseTapsAvx2 taps: larger kernels keep the image lowering.
    EXPECT_EQ(kernels::phase_lowering<float>(MLN_ISA_AVX2, lowering_geometry({20, 20}, {9, 7}, {2, 2}, {1, 1}, {4, 3}))
                  .split,
              nullptr);
    const int64_t channels = 3;
    for (const mln_isa isa : {MLN_ISA_AVX512, MLN_ISA_AVX2}) {
        if (std::find(isas.begin(), isas.end(), isa) == isas.end()) continue;
        for (const WindowGeometry& g : geometries) {
            const kernels::PhaseLowering<float> phases = kernels::phase_lowering<float>(isa, g);
            ASSERT_NE(phases.split, nullptr);
            ASSERT_TRUE(kernels::phase_planes_apply(g));
            const int64_t depth = channels * g.kernel_size();
            const int64_t out_size = g.out_size();
            std::vector<float> x(static_cast<size_t>(channels * g.in_size()));
            for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 97) - 40.0f;
            x[x.size() / 3] = std::numeric_limits<float>::quiet_NaN();
            x[x.size() / 2] = std::numeric_limits<float>::infinity();
            std::vector<float> columns(static_cast<size_t>(depth * out_size));
            kernels::im2col_rows(x.data(), g, 0, depth, columns.data());
            std::vector<float> planes(static_cast<size_t>(channels * kernels::phase_planes_channel_size(g)));
            phases.split(x.data(), g, channels, planes.data());
            for (int64_t nr : {16, 32}) {
                for (int64_t q0 : {int64_t{0}, int64_t{1}, nr - 1, g.out[2] + 3}) {
                    for (int64_t cols : {int64_t{1}, nr - 1, nr + 1, 3 * nr + 5, out_size}) {
                        if (q0 >= out_size) continue;
                        cols = std::min(cols, out_size - q0);
                        for (int64_t pc : {int64_t{0}, depth / 3}) {
                            SCOPED_TRACE(cat("isa=", static_cast<int>(isa), " in=", g.in[1], ",", g.in[2], " k=",
                                             g.kernel[1], ",", g.kernel[2], " nr=", nr, " q0=", q0, " cols=", cols, " pc=", pc));
                            const int64_t kc = std::max<int64_t>(1, depth - pc - depth / 4);
                            const int64_t panels = (cols + nr - 1) / nr;
                            std::vector<float> packed(static_cast<size_t>(panels * nr * kc + 1), -7.0f);
                            phases.lower(planes.data(), g, pc, kc, q0, cols, nr, packed.data());
                            EXPECT_EQ(packed.back(), -7.0f) << "wrote past the panels";
                            int64_t wrong = 0;
                            for (int64_t p = 0; p < kc; ++p) {
                                for (int64_t j = 0; j < panels * nr; ++j) {
                                    const float got = packed[static_cast<size_t>(j / nr * nr * kc + p * nr + j % nr)];
                                    const float want =
                                        j < cols ? columns[static_cast<size_t>((pc + p) * out_size + q0 + j)] : 0.0f;
                                    wrong += std::memcmp(&got, &want, sizeof(float)) != 0;
                                }
                            }
                            EXPECT_EQ(wrong, 0);
                        }
                    }
                }
            }
        }
    }
}

// The backward data phase tiles with their taps fixed at compile time (phase_tile_avx512) against
// the tap walk (padded_positions_tile_avx512), bit for bit: every tile shape, every phase kind of a
// stride-2 window (1, 1 x 2, 2 x 1 and 2 x 2 taps) with and without the last column's and the last
// tap row's products left out, 5 channels deep, stored and accumulated. What the skips leave out is
// NaN (neither kernel may read it). Skips of other kinds, more taps or other shapes: none.
TEST(ConvPhaseTileTest, FixedTapsMatchTheTapWalkBitForBit) {
    const std::vector<mln_isa> isas = available_isas();
    if (std::find(isas.begin(), isas.end(), MLN_ISA_AVX512) == isas.end()) GTEST_SKIP() << "no AVX-512 here";
    using kernels::PaddingSkip;
    constexpr int64_t kChannels = 5, kLd = 40;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (const auto& [rows, width] : {std::pair{14, 14}, std::pair{14, 7}, std::pair{7, 7}}) {
        const int64_t out_rows = rows / width, pitch = width + 3, plane = (out_rows + 2) * pitch;
        for (int tap_rows = 1; tap_rows <= 2; ++tap_rows) {
            for (int tap_columns = 1; tap_columns <= 2; ++tap_columns) {
                for (const bool right : {false, true}) {
                    for (const bool bottom : {false, true}) {
                        if (bottom && tap_rows == 1) continue;
                        const int taps_count = tap_rows * tap_columns;
                        kernels::PaddedTaps taps{taps_count, plane, {}};
                        std::vector<PaddingSkip> skips(static_cast<size_t>(taps_count));
                        for (int t = 0; t < taps_count; ++t) {
                            taps.offsets[t] = static_cast<int32_t>(t / tap_columns * pitch + t % tap_columns);
                            skips[static_cast<size_t>(t)] = bottom && t >= tap_columns ? PaddingSkip::kStep
                                                            : right && t % tap_columns == tap_columns - 1
                                                                ? PaddingSkip::kLastColumn
                                                                : PaddingSkip::kNone;
                        }
                        // The image: the column only the last tap column's last output column reads
                        // NaN if right, the row only the last tap row reads NaN if bottom.
                        std::vector<float> a(static_cast<size_t>(kChannels * plane));
                        for (int64_t c = 0; c < kChannels; ++c) {
                            for (int64_t r = 0; r < out_rows + 2; ++r) {
                                for (int64_t j = 0; j < pitch; ++j) {
                                    const bool left_out =
                                        (right && j == width + tap_columns - 2) || (bottom && r == out_rows);
                                    a[static_cast<size_t>(c * plane + r * pitch + j)] =
                                        left_out ? nan : random_value<float>();
                                }
                            }
                        }
                        const int64_t kc = kChannels * taps_count;
                        std::vector<float> b(static_cast<size_t>(kc * kernels::kPositionsTileColumns));
                        for (float& v : b) v = random_value<float>();
                        const kernels::PaddedTileKernel fixed = kernels::phase_tile_avx512(
                            rows, width, tap_rows, tap_columns, skips.data());
                        ASSERT_NE(fixed, nullptr) << rows << "x" << width << " taps " << tap_rows << "x" << tap_columns;
                        for (const bool accumulate : {false, true}) {
                            std::vector<float> want(static_cast<size_t>(rows * kLd)), got;
                            for (float& v : want) v = random_value<float>();
                            got = want;
                            const kernels::PrefetchLines none{nullptr, 0, 0, 0};
                            kernels::padded_positions_tile_avx512(rows, width)(kc, a.data(), taps, skips.data(), 0, pitch,
                                                                               b.data(), want.data(), kLd, accumulate, none);
                            fixed(kc, a.data(), taps, skips.data(), 0, pitch, b.data(), got.data(), kLd, accumulate, none);
                            EXPECT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0)
                                << rows << "x" << width << " taps " << tap_rows << "x" << tap_columns << " right " << right
                                << " bottom " << bottom << " accumulate " << accumulate;
                        }
                    }
                }
            }
        }
    }
    const PaddingSkip first[2] = {PaddingSkip::kFirstColumn, PaddingSkip::kNone};
    const PaddingSkip top[4] = {PaddingSkip::kStep, PaddingSkip::kStep, PaddingSkip::kNone, PaddingSkip::kNone};
    const PaddingSkip mixed[4] = {PaddingSkip::kNone, PaddingSkip::kLastColumn, PaddingSkip::kNone, PaddingSkip::kNone};
    const PaddingSkip plain[9] = {};
    EXPECT_EQ(kernels::phase_tile_avx512(14, 14, 1, 2, first), nullptr);
    EXPECT_EQ(kernels::phase_tile_avx512(14, 14, 2, 2, top), nullptr);
    EXPECT_EQ(kernels::phase_tile_avx512(14, 14, 2, 2, mixed), nullptr);
    EXPECT_EQ(kernels::phase_tile_avx512(14, 14, 3, 3, plain), nullptr);
    EXPECT_EQ(kernels::phase_tile_avx512(14, 28, 1, 1, plain), nullptr);
}
#endif

TEST_F(ConvTest, EpilogueRejectsBadResidualAndActivation) {
    mln_conv_params p{};
    p.spatial_rank = 2;
    p.strides[0] = p.strides[1] = 1;
    p.dilations[0] = p.dilations[1] = 1;
    p.groups = 1;
    HostTensor<float> x({1, 4, 5, 5}), w({6, 4, 3, 3}), y({1, 6, 3, 3});
    HostTensor<float> broadcastable({1, 6, 1, 3});
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_RELU,
                                             broadcastable.desc(), y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_conv_forward: residual is 1x6x1x3 but must have exactly y's shape 1x6x3x3"}));
    HostTensor<double> residual64({1, 6, 3, 3});
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_RELU,
                                             residual64.desc(), y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_conv_forward: dtypes differ: residual is f64 but y is f32"}));
    HostTensor<float> strided({1, 6, 3, 3}, {54, 9, 1, 3});
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_RELU,
                                             strided.desc(), y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_conv_forward: residual is 1x6x3x3 with strides", "contiguous"}));
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_RELU, y.desc(),
                                             y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_conv_forward: residual (1x6x3x3) overlaps y"}));
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, static_cast<mln_unary_op>(99),
                                             nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_conv_forward: activation"}));
}

// Pointwise backward filter gathers small images in chunks (one GEMM over several images'
// positions) and cuts the batch into fewer slices when the filter is large: chunks of 3-4 images,
// groups; the other cases run the implicit GEMM over many images and a 2.4 MB filter.
TEST_F(ConvTest, BackwardFilterChunksImagesAndLimitsSlices) {
    const std::vector<ConvCase> cases = {
        {{27, 3, 6, 7}, 4, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{27, 6, 4, 5}, 5, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{19, 8, 4, 5}, 6, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {{19, 4, 5, 5}, 6, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, 2},
        {{9, 256, 3, 3}, 256, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    };
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const ConvCase& c : cases) check_against_reference<float>(device_, c);
    }
    for (const ConvCase& c : cases) check_against_reference<double>(device_, c);
}

// The pointwise backward filter's two drivers (conv_pointwise.cpp's dot kernel,
// conv_pointwise_filter.cpp's GEMMs per image or chunk of tiny images, or packed across
// images), f32 at every ISA and f64, at 1, 2 and 3 threads, every result bit for bit the same as
// at 1 thread. GEMMs: images of 20 positions in 8 slices of 3-4 images, copied side by side in
// chunks of 3, and in groups, transposed (dy's rows
// fewer than x's, at most 32: those two and 40->16 over 144 positions, whose 3 slices take two
// blocks of rows each at 2 threads, one at 1 and 3); stride 2 (16 and 64
// compact positions, which took the implicit GEMM before); images of >= 256 positions whose
// dot-kernel partial sums would exceed the budget (AVX-512: 200 tiles of 6 x 4 x 16 f32) -- 600
// positions (x as the dot kernel's A) and 1025 at stride 2 (two blocks per image; chunks of one
// image, each gathered on its own, so a slice of two images accumulates a second GEMM into its
// dW). Strided chunks of several images are gathered, then copied side by side. Dot kernel, its image chunks in
// slices (a chunk's rows of B, x's here, take at most 384 KiB): blocks of one image's positions
// with partial sums (3599 positions against 62 rows of x, 2 slices of 3 blocks), two images per
// chunk (420 positions, 80 rows: 2 slices of one chunk), one image per chunk (520 positions, 100
// rows: batch 9 in 8 slices, one of two chunks; groups of 100). Both channel counts filling the
// kernel's tiles of rows (48 of x, 24 of dy at every ISA): x, the larger, is A and dW is written
// transposed: 3 images of 420 positions in one chunk, and one image of 4489 positions in 2
// blocks (f32) with partial sums carried between them; 32 of x and 16 of dy, which fill the
// tiles of 6 equally badly (x as A, its last row tile partial; at AVX2 x fills tiles of 3 better;
// AVX-512 f32 takes the broadcast kernel). Images of one block whose GEMM has a multiple
// of 32 columns take the GEMM at AVX-512 f32 and the dot kernel elsewhere: 32 channels of x (400
// positions, batch 2) and, transposed, 32 of dy (289 positions). Transposed GEMMs with more than
// 32 rows of dy (images of 128 positions or more, x's channels more than dy's; dW^T summed per
// slice and transposed at the end): 70 -> 37 over 144 positions in 2 slices, the same in 2
// groups, 90 -> 40 at stride 2 (169 positions, one slice: at 2 and 3 threads row blocks of x
// that start inside the channels, each gathering its own rows), and 50 -> 20 at stride 2 over 25
// positions (chunks of 2 images, their gathered rows copied side by side); one image, 75 -> 41
// over 144 positions (x's packing saved outweighs dW's transpose). Filters over 512 KiB
// copy images of few positions side by side up to 256 deep: 330 -> 410 over 35 positions (7
// images in one chunk of 245; at 2 and 3 threads each row block copies its own rows of dy) and
// 300 -> 450 at stride 2 (25 positions: 6 images gathered into one chunk). Where the rows are
// split (one slice at 2 and 3 threads) x's rows are A whatever the positions, given images enough:
// 200 -> 40 over 4 images of 49 positions runs transposed at 2 and 3 threads only, same bits.
// Packed across images (slices of 8 or more images of at most 64 positions, dW_g up to 768 KiB,
// dy's rows as A, no more than x's; 2 slices at least): 250 -> 240 over 24 images of 49 positions
// (2 slices of 12: depth blocks of 10 images and 2, dy's 240 rows in blocks of 200 and 40),
// 40 -> 37 over 16 images of 25 positions (edge tiles of rows and columns), 60 -> 42 in 2 groups,
// and 50 -> 24 at stride 2 (25 positions, x gathered per depth block). A strided layer of 16
// images or more takes 2 slices at least (rather than one slice's rows split, each block
// gathering all of x): 60 -> 90 at stride 2 over 16 images of 16 positions (2 slices of 8, in
// chunks of 4 images). Rows of stride 2 gathered in AVX-512 registers, 16 outputs a register, the
// last piece of each row whole but at the end of x or of the gathered rows (masked there): rows
// of 29 outputs from 57 inputs (batch 17 in 2 slices), 32 from 64, 16 from 31 (batch 1), 17 from
// 33 at row stride 1, 51 in 1-d, 1 output from 2 inputs (chunks of several images), 20 in groups;
// where 32 inputs or more are skipped between two rows, row by row across the channels (29, 32
// and 20 outputs, and 10 at row stride 4, each row's extra outputs reaching the next).
// At AVX-512 f32 the GEMMs per image or chunk, and the sums across images, are sums in place
// (tiles of 8 rows x 32 columns summed over a chunk's images in registers, B packed across them,
// chunks of 512 KiB of the smaller operand), the cases above included; chunks of several images
// a slice, edge tiles of rows and columns: 300 -> 410 over 17 images of 49 positions (chunks of
// 8, tiles of 2 rows and 12 columns, row tiles in the outer loop), transposed 203 -> 150 over 18
// images of 196 (2 slices of 9 in chunks of 4), 330 -> 300 at stride 2 over 20 images of 49
// positions (2 slices of 10 in chunks of 8, gathered per chunk, B's panels in the outer loop);
// these three take 1 MiB of A or more, so each tile fetches the next tile's rows as it goes.
// Where x is B and its gathered rows hold 12 outputs or more, its rows of stride 2 are gathered
// straight into B's panels (pieces of up to 16 outputs, the last of a row partial, the last of x
// masked): the cases above with such rows, 40 -> 48 over 16 images of 6 x 20 (2 slices, a
// panel of 32 columns and one of 8, pieces of 16 and 4), 20 -> 24 at 12 outputs a row (one
// piece) and at 11 (gathered compact). The sums in place take a power of two of the shape's
// slices: 24 -> 24 over 7 images of 196 positions, 7 slices by the shape, runs 4 (of 1 and 2
// images).
TEST_F(ConvTest, PointwiseBackwardFilterMatchesReferenceAndThreadCountsAgree) {
    const std::vector<ConvCase> cases = {
        {{27, 6, 4, 5}, 5, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{19, 8, 4, 5}, 6, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {{4, 40, 12, 12}, 16, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{9, 20, 7, 7}, 24, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{3, 12, 15, 16}, 20, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{10, 48, 20, 30}, 100, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{9, 48, 49, 81}, 100, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 62, 61, 59}, 24, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{4, 80, 20, 21}, 48, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{9, 100, 20, 26}, 10, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{6, 200, 20, 26}, 12, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {{2, 32, 20, 20}, 40, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 60, 17, 17}, 32, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{3, 48, 20, 21}, 24, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 48, 67, 67}, 24, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 32, 17, 19}, 16, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{8, 70, 12, 12}, 37, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{6, 140, 12, 12}, 74, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {{3, 90, 25, 25}, 40, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{9, 50, 9, 9}, 20, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 75, 12, 12}, 41, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{7, 330, 5, 7}, 410, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{6, 300, 9, 9}, 450, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{4, 200, 7, 7}, 40, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{24, 250, 7, 7}, 240, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{16, 40, 5, 5}, 37, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{16, 60, 5, 5}, 42, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {{16, 50, 9, 9}, 24, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{16, 60, 7, 7}, 90, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{17, 12, 7, 57}, 20, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{3, 10, 5, 64}, 14, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 11, 4, 31}, 9, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 9, 9, 33}, 13, {1, 1}, {1, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{5, 6, 101}, 7, {1}, {2}, {1}, {0}, {0}, 1},
        {{5, 8, 3, 2}, 6, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{3, 12, 6, 40}, 10, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 2},
        {{4, 7, 9, 20}, 5, {1, 1}, {4, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{17, 300, 7, 7}, 410, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{18, 203, 14, 14}, 150, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{20, 330, 13, 13}, 300, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{16, 40, 12, 40}, 48, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 20, 9, 23}, 24, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 20, 9, 21}, 24, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 56, 28, 28}, 112, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 88, 17, 17}, 88, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{7, 24, 14, 14}, 24, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
    };
    expect_backward_filter_reference_and_same_bits(device_, cases);
}

// The pointwise backward filter's broadcast kernel (conv_pointwise_filter_avx512.cpp: AVX-512 f32,
// one operand of 9 to 32 channels transposed, the other's rows, 2 per lane or more, broadcast
// against it in tiles of 24 accumulators (quads: in near-equal tiles of at most 24), then 4 or 8, 2
// and 1 rows; AVX2, conv_pointwise_filter_avx2.cpp: 8 x 8 transposes into 2, 3 or 4 ymm per
// position, near-equal tiles of at most 6, 4 or 3 rows), f32 at every ISA (scalar takes the dot
// kernel or the GEMMs) and f64, at 1, 2 and 3 threads, same bits. Quads of positions (9 to 16 channels, three or four registers of 4 channels
// at 4 positions; a last 1 to 3 positions on their own): x transposed, 16 -> 96 over 4099 positions
// (two blocks of positions, a tail of 3 past the last quad); 11 -> 53, three registers, rows in 7
// tiles of 7 and 8, 1-d over 1031 positions, batch 9 in slices; dy's 16 channels against 50 rows of
// x (9 tiles of 5 and 6; dW written transposed; batch 1: its 529 positions summed in two parts, 256
// + 273, a tail of 1); 9 -> 40, three registers with 3 zero channels, 1-d over 518 positions (256 +
// 262: a tail of 2). Two registers per position: x's 32 channels against 107 rows of dy (12 x 8 + 8
// + 2 + 1). Pairs of positions (17 to 24 channels, three registers of 8 channels at 2 positions; an
// odd last position on its own): dy's 20 channels against x's 100 rows (8 x 12 + 4; 3-d, 315
// positions), x's 24 against 67 rows of dy (8 x 8 + 2 + 1, 437 positions, 2 slices), dy's 17
// against x's 70 rows (8 x 8 + 4 + 2, dW written transposed); dy's 28 channels, two registers,
// against x's 70 rows (dW written transposed in 16 x 16 tiles, partial at both edges and, at 3
// threads, from ranges of rows starting at multiples of 8). Threads' ranges of rows are cut at
// multiples of 8 (53 rows at 2 and 3 threads). 32 -> 16: dy's 16 channels against x's 32 rows
// (tiles of 5 and 6; at 3 threads ranges of 8 rows, tiles of 4), 2 rows per lane. AVX2 also
// transposes more than 32 channels, in groups of 32 columns, on images of 128+ positions: x's 40
// channels against 120 rows of dy (a last group of 8: one register, tiles of 12 rows; 169
// positions, one part at batch 1), x's 48 (32 + 16) against 100 rows, dy's 70 (32 + 32 + 8)
// against x's 170 rows (dW written transposed; 144 positions, 2 images); the other ISAs take the
// dot kernel or the GEMMs there.
TEST_F(ConvTest, PointwiseBackwardFilterBroadcastMatchesReferenceAndThreadCountsAgree) {
    const std::vector<ConvCase> cases = {
        {{2, 16, 4099}, 96, {1}, {1}, {1}, {0}, {0}, 1},
        {{9, 11, 1031}, 53, {1}, {1}, {1}, {0}, {0}, 1},
        {{1, 9, 518}, 40, {1}, {1}, {1}, {0}, {0}, 1},
        {{1, 50, 23, 23}, 16, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 32, 17, 19}, 107, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 100, 5, 7, 9}, 20, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, 1},
        {{3, 32, 19, 17}, 16, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 24, 19, 23}, 67, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 70, 16, 17}, 17, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 70, 20, 20}, 28, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 40, 13, 13}, 120, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 48, 16, 16}, 100, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 170, 12, 12}, 70, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
    };
    expect_backward_filter_reference_and_same_bits(device_, cases);
}

// The implicit-GEMM backward filter (conv_backward_filter.hpp) over its blocks and tasks: several
// position blocks per image (KC 256 f32 / 128 f64; 61 x 27 = 1647 positions), depth rows over
// one task's 128 (17 channels x 9 taps = 153: a partial last NR panel), output channels that are
// not a multiple of MR (13, 21) so one MR panel is packed, few depth rows (3 x 3 x 3 = 27) so that
// 2 and 3 threads chunk the output channels, stride 2 from polyphase planes (3x3/2 and 7x7/2 with
// "same" padding: AVX-512 f32), stride 2 with dilation and asymmetric pads, groups, 1-d and 3-d,
// batch 1 and 5, small images several to a block (9 positions: all 5 images; 72: 3 + 2), the
// reduction cut into 2, 3, 4, 6 and 12 slices (slices that end inside an image: 15 position blocks in
// 6; small images several to a block in 3 slices of 4 blocks) and into fewer where the partial
// copies of dW would be large against the inputs, f32 at every ISA and f64; at 1, 2 and 3
// threads, every result bit for bit the same as at 1 thread (each dW element summed in one fixed
// order: the slice count depends on the shape alone). Both orientations of the GEMM: the lowered
// rows as A (fewer output channels than depth rows, one image per block: most cases) and dy as
// A (more output channels, 24 > 18; several images per block; batch 12 at 3 threads, whose
// 64-row tasks would pay more to copy dW^T back than packing dy saves: the orientations differ
// between thread counts, the bits do not). Stride-2 planes split inside the tasks (batch 5 in 2
// slices; batch 12 in 4 slices, at 3 threads three row blocks: tasks whose rows start inside the
// channels) and up front (batch 1).
TEST_F(ConvTest, BackwardFilterImplicitGemmMatchesReferenceAndThreadCountsAgree) {
    const std::vector<ConvCase> cases = {
        {{1, 32, 61, 27}, 5, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{5, 17, 13, 11}, 13, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 3, 37, 41}, 21, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{5, 3, 23, 29}, 8, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 6, 28, 28}, 19, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{5, 3, 38, 38}, 16, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        {{1, 32, 125, 50}, 3, {3, 3}, {2, 2}, {2, 2}, {1, 2}, {2, 1}, 1},
        {{5, 12, 17, 19}, 10, {3, 2}, {1, 2}, {2, 1}, {2, 0}, {1, 1}, 2},
        {{1, 128, 1600}, 4, {3}, {1}, {1}, {0}, {0}, 1},
        {{5, 16, 7, 10, 12}, 3, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
        {{5, 64, 5, 5}, 40, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{5, 6, 9, 8}, 13, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{12, 3, 9, 8}, 8, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 2, 20, 20}, 24, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{12, 16, 29, 31}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        // Direct mode (AVX-512 f32; stride 1, rows of 16 outputs or more, fewer output channels
        // than depth rows; elsewhere the lowered path): channels not a multiple of MR (11) and output channels not of NR (37) with
        // dilation and asymmetric pads over 3 images (slices); groups with a 3x2 kernel; rows
        // longer than a position block (300 wide: blocks start and end inside rows); 5x5 taps
        // over 40 channels (several channel chunks at 2 and 3 threads).
        {{3, 11, 20, 23}, 37, {3, 3}, {1, 1}, {2, 1}, {2, 0}, {1, 1}, 1},
        {{2, 12, 18, 17}, 6, {3, 2}, {1, 1}, {1, 1}, {1, 0}, {1, 1}, 2},
        {{1, 9, 3, 300}, 4, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 40, 24, 24}, 16, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, 1},
        // A long reduction against a small filter: 3 images of 50 position blocks in 12 slices
        // (6 doubled; direct mode at AVX-512, blocks of 64 rows, the lowered path elsewhere).
        {{3, 8, 3200, 16}, 8, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        // Direct mode at stride 2 from padded phase planes (AVX-512 f32, 16 channels or more):
        // 17 channels (a partial MR panel), 20 output channels, 2 images; a 4x5 kernel dilated
        // along the width, pads 2 / 0 (height) and 1 / 3 (width).
        {{2, 17, 35, 37}, 20, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 16, 40, 45}, 8, {4, 5}, {2, 2}, {1, 2}, {2, 1}, {0, 3}, 1},
        // Several position blocks of an image from its planes (46 x 45 outputs: rows 16, 16, 14).
        {{2, 16, 92, 90}, 12, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        // Dot mode (f32; AVX-512, and at AVX2 the kernels 3 wide with one column of left padding;
        // stride 2, at most 160 depth rows, 8 output channels or more, fewer than 16 channels; the 7x7/2 stem shape above too, 147 rows whose column tiles
        // straddle kernel rows): MobileNet-v2's stem shape at 3 images (slices over images); 12 output channels and 20
        // depth rows (tiles that overlap the one before); 5x4 taps with dilation 2 and pads 3 / 0
        // and 0 / 2 (margins on one side only, more than one margin row); odd sizes whose last
        // plane row and column run past the image; rows of 36 outputs (a masked last vector).
        // Kernels 3 wide with one column of left padding read x's rows in place (no planes; the
        // first tile of 8 dy rows stores them split for the others): the 3x3 cases, a 5x3 kernel
        // dilated along the height with no top padding (tap rows past the image's bottom; 8
        // output channels, one tile, nothing stored), and 17 images with two rows of top padding
        // (tap rows above the image) into 9 output channels (a second tile overlapping the first),
        // rows of 28 outputs (the last tap column past the image in the second half of a row pair).
        {{3, 3, 40, 38}, 32, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 5, 33, 35}, 12, {2, 2}, {2, 2}, {1, 1}, {1, 0}, {0, 1}, 1},
        {{1, 2, 41, 73}, 9, {5, 4}, {2, 2}, {2, 2}, {3, 0}, {0, 2}, 1},
        {{2, 4, 31, 71}, 16, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 2},
        {{2, 3, 29, 45}, 8, {5, 3}, {2, 2}, {2, 1}, {0, 1}, {3, 1}, 1},
        {{17, 3, 20, 55}, 9, {3, 3}, {2, 2}, {1, 1}, {2, 1}, {0, 1}, 1},
        // Dot mode's panels (AVX-512 f32: column rows from planes, fewer output channels than
        // depth rows; the 7x7/2, 2x2 (20 rows: 3 panels of 7, the last overlapping) and 5x4 (40
        // rows: 5 of 8) cases above): the 7x7/2 stem's 147 rows (21 panels of 7) into 40 output
        // channels (a full and a partial panel of dy) at batch 1, 50 x 45 outputs in three blocks of
        // 17 rows (the next block prefetched).
        {{1, 3, 100, 90}, 40, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
    };
    expect_backward_filter_reference_and_same_bits(device_, cases);
}

// The depthwise 3 x 3 backward filter's paths, threads splitting the channels: 16 channels at a
// time in channel-minor order at stride 1 (14 x 14, 7 x 7) and, at batch 1, stride 2 (14 x 14, an
// odd 13 x 15 with pad 2 before); two channels a register (stride 2 over two images); the flat
// plane (28 x 28); stride-2 column strips (one a plane: 28 wide over one and six images, odd
// sizes at pad 1 and 2; 56 wide; 112 wide over one image) and rows (112 wide over five images).
// A task's blocks of 16 channels go to the kernel in one call: 200 channels (13 blocks, the last
// half full) in chunks of two blocks at 2 and 3 threads, channel minor and two channels a
// register. Each channel's sums are added in one order whatever channels a thread gets, so every
// thread count gives the same bits.
TEST_F(ConvTest, DepthwiseBackwardFilterMatchesReferenceAndThreadCountsAgree) {
    const std::vector<ConvCase> cases = {
        {{1, 40, 14, 14}, 40, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 40},
        {{2, 35, 7, 7}, 35, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 35},
        {{1, 40, 14, 14}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 40},
        {{1, 33, 13, 15}, 33, {3, 3}, {2, 2}, {1, 1}, {2, 2}, {0, 0}, 33},
        {{2, 33, 14, 14}, 33, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 33},
        {{1, 20, 28, 28}, 20, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 20},
        {{1, 20, 28, 28}, 20, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 20},
        {{6, 19, 27, 28}, 19, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 19},
        {{1, 17, 20, 27}, 17, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 17},
        {{2, 17, 21, 26}, 17, {3, 3}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 17},
        {{1, 18, 56, 56}, 18, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 18},
        {{1, 5, 41, 112}, 5, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 5},
        {{5, 5, 41, 112}, 5, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 5},
        {{1, 200, 7, 7}, 200, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 200},
        {{3, 200, 14, 14}, 200, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 200},
    };
    expect_backward_filter_reference_and_same_bits(device_, cases);
}

// Depthwise forward (bias, residual, ReLU) and backward data where a task's blocks of 16
// channels of one image go to the 3 x 3 kernel in one call (AVX-512; the blocked kernels below
// it, block by block): 200 channels (13 blocks, the last half full) and 37 (an odd last block)
// over one and three images (tasks spanning images at 3 threads), planes of 7 x 7 and 14 x 14
// (stride 1 and 2), 28 x 28 (flat plane and stride 2). At 1 thread within
// tolerance of the reference twin, at 2 and 3 threads (runs of two blocks, or four spanning
// images) the same bits.
TEST_F(ConvTest, DepthwiseForwardAndBackwardDataTakeRunsOfBlocksAtTheSameBits) {
    const std::vector<ConvCase> cases = {
        {{1, 200, 7, 7}, 200, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 200},
        {{3, 37, 7, 7}, 37, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 37},
        {{1, 200, 14, 14}, 200, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 200},
        {{3, 37, 14, 14}, 37, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 37},
        {{1, 200, 28, 28}, 200, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 200},
        {{1, 37, 28, 28}, 37, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 37},
    };
    for_every_isa_and_f64(cases, [&](auto element, const ConvCase& c) {
        using T = decltype(element);
        HostTensor<T> x(c.x_shape), w(w_shape_of(c)), bias({c.out_channels}), residual(y_shape_of(c));
        HostTensor<T> dy(y_shape_of(c));
        fill_random(x);
        fill_random(w);
        fill_random(bias);
        fill_random(residual);
        fill_random(dy);
        const mln_conv_params p = params_of(c);
        const TensorView bias_view = bias.view(), residual_view = residual.view();
        expect_reference_at_one_thread_and_same_bits_at_more<T>(
            device_, y_shape_of(c), tolerance<T>(9 * 16),
            [&](const TensorView& want) {
                reference::conv_forward(p, x.view(), w.view(), &bias_view, MLN_UNARY_OP_RELU, &residual_view, want);
            },
            [&](HostTensor<T>& y) {
                return mln_conv_forward(device_, &p, x.desc(), w.desc(), bias.desc(), MLN_UNARY_OP_RELU,
                                        residual.desc(), y.desc());
            });
        expect_reference_at_one_thread_and_same_bits_at_more<T>(
            device_, c.x_shape, tolerance<T>(9 * 16),
            [&](const TensorView& want) { reference::conv_backward_data(p, dy.view(), w.view(), want); },
            [&](HostTensor<T>& dx) { return mln_conv_backward_data(device_, &p, dy.desc(), w.desc(), dx.desc()); });
    });
}

// Backward data by columns + col2im (conv_backward_data.hpp) over its blocks and tasks: stride 2
// (3x3 and 7x7 "same" padding, 1x1), small stride-1 images (under 256 dx positions), chunks of
// channels (17 channels x 9 taps = 153 column rows: chunks of 14 channels), column rows that are
// not a multiple of MR, positions under one NR panel (9) and with a partial last one, more output
// channels than one KC block (300 > 256 f32, 128 f64), positions over one NC block (360 > 256 at
// KC 256: the second block ends in the partial panel), dilation, asymmetric pads, groups, 1-d and
// 3-d, batch 1 and 5, f32 at every ISA and f64; at 1, 2 and 3 threads (chunks cut smaller to fill
// the pool), every result bit for bit the same as at 1 thread. Up to 256 positions the GEMM runs
// transposed (49 and 196 positions: a partial MR panel; chunks of 16 channels at AVX2, 144 rows in
// whole NR panels, and a last chunk of one channel, a partial panel; 14-channel chunks at AVX-512,
// partial panels; 300 output channels: two depth blocks).
TEST_F(ConvTest, BackwardDataByColumnsMatchesReferenceAndThreadCountsAgree) {
    const std::vector<ConvCase> cases = {
        {{1, 17, 14, 14}, 24, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 33, 14, 14}, 20, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{5, 6, 7, 7}, 13, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 5, 6, 6}, 300, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 3, 40, 36}, 260, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 3, 38, 38}, 16, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        {{5, 8, 11, 13}, 10, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 7, 29, 23}, 5, {3, 3}, {2, 3}, {2, 1}, {2, 0}, {1, 2}, 1},
        {{5, 12, 9, 10}, 10, {3, 2}, {2, 2}, {2, 1}, {2, 0}, {1, 1}, 2},
        {{1, 4, 41}, 6, {5}, {3}, {1}, {2}, {1}, 2},
        {{5, 6, 7, 6, 5}, 4, {3, 3, 3}, {2, 1, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
    };
    expect_backward_data_matches_reference_and_thread_counts_agree(cases);
}

// The ISAs here that have the polyphase direct forward (conv_phase_direct.hpp, f32).
std::vector<mln_isa> phase_direct_isas() {
    std::vector<mln_isa> with;
    for (const mln_isa isa : available_isas()) {
        if (isa == MLN_ISA_AVX512 || isa == MLN_ISA_AVX2) with.push_back(isa);
    }
    return with;
}

// The polyphase direct forward (conv_phase_direct.hpp, AVX2 and AVX-512 f32) of each case at
// each ISA that has it, random x (mark(x, c) may plant values in it), w, bias and residual, ReLU:
// within tolerance of the reference twin at 1 thread, the same bits at 2 and 3.
template <class Mark>
void expect_phase_direct_forward_matches_reference(mln_device* device, const std::vector<ConvCase>& cases,
                                                   Mark&& mark) {
    for (const mln_isa isa : phase_direct_isas()) {
        ScopedIsa scoped(isa);
        for (const ConvCase& c : cases) {
            SCOPED_TRACE(cat(describe(c), " isa=", static_cast<int>(isa)));
            const mln_conv_params p = params_of(c);
            HostTensor<float> x(c.x_shape), w(w_shape_of(c)), bias({c.out_channels}), residual(y_shape_of(c));
            fill_random(x);
            fill_random(w);
            fill_random(bias);
            fill_random(residual);
            mark(x, c);
            const TensorView bias_view = bias.view(), residual_view = residual.view();
            expect_reference_at_one_thread_and_same_bits_at_more<float>(
                device, y_shape_of(c), tolerance<float>(w.count() / c.out_channels * 16),
                [&](const TensorView& want) {
                    reference::conv_forward(p, x.view(), w.view(), &bias_view, MLN_UNARY_OP_RELU, &residual_view,
                                            want);
                },
                [&](HostTensor<float>& y) {
                    return mln_conv_forward(device, &p, x.desc(), w.desc(), bias.desc(), MLN_UNARY_OP_RELU,
                                            residual.desc(), y.desc());
                });
        }
    }
}

// The polyphase direct forward (conv_phase_direct.hpp, AVX2 and AVX-512 f32) sums every output
// in the same order whatever block of positions holds it, so its results are the same bits at
// any thread count: the 7x7/2 stem over a batch of 2 (blocks of whole rows), 64 channels of 3x3/2 (blocks
// of tiles that start inside a row), 24 channels of 5x5/2 (600 deep: two depth blocks), 5
// channels into 71 (6 weight panels each thread packs for itself in the parallel region), a 3x3/2
// stem of 45 x 40 outputs (at 3 threads 3 blocks of 15 rows instead of 19 + 19 + 7), with bias,
// residual and ReLU, within tolerance of the reference twin at 1 thread (AVX2 takes the two stems,
// the implicit GEMM the rest).
TEST_F(ConvTest, PhaseDirectForwardIsTheSameBitsAtAnyThreadCount) {
    const std::vector<ConvCase> cases = {
        {{2, 3, 45, 51}, 16, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        {{1, 64, 40, 38}, 19, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 24, 40, 38}, 21, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 1},
        {{1, 5, 30, 26}, 71, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 3, 90, 80}, 32, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
    };
    if (phase_direct_isas().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 here";
    expect_phase_direct_forward_matches_reference(device_, cases, [](HostTensor<float>&, const ConvCase&) {});
}

// NaN in the first column of channel 0's rows 3, 19, 35, ... of every image and infinity in the
// last column 6 rows below each: the outputs of the rows between stay finite (a padded row's
// zeros read as anything else would show there).
void mark_edge_columns(HostTensor<float>& x, const ConvCase& c) {
    const int64_t height = c.x_shape[2], width = c.x_shape[3];
    for (int64_t n = 0; n < c.x_shape[0]; ++n) {
        const int64_t plane = n * c.x_shape[1];
        for (int64_t row = 3; row < height; row += 16) {
            x.at((plane * height + row) * width) = std::numeric_limits<float>::quiet_NaN();
            if (row + 6 < height) {
                x.at((plane * height + row + 6) * width + width - 1) = std::numeric_limits<float>::infinity();
            }
        }
    }
}

// The polyphase direct forward over output rows a whole number of tiles wide (AVX2 16, AVX-512
// 32): its planes' rows carry the zeros the column shifts read beside them, no tile masked. NaN
// and infinities in the image's first and last columns (a few rows of channel 0) reach only the
// outputs whose windows hold them, as in the reference twin (the zeros beside a row are never the
// next row's values):
// the 7x7/2 stem to 20 x 32 (shifts -2..1) and to 10 x 112 (the stem's width: 7 tiles a row at
// AVX2, dense rows at AVX-512), 3x3/2 from an odd width, 5x5/2 to 48 wide (padded at AVX2 only),
// 4x4/2 with no padding before (no lead zeros), 8x8/2 (shifts -2..2); bias, residual and ReLU,
// the same bits at 2 and 3 threads.
TEST_F(ConvTest, PhaseDirectForwardPaddedRowsKeepNonFiniteInputsInTheirWindows) {
    const std::vector<ConvCase> cases = {
        {{2, 3, 40, 64}, 16, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        {{1, 3, 20, 224}, 6, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        {{1, 3, 35, 63}, 13, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 4, 30, 96}, 7, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 1},
        {{1, 2, 33, 32}, 9, {4, 4}, {2, 2}, {1, 1}, {0, 0}, {2, 2}, 1},
        {{1, 3, 36, 32}, 10, {8, 8}, {2, 2}, {1, 1}, {3, 3}, {4, 4}, 1},
    };
    if (phase_direct_isas().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 here";
    expect_phase_direct_forward_matches_reference(device_, cases, mark_edge_columns);
}

// The polyphase direct forward of 3-wide kernels with one column of padding before, from at most 4
// channels, output rows a whole number of 16-lane registers wide (AVX-512 reads x's rows in place
// and splits their columns in registers: the 3x3/2 stem): 16-wide outputs from an odd width (a
// tile over two rows; 17 rows, so a last tile of 16 columns), 48 wide from one channel (two panels
// of 11), 32 wide from 4 channels with no padding above (three panels of 11), one output channel,
// and 23 (panels of 7, 8 and 8) over 3 images; NaN and infinities in the first and last columns
// as above. Within tolerance of the reference twin at 1 thread, the same bits at 2 and 3.
TEST_F(ConvTest, PhaseDirectForwardReadsStemRowsInPlace) {
    const std::vector<ConvCase> cases = {
        {{1, 3, 33, 31}, 11, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 1, 20, 96}, 22, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 4, 28, 64}, 33, {3, 3}, {2, 2}, {1, 1}, {0, 1}, {1, 1}, 1},
        {{1, 2, 16, 32}, 1, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, 1},
        {{3, 3, 40, 64}, 23, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
    };
    if (phase_direct_isas().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 here";
    expect_phase_direct_forward_matches_reference(device_, cases, mark_edge_columns);
}

// MobileNet-v2's stem shape over a batch whose tensors pass the size where the f32 paths stop
// assuming cache residence (16 MB): the polyphase direct forward (AVX2 and AVX-512) writes y (21
// MB) with non-temporal stores where y starts on a cache line (and with plain ones a float past
// it, the same bits), and the backward filter's dot mode (AVX2 and AVX-512) prefetches the next 8 dy rows and input
// rows in blocks of 5 output rows, each image's last of 2 (34 MB of x and dy; 21 images, 483
// blocks, in 24 reduction slices, slices ending inside images, each prefetching the next slice's
// first block). Within
// tolerance of the reference twin at 1 thread, the same bits at 2 and 3.
TEST_F(ConvTest, LargeStemStreamsOutputsAndPrefetchesInputsAtTheSameBits) {
    const std::vector<mln_isa> isas = phase_direct_isas();
    if (isas.empty()) GTEST_SKIP() << "no AVX2 or AVX-512 here";
    const ConvCase c = {{21, 3, 224, 224}, 20, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1};
    const mln_conv_params p = params_of(c);
    HostTensor<float> x(c.x_shape), w(w_shape_of(c)), bias({c.out_channels}), dy(y_shape_of(c));
    fill_random(x);
    fill_random(w);
    fill_random(bias);
    fill_random(dy);
    const TensorView bias_view = bias.view();
    // y at a cache line and one float past it, in one buffer.
    HostTensor<float> buffer({dy.count() + 32});
    const uintptr_t start = reinterpret_cast<uintptr_t>(buffer.storage().data());
    float* const line = buffer.storage().data() + (64 - start % 64) % 64 / sizeof(float);
    for (const mln_isa isa : isas) {
        SCOPED_TRACE(cat("isa=", static_cast<int>(isa)));
        ScopedIsa scoped(isa);
        for (const int64_t offset : {0, 1}) {
            SCOPED_TRACE(offset);
            expect_reference_at_one_thread_and_same_bits_at_more<float>(
                device_, y_shape_of(c), tolerance<float>(w.count() / c.out_channels * 16),
                [&](const TensorView& want) {
                    reference::conv_forward(p, x.view(), w.view(), &bias_view, MLN_UNARY_OP_RELU, nullptr, want);
                },
                [&](HostTensor<float>& y) {
                    mln_tensor_desc at = *y.desc();
                    at.data = line + offset;
                    std::fill(line + offset, line + offset + y.count(), std::numeric_limits<float>::quiet_NaN());
                    const mln_status status = mln_conv_forward(device_, &p, x.desc(), w.desc(), bias.desc(),
                                                               MLN_UNARY_OP_RELU, nullptr, &at);
                    std::copy(line + offset, line + offset + y.count(), y.storage().data());
                    return status;
                });
        }
    }
    // The backward filter's dot mode (AVX2 and AVX-512).
    for (const mln_isa isa : isas) {
        SCOPED_TRACE(cat("backward filter isa=", static_cast<int>(isa)));
        ScopedIsa scoped(isa);
        expect_reference_at_one_thread_and_same_bits_at_more<float>(
            device_, w_shape_of(c), tolerance<float>(dy.count() / c.out_channels * 16),
            [&](const TensorView& want) { reference::conv_backward_filter(p, x.view(), dy.view(), want, nullptr); },
            [&](HostTensor<float>& dw) {
                return mln_conv_backward_filter(device_, &p, x.desc(), dy.desc(), dw.desc(), nullptr);
            });
    }
}

// ResNet-18's 7x7/2 stem shape (147 depth rows: the backward filter's dot mode in its longer
// prefetching blocks, 6 rows of 112 outputs with a thinner last one) over 7 images whose x and dy
// pass the prefetching size (11 MB), 20 output channels (a last tile of 8 dy rows overlapping
// the one before, whose rows are prefetched too); 6 reduction slices end inside images. Within
// tolerance of the reference twin at 1 thread, the same bits at 2 and 3.
TEST_F(ConvTest, DeepStemFilterPrefetchesInLongerBlocksAtTheSameBits) {
    const std::vector<mln_isa> isas = available_isas();
    if (std::find(isas.begin(), isas.end(), MLN_ISA_AVX512) == isas.end()) GTEST_SKIP() << "no AVX-512 here";
    ScopedIsa scoped(MLN_ISA_AVX512);
    const ConvCase c = {{7, 3, 224, 223}, 20, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1};
    const mln_conv_params p = params_of(c);
    HostTensor<float> x(c.x_shape), dy(y_shape_of(c));
    fill_random(x);
    fill_random(dy);
    expect_reference_at_one_thread_and_same_bits_at_more<float>(
        device_, w_shape_of(c), tolerance<float>(dy.count() / c.out_channels * 16),
        [&](const TensorView& want) { reference::conv_backward_filter(p, x.view(), dy.view(), want, nullptr); },
        [&](HostTensor<float>& dw) {
            return mln_conv_backward_filter(device_, &p, x.desc(), dy.desc(), dw.desc(), nullptr);
        });
}

// Stride-1 backward data under 256 dx positions as a forward conv where that forward takes the
// implicit GEMM's transposed form (conv.cpp, AVX-512 f32) or its position panels (AVX2 f32), its
// w^T panels packed straight from the unflipped filters: 14x14 with 90 dx channels (a partial
// 32-channel panel: 16-row blocks and single rows; depth slices at 2 and 3 threads), 7x7 over a
// batch of 3 (147 positions, w^T packed once; at AVX2 depth blocks of 184, not whole dy channels
// of 9 taps; at AVX-512 the 3x3s at 14x14 and 7x7 take depth blocks of whole dy channels, 144
// deep, and a last one of 72 or 9 taps for 24 and 33 dy channels, through the window tiles), 117
// positions; 7x7 at batch 1 with 80 dx channels (a last panel of exactly 16) and
// 33 dy channels (the split by channel panels at 2 threads), with 70 (AVX2: a last 16-lane panel
// of 6); kernels of 4 taps (2x2, asymmetric pads), 3 taps (1x3: no whole 4-tap column, all taps
// gathered) and 27 (3x3x3). Every ISA (the others take the column path) and f64, 1-3 threads,
// each within tolerance of the reference twin.
TEST_F(ConvTest, BackwardDataByFlippedFiltersInTheTransposedFormMatchesReference) {
    const std::vector<ConvCase> cases = {
        {{1, 90, 14, 14}, 48, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 70, 7, 7}, 24, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{3, 64, 7, 7}, 40, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 64, 9, 13}, 40, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 80, 7, 7}, 33, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 64, 9, 12}, 24, {2, 2}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, 1},
        {{1, 64, 7, 7}, 20, {1, 3}, {1, 1}, {1, 1}, {0, 1}, {0, 1}, 1},
        {{1, 64, 3, 5, 5}, 12, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
    };
    at_thread_counts(device_, {1, 2, 3}, [&] {
        for_every_isa_and_f64(cases, [&](auto element, const ConvCase& c) {
            using T = decltype(element);
            HostTensor<T> dy(y_shape_of(c)), w(w_shape_of(c)), dx(c.x_shape), dx_want(c.x_shape);
            fill_random(dy);
            fill_random(w);
            for (T& v : dx.storage()) v = std::numeric_limits<T>::quiet_NaN();
            const mln_conv_params p = params_of(c);
            ASSERT_EQ(mln_conv_backward_data(device_, &p, dy.desc(), w.desc(), dx.desc()), MLN_STATUS_OK)
                << mln_last_error();
            reference::conv_backward_data(p, dy.view(), w.view(), dx_want.view());
            EXPECT_TRUE(near_all(dx, dx_want, tolerance<T>(c.out_channels * 16 * 16)));
        });
    });
}

// Backward data by polyphase (conv_backward_data.hpp: one stride-1 forward convolution per
// phase of dx, at least 32 channels per group and 1024 positions per phase): 3x3/2 with pads 1
// and 0 and odd sizes (phases of 23 and 22 rows), dilation 2 with stride 2 (odd phases reached
// by no tap: zeros), groups, a 2x2 kernel with stride 3 (phases without taps), strides 2 x 1, 1-d
// and 3-d, batch 1 and 2; pads past the kernel (3 with 3x3/2: a phase would need a negative pad)
// and 31 channels take the column path. Images in slices of one at 1 thread (phases of 33 x 33,
// over 1024 positions): 12 at 2 and 3 threads each thread running whole slices, 6 at 3 threads
// in one slice whose forwards the threads split. f32 at every ISA and f64, 1-3 threads, same bits.
TEST_F(ConvTest, BackwardDataByPolyphaseMatchesReferenceAndThreadCountsAgree) {
    const std::vector<ConvCase> cases = {
        {{2, 32, 46, 45}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{12, 32, 66, 66}, 8, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{6, 32, 66, 66}, 8, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 33, 67, 64}, 17, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 32, 70, 66}, 12, {3, 3}, {2, 2}, {2, 2}, {2, 2}, {2, 2}, 1},
        {{2, 64, 48, 48}, 48, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 2},
        {{1, 32, 100, 99}, 8, {2, 2}, {3, 3}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 32, 64, 40}, 8, {3, 3}, {2, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 32, 2100}, 16, {5}, {2}, {1}, {2}, {2}, 1},
        {{1, 32, 24, 24, 16}, 8, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
        {{1, 32, 64, 64}, 8, {3, 3}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        {{1, 31, 64, 64}, 8, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
    };
    expect_backward_data_matches_reference_and_thread_counts_agree(cases);
}

// Backward data by polyphase where the phases' separate forwards take the transposed form
// (AVX-512 f32), their w^T panels packed from w in one pass (conv_backward_data.hpp's
// pack_phase_panels): 3x3/2 to 7x7 as ResNet's layer4 (the single-tap phase's filters gathered;
// 64 dx channels: whole 32-channel panels; 40 dy channels: depth blocks of 80 for 4 taps), at
// batch 21 (one slice) and 64 (at one thread slices of 21, a last one of 1 image); 5x5/2 to 6x6
// (phases of 9, 6, 6 and 4 taps, none gathered; 33 dx channels: a partial panel). f32 at every ISA
// and f64, 1-3 threads: the same bits.
TEST_F(ConvTest, BackwardDataByPhasePanelsFromFiltersMatchesReferenceAndThreadCountsAgree) {
    const std::vector<ConvCase> cases = {
        {{21, 64, 14, 14}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{64, 64, 14, 14}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{29, 33, 12, 12}, 20, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 1},
    };
    expect_backward_data_matches_reference_and_thread_counts_agree(cases);
}

// Backward data by polyphase where the column path would otherwise serve (few dx positions) or
// the phases are 28 wide (ResNet-18's layer2 3x3/2, any batch), the phases' forwards fused in the
// transposed form (AVX-512 f32, 2-d, one group, phases 7, 14 or a multiple of 14 wide:
// conv_backward_data.hpp's fused_phase_forwards): ResNet-18's 3x3/2 to 7x7 and 14x14 in
// small (64 and 90 dx channels: a partial last 32-channel panel; 70 dy channels: blocks of 56
// and 14), odd heights (phases of 7 and 6 rows, different pads), a batch of 2, a 5x5/2 kernel
// (phases of 9, 6, 6 and 4 taps; 24 dy channels: blocks of 20 and 4), dilation 2 (one phase with all taps, the others none: zeros);
// rows of 28 in two 14-position pieces (batch 1 and 3, phases of 28 and 27 rows, pad 0) and of
// 42 in three (a middle piece that skips neither end column); several images a task (each w^T
// panel over all of them): 5 of 7x7 phases in one slice split by 32-channel ranges, 14x14 phases
// in slices of 2 (5 images: a last slice of 1; 4: a slice per thread at 2 threads). f32 at every
// ISA and f64, 1-3 threads: the same bits (every output summed by one task). All but the dilated
// case write dx's rows straight from the sums (FusedRows), in 16-channel blocks (90 and 33
// channels: partial ones) and 8-position steps (phases 7, 14, 28 and 42 wide: partial last
// steps), phases of unequal heights (13 and 55 rows of dx) included.
TEST_F(ConvTest, BackwardDataByFusedPhaseForwardsMatchesReferenceAndThreadCountsAgree) {
    const std::vector<ConvCase> cases = {
        {{1, 64, 14, 14}, 70, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 90, 28, 28}, 30, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 64, 13, 14}, 24, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 64, 14, 14}, 20, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 64, 28, 28}, 24, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 1},
        {{1, 32, 14, 14}, 16, {3, 3}, {2, 2}, {2, 2}, {2, 2}, {2, 2}, 1},
        {{1, 40, 56, 56}, 12, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{3, 33, 55, 56}, 10, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 32, 20, 84}, 9, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{5, 90, 14, 14}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{5, 64, 28, 28}, 30, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{4, 40, 28, 28}, 33, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
    };
    expect_backward_data_matches_reference_and_thread_counts_agree(cases);
}

// dx of at least kStreamingStoreBytes (17 MB), 64-byte aligned, rows 56 wide (phases of 28): the
// fused forwards write dx's rows in pairs of whole cache lines with non-temporal stores
// (FusedRows::stream, AVX-512); 33 channels: a partial 16-channel block. f32 at the best ISA, 1-3
// threads: the same bits.
TEST_F(ConvTest, BackwardDataByFusedPhaseForwardsStreamsLargeAlignedDx) {
    const ConvCase c{{41, 33, 56, 56}, 7, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1};
    HostTensor<float> dy(y_shape_of(c)), w(w_shape_of(c));
    fill_random(dy);
    fill_random(w);
    const mln_conv_params p = params_of(c);
    size_t count = 1;
    for (const int64_t d : c.x_shape) count *= static_cast<size_t>(d);
    std::vector<float> storage(count + 16);
    float* const aligned = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(storage.data()) + 63) & ~uintptr_t{63});
    expect_reference_at_one_thread_and_same_bits_at_more<float>(
        device_, c.x_shape, tolerance<float>(c.out_channels * 16 * 16),
        [&](const TensorView& want) { reference::conv_backward_data(p, dy.view(), w.view(), want); },
        [&](HostTensor<float>& dx) {
            mln_tensor_desc at = *dx.desc();
            at.data = aligned;
            std::fill(aligned, aligned + count, std::numeric_limits<float>::quiet_NaN());
            const mln_status status = mln_conv_backward_data(device_, &p, dy.desc(), w.desc(), &at);
            std::copy(aligned, aligned + count, dx.storage().begin());
            return status;
        });
}

// NaN and Inf reach the same outputs as in the reference twin on every backward path (depthwise
// blocks, flipped-filter forward, GEMM + col2im, polyphase (fused too), pointwise) at every ISA: in dy for backward
// data, in x for backward filter (padding never multiplies them, so no 0 * Inf appears; the
// direct mode's padded copy only feeds real output positions).
TEST_F(ConvTest, BackwardPropagatesNanAndInfLikeReferenceEveryIsa) {
    const std::vector<ConvCase> cases = {
        {{2, 19, 6, 5}, 19, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 19},
        {{3, 35, 5, 4}, 35, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 35},
        {{2, 17, 21, 28}, 17, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 17},  // depthwise stride-2 strips
        {{2, 5, 13, 11}, 7, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 5, 9, 20}, 7, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},  // backward filter's direct mode
        {{1, 3, 36, 34}, 8, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},  // and dot mode (a masked last step)
        {{1, 7, 10, 19}, 6, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 32, 64, 64}, 6, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 64, 14, 14}, 6, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},  // fused phase forwards
        {{2, 9, 5, 7}, 17, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        // Pointwise with the backward filter's dot kernel (>= 256 positions), and stride 2.
        {{1, 5, 20, 21}, 10, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 8, 9, 11}, 5, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
    };
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const ConvCase& c : cases) {
            SCOPED_TRACE(cat(describe(c), " isa=", static_cast<int>(isa)));
            const mln_conv_params p = params_of(c);
            HostTensor<float> x(c.x_shape), w(w_shape_of(c)), dy(y_shape_of(c));
            HostTensor<float> dx(c.x_shape), dx_want(c.x_shape), dw(w_shape_of(c)), dw_want(w_shape_of(c));
            fill_random(x);
            fill_random(w);
            fill_random(dy);
            dy.at(dy.count() / 3) = std::numeric_limits<float>::quiet_NaN();
            dy.at(dy.count() - 2) = std::numeric_limits<float>::infinity();
            x.at(x.count() / 2) = std::numeric_limits<float>::quiet_NaN();
            x.at(1) = -std::numeric_limits<float>::infinity();
            ASSERT_EQ(mln_conv_backward_data(device_, &p, dy.desc(), w.desc(), dx.desc()), MLN_STATUS_OK)
                << mln_last_error();
            reference::conv_backward_data(p, dy.view(), w.view(), dx_want.view());
            EXPECT_TRUE(near_all(dx, dx_want, tolerance<float>(c.out_channels * 16 * 16))) << "backward data";
            // Backward filter takes dy without its non-finite values, x with them.
            fill_random(dy);
            ASSERT_EQ(mln_conv_backward_filter(device_, &p, x.desc(), dy.desc(), dw.desc(), nullptr), MLN_STATUS_OK)
                << mln_last_error();
            reference::conv_backward_filter(p, x.view(), dy.view(), dw_want.view(), nullptr);
            EXPECT_TRUE(near_all(dw, dw_want, tolerance<float>(dy.count() * 16))) << "backward filter";
            int64_t non_finite = 0;
            for (int64_t i = 0; i < dx_want.count(); ++i) non_finite += std::isfinite(dx_want.at(i)) ? 0 : 1;
            for (int64_t i = 0; i < dw_want.count(); ++i) non_finite += std::isfinite(dw_want.at(i)) ? 0 : 1;
            EXPECT_GT(non_finite, 0) << "the case must carry a non-finite value to an output";
        }
    }
}

// L = sum(y * r) for a fixed random r: dL/dx = backward_data(r), dL/dw = backward_filter(x, r),
// dL/dbias = sum of r. Each is compared with (L(v + h) - L(v - h)) / 2h.
TEST_F(ConvTest, GradientsMatchFiniteDifferences) {
    const std::vector<ConvCase> cases = {
        {{2, 4, 5, 6}, 4, {3, 2}, {2, 1}, {1, 2}, {1, 0}, {2, 1}, 2},
        {{1, 3, 6, 5}, 3, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 3},
        {{2, 2, 7}, 3, {2}, {3}, {1}, {0}, {1}, 1},
    };
    for (const ConvCase& c : cases) {
        SCOPED_TRACE(describe(c));
        const mln_conv_params p = params_of(c);
        HostTensor<double> x(c.x_shape), w(w_shape_of(c)), bias({c.out_channels}), r(y_shape_of(c)),
            y(y_shape_of(c));
        HostTensor<double> dx(c.x_shape), dw(w_shape_of(c)), dbias({c.out_channels});
        fill_random(x);
        fill_random(w);
        fill_random(bias);
        fill_random(r);
        ASSERT_EQ(mln_conv_backward_data(device_, &p, r.desc(), w.desc(), dx.desc()), MLN_STATUS_OK);
        ASSERT_EQ(mln_conv_backward_filter(device_, &p, x.desc(), r.desc(), dw.desc(), dbias.desc()), MLN_STATUS_OK);
        auto loss = [&] {
            EXPECT_EQ(mln_conv_forward(device_, &p, x.desc(), w.desc(), bias.desc(), MLN_UNARY_OP_IDENTITY, nullptr, y.desc()), MLN_STATUS_OK);
            double sum = 0.0;
            for (int64_t i = 0; i < y.count(); ++i) sum += y.at(i) * r.at(i);
            return sum;
        };
        auto check = [&](HostTensor<double>& v, HostTensor<double>& grad, const char* name) {
            for (int64_t i = 0; i < v.count(); ++i) {
                const double saved = v.at(i);
                const double h = 1e-5;
                v.at(i) = saved + h;
                const double plus = loss();
                v.at(i) = saved - h;
                const double minus = loss();
                v.at(i) = saved;
                EXPECT_NEAR(grad.at(i), (plus - minus) / (2 * h), 1e-6 * (1.0 + std::fabs(grad.at(i))))
                    << name << " element " << i;
            }
        };
        check(x, dx, "dx");
        check(w, dw, "dw");
        check(bias, dbias, "dbias");
    }
}

// ConvTranspose as backward_data: dx may be larger than the smallest input that gives dy's
// size (ONNX output_padding); the extra border receives what the adjoint gives it.
TEST_F(ConvTest, BackwardDataServesConvTransposeWithOutputPadding) {
    mln_conv_params p{};
    p.spatial_rank = 2;
    p.strides[0] = p.strides[1] = 2;
    p.dilations[0] = p.dilations[1] = 1;
    p.pads_begin[0] = p.pads_begin[1] = 1;
    p.pads_end[0] = p.pads_end[1] = 1;
    p.groups = 1;
    HostTensor<float> input({2, 3, 4, 5}), w({3, 2, 3, 3}), y({2, 2, 8, 10}), want({2, 2, 8, 10});
    fill_random(input);
    fill_random(w);
    ASSERT_EQ(mln_conv_backward_data(device_, &p, input.desc(), w.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::conv_backward_data(p, input.view(), w.view(), want.view());
    EXPECT_TRUE(near_all(y, want, tolerance<float>(64)));
}

TEST_F(ConvTest, DeviceReportsTheNeuralNetworkFamilies) {
    auto supports = [&](mln_kernel kernel, mln_dtype dtype) {
        int32_t result = -1;
        EXPECT_EQ(mln_device_supports(device_, kernel, dtype, &result), MLN_STATUS_OK) << mln_last_error();
        return result;
    };
    for (mln_kernel kernel : {MLN_KERNEL_CONV, MLN_KERNEL_POOL, MLN_KERNEL_NORMALIZATION}) {
        EXPECT_EQ(supports(kernel, MLN_DTYPE_F32), 1);
        EXPECT_EQ(supports(kernel, MLN_DTYPE_F64), 1);
        EXPECT_EQ(supports(kernel, MLN_DTYPE_F16), 0);
        EXPECT_EQ(supports(kernel, MLN_DTYPE_I32), 0);
    }
    EXPECT_EQ(supports(MLN_KERNEL_INDEXING, MLN_DTYPE_I8), 1);
    EXPECT_EQ(supports(MLN_KERNEL_INDEXING, MLN_DTYPE_BF16), 1);
}

TEST_F(ConvTest, RejectsBadArgumentsWithClearMessages) {
    mln_conv_params p{};
    p.spatial_rank = 2;
    p.strides[0] = p.strides[1] = 1;
    p.dilations[0] = p.dilations[1] = 1;
    p.groups = 1;
    HostTensor<float> x({1, 4, 5, 5}), w({6, 4, 3, 3}), y({1, 6, 3, 3}), bad_y({1, 6, 4, 3}), bias({5});
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, bad_y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_conv_forward: y is 1x6x4x3 but x 1x4x5x5 and w 6x4x3x3", "give 1x6x3x3"}));
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), bias.desc(), MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"bias is 5 but must be a vector of length 6"}));
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, nullptr, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"params is null"}));
    p.groups = 3;
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"groups = 3 must divide"}));
    p.groups = 2;
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"w.shape[1] must be 2"}));
    p.groups = 1;
    p.strides[1] = 0;
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"params.strides[1] is 0"}));
    p.strides[1] = 1;
    p.dilations[0] = 3;
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"smaller than the dilated kernel extent 7"}));
    p.dilations[0] = 1;
    p.spatial_rank = 4;
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"params.spatial_rank is 4"}));
    p.spatial_rank = 1;
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"x is 1x4x5x5 (rank 4) but must have rank 3"}));
    p.spatial_rank = 2;
    HostTensor<float> strided_x({1, 4, 5, 5}, {100, 25, 1, 5});
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, strided_x.desc(), w.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"x is 1x4x5x5 with strides [100,25,1,5]", "contiguous"}));
    HostTensor<double> w64({6, 4, 3, 3});
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, x.desc(), w64.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"dtype"}));
    HostTensor<int32_t> xi({1, 4, 5, 5}), wi({6, 4, 3, 3}), yi({1, 6, 3, 3});
    EXPECT_TRUE(failed_with(mln_conv_forward(device_, &p, xi.desc(), wi.desc(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, yi.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"x has dtype i32 but must be f32 or f64"}));
    HostTensor<float> dx({1, 4, 6, 6});
    EXPECT_TRUE(failed_with(mln_conv_backward_data(device_, &p, y.desc(), w.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_conv_backward_data: dy is 1x6x3x3 but dx 1x4x6x6"}));
    HostTensor<float> dw({6, 4, 2, 3});
    EXPECT_TRUE(failed_with(mln_conv_backward_filter(device_, &p, x.desc(), y.desc(), dw.desc(), nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_conv_backward_filter: dy is 1x6x3x3 but x 1x4x5x5 and dw"}));
}

}  // namespace
}  // namespace mln::test
