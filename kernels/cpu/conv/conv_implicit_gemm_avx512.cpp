// AVX-512 micro-kernel of the implicit GEMM's transposed form (conv_implicit_gemm.hpp): output
// positions on the broadcast side, 32 output channels in two vectors. Small deep images (ResNet's
// 14x14 and 7x7) have position counts that are multiples of 7 but not of 16, so rows of 14
// positions (7 for the rest) keep every lane busy where the 8 x 32 GEMM kernel, positions in its
// vectors, computed 224 columns for 196 and 64 for 49.
// 14 rows x 2 vectors: 28 accumulators + 2 B vectors + 1 broadcast = 31 zmm registers.
#include <immintrin.h>

#include <array>
#include <climits>
#include <algorithm>
#include <cstdint>
#include <utility>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/transpose_avx512.hpp"
#include "kernels/cpu/conv/conv_flipped_weights_body.hpp"
#include "kernels/cpu/conv/conv_implicit_gemm_kernel.hpp"
#include "kernels/cpu/conv/conv_same_size_lowering.hpp"

namespace mln::kernels {
namespace {

// Rows i < R of a tile, bit i each.
constexpr uint32_t all_rows(int R) { return (uint32_t{1} << R) - 1u; }
// The rows of a tile of S positions to an output row without those of column `column`.
constexpr uint32_t without_column(int R, int S, int column) {
    uint32_t rows = all_rows(R);
    for (int i = column; i < R; i += S) rows &= ~(uint32_t{1} << i);
    return rows;
}

// One depth step of tile_product: acc[i] += A(i, p) B(p, .) for the rows i in Rows (bit i), A(i, p)
// = a[(i / S) * pitch + (i % S) * Stride].
template <int R, int S, uint32_t Rows, int Stride = 1>
MLN_ALWAYS_INLINE void step_product(const float* a, int64_t pitch, const float* b, __m512 (&acc)[R][2]) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
    MLN_UNROLL(16)
    for (int i = 0; i < R; ++i) {
        if ((Rows >> i & 1u) == 0) continue;
        const __m512 x = _mm512_set1_ps(a[(i / S) * pitch + (i % S) * Stride]);
        acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
    }
}

// The next panel's lines (PrefetchLines), one per depth step.
class PrefetchWalk {
public:
    explicit PrefetchWalk(const PrefetchLines& lines)
        : line_(lines.start), row_stride_(lines.row_stride), row_bytes_(lines.row_bytes), left_(lines.count) {}
    MLN_ALWAYS_INLINE void step() {
        if (left_ == 0) return;
        _mm_prefetch(line_ + in_row_, _MM_HINT_T0);
        --left_;
        in_row_ += 64;
        if (in_row_ >= row_bytes_) {
            in_row_ = 0;
            line_ += row_stride_;
        }
    }

private:
    const char* line_;
    int64_t row_stride_, row_bytes_, left_, in_row_ = 0;
};

// C(i, .) (+)= acc[i] for i < R (C(i, j) = c[i * ldc + j]).
template <int R>
MLN_ALWAYS_INLINE void store_tile(__m512 (&acc)[R][2], float* c, int64_t ldc, bool accumulate) {
    MLN_UNROLL(16)
    for (int i = 0; i < R; ++i) {
        float* row = c + i * ldc;
        if (accumulate) {
            acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(row));
            acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(row + 16));
        }
        _mm512_storeu_ps(row, acc[i][0]);
        _mm512_storeu_ps(row + 16, acc[i][1]);
    }
}

// Where a depth step's A row starts, and what the tile leaves out of it.
struct TileStep {
    const float* a;
    PaddingSkip skip;
};

// C(i, j) (+)= sum_p A(i, p) B(p, j) for i < R, j < 32: A(i, p) = next_step().a[(i / S) * pitch + i % S]
// (S positions to an output row, rows `pitch` apart; next_step called once per step, in order),
// less the products its skip leaves out, B(p, j) = b[p * 32 + j], C(i, j) = c[i * ldc + j].
template <int R, int S, class NextStep>
MLN_ALWAYS_INLINE void tile_product(int64_t kc, NextStep next_step, int64_t pitch, const float* b, float* c,
                                    int64_t ldc, bool accumulate, const PrefetchLines& prefetch) {
    PrefetchWalk next_panel(prefetch);
    __m512 acc[R][2];
    MLN_UNROLL(16)
    for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kc; ++p) {
        const TileStep step = next_step();
        const float* const b_row = b + p * kPositionsTileColumns;
        switch (step.skip) {
            case PaddingSkip::kNone: step_product<R, S, all_rows(R)>(step.a, pitch, b_row, acc); break;
            case PaddingSkip::kFirstColumn:
                step_product<R, S, without_column(R, S, 0)>(step.a, pitch, b_row, acc);
                break;
            case PaddingSkip::kLastColumn:
                step_product<R, S, without_column(R, S, S - 1)>(step.a, pitch, b_row, acc);
                break;
            case PaddingSkip::kStep: break;
        }
        next_panel.step();
    }
    store_tile(acc, c, ldc, accumulate);
}

