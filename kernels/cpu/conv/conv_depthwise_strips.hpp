// The bodies of the channel-blocked depthwise kernels (conv_depthwise.hpp: forward,
// conv_depthwise_backward.hpp: backward data and filter), compiled once per ISA file
// (conv_depthwise_{forward,backward}{,_avx2,_avx512}.cpp); internal linkage keeps the copies apart.
//
// Each pass is a window sum over a zero-bordered copy of its source in the blocked layout
// (conv_depthwise_blocked.hpp), so no tap needs a bounds check and every tap is one full-width
// FMA over the block's channels, whatever the row width:
// - forward: y = taps . windows of x (+ bias);
// - backward data at stride 1: dx = flipped taps . windows of dy (the transposed convolution as
//   a window sum; larger strides add dy into dx's windows instead, depthwise_backward_data_scatter);
// - backward filter: dw[tap] = sum over positions of dy . the tap's element of x's window.
// The copy is made a strip of rows at a time, sized to stay in the L2 cache, straight from NCHW:
// 16 positions of 16 channels are transposed in registers and each position's channels stored
// where it lies in the copy. Outputs go by tiles of 16 positions (across rows: a 7-wide image
// keeps every lane busy), summed in registers, put in a small tile and transposed from there to
// NCHW, so neither side makes a blocked copy of a whole image.
// Border taps multiply a zero: an Inf or NaN weight makes NaN there, where the reference skips
// the tap (forward and backward data).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/conv/conv_depthwise_blocked.hpp"
#include "kernels/cpu/conv/im2col.hpp"

namespace mln::kernels {
namespace {

// Output o reads its taps at padded o * step + k * dilation (per axis); source element i lies at
// padded i + lead, zeros elsewhere. extent: the padded size, every window and every source
// element inside.
struct PaddedWindows {
    int64_t out[3], step[3], kernel[3], dilation[3];
    int64_t src[3], lead[3];
    int64_t extent[3];

    static PaddedWindows forward(const WindowGeometry& g) {
        PaddedWindows p;
        for (int d = 0; d < 3; ++d) {
            p.out[d] = g.out[d];
            p.step[d] = g.stride[d];
            p.src[d] = g.in[d];
            p.lead[d] = g.pad_begin[d];
        }
        return p.finish(g);
    }
    // At stride 1, dx[i] = sum over (o, k) with o - pad + k * dilation = i of w[k] dy[o]: dy[o]
    // at padded o + (kernel - 1) * dilation - pad (>= 0: validation keeps pads inside the
    // window) is read by output i's flipped tap kernel - 1 - k.
    static PaddedWindows backward_data(const WindowGeometry& g) {
        PaddedWindows p;
        for (int d = 0; d < 3; ++d) {
            p.out[d] = g.in[d];
            p.step[d] = 1;
            p.src[d] = g.out[d];
            p.lead[d] = (g.kernel[d] - 1) * g.dilation[d] - g.pad_begin[d];
        }
        return p.finish(g);
    }

    int64_t out_size() const { return out[0] * out[1] * out[2]; }
    int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
    // MobileNet's kernel, whose tap loops the rows unroll: 2-d 3 x 3, undilated along rows (a
    // row's taps kLanes apart, constant address offsets).
    bool is_3x3() const { return kernel[0] == 1 && kernel[1] == 3 && kernel[2] == 3 && dilation[2] == 1; }

private:
    PaddedWindows& finish(const WindowGeometry& g) {
        for (int d = 0; d < 3; ++d) {
            kernel[d] = g.kernel[d];
            dilation[d] = g.dilation[d];
            extent[d] = std::max((out[d] - 1) * step[d] + (kernel[d] - 1) * dilation[d] + 1,
                                 src[d] - 1 + lead[d] + 1);
        }
        return *this;
    }
};

// Output rows per strip: the padded rows a strip reads take about this many bytes, so the copy
// stays in the L2 cache between being written and read. 1-d and 2-d images go by strips; 3-d
// ones (rarely large) in one, all planes.
constexpr int64_t kStripBytes = 96 << 10;

template <class T>
struct Strips {
    bool planar;
    int64_t out_rows;  // per strip
    int64_t max_rows;  // padded rows of the largest strip

