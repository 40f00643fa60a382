// Depthwise convolution forward against the reference twin at every ISA, on the per-channel
// kernels (few channels on rows wide enough for whole registers of outputs) and on the
// channel-blocked kernel (half a block of channels or more):
// strides 1, 2 (shuffled loads) and 3 (gathers), dilation, asymmetric padding, 1-d and 3-d,
// and a NaN in x, which must reach exactly the outputs whose windows hold it. Then MobileNet's
// 3 x 3 in all three passes (the NCHW kernels at AVX-512, and the stride-1 forward at AVX2:
// conv_depthwise_3x3.hpp) with plane
// widths around the register width, odd sizes at stride 2, rows narrow enough for two channels
// a register, pads 0 and 1, NaN and Inf (in the weights too for the AVX2 forward at stride 2).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/text.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::test {
namespace {

struct DepthwiseCase {
    std::vector<int64_t> x_shape;  // N x C x spatial
    std::vector<int64_t> kernel, strides, dilations, pads_begin, pads_end;
};

std::vector<int64_t> y_shape_of(const DepthwiseCase& c) {
    std::vector<int64_t> shape = {c.x_shape[0], c.x_shape[1]};
    for (size_t i = 0; i < c.kernel.size(); ++i) {
        const int64_t span = c.dilations[i] * (c.kernel[i] - 1) + 1;
        shape.push_back((c.x_shape[2 + i] + c.pads_begin[i] + c.pads_end[i] - span) / c.strides[i] + 1);
    }
    return shape;
}

// mln_conv_forward of x, w and bias (identity activation) into y against the reference twin.
void expect_forward_matches_reference(mln_device* device, const mln_conv_params& p, HostTensor<float>& x,
                                      HostTensor<float>& w, HostTensor<float>& bias, HostTensor<float>& y, double tol) {
    ASSERT_EQ(mln_conv_forward(device, &p, x.desc(), w.desc(), bias.desc(), MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
              MLN_STATUS_OK)
        << mln_last_error();
    HostTensor<float> y_want(y.shape());
    const TensorView bias_view = bias.view();
    reference::conv_forward(p, x.view(), w.view(), &bias_view, MLN_UNARY_OP_IDENTITY, nullptr, y_want.view());
    EXPECT_TRUE(near_all(y, y_want, tol));
}

class ConvDepthwiseTest : public CpuDeviceTest {
protected:
    void expect_match_reference_at_every_isa(const std::vector<DepthwiseCase>& cases);
};

// The forward of case c against the reference twin at the active ISA: x, w and bias at random,
// then alter(x, w).
template <class Alter>
void expect_forward_matches_reference(mln_device* device, const DepthwiseCase& c, Alter&& alter) {
    mln_conv_params p{};
    p.spatial_rank = static_cast<int32_t>(c.kernel.size());
    p.groups = c.x_shape[1];
    std::vector<int64_t> w_shape = {c.x_shape[1], 1};
    for (size_t i = 0; i < c.kernel.size(); ++i) {
        p.strides[i] = c.strides[i];
        p.dilations[i] = c.dilations[i];
        p.pads_begin[i] = c.pads_begin[i];
        p.pads_end[i] = c.pads_end[i];
        w_shape.push_back(c.kernel[i]);
    }
    HostTensor<float> x(c.x_shape), w(w_shape), bias({c.x_shape[1]}), y(y_shape_of(c));
    fill_random(x);
    fill_random(w);
    fill_random(bias);
    alter(x, w);
    expect_forward_matches_reference(device, p, x, w, bias, y, std::numeric_limits<float>::epsilon() * 64 * 16);
}

void ConvDepthwiseTest::expect_match_reference_at_every_isa(const std::vector<DepthwiseCase>& cases) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const DepthwiseCase& c : cases) {
            for (bool with_nan : {false, true}) {
                SCOPED_TRACE(cat("x=", c.x_shape.back(), " k=", c.kernel.back(), " s=", c.strides.back(),
                                 " isa=", static_cast<int>(isa), " nan=", with_nan));
                expect_forward_matches_reference(device_, c, [&](HostTensor<float>& x, HostTensor<float>&) {
                    if (with_nan) x.at(x.count() / 2 + 7) = std::numeric_limits<float>::quiet_NaN();
                });
            }
        }
    }
}

// Few channels on wide rows: the per-channel kernels.
TEST_F(ConvDepthwiseTest, WideRowsMatchReferenceAtEveryIsa) {
    expect_match_reference_at_every_isa({
        {{2, 3, 9, 112}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {{1, 4, 8, 113}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
        {{1, 2, 6, 97}, {3, 5}, {1, 3}, {1, 2}, {2, 1}, {0, 3}},
        {{2, 3, 71}, {7}, {2}, {1}, {3}, {3}},
        {{1, 2, 3, 4, 59}, {2, 3, 3}, {1, 1, 2}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}},
        {{1, 2, 5, 40}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}},
    });
}