// A from the lowered columns: A(i, p) = a[p * a_stride + i].
template <int R>
void positions_tile(int64_t kc, const float* a, int64_t a_stride, const float* b, float* c, int64_t ldc,
                    bool accumulate, const PrefetchLines& prefetch) {
    const float* row = a;
    tile_product<R, R>(
        kc,
        [&] {
            const TileStep step{row, PaddingSkip::kNone};
            row += a_stride;
            return step;
        },
        0, b, c, ldc, accumulate, prefetch);
}

// A from the zero-padded image in place, a counter walking the taps (no per-step table: making
// one per depth block took 5-7% of a layer at two threads, where each task is one panel).
template <int R, int S>
void padded_positions_tile(int64_t kc, const float* a, const PaddedTaps& taps, const PaddingSkip* skips,
                           int64_t first_tap, int64_t pitch, const float* b, float* c, int64_t ldc, bool accumulate,
                           const PrefetchLines& prefetch) {
    const float* channel = a;
    int64_t t = first_tap;
    tile_product<R, S>(
        kc,
        [&] {
            const TileStep step{channel + taps.offsets[t], skips[t]};
            if (++t == taps.count) {
                t = 0;
                channel += taps.plane;
            }
            return step;
        },
        pitch, b, c, ldc, accumulate, prefetch);
}

// One phase's taps of a strided backward data (fused_phase_forwards: TapRows x TapColumns of them,
// at most 2 x 2 for a 3x3/2) fixed at compile time with the tile's skips: the last tap column's
// products of the tile's last column left out if Right, the last tap row's steps if Bottom (all
// that a phase with no padding before leaves out). The same products in the same order as
// padded_positions_tile with first_tap 0, less its per-step switch and tap walk: Zen 5,
// conv_vs_build against it both ways round (min / median), ResNet-18's layer2 3x3/2 at batch 32
// on two threads 0.94-0.97 / 0.94-0.97 (it 1.02-1.10 / 1.03-1.08x of this), layer3 even; batch 1,
// one thread, even on a quiet machine, 0.88-0.94x under load (fewer instructions beside the
// sibling thread's). A pointer per tap: with a + offsets[t] per step GCC 12 kept the 14 rows'
// indices of each tap on the stack, and the tiles measured even with the tap walk.
template <int R, int S, int TapRows, int TapColumns, bool Right, bool Bottom>
void phase_tile(int64_t kc, const float* a, const PaddedTaps& taps, const PaddingSkip*, int64_t, int64_t pitch,
                const float* b, float* c, int64_t ldc, bool accumulate, const PrefetchLines& prefetch) {
    constexpr int kTaps = TapRows * TapColumns;
    const float* tap[kTaps];
    MLN_UNROLL(4)
    for (int t = 0; t < kTaps; ++t) tap[t] = a + taps.offsets[t];
    const int64_t plane = taps.plane;
    PrefetchWalk next_panel(prefetch);
    __m512 acc[R][2];
    MLN_UNROLL(16)
    for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kc; p += kTaps) {
        MLN_UNROLL(4)
        for (int t = 0; t < kTaps; ++t) {
            if (!(Bottom && t >= (TapRows - 1) * TapColumns)) {
                if (Right && t % TapColumns == TapColumns - 1) {
                    step_product<R, S, without_column(R, S, S - 1)>(tap[t], pitch, b, acc);
                } else {
                    step_product<R, S, all_rows(R)>(tap[t], pitch, b, acc);
                }
            }
            next_panel.step();
            b += kPositionsTileColumns;
            tap[t] += plane;
        }
    }
    store_tile(acc, c, ldc, accumulate);
}

