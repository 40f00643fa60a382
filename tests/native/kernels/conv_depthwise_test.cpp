// Depthwise convolution forward against the reference twin at every ISA, on the per-channel
// kernels (few channels on rows wide enough for whole registers of outputs) and on the
// channel-blocked kernel (half a block of channels or more):
// strides 1, 2 (shuffled loads) and 3 (gathers), dilation, asymmetric padding, 1-d and 3-d,
// and a NaN in x, which must reach exactly the outputs whose windows hold it.
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

class ConvDepthwiseTest : public CpuDeviceTest {
protected:
    void expect_match_reference_at_every_isa(const std::vector<DepthwiseCase>& cases);
};

void ConvDepthwiseTest::expect_match_reference_at_every_isa(const std::vector<DepthwiseCase>& cases) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const DepthwiseCase& c : cases) {
            for (bool with_nan : {false, true}) {
                SCOPED_TRACE(cat("x=", c.x_shape.back(), " k=", c.kernel.back(), " s=", c.strides.back(),
                                 " isa=", static_cast<int>(isa), " nan=", with_nan));
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
                HostTensor<float> x(c.x_shape), w(w_shape), bias({c.x_shape[1]}), y(y_shape_of(c)), y_want(y_shape_of(c));
                fill_random(x);
                fill_random(w);
                fill_random(bias);
                if (with_nan) x.at(x.count() / 2 + 7) = std::numeric_limits<float>::quiet_NaN();
                ASSERT_EQ(mln_conv_forward(device_, &p, x.desc(), w.desc(), bias.desc(), MLN_UNARY_OP_IDENTITY, nullptr,
                                           y.desc()),
                          MLN_STATUS_OK)
                    << mln_last_error();
                const TensorView bias_view = bias.view();
                reference::conv_forward(p, x.view(), w.view(), &bias_view, MLN_UNARY_OP_IDENTITY, nullptr, y_want.view());
                EXPECT_TRUE(near_all(y, y_want, std::numeric_limits<float>::epsilon() * 64 * 16));
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

}  // namespace
}  // namespace mln::test
