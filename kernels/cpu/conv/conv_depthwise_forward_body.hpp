// The body of the channel-blocked depthwise forward kernel (conv_depthwise.hpp), compiled once
// per ISA file (conv_depthwise_forward{,_avx2,_avx512}.cpp).
//
// A strip of rows of a block of channels is transposed into blocked scratch
// (conv_depthwise_blocked.hpp) and copied into a zero-bordered copy that spans every position its
// windows read, so no tap needs a bounds check. Each output position then sums its taps in registers (one full-width FMA per tap over
// the block's channels) and is stored once; the strip of outputs is transposed back to NCHW.
// Unlike the per-channel kernels this keeps every lane busy on MobileNet's 7- and 14-wide rows.
// Border taps multiply a zero: an Inf or NaN weight makes NaN there, as in the per-channel AVX-512
// kernel, where the reference skips the tap.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/conv/conv_depthwise.hpp"
#include "kernels/cpu/conv/conv_depthwise_blocked.hpp"

namespace mln::kernels {
namespace {

// One output row of blocked positions: kUnroll positions at a time, each tap's lanes loaded once
// for all of them, the sums over every tap. Width is the kernel width when it is a compile-time
// constant (3, MobileNet's), else 0 and read from g. The portable one; an ISA file may pass its
// own (the Row parameter of the body) where the compiler would keep the sums in memory.
constexpr int64_t kUnroll = 4;

struct PortableRow {
    template <int64_t Width, class T>
    static void run(const T* window_row, const T* taps, const T* bias_lanes, const WindowGeometry& g,
                    const int64_t tap_step[3], T* y_row) {
        constexpr int64_t L = kLanes<T>;
        const int64_t width = Width != 0 ? Width : g.kernel[2];
        const int64_t step_d = tap_step[0], step_h = tap_step[1], step_w = tap_step[2];
        const int64_t position_step = g.stride[2] * L;
        int64_t ow = 0;
        for (; ow + kUnroll <= g.out[2]; ow += kUnroll) {
            const T* window = window_row + ow * position_step;
            T sum[kUnroll][L];
            for (int64_t u = 0; u < kUnroll; ++u) {
                for (int64_t j = 0; j < L; ++j) sum[u][j] = bias_lanes[j];
            }
            const T* tap = taps;
            for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const T* at = window + kd * step_d + kh * step_h;
                    for (int64_t kw = 0; kw < width; ++kw, tap += L, at += step_w) {
                        for (int64_t u = 0; u < kUnroll; ++u) lanes_multiply_add(sum[u], tap, at + u * position_step);
                    }
                }
            }
            for (int64_t u = 0; u < kUnroll; ++u) {
                for (int64_t j = 0; j < L; ++j) y_row[(ow + u) * L + j] = sum[u][j];
            }
        }
        for (; ow < g.out[2]; ++ow) {
            const T* window = window_row + ow * position_step;
            T sum[L];
            for (int64_t j = 0; j < L; ++j) sum[j] = bias_lanes[j];
            const T* tap = taps;
            for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const T* at = window + kd * step_d + kh * step_h;
                    for (int64_t kw = 0; kw < width; ++kw, tap += L, at += step_w) lanes_multiply_add(sum, tap, at);
                }
            }
            for (int64_t j = 0; j < L; ++j) y_row[ow * L + j] = sum[j];
        }
    }
};

// Output rows per strip: the bordered input rows a strip reads take about this many bytes, so
// the strip's blocked copies stay in the L2 cache between being written and read.
constexpr int64_t kStripBytes = 96 << 10;

