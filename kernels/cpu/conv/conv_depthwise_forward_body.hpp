// The body of the channel-blocked depthwise forward kernel (conv_depthwise.hpp), compiled once
// per ISA file (conv_depthwise_forward{,_avx2,_avx512}.cpp).
//
// A block of channels is transposed into blocked scratch (conv_depthwise_blocked.hpp) and copied
// into a zero-bordered copy that spans every position a window reads, so no tap needs a bounds
// check. Each output position then sums its taps in registers (one full-width FMA per tap over
// the block's channels) and is stored once; the block of outputs is transposed back to NCHW.
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
// for all of them, the sums in registers over every tap. Width is the kernel width when it is a
// compile-time constant (3, MobileNet's), else 0 and read from g.
constexpr int64_t kUnroll = 4;

template <int64_t Width, class T>
void forward_row(const T* window_row, const T* taps, const T* bias_lanes, const WindowGeometry& g,
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

template <class Tile, class T>
void depthwise_forward_block_body(const T* x, const T* w, const T* bias, const WindowGeometry& g, int64_t channels,
                                  T* y) {
    constexpr int64_t L = kLanes<T>;
    const int64_t in_size = g.in_size(), out_size = g.out_size(), kernel_size = g.kernel_size();
    if (out_size == 0) return;
    // The padded input: per axis the span from the first window's first tap to the last
    // window's last tap; input position i sits at i + pad_begin.
    int64_t extent[3];
    for (int d = 0; d < 3; ++d) extent[d] = (g.out[d] - 1) * g.stride[d] + (g.kernel[d] - 1) * g.dilation[d] + 1;
    const int64_t padded_size = extent[0] * extent[1] * extent[2];
    std::vector<T>& buffer = depthwise_scratch<T>(0);
    std::vector<T>& padded_buffer = depthwise_scratch<T>(1);
    buffer.resize(static_cast<size_t>((std::max(in_size, out_size) + kernel_size + 1) * L));
    padded_buffer.resize(static_cast<size_t>(padded_size * L));
    T* blocked = buffer.data();  // x blocked, then y blocked
    T* taps = blocked + std::max(in_size, out_size) * L;
    T* bias_lanes = taps + kernel_size * L;
    T* padded = padded_buffer.data();
    to_blocked<Tile>(x, channels, in_size, in_size, blocked);
    taps_blocked(w, channels, kernel_size, taps);
    std::fill(bias_lanes, bias_lanes + L, T(0));
    if (bias != nullptr) std::copy(bias, bias + channels, bias_lanes);
    // Each padded row: the input row's blocked positions, zeros on both sides (all zeros for
    // rows that no input row reaches); the interior is written once, not zeroed first.
    const int64_t w_begin = std::max<int64_t>(0, -g.pad_begin[2]);
    const int64_t w_end = std::max(w_begin, std::min(g.in[2], extent[2] - g.pad_begin[2]));
    const int64_t left = w_begin + g.pad_begin[2], right = w_end + g.pad_begin[2];  // interior [left, right)
    for (int64_t pd = 0; pd < extent[0]; ++pd) {
        const int64_t id = pd - g.pad_begin[0];
        for (int64_t ph = 0; ph < extent[1]; ++ph) {
            const int64_t ih = ph - g.pad_begin[1];
            T* row = padded + (pd * extent[1] + ph) * extent[2] * L;
            if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || left >= right) {
                std::fill(row, row + extent[2] * L, T(0));
                continue;
            }
            std::fill(row, row + left * L, T(0));
            const T* src = blocked + ((id * g.in[1] + ih) * g.in[2] + w_begin) * L;
            std::copy(src, src + (right - left) * L, row + left * L);
            std::fill(row + right * L, row + extent[2] * L, T(0));
        }
    }
    // Steps between taps along each axis, in blocked elements.
    const int64_t tap_step[3] = {g.dilation[0] * extent[1] * extent[2] * L, g.dilation[1] * extent[2] * L,
                                 g.dilation[2] * L};
    T* y_blocked = blocked;
    for (int64_t od = 0; od < g.out[0]; ++od) {
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
            const T* window_row = padded + ((od * g.stride[0] * extent[1] + oh * g.stride[1]) * extent[2]) * L;
            T* y_row = y_blocked + (od * g.out[1] + oh) * g.out[2] * L;
            if (g.kernel[2] == 3) {
                forward_row<3>(window_row, taps, bias_lanes, g, tap_step, y_row);
            } else {
                forward_row<0>(window_row, taps, bias_lanes, g, tap_step, y_row);
            }
        }
    }
    from_blocked<Tile>(y_blocked, channels, out_size, out_size, y);
}

}  // namespace
}  // namespace mln::kernels
