// Lowering of a convolution window to a matrix (im2col) and back (col2im), over the 3-d
// WindowGeometry. The column matrix has one row per (channel, kd, kh, kw) and one column per
// output position: col[((c*KD + kd)*KH + kh)*KW + kw][(od*OH + oh)*OW + ow]
//   = x[c][od*s0 - p0 + kd*d0][oh*s1 - p1 + kh*d1][ow*s2 - p2 + kw*d2]   (0 outside x).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/blocking.hpp"

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

// out[2j] = even[j], out[2j + 1] = odd[j] for a row of `length` (an odd length ends on even's
// last element): a stride-2 row rebuilt from its two phases.
template <class T>
void interleave_phase_pair(const T* even, const T* odd, int64_t length, T* out) {
    const int64_t pairs = length / 2;
    for (int64_t j = 0; j < pairs; ++j) {
        out[2 * j] = even[j];
        out[2 * j + 1] = odd[j];
    }
    if (length % 2 != 0) out[length - 1] = even[pairs];
}

// col2im of channels [0, channels) of `columns` (rows (c, kd, kh, kw) of the out size) into dx
// (channels x in), one dx row at a time: the windows that reach the row (kd, kh and their od,
// oh) add their kw column rows into the row's s2 phases (phase q holds positions q + s2 j), each
// a contiguous run, and the row is then written once by interleaving the phases. Adding into dx
// with stride s2 (scalar) after zeroing it cost 21% of ResNet-18's 64-channel 3x3/2 backward data
// at batch 1, this 17%. Each dx element adds its terms in a fixed (kd, kh, kw) order, so the
// result does not depend on how channels are split among threads. phase_rows: scratch.
// The columns' element (row r, position q) is at columns[r * row_stride + q * position_stride]:
// rows of positions (row_stride the out size, position_stride 1), or positions of rows
// (row_stride 1, position_stride the rows), as the transposed GEMM leaves them.
template <class T>
void col2im_rows(const T* columns, int64_t row_stride, int64_t position_stride, const WindowGeometry& g,
                 int64_t channels, T* dx, std::vector<T>& phase_rows) {
    const int64_t s2 = g.stride[2];
    const int64_t phase_length = ceil_div(g.in[2], s2);
    phase_rows.resize(static_cast<size_t>(s2 * phase_length));
    T* phases = phase_rows.data();
    const int64_t kernel_size = g.kernel_size();
    // Per kw: its phase, the shift from ow to the phase index, and the valid ow.
    struct Tap {
        int64_t phase, shift, lo, hi;
    };
    std::vector<Tap> taps(static_cast<size_t>(g.kernel[2]));
    for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
        const int64_t offset = kw * g.dilation[2] - g.pad_begin[2];  // iw = ow * s2 + offset
        Tap& t = taps[static_cast<size_t>(kw)];
        t.phase = ((offset % s2) + s2) % s2;
        t.shift = (offset - t.phase) / s2;
        valid_output_range(offset, s2, g.in[2], g.out[2], &t.lo, &t.hi);
    }
    // The output index o whose window puts tap k at input i along axis d, or -1.
    auto source = [&](int d, int64_t i, int64_t k) -> int64_t {
        const int64_t span = i + g.pad_begin[d] - k * g.dilation[d];
        if (span < 0 || span % g.stride[d] != 0) return -1;
        const int64_t o = span / g.stride[d];
        return o < g.out[d] ? o : -1;
    };
    for (int64_t c = 0; c < channels; ++c) {
        for (int64_t id = 0; id < g.in[0]; ++id) {
            for (int64_t ih = 0; ih < g.in[1]; ++ih) {
                std::fill(phases, phases + s2 * phase_length, T(0));
                for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                    const int64_t od = source(0, id, kd);
                    if (od < 0) continue;
                    for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                        const int64_t oh = source(1, ih, kh);
                        if (oh < 0) continue;
                        const T* row = columns +
                                       (c * kernel_size + (kd * g.kernel[1] + kh) * g.kernel[2]) * row_stride +
                                       (od * g.out[1] + oh) * g.out[2] * position_stride;
                        for (const Tap& t : taps) {
                            T* target = phases + t.phase * phase_length + t.shift;
                            if (position_stride == 1) {
                                for (int64_t ow = t.lo; ow < t.hi; ++ow) target[ow] += row[ow];
                            } else {
                                for (int64_t ow = t.lo; ow < t.hi; ++ow) target[ow] += row[ow * position_stride];
                            }
                            row += row_stride;
                        }
                    }
                }
                T* out = dx + (c * g.in[0] * g.in[1] + id * g.in[1] + ih) * g.in[2];
                if (s2 == 1) {
                    std::copy(phases, phases + g.in[2], out);
                } else if (s2 == 2) {
                    interleave_phase_pair(phases, phases + phase_length, g.in[2], out);
                } else {
                    for (int64_t iw = 0; iw < g.in[2]; ++iw) out[iw] = phases[(iw % s2) * phase_length + iw / s2];
                }
            }
        }
    }
}

}  // namespace mln::kernels
