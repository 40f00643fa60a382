#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"

namespace mln::kernels {
namespace {

// Positions are int32 lanes in the masks of the flat plane.
constexpr int64_t kMaxPlane = int64_t{1} << 30;

bool is_2d_3x3(const WindowGeometry& g) {
    return g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 && g.kernel[1] == 3 && g.kernel[2] == 3 &&
           g.dilation[1] == 1 && g.dilation[2] == 1 && g.in_size() < kMaxPlane && g.out_size() < kMaxPlane;
}

// At row stride 2 a register holds at most one output row. Against the channel-blocked kernels
// (mb2 microbenchmark, MobileNet-v2 shapes, one thread, AVX-512, min CPU time of repeated calls,
// once the stride-2 loops prefetched their rows): forward on 14-wide rows the same at batch 1,
// 1.15-1.25x faster at batches 2-8, 1.9x at 32; 28-wide 1.0-1.3x at batch 1, 1.8-2.1x at 32;
// 7-wide 1.6x slower at batches 1-8 (still 1.35x faster at 32, from DRAM). Backward data lost
// only on 7-wide rows (1.4x). Backward filter: 14-wide the same at batches 1-4, 1.05x slower at
// 8, 1.8x faster at 32; 28- and 56-wide 1.1-1.4x faster at batch 1, 1.7-2x at 32; 7-wide 1.7x
// slower at batches 1-8. Rows of <= 8 outputs (7-wide) now go two channels a register
// (depthwise_3x3_pairs_fit): forward 1.9x, filter 1.2-1.5x faster than channel-blocked at
// batch 1, both 3x at 32. Backward data on dy rows of <= 8 (dx <= 16) goes two channels a
// register too (depthwise_3x3_backward_data_pairs_fit): dw576/2 at 14 x 14, 2.4x faster than
// channel-blocked at batch 1, 1.8-1.9x at 32.
constexpr int64_t kMinStride2ForwardWidth = 14;
constexpr int64_t kMinStride2BackwardDataWidth = 9;
constexpr int64_t kMinStride2BackwardFilterWidth = 14;

bool is_flat(const WindowGeometry& g) { return g.stride[1] == 1 && g.stride[2] == 1 && g.out[2] == g.in[2]; }

}  // namespace

bool depthwise_3x3_pairs_fit(const WindowGeometry& g) {
    return (g.stride[2] == 1 || g.stride[2] == 2) && g.in[2] <= 16 && g.out[2] <= 8;
}

bool depthwise_3x3_nchw_forward_applies(const WindowGeometry& g) {
    if (!is_2d_3x3(g)) return false;
    return is_flat(g) || (g.stride[2] == 2 && g.out[2] >= kMinStride2ForwardWidth) || depthwise_3x3_pairs_fit(g);
}

bool depthwise_3x3_backward_data_pairs_fit(const WindowGeometry& g) {
    return g.stride[1] == 2 && g.stride[2] == 2 && g.out[2] <= 8 && g.in[2] <= 16;
}

bool depthwise_3x3_nchw_backward_data_applies(const WindowGeometry& g) {
    if (!is_2d_3x3(g)) return false;
    return is_flat(g) || depthwise_3x3_backward_data_pairs_fit(g) ||
           (g.stride[1] == 2 && g.stride[2] == 2 && g.out[2] >= kMinStride2BackwardDataWidth);
}

bool depthwise_3x3_nchw_backward_filter_applies(const WindowGeometry& g) {
    if (!is_2d_3x3(g)) return false;
    return is_flat(g) || depthwise_3x3_pairs_fit(g) ||
           (g.stride[1] == 2 && g.stride[2] == 2 && g.out[2] >= kMinStride2BackwardFilterWidth);
}

#if defined(MYELIN_X86_64_KERNELS)
bool depthwise_3x3_nchw_applies_avx2(const WindowGeometry& g) {
    return is_2d_3x3(g) && (is_flat(g) || (g.stride[1] == 2 && g.stride[2] == 2));
}
#endif

}  // namespace mln::kernels
