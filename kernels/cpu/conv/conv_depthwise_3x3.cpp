#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"

namespace mln::kernels {
namespace {

// Positions are int32 lanes in the masks of the flat plane.
constexpr int64_t kMaxPlane = int64_t{1} << 30;

bool is_2d_3x3(const WindowGeometry& g) {
    return g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 && g.kernel[1] == 3 && g.kernel[2] == 3 &&
           g.dilation[1] == 1 && g.dilation[2] == 1 && g.in_size() < kMaxPlane && g.out_size() < kMaxPlane;
}

// At row stride 2 a register holds one output row: on rows of 8 or fewer outputs most lanes
// idle, and the channel-blocked kernels ran faster (MobileNet-v2's 14x14 stride 2, 7 wide: 1.7x
// forward, 1.4x backward data, 1.6x backward filter; 14 wide about even; one thread, AVX-512).
constexpr int64_t kMinStride2Width = 9;

bool is_flat(const WindowGeometry& g) { return g.stride[1] == 1 && g.stride[2] == 1 && g.out[2] == g.in[2]; }

}  // namespace

bool depthwise_3x3_nchw_forward_applies(const WindowGeometry& g) {
    if (!is_2d_3x3(g)) return false;
    return is_flat(g) || (g.stride[2] == 2 && g.out[2] >= kMinStride2Width);
}

bool depthwise_3x3_nchw_backward_data_applies(const WindowGeometry& g) {
    if (!is_2d_3x3(g)) return false;
    return is_flat(g) || (g.stride[1] == 2 && g.stride[2] == 2 && g.out[2] >= kMinStride2Width);
}

}  // namespace mln::kernels
