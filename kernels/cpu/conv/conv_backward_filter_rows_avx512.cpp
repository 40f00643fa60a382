// AVX-512 kernels of the backward filter's direct and dot modes (conv_backward_filter_rows.hpp)
// and their padded phase planes. The direct micro-kernel is the AVX-512 GEMM micro-kernel's loop
// (gemm_microkernels_avx512.cpp: 8 rows x 2 registers of C) inside a loop over output rows.
// Besides intrinsics only headers of internal linkage or declarations are included (AVX-512
// flags: no inline function compiled here may be the copy the linker keeps).
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_backward_filter_rows.hpp"
#include "kernels/cpu/gemm/gemm_transpose_x86.hpp"

namespace mln::kernels {
namespace {

constexpr int kDotLanes = static_cast<int>(Avx512Lanes::width);

// prefetch: each stream's share of the call's lines spread over its output rows, a few lines at
// the start of each, so that the misses of the next block's inputs overlap the multiply-adds
// rather than queue behind one another between calls.
// Lost on ResNet-18's layer2 3x3/2, batch 32, two threads, against this (conv_vs_build, both ways
// round, 2026-12-07): prefetching each C row's second line too 1.01-1.015x; dy's panel 16 steps
// ahead rather than 8 1.00-1.02x; the rows' shares from one division a call rather than two a row
// 1.00-1.01x (loaded machine). In L1 (a loop outside the library) this 8 x 32 step runs at 209 GFLOP/s of 230, and so
// do 12 x 32, 8 x 48 and 6 x 64: a wider tile would save loads, not time.
// kRowsAt: row i of A at a + a_rows_at[i] (any depth rows), else at a + i * a_row_stride. MR rows.
template <bool kRowsAt, int MR = 8>
void rows_kernel(int64_t rows, int64_t length, const float* a, int64_t a_row_stride, const int64_t* a_rows_at,
                 int64_t a_pitch, const float* b, float* c, int64_t ldc, bool first, PrefetchRows* prefetch) {
    using Isa = Avx512F32;
    using Vector = Isa::V;
    constexpr int kLanes = Isa::kLanes;
    constexpr int NR = 2 * kLanes;
    int64_t row_at[MR] = {};
    if constexpr (kRowsAt) {
        MLN_UNROLL(8)
        for (int i = 0; i < MR; ++i) row_at[i] = a_rows_at[i];
    }
    for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    Vector acc[MR][2];
    MLN_UNROLL(16)
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = Isa::zero();
    PrefetchRows stream0 = prefetch[0], stream1 = prefetch[1];
    int64_t left0 = stream0.per_call, left1 = stream1.per_call;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t k = (left0 + rows - r - 1) / (rows - r); k > 0; --k) prefetch_next_line(stream0, left0);
        for (int64_t k = (left1 + rows - r - 1) / (rows - r); k > 0; --k) prefetch_next_line(stream1, left1);
        const float* a_row = a + r * a_pitch;
        for (int64_t q = 0; q < length; ++q) {
            _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR), _MM_HINT_T0);
            const Vector b0 = Isa::load(b);
            const Vector b1 = Isa::load(b + kLanes);
            MLN_UNROLL(16)
            for (int i = 0; i < MR; ++i) {
                const Vector x = Isa::set1(kRowsAt ? a_row[row_at[i] + q] : a_row[i * a_row_stride + q]);
                acc[i][0] = Isa::fmadd(x, b0, acc[i][0]);
                acc[i][1] = Isa::fmadd(x, b1, acc[i][1]);
            }
            b += NR;
        }
    }
    prefetch[0] = stream0;
    prefetch[1] = stream1;
    if (!first) {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            acc[i][0] = Isa::add(Isa::load(c + i * ldc), acc[i][0]);
            acc[i][1] = Isa::add(Isa::load(c + i * ldc + kLanes), acc[i][1]);
        }
    }
    MLN_UNROLL(16)
    for (int i = 0; i < MR; ++i) {
        Isa::store(c + i * ldc, acc[i][0]);
        Isa::store(c + i * ldc + kLanes, acc[i][1]);
    }
}

