// The bodies of the direct depthwise backward kernels (conv_depthwise_backward.hpp), compiled
// once per ISA file (conv_depthwise_backward{,_avx2,_avx512}.cpp). Internal linkage keeps the
// differently compiled copies apart.
//
// A block of channels is transposed into position-major scratch (conv_depthwise_blocked.hpp),
// the taps run there as loops over the kDepthwiseBlock lanes that the compiler turns into whole
// vectors, and the result is transposed back.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/conv/conv_depthwise_backward.hpp"
#include "kernels/cpu/conv/conv_depthwise_blocked.hpp"
#include "kernels/cpu/conv/im2col.hpp"

namespace mln::kernels {
namespace {

template <class Tile, class T>
void depthwise_backward_data_body(const T* dy, const T* w, const WindowGeometry& g, int64_t channels, T* dx) {
    constexpr int64_t L = kLanes<T>;
    const int64_t in_size = g.in_size(), out_size = g.out_size(), kernel_size = g.kernel_size();
    std::vector<T>& dy_buffer = depthwise_scratch<T>(0);
    std::vector<T>& dx_buffer = depthwise_scratch<T>(1);
    dy_buffer.resize(static_cast<size_t>((out_size + kernel_size) * L));
    dx_buffer.resize(static_cast<size_t>(in_size * L));
    T* dy_blocked = dy_buffer.data();
    T* taps = dy_blocked + out_size * L;
    T* dx_blocked = dx_buffer.data();
    to_blocked<Tile>(dy, channels, out_size, out_size, dy_blocked);
    taps_blocked(w, channels, kernel_size, taps);
    std::fill(dx_blocked, dx_blocked + in_size * L, T(0));
    for (int64_t od = 0; od < g.out[0]; ++od) {
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
            const T* dy_row = dy_blocked + (od * g.out[1] + oh) * g.out[2] * L;
            for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
                    if (ih < 0 || ih >= g.in[1]) continue;
                    T* dx_row = dx_blocked + (id * g.in[1] + ih) * g.in[2] * L;
                    for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                        const int64_t offset = kw * g.dilation[2] - g.pad_begin[2];
                        int64_t lo, hi;
                        valid_output_range(offset, g.stride[2], g.in[2], g.out[2], &lo, &hi);
                        const T* tap = taps + ((kd * g.kernel[1] + kh) * g.kernel[2] + kw) * L;
                        for (int64_t ow = lo; ow < hi; ++ow) {
                            lanes_multiply_add(dx_row + (ow * g.stride[2] + offset) * L, tap, dy_row + ow * L);
                        }
                    }
                }
            }
        }
    }
    from_blocked<Tile>(dx_blocked, channels, in_size, in_size, dx);
}

template <class Tile, class T>
void depthwise_backward_filter_body(const T* x, const T* dy, const WindowGeometry& g, int64_t channels,
                                    int64_t images, int64_t x_image_stride, int64_t dy_image_stride, T* dw) {
    constexpr int64_t L = kLanes<T>;
    const int64_t in_size = g.in_size(), out_size = g.out_size(), kernel_size = g.kernel_size();
    std::vector<T>& x_buffer = depthwise_scratch<T>(0);
    std::vector<T>& dy_buffer = depthwise_scratch<T>(1);
    x_buffer.resize(static_cast<size_t>((in_size + kernel_size) * L));
    dy_buffer.resize(static_cast<size_t>(out_size * L));
    T* x_blocked = x_buffer.data();
    T* dw_blocked = x_blocked + in_size * L;
    T* dy_blocked = dy_buffer.data();
    std::fill(dw_blocked, dw_blocked + kernel_size * L, T(0));
    for (int64_t n = 0; n < images; ++n) {
        to_blocked<Tile>(x + n * x_image_stride, channels, in_size, in_size, x_blocked);
        to_blocked<Tile>(dy + n * dy_image_stride, channels, out_size, out_size, dy_blocked);
        for (int64_t od = 0; od < g.out[0]; ++od) {
            for (int64_t oh = 0; oh < g.out[1]; ++oh) {
                const T* dy_row = dy_blocked + (od * g.out[1] + oh) * g.out[2] * L;
                for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                    const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
                    if (id < 0 || id >= g.in[0]) continue;
                    for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                        const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
                        if (ih < 0 || ih >= g.in[1]) continue;
                        const T* x_row = x_blocked + (id * g.in[1] + ih) * g.in[2] * L;
                        for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                            const int64_t offset = kw * g.dilation[2] - g.pad_begin[2];
                            int64_t lo, hi;
                            valid_output_range(offset, g.stride[2], g.in[2], g.out[2], &lo, &hi);
                            // The tap's lanes stay in registers over the row, in four
                            // independent sums so that the FMA latency does not bound the loop.
                            T* tap = dw_blocked + ((kd * g.kernel[1] + kh) * g.kernel[2] + kw) * L;
                            T sum[4][L] = {};
                            const int64_t step = g.stride[2] * L;
                            const T* x_at = x_row + (lo * g.stride[2] + offset) * L;
                            const T* dy_at = dy_row + lo * L;
                            int64_t ow = lo;
                            for (; ow + 4 <= hi; ow += 4, x_at += 4 * step, dy_at += 4 * L) {
                                for (int u = 0; u < 4; ++u) lanes_multiply_add(sum[u], dy_at + u * L, x_at + u * step);
                            }
                            for (; ow < hi; ++ow, x_at += step, dy_at += L) lanes_multiply_add(sum[0], dy_at, x_at);
                            for (int64_t j = 0; j < L; ++j) tap[j] += (sum[0][j] + sum[1][j]) + (sum[2][j] + sum[3][j]);
                        }
                    }
                }
            }
        }
    }
    for (int64_t j = 0; j < channels; ++j) {
        for (int64_t k = 0; k < kernel_size; ++k) dw[j * kernel_size + k] = dw_blocked[k * L + j];
    }
}

}  // namespace
}  // namespace mln::kernels