    explicit Strips(const PaddedWindows& p) {
        planar = p.extent[0] == 1;
        const int64_t row_bytes = p.extent[2] * kLanes<T> * static_cast<int64_t>(sizeof(T));
        out_rows = planar ? std::clamp<int64_t>(kStripBytes / (p.step[1] * row_bytes), 1, p.out[1]) : p.out[1];
        max_rows = planar ? rows(p, 0, out_rows) : p.extent[1];
    }
    // Padded rows [first_row(oh0), + rows) hold the windows of output rows [oh0, oh1).
    int64_t first_row(const PaddedWindows& p, int64_t oh0) const { return planar ? oh0 * p.step[1] : 0; }
    int64_t rows(const PaddedWindows& p, int64_t oh0, int64_t oh1) const {
        return planar ? (oh1 - 1 - oh0) * p.step[1] + (p.kernel[1] - 1) * p.dilation[1] + 1 : p.extent[1];
    }
};

// How far ahead of a source element fill_strip prefetches, in elements. The copy reads 16
// channel planes side by side, 16 streams the hardware prefetchers did not keep fed from DRAM:
// at batch 32 (one thread, AVX-512 and AVX2) MobileNet-v2's 14 x 14 planes ran 1.3-1.6x faster
// forward and 1.4-2.3x in the filter gradient with this, larger planes within noise (5% at
// most), batch 1 the same. A plane of up to 4 KiB: the same channel of the next block, the
// task a thread runs next; a larger one: 8 KiB on in the same plane.
template <class T>
int64_t strip_prefetch_distance(int64_t channel_stride) {
    constexpr int64_t kAheadBytes = int64_t{8} << 10;
    const int64_t plane_bytes = channel_stride * static_cast<int64_t>(sizeof(T));
    return plane_bytes <= kAheadBytes / 2 ? kLanes<T> * channel_stride : kAheadBytes / static_cast<int64_t>(sizeof(T));
}

// Padded rows [row0, row0 + rows) of every padded plane, blocked, from src (channels x the
// source's positions, channel_stride apart): zeros where no source element lies, lanes past
// `channels` zero.
template <class Tile, class T>
void fill_strip(const T* src, int64_t channels, int64_t channel_stride, const PaddedWindows& p, int64_t row0,
                int64_t rows, T* padded) {
    constexpr int64_t L = kLanes<T>;
    const int64_t row_len = p.extent[2] * L;
    for (int64_t pd = 0; pd < p.extent[0]; ++pd) {
        T* plane = padded + pd * rows * row_len;
        const int64_t i0 = pd - p.lead[0];  // the source plane, its rows [i1_lo, i1_hi) in the strip
        const bool plane_read = i0 >= 0 && i0 < p.src[0];
        const int64_t i1_lo = std::max<int64_t>(0, row0 - p.lead[1]);
        const int64_t i1_hi = std::min(p.src[1], row0 + rows - p.lead[1]);
        if (!plane_read || i1_lo >= i1_hi) {
            std::fill(plane, plane + rows * row_len, T(0));
            continue;
        }
        // Zero only what the source does not cover: rows above and below, each row's borders.
        const int64_t r_lo = i1_lo + p.lead[1] - row0, r_hi = i1_hi + p.lead[1] - row0;
        std::fill(plane, plane + r_lo * row_len, T(0));
        std::fill(plane + r_hi * row_len, plane + rows * row_len, T(0));
        for (int64_t r = r_lo; r < r_hi; ++r) {
            T* row = plane + r * row_len;
            std::fill(row, row + p.lead[2] * L, T(0));
            std::fill(row + (p.lead[2] + p.src[2]) * L, row + row_len, T(0));
        }
        // Source positions (i1, i2) for i1 in [i1_lo, i1_hi) are consecutive in NCHW.
        const T* s = src + (i0 * p.src[1] + i1_lo) * p.src[2];
        const int64_t count = (i1_hi - i1_lo) * p.src[2];
        T* dst_row = plane + (r_lo * p.extent[2] + p.lead[2]) * L;
        int64_t column = 0;
        int64_t q = 0;
        const int64_t ahead = strip_prefetch_distance<T>(channel_stride);
        if (channels == L) {
            for (; q + L <= count; q += L) {
                for (int64_t j = 0; j < L; ++j) prefetch_for_read(s + j * channel_stride + q + ahead);
                T* dst[L];
                for (int64_t u = 0; u < L; ++u) {
                    dst[u] = dst_row + column * L;
                    if (++column == p.src[2]) {
                        column = 0;
                        dst_row += row_len;
                    }
                }
                Tile::transpose_rows(s + q, channel_stride, dst);
            }
        }
        for (; q < count; ++q) {
            T* dst = dst_row + column * L;
            for (int64_t j = 0; j < channels; ++j) dst[j] = s[j * channel_stride + q];
            std::fill(dst + channels, dst + L, T(0));
            if (++column == p.src[2]) {
                column = 0;
                dst_row += row_len;
            }
        }
    }
}

// Calls visit(windows, n, first) for the output positions of rows [oh0, oh1) (every plane's,
// for a 3-d image in one strip) by tiles of up to kLanes: positions [first, first + n) of the
// output (consecutive in NCHW) and where each one's window starts in the strip.
template <class T, class Visit>
void for_tiles(const PaddedWindows& p, const T* padded, int64_t row0, int64_t rows, int64_t oh0, int64_t oh1,
               Visit&& visit) {
    constexpr int64_t L = kLanes<T>;
    const int64_t total = p.out[0] * (oh1 - oh0) * p.out[2];
    const int64_t plane_step = p.step[0] * rows * p.extent[2] * L, row_step = p.step[1] * p.extent[2] * L;
    const int64_t column_step = p.step[2] * L;
    int64_t od = 0, oh = oh0, ow = 0;
    const T* row_start = padded + (oh0 * p.step[1] - row0) * p.extent[2] * L;
    for (int64_t t = 0; t < total; t += L) {
        const int64_t n = std::min(L, total - t);
        const T* windows[L];
        for (int64_t u = 0; u < n; ++u) {
            windows[u] = row_start + ow * column_step;
            if (++ow == p.out[2]) {
                ow = 0;
                row_start += row_step;
                if (++oh == oh1) {
                    oh = oh0;
                    ++od;
                    row_start = padded + od * plane_step + (oh0 * p.step[1] - row0) * p.extent[2] * L;
                }
            }
        }
        visit(static_cast<const T* const*>(windows), n, oh0 * p.out[2] + t);
    }
}

// dst[j * dst_stride + u] = tile[u][j] for positions u < n and channels j < channels.
template <class Tile, class T>
void tile_to_channels(const T* tile, int64_t n, int64_t channels, T* dst, int64_t dst_stride) {
    constexpr int64_t L = kLanes<T>;
    if (n == L && channels == L) return transpose_tile<Tile>(tile, L, dst, dst_stride);
    for (int64_t j = 0; j < channels; ++j) {
        for (int64_t u = 0; u < n; ++u) dst[j * dst_stride + u] = tile[u * L + j];
    }
}

// tile[u][j] = src[j * src_stride + u], zero past n positions and `channels` lanes.
template <class Tile, class T>
void channels_to_tile(const T* src, int64_t src_stride, int64_t n, int64_t channels, T* tile) {
    constexpr int64_t L = kLanes<T>;
    if (n == L && channels == L) return transpose_tile<Tile>(src, src_stride, tile, L);
    std::fill(tile, tile + L * L, T(0));
    for (int64_t j = 0; j < channels; ++j) {
        for (int64_t u = 0; u < n; ++u) tile[u * L + j] = src[j * src_stride + u];
    }
}

// Tap (kd, kh, kw) of a window is tap_step[0] kd + tap_step[1] kh + tap_step[2] kw elements on.
template <class T>
void tap_steps(const PaddedWindows& p, int64_t rows, int64_t tap_step[3]) {
    constexpr int64_t L = kLanes<T>;
    tap_step[0] = p.dilation[0] * rows * p.extent[2] * L;
    tap_step[1] = p.dilation[1] * p.extent[2] * L;
    tap_step[2] = p.dilation[2] * L;
}

// The portable rows: tile[u] = bias + sum over taps of tap . window u (Sums), acc[tap] += dy[u]
// . window u's tap element (FilterSums). Is3x3 fixes the tap loops at 3 x 3 (PaddedWindows::is_3x3).
// An ISA file may pass its own (the Row parameters of the bodies).
struct PortableRows {
    template <bool Is3x3, class T>
    static void sums(const T* const* windows, int64_t n, const T* taps, const T* bias_lanes, const PaddedWindows& p,
                     const int64_t tap_step[3], T* tile) {
        constexpr int64_t L = kLanes<T>;
        const int64_t height = Is3x3 ? 3 : p.kernel[1], width = Is3x3 ? 3 : p.kernel[2];
        for (int64_t u = 0; u < n; ++u) {
            T sum[L];
            for (int64_t j = 0; j < L; ++j) sum[j] = bias_lanes[j];
            const T* tap = taps;
            for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
                for (int64_t kh = 0; kh < height; ++kh) {
                    const T* at = windows[u] + kd * tap_step[0] + kh * tap_step[1];
                    for (int64_t kw = 0; kw < width; ++kw, tap += L, at += tap_step[2]) lanes_multiply_add(sum, tap, at);
                }
            }
            for (int64_t j = 0; j < L; ++j) tile[u * L + j] = sum[j];
        }
    }
    template <bool Is3x3, class T>
    static void filter_sums(const T* const* windows, int64_t n, const T* dy_tile, const PaddedWindows& p,
                            const int64_t tap_step[3], T* acc) {
        constexpr int64_t L = kLanes<T>;
        const int64_t height = Is3x3 ? 3 : p.kernel[1], width = Is3x3 ? 3 : p.kernel[2];
        for (int64_t u = 0; u < n; ++u) {
            T* tap = acc;
            for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
                for (int64_t kh = 0; kh < height; ++kh) {
                    const T* at = windows[u] + kd * tap_step[0] + kh * tap_step[1];
                    for (int64_t kw = 0; kw < width; ++kw, tap += L, at += tap_step[2]) {
                        lanes_multiply_add(tap, dy_tile + u * L, at);
                    }
                }
            }
        }
    }
};