template <int R, int S, int TapRows, int TapColumns>
PaddedTileKernel phase_tile_for(bool right, bool bottom) {
    if constexpr (TapRows == 1) {
        return right ? phase_tile<R, S, 1, TapColumns, true, false> : phase_tile<R, S, 1, TapColumns, false, false>;
    } else {
        if (bottom) return right ? phase_tile<R, S, TapRows, TapColumns, true, true>
                                 : phase_tile<R, S, TapRows, TapColumns, false, true>;
        return right ? phase_tile<R, S, TapRows, TapColumns, true, false>
                     : phase_tile<R, S, TapRows, TapColumns, false, false>;
    }
}

template <int R, int S>
PaddedTileKernel phase_tile_for(int tap_rows, int tap_columns, bool right, bool bottom) {
    if (tap_rows == 1 && tap_columns == 1) return phase_tile_for<R, S, 1, 1>(right, bottom);
    if (tap_rows == 1 && tap_columns == 2) return phase_tile_for<R, S, 1, 2>(right, bottom);
    if (tap_rows == 2 && tap_columns == 1) return phase_tile_for<R, S, 2, 1>(right, bottom);
    if (tap_rows == 2 && tap_columns == 2) return phase_tile_for<R, S, 2, 2>(right, bottom);
    return nullptr;
}

// The rows a tap in column kw of a 3x3 window with padding 1 reads inside the image, for a tile
// of whole output rows (S positions each): tap column 0 reads padding at output column 0, tap
// column 2 at the last one if Right; the tile's first row under tap row 0 if TopRow (the image's
// top row), its last under tap row 2 if BottomRow (the bottom row, the window reading past it).
template <int R, int S, bool Right, bool TopRow, bool BottomRow>
constexpr uint32_t window_tap_rows(int kw) {
    uint32_t rows = kw == 0 ? without_column(R, S, 0) : all_rows(R);
    if (Right && kw == 2) rows = without_column(R, S, S - 1);
    if (TopRow) rows &= ~all_rows(S);
    if (BottomRow) rows &= all_rows(R - S);
    return rows;
}

// One tap row's 3 taps (depth steps), a and b moved past them (a by `column` per tap), output
// rows `pitch` apart, positions in a row `Stride` apart.
template <int R, int S, bool Right, bool TopRow, bool BottomRow, int Stride, int... Kw>
MLN_ALWAYS_INLINE void tap_row_product(const float*& a, int64_t column, int64_t pitch, const float*& b,
                                       __m512 (&acc)[R][2], PrefetchWalk& next_panel,
                                       std::integer_sequence<int, Kw...>) {
    ((step_product<R, S, window_tap_rows<R, S, Right, TopRow, BottomRow>(Kw), Stride>(a, pitch, b, acc),
      next_panel.step(), a += column, b += kPositionsTileColumns),
     ...);
}

// Depth steps that are whole channels of a 3x3 window's 9 taps: the padding's products left out
// at compile time, a tap row at a time (no per-step table or switch, as the tap walk of
// padded_positions_tile has; GCC 12 spills accumulators over a channel's 9 taps in one block).
// Padded: A is the zero-padded image of a stride-1 "same" window (output rows a tap row apart,
// the last column and the bottom row reading padding), else lowered columns (positions
// contiguous: rows S apart, a constant, where a runtime pitch took 1.04-1.06x the time of
// ResNet-18's 3x3/2 to 7x7 on one thread; the right and bottom taps inside the image). A
// constant pitch for the padded image too made GCC 12 spill accumulators in every step.
// Pair: the tile across two images of lowered columns (image_pair_window_tile_avx512), its
// second output row steps.second_image on and under tap row 0 left out. Strided: A the image
// itself under a stride-2 window, 2S wide, read in place (strided_window_tile_avx512): output rows
// 4S apart (a constant, as the lowered columns' S), positions 2 apart.
template <int R, int S, bool Padded, bool Top, bool Bottom, bool Pair = false, bool Strided = false>
void window_tile(int64_t kc, const float* a, const WindowSteps& steps, const float* b, float* c, int64_t ldc,
                 bool accumulate, const PrefetchLines& prefetch) {
    constexpr auto kTapColumns = std::make_integer_sequence<int, 3>{};
    constexpr int kStride = Strided ? 2 : 1;
    const int64_t column = steps.column;
    const int64_t pitch = Padded ? steps.row : Pair ? steps.second_image : Strided ? 4 * S : S;
    // Past a tap row's last tap to the next row's first, past a channel's last tap row to the next.
    const int64_t next_row = steps.row - 3 * column, next_channel = steps.channel - 3 * steps.row;
    PrefetchWalk next_panel(prefetch);
    __m512 acc[R][2];
    MLN_UNROLL(16)
    for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int64_t p = 0, kh = 0; p < kc; p += 3) {
        if (Top && kh == 0) {
            tap_row_product<R, S, Padded, true, false, kStride>(a, column, pitch, b, acc, next_panel, kTapColumns);
        } else if ((Bottom && kh == 2) || (Pair && kh == 0)) {
            tap_row_product<R, S, Padded, false, true, kStride>(a, column, pitch, b, acc, next_panel, kTapColumns);
        } else {
            tap_row_product<R, S, Padded, false, false, kStride>(a, column, pitch, b, acc, next_panel, kTapColumns);
        }
        a += next_row;
        if (++kh == 3) {
            kh = 0;
            a += next_channel;
        }
    }
    store_tile(acc, c, ldc, accumulate);
}

