// Winograd F(4x4, 3x3) forward convolution (conv_winograd.hpp): the driver called directly at
// every ISA and 1-3 threads against a double-precision reference, its error bound, the
// epilogue, non-finite inputs, and the routes through the public API (forward and the stride-1
// backward data, which runs as a forward convolution) where the dispatch picks it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/nn_validation.hpp"
#include "core/text.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/conv/conv_winograd.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::test {
namespace {

struct WinogradCase {
    int64_t batch, channels, out_channels, height, width;
    int64_t pad_top, pad_left, pad_bottom, pad_right;
};

std::string describe(const WinogradCase& c) {
    return cat("n=", c.batch, " c=", c.channels, " m=", c.out_channels, " h=", c.height, " w=", c.width, " pads=",
               c.pad_top, ",", c.pad_left, ",", c.pad_bottom, ",", c.pad_right);
}

mln_conv_params params_of(const WinogradCase& c) {
    mln_conv_params p{};
    p.spatial_rank = 2;
    for (int i = 0; i < 2; ++i) {
        p.strides[i] = 1;
        p.dilations[i] = 1;
    }
    p.pads_begin[0] = c.pad_top;
    p.pads_begin[1] = c.pad_left;
    p.pads_end[0] = c.pad_bottom;
    p.pads_end[1] = c.pad_right;
    p.groups = 1;
    return p;
}

std::vector<int64_t> x_shape(const WinogradCase& c) { return {c.batch, c.channels, c.height, c.width}; }
std::vector<int64_t> w_shape(const WinogradCase& c) { return {c.out_channels, c.channels, 3, 3}; }
std::vector<int64_t> y_shape(const WinogradCase& c) {
    return {c.batch, c.out_channels, c.height + c.pad_top + c.pad_bottom - 2, c.width + c.pad_left + c.pad_right - 2};
}

template <class From, class To>
void copy_values(const HostTensor<From>& from, HostTensor<To>& to, bool absolute = false) {
    for (int64_t i = 0; i < from.count(); ++i) {
        const double value = static_cast<double>(const_cast<HostTensor<From>&>(from).at(i));
        to.at(i) = static_cast<To>(absolute ? std::fabs(value) : value);
    }
}

struct Epilogue {
    bool bias;
    bool residual;
    mln_unary_op activation;
};

// Tensors of one case, f32 for the kernel and the exact result and error scale in double:
// scale = sum over taps and channels of |w||x| + |bias| + |residual| (before the activation).
struct WinogradProblem {
    WinogradCase c;
    Epilogue e;
    HostTensor<float> x, w, bias, residual, y;
    HostTensor<double> exact, scale;

    WinogradProblem(const WinogradCase& c_, const Epilogue& e_)
        : c(c_), e(e_), x(x_shape(c_)), w(w_shape(c_)), bias({c_.out_channels}), residual(y_shape(c_)),
          y(y_shape(c_)), exact(y_shape(c_)), scale(y_shape(c_)) {
        fill_random(x);
        fill_random(w);
        fill_random(bias);
        fill_random(residual);
        for (int64_t i = 0; i < y.count(); ++i) y.at(i) = std::numeric_limits<float>::quiet_NaN();
    }

    // The exact result (in double) of the f32 inputs; after any change to x or w.
    void compute_exact() {
        const mln_conv_params p = params_of(c);
        HostTensor<double> xd(x_shape(c)), wd(w_shape(c)), bd({c.out_channels}), rd(y_shape(c));
        copy_values(x, xd);
        copy_values(w, wd);
        copy_values(bias, bd);
        copy_values(residual, rd);
        const TensorView bv = bd.view(), rv = rd.view();
        reference::conv_forward(p, xd.view(), wd.view(), e.bias ? &bv : nullptr, e.activation,
                                e.residual ? &rv : nullptr, exact.view());
        copy_values(x, xd, true);
        copy_values(w, wd, true);
        copy_values(bias, bd, true);
        copy_values(residual, rd, true);
        reference::conv_forward(p, xd.view(), wd.view(), e.bias ? &bv : nullptr, MLN_UNARY_OP_IDENTITY,
                                e.residual ? &rv : nullptr, scale.view());
    }

