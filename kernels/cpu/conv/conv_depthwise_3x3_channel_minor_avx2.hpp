// Pieces shared by the AVX2 depthwise 3 x 3 kernels (the backward filter's and the forward's on
// small planes): a plane's geometry, the walks over an output row's taps inside the source, and
// copies into channel-minor order (a position a register of eight floats, a channel a lane).
// Included only by files compiled with AVX2 flags; the anonymous namespace gives each file its
// own copy.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"
#include "kernels/cpu/gemm/gemm_transpose_x86.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kChannelMinorLanes = 8;

// The plane's sizes and the outputs of a row whose three column taps all lie inside.
struct Depthwise3x3Plane {
    int64_t in_rows, in_width, out_rows, out_width, row_stride, pad_top, pad_left;
    int64_t inside_begin, inside_end;
};

Depthwise3x3Plane depthwise_3x3_plane(const WindowGeometry& g) {
    Depthwise3x3Plane p{g.in[1], g.in[2], g.out[1], g.out[2], g.stride[1], g.pad_begin[1], g.pad_begin[2], 0, 0};
    const int64_t column_stride = g.stride[2];
    // Output ow reads source columns ow * stride - pad + (0, 1, 2).
    p.inside_begin = std::min(p.out_width, (p.pad_left + column_stride - 1) / column_stride);
    const int64_t last_inside = p.in_width - 3 + p.pad_left;  // ow * stride may reach this
    p.inside_end = last_inside < 0 ? p.inside_begin
                                   : std::clamp(last_inside / column_stride + 1, p.inside_begin, p.out_width);
    return p;
}

// rows(kh_begin, kh_end, top_inside) for output row oh: its taps' rows kh_begin to kh_end - 1
// lie inside the source (std::integral_constant, so the sums over them unroll), the first of
// them source row top_inside. False, rows not called, where none does.
template <class Rows>
MLN_ALWAYS_INLINE bool with_inside_rows(const Depthwise3x3Plane& p, int64_t oh, Rows&& rows) {
    const int64_t top = oh * p.row_stride - p.pad_top;
    const int64_t kh_begin = std::max<int64_t>(0, -top);
    const int64_t kh_end = std::min<int64_t>(3, p.in_rows - top);
    const int64_t top_inside = top + kh_begin;
    using K0 = std::integral_constant<int64_t, 0>;
    using K1 = std::integral_constant<int64_t, 1>;
    using K2 = std::integral_constant<int64_t, 2>;
    using K3 = std::integral_constant<int64_t, 3>;
    switch (kh_begin * 4 + kh_end) {
        case 0 * 4 + 3: rows(K0{}, K3{}, top_inside); return true;
        case 1 * 4 + 3: rows(K1{}, K3{}, top_inside); return true;
        case 0 * 4 + 2: rows(K0{}, K2{}, top_inside); return true;
        case 1 * 4 + 2: rows(K1{}, K2{}, top_inside); return true;
        case 0 * 4 + 1: rows(K0{}, K1{}, top_inside); return true;
        case 2 * 4 + 3: rows(K2{}, K3{}, top_inside); return true;
        default: return false;
    }
}

// Outputs of a row summed at a time inside the borders, at column stride 1 and 2 (backward
// filter, MobileNet-v2, one thread, batch 1, same-process A/B: at stride 1 3 0.92x the time of 2
// on 14- and 28-wide rows, 4 0.95x that of 3; stride 2: 3 within 1% of 2, 4 1.05-1.1x slower).
template <int64_t ColumnStride>
constexpr int64_t kInsideOutputs = ColumnStride == 1 ? 4 : 2;

// An output row of a channel-minor plane: border(ow) for the outputs at its borders, inside(ow,
// count) for runs of `count` (std::integral_constant) outputs whose taps all lie inside.
template <int64_t ColumnStride, class Border, class Inside>
MLN_ALWAYS_INLINE void walk_output_row(const Depthwise3x3Plane& p, Border&& border, Inside&& inside) {
    using Run = std::integral_constant<int64_t, kInsideOutputs<ColumnStride>>;
    for (int64_t ow = 0; ow < p.inside_begin; ++ow) border(ow);
    int64_t ow = p.inside_begin;
    for (; ow + Run::value <= p.inside_end; ow += Run::value) inside(ow, Run{});
    for (; ow < p.inside_end; ++ow) inside(ow, std::integral_constant<int64_t, 1>{});
    for (ow = p.inside_end; ow < p.out_width; ++ow) border(ow);
}

// tap(source, kh * 3 + kw) for an output at a row's border: the source at rows KhBegin to
// KhEnd - 1 (row KhBegin at x_row, channel-minor, row_floats apart) and columns iw + kw inside
// in_width.
template <int64_t KhBegin, int64_t KhEnd, class Tap>
MLN_ALWAYS_INLINE void for_border_taps(const float* x_row, int64_t row_floats, int64_t iw, int64_t in_width,
                                       Tap&& tap) {
    MLN_UNROLL(3)
    for (int64_t kh = KhBegin; kh < KhEnd; ++kh) {
        const float* row = x_row + (kh - KhBegin) * row_floats;
        MLN_UNROLL(3)
        for (int64_t kw = 0; kw < 3; ++kw) {
            if (iw + kw < 0 || iw + kw >= in_width) continue;
            tap(_mm256_loadu_ps(row + (iw + kw) * kChannelMinorLanes), kh * 3 + kw);
        }
    }
}

// tap(source, i, kh * 3 + kw) for Count consecutive outputs i whose taps all lie inside (rows as
// for_border_taps, output 0's source columns from iw on): each source column loaded once for
// the outputs that share it.
template <int64_t ColumnStride, int64_t Count, int64_t KhBegin, int64_t KhEnd, class Tap>
MLN_ALWAYS_INLINE void for_inside_taps(const float* x_row, int64_t row_floats, int64_t iw, Tap&& tap) {
    constexpr int64_t kColumns = (Count - 1) * ColumnStride + 3;
    MLN_UNROLL(3)
    for (int64_t kh = KhBegin; kh < KhEnd; ++kh) {
        const float* row = x_row + (kh - KhBegin) * row_floats + iw * kChannelMinorLanes;
        MLN_UNROLL(12)
        for (int64_t column = 0; column < kColumns; ++column) {
            const __m256 source = _mm256_loadu_ps(row + column * kChannelMinorLanes);
            MLN_UNROLL(4)
            for (int64_t i = 0; i < Count; ++i) {
                const int64_t kw = column - i * ColumnStride;
                if (kw >= 0 && kw < 3) tap(source, i, kh * 3 + kw);
            }
        }
    }
}

// target[q * 8 + c] = source[c * channel_stride + q] for q < count and c < channels (<= 8); lanes
// of channels past `channels` zero.
void copy_channel_minor(const float* source, int64_t channel_stride, int64_t channels, int64_t count, float* target) {
    if (channels == kChannelMinorLanes && count >= kChannelMinorLanes) {
        for (int64_t q = 0; q < count; q += kChannelMinorLanes) {
            const int64_t first = std::min(q, count - kChannelMinorLanes);  // the last block overlaps the one before
            transpose8x8_copy(source + first, channel_stride, target + first * kChannelMinorLanes, kChannelMinorLanes);
        }
        return;
    }
    for (int64_t q = 0; q < count; ++q) {
        for (int64_t c = 0; c < kChannelMinorLanes; ++c) {
            target[q * kChannelMinorLanes + c] = c < channels ? source[c * channel_stride + q] : 0.0f;
        }
    }
}

}  // namespace
}  // namespace mln::kernels