template <int R, int S>
WindowTileKernel window_tile_for(bool padded, bool top, bool bottom) {
    if (!padded) return top ? window_tile<R, S, false, true, false> : window_tile<R, S, false, false, false>;
    if (top && bottom) return nullptr;
    if (top) return window_tile<R, S, true, true, false>;
    return bottom ? window_tile<R, S, true, false, true> : window_tile<R, S, true, false, false>;
}

template <int... R>
constexpr std::array<PositionsTileKernel, sizeof...(R)> tile_table(std::integer_sequence<int, R...>) {
    return {positions_tile<R + 1>...};
}
constexpr auto kTiles = tile_table(std::make_integer_sequence<int, kPositionsTileRows>{});

// The zero-masked forms with every lane selected are the same instructions; GCC 12's plain ones
// warn about their own uninitialised pass-through operand.
constexpr __mmask16 kAll = 0xFFFF;

// Four columns of a 16 x 16 block of w^T, transposed half by the loads: a 128-bit broadcast load
// per row piece, merged under a mask into its lane, gathers 4 rows' 4-element pieces into one
// vector (loads and blends, no shuffle), so only the 4 x 4 transposes inside the lanes take
// shuffles: 32 per block against the register transpose's 64. column[d] lane j = row j's element
// d (rows `row_stride` apart from `piece`).
MLN_ALWAYS_INLINE void four_columns(const float* piece, int64_t row_stride, __m512 (&column)[4]) {
    __m512 u[4];  // u[b] lane 4a + e = row 4a + b's element e
    MLN_UNROLL(4)
    for (int b = 0; b < 4; ++b) {
        const float* row = piece + b * row_stride;
        __m512 v = _mm512_maskz_broadcast_f32x4(kAll, _mm_loadu_ps(row));
        v = _mm512_mask_broadcast_f32x4(v, 0x00F0, _mm_loadu_ps(row + 4 * row_stride));
        v = _mm512_mask_broadcast_f32x4(v, 0x0F00, _mm_loadu_ps(row + 8 * row_stride));
        u[b] = _mm512_mask_broadcast_f32x4(v, 0xF000, _mm_loadu_ps(row + 12 * row_stride));
    }
    const __m512 t0 = _mm512_maskz_unpacklo_ps(kAll, u[0], u[1]);
    const __m512 t1 = _mm512_maskz_unpackhi_ps(kAll, u[0], u[1]);
    const __m512 t2 = _mm512_maskz_unpacklo_ps(kAll, u[2], u[3]);
    const __m512 t3 = _mm512_maskz_unpackhi_ps(kAll, u[2], u[3]);
    column[0] = _mm512_maskz_shuffle_ps(kAll, t0, t2, 0x44);
    column[1] = _mm512_maskz_shuffle_ps(kAll, t0, t2, 0xEE);
    column[2] = _mm512_maskz_shuffle_ps(kAll, t1, t3, 0x44);
    column[3] = _mm512_maskz_shuffle_ps(kAll, t1, t3, 0xEE);
}

}  // namespace

PositionsTileKernel positions_tile_avx512(int rows) { return kTiles[static_cast<size_t>(rows - 1)]; }

WindowTileKernel window_tile_avx512(int rows, int width, bool padded, bool top, bool bottom) {
    if (rows == 14 && width == 14) return window_tile_for<14, 14>(padded, top, bottom);
    if (rows == 14 && width == 7) return window_tile_for<14, 7>(padded, top, bottom);
    if (rows == 7 && width == 7) return window_tile_for<7, 7>(padded, top, bottom);
    return nullptr;
}