// dst (channels x p.out) = window sums of src (channels x p.src, src_stride apart) with the
// block's filters w (channels x taps; flipped for backward data) + bias (or none).
template <class Tile, class Rows, class T>
void depthwise_window_sums(const T* src, int64_t src_stride, const T* w, bool flipped, const T* bias,
                           const PaddedWindows& p, int64_t channels, T* dst, int64_t dst_stride) {
    constexpr int64_t L = kLanes<T>;
    const int64_t kernel_size = p.kernel_size();
    if (p.out_size() == 0) return;
    const Strips<T> strips(p);
    std::vector<T>& padded_buffer = depthwise_scratch<T>(0);
    std::vector<T>& small_buffer = depthwise_scratch<T>(1);
    padded_buffer.resize(static_cast<size_t>(p.extent[0] * strips.max_rows * p.extent[2] * L));
    small_buffer.resize(static_cast<size_t>((kernel_size + 1 + L) * L));
    T* padded = padded_buffer.data();
    T* taps = small_buffer.data();
    T* bias_lanes = taps + kernel_size * L;
    T* tile = bias_lanes + L;
    taps_blocked(w, channels, kernel_size, flipped, taps);
    std::fill(bias_lanes, bias_lanes + L, T(0));
    if (bias != nullptr) std::copy(bias, bias + channels, bias_lanes);
    for (int64_t oh0 = 0; oh0 < p.out[1]; oh0 += strips.out_rows) {
        const int64_t oh1 = std::min(p.out[1], oh0 + strips.out_rows);
        const int64_t row0 = strips.first_row(p, oh0), rows = strips.rows(p, oh0, oh1);
        fill_strip<Tile>(src, channels, src_stride, p, row0, rows, padded);
        int64_t tap_step[3];
        tap_steps<T>(p, rows, tap_step);
        for_tiles(p, static_cast<const T*>(padded), row0, rows, oh0, oh1,
                  [&](const T* const* windows, int64_t n, int64_t first) {
                      if (p.is_3x3()) {
                          Rows::template sums<true>(windows, n, taps, bias_lanes, p, tap_step, tile);
                      } else {
                          Rows::template sums<false>(windows, n, taps, bias_lanes, p, tap_step, tile);
                      }
                      tile_to_channels<Tile>(tile, n, channels, dst + first, dst_stride);
                  });
    }
}