// Half a block of channels or more: the channel-blocked kernel. Channel counts that are not
// multiples of the 16-lane block (a partial last block), rows shorter than a tile of 16
// positions and rows that are not multiples of it, images tall enough for several strips of
// rows (stride 1 and 2), dilation, asymmetric and negative-free padding, stride 3, 1-d and 3-d.
TEST_F(ConvDepthwiseTest, ChannelBlocksMatchReferenceAtEveryIsa) {
    expect_match_reference_at_every_isa({
        {{1, 37, 45, 120}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {{2, 21, 61, 101}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
        {{1, 17, 30, 64}, {3, 3}, {1, 1}, {2, 2}, {2, 1}, {1, 2}},
        {{1, 16, 7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {{1, 24, 14, 14}, {5, 5}, {2, 2}, {1, 1}, {2, 1}, {1, 2}},
        {{1, 33, 13, 11}, {3, 2}, {1, 1}, {1, 1}, {0, 0}, {0, 0}},
        {{2, 19, 70}, {7}, {3}, {1}, {3}, {2}},
        {{1, 18, 4, 6, 9}, {2, 3, 3}, {1, 2, 1}, {1, 1, 2}, {1, 1, 2}, {0, 1, 2}},
        {{1, 9, 1, 1}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
    });
}

struct Depthwise3x3Case {
    int64_t batch, channels, height, width, stride, pad_begin, pad_end;
    int64_t row_stride = 0;  // 0: stride
};

DepthwiseCase shape_of(const Depthwise3x3Case& c) {
    const int64_t row_stride = c.row_stride != 0 ? c.row_stride : c.stride;
    return {{c.batch, c.channels, c.height, c.width}, {3, 3}, {row_stride, c.stride}, {1, 1},
            {c.pad_begin, c.pad_begin}, {c.pad_end, c.pad_end}};
}

mln_conv_params params_of(const Depthwise3x3Case& c) {
    mln_conv_params p{};
    p.spatial_rank = 2;
    p.groups = c.channels;
    for (int i = 0; i < 2; ++i) {
        p.strides[i] = i == 0 && c.row_stride != 0 ? c.row_stride : c.stride;
        p.dilations[i] = 1;
        p.pads_begin[i] = c.pad_begin;
        p.pads_end[i] = c.pad_end;
    }
    return p;
}

// body(c) for each case at each vector ISA (not the scalar one, whose kernels sum padding as
// zeros times the other operand), the case and ISA in the trace.
template <class Body>
void for_cases_at_vector_isas(const std::vector<Depthwise3x3Case>& cases, Body&& body) {
    for (mln_isa isa : available_isas()) {
        if (isa == MLN_ISA_SCALAR) continue;
        ScopedIsa scoped(isa);
        for (const Depthwise3x3Case& c : cases) {
            SCOPED_TRACE(cat("n=", c.batch, " c=", c.channels, " ", c.height, "x", c.width, " s=", c.stride,
                             " pads=", c.pad_begin, ",", c.pad_end, " isa=", static_cast<int>(isa)));
            body(c);
        }
    }
}

// NaN and Inf at both ends of a middle row of a middle channel: the flat plane reads them across
// the row end for the neighbouring row's border taps, which must leave them out.
void set_row_ends_non_finite(HostTensor<float>& t) {
    const std::vector<int64_t>& s = t.shape();
    const int64_t row = ((s[1] / 2) * s[2] + s[2] / 2) * s[3];
    t.at(row) = std::numeric_limits<float>::quiet_NaN();
    t.at(row + s[3] - 1) = std::numeric_limits<float>::infinity();
}

// Forward (NaN and Inf in x), backward data (NaN and Inf in dy; in w too where
// non_finite_weights) and backward filter (NaN and Inf in x) of a 3 x 3 depthwise convolution
// against the reference twin at every ISA.
void expect_3x3_passes_match_reference(mln_device* device, const Depthwise3x3Case& c, bool non_finite,
                                       bool non_finite_weights = false) {
    const DepthwiseCase shape = shape_of(c);
    const mln_conv_params p = params_of(c);
    const std::vector<int64_t> y_shape = y_shape_of(shape);
    HostTensor<float> x(shape.x_shape), w({c.channels, 1, 3, 3}), bias({c.channels});
    HostTensor<float> y(y_shape), y_want(y_shape), dy(y_shape), dx(shape.x_shape), dx_want(shape.x_shape);
    HostTensor<float> dw({c.channels, 1, 3, 3}), dw_want({c.channels, 1, 3, 3});
    fill_random(x);
    fill_random(w);
    fill_random(bias);
    fill_random(dy);
    if (non_finite) {
        x.at(x.count() / 2) = std::numeric_limits<float>::quiet_NaN();
        x.at(x.count() - 1) = std::numeric_limits<float>::infinity();
        x.at(0) = -std::numeric_limits<float>::infinity();
        set_row_ends_non_finite(x);
    }
    for (float& v : y.storage()) v = std::numeric_limits<float>::quiet_NaN();
    ASSERT_EQ(mln_conv_forward(device, &p, x.desc(), w.desc(), bias.desc(), MLN_UNARY_OP_IDENTITY, nullptr, y.desc()),
              MLN_STATUS_OK)
        << mln_last_error();
    const TensorView bias_view = bias.view();
    reference::conv_forward(p, x.view(), w.view(), &bias_view, MLN_UNARY_OP_IDENTITY, nullptr, y_want.view());
    const double eps = std::numeric_limits<float>::epsilon();
    EXPECT_TRUE(near_all(y, y_want, eps * 16 * 16)) << "forward";

    // Backward filter: finite dy (x carries the non-finite values).
    for (float& v : dw.storage()) v = std::numeric_limits<float>::quiet_NaN();
    ASSERT_EQ(mln_conv_backward_filter(device, &p, x.desc(), dy.desc(), dw.desc(), nullptr), MLN_STATUS_OK)
        << mln_last_error();
    reference::conv_backward_filter(p, x.view(), dy.view(), dw_want.view(), nullptr);
    EXPECT_TRUE(near_all(dw, dw_want, eps * 16 * static_cast<double>(dy.count() / c.channels + 4)))
        << "backward filter";

    if (non_finite) {
        dy.at(dy.count() / 3) = std::numeric_limits<float>::quiet_NaN();
        dy.at(dy.count() - 1) = std::numeric_limits<float>::infinity();
        dy.at(0) = -std::numeric_limits<float>::infinity();
        set_row_ends_non_finite(dy);
    }
    if (non_finite_weights) {
        // At corner taps: they must reach exactly the dx columns where their tap lies inside dy
        // (a tap outside left out, not multiplied by a zero).
        w.at((c.channels / 2) * 9) = std::numeric_limits<float>::quiet_NaN();
        w.at((c.channels - 1) * 9 + 8) = std::numeric_limits<float>::infinity();
    }
    for (float& v : dx.storage()) v = std::numeric_limits<float>::quiet_NaN();
    ASSERT_EQ(mln_conv_backward_data(device, &p, dy.desc(), w.desc(), dx.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::conv_backward_data(p, dy.view(), w.view(), dx_want.view());
    EXPECT_TRUE(near_all(dx, dx_want, eps * 16 * 16)) << "backward data";
}

TEST_F(ConvDepthwiseTest, ThreeByThreeAllPassesMatchReferenceAtEveryIsa) {
    std::vector<Depthwise3x3Case> cases;
    // Stride 1, pad 1 (the flat plane): square and oblong planes around 16 lanes, 1 x 1, a
    // partial channel block.
    for (int64_t width : {1, 7, 13, 14, 15, 16, 17, 28, 31, 112}) {
        cases.push_back({1, 19, width == 112 ? 5 : width, width, 1, 1, 1});
    }
    cases.push_back({2, 3, 9, 7, 1, 1, 1});
    cases.push_back({1, 17, 1, 33, 1, 1, 1});
    // The filter's flat plane: column masks repeating every 3 (24 wide) and 5 (40 wide)
    // registers, over two images.
    cases.push_back({2, 19, 11, 24, 1, 1, 1});
    cases.push_back({2, 17, 20, 40, 1, 1, 1});
    // Flat planes over 16 KiB (the filter prefetching ahead, past the last plane's end too).
    cases.push_back({1, 3, 40, 112, 1, 1, 1});
    cases.push_back({2, 2, 67, 67, 1, 1, 1});
    // Backward data sums by columns up to 16 KiB of dx: 64 x 64 (the largest such plane) and
    // 65 x 64 (flat_window_sums).
    cases.push_back({1, 3, 64, 64, 1, 1, 1});
    cases.push_back({1, 3, 65, 64, 1, 1, 1});
    // The forward's flat plane: an interior of many registers with column masks repeating every
    // 13, and two rows (no interior register).
    cases.push_back({1, 3, 30, 13, 1, 1, 1});
    cases.push_back({1, 5, 2, 40, 1, 1, 1});
    // Stride 1, pad 0 (rows narrower than the input's: the channel-blocked kernels) and
    // asymmetric pads that keep the width (pad 2 before, 0 after).
    cases.push_back({1, 18, 13, 15, 1, 0, 0});
    cases.push_back({1, 18, 11, 17, 1, 2, 0});
    cases.push_back({1, 18, 11, 17, 1, 0, 2});
    // Stride 2: odd and even sizes, pads 0 and 1, rows of 7 to 56 outputs, rows of 13 and 14
    // outputs (channel-blocked and NCHW forward and filter), 16 and 32 outputs and just over.
    for (int64_t width : {14, 15, 17, 25, 27, 28, 31, 33, 35, 112}) {
        cases.push_back({1, 21, width == 112 ? 9 : width, width, 2, 1, 1});
    }
    cases.push_back({2, 5, 19, 33, 2, 0, 0});
    cases.push_back({1, 21, 11, 67, 2, 1, 1});  // 34 outputs a row: two full registers and a tail
    // Pad 1 (the filter's aligned strips, rows a whole number of cache lines): 32 outputs (no
    // output after the last register's lane 15) and 56 over two images; 33 (the other form).
    cases.push_back({1, 5, 9, 64, 2, 1, 1});
    cases.push_back({2, 5, 9, 112, 2, 1, 1});
    cases.push_back({2, 5, 9, 65, 2, 1, 1});
    cases.push_back({2, 5, 9, 65, 2, 0, 0});    // 32 outputs a row
    cases.push_back({1, 5, 8, 66, 2, 1, 0});
    cases.push_back({1, 16, 20, 37, 2, 0, 1});
    cases.push_back({1, 16, 21, 38, 2, 1, 0});
    cases.push_back({1, 9, 3, 3, 2, 1, 1});
    // Stride 2 on rows of one register of outputs (the forward's plane-at-once loop): planes of
    // 1 to 5 rows (no pair of inside rows, one pair, a pair and a bottom border row), pads 0 and
    // 2 before.
    for (int64_t height : {1, 2, 3, 4, 5}) cases.push_back({1, 3, height, 29, 2, 1, 1});
    cases.push_back({1, 3, 6, 30, 2, 0, 0});
    cases.push_back({1, 3, 9, 31, 2, 2, 0});
    // Column stride 2 at row strides 1 and 3 (the forward row by row).
    cases.push_back({1, 3, 9, 30, 2, 1, 1, 1});
    cases.push_back({2, 3, 11, 37, 2, 1, 1, 3});
    // Rows of <= 16 source columns and <= 8 outputs (two channels a register at AVX-512; stride
    // 1 above: the 1-, 7- and 9-wide planes): at stride 1 with pad 0 and uneven pads; at stride
    // 2 16 columns and 8 outputs, an odd channel count (the last channel alone, in a group and
    // as the only channel), pads 0 and 1, uneven pads, two images.
    cases.push_back({1, 18, 9, 9, 1, 0, 0});
    // Source rows of 8 columns (the last that load as 256 bits) and of 10 with 8 outputs (512-bit
    // loads, every lane of the 256-bit stores).
    cases.push_back({1, 5, 8, 8, 1, 1, 1});
    cases.push_back({1, 5, 10, 10, 1, 0, 0});
    // Stride 1, rows of 9 to 16 columns as wide as the source's (one output row a register):
    // planes of 1 and 2 rows, 9 and 16 columns, pads 2 before and 2 after.
    cases.push_back({1, 3, 1, 12, 1, 1, 1});
    cases.push_back({1, 3, 2, 16, 1, 1, 1});
    cases.push_back({2, 3, 4, 9, 1, 1, 1});
    cases.push_back({1, 5, 11, 15, 1, 2, 0});
    cases.push_back({1, 5, 11, 15, 1, 0, 2});
    cases.push_back({2, 5, 6, 8, 1, 2, 0});
    cases.push_back({2, 17, 13, 16, 2, 0, 0});
    cases.push_back({1, 1, 16, 16, 2, 1, 1});
    cases.push_back({2, 7, 9, 13, 2, 1, 0});
    cases.push_back({1, 32, 14, 14, 2, 0, 1});
    // The same row widths on planes too large for the filter's channel-minor copy (over 256
    // positions): the filter two channels a register.
    cases.push_back({2, 17, 40, 16, 2, 1, 1});
    cases.push_back({1, 18, 30, 9, 1, 0, 0});
    // Planes of up to 256 positions at stride 1: the filter 16 channels at a time in
    // channel-minor order (above: pads 0, 1 and 2 before, partial groups and tiles of
    // positions); here exactly 256 positions in and out over two images, and 256 in at stride 2.
    cases.push_back({2, 35, 16, 16, 1, 1, 1});
    cases.push_back({1, 16, 8, 32, 2, 1, 0});
    // Stride 2 over 32 images and more (two channels a register, as at any batch): a group of
    // 16 and a group of one, pads 1 and uneven.
    cases.push_back({32, 17, 14, 14, 2, 1, 1});
    cases.push_back({33, 16, 13, 15, 2, 0, 1});
    // Stride 1 over 24 images and more, rows of more than 8 outputs: the flat plane (channel-minor
    // below 24 images; rows of 8 outputs stay channel-minor).
    cases.push_back({24, 17, 13, 14, 1, 1, 1});
    cases.push_back({25, 16, 9, 8, 1, 1, 1});
    // The copy to channel-minor order: planes of 4k + 2 and 4k + 3 positions with whole groups
    // of 16 channels (the last eight positions overlapping the others), and 4k + 1 with a group
    // of one channel (four positions at a time).
    cases.push_back({2, 32, 7, 10, 1, 1, 1});
    cases.push_back({1, 16, 3, 5, 1, 1, 1});
    cases.push_back({1, 33, 5, 5, 1, 1, 1});
    // Stride-2 backward filter in NCHW (14+ outputs a row): two channel groups and a tail, a full
    // and a partial register a row, summed over one image and over two.
    cases.push_back({1, 33, 13, 41, 2, 1, 1});
    cases.push_back({2, 33, 13, 41, 2, 1, 1});
    // Tall planes at stride 2, pads 0, 1 and 2 before: 112-wide (over 16 KiB: the filter one
    // output row at a time over more than 4 images, else in bands of column strips) and 67-wide
    // (the filter in bands of 15 output rows of column strips, carrying rows within a band).
    cases.push_back({1, 3, 40, 112, 2, 1, 1});
    cases.push_back({5, 3, 40, 112, 2, 1, 1});
    // The AVX-512 filter's rows in memory order (over 16 KiB, more than 4 images, up to 4
    // registers of outputs a row): pads 0 (the first source row loaded, not carried) and 2, odd
    // heights, rows of 32 outputs (two full registers, the last output's tap 2 summed apart), 45
    // and 50; 75 outputs a row go by rows.
    cases.push_back({5, 3, 39, 112, 2, 0, 0});
    cases.push_back({6, 2, 41, 112, 2, 2, 0});
    cases.push_back({5, 2, 66, 64, 2, 1, 1});
    cases.push_back({5, 2, 47, 90, 2, 1, 1});
    cases.push_back({5, 3, 41, 100, 2, 1, 1});
    cases.push_back({5, 2, 40, 150, 2, 1, 1});
    cases.push_back({2, 3, 31, 112, 2, 0, 0});
    cases.push_back({1, 5, 50, 67, 2, 1, 0});
    cases.push_back({1, 2, 29, 112, 2, 2, 0});
    cases.push_back({2, 3, 57, 56, 2, 1, 1});  // 29 output rows: bands of 18 and 11
    // The same bands over more than 4 images (the strips' prefetches for more images).
    cases.push_back({6, 3, 57, 56, 2, 1, 1});
    // Stride-2 filter on rows of one register of outputs (each plane one strip): over three
    // images with a group of 16 and a tail of 3, and 16 outputs a row whose last output's tap 2
    // lies in the row, over two images.
    cases.push_back({3, 19, 29, 30, 2, 1, 1});
    cases.push_back({2, 17, 12, 33, 2, 0, 0});
    cases.push_back({5, 19, 29, 30, 2, 1, 1});  // over more than 4 images
    // Planes of 1 to 3 source rows at pad 1 (output row 0 without the tests where its two lower
    // source rows lie in the plane), and a pad of 1 before, 0 after.
    cases.push_back({2, 17, 1, 30, 2, 1, 1});
    cases.push_back({2, 17, 2, 30, 2, 1, 1});
    cases.push_back({3, 17, 3, 29, 2, 1, 1});
    cases.push_back({2, 3, 6, 31, 2, 1, 0});
    // Stride-2 filter two channels a register (rows of up to 7 outputs, pads 0 and 1 before; one
    // image in the cases above and in ThreeByThreePairKernels): the MobileNet-v2 plane with an
    // odd channel count under 16 (the last channel paired with itself), odd sizes with a group of
    // 16 and a tail, planes of 1 to 3 columns and of 1 to 3 rows, uneven pads, 5 and 17 images.
    // The 14 x 14 plane at pad 1 before (the AVX-512 kernel's unrolled rows) with pads 1 and 0
    // after.
    cases.push_back({2, 5, 14, 14, 2, 1, 1});
    cases.push_back({3, 21, 14, 14, 2, 1, 0});
    cases.push_back({3, 19, 13, 13, 2, 0, 0});
    cases.push_back({5, 3, 9, 1, 2, 1, 1});
    cases.push_back({2, 3, 7, 2, 2, 0, 1});
    cases.push_back({4, 3, 6, 3, 2, 1, 0});
    cases.push_back({2, 3, 1, 13, 2, 1, 1});
    cases.push_back({2, 3, 3, 14, 2, 0, 0});
    cases.push_back({2, 7, 14, 13, 2, 1, 0});
    cases.push_back({17, 17, 14, 14, 2, 1, 1});
    // MobileNet-v2's 28 x 28 at pad 1 (the AVX-512 one-strip planes' unrolled rows up to 4 images)
    // with a pad of 0 after, over 3 images (1 after: ThreeByThreeFilterOverChannelSpansMatchesReference).
    cases.push_back({3, 19, 28, 28, 2, 1, 0});
    // Rows of 64 outputs (whole registers) whose last output's tap 2 lies in the row (the 33rd
    // column of the last register, which the filter sums apart): rows in memory order and strips.
    cases.push_back({5, 2, 40, 129, 2, 0, 0});
    cases.push_back({1, 2, 9, 128, 2, 1, 1});
    // Stride-2 backward data two dx rows a step (NCHW, 9+ dy columns): planes of 2, 3 and 4
    // rows (a pair, a pair and a lone row, the lone first row of an even pad), dx rows past the
    // last dy row's reach (zero), pads 0, 1 and 2 before.
    cases.push_back({1, 3, 2, 19, 2, 1, 1});
    cases.push_back({1, 3, 3, 18, 2, 0, 1});
    cases.push_back({1, 3, 4, 20, 2, 2, 0});
    cases.push_back({1, 3, 10, 20, 2, 0, 0});
    // Stride-2 forward two output rows a step (NCHW, 14+ outputs a row): short planes ending in
    // a pair or a lone row, pads 0, 1 and 2 before.
    cases.push_back({1, 3, 5, 29, 2, 0, 0});
    cases.push_back({1, 3, 6, 30, 2, 1, 1});
    cases.push_back({1, 3, 7, 31, 2, 2, 0});
    cases.push_back({1, 3, 8, 45, 2, 1, 0});
    // The forward's rows of one register (every row in a pair, source rows outside the plane
    // read as zeros): pad 3 before (two pairs reading above the plane), 8 rows with pad 3 after
    // (the last pair a lone row, reading four rows below), a 33rd column inside the row at pad 1.
    cases.push_back({1, 3, 9, 26, 2, 3, 0});
    cases.push_back({1, 3, 8, 27, 2, 1, 3});
    cases.push_back({2, 3, 9, 32, 2, 1, 1});
    // Stride-2 forward on rows where every register is a border one (masked loads, the 33rd
    // column loaded alone where it lies in the row): 28 and 56 wide, pads 1 and 0 before.
    cases.push_back({1, 3, 28, 28, 2, 1, 1});
    cases.push_back({1, 2, 56, 56, 2, 1, 1});
    cases.push_back({1, 3, 9, 56, 2, 0, 1});
    // Rows of two registers of outputs (the forward's unrolled instance): 31 outputs, 13 rows
    // (a lone last row), pad 1; 18 outputs, pad 0 before and 2 after.
    cases.push_back({1, 4, 13, 61, 2, 1, 1});
    cases.push_back({1, 3, 7, 35, 2, 0, 2});
    // Two channels a register at stride 1 carrying source rows from one output row to the next:
    // a tall plane, two rows with pad 0 before and 2 after, one row.
    cases.push_back({1, 3, 20, 7, 1, 1, 1});
    cases.push_back({1, 3, 2, 5, 1, 0, 2});
    cases.push_back({2, 3, 1, 8, 1, 1, 1});
    // Stride-2 backward data two channels a register (dy rows of <= 8, dx rows of <= 16): pad 2
    // before (even), dx rows past the last dy row's reach, a 1 x 1 plane, 17 dx columns (the
    // row kernels again).
    cases.push_back({1, 3, 9, 15, 2, 2, 0});
    cases.push_back({1, 5, 10, 10, 2, 0, 0});
    cases.push_back({2, 3, 1, 1, 2, 1, 1});
    cases.push_back({1, 3, 6, 17, 2, 1, 1});
    // The filter whole rows in registers (stride 1, rows of 13-14 and 17-62 columns as wide as
    // the source's, up to 64 rows): pads 2 and 0 before on 13-, 29- and 47-wide rows (one, two
    // and four registers), 1 to 3 rows, 64 rows and 65 (the flat plane), 46 and 62 columns (the
    // widest of three and four registers) and 63 (the flat plane), a group of 16 and an odd tail
    // (channels two at a time, the last alone) over three images.
    for (int64_t width : {13, 29, 47}) {
        cases.push_back({1, 5, 11, width, 1, 2, 0});
        cases.push_back({2, 5, 11, width, 1, 0, 2});
    }
    for (int64_t height : {1, 2, 3}) {
        cases.push_back({1, 3, height, 14, 1, 1, 1});
        cases.push_back({1, 3, height, 30, 1, 1, 1});
    }
    cases.push_back({1, 3, 64, 14, 1, 1, 1});
    cases.push_back({1, 3, 65, 14, 1, 1, 1});
    for (int64_t width : {46, 62, 63}) cases.push_back({1, 3, 5, width, 1, 1, 1});
    cases.push_back({3, 19, 12, 14, 1, 1, 1});
    cases.push_back({3, 19, 9, 28, 1, 1, 1});
    // The first image setting the sums: 17 images over fewer channels than a group (an odd
    // count: pairs and a lone last; one channel), one and two registers a row.
    cases.push_back({17, 7, 14, 14, 1, 1, 1});
    cases.push_back({17, 1, 6, 13, 1, 1, 1});
    cases.push_back({17, 5, 5, 30, 1, 1, 1});
    // Rows of 7 columns two channels a register (pads 1 and 0 before; 2 before is a row of 9
    // lanes, elsewhere): 1 to 5 channels (a register or two, the last half empty), 16, 17 and 35
    // (groups and tails), 1 to 3 rows, 7, 9 and 64, over 1, 3 and 17 images.
    for (int64_t channels : {1, 2, 3, 4, 5, 16, 17, 35}) {
        cases.push_back({1, channels, 7, 7, 1, 1, 1});
        cases.push_back({3, channels, 9, 7, 1, 0, 2});
    }
    for (int64_t height : {1, 2, 3, 64}) cases.push_back({1, 5, height, 7, 1, 1, 1});
    cases.push_back({17, 19, 7, 7, 1, 1, 1});
    cases.push_back({2, 3, 7, 7, 1, 2, 0});
    // AVX2's filter a register of outputs at a time (stride 1, rows of 56+): pads 2 and 0
    // before (border registers at one end only), 56 columns (no partial register) and 61, 1 and 2
    // rows, 9 channels over 2 images.
    cases.push_back({2, 9, 6, 56, 1, 2, 0});
    cases.push_back({1, 3, 5, 61, 1, 0, 2});
    cases.push_back({1, 3, 1, 57, 1, 1, 1});
    cases.push_back({1, 3, 2, 56, 1, 1, 1});
    // AVX2's stride-2 forward storing all 8 lanes of rows of < 8 outputs where 8 floats past the
    // plane are the tensor's: 1 x 1 outputs over 19 channels (the last 8 stored by pieces).
    cases.push_back({1, 19, 3, 3, 2, 0, 0});
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const Depthwise3x3Case& c : cases) {
            for (bool non_finite : {false, true}) {
                SCOPED_TRACE(cat("n=", c.batch, " c=", c.channels, " ", c.height, "x", c.width, " s=", c.stride,
                                 " row s=", c.row_stride, " pads=", c.pad_begin, ",", c.pad_end,
                                 " isa=", static_cast<int>(isa),
                                 " non_finite=", non_finite));
                expect_3x3_passes_match_reference(device_, c, non_finite);
            }
        }
    }
}

// The forward with NaN and Inf weights (a tap of the first, second and third channel; every tap
// of the last) at stride 1 on rows as wide as the input's (the NCHW kernels at AVX-512 and AVX2):
// a tap that reads padding must leave the output finite, as in the reference twin, not add
// 0 * NaN. Rows of 1 to 9 columns (one register at AVX2, its lanes past the row masked), around
// 16 and 32 (a last register overlapping the one before), 112; planes of 1 to 3 rows and
// square; pads 1 and 2 before or after; 67 channels (many blocks in one call) over two images.
// Not at the scalar ISA, whose kernels sum padding as zeros times the weights.
TEST_F(ConvDepthwiseTest, ThreeByThreeForwardNonFiniteWeightsMatchReferenceAtVectorIsas) {
    std::vector<Depthwise3x3Case> cases;
    for (int64_t width : {1, 2, 3, 5, 7, 8, 9, 14, 15, 16, 17, 24, 28, 31, 56, 112}) {
        for (int64_t height : {int64_t{1}, int64_t{2}, int64_t{3}, std::min<int64_t>(width, 9)}) {
            cases.push_back({1, 5, height, width, 1, 1, 1});
        }
    }
    // Planes of 1 x 1 and 2 x 3 over 23 channels: AVX2's border taps of the middle channels by
    // plain loads reading the planes around (ANDed), the first and last ones' by masked loads.
    cases.push_back({1, 23, 1, 1, 1, 1, 1});
    cases.push_back({1, 23, 2, 3, 1, 1, 1});
    for (int64_t width : {7, 9, 17, 28}) {
        cases.push_back({1, 5, 6, width, 1, 2, 0});
        cases.push_back({1, 5, 6, width, 1, 0, 2});
    }
    cases.push_back({2, 67, 7, 7, 1, 1, 1});
    cases.push_back({2, 67, 14, 14, 1, 1, 1});
    for_cases_at_vector_isas(cases, [&](const Depthwise3x3Case& c) {
        const DepthwiseCase shape = shape_of(c);
        const mln_conv_params p = params_of(c);
        HostTensor<float> x(shape.x_shape), w({c.channels, 1, 3, 3}), bias({c.channels});
        HostTensor<float> y(y_shape_of(shape));
        fill_random(x);
        fill_random(w);
        fill_random(bias);
        w.at(0) = std::numeric_limits<float>::quiet_NaN();       // channel 0, tap (0, 0)
        w.at(9 + 5) = std::numeric_limits<float>::infinity();    // channel 1, tap (1, 2)
        w.at(18 + 7) = -std::numeric_limits<float>::infinity();  // channel 2, tap (2, 1)
        for (int64_t t = 0; t < 9; ++t) w.at((c.channels - 1) * 9 + t) = std::numeric_limits<float>::quiet_NaN();
        expect_forward_matches_reference(device_, p, x, w, bias, y, std::numeric_limits<float>::epsilon() * 16 * 16);
    });
}

// The forward two channels a register at stride 2 x 2 with an odd pad before the columns (tap 0
// from the tap-2 picks shifted a lane, an output row's last source row kept for the next): 1 to
// 6 and 14 rows, source rows of 1 to 3 columns (whole-row loads and stores that would pass the
// plane's end) and of 13 to 16, pads 1 and 3 before, uneven pads, an odd channel count. Also
// stride 1 on planes of 1 to 3 columns (the whole-row stores' reach there) and on narrow rows.
TEST_F(ConvDepthwiseTest, ThreeByThreePairKernelsMatchReferenceAtEveryIsa) {
    std::vector<Depthwise3x3Case> cases;
    for (int64_t height : {1, 2, 3, 4, 5, 6, 14}) {
        for (int64_t width : {1, 2, 3, 13, 14, 15, 16}) cases.push_back({1, 5, height, width, 2, 1, 1});
    }
    cases.push_back({2, 3, 9, 11, 2, 3, 0});
    cases.push_back({1, 3, 10, 12, 2, 3, 2});
    cases.push_back({2, 7, 14, 14, 2, 1, 0});
    cases.push_back({1, 4, 15, 15, 2, 1, 2});
    for (int64_t width : {1, 2, 3}) cases.push_back({1, 5, 3, width, 1, 1, 1});
    // Stride 1 on rows of <= 8 columns with pad 1 before them (tap 1 as loaded, taps 0 and 2
    // from sums shifted a lane): 1 to 8 columns, 1, 2 and 7 rows, pad 2 after (7 outputs from 6
    // columns, 8 from 7).
    for (int64_t width : {1, 4, 5, 7, 8}) {
        for (int64_t height : {1, 2, 7}) cases.push_back({1, 5, height, width, 1, 1, 1});
    }
    cases.push_back({2, 3, 6, 7, 1, 1, 2});
    cases.push_back({1, 3, 5, 6, 1, 1, 2});
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const Depthwise3x3Case& c : cases) {
            for (bool non_finite : {false, true}) {
                SCOPED_TRACE(cat("n=", c.batch, " c=", c.channels, " ", c.height, "x", c.width, " s=", c.stride,
                                 " pads=", c.pad_begin, ",", c.pad_end, " isa=", static_cast<int>(isa),
                                 " non_finite=", non_finite));
                expect_3x3_passes_match_reference(device_, c, non_finite);
            }
        }
    }
}

// Backward data with a NaN and an Inf weight where the NCHW kernels run (AVX2 and AVX-512; the
// channel-blocked and portable kernels multiply padding by the weights): stride 1 on rows of 1 to
// 8 columns (AVX2: 8-lane stores spilling past the row's end), 9, 14, 17 and 28 (the last block
// shifted to end at the row's end), 1 to 17 channels; stride 2 x 2 with odd and even pads,
// dx rows of 13 to 57 columns.
TEST_F(ConvDepthwiseTest, ThreeByThreeBackwardDataWithNonFiniteWeightsMatchesReference) {
    std::vector<Depthwise3x3Case> cases;
    for (int64_t width : {1, 2, 5, 7, 8, 9, 14, 17, 28}) {
        for (int64_t channels : {1, 3, 17}) cases.push_back({1, channels, width == 1 ? 3 : 9, width, 1, 1, 1});
    }
    cases.push_back({2, 3, 7, 7, 1, 2, 0});
    cases.push_back({2, 3, 8, 9, 1, 0, 2});
    for (int64_t width : {13, 14, 28, 29, 56, 57}) {
        cases.push_back({1, 3, 11, width, 2, 1, 1});
        cases.push_back({2, 3, 10, width, 2, 2, 1});
    }
    for (mln_isa isa : available_isas()) {
        if (isa != MLN_ISA_AVX2 && isa != MLN_ISA_AVX512) continue;
        ScopedIsa scoped(isa);
        for (const Depthwise3x3Case& c : cases) {
            SCOPED_TRACE(cat("n=", c.batch, " c=", c.channels, " ", c.height, "x", c.width, " s=", c.stride,
                             " pads=", c.pad_begin, ",", c.pad_end, " isa=", static_cast<int>(isa)));
            expect_3x3_passes_match_reference(device_, c, true, true);
        }
    }
}

// The AVX2 NCHW forward at stride 2 x 2 with NaN and Inf weights (it masks the weights of
// padding taps, so that they add nothing, as in the reference): channel c's tap c % 9 NaN and
// tap (c + 4) % 9 Inf, over rows of 1 to 57 outputs (one register, whole ones and a partial
// last one), 1-wide and 1 x 1 planes, pads 0 to 2 before, 17 channels. At AVX2 only: the
// channel-blocked kernels (the scalar ISA's path here) multiply padding zeros by the weights,
// and so does AVX-512's stride-2 forward on rows of one register for rows outside the plane
// (kZeroWindow), both giving NaN where the reference leaves a NaN weight's padding tap out.
TEST_F(ConvDepthwiseTest, ThreeByThreeStride2ForwardNonFiniteWeightsMatchReferenceAtAvx2) {
    struct Case {
        int64_t height, width, pad_begin, pad_end;
    };
    const std::vector<Case> cases = {{14, 14, 1, 1}, {15, 15, 1, 1}, {28, 28, 1, 1}, {9, 29, 0, 0}, {9, 56, 1, 1},
                                     {7, 57, 2, 0},  {6, 113, 1, 1}, {9, 1, 1, 1},   {1, 1, 1, 1},  {5, 3, 0, 2}};
    for (mln_isa isa : available_isas()) {
        if (isa != MLN_ISA_AVX2) continue;
        ScopedIsa scoped(isa);
        for (const Case& c : cases) {
            SCOPED_TRACE(cat(c.height, "x", c.width, " pads=", c.pad_begin, ",", c.pad_end));
            const int64_t channels = 17;
            const DepthwiseCase shape{{1, channels, c.height, c.width}, {3, 3}, {2, 2}, {1, 1},
                                      {c.pad_begin, c.pad_begin}, {c.pad_end, c.pad_end}};
            expect_forward_matches_reference(device_, shape, [&](HostTensor<float>&, HostTensor<float>& w) {
                for (int64_t ch = 0; ch < channels; ++ch) {
                    w.at(ch * 9 + ch % 9) = std::numeric_limits<float>::quiet_NaN();
                    w.at(ch * 9 + (ch + 4) % 9) = std::numeric_limits<float>::infinity();
                }
            });
        }
    }
}

// The AVX2 forward on planes of up to 256 positions (eight channels a register in channel-minor
// order, a partial last group filled with copies of its last channel): the reference's results
// on one thread and the same bits on three, whose channel splits fall inside groups of eight.
// Stride 1 on 7 x 7 and 16 x 16 (the largest such plane), stride 2 from 14 x 14 and from 15 x 17
// (uneven pads), planes under eight positions, 67 and 29 channels over two images.
TEST_F(ConvDepthwiseTest, ThreeByThreeChannelMinorForwardIsTheSameBitsAtAnyThreadCount) {
    const std::vector<Depthwise3x3Case> cases = {{2, 67, 7, 7, 1, 1, 1},   {1, 29, 16, 16, 1, 1, 1},
                                                 {2, 29, 14, 14, 2, 1, 1}, {1, 21, 15, 17, 2, 1, 0},
                                                 {2, 13, 2, 3, 1, 1, 1},   {1, 11, 3, 2, 2, 0, 1}};
    for (mln_isa isa : available_isas()) {
        if (isa != MLN_ISA_AVX2) continue;
        ScopedIsa scoped(isa);
        for (const Depthwise3x3Case& c : cases) {
            SCOPED_TRACE(cat("n=", c.batch, " c=", c.channels, " ", c.height, "x", c.width, " s=", c.stride));
            const DepthwiseCase shape = shape_of(c);
            const mln_conv_params p = params_of(c);
            HostTensor<float> x(shape.x_shape), w({c.channels, 1, 3, 3}), bias({c.channels});
            HostTensor<float> y_one(y_shape_of(shape)), y_three(y_shape_of(shape));
            fill_random(x);
            fill_random(w);
            fill_random(bias);
            ASSERT_EQ(mln_device_set_thread_count(device_, 1), MLN_STATUS_OK);
            expect_forward_matches_reference(device_, p, x, w, bias, y_one,
                                             std::numeric_limits<float>::epsilon() * 16 * 16);
            ASSERT_EQ(mln_device_set_thread_count(device_, 3), MLN_STATUS_OK);
            ASSERT_EQ(mln_conv_forward(device_, &p, x.desc(), w.desc(), bias.desc(), MLN_UNARY_OP_IDENTITY, nullptr,
                                       y_three.desc()),
                      MLN_STATUS_OK)
                << mln_last_error();
            EXPECT_TRUE(same_elements(y_three, y_one));
        }
    }
}

// The backward filter's flat plane sums up to 128 channels of an image before the next image:
// tasks of more than 128 channels (a span, then a partial one ending in a partial group of 16),
// on one and two threads.
TEST_F(ConvDepthwiseTest, ThreeByThreeFilterOverChannelSpansMatchesReference) {
    const std::vector<Depthwise3x3Case> cases = {
        {1, 290, 17, 17, 1, 1, 1},  // 289 positions: over the channel-minor copy's 256
        {2, 275, 9, 33, 1, 1, 1},
        {24, 140, 6, 14, 1, 1, 1},  // 24 images, rows of 14 outputs
        {2, 35, 14, 14, 1, 1, 1},   // an output row a register, channels in pairs and a lone last
        {2, 35, 9, 28, 1, 1, 1},    // an output row in two registers
        {17, 35, 7, 7, 1, 1, 1},    // two channels a register
        // Stride 2, rows of 7 outputs (two channels a register) over one image, two and three
        // (the sums of the images before the last kept, reduced at the last): pairs and a lone
        // last channel on each thread.
        {1, 35, 14, 14, 2, 1, 1},
        {1, 37, 13, 13, 2, 0, 0},
        {2, 19, 14, 13, 2, 1, 0},
        {3, 37, 14, 14, 2, 1, 1},
        // Stride 2, rows of one register of outputs (each plane one strip, the first image
        // setting the sums) over one image and over three.
        {1, 35, 28, 28, 2, 1, 1},
        {3, 19, 29, 31, 2, 0, 0},
    };
    for (int threads : {1, 2}) {
        ASSERT_EQ(mln_device_set_thread_count(device_, threads), MLN_STATUS_OK);
        for (const Depthwise3x3Case& c : cases) {
            SCOPED_TRACE(cat("threads=", threads, " n=", c.batch, " c=", c.channels, " ", c.height, "x", c.width,
                             " s=", c.stride));
            expect_3x3_passes_match_reference(device_, c, false);
        }
    }
}

// The AVX-512 backward filter's rows of 7 (two channels a register) and 14 columns (a row a
// register) store the last image's sums from the registers, in runs permuted to dw's order: each
// channel's filter gradient must be the same bits wherever it lies in the call (groups of four
// or two channels, a short last group, a lone last channel), so every channel of a 19-channel
// call against that channel alone, over one image and three, on one and two threads.
TEST_F(ConvDepthwiseTest, ThreeByThreeFilterIsTheSameBitsForAChannelAlone) {
    const std::vector<Depthwise3x3Case> cases = {{1, 19, 7, 7, 1, 1, 1},    {3, 19, 7, 7, 1, 1, 1},
                                                 {1, 19, 14, 14, 1, 1, 1},  {3, 19, 14, 14, 1, 1, 1},
                                                 {2, 19, 9, 7, 1, 0, 2},    {1, 19, 5, 13, 1, 1, 1}};
    for (int threads : {1, 2}) {
        ASSERT_EQ(mln_device_set_thread_count(device_, threads), MLN_STATUS_OK);
        for_cases_at_vector_isas(cases, [&](const Depthwise3x3Case& c) {
            const DepthwiseCase shape = shape_of(c);
            const mln_conv_params p = params_of(c);
            const std::vector<int64_t> y_shape = y_shape_of(shape);
            HostTensor<float> x(shape.x_shape), dy(y_shape), dw({c.channels, 1, 3, 3});
            fill_random(x);
            fill_random(dy);
            ASSERT_EQ(mln_conv_backward_filter(device_, &p, x.desc(), dy.desc(), dw.desc(), nullptr), MLN_STATUS_OK)
                << mln_last_error();
            Depthwise3x3Case alone_case = c;
            alone_case.channels = 1;
            const mln_conv_params alone_p = params_of(alone_case);
            const int64_t in_plane = c.height * c.width, out_plane = y_shape[2] * y_shape[3];
            for (int64_t channel = 0; channel < c.channels; ++channel) {
                HostTensor<float> x1({c.batch, 1, c.height, c.width}), dy1({c.batch, 1, y_shape[2], y_shape[3]});
                HostTensor<float> dw1({1, 1, 3, 3});
                for (int64_t n = 0; n < c.batch; ++n) {
                    for (int64_t i = 0; i < in_plane; ++i) {
                        x1.at(n * in_plane + i) = x.at((n * c.channels + channel) * in_plane + i);
                    }
                    for (int64_t i = 0; i < out_plane; ++i) {
                        dy1.at(n * out_plane + i) = dy.at((n * c.channels + channel) * out_plane + i);
                    }
                }
                ASSERT_EQ(mln_conv_backward_filter(device_, &alone_p, x1.desc(), dy1.desc(), dw1.desc(), nullptr),
                          MLN_STATUS_OK)
                    << mln_last_error();
                for (int64_t t = 0; t < 9; ++t) {
                    EXPECT_EQ(dw.at(channel * 9 + t), dw1.at(t)) << "threads=" << threads << " channel " << channel
                                                                 << " tap " << t;
                }
            }
        });
    }
}

// The backward filter with NaN and Inf in dy (x finite): at row ends (the AVX2 filter's row
// registers sum the neighbouring row's values into lanes it clears after), in the first and last
// element of the tensor (the loads past a plane's ends) and in the middle of a channel. A product
// of a padding tap must not be added as 0 * Inf. Rows of 1 to 33 outputs (one to five registers,
// a partial last one and none), pads 1 and uneven, stride 2, over one image and three. Not at
// the scalar ISA, whose kernels sum padding as zeros times dy.
TEST_F(ConvDepthwiseTest, ThreeByThreeFilterWithNonFiniteDyMatchesReferenceAtVectorIsas) {
    std::vector<Depthwise3x3Case> cases;
    for (int64_t width : {1, 2, 7, 8, 9, 14, 16, 17, 28, 33, 56}) {
        cases.push_back({1, 11, width == 1 ? 3 : std::min<int64_t>(width, 20), width, 1, 1, 1});
        cases.push_back({3, 9, 5, width, 1, 1, 1});
    }
    cases.push_back({1, 5, 1, 14, 1, 1, 1});
    cases.push_back({2, 5, 2, 7, 1, 1, 1});
    cases.push_back({2, 5, 9, 14, 1, 2, 0});
    cases.push_back({2, 5, 14, 14, 2, 1, 1});
    cases.push_back({1, 5, 14, 14, 2, 1, 1});  // one image, rows of one register: a channel at a time
    cases.push_back({1, 5, 28, 28, 2, 1, 1});
    // Stride 2 on rows of 28 and 34 outputs: the AVX2 filter's row-by-row loop (dy shifted an
    // output for tap 0, its last lane past the row).
    cases.push_back({1, 5, 20, 56, 2, 1, 1});
    cases.push_back({3, 5, 9, 67, 2, 1, 1});
    // Over 16 KiB at stride 2 over more than 4 images (the AVX-512 rows in memory order).
    cases.push_back({5, 3, 41, 100, 2, 1, 1});
    for_cases_at_vector_isas(cases, [&](const Depthwise3x3Case& c) {
        const DepthwiseCase shape = shape_of(c);
        const mln_conv_params p = params_of(c);
        const std::vector<int64_t> y_shape = y_shape_of(shape);
        HostTensor<float> x(shape.x_shape), dy(y_shape);
        HostTensor<float> dw({c.channels, 1, 3, 3}), dw_want({c.channels, 1, 3, 3});
        fill_random(x);
        fill_random(dy);
        dy.at(0) = std::numeric_limits<float>::infinity();
        dy.at(dy.count() - 1) = -std::numeric_limits<float>::infinity();
        dy.at(dy.count() / 2) = std::numeric_limits<float>::quiet_NaN();
        set_row_ends_non_finite(dy);
        for (float& v : dw.storage()) v = std::numeric_limits<float>::quiet_NaN();
        ASSERT_EQ(mln_conv_backward_filter(device_, &p, x.desc(), dy.desc(), dw.desc(), nullptr), MLN_STATUS_OK)
            << mln_last_error();
        reference::conv_backward_filter(p, x.view(), dy.view(), dw_want.view(), nullptr);
        const double eps = std::numeric_limits<float>::epsilon();
        EXPECT_TRUE(near_all(dw, dw_want, eps * 16 * static_cast<double>(dy.count() / c.channels + 4)));
    });
}

}  // namespace
}  // namespace mln::test