WindowTileKernel strided_window_tile_avx512(int rows, int width, bool top) {
    if (rows == 14 && width == 14) return top ? window_tile<14, 14, false, true, false, false, true>
                                              : window_tile<14, 14, false, false, false, false, true>;
    if (rows == 14 && width == 7) return top ? window_tile<14, 7, false, true, false, false, true>
                                             : window_tile<14, 7, false, false, false, false, true>;
    if (rows == 7 && width == 7) return top ? window_tile<7, 7, false, true, false, false, true>
                                            : window_tile<7, 7, false, false, false, false, true>;
    return nullptr;
}

WindowTileKernel image_pair_window_tile_avx512(bool strided) {
    return strided ? window_tile<14, 7, false, false, false, true, true> : window_tile<14, 7, false, false, false, true>;
}

PaddedTileKernel padded_positions_tile_avx512(int rows, int width) {
    if (rows == 14 && width == 14) return padded_positions_tile<14, 14>;
    if (rows == 14 && width == 7) return padded_positions_tile<14, 7>;
    if (rows == 7 && width == 7) return padded_positions_tile<7, 7>;
    return nullptr;
}

PaddedTileKernel phase_tile_avx512(int rows, int width, int tap_rows, int tap_columns, const PaddingSkip* skips) {
    if (tap_rows < 1 || tap_rows > 2 || tap_columns < 1 || tap_columns > 2) return nullptr;
    // The skips phase_tile leaves out: Right read off tap row 0 (never a whole step when only the
    // last tap row's are), Bottom off the last tap row (one tap row: no steps left out).
    const bool right = skips[tap_columns - 1] == PaddingSkip::kLastColumn;
    const bool bottom = tap_rows == 2 && skips[tap_columns] == PaddingSkip::kStep;
    for (int t = 0; t < tap_rows * tap_columns; ++t) {
        const PaddingSkip want = bottom && t >= tap_columns                 ? PaddingSkip::kStep
                                 : right && t % tap_columns == tap_columns - 1 ? PaddingSkip::kLastColumn
                                                                               : PaddingSkip::kNone;
        if (skips[t] != want) return nullptr;
    }
    if (rows == 14 && width == 14) return phase_tile_for<14, 14>(tap_rows, tap_columns, right, bottom);
    if (rows == 14 && width == 7) return phase_tile_for<14, 7>(tap_rows, tap_columns, right, bottom);
    if (rows == 7 && width == 7) return phase_tile_for<7, 7>(tap_rows, tap_columns, right, bottom);
    return nullptr;
}

// 16 rows at a time over the whole depth (a step over all 32 rows, half a line each, as the
// GEMM's column packer does, keeps 32 lines live, which on weights 2^k * 4.5 KiB apart (a 3x3
// layer of 512 channels) share two L1 sets and evict each other), 4 columns at a time by
// four_columns. Measured on Zen 5 (one thread, min of 300 passes over a 512 x 4608 layer's
// weights in the transposed form's order) against transpose16x16: 0.27 -> 0.17 ms from memory,
// 0.245 -> 0.12 ms from L1. Eight columns at a time from 256-bit row pieces (rows j and j + 8 in
// one register by an insert, the in-lane 4 x 4 transposes, then a merge-masked 128-bit-block
// shuffle per column: 4 shuffles and 2 loads a column): 1.10-1.13x the time of four_columns over
// 256 panels of 144 x 32 from L1, 1.00-1.15x from memory (Zen 5, loaded machine, 2026-12-07).
void pack_transposed_weights_avx512(const float* w, int64_t row_stride, int64_t rows, int64_t kc, float* panel) {
    constexpr int64_t kWidth = kPositionsTileColumns;
    int64_t j0 = 0;
    for (; j0 + 16 <= rows; j0 += 16) {
        int64_t p = 0;
        for (; p + 4 <= kc; p += 4) {
            __m512 c[4];
            four_columns(w + j0 * row_stride + p, row_stride, c);
            MLN_UNROLL(4)
            for (int d = 0; d < 4; ++d) _mm512_storeu_ps(panel + (p + d) * kWidth + j0, c[d]);
        }
        for (; p < kc; ++p) {
            for (int64_t j = j0; j < j0 + 16; ++j) panel[p * kWidth + j] = w[j * row_stride + p];
        }
    }
    if (j0 == kWidth) return;
    for (int64_t p = 0; p < kc; ++p) {
        for (int64_t j = j0; j < rows; ++j) panel[p * kWidth + j] = w[j * row_stride + p];
        for (int64_t j = rows; j < kWidth; ++j) panel[p * kWidth + j] = 0.0f;
    }
}