template <class Tile, class Rows, class T>
void depthwise_forward_block_body(const T* x, const T* w, const T* bias, const WindowGeometry& g, int64_t channels,
                                  T* y) {
    depthwise_window_sums<Tile, Rows>(x, g.in_size(), w, false, bias, PaddedWindows::forward(g), channels, y,
                                      g.out_size());
}

// Backward data at a stride above 1: of a window over dy spread out by the stride, most taps
// would multiply the zeros between its elements (3 of 4 at 3x3 stride 2), and the taps that do
// not change from one position to the next, a mispredicted loop per position; measured 1.5x
// slower than adding each dy element into its window of dx (AVX-512, one thread, MobileNet-v2's
// stride-2 layers), which this does, on whole images in the blocked layout.
template <class Tile, class T>
void depthwise_backward_data_scatter(const T* dy, const T* w, const WindowGeometry& g, int64_t channels, T* dx) {
    constexpr int64_t L = kLanes<T>;
    const int64_t in_size = g.in_size(), out_size = g.out_size(), kernel_size = g.kernel_size();
    const int64_t out_tiles = (out_size + L - 1) / L;  // channels_to_tile writes whole tiles
    std::vector<T>& dy_buffer = depthwise_scratch<T>(0);
    std::vector<T>& dx_buffer = depthwise_scratch<T>(1);
    dy_buffer.resize(static_cast<size_t>((out_tiles * L + kernel_size) * L));
    dx_buffer.resize(static_cast<size_t>(in_size * L));
    T* dy_blocked = dy_buffer.data();
    T* taps = dy_blocked + out_tiles * L * L;
    T* dx_blocked = dx_buffer.data();
    for (int64_t q = 0; q < out_size; q += L) {
        channels_to_tile<Tile>(dy + q, out_size, std::min(L, out_size - q), channels, dy_blocked + q * L);
    }
    taps_blocked(w, channels, kernel_size, false, taps);
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
    for (int64_t q = 0; q < in_size; q += L) {
        tile_to_channels<Tile>(dx_blocked + q * L, std::min(L, in_size - q), channels, dx + q, in_size);
    }
}