// Where the kernel's three column rows come from: three plane rows (Planes); two, column 0's
// being column 2's one lane earlier (FirstFromThird: a 3x3 tap row at stride 2, kw 0 and 2 read one
// phase plane one column apart), so its vector is column 2's shifted in by one lane from the
// vector before (valignd) instead of a load that straddles cache lines where column 2's is aligned
// (align_dot_planes; MobileNet-v2's stem, batch 1, one thread, CPU time per call, same-run A/B in
// both load orders on a loaded machine: about 4% faster); or a row of x itself (XRow: columns 1
// and 2 its even and odd elements, column 0 the odd ones a lane later), the split columns also
// stored where the kernel's rows are read again (XRowStored). A copy of the step outside the
// library, its inputs in L1 (Zen 5 VM, 230 GFLOP/s a core of independent FMAs): reading planes
// 170-198 GFLOP/s, splitting x's row in registers 154-179, splitting and storing it 117-141.
enum class DotColumns { Planes, FirstFromThird, XRow, XRowStored };

// kPrefetch: a line of each prefetch stream per step (16 positions of a row) rather than a
// call's share at once between calls, so that misses stay in flight while the tile computes.
// XRow, XRowStored: b[0] is x's row, b_pitch its step between output rows, x.width its length.
// Its step, inputs in L1, in a loop outside the library (GCC 12, constants folded): 218 GFLOP/s of
// 230, as for 4 rows of dy x 6 taps (8 loads and 2 valignd a step of 24 FMAs); the stem's other
// time is its inputs' misses (conv_backward_filter.hpp). Full vectors unmasked took 1.03x the time
// (stem, batch 1, one thread, A/B); unmasked, GCC folds dy's load into each of its three
// multiply-adds (26 loads a step): 1.26x.
template <DotColumns kColumns, bool kPrefetch>
void dot_kernel(int64_t rows, int64_t width, const float* a, int64_t a_row_stride, const float* const* b,
                int64_t b_pitch, const DotXRows& x, float* sums, bool first, PrefetchRows* prefetch) {
    constexpr bool kXRow = kColumns == DotColumns::XRow || kColumns == DotColumns::XRowStored;
    using Lanes = Avx512Lanes;
    __m512 acc[kDotRows][kDotCols];
    MLN_UNROLL(32)
    for (int i = 0; i < kDotRows; ++i) {
        MLN_UNROLL(4)
        for (int j = 0; j < kDotCols; ++j) {
            acc[i][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(sums + (i * kDotCols + j) * kDotLanes);
        }
    }
    const float* b0 = b[0];
    const float* b1 = kXRow ? b[0] : b[1];
    const float* b2 = kXRow ? b[0] : b[2];
    float* split = x.split;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    // Local copies of the streams: through the pointer, every step stored their state back to
    // memory (the compiler cannot tell it apart from sums). MobileNet-v2's stem, one thread, batch
    // 8, same-process A/B in both orders: 0.92-0.94 of the time; batch 32 on two threads 0.96-0.98;
    // ResNet-18's 7x7/2 stem at batch 8 0.98-1.01. Walked by cursors (PrefetchCursor) rather than
    // prefetch_next_line: MobileNet-v2's stem, Zen 5, conv_vs_build against main, loaded machine
    // (min / median, then main's time over this one's the other way round): batch 32 on two threads
    // 0.91-0.93 / 0.92-0.95, 1.06-1.09 / 1.04-1.09; one thread 0.97 / 0.98, 1.04 / 1.05; batch 8 one
    // thread 0.94 / 0.99, 1.09 / 1.06. ResNet-18's 7x7/2 stem at batch 32 on two threads even.
    PrefetchRows stream0{}, stream1{};
    if constexpr (kPrefetch) {
        stream0 = prefetch[0];
        stream1 = prefetch[1];
    }
    PrefetchCursor cursor0(stream0), cursor1(stream1);
    const int64_t share0 = cursor0.left, share1 = cursor1.left;
    for (int64_t r = 0; r < rows; ++r) {
        // Lane 15: the element before the row's first vector of column 0 (b2[-1], or the left
        // padding of x's row).
        __m512 before = _mm512_setzero_ps();
        if constexpr (kColumns == DotColumns::FirstFromThird) {
            before = _mm512_maskz_loadu_ps(__mmask16(0x8000), b2 - kDotLanes);
        }
        for (int64_t q = 0; q < width; q += kDotLanes) {
            const __mmask16 mask = Lanes::first(width - q);
            __m512 x0, x1, x2;
            if constexpr (kXRow) {
                const int64_t left_in_row = x.width - 2 * q;
                const __m512 low = _mm512_maskz_loadu_ps(Lanes::first(left_in_row), b0 + 2 * q);
                const __m512 high =
                    _mm512_maskz_loadu_ps(Lanes::first(left_in_row - kDotLanes), b0 + 2 * q + kDotLanes);
                x1 = _mm512_maskz_permutex2var_ps(mask, low, even, high);
                x2 = _mm512_maskz_permutex2var_ps(mask, low, odd, high);
                if constexpr (kColumns == DotColumns::XRowStored) {
                    _mm512_storeu_ps(split + q, x2);
                    _mm512_storeu_ps(split + x.split_even + q, x1);
                }
            } else {
                x1 = _mm512_maskz_loadu_ps(mask, b1 + q);
                x2 = _mm512_maskz_loadu_ps(mask, b2 + q);
            }
            if constexpr (kColumns == DotColumns::Planes) {
                x0 = _mm512_maskz_loadu_ps(mask, b0 + q);
            } else {
                // Lanes past width zero, as a masked load leaves them (0 * Inf in them would be NaN).
                x0 = _mm512_castsi512_ps(
                    _mm512_maskz_alignr_epi32(mask, _mm512_castps_si512(x2), _mm512_castps_si512(before), 15));
                before = x2;
            }
            MLN_UNROLL(32)
            for (int i = 0; i < kDotRows; ++i) {
                const __m512 y = _mm512_maskz_loadu_ps(mask, a + i * a_row_stride + q);
                acc[i][0] = _mm512_fmadd_ps(y, x0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(y, x1, acc[i][1]);
                acc[i][2] = _mm512_fmadd_ps(y, x2, acc[i][2]);
            }
            if constexpr (kPrefetch) {
                cursor0.step(stream0);
                cursor1.step(stream1);
            }
        }
        a += width;
        b0 += b_pitch;
        b1 += b_pitch;
        b2 += b_pitch;
        if constexpr (kColumns == DotColumns::XRowStored) split += x.split_pitch;
    }
    if constexpr (kPrefetch) {
        // Whatever the steps did not reach (a call of fewer steps than its share).
        cursor0.finish(stream0, share0);
        cursor1.finish(stream1, share1);
        prefetch[0] = stream0;
        prefetch[1] = stream1;
    }
    MLN_UNROLL(32)
    for (int i = 0; i < kDotRows; ++i) {
        MLN_UNROLL(4)
        for (int j = 0; j < kDotCols; ++j) _mm512_storeu_ps(sums + (i * kDotCols + j) * kDotLanes, acc[i][j]);
    }
}

}  // namespace

void backward_filter_dot_avx512(int64_t rows, int64_t width, const float* a, int64_t a_row_stride,
                                const float* const* b, int64_t b_pitch, float* sums, bool first,
                                PrefetchRows* prefetch) {
    constexpr DotColumns kShifted = DotColumns::FirstFromThird, kPlanes = DotColumns::Planes;
    const bool shifted = b[0] + 1 == b[2];
    const auto kernel = prefetch != nullptr ? (shifted ? dot_kernel<kShifted, true> : dot_kernel<kPlanes, true>)
                                            : (shifted ? dot_kernel<kShifted, false> : dot_kernel<kPlanes, false>);
    kernel(rows, width, a, a_row_stride, b, b_pitch, DotXRows{}, sums, first, prefetch);
}

void backward_filter_dot_row_avx512(int64_t rows, int64_t width, const float* a, int64_t a_row_stride,
                                    const DotXRows& x, float* sums, bool first, PrefetchRows* prefetch) {
    constexpr DotColumns kStored = DotColumns::XRowStored, kInPlace = DotColumns::XRow;
    const bool stored = x.split != nullptr;
    const auto kernel = prefetch != nullptr ? (stored ? dot_kernel<kStored, true> : dot_kernel<kInPlace, true>)
                                            : (stored ? dot_kernel<kStored, false> : dot_kernel<kInPlace, false>);
    kernel(rows, width, a, a_row_stride, &x.row, x.pitch, x, sums, first, prefetch);
}

void backward_filter_dot_totals_avx512(const float* sums, int64_t count, float* totals) {
    // Sixteen vectors at a time, transposed as they are added (45 shuffles and adds where one at a
    // time would take 16 x 15 adds); pairs of lanes 8, 4, 2, then 1 apart, so every total is the
    // same tree of adds.
    for_each_lane_group<kDotLanes>(sums, count, [&](const float* group, int64_t k0, int64_t n) {
        // Level 1: vectors 2k and 2k + 1 as [2k's lanes l + (l + 8) | 2k + 1's], l < 8.
        __m512 half[8];
        MLN_UNROLL(8)
        for (int k = 0; k < 8; ++k) {
            const __m512 a = _mm512_loadu_ps(group + (2 * k) * kDotLanes);
            const __m512 b = _mm512_loadu_ps(group + (2 * k + 1) * kDotLanes);
            half[k] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
        }
        // Level 2: 128-bit block b of quarter[k] holds vector 4k + b's lanes l + (l + 4), l < 4.
        __m512 quarter[4];
        MLN_UNROLL(4)
        for (int k = 0; k < 4; ++k) {
            quarter[k] = _mm512_add_ps(_mm512_shuffle_f32x4(half[2 * k], half[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_f32x4(half[2 * k], half[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1)));
        }
        // Level 3: block b of eighth[k] holds vectors 8k + b and 8k + 4 + b, two lanes each.
        __m512 eighth[2];
        MLN_UNROLL(2)
        for (int k = 0; k < 2; ++k) {
            eighth[k] = _mm512_add_ps(_mm512_shuffle_ps(quarter[2 * k], quarter[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                                      _mm512_shuffle_ps(quarter[2 * k], quarter[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
        }
        // Level 4: lane 4b + s holds vector b + 4s's total; put vector i's total in lane i.
        const __m512 mixed = _mm512_add_ps(_mm512_shuffle_ps(eighth[0], eighth[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                           _mm512_shuffle_ps(eighth[0], eighth[1], _MM_SHUFFLE(3, 1, 3, 1)));
        const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        _mm512_mask_storeu_ps(totals + k0, Avx512Lanes::first(n), _mm512_permutexvar_ps(order, mixed));
    });
}

void padded_phase_rows_avx512(const float* x, const WindowGeometry& g, int64_t channels, int64_t top, int64_t left,
                              int64_t plane_h, int64_t plane_w, int64_t i0, int64_t i1, float* planes) {
    using Lanes = Avx512Lanes;
    const int64_t plane = plane_h * plane_w;
    for (int64_t c = 0; c < channels; ++c) {
        const float* xc = x + c * g.in[1] * g.in[2];
        for (int64_t ph = 0; ph < 2; ++ph) {
            float* even_plane = planes + (4 * c + 2 * ph) * plane;
            float* odd_plane = even_plane + plane;
            for (int64_t i = i0; i < i1; ++i) {
                float* even = even_plane + i * plane_w;
                float* odd = odd_plane + i * plane_w;
                const int64_t ih = 2 * (i - top) + ph;
                // Columns j < left and rows outside the image: zeros (n <= 0 loads nothing).
                const float* source = xc + ih * g.in[2];
                for (int64_t j = 0; j < plane_w; j += kDotLanes) {
                    const __mmask16 mask = Lanes::first(plane_w - j);
                    __m512 e = _mm512_setzero_ps(), o = _mm512_setzero_ps();
                    if (ih >= 0 && ih < g.in[1] && j >= left) {
                        Lanes::load_even_odd(source + 2 * (j - left), g.in[2] - 2 * (j - left), &e, &o);
                    } else if (ih >= 0 && ih < g.in[1] && j + kDotLanes > left) {
                        // The vector that holds the left margin: lanes l >= left - j from column 0.
                        const int64_t shift = left - j;
                        __m512 se, so;
                        Lanes::load_even_odd(source, g.in[2], &se, &so);
                        const __m512i index = _mm512_sub_epi32(
                            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                            _mm512_set1_epi32(static_cast<int>(shift)));
                        const __mmask16 inside = static_cast<__mmask16>(~Lanes::first(shift));
                        e = _mm512_maskz_permutexvar_ps(inside, index, se);
                        o = _mm512_maskz_permutexvar_ps(inside, index, so);
                    }
                    _mm512_mask_storeu_ps(even + j, mask, e);
                    _mm512_mask_storeu_ps(odd + j, mask, o);
                }
            }
        }
    }
}

void backward_filter_rows_avx512(int64_t rows, int64_t length, const float* a, int64_t a_row_stride, int64_t a_pitch,
                                 const float* b, float* c, int64_t ldc, bool first, PrefetchRows* prefetch) {
    rows_kernel<false>(rows, length, a, a_row_stride, nullptr, a_pitch, b, c, ldc, first, prefetch);
}

void backward_filter_rows_at_avx512(int panel_rows, int64_t rows, int64_t length, const float* a,
                                    const int64_t* a_rows_at, int64_t a_pitch, const float* b, float* c, int64_t ldc,
                                    bool first, PrefetchRows* prefetch) {
    const auto kernel = panel_rows == kShortPanelRows ? rows_kernel<true, kShortPanelRows> : rows_kernel<true>;
    kernel(rows, length, a, 0, a_rows_at, a_pitch, b, c, ldc, first, prefetch);
}

// 8 x 8 blocks in registers: 8 tile rows (the columns j0..j0 + 7 of dW, each row a different
// (tap, channel)) loaded 8 output channels wide, transposed, stored as 8 pieces of dW's rows;
// the 8 rows read across all output channels before the next 8 (they stay in L1). The
// element loop stored one float per line of dW, its store misses queued one behind another:
// 14% of ResNet-18's layer2 3x3 at batch 1, one thread; with this, CPU time, same-process A/B
// (median, min of 15 alternating batches): 0.94, 0.92 of the time; layer2 3x3/2 0.96, 0.98;
// same bits. Edges element by element.
void backward_filter_untranspose_avx512(const float* dw_t, int64_t out_channels, int64_t panel_channels,
                                        int64_t channels, int64_t kernel_size, float* dw, int64_t depth) {
    const int64_t columns = channels * kernel_size;
    const auto source_row = [&](int64_t j) {
        return dw_t + (j % kernel_size * panel_channels + j / kernel_size) * out_channels;
    };
    const int64_t full_m = out_channels - out_channels % 8, full_j = columns - columns % 8;
    for (int64_t j0 = 0; j0 < full_j; j0 += 8) {
        for (int64_t m0 = 0; m0 < full_m; m0 += 8) {
            __m256 r[8];
            MLN_UNROLL(8)
            for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(source_row(j0 + i) + m0);
            transpose8x8(r);
            MLN_UNROLL(8)
            for (int k = 0; k < 8; ++k) _mm256_storeu_ps(dw + (m0 + k) * depth + j0, r[k]);
        }
    }
    for (int64_t m = 0; m < out_channels; ++m) {
        const int64_t j_begin = m < full_m ? full_j : 0;
        for (int64_t j = j_begin; j < columns; ++j) dw[m * depth + j] = source_row(j)[m];
    }
}

}  // namespace mln::kernels