// Gather indices (row j at j * K) stay far inside 32 bits.
constexpr int64_t kMaxGatheredStride = int64_t{1} << 24;

namespace {

// Taps [t_begin, t_end) of 16 channels (channel j's K taps contiguous at channels + j * K; t_begin
// a multiple of 4) into rows of 16: tap t's at row_of(t), nullptr for a tap left out. Columns of
// 4 taps go through four_columns, the taps past the last whole column (1 of 9) through a gather
// each. Gathering the ninth tap, where a column of 4 overlapping the one before computed 4 to
// store 1, measured 4% faster on a backward data 3x3 at 7x7 (512 channels, one thread, contended
// machine, min of 3 x 1 s: 1.36 -> 1.31 ms).
template <class RowOf>
MLN_ALWAYS_INLINE void sixteen_channels_taps(const float* channels, int64_t K, int64_t t_begin, int64_t t_end,
                                             RowOf&& row_of) {
    const int64_t columns_end = K / 4 * 4;  // taps in whole columns of 4; the rest gathered
    const __m512i row_starts = _mm512_mullo_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(static_cast<int>(K)));
    for (int64_t t = t_begin; t < t_end; t += t + 4 <= columns_end ? 4 : 1) {
        if (t + 4 <= columns_end) {
            __m512 taps[4];
            four_columns(channels + t, K, taps);
            MLN_UNROLL(4)
            for (int d = 0; d < 4; ++d) {
                float* const row = row_of(t + d);
                if (row != nullptr) _mm512_storeu_ps(row, taps[d]);
            }
        } else if (float* const row = row_of(t); row != nullptr) {
            _mm512_storeu_ps(row, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), kAll, row_starts, channels + t, 4));
        }
    }
}

// The channels from j0 on (past the last 16 whole ones) of tap t into its 32-lane row, zeros
// from `rows` on.
MLN_ALWAYS_INLINE void last_channels_tap(const float* channels, int64_t K, int64_t j0, int64_t rows, int64_t t,
                                         float* row) {
    for (int64_t j = j0; j < rows; ++j) row[j] = channels[j * K + t];
    for (int64_t j = rows; j < kPositionsTileColumns; ++j) row[j] = 0.0f;
}

}  // namespace

void pack_tap_columns_avx512(const float* block, int64_t kernel_size, int64_t rows, int64_t tap_begin,
                             int64_t tap_end, float* const* tap_rows) {
    const int64_t K = kernel_size;
    int64_t j0 = 0;
    for (; K <= kMaxGatheredStride && j0 + 16 <= rows; j0 += 16) {
        sixteen_channels_taps(block + j0 * K, K, tap_begin, tap_end, [&](int64_t t) {
            float* const row = tap_rows[t - tap_begin];
            return row != nullptr ? row + j0 : nullptr;
        });
    }
    if (j0 == kPositionsTileColumns) return;
    for (int64_t t = tap_begin; t < tap_end; ++t) {
        if (tap_rows[t - tap_begin] != nullptr) last_channels_tap(block, K, j0, rows, t, tap_rows[t - tap_begin]);
    }
}

namespace {
// pack_flipped_weights_body's blocks: 16 channels of a 32-lane panel.
struct Avx512FlippedLanes {
    static constexpr int64_t panel_width = kPositionsTileColumns;
    static constexpr int64_t channels = 16;
    static constexpr int64_t max_gathered_stride = kMaxGatheredStride;
    template <class RowOf>
    MLN_ALWAYS_INLINE static void block_taps(const float* channels, int64_t K, RowOf&& row_of) {
        sixteen_channels_taps(channels, K, 0, K, row_of);
    }
};
}  // namespace

// The same from the backward pass's filters, flipped on the way (conv_backward_data as the
// forward of dy), 16 channels at a time over all m (each m's call with its rows: a
// pack_tap_columns_avx512 call per m took 1.02-1.06x the time of ResNet-18's stride-1 backward
// data at 7x7 and 14x14).
void pack_flipped_weights_avx512(const float* w, int64_t m_stride, int64_t kernel_size, int64_t rows, int64_t pc,
                                 int64_t kc, float* panel) {
    pack_flipped_weights_body<Avx512FlippedLanes>(w, m_stride, kernel_size, rows, pc, kc, panel);
}

