// The body of the direct depthwise kernel, compiled once per ISA file (conv_depthwise.cpp,
// conv_depthwise_avx2.cpp; conv_depthwise_avx512.cpp for f64). Internal linkage keeps the
// differently compiled copies apart.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/nn_args.hpp"
#include "kernels/cpu/conv/im2col.hpp"

namespace mln::kernels {
namespace {

template <class T>
void depthwise_channel_body(const T* x, const T* w, T bias, const WindowGeometry& g, T* y) {
    // The valid outputs of each kw, once per channel: the two divisions of valid_output_range
    // per (row, tap) cost more than the row itself on small images (7x7: ~10x the whole kernel).
    constexpr int64_t kCachedTaps = 16;
    int64_t valid_lo[kCachedTaps], valid_hi[kCachedTaps];
    const bool cached = g.kernel[2] <= kCachedTaps;
    for (int64_t kw = 0; cached && kw < g.kernel[2]; ++kw) {
        valid_output_range(kw * g.dilation[2] - g.pad_begin[2], g.stride[2], g.in[2], g.out[2], &valid_lo[kw],
                           &valid_hi[kw]);
    }
    for (int64_t od = 0; od < g.out[0]; ++od) {
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
            T* y_row = y + (od * g.out[1] + oh) * g.out[2];
            std::fill(y_row, y_row + g.out[2], bias);
            for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
                    if (ih < 0 || ih >= g.in[1]) continue;
                    const T* x_row = x + (id * g.in[1] + ih) * g.in[2];
                    const T* taps = w + (kd * g.kernel[1] + kh) * g.kernel[2];
                    for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                        const int64_t offset = kw * g.dilation[2] - g.pad_begin[2];
                        int64_t lo, hi;
                        if (cached) {
                            lo = valid_lo[kw];
                            hi = valid_hi[kw];
                        } else {
                            valid_output_range(offset, g.stride[2], g.in[2], g.out[2], &lo, &hi);
                        }
                        const T tap = taps[kw];
                        const T* src = x_row + offset;
                        if (g.stride[2] == 1) {
                            for (int64_t ow = lo; ow < hi; ++ow) y_row[ow] += tap * src[ow];
                        } else {
                            const int64_t s = g.stride[2];
                            for (int64_t ow = lo; ow < hi; ++ow) y_row[ow] += tap * src[ow * s];
                        }
                    }
                }
            }
        }
    }
}

}  // namespace
}  // namespace mln::kernels
