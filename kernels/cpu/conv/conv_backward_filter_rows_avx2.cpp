// AVX2 kernels of the backward filter's dot mode (conv_backward_filter_rows.hpp): MobileNet-v2's
// stem, its column rows read from x's rows split into even and odd columns (dot_reads_x_rows).
// Besides intrinsics only headers of internal linkage or declarations are included (AVX2 flags:
// no inline function compiled here may be the copy the linker keeps).
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_backward_filter_rows.hpp"

namespace mln::kernels {
namespace {

using Lanes = Avx2Lanes;
constexpr int kLanes = static_cast<int>(Lanes::width);
// Dy rows a register tile: 4 x 3 sums, the 3 column vectors and a dy vector fill the 16 ymm
// registers; a call's 8 rows are two passes over the column rows (in L1).
constexpr int kTileRows = 4;

// One step of 8 positions of a pass: rows i0..i0 + 3 of dy against the 3 column rows. Masked
// (the row's last, partial step): lanes past the width read 0 from dy and the columns alike
// (0 * Inf in a lane past the row would be NaN).
template <bool kMasked>
MLN_ALWAYS_INLINE void dot_step(__m256 (&acc)[kTileRows][kDotCols], const float* a, int64_t a_row_stride,
                                const float* b0, const float* b1, const float* b2, __m256i mask) {
    __m256 x0, x1, x2;
    if constexpr (kMasked) {
        x0 = _mm256_maskload_ps(b0, mask);
        x1 = _mm256_maskload_ps(b1, mask);
        x2 = _mm256_maskload_ps(b2, mask);
    } else {
        x0 = _mm256_loadu_ps(b0);
        x1 = _mm256_loadu_ps(b1);
        x2 = _mm256_loadu_ps(b2);
    }
    MLN_UNROLL(4)
    for (int i = 0; i < kTileRows; ++i) {
        const __m256 y = kMasked ? _mm256_maskload_ps(a + i * a_row_stride, mask) : _mm256_loadu_ps(a + i * a_row_stride);
        acc[i][0] = _mm256_fmadd_ps(y, x0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(y, x1, acc[i][1]);
        acc[i][2] = _mm256_fmadd_ps(y, x2, acc[i][2]);
    }
}

// kPrefetch: a line of each prefetch stream per step, as the AVX-512 kernel, so that the next
// block's misses stay in flight while the tile computes.
template <bool kPrefetch>
void dot_kernel(int64_t rows, int64_t width, const float* a, int64_t a_row_stride, const float* const* b,
                int64_t b_pitch, float* sums, bool first, PrefetchRows* prefetch) {
    PrefetchRows stream0{}, stream1{};
    int64_t left0 = 0, left1 = 0;
    if constexpr (kPrefetch) {
        stream0 = prefetch[0];
        stream1 = prefetch[1];
        left0 = stream0.per_call;
        left1 = stream1.per_call;
    }
    const int64_t full = width - width % kLanes;
    const __m256i tail = Lanes::first(width - full);
    for (int i0 = 0; i0 < kDotRows; i0 += kTileRows) {
        __m256 acc[kTileRows][kDotCols];
        MLN_UNROLL(4)
        for (int i = 0; i < kTileRows; ++i) {
            MLN_UNROLL(3)
            for (int j = 0; j < kDotCols; ++j) {
                acc[i][j] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(sums + ((i0 + i) * kDotCols + j) * kLanes);
            }
        }
        const float* a_rows = a + i0 * a_row_stride;
        for (int64_t r = 0; r < rows; ++r) {
            const float* b0 = b[0] + r * b_pitch;
            const float* b1 = b[1] + r * b_pitch;
            const float* b2 = b[2] + r * b_pitch;
            for (int64_t q = 0; q < full; q += kLanes) {
                dot_step<false>(acc, a_rows + q, a_row_stride, b0 + q, b1 + q, b2 + q, tail);
                if constexpr (kPrefetch) {
                    prefetch_next_line(stream0, left0);
                    prefetch_next_line(stream1, left1);
                }
            }
            if (full < width) dot_step<true>(acc, a_rows + full, a_row_stride, b0 + full, b1 + full, b2 + full, tail);
            a_rows += width;
        }
        MLN_UNROLL(4)
        for (int i = 0; i < kTileRows; ++i) {
            MLN_UNROLL(3)
            for (int j = 0; j < kDotCols; ++j) _mm256_storeu_ps(sums + ((i0 + i) * kDotCols + j) * kLanes, acc[i][j]);
        }
    }
    if constexpr (kPrefetch) {
        // Whatever the steps did not reach (a call of fewer steps than its share).
        while (left0 > 0 && stream0.rows > 0) prefetch_next_line(stream0, left0);
        while (left1 > 0 && stream1.rows > 0) prefetch_next_line(stream1, left1);
        prefetch[0] = stream0;
        prefetch[1] = stream1;
    }
}

// Row r of x's rows split: its odd columns at split + r * split_pitch, its even ones split_even
// after, lanes from `width` on 0 (the element before the odd ones is the caller's zero margin).
void split_x_rows(int64_t rows, int64_t width, const DotXRows& x, float* split) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = x.row + r * x.pitch;
        float* odd = split + r * x.split_pitch;
        float* even = odd + x.split_even;
        for (int64_t q = 0; q < width; q += kLanes) {
            __m256 e, o;
            Lanes::load_even_odd(row + 2 * q, x.width - 2 * q, &e, &o);
            const __m256i inside = Lanes::first(width - q);
            _mm256_storeu_ps(odd + q, Lanes::keep(o, inside));
            _mm256_storeu_ps(even + q, Lanes::keep(e, inside));
        }
    }
}

}  // namespace