namespace {
// The lane type of lower_same_size_body (conv_same_size_lowering.hpp).
struct Avx512SameSizeLanes {
    static constexpr int64_t width = 16;
    using Bits = __mmask16;
    static Bits inside(const int32_t* rows, const int32_t* columns, int32_t dh, int32_t dw, int32_t height,
                       int32_t width_limit) {
        // Unsigned compares take both bounds at once: a negative index is a huge unsigned one.
        const __m512i h = _mm512_add_epi32(_mm512_load_si512(rows), _mm512_set1_epi32(dh));
        const __m512i w = _mm512_add_epi32(_mm512_load_si512(columns), _mm512_set1_epi32(dw));
        return _mm512_mask_cmplt_epu32_mask(_mm512_cmplt_epu32_mask(h, _mm512_set1_epi32(height)), w,
                                            _mm512_set1_epi32(width_limit));
    }
    static void copy(const float* src, Bits bits, float* dst) {
        _mm512_storeu_ps(dst, _mm512_maskz_loadu_ps(bits, src));
    }
};
}  // namespace

bool same_size_lowering_applies(const WindowGeometry& g, int64_t cols, int64_t nr) {
    return same_size_lowering_fits(g, cols, nr, Avx512SameSizeLanes::width);
}

void lower_same_size_avx512(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                            int64_t cols, int64_t nr, float* packed) {
    lower_same_size_body<Avx512SameSizeLanes>(x, g, pc, kc, q0, cols, nr, packed);
}

// 16 x 16 blocks: 16 positions' rows of channel sums (summed over the slices) transposed in
// registers into 16 channels' rows of positions; the residual and the ReLU taken on the way, while
// the block is in registers, not by passes over y after it (a pass re-reading y: 0.8% of
// ResNet-18's 3x3/2 to 7x7 at batch 32). y's lines are prefetched a block of 16 rows ahead, spread
// over the block's column steps: at batch 32 an image's y (0.1-0.2 MB) comes from memory, and
// stores that miss stall the core where prefetches overlap. Alone, y from memory (ResNet-18's
// 3x3/2 to 14x14, 196 x 256 outputs, min per call): 35-38 -> 6-9 us.
void write_transposed_sums_avx512(const float* sums, int64_t ld, int64_t slices, int64_t slice_size,
                                  int64_t positions, int64_t row_begin, int64_t row_end, const float* bias,
                                  const float* residual, bool relu, float* y) {
    const int64_t column_steps = (positions + 15) / 16;
    // The lines of rows [begin, end) of y, from the one holding the first element.
    struct Lines {
        const char* start;
        int64_t count;
    };
    auto y_lines = [&](int64_t begin, int64_t end) {
        const auto first = reinterpret_cast<std::uintptr_t>(y + begin * positions) & ~std::uintptr_t{63};
        const auto past = reinterpret_cast<std::uintptr_t>(y + end * positions);
        return Lines{reinterpret_cast<const char*>(first), begin < end ? static_cast<int64_t>(past - first + 63) / 64 : 0};
    };
    const Lines first_block = y_lines(row_begin, std::min<int64_t>(row_end, row_begin + 16));
    for (int64_t line = 0; line < first_block.count; ++line) _mm_prefetch(first_block.start + 64 * line, _MM_HINT_T0);
    for (int64_t r0 = row_begin; r0 < row_end; r0 += 16) {
        const int64_t rows = std::min<int64_t>(16, row_end - r0);
        const __mmask16 row_mask = static_cast<__mmask16>((1u << rows) - 1u);
        const __m512 start = bias != nullptr ? _mm512_maskz_loadu_ps(row_mask, bias + r0) : _mm512_setzero_ps();
        const Lines next_block = y_lines(std::min(row_end, r0 + 16), std::min(row_end, r0 + 32));
        const int64_t lines_per_step = (next_block.count + column_steps - 1) / column_steps;
        for (int64_t q0 = 0; q0 < positions; q0 += 16) {
            const int64_t count = std::min<int64_t>(16, positions - q0);
            const int64_t first_line = q0 / 16 * lines_per_step;
            const int64_t end_line = std::min(next_block.count, first_line + lines_per_step);
            for (int64_t line = first_line; line < end_line; ++line) {
                _mm_prefetch(next_block.start + 64 * line, _MM_HINT_T0);
            }
            __m512 r[16];
            for (int64_t q = 0; q < 16; ++q) {
                r[q] = _mm512_setzero_ps();
                if (q >= count) continue;
                const float* line = sums + (q0 + q) * ld + r0;
                r[q] = _mm512_add_ps(start, _mm512_maskz_loadu_ps(row_mask, line));
                for (int64_t s = 1; s < slices; ++s) {
                    r[q] = _mm512_add_ps(r[q], _mm512_maskz_loadu_ps(row_mask, line + s * slice_size));
                }
            }
            transpose16x16(r);
            const __mmask16 store = static_cast<__mmask16>((1u << count) - 1u);
            for (int64_t i = 0; i < rows; ++i) {
                const int64_t at = (r0 + i) * positions + q0;
                __m512 v = r[i];
                if (residual != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(store, residual + at));
                if (relu) v = _mm512_maskz_max_ps(kAll, v, _mm512_setzero_ps());
                _mm512_mask_storeu_ps(y + at, store, v);
            }
        }
    }
}

