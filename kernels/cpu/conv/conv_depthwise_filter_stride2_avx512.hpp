// The depthwise 3 x 3 backward filter at stride 2 x 2 on rows of up to 7 outputs, two channels a
// register, whole rows in registers (conv_depthwise_filter_stride2_avx512.cpp says how). For
// *_avx512.cpp files only.
#pragma once

#include <cstdint>

#include "core/nn_args.hpp"
#include "kernels/cpu/conv/conv_depthwise_filter_avx512.hpp"

namespace mln::kernels::depthwise_filter {

// Stride 2 x 2, rows of up to 7 outputs, pads of 0 or 1 before, at any batch: ahead of the
// channel-minor copy and the older pair kernel. dw576/2 @ 14 (MobileNet-v2, same-process A/B
// against both, a loaded machine): batch 2 1.2-1.35x faster, 4 1.2-1.3x, 8 1.2-1.4x, 16
// 1.4-1.55x, 32 1.1x on one thread, 32 1.15-1.35x on two; batch 1 (a pair's sums one register
// a tap, conv_vs_build against the channel-minor copy) 0.79-0.80x the time.
bool stride2_pair_filter_fits(const WindowGeometry& g);
// Whether g's planes are n x n at pad 1 before with n / 2 x n / 2 outputs (stride 2): the planes
// whose rows the stride-2 filter kernels unroll with the sizes constant (their FixedIn).
inline bool stride2_square_plane_at_pad1(const WindowGeometry& g, int64_t n) {
    return g.in[1] == n && g.in[2] == n && g.pad_begin[1] == 1 && g.pad_begin[2] == 1 && g.out[1] == n / 2 &&
           g.out[2] == n / 2;
}
// dw of such a geometry for `channels` consecutive channels summed over `images` images.
void stride2_pair_filter_sums_avx512(const float* x, const float* dy, const WindowGeometry& g,
                                     const FilterSumsLayout& l, int64_t channels, int64_t images, float* dw);

}  // namespace mln::kernels::depthwise_filter