template <class Tile, class Row, class T>
void depthwise_forward_block_body(const T* x, const T* w, const T* bias, const WindowGeometry& g, int64_t channels,
                                  T* y) {
    constexpr int64_t L = kLanes<T>;
    const int64_t in_size = g.in_size(), out_size = g.out_size(), kernel_size = g.kernel_size();
    if (out_size == 0) return;
    // The bordered input: per axis the span from the first window's first tap to the last
    // window's last tap; input position i sits at i + pad_begin.
    int64_t extent[3];
    for (int d = 0; d < 3; ++d) extent[d] = (g.out[d] - 1) * g.stride[d] + (g.kernel[d] - 1) * g.dilation[d] + 1;
    // 1-d and 2-d images go by strips of output rows; 3-d ones (rarely large) in one strip.
    const bool planar = extent[0] == 1;
    const int64_t row_bytes = extent[2] * L * static_cast<int64_t>(sizeof(T));
    const int64_t strip_out_rows =
        planar ? std::clamp<int64_t>(kStripBytes / (g.stride[1] * row_bytes), 1, g.out[1]) : g.out[1];
    const int64_t max_rows = (strip_out_rows - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
    const int64_t blocked_size = std::max(extent[0] * max_rows * g.in[2], g.out[0] * strip_out_rows * g.out[2]);
    std::vector<T>& buffer = depthwise_scratch<T>(0);
    std::vector<T>& padded_buffer = depthwise_scratch<T>(1);
    buffer.resize(static_cast<size_t>((blocked_size + kernel_size + 1) * L));
    padded_buffer.resize(static_cast<size_t>(extent[0] * max_rows * extent[2] * L));
    T* blocked = buffer.data();  // the strip's x rows blocked, then its y rows
    T* taps = blocked + blocked_size * L;
    T* bias_lanes = taps + kernel_size * L;
    T* padded = padded_buffer.data();
    taps_blocked(w, channels, kernel_size, taps);
    std::fill(bias_lanes, bias_lanes + L, T(0));
    if (bias != nullptr) std::copy(bias, bias + channels, bias_lanes);
    const int64_t w_begin = std::max<int64_t>(0, -g.pad_begin[2]);
    const int64_t w_end = std::max(w_begin, std::min(g.in[2], extent[2] - g.pad_begin[2]));
    const int64_t left = w_begin + g.pad_begin[2], right = w_end + g.pad_begin[2];  // interior [left, right)
    for (int64_t oh0 = 0; oh0 < g.out[1]; oh0 += strip_out_rows) {
        const int64_t oh1 = std::min(g.out[1], oh0 + strip_out_rows);
        // Bordered rows [ph0, ph0 + rows) of every plane, from input rows [ih_lo, ih_hi).
        const int64_t ph0 = oh0 * g.stride[1];
        const int64_t rows = (oh1 - 1 - oh0) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
        const int64_t ih_lo = std::max<int64_t>(0, ph0 - g.pad_begin[1]);
        const int64_t ih_hi = std::min(g.in[1], ph0 + rows - g.pad_begin[1]);
        for (int64_t pd = 0; pd < extent[0]; ++pd) {
            const int64_t id = pd - g.pad_begin[0];
            const bool plane_read = id >= 0 && id < g.in[0] && ih_lo < ih_hi;
            if (plane_read) {
                to_blocked<Tile>(x + (id * g.in[1] + ih_lo) * g.in[2], channels, in_size, (ih_hi - ih_lo) * g.in[2],
                                 blocked + pd * max_rows * g.in[2] * L);
            }
            // Each bordered row: the input row's blocked positions, zeros on both sides (all
            // zeros where no input row lands); the interior is written once, not zeroed first.
            for (int64_t r = 0; r < rows; ++r) {
                const int64_t ih = ph0 + r - g.pad_begin[1];
                T* row = padded + (pd * rows + r) * extent[2] * L;
                if (!plane_read || ih < ih_lo || ih >= ih_hi || left >= right) {
                    std::fill(row, row + extent[2] * L, T(0));
                    continue;
                }
                std::fill(row, row + left * L, T(0));
                const T* src = blocked + ((pd * max_rows + ih - ih_lo) * g.in[2] + w_begin) * L;
                std::copy(src, src + (right - left) * L, row + left * L);
                std::fill(row + right * L, row + extent[2] * L, T(0));
            }
        }
        // Steps between taps along each axis, in blocked elements.
        const int64_t tap_step[3] = {g.dilation[0] * rows * extent[2] * L, g.dilation[1] * extent[2] * L,
                                     g.dilation[2] * L};
        T* y_blocked = blocked;
        for (int64_t od = 0; od < g.out[0]; ++od) {
            for (int64_t oh = oh0; oh < oh1; ++oh) {
                const T* window_row = padded + ((od * g.stride[0] * rows + oh * g.stride[1] - ph0) * extent[2]) * L;
                T* y_row = y_blocked + (od * (oh1 - oh0) + oh - oh0) * g.out[2] * L;
                if (g.kernel[2] == 3) {
                    Row::template run<3>(window_row, taps, bias_lanes, g, tap_step, y_row);
                } else {
                    Row::template run<0>(window_row, taps, bias_lanes, g, tap_step, y_row);
                }
            }
        }
        // Planar: the strip's rows; otherwise the one strip is the whole image.
        from_blocked<Tile>(y_blocked, channels, out_size, g.out[0] * (oh1 - oh0) * g.out[2], y + oh0 * g.out[2]);
    }
}

}  // namespace
}  // namespace mln::kernels