// 8 positions of both phases at a time: rows e(j), o(j), e(j + 1), o(j + 1), ... of 16 channels,
// transposed in registers, are 16 channels' runs of 16 dx values, already interleaved.
// Prefetching (prefetchw) the 16 channels' rows of the next call or the one after changed
// nothing (ResNet-18's layer2 3x3/2 at batch 1, one thread: 0.98-1.03x).
void write_interleaved_sums_avx512(const float* even, const float* odd, int64_t ld, int64_t width, int64_t channels,
                                   int64_t channel_stride, float* out) {
    for (int64_t c0 = 0; c0 < channels; c0 += 16) {
        const int64_t rows = std::min<int64_t>(16, channels - c0);
        const __mmask16 row_mask = static_cast<__mmask16>((1u << rows) - 1u);
        for (int64_t j0 = 0; j0 < width; j0 += 8) {
            const int64_t count = std::min<int64_t>(8, width - j0);
            __m512 r[16];
            MLN_UNROLL(8)
            for (int64_t q = 0; q < 8; ++q) {
                const bool inside = q < count;
                r[2 * q] = inside ? _mm512_maskz_loadu_ps(row_mask, even + (j0 + q) * ld + c0) : _mm512_setzero_ps();
                r[2 * q + 1] = inside ? _mm512_maskz_loadu_ps(row_mask, odd + (j0 + q) * ld + c0) : _mm512_setzero_ps();
            }
            transpose16x16(r);
            const __mmask16 store = static_cast<__mmask16>((1u << (2 * count)) - 1u);
            float* at = out + c0 * channel_stride + 2 * j0;
            for (int64_t i = 0; i < rows; ++i) _mm512_mask_storeu_ps(at + i * channel_stride, store, r[i]);
        }
    }
}

// Rows i and i + 1 together as whole cache lines: a line of a channel is 8 positions of the pair's
// run (row i's width, then row i + 1's), both column phases each, one transpose per 16 channels.
// The streams' prefetch before each store (prefetch_stream_ahead_at_block, streaming_stores.hpp)
// measured even: ResNet-18's stride-2 backward data at batch 32, 2 threads, 0.97-1.02x (2026-12-07).
void write_interleaved_row_pair_avx512(const float* const (&even)[2], const float* const (&odd)[2], int64_t ld,
                                       int64_t width, int64_t channels, int64_t channel_stride, float* out) {
    for (int64_t c0 = 0; c0 < channels; c0 += 16) {
        const int64_t rows = std::min<int64_t>(16, channels - c0);
        const __mmask16 row_mask = static_cast<__mmask16>((1u << rows) - 1u);
        for (int64_t s0 = 0; s0 < 2 * width; s0 += 8) {
            __m512 r[16];
            MLN_UNROLL(8)
            for (int64_t q = 0; q < 8; ++q) {
                const int64_t s = s0 + q, row = s >= width ? 1 : 0, j = s - row * width;
                r[2 * q] = _mm512_maskz_loadu_ps(row_mask, even[row] + j * ld + c0);
                r[2 * q + 1] = _mm512_maskz_loadu_ps(row_mask, odd[row] + j * ld + c0);
            }
            transpose16x16(r);
            float* at = out + c0 * channel_stride + 2 * s0;
            for (int64_t i = 0; i < rows; ++i) _mm512_stream_ps(at + i * channel_stride, r[i]);
        }
    }
}

}  // namespace mln::kernels