    ConvArgs args(mln_device* device) const {
        const mln_conv_params p = params_of(c);
        return validate_conv_forward(*device, &p, x.desc(), w.desc(), e.bias ? bias.desc() : nullptr, e.activation,
                                     e.residual ? residual.desc() : nullptr, y.desc());
    }

    // Max of |y - exact| / scale, where scale is the largest over the outputs of the output's
    // tile: the transforms mix the tile's whole 6x6 patch, so an output's rounding error follows
    // the patch's magnitude (an output whose window is all padding is a cancellation to 0 of
    // the patch's terms). Activations here (ReLU, tanh, GELU) change the error by at most
    // about 1.1x.
    double max_relative_error() {
        const std::vector<int64_t> shape = y_shape(c);
        const int64_t height = shape[2], width = shape[3];
        double worst = 0.0;
        for (int64_t plane = 0; plane < shape[0] * shape[1]; ++plane) {
            for (int64_t ty = 0; ty < height; ty += 4) {
                for (int64_t tx = 0; tx < width; tx += 4) {
                    double tile_scale = 0.0;
                    for (int64_t i = ty; i < std::min(ty + 4, height); ++i) {
                        for (int64_t j = tx; j < std::min(tx + 4, width); ++j) {
                            tile_scale = std::max(tile_scale, scale.at((plane * height + i) * width + j));
                        }
                    }
                    for (int64_t i = ty; i < std::min(ty + 4, height); ++i) {
                        for (int64_t j = tx; j < std::min(tx + 4, width); ++j) {
                            const int64_t index = (plane * height + i) * width + j;
                            const double error = std::fabs(static_cast<double>(y.at(index)) - exact.at(index)) /
                                                 (tile_scale + 1e-30);
                            worst = std::isnan(error) ? std::numeric_limits<double>::infinity() : std::max(worst, error);
                        }
                    }
                }
            }
        }
        return worst;
    }
};

// Sizes not multiples of the 4x4 tile (1, 2, 5, 7, 13, 56 and others), prime channel counts,
// pads 0, 1 and asymmetric, batch 1 and 3, channels past one block of V and output channels
// past one chunk of M, rows longer than one run of tiles (64 tiles: width 260), pads of 2 and 3.
std::vector<WinogradCase> cases() {
    return {
        {1, 1, 1, 3, 3, 0, 0, 0, 0},      {1, 3, 5, 1, 1, 1, 1, 1, 1},      {1, 2, 3, 2, 2, 1, 1, 1, 1},
        {3, 5, 7, 5, 5, 1, 1, 1, 1},      {1, 7, 11, 7, 7, 1, 1, 1, 1},     {3, 13, 17, 13, 13, 0, 0, 0, 0},
        {1, 3, 2, 56, 56, 1, 1, 1, 1},    {2, 11, 13, 13, 7, 1, 0, 0, 1},   {1, 17, 19, 9, 14, 2, 1, 0, 2},
        {1, 31, 37, 6, 5, 1, 1, 1, 1},    {3, 37, 29, 7, 7, 1, 1, 1, 1},    {1, 67, 9, 10, 11, 1, 1, 1, 1},
        {1, 5, 131, 8, 9, 1, 1, 1, 1},    {2, 3, 4, 5, 260, 1, 1, 1, 1},    {1, 200, 70, 14, 14, 1, 1, 1, 1},
        {2, 5, 6, 4, 6, 3, 0, 3, 4},  // pads past the kernel: whole tiles of zeros
        // The schedules at 2 and 3 threads: 7 blocks of tiles (the blocked one); 9 tiles, and 81
        // tiles in 3 blocks, whose V of all tiles fits the shared-input budget (37 output channels:
        // chunks of 1 and 2 panels); 81 tiles whose V does not (chunk groups of the blocked one).
        {2, 64, 19, 37, 38, 1, 1, 1, 1},  {1, 40, 37, 10, 10, 1, 1, 1, 1},  {1, 130, 17, 36, 36, 1, 1, 1, 1},
        {1, 160, 17, 36, 36, 1, 1, 1, 1},
    };
}

const Epilogue kEpilogues[] = {
    {false, false, MLN_UNARY_OP_IDENTITY}, {true, false, MLN_UNARY_OP_RELU}, {false, true, MLN_UNARY_OP_IDENTITY},
    {true, true, MLN_UNARY_OP_RELU},       {true, true, MLN_UNARY_OP_TANH},  {true, false, MLN_UNARY_OP_GELU},
};

class ConvWinogradTest : public CpuDeviceTest {};

TEST_F(ConvWinogradTest, MatchesDoubleReferenceAtEveryIsaAndThreadCount) {
    double worst = 0.0;
    const std::vector<WinogradCase> all = cases();
    const size_t epilogues = std::size(kEpilogues);
    for (size_t index = 0; index < all.size(); ++index) {
        const WinogradCase& c = all[index];
        // Two epilogues per case, in turn, so that each meets several shapes.
        for (const Epilogue& e : {kEpilogues[index % epilogues], kEpilogues[(index + 3) % epilogues]}) {
            SCOPED_TRACE(cat(describe(c), " bias=", e.bias, " residual=", e.residual, " activation=",
                             static_cast<int>(e.activation)));
            WinogradProblem problem(c, e);
            problem.compute_exact();
            ASSERT_TRUE(kernels::winograd_applies(problem.args(device_), MLN_DTYPE_F32));
            // Each output's arithmetic does not depend on the schedule: the same bits at every
            // thread count (per ISA).
            std::vector<std::vector<float>> one_thread;
            at_thread_counts(device_, {1, 2, 3}, [&] {
                const std::vector<mln_isa> isas = available_isas();
                for (size_t k = 0; k < isas.size(); ++k) {
                    SCOPED_TRACE(cat("isa=", static_cast<int>(isas[k])));
                    ScopedIsa scoped(isas[k]);
                    for (int64_t i = 0; i < problem.y.count(); ++i) problem.y.at(i) = std::numeric_limits<float>::quiet_NaN();
                    kernels::conv_winograd_forward(problem.args(device_));
                    const double error = problem.max_relative_error();
                    EXPECT_LE(error, kernels::kWinogradRelativeError);
                    worst = std::max(worst, error);
                    std::vector<float> y(static_cast<size_t>(problem.y.count()));
                    for (int64_t i = 0; i < problem.y.count(); ++i) y[static_cast<size_t>(i)] = problem.y.at(i);
                    if (one_thread.size() < isas.size()) {
                        one_thread.push_back(std::move(y));
                    } else {
                        EXPECT_EQ(0, std::memcmp(y.data(), one_thread[k].data(), y.size() * sizeof(float)));
                    }
                }
            });
        }
    }
    std::printf("Winograd F(4x4,3x3) max relative error: %.3g (bound %.3g)\n", worst,
                kernels::kWinogradRelativeError);
}

// The implicit GEMM's error on the same measure, for comparison (printed; it must be under the
// Winograd bound too).
TEST_F(ConvWinogradTest, ImplicitGemmErrorForComparison) {
    double worst = 0.0;
    for (const WinogradCase& c : cases()) {
        WinogradProblem problem(c, {true, false, MLN_UNARY_OP_IDENTITY});
        problem.compute_exact();
        const mln_conv_params p = params_of(c);
        // Channels under the dispatch's minimum: the public call takes the implicit GEMM.
        if (kernels::winograd_wins(problem.args(device_), MLN_DTYPE_F32)) continue;
        ASSERT_EQ(mln_conv_forward(device_, &p, problem.x.desc(), problem.w.desc(), problem.bias.desc(),
                                   MLN_UNARY_OP_IDENTITY, nullptr, problem.y.desc()),
                  MLN_STATUS_OK)
            << mln_last_error();
        worst = std::max(worst, problem.max_relative_error());
    }
    EXPECT_LE(worst, kernels::kWinogradRelativeError);
    std::printf("implicit GEMM max relative error: %.3g\n", worst);
}

// A NaN or Inf in x reaches every output of the tiles whose 6x6 patch holds it (the transforms
// mix the patch), a superset of the outputs whose window holds it: outputs the reference makes
// non-finite are non-finite, and outputs of tiles that never read it match.
TEST_F(ConvWinogradTest, NonFiniteInputsStayNonFiniteAndDoNotLeaveTheirTiles) {
    const WinogradCase c{1, 3, 4, 13, 11, 1, 1, 1, 1};
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
            WinogradProblem problem(c, {true, false, MLN_UNARY_OP_IDENTITY});
            const int64_t row = 6, col = 9;  // input position: reads tile rows 1-2, tile columns 2
            problem.x.at((1 * c.height + row) * c.width + col) = bad;
            problem.compute_exact();
            kernels::conv_winograd_forward(problem.args(device_));
            const int64_t out_h = c.height, out_w = c.width;
            for (int64_t m = 0; m < c.out_channels; ++m) {
                for (int64_t i = 0; i < out_h; ++i) {
                    for (int64_t j = 0; j < out_w; ++j) {
                        const int64_t index = (m * out_h + i) * out_w + j;
                        const double got = problem.y.at(index);
                        const double want = problem.exact.at(index);
                        // Tile (ty, tx) reads input rows 4ty - 1 .. 4ty + 4 (pad 1).
                        const bool tile_reads = row >= 4 * (i / 4) - 1 && row <= 4 * (i / 4) + 4 &&
                                                col >= 4 * (j / 4) - 1 && col <= 4 * (j / 4) + 4;
                        SCOPED_TRACE(cat("isa=", static_cast<int>(isa), " bad=", bad, " m=", m, " i=", i, " j=", j));
                        if (!std::isfinite(want)) {
                            EXPECT_FALSE(std::isfinite(got));
                        }
                        if (!tile_reads) {
                            EXPECT_LE(std::fabs(got - want), kernels::kWinogradRelativeError * problem.scale.at(index));
                        }
                    }
                }
            }
        }
    }
}

