#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"

namespace mln::kernels {
namespace {

// Positions are int32 lanes in the masks of the flat plane.
constexpr int64_t kMaxPlane = int64_t{1} << 30;

bool is_2d_3x3(const WindowGeometry& g) {
    return g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 && g.kernel[1] == 3 && g.kernel[2] == 3 &&
           g.dilation[1] == 1 && g.dilation[2] == 1 && g.in_size() < kMaxPlane && g.out_size() < kMaxPlane;
}

// At row stride 2 a register holds at most one output row, and the channel-blocked kernels ran
// about as fast or faster on narrow rows (conv_vs_onednn, MobileNet-v2, one thread, AVX-512):
// forward on 28- and 14-wide rows 1.3x faster at batch 32 (even at batch 1), 7-wide 1.7-1.9x at
// both; backward data lost only on 7-wide rows (1.4x).
constexpr int64_t kMinStride2ForwardWidth = 32;
constexpr int64_t kMinStride2BackwardDataWidth = 9;
// Backward filter at stride 2 against the channel-blocked kernel (one thread, min of repeated
// calls): batch 1, rows of 56 outputs 1.3-1.4x faster, 28 1.1x, 14 the same, 7 1.8x slower;
// batch 8 on 56-wide rows 1.3x slower (planes no longer in cache; batches 2-7 unmeasured).
constexpr int64_t kMinStride2BackwardFilterWidth = 16;
constexpr int64_t kMaxStride2BackwardFilterImages = 1;

bool is_flat(const WindowGeometry& g) { return g.stride[1] == 1 && g.stride[2] == 1 && g.out[2] == g.in[2]; }

}  // namespace

bool depthwise_3x3_nchw_forward_applies(const WindowGeometry& g) {
    if (!is_2d_3x3(g)) return false;
    return is_flat(g) || (g.stride[2] == 2 && g.out[2] >= kMinStride2ForwardWidth);
}

bool depthwise_3x3_nchw_backward_data_applies(const WindowGeometry& g) {
    if (!is_2d_3x3(g)) return false;
    return is_flat(g) || (g.stride[1] == 2 && g.stride[2] == 2 && g.out[2] >= kMinStride2BackwardDataWidth);
}

bool depthwise_3x3_nchw_backward_filter_applies(const WindowGeometry& g, int64_t images) {
    if (!is_2d_3x3(g)) return false;
    return is_flat(g) ||
           (g.stride[1] == 2 && g.stride[2] == 2 && g.out[2] >= kMinStride2BackwardFilterWidth &&
            images <= kMaxStride2BackwardFilterImages);
}

}  // namespace mln::kernels
