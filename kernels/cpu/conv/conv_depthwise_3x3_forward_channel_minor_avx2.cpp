// Compiled with AVX2 + FMA: the forward of the NCHW 3 x 3 depthwise kernels (conv_depthwise_3x3.hpp)
// on small planes, eight channels at a time in channel-minor order: the group's x planes copied
// to a position a register, a channel a lane (8 x 8 transposes), every tap then one FMA over the
// eight channels per output position (no lanes idle past a row's end, no shuffles for stride 2's
// columns, no masks), the sums transposed back into the y planes. Taps in the padding are left
// out by the loop bounds, never multiplied by a zero, so NaN and Inf weights reach exactly the
// outputs of the reference twin. A channel's sums do not depend on its lane or group: a partial
// last group sums zeros in the idle lanes. Zen 3 against the row-register kernels
// (conv_vs_build, MobileNet-v2, min / median): batch 1 one thread dw960 @ 7 0.66 / 0.66, dw576/2
// @ 14 0.77 / 0.77, dw384 and dw576 @ 14 0.95 / 0.93-0.95; batch 32 two threads 0.66, 0.83-0.87,
// 0.95-1.01.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3_channel_minor_avx2.hpp"
#include "kernels/cpu/gemm/gemm_transpose_x86.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kLanes = 8;
constexpr int64_t kTaps = 9;

// target[c * channel_stride + q] = source[q * 8 + c] for q < count and c < channels.
void copy_from_channel_minor(const float* source, int64_t channels, int64_t count, int64_t channel_stride,
                             float* target) {
    if (channels == kLanes && count >= kLanes) {
        for (int64_t q = 0; q < count; q += kLanes) {
            const int64_t first = std::min(q, count - kLanes);
            transpose8x8_copy(source + first * kLanes, kLanes, target + first, channel_stride);
        }
        return;
    }
    for (int64_t c = 0; c < channels; ++c) {
        for (int64_t q = 0; q < count; ++q) target[c * channel_stride + q] = source[q * kLanes + c];
    }
}

// One output row (y_row, channel-minor) whose source rows KhBegin to KhEnd - 1 lie inside (row
// KhBegin at x_row): bias + the taps inside, each output's sums in for_border_taps' order.
template <int64_t Stride, int64_t KhBegin, int64_t KhEnd>
MLN_ALWAYS_INLINE void output_row(const float* x_row, const Depthwise3x3Plane& p, const __m256* w, __m256 bias,
                                  float* y_row) {
    const int64_t row_floats = p.in_width * kLanes;
    walk_output_row<Stride>(
        p,
        [&](int64_t ow) MLN_LAMBDA_ALWAYS_INLINE {
            __m256 sum = bias;
            for_border_taps<KhBegin, KhEnd>(x_row, row_floats, ow * Stride - p.pad_left, p.in_width,
                                            [&](__m256 source, int64_t tap) MLN_LAMBDA_ALWAYS_INLINE {
                                                sum = _mm256_fmadd_ps(source, w[tap], sum);
                                            });
            _mm256_store_ps(y_row + ow * kLanes, sum);
        },
        [&](int64_t ow, auto count) MLN_LAMBDA_ALWAYS_INLINE {
            constexpr int64_t kCount = decltype(count)::value;
            __m256 sum[kCount];
            MLN_UNROLL(4)
            for (int64_t i = 0; i < kCount; ++i) sum[i] = bias;
            for_inside_taps<Stride, kCount, KhBegin, KhEnd>(
                x_row, row_floats, ow * Stride - p.pad_left,
                [&](__m256 source, int64_t i, int64_t tap) MLN_LAMBDA_ALWAYS_INLINE {
                    sum[i] = _mm256_fmadd_ps(source, w[tap], sum[i]);
                });
            MLN_UNROLL(4)
            for (int64_t i = 0; i < kCount; ++i) _mm256_store_ps(y_row + (ow + i) * kLanes, sum[i]);
        });
}

// The group's output planes (channel-minor) from its source planes (channel-minor).
// The next group's x or y planes (contiguous), prefetched a slice an output row while this
// group's sums run, so that the eight planes' short rows (too many streams for the hardware
// prefetchers) arrive before the transposes read or write them. Batch of 64 images from memory,
// one thread, against the row-register kernels: with neither, dw384 and dw576 @ 14 ran 1.34-1.41x
// their time; x alone 1.37x; x, and this group's y at its start, 1.12x; x and y a group ahead,
// spread: 0.92-0.99x (two groups ahead: 1.3x).
struct NextPlanes {
    const char* at;
    int64_t bytes, slice;

