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
#include <type_traits>

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

struct Plane {
    int64_t in_rows, in_width, out_rows, out_width, pad_top, pad_left;
    int64_t inside_begin, inside_end;  // the outputs of a row whose three column taps lie inside
};

template <int64_t Stride>
Plane plane_of(const WindowGeometry& g) {
    Plane p{g.in[1], g.in[2], g.out[1], g.out[2], g.pad_begin[1], g.pad_begin[2], 0, 0};
    // Output ow reads source columns ow * Stride - pad + (0, 1, 2).
    p.inside_begin = std::min(p.out_width, (p.pad_left + Stride - 1) / Stride);
    const int64_t last_inside = p.in_width - 3 + p.pad_left;
    p.inside_end =
        last_inside < 0 ? p.inside_begin : std::clamp(last_inside / Stride + 1, p.inside_begin, p.out_width);
    return p;
}

// The output at a row's border: bias + its taps inside the source, rows KhBegin to KhEnd - 1
// (row KhBegin at x_row, channel-minor, row_floats apart) and columns iw + kw inside in_width.
template <int64_t KhBegin, int64_t KhEnd>
MLN_ALWAYS_INLINE __m256 border_sum(const float* x_row, int64_t row_floats, int64_t iw, int64_t in_width,
                                    const __m256* w, __m256 bias) {
    __m256 sum = bias;
    MLN_UNROLL(3)
    for (int64_t kh = KhBegin; kh < KhEnd; ++kh) {
        const float* row = x_row + (kh - KhBegin) * row_floats;
        MLN_UNROLL(3)
        for (int64_t kw = 0; kw < 3; ++kw) {
            if (iw + kw < 0 || iw + kw >= in_width) continue;
            sum = _mm256_fmadd_ps(_mm256_load_ps(row + (iw + kw) * kLanes), w[kh * 3 + kw], sum);
        }
    }
    return sum;
}

// Count consecutive outputs whose taps all lie inside (rows as border_sum, the first output's
// source columns from iw on) into y, summed in border_sum's order; each source column loaded
// once for the outputs that share it.
template <int64_t Stride, int64_t Count, int64_t KhBegin, int64_t KhEnd>
MLN_ALWAYS_INLINE void inside_sums(const float* x_row, int64_t row_floats, int64_t iw, const __m256* w, __m256 bias,
                                   float* y) {
    constexpr int64_t kColumns = (Count - 1) * Stride + 3;
    __m256 sum[Count];
    MLN_UNROLL(4)
    for (int64_t i = 0; i < Count; ++i) sum[i] = bias;
    MLN_UNROLL(3)
    for (int64_t kh = KhBegin; kh < KhEnd; ++kh) {
        const float* row = x_row + (kh - KhBegin) * row_floats + iw * kLanes;
        MLN_UNROLL(12)
        for (int64_t column = 0; column < kColumns; ++column) {
            const __m256 source = _mm256_load_ps(row + column * kLanes);
            MLN_UNROLL(4)
            for (int64_t i = 0; i < Count; ++i) {
                const int64_t kw = column - i * Stride;
                if (kw >= 0 && kw < 3) sum[i] = _mm256_fmadd_ps(source, w[kh * 3 + kw], sum[i]);
            }
        }
    }
    MLN_UNROLL(4)
    for (int64_t i = 0; i < Count; ++i) _mm256_store_ps(y + i * kLanes, sum[i]);
}

// Outputs of a row summed at a time inside the borders (stride 1 shares 2 of a column's 3 taps
// between neighbours, stride 2 only 1).
template <int64_t Stride>
constexpr int64_t kInsideOutputs = Stride == 1 ? 4 : 2;

// One output row (y_row, channel-minor) whose source rows KhBegin to KhEnd - 1 lie inside.
template <int64_t Stride, int64_t KhBegin, int64_t KhEnd>
MLN_ALWAYS_INLINE void output_row(const float* x_row, const Plane& p, const __m256* w, __m256 bias, float* y_row) {
    constexpr int64_t kCount = kInsideOutputs<Stride>;
    const int64_t row_floats = p.in_width * kLanes;
    const auto edge = [&](int64_t ow) {
        _mm256_store_ps(y_row + ow * kLanes,
                        border_sum<KhBegin, KhEnd>(x_row, row_floats, ow * Stride - p.pad_left, p.in_width, w, bias));
    };
    for (int64_t ow = 0; ow < p.inside_begin; ++ow) edge(ow);
    int64_t ow = p.inside_begin;
    for (; ow + kCount <= p.inside_end; ow += kCount) {
        inside_sums<Stride, kCount, KhBegin, KhEnd>(x_row, row_floats, ow * Stride - p.pad_left, w, bias,
                                                    y_row + ow * kLanes);
    }
    for (; ow < p.inside_end; ++ow) {
        inside_sums<Stride, 1, KhBegin, KhEnd>(x_row, row_floats, ow * Stride - p.pad_left, w, bias,
                                               y_row + ow * kLanes);
    }
    for (ow = p.inside_end; ow < p.out_width; ++ow) edge(ow);
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
void plane_sums(const float* x, const Plane& p, const __m256* w, __m256 bias, const NextPlanes& next_x,
                const NextPlanes& next_y, float* y) {
    using K0 = std::integral_constant<int64_t, 0>;
    using K1 = std::integral_constant<int64_t, 1>;
    using K2 = std::integral_constant<int64_t, 2>;
    using K3 = std::integral_constant<int64_t, 3>;
    for (int64_t oh = 0; oh < p.out_rows; ++oh) {
        next_x.prefetch_row(oh);
        next_y.prefetch_row(oh);
        const int64_t top = oh * Stride - p.pad_top;
        const int64_t kh_begin = std::max<int64_t>(0, -top);
        const int64_t kh_end = std::min<int64_t>(3, p.in_rows - top);
        const float* x_row = x + (top + kh_begin) * p.in_width * kLanes;
        float* y_row = y + oh * p.out_width * kLanes;
        auto row = [&](auto kh_begin_c, auto kh_end_c) MLN_LAMBDA_ALWAYS_INLINE {
            output_row<Stride, decltype(kh_begin_c)::value, decltype(kh_end_c)::value>(x_row, p, w, bias, y_row);
        };
        switch (kh_begin * 4 + kh_end) {
            case 0 * 4 + 3: row(K0{}, K3{}); break;
            case 1 * 4 + 3: row(K1{}, K3{}); break;
            case 0 * 4 + 2: row(K0{}, K2{}); break;
            case 1 * 4 + 2: row(K1{}, K2{}); break;
            case 0 * 4 + 1: row(K0{}, K1{}); break;
            case 2 * 4 + 3: row(K2{}, K3{}); break;
            default:  // no source row inside
                for (int64_t ow = 0; ow < p.out_width; ++ow) _mm256_store_ps(y_row + ow * kLanes, bias);
                break;
        }
    }
}

template <int64_t Stride>
void channel_minor_forward(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                           int64_t channels, float* y) {
    const Plane p = plane_of<Stride>(g);
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