template <class Tile, class Rows, class T>
void depthwise_backward_data_body(const T* dy, const T* w, const WindowGeometry& g, int64_t channels, T* dx) {
    if (g.stride[0] * g.stride[1] * g.stride[2] > 1) return depthwise_backward_data_scatter<Tile>(dy, w, g, channels, dx);
    depthwise_window_sums<Tile, Rows>(dy, g.out_size(), w, true, static_cast<const T*>(nullptr),
                                      PaddedWindows::backward_data(g), channels, dx, g.in_size());
}

template <class Tile, class Rows, class T>
void depthwise_backward_filter_body(const T* x, const T* dy, const WindowGeometry& g, int64_t channels,
                                    int64_t images, int64_t x_image_stride, int64_t dy_image_stride, T* dw) {
    constexpr int64_t L = kLanes<T>;
    const PaddedWindows p = PaddedWindows::forward(g);
    const int64_t kernel_size = p.kernel_size(), out_size = p.out_size();
    if (out_size == 0) {
        std::fill(dw, dw + channels * kernel_size, T(0));
        return;
    }
    const Strips<T> strips(p);
    std::vector<T>& padded_buffer = depthwise_scratch<T>(0);
    std::vector<T>& small_buffer = depthwise_scratch<T>(1);
    padded_buffer.resize(static_cast<size_t>(p.extent[0] * strips.max_rows * p.extent[2] * L));
    small_buffer.resize(static_cast<size_t>((kernel_size + L) * L));
    T* padded = padded_buffer.data();
    T* acc = small_buffer.data();
    T* dy_tile = acc + kernel_size * L;
    std::fill(acc, acc + kernel_size * L, T(0));
    for (int64_t n = 0; n < images; ++n) {
        const T* x_image = x + n * x_image_stride;
        const T* dy_image = dy + n * dy_image_stride;
        for (int64_t oh0 = 0; oh0 < p.out[1]; oh0 += strips.out_rows) {
            const int64_t oh1 = std::min(p.out[1], oh0 + strips.out_rows);
            const int64_t row0 = strips.first_row(p, oh0), rows = strips.rows(p, oh0, oh1);
            fill_strip<Tile>(x_image, channels, g.in_size(), p, row0, rows, padded);
            int64_t tap_step[3];
            tap_steps<T>(p, rows, tap_step);
            for_tiles(p, static_cast<const T*>(padded), row0, rows, oh0, oh1,
                      [&](const T* const* windows, int64_t count, int64_t first) {
                          channels_to_tile<Tile>(dy_image + first, out_size, count, channels, dy_tile);
                          if (p.is_3x3()) {
                              Rows::template filter_sums<true>(windows, count, dy_tile, p, tap_step, acc);
                          } else {
                              Rows::template filter_sums<false>(windows, count, dy_tile, p, tap_step, acc);
                          }
                      });
        }
    }
    for (int64_t j = 0; j < channels; ++j) {
        for (int64_t k = 0; k < kernel_size; ++k) dw[j * kernel_size + k] = acc[k * L + j];
    }
}

}  // namespace
}  // namespace mln::kernels
