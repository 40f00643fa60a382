// Prepared convolution weights (mln_conv_weights_create / mln_conv_forward_prepared): the same
// results as mln_conv_forward and the reference twin on every forward path, every ISA and thread
// count, with the caller's filters gone; the packed form where the transposed implicit GEMM or the
// polyphase direct kernel runs; errors for a mismatching input, device or handle.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "core/text.hpp"
#include "conv_test_cases.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::test {
namespace {

// Every forward path: the transposed form (AVX-512 f32, one group, 7x7 / 14x14-like outputs: the
// padded source at 7 and 14 wide, polyphase planes for stride 2, lowered columns otherwise; 10
// depth blocks with a partial last one, a partial last 32-channel panel, 9 panels that split
// unevenly among threads, a batch), the plain implicit GEMM, Winograd, depthwise, pointwise,
// groups, 1-d and 3-d, an empty batch; the polyphase direct kernel (stride 2 from at most 64
// channels at AVX-512, 4 at AVX2: panels of 13, 13 and 14 rows over odd sizes, a 7x7/2 stem at
// batch 2, a single output channel, a 3x3/2 stem whose tiles read x's rows in place, in panels of
// at most 11 rows: 24 channels in 3 panels where the plane tiles would take 2).
std::vector<ConvCase> cases() {
    return {
        {{1, 24, 29, 31}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 3, 30, 28}, 21, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        {{1, 3, 17, 19}, 1, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 3, 20, 32}, 24, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 140, 7, 7}, 64, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 37, 7, 7}, 90, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 40, 14, 14}, 64, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 20, 14, 14}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 24, 13, 11}, 64, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 16, 7, 7}, 280, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 12, 14, 13}, 280, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 40, 14, 14}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{5, 24, 14, 14}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 140, 7, 7}, 90, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{1, 50, 3, 3}, 33, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{1, 40, 23, 29}, 13, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 64, 16, 16}, 64, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {{2, 19, 6, 5}, 19, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 19},
        {{2, 9, 5, 7}, 17, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {{2, 4, 9, 9}, 4, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, 2},
        {{3, 4, 17}, 6, {3}, {2}, {2}, {1}, {1}, 2},
        {{1, 8, 3, 5, 5}, 64, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
        {{0, 3, 5, 5}, 2, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    };
}

template <class T>
double tolerance(int64_t terms) {
    return std::numeric_limits<T>::epsilon() * 16.0 * static_cast<double>(terms + 4);
}

struct WeightsDeleter {
    void operator()(mln_conv_weights* w) const { mln_conv_weights_destroy(w); }
};
using Weights = std::unique_ptr<mln_conv_weights, WeightsDeleter>;

// Prepares c's random filters, overwrites the caller's copy with NaN, then checks the prepared
// forward (bias, residual, ReLU) against the plain forward and the reference twin.
template <class T>
void check_case(mln_device* device, const ConvCase& c) {
    const mln_conv_params p = params_of(c);
    HostTensor<T> x(c.x_shape), w(w_shape_of(c)), w_kept(w_shape_of(c)), bias({c.out_channels});
    HostTensor<T> residual(y_shape_of(c)), y(y_shape_of(c)), y_plain(y_shape_of(c)), y_want(y_shape_of(c));
    fill_random(x);
    fill_random(w);
    fill_random(bias);
    fill_random(residual);
    w_kept.storage() = w.storage();
    mln_conv_weights* raw = nullptr;
    ASSERT_EQ(mln_conv_weights_create(device, &p, x.desc(), w.desc(), &raw), MLN_STATUS_OK) << mln_last_error();
    const Weights weights(raw);
    std::fill(w.storage().begin(), w.storage().end(), std::numeric_limits<T>::quiet_NaN());
    std::fill(y.storage().begin(), y.storage().end(), std::numeric_limits<T>::quiet_NaN());
    ASSERT_EQ(mln_conv_forward_prepared(device, weights.get(), x.desc(), bias.desc(), MLN_UNARY_OP_RELU,
                                        residual.desc(), y.desc()),
              MLN_STATUS_OK)
        << mln_last_error();
    ASSERT_EQ(mln_conv_forward(device, &p, x.desc(), w_kept.desc(), bias.desc(), MLN_UNARY_OP_RELU, residual.desc(),
                               y_plain.desc()),
              MLN_STATUS_OK)
        << mln_last_error();
    const TensorView bias_view = bias.view();
    const TensorView residual_view = residual.view();
    reference::conv_forward(p, x.view(), w_kept.view(), &bias_view, MLN_UNARY_OP_RELU, &residual_view, y_want.view());
    const int64_t terms = w_kept.count() / std::max<int64_t>(c.out_channels, 1) * 16;
    EXPECT_TRUE(near_all(y, y_want, tolerance<T>(terms))) << "prepared against the reference";
    EXPECT_TRUE(near_all(y, y_plain, tolerance<T>(terms))) << "prepared against mln_conv_forward";
    // A second call on the same handle gives the same bits.
    HostTensor<T> again(y_shape_of(c));
    ASSERT_EQ(mln_conv_forward_prepared(device, weights.get(), x.desc(), bias.desc(), MLN_UNARY_OP_RELU,
                                        residual.desc(), again.desc()),
              MLN_STATUS_OK);
    EXPECT_TRUE(same_elements(again, y));
}

class ConvPreparedTest : public CpuDeviceTest {};

TEST_F(ConvPreparedTest, MatchesPlainForwardAndReferenceEveryIsaAndThreadCount) {
    at_thread_counts(device_, {1, 2, 3}, [&] {
        for (mln_isa isa : available_isas()) {
            ScopedIsa scoped(isa);
            for (const ConvCase& c : cases()) {
                SCOPED_TRACE(cat("x[0..1]=", c.x_shape[0], ",", c.x_shape[1], " M=", c.out_channels, " f32 isa=",
                                 static_cast<int>(isa)));
                check_case<float>(device_, c);
            }
        }
        for (const ConvCase& c : cases()) {
            SCOPED_TRACE(cat("x[0..1]=", c.x_shape[0], ",", c.x_shape[1], " M=", c.out_channels, " f64"));
            check_case<double>(device_, c);
        }
    });
}

bool has_isa(mln_isa isa) {
    const std::vector<mln_isa> isas = available_isas();
    return std::find(isas.begin(), isas.end(), isa) != isas.end();
}

int32_t is_packed(mln_device* device, const ConvCase& c, mln_dtype dtype) {
    const mln_conv_params p = params_of(c);
    HostTensor<float> x(c.x_shape), w(w_shape_of(c));
    mln_tensor_desc xd = *x.desc(), wd = *w.desc();
    xd.dtype = wd.dtype = dtype;  // only the shape and dtype are read for the layout decision
    std::vector<double> x64(static_cast<size_t>(x.count())), w64(static_cast<size_t>(w.count()));
    if (dtype == MLN_DTYPE_F64) xd.data = x64.data(), wd.data = w64.data();
    mln_conv_weights* raw = nullptr;
    EXPECT_EQ(mln_conv_weights_create(device, &p, &xd, &wd, &raw), MLN_STATUS_OK) << mln_last_error();
    const Weights weights(raw);
    int32_t packed = -1;
    EXPECT_EQ(mln_conv_weights_is_packed(weights.get(), &packed), MLN_STATUS_OK) << mln_last_error();
    return packed;
}

// Packed exactly where the transposed form runs (AVX-512 f32 ResNet-18 layer3/4 shapes) or the
// polyphase direct kernel (stride 2 from at most 64 channels at AVX-512, 4 at AVX2); plain copies
// for f64, other ISAs, depthwise, pointwise and large images.
TEST_F(ConvPreparedTest, PacksWhereTheTransposedFormOrPhaseDirectRuns) {
    const ConvCase layer4{{1, 64, 7, 7}, 64, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1};
    const ConvCase layer3_down{{1, 32, 28, 28}, 64, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1};
    const ConvCase depthwise{{1, 32, 7, 7}, 32, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 32};
    const ConvCase pointwise{{1, 64, 7, 7}, 64, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1};
    const ConvCase large{{1, 16, 56, 56}, 16, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1};
    const ConvCase layer2_down{{1, 24, 29, 31}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1};
    const ConvCase stem{{1, 3, 30, 28}, 21, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1};
    if (has_isa(MLN_ISA_AVX512)) {
        ScopedIsa scoped(MLN_ISA_AVX512);
        EXPECT_EQ(is_packed(device_, layer4, MLN_DTYPE_F32), 1);
        EXPECT_EQ(is_packed(device_, layer3_down, MLN_DTYPE_F32), 1);
        EXPECT_EQ(is_packed(device_, layer2_down, MLN_DTYPE_F32), 1);
        EXPECT_EQ(is_packed(device_, stem, MLN_DTYPE_F32), 1);
        EXPECT_EQ(is_packed(device_, stem, MLN_DTYPE_F64), 0);
        EXPECT_EQ(is_packed(device_, layer4, MLN_DTYPE_F64), 0);
        EXPECT_EQ(is_packed(device_, depthwise, MLN_DTYPE_F32), 0);
        EXPECT_EQ(is_packed(device_, pointwise, MLN_DTYPE_F32), 0);
        EXPECT_EQ(is_packed(device_, large, MLN_DTYPE_F32), 0);
    }
    for (mln_isa isa : available_isas()) {
        if (isa == MLN_ISA_AVX512) continue;
        ScopedIsa scoped(isa);
        EXPECT_EQ(is_packed(device_, layer4, MLN_DTYPE_F32), 0);
        EXPECT_EQ(is_packed(device_, layer2_down, MLN_DTYPE_F32), 0);
        EXPECT_EQ(is_packed(device_, stem, MLN_DTYPE_F32), isa == MLN_ISA_AVX2 ? 1 : 0);
    }
}

// The prepared filters are the device's memory: its counters rise by the bytes the handle reports
// (a plain copy: w's bytes; packed: at least that, in whole 32-channel panels) and fall back when
// it is destroyed.
TEST_F(ConvPreparedTest, WeightsAreDeviceMemoryCountedByItsStats) {
    const ConvCase layer4{{1, 64, 7, 7}, 70, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1};
    const ConvCase pointwise{{1, 64, 7, 7}, 70, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1};
    for (const ConvCase& c : {layer4, pointwise}) {
        const mln_conv_params p = params_of(c);
        HostTensor<float> x(c.x_shape), w(w_shape_of(c));
        mln_memory_stats before{}, live{}, after{};
        ASSERT_EQ(mln_memory_get_stats(device_, &before), MLN_STATUS_OK);
        mln_conv_weights* raw = nullptr;
        ASSERT_EQ(mln_conv_weights_create(device_, &p, x.desc(), w.desc(), &raw), MLN_STATUS_OK) << mln_last_error();
        Weights weights(raw);
        int64_t bytes = -1;
        int32_t packed = -1;
        ASSERT_EQ(mln_conv_weights_get_bytes(weights.get(), &bytes), MLN_STATUS_OK) << mln_last_error();
        ASSERT_EQ(mln_conv_weights_is_packed(weights.get(), &packed), MLN_STATUS_OK) << mln_last_error();
        const int64_t w_bytes = w.count() * static_cast<int64_t>(sizeof(float));
        if (packed == 1) {
            const int64_t panel_channels = (c.out_channels + 31) / 32 * 32;
            EXPECT_GE(bytes, w_bytes / c.out_channels * panel_channels);
        } else {
            EXPECT_EQ(bytes, w_bytes);
        }
        ASSERT_EQ(mln_memory_get_stats(device_, &live), MLN_STATUS_OK);
        EXPECT_EQ(live.live_bytes - before.live_bytes, bytes);
        EXPECT_EQ(live.live_allocations - before.live_allocations, 1);
        weights.reset();
        ASSERT_EQ(mln_memory_get_stats(device_, &after), MLN_STATUS_OK);
        EXPECT_EQ(after.live_bytes, before.live_bytes);
        EXPECT_EQ(after.live_allocations, before.live_allocations);
    }
}

// Weights packed at AVX-512 stay correct after a lower ISA is selected (the filters are unpacked
// for that call).
TEST_F(ConvPreparedTest, PackedWeightsServeCallsAtAnotherIsa) {
    if (!has_isa(MLN_ISA_AVX512)) GTEST_SKIP() << "no AVX-512 on this CPU";
    // Depth blocks of 128 and, for the 3x3/2 from an even size, of whole channels (144); the
    // polyphase direct kernel's panels of 14 rows, from 24 channels (the implicit GEMM at AVX2)
    // and from 3 (AVX2's 6-row panels).
    for (const ConvCase& c : {ConvCase{{1, 37, 7, 7}, 90, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
                              ConvCase{{1, 37, 14, 14}, 90, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
                              ConvCase{{1, 24, 29, 31}, 40, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
                              ConvCase{{1, 3, 30, 28}, 21, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1}}) {
        const mln_conv_params p = params_of(c);
        HostTensor<float> x(c.x_shape), w(w_shape_of(c)), y(y_shape_of(c)), y_want(y_shape_of(c));
        fill_random(x);
        fill_random(w);
        mln_conv_weights* raw = nullptr;
        {
            ScopedIsa scoped(MLN_ISA_AVX512);
            ASSERT_EQ(mln_conv_weights_create(device_, &p, x.desc(), w.desc(), &raw), MLN_STATUS_OK)
                << mln_last_error();
        }
        const Weights weights(raw);
        reference::conv_forward(p, x.view(), w.view(), nullptr, MLN_UNARY_OP_IDENTITY, nullptr, y_want.view());
        for (mln_isa isa : available_isas()) {
            SCOPED_TRACE(cat("isa=", static_cast<int>(isa)));
            ScopedIsa scoped(isa);
            std::fill(y.storage().begin(), y.storage().end(), std::numeric_limits<float>::quiet_NaN());
            ASSERT_EQ(mln_conv_forward_prepared(device_, weights.get(), x.desc(), nullptr, MLN_UNARY_OP_IDENTITY,
                                                nullptr, y.desc()),
                      MLN_STATUS_OK)
                << mln_last_error();
            EXPECT_TRUE(near_all(y, y_want, tolerance<float>(37 * 9 * 16)));
        }
    }
}

TEST_F(ConvPreparedTest, RejectsMismatchingInputsAndBadHandles) {
    const ConvCase c{{1, 8, 7, 7}, 16, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1};
    const mln_conv_params p = params_of(c);
    HostTensor<float> x(c.x_shape), w(w_shape_of(c)), y(y_shape_of(c));
    mln_conv_weights* raw = nullptr;
    ASSERT_EQ(mln_conv_weights_create(device_, &p, x.desc(), w.desc(), &raw), MLN_STATUS_OK) << mln_last_error();
    const Weights weights(raw);

    // x of another spatial size, batch or dtype than prepared for.
    HostTensor<float> x_wide({1, 8, 7, 9}), y_wide({1, 16, 7, 9}), x_batch({2, 8, 7, 7}), y_batch({2, 16, 7, 7});
    EXPECT_TRUE(failed_with(mln_conv_forward_prepared(device_, weights.get(), x_wide.desc(), nullptr,
                                                      MLN_UNARY_OP_IDENTITY, nullptr, y_wide.desc()),
                            MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_conv_forward_prepared", "x is 1x8x7x9", "prepared for x 1x8x7x7"}));
    EXPECT_TRUE(failed_with(mln_conv_forward_prepared(device_, weights.get(), x_batch.desc(), nullptr,
                                                      MLN_UNARY_OP_IDENTITY, nullptr, y_batch.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"x is 2x8x7x7", "prepared for"}));
    HostTensor<double> x64(c.x_shape), y64(y_shape_of(c));
    EXPECT_TRUE(failed_with(mln_conv_forward_prepared(device_, weights.get(), x64.desc(), nullptr,
                                                      MLN_UNARY_OP_IDENTITY, nullptr, y64.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"f64", "prepared for"}));
    // y of the wrong shape, as mln_conv_forward reports it.
    HostTensor<float> y_bad({1, 15, 7, 7});
    EXPECT_TRUE(failed_with(mln_conv_forward_prepared(device_, weights.get(), x.desc(), nullptr,
                                                      MLN_UNARY_OP_IDENTITY, nullptr, y_bad.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"y is 1x15x7x7"}));
    // Another device handle.
    mln_device* other = nullptr;
    ASSERT_EQ(mln_device_create(MLN_DEVICE_KIND_CPU, 0, &other), MLN_STATUS_OK);
    EXPECT_TRUE(failed_with(mln_conv_forward_prepared(other, weights.get(), x.desc(), nullptr, MLN_UNARY_OP_IDENTITY,
                                                      nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"another device"}));
    mln_device_destroy(other);
    // Null handles and outputs; a create that fails leaves the out-parameter untouched.
    EXPECT_TRUE(failed_with(mln_conv_forward_prepared(device_, nullptr, x.desc(), nullptr, MLN_UNARY_OP_IDENTITY,
                                                      nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"weights is null"}));
    EXPECT_TRUE(failed_with(mln_conv_weights_create(device_, &p, x.desc(), w.desc(), nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"out_weights is null"}));
    mln_conv_weights* untouched = reinterpret_cast<mln_conv_weights*>(&raw);
    HostTensor<float> w_bad({16, 7, 3, 3});
    EXPECT_TRUE(failed_with(mln_conv_weights_create(device_, &p, x.desc(), w_bad.desc(), &untouched),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_conv_weights_create", "w is 16x7x3x3"}));
    EXPECT_EQ(untouched, reinterpret_cast<mln_conv_weights*>(&raw));
    EXPECT_TRUE(failed_with(mln_conv_weights_is_packed(weights.get(), nullptr), MLN_STATUS_INVALID_ARGUMENT,
                            {"out_packed is null"}));
    EXPECT_TRUE(failed_with(mln_conv_weights_get_bytes(weights.get(), nullptr), MLN_STATUS_INVALID_ARGUMENT,
                            {"out_bytes is null"}));
    int64_t bytes = -1;
    EXPECT_TRUE(failed_with(mln_conv_weights_get_bytes(nullptr, &bytes), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_conv_weights_get_bytes", "weights is null"}));
    EXPECT_EQ(bytes, -1);
    mln_conv_weights_destroy(nullptr);
}

}  // namespace
}  // namespace mln::test