void backward_filter_dot_avx2(int64_t rows, int64_t width, const float* a, int64_t a_row_stride,
                              const float* const* b, int64_t b_pitch, float* sums, bool first,
                              PrefetchRows* prefetch) {
    (prefetch != nullptr ? dot_kernel<true> : dot_kernel<false>)(rows, width, a, a_row_stride, b, b_pitch, sums,
                                                                 first, prefetch);
}

// The rows split once into the split buffer (always given: BackwardFilterDot::row_splits_first),
// then both passes of dy rows read them as the dot kernel's column rows: in registers the split
// and the shift of column 0 need more than the 16 ymm registers beside the 12 sums.
void backward_filter_dot_row_avx2(int64_t rows, int64_t width, const float* a, int64_t a_row_stride,
                                  const DotXRows& x, float* sums, bool first, PrefetchRows* prefetch) {
    float* const split = x.split;
    split_x_rows(rows, width, x, split);
    const float* const b[kDotCols] = {split - 1, split + x.split_even, split};
    backward_filter_dot_avx2(rows, width, a, a_row_stride, b, x.split_pitch, sums, first, prefetch);
}

void backward_filter_dot_totals_avx2(const float* sums, int64_t count, float* totals) {
    // Eight vectors at a time, transposed as they are added: pairs of lanes 4, 2, then 1 apart, so
    // every total is the same tree of adds.
    for_each_lane_group<kLanes>(sums, count, [&](const float* group, int64_t k0, int64_t n) {
        // Level 1: vectors 2k and 2k + 1 as [2k's lanes l + (l + 4) | 2k + 1's], l < 4.
        __m256 half[4];
        MLN_UNROLL(4)
        for (int k = 0; k < 4; ++k) {
            const __m256 v0 = _mm256_loadu_ps(group + (2 * k) * kLanes);
            const __m256 v1 = _mm256_loadu_ps(group + (2 * k + 1) * kLanes);
            half[k] = _mm256_add_ps(_mm256_permute2f128_ps(v0, v1, 0x20), _mm256_permute2f128_ps(v0, v1, 0x31));
        }
        // Level 2: half h of quarter[k] holds vector 4k + 2h's lanes l + (l + 2) then 4k + 2h + 1's, l < 2.
        __m256 quarter[2];
        MLN_UNROLL(2)
        for (int k = 0; k < 2; ++k) {
            quarter[k] = _mm256_add_ps(_mm256_shuffle_ps(half[2 * k], half[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                                       _mm256_shuffle_ps(half[2 * k], half[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
        }
        // Level 3: lane 4h + s holds vector 2s + h's total; put vector i's total in lane i.
        const __m256 mixed = _mm256_add_ps(_mm256_shuffle_ps(quarter[0], quarter[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                           _mm256_shuffle_ps(quarter[0], quarter[1], _MM_SHUFFLE(3, 1, 3, 1)));
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        _mm256_maskstore_ps(totals + k0, Lanes::first(n), _mm256_permutevar8x32_ps(mixed, order));
    });
}

}  // namespace mln::kernels
