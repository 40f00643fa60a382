// The transposed implicit GEMM's micro-kernel (conv_implicit_gemm_avx512.cpp): a tile of `rows`
// output positions x 32 output channels, C(i, j) (+)= sum_p A(i, p) B(p, j) with
// A(i, p) = a[p * a_stride + i] (the lowered columns, positions contiguous), B(p, j) =
// b[p * 32 + j] (a packed panel of the transposed weights), C(i, j) = c[i * ldc + j].
#pragma once

#include <cstdint>

#include "core/nn_args.hpp"

namespace mln::kernels {

constexpr int kPositionsTileRows = 14;
constexpr int kPositionsTileColumns = 32;

// Lines to prefetch, one per depth step: `count` lines of rows `row_bytes` long, `row_stride`
// bytes apart, from `start` (the weights of the next panel, spread over this panel's tiles).
struct PrefetchLines {
    const char* start;
    int64_t row_stride, row_bytes, count;
};

using PositionsTileKernel = void (*)(int64_t kc, const float* a, int64_t a_stride, const float* b, float* c,
                                     int64_t ldc, bool accumulate, const PrefetchLines& prefetch);

// What a padded tile leaves out of a tap's depth steps: nothing, every row's first or last
// column (a window shifted one column left or right, as a 3x3 with padding 1 has, reads only
// padding there: 2 of 14 positions at 7x7, 1 of 14 at 14x14, on 2 of 3 tap columns), or the
// whole step (a tap row that reads only padding for all the tile's output rows).
enum class PaddingSkip : int8_t { kNone, kFirstColumn, kLastColumn, kStep };

// The taps over the zero-padded image: tap t's window starts offsets[t] floats into a channel's
// plane, planes `plane` floats apart.
struct PaddedTaps {
    static constexpr int64_t kMaxTaps = 49;
    int64_t count, plane;
    int32_t offsets[kMaxTaps];
};

// The same with A read from a zero-padded image in place of lowered columns, depth step p the
// tap t = (first_tap + p) % taps.count of channel (first_tap + p) / taps.count: A(i, p) =
// a[channel * plane + offsets[t] + (i / width) * pitch + i % width], the tile's positions whole
// output rows of `width`, rows `pitch` apart, less the products skips[t] leaves out.
using PaddedTileKernel = void (*)(int64_t kc, const float* a, const PaddedTaps& taps, const PaddingSkip* skips,
                                  int64_t first_tap, int64_t pitch, const float* b, float* c, int64_t ldc,
                                  bool accumulate, const PrefetchLines& prefetch);

#if defined(MYELIN_X86_64_KERNELS)
// rows in [1, kPositionsTileRows]; call only at MLN_ISA_AVX512.
PositionsTileKernel positions_tile_avx512(int rows);
// (rows, width) = (14, 14), (14, 7) or (7, 7); nullptr for others. Call only at MLN_ISA_AVX512.
PaddedTileKernel padded_positions_tile_avx512(int rows, int width);
// The same for a tile of a strided backward data phase's forward (backward_data::
// fused_phase_forwards) with its taps fixed at compile time: tap_rows x tap_columns taps of at most
// 2 x 2 (a 3x3/2's phases), first_tap 0, kc whole channels of them, and skips (the tile's, one per
// tap) that leave out only the last tap column's last-column products and the last tap row's
// steps; the same bits as padded_positions_tile_avx512. nullptr for others.
PaddedTileKernel phase_tile_avx512(int rows, int width, int tap_rows, int tap_columns, const PaddingSkip* skips);
// Where a 3x3 window's taps read A (window_tile_avx512): tap (kh, kw) of channel m at m * channel
// + kh * row + kw * column floats from the first tap.
struct WindowSteps {
    int64_t column, row, channel;
    int64_t second_image = 0;  // image_pair_window_tile_avx512: its second output row's offset from the first
};
// A tile of whole output rows of `width` positions under a 3x3 window with padding 1, depth steps
// whole channels (kc a multiple of 9, from a channel's tap 0): A(i, p) = a[tap p's offset
// (WindowSteps) + (i / width) * pitch + i % width] less the products that read padding: output
// column 0's under tap column 0; the first row's under tap row 0 if `top`; if `padded` (A the
// zero-padded image of a stride-1 "same" window, pitch `row` of steps) the last column's under tap
// column 2 and, if `bottom`, the last row's under tap row 2; with lowered columns (pitch width)
// neither, whatever `bottom` says.
using WindowTileKernel = void (*)(int64_t kc, const float* a, const WindowSteps& steps, const float* b, float* c,
                                  int64_t ldc, bool accumulate, const PrefetchLines& prefetch);
// (rows, width) as padded_positions_tile_avx512, not both top and bottom if padded; nullptr for
// others.
WindowTileKernel window_tile_avx512(int rows, int width, bool padded, bool top, bool bottom);
// The same for a stride-2 3x3 window with padding 1 from an image 2 * width wide (outputs 7 or 14
// wide, the window inside the image on the right and bottom), A the image itself read in place
// (no phase planes, no lowering): `a` at tap (0, 0) of the tile's first position (a row and a
// column before its input, which only the products left out would read), steps {1, the image's
// width, a channel}. nullptr for other (rows, width).
WindowTileKernel strided_window_tile_avx512(int rows, int width, bool top);
// The same over lowered columns (or, if strided, the images as strided_window_tile_avx512 reads
// them) for the tile across two images of 7x7 outputs (pairs_images): 14 rows, the first image's
// last output row, then the second's top row `steps.second_image` floats on, which under tap row 0
// reads only padding (left out, as output column 0's under tap column 0).
WindowTileKernel image_pair_window_tile_avx512(bool strided);
// The B panel: panel[p * 32 + j] = w[j * row_stride + p] for j < rows <= 32, zero for the rest.
void pack_transposed_weights_avx512(const float* w, int64_t row_stride, int64_t rows, int64_t kc, float* panel);
// Taps per pack_tap_columns_avx512 call at most (a multiple of 4: whole columns of 4 taps).
constexpr int64_t kMaxPackedTaps = 64;
// Taps [tap_begin, tap_end) (at most kMaxPackedTaps, tap_begin a multiple of 4) of `rows` <= 32
// channels, channel j's kernel_size taps at block + j * kernel_size: tap_rows[t - tap_begin][j] =
// block[j * kernel_size + t] for j < rows, zero for the rest of its 32 lanes; a nullptr row is
// left out. Call only at MLN_ISA_AVX512.
void pack_tap_columns_avx512(const float* block, int64_t kernel_size, int64_t rows, int64_t tap_begin,
                             int64_t tap_end, float* const* tap_rows);
// The same from a backward pass's filters, flipped: panel[i * 32 + j] = w[m * m_stride + j * K
// + K - 1 - k] for p = pc + i = m * K + k, i < kc, j < rows <= 32 (K = kernel_size).
void pack_flipped_weights_avx512(const float* w, int64_t m_stride, int64_t kernel_size, int64_t rows, int64_t pc,
                                 int64_t kc, float* panel);
// The same into the 16-lane panels of position_panels at AVX2 (the 6 x 16 micro-kernel's B):
// panel[i * 16 + j] as above for j < rows <= 16 (conv_implicit_gemm_avx2.cpp).
constexpr int64_t kFlippedPanelWidthAvx2 = 16;
void pack_flipped_weights_avx2(const float* w, int64_t m_stride, int64_t kernel_size, int64_t rows, int64_t pc,
                               int64_t kc, float* panel);
// The transposed form's lowering where it applies (stride 1, output the input's size, 2-d, at
// most 7x7 taps, nr a multiple of 16, at most 1024 padded columns): as ColumnPanelLowering.
bool same_size_lowering_applies(const WindowGeometry& g, int64_t cols, int64_t nr);
void lower_same_size_avx512(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                            int64_t cols, int64_t nr, float* packed);
// y[r * positions + q] = bias[r] (0 for nullptr) + sum over s < slices of
// sums[s * slice_size + q * ld + r] + residual[r * positions + q] (none for nullptr), then
// max(0, .) if relu, for rows r in [row_begin, row_end).
void write_transposed_sums_avx512(const float* sums, int64_t ld, int64_t slices, int64_t slice_size,
                                  int64_t positions, int64_t row_begin, int64_t row_end, const float* bias,
                                  const float* residual, bool relu, float* y);
// out[c * channel_stride + 2 j] = even[j * ld + c] and out[c * channel_stride + 2 j + 1] =
// odd[j * ld + c] for c < channels, j < width: a row of dx at stride 2 rebuilt from the
// position-major sums of its two column phases (backward_data::fused_phase_forwards).
void write_interleaved_sums_avx512(const float* even, const float* odd, int64_t ld, int64_t width, int64_t channels,
                                   int64_t channel_stride, float* out);
// The same for two consecutive rows of dx at once, row i's column phases at even[0] and odd[0],
// row i + 1's at even[1] and odd[1], with non-temporal stores of whole cache lines: 4 width a
// multiple of 16, out 64-byte aligned, channel_stride a multiple of 16 (the caller fences).
void write_interleaved_row_pair_avx512(const float* const (&even)[2], const float* const (&odd)[2], int64_t ld,
                                       int64_t width, int64_t channels, int64_t channel_stride, float* out);
// implicit_gemm::position_panels' write at AVX2: y[r * positions + q] = (sums[q * ld + r] +
// bias[r]) + residual[r * positions + q] for r < rows, q < positions (bias, residual: none for
// nullptr); the sums and the bias are read only for r < rows.
void write_transposed_sums_avx2(const float* sums, int64_t ld, int64_t positions, int64_t rows, const float* bias,
                                const float* residual, float* y);
#endif

}  // namespace mln::kernels