// Through the public API, where the dispatch takes Winograd (channels and output channels of
// at least 32): forward with each epilogue, and backward data with stride 1, which runs as the
// forward convolution of dy with the flipped filters (pads 1 and 0, so the flipped pads are 1
// and 2).
TEST_F(ConvWinogradTest, PublicForwardAndBackwardDataTakeItAndMatchReference) {
    const std::vector<WinogradCase> routed = {
        {1, 32, 40, 30, 30, 1, 1, 1, 1}, {3, 48, 33, 9, 13, 1, 1, 1, 1}, {4, 37, 64, 15, 14, 0, 0, 0, 0}};
    for (const WinogradCase& c : routed) {
        SCOPED_TRACE(describe(c));
        const mln_conv_params p = params_of(c);
        for (const Epilogue& e : {kEpilogues[1], kEpilogues[3], kEpilogues[4]}) {
            WinogradProblem problem(c, e);
            ASSERT_TRUE(kernels::winograd_wins(problem.args(device_), MLN_DTYPE_F32));
            problem.compute_exact();
            at_thread_counts(device_, {1, 3}, [&] {
                for (mln_isa isa : available_isas()) {
                    SCOPED_TRACE(cat("isa=", static_cast<int>(isa), " activation=", static_cast<int>(e.activation)));
                    ScopedIsa scoped(isa);
                    for (int64_t i = 0; i < problem.y.count(); ++i) problem.y.at(i) = std::numeric_limits<float>::quiet_NaN();
                    ASSERT_EQ(mln_conv_forward(device_, &p, problem.x.desc(), problem.w.desc(),
                                               e.bias ? problem.bias.desc() : nullptr, e.activation,
                                               e.residual ? problem.residual.desc() : nullptr, problem.y.desc()),
                              MLN_STATUS_OK)
                        << mln_last_error();
                    EXPECT_LE(problem.max_relative_error(), kernels::kWinogradRelativeError);
                }
            });
        }
        // Backward data: dx = conv(dy, flipped w) with pads 2 - pad; exact in double, scale
        // from |dy| and |w|.
        const std::vector<int64_t> dy_shape = y_shape(c);
        const WinogradCase flipped{c.batch, c.out_channels, c.channels, dy_shape[2], dy_shape[3],
                                   2 - c.pad_top, 2 - c.pad_left, 2 - c.pad_bottom, 2 - c.pad_right};
        ASSERT_TRUE(kernels::winograd_wins(WinogradProblem(flipped, {}).args(device_), MLN_DTYPE_F32));
        HostTensor<float> dy(y_shape(c)), w(w_shape(c)), dx(x_shape(c));
        fill_random(dy);
        fill_random(w);
        HostTensor<double> dyd(y_shape(c)), wd(w_shape(c)), exact(x_shape(c)), scale(x_shape(c));
        copy_values(dy, dyd);
        copy_values(w, wd);
        reference::conv_backward_data(p, dyd.view(), wd.view(), exact.view());
        copy_values(dy, dyd, true);
        copy_values(w, wd, true);
        reference::conv_backward_data(p, dyd.view(), wd.view(), scale.view());
        at_thread_counts(device_, {1, 3}, [&] {
            for (mln_isa isa : available_isas()) {
                SCOPED_TRACE(cat("backward data isa=", static_cast<int>(isa)));
                ScopedIsa scoped(isa);
                for (int64_t i = 0; i < dx.count(); ++i) dx.at(i) = std::numeric_limits<float>::quiet_NaN();
                ASSERT_EQ(mln_conv_backward_data(device_, &p, dy.desc(), w.desc(), dx.desc()), MLN_STATUS_OK)
                    << mln_last_error();
                for (int64_t i = 0; i < dx.count(); ++i) {
                    ASSERT_LE(std::fabs(dx.at(i) - exact.at(i)), kernels::kWinogradRelativeError * scale.at(i) + 1e-30)
                        << "dx element " << i;
                }
            }
        });
    }
}

TEST_F(ConvWinogradTest, AppliesOnlyToThreeByThreeStrideOneSingleGroupF32) {
    WinogradProblem problem({1, 32, 32, 8, 8, 1, 1, 1, 1}, {false, false, MLN_UNARY_OP_IDENTITY});
    ConvArgs a = problem.args(device_);
    EXPECT_TRUE(kernels::winograd_applies(a, MLN_DTYPE_F32));
    EXPECT_FALSE(kernels::winograd_applies(a, MLN_DTYPE_F64));
    ConvArgs strided = a;
    strided.geometry.stride[2] = 2;
    EXPECT_FALSE(kernels::winograd_applies(strided, MLN_DTYPE_F32));
    ConvArgs dilated = a;
    dilated.geometry.dilation[1] = 2;
    EXPECT_FALSE(kernels::winograd_applies(dilated, MLN_DTYPE_F32));
    ConvArgs grouped = a;
    grouped.groups = 2;
    EXPECT_FALSE(kernels::winograd_applies(grouped, MLN_DTYPE_F32));
    ConvArgs five = a;
    five.geometry.kernel[1] = 5;
    EXPECT_FALSE(kernels::winograd_applies(five, MLN_DTYPE_F32));
}

}  // namespace
}  // namespace mln::test
