// Lowering of a convolution window to a matrix (im2col) and back (col2im), over the 3-d
// WindowGeometry. The column matrix has one row per (channel, kd, kh, kw) and one column per
// output position: col[((c*KD + kd)*KH + kh)*KW + kw][(od*OH + oh)*OW + ow]
//   = x[c][od*s0 - p0 + kd*d0][oh*s1 - p1 + kh*d1][ow*s2 - p2 + kw*d2]   (0 outside x).
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/nn_args.hpp"

namespace mln::kernels {

// The outputs o in [0, out) whose input o*stride + offset lies in [0, in), as [*lo, *hi).
inline void valid_output_range(int64_t offset, int64_t stride, int64_t in, int64_t out, int64_t* lo, int64_t* hi) {
    const int64_t first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    const int64_t last = in - offset <= 0 ? 0 : (in - offset + stride - 1) / stride;
    *lo = std::min(first, out);
    *hi = std::max(*lo, std::min(last, out));
}

// Writes rows [row_begin, row_end) of the column matrix of x (channels x in, contiguous), row r
// at col + r * ld (ld >= out size; 0 means the out size).
template <class T>
void im2col_rows(const T* x, const WindowGeometry& g, int64_t row_begin, int64_t row_end, T* col, int64_t ld = 0) {
    const int64_t out_size = g.out_size();
    const int64_t in_size = g.in_size();
    if (ld == 0) ld = out_size;
    for (int64_t r = row_begin; r < row_end; ++r) {
        int64_t t = r;
        const int64_t kw = t % g.kernel[2];
        t /= g.kernel[2];
        const int64_t kh = t % g.kernel[1];
        t /= g.kernel[1];
        const int64_t kd = t % g.kernel[0];
        const int64_t c = t / g.kernel[0];
        const T* xc = x + c * in_size;
        T* dst = col + r * ld;
        const int64_t w_offset = kw * g.dilation[2] - g.pad_begin[2];
        int64_t lo, hi;
        valid_output_range(w_offset, g.stride[2], g.in[2], g.out[2], &lo, &hi);
        for (int64_t od = 0; od < g.out[0]; ++od) {
            const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
            for (int64_t oh = 0; oh < g.out[1]; ++oh, dst += g.out[2]) {
                const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
                if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
                    std::fill(dst, dst + g.out[2], T(0));
                    continue;
                }
                const T* src = xc + (id * g.in[1] + ih) * g.in[2] + w_offset;
                std::fill(dst, dst + lo, T(0));
                if (g.stride[2] == 1) {
                    std::copy(src + lo, src + hi, dst + lo);
                } else {
                    for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow * g.stride[2]];
                }
                std::fill(dst + hi, dst + g.out[2], T(0));
            }
        }
    }
}

// Overwrites channels [channel_begin, channel_end) of x (channels x in) with the sum of the
// column-matrix entries that im2col would have read from each element. Each channel is summed
// in a fixed order, so the result does not depend on how channels are split among threads.
template <class T>
void col2im_channels(const T* col, const WindowGeometry& g, int64_t channel_begin, int64_t channel_end, T* x) {
    const int64_t out_size = g.out_size();
    const int64_t in_size = g.in_size();
    const int64_t kernel_size = g.kernel_size();
    for (int64_t c = channel_begin; c < channel_end; ++c) {
        T* xc = x + c * in_size;
        std::fill(xc, xc + in_size, T(0));
        for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                    const int64_t r = c * kernel_size + (kd * g.kernel[1] + kh) * g.kernel[2] + kw;
                    const T* src = col + r * out_size;
                    const int64_t w_offset = kw * g.dilation[2] - g.pad_begin[2];
                    int64_t lo, hi;
                    valid_output_range(w_offset, g.stride[2], g.in[2], g.out[2], &lo, &hi);
                    for (int64_t od = 0; od < g.out[0]; ++od) {
                        const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
                        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
                            const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
                            if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) continue;
                            T* dst = xc + (id * g.in[1] + ih) * g.in[2] + w_offset;
                            const T* row = src + (od * g.out[1] + oh) * g.out[2];
                            for (int64_t ow = lo; ow < hi; ++ow) dst[ow * g.stride[2]] += row[ow];
                        }
                    }
                }
            }
        }
    }
}

}  // namespace mln::kernels