    NextPlanes(const float* planes, int64_t floats, int64_t rows)
        : at(reinterpret_cast<const char*>(planes)),
          bytes(floats * static_cast<int64_t>(sizeof(float))),
          slice((bytes / rows + 63) / 64 * 64) {}

    MLN_ALWAYS_INLINE void prefetch_row(int64_t row) const {
        const int64_t begin = std::min(bytes, row * slice);
        prefetch_lines(at + begin, std::min(bytes - begin, slice));
    }
};

template <int64_t Stride>
void plane_sums(const float* x, const Depthwise3x3Plane& p, const __m256* w, __m256 bias, const NextPlanes& next_x,
                const NextPlanes& next_y, float* y) {
    for (int64_t oh = 0; oh < p.out_rows; ++oh) {
        next_x.prefetch_row(oh);
        next_y.prefetch_row(oh);
        float* y_row = y + oh * p.out_width * kLanes;
        const bool summed = with_inside_rows(p, oh, [&](auto kh_begin, auto kh_end, int64_t top_inside) MLN_LAMBDA_ALWAYS_INLINE {
            output_row<Stride, decltype(kh_begin)::value, decltype(kh_end)::value>(x + top_inside * p.in_width * kLanes,
                                                                                 p, w, bias, y_row);
        });
        if (!summed) {  // no source row inside
            for (int64_t ow = 0; ow < p.out_width; ++ow) _mm256_store_ps(y_row + ow * kLanes, bias);
        }
    }
}

template <int64_t Stride>
void channel_minor_forward(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                           int64_t channels, float* y) {
    const Depthwise3x3Plane p = depthwise_3x3_plane(g);
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    alignas(32) float x_copy[kDepthwise3x3ChannelMinorMaxPositions * kLanes];
    alignas(32) float y_copy[kDepthwise3x3ChannelMinorMaxPositions * kLanes];
    alignas(32) float taps[kTaps][kLanes];
    for (int64_t c0 = 0; c0 < channels; c0 += kLanes) {
        const int64_t group = std::min(kLanes, channels - c0);
        __m256 wv[kTaps];
        for (int64_t t = 0; t < kTaps; ++t) {
            for (int64_t c = 0; c < kLanes; ++c) taps[t][c] = w[(c0 + std::min(c, group - 1)) * kTaps + t];
            wv[t] = _mm256_load_ps(taps[t]);
        }
        alignas(32) float bias_lanes[kLanes];
        for (int64_t c = 0; c < kLanes; ++c) {
            bias_lanes[c] = bias != nullptr ? bias[c0 + std::min(c, group - 1)] : 0.0f;
        }
        copy_channel_minor(x + c0 * in_size, in_size, group, in_size, x_copy);
        const int64_t next_group = std::clamp<int64_t>(channels - c0 - kLanes, 0, kLanes);
        const NextPlanes next_x(x + (c0 + kLanes) * in_size, next_group * in_size, p.out_rows);
        const NextPlanes next_y(y + (c0 + kLanes) * out_size, next_group * out_size, p.out_rows);
        plane_sums<Stride>(x_copy, p, wv, _mm256_load_ps(bias_lanes), next_x, next_y, y_copy);
        copy_from_channel_minor(y_copy, group, out_size, out_size, y + c0 * out_size);
    }
}

}  // namespace

bool depthwise_3x3_channel_minor_forward_fits(const WindowGeometry& g) {
    return g.in_size() <= kDepthwise3x3ChannelMinorMaxPositions &&
           g.out_size() <= kDepthwise3x3ChannelMinorMaxPositions && g.stride[1] == g.stride[2] &&
           (g.stride[1] == 1 || g.stride[1] == 2);
}

void conv_depthwise_3x3_forward_channel_minor_avx2(const float* x, const float* w, const float* bias,
                                                   const WindowGeometry& g, int64_t channels, float* y) {
    if (g.out_size() == 0) return;
    if (g.stride[1] == 1) return channel_minor_forward<1>(x, w, bias, g, channels, y);
    channel_minor_forward<2>(x, w, bias, g, channels, y);
}

}  // namespace mln::kernels
