#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"

namespace mln::kernels {
namespace {

// Positions are int32 lanes in the masks of the flat plane.
constexpr int64_t kMaxPlane = int64_t{1} << 30;

bool is_2d_3x3(const WindowGeometry& g) {
    return g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 && g.kernel[1] == 3 && g.kernel[2] == 3 &&
           g.dilation[1] == 1 && g.dilation[2] == 1 && g.in_size() < kMaxPlane && g.out_size() < kMaxPlane;
}

}  // namespace

bool depthwise_3x3_nchw_forward_applies(const WindowGeometry& g) {
    if (!is_2d_3x3(g)) return false;
    const bool flat = g.stride[1] == 1 && g.stride[2] == 1 && g.out[2] == g.in[2];
    return flat || g.stride[2] == 2;
}

bool depthwise_3x3_nchw_backward_data_applies(const WindowGeometry& g) {
    if (!is_2d_3x3(g)) return false;
    const bool flat = g.stride[1] == 1 && g.stride[2] == 1 && g.out[2] == g.in[2];
    return flat || (g.stride[1] == 2 && g.stride[2] == 2);
}

}  // namespace mln::kernels
