// The direct backward filter's micro-kernel (conv_backward_filter.hpp, direct mode): one tile of
// dW^T, MR depth rows (channels of one tap) x NR output channels, over a rectangle of output
// positions, `rows` output rows of `length` each:
//   C(i, j) (+)= sum_{r < rows, q < length} a[i * a_row_stride + r * a_pitch + q] * b[(r * length + q) * NR + j]
// A is read in place from the padded image (a_pitch: the padded row), B is dy packed in NR-wide
// panels. The GEMM micro-kernel does one output row per call; this one keeps the tile in
// registers over the whole rectangle (ResNet-18's layer2 3x3, 28 wide, batch 1, one thread, CPU
// time: lowered path 1.43 ms, direct with the GEMM micro-kernel per row 1.94, with this 1.19).
// C is written with beta 0 when `first`.
// AVX-512 f32 only (MR 8, NR two registers, as the AVX-512 GEMM micro-kernel), where direct mode
// was measured; elsewhere the backward filter lowers the columns.
#pragma once

#include <myelin.h>

#include <algorithm>
#include <cstdint>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/prefetch.hpp"

namespace mln::kernels {

// Rows of memory that a direct or dot call asks for, a cache line at a time between its steps
// (the next position block's dy rows and input rows, which come from memory at large batches):
// `rows` rows of `lines_per_row` lines, `stride` bytes apart, from line `line` of `row`; at most
// `per_call` lines a call. The call leaves it at the first line it did not ask for.
struct PrefetchRows {
    const char* row;
    int64_t rows, lines_per_row, stride, line, per_call;
};
constexpr int kPrefetchStreams = 2;

// prefetch: kPrefetchStreams streams, asked for a share of each call's lines per output row.
template <class T>
using DirectRowsKernel = void (*)(int64_t rows, int64_t length, const T* a, int64_t a_row_stride, int64_t a_pitch,
                                  const T* b, T* c, int64_t ldc, bool first, PrefetchRows* prefetch);

// The same tile where row i of A starts at a + a_rows_at[i]: any MR depth rows, such as the taps of
// a stem's few channels in their phase planes (conv_backward_filter.hpp, dot mode's panels).
// panel_rows: MR, or kShortPanelRows.
template <class T>
using DirectRowsAtKernel = void (*)(int panel_rows, int64_t rows, int64_t length, const T* a,
                                    const int64_t* a_rows_at, int64_t a_pitch, const T* b, T* c, int64_t ldc,
                                    bool first, PrefetchRows* prefetch);
constexpr int kShortPanelRows = 7;

// The end of a direct task: its dW^T tiles back into dW (row stride depth),
//   dw[m * depth + c * kernel_size + t] = dw_t[(t * panel_channels + c) * out_channels + m]
// for c < channels, t < kernel_size, m < out_channels.
template <class T>
using DirectUntranspose = void (*)(const T* dw_t, int64_t out_channels, int64_t panel_channels, int64_t channels,
                                   int64_t kernel_size, T* dw, int64_t depth);

// Dot mode (conv_backward_filter.hpp: few depth rows at stride 2): sums of 8 rows of dy against
// 3 rows of the column matrix, both contiguous along the positions, the lanes running along them:
//   S(i, j) (+)= sum_{r < rows, q < width} a[i * a_row_stride + r * width + q] * b[j][r * b_pitch + q]
// per (i, j) a vector of L partial sums at sums + (i * 3 + j) * L, L the ISA's lanes
// (BackwardFilterDot::lanes; lanes past width read 0), written without reading them when `first`.
// Nothing is transposed or packed, and no row of the tile is padding (8 x 32 GEMM tiles over
// MobileNet-v2's stem, 27 deep, were 27 / 32 useful).
constexpr int kDotRows = 8;
constexpr int kDotCols = 3;
// prefetch: kPrefetchStreams streams, or nullptr for none.
using BackwardFilterDotKernel = void (*)(int64_t rows, int64_t width, const float* a, int64_t a_row_stride,
                                         const float* const* b, int64_t b_pitch, float* sums, bool first,
                                         PrefetchRows* prefetch);
// The same sums where the 3 column rows are one tap row of x at stride 2 with one column of left
// padding (kernel width 3, pad 1): b[j][r * b_pitch + q] = row[r * pitch + 2 q + j - 1], 0 outside
// [0, width); x's rows read in place and split into even and odd columns in registers. Where
// `split` is set the kernel also stores them, lanes past the sums' width 0 (AVX2 splits them into
// it before it sums: BackwardFilterDot::row_splits_first): row r's odd columns
// (b[2]) at split + r * split_pitch, its even ones (b[1]) split_even after, so that the dot kernel
// reads them again from there (b[0] = odd - 1: the element before must be 0, the left padding).
struct DotXRows {
    const float* row;
    int64_t pitch, width;
    float* split;
    int64_t split_pitch, split_even;
};
using BackwardFilterDotRowKernel = void (*)(int64_t rows, int64_t width, const float* a, int64_t a_row_stride,
                                            const DotXRows& x, float* sums, bool first, PrefetchRows* prefetch);
// totals[k] = the sum of the L lanes at sums + L k, k < count, each added in the same tree.
using DotLaneTotals = void (*)(const float* sums, int64_t count, float* totals);
// Rows [i0, i1) of the stride-2 phase planes of `channels` channels of x (2-d; plane (ph, pw) of
// channel c at planes + (4 c + 2 ph + pw) * plane_h * plane_w): element (i, j) = x[2 (i - top) +
// ph][2 (j - left) + pw], 0 outside the image.
using PaddedPhaseRows = void (*)(const float* x, const WindowGeometry& g, int64_t channels, int64_t top, int64_t left,
                                 int64_t plane_h, int64_t plane_w, int64_t i0, int64_t i1, float* planes);

// Asks for the stream's next line if this call's share has not run out (a direct or dot kernel's
// step). Inlined by force (common/prefetch.hpp: GCC drops out-of-line prefetches).
MLN_ALWAYS_INLINE void prefetch_next_line(PrefetchRows& s, int64_t& left) {
    if (left > 0 && s.rows > 0) {
        prefetch_lines(s.row + s.line * 64, 1);
        --left;
        if (++s.line == s.lines_per_row) {
            s.line = 0;
            s.row += s.stride;
            --s.rows;
        }
    }
}

// A stream's share of one call as the AVX-512 dot kernel's steps walk it: the next line, the lines
// left in its row and in the share (all of the share's lines in the order prefetch_next_line asks
// for them). Three general registers a stream and one test a step, where prefetch_next_line keeps
// all of PrefetchRows and tests two counts, which beside the dot kernel's addressing GCC spilled
// to the stack and reloaded every step (the direct kernel and AVX2, not measured, keep it).
struct PrefetchCursor {
    const char* line;
    int64_t in_row, left;
    explicit PrefetchCursor(const PrefetchRows& s)
        : line(s.row + s.line * 64),
          in_row(s.lines_per_row - s.line),
          left(s.rows > 0 ? std::min(s.per_call, s.rows * s.lines_per_row - s.line) : 0) {}
    // Asks for the next line if the share has one left.
    MLN_ALWAYS_INLINE void step(const PrefetchRows& s) {
        if (left > 0) {
            prefetch_lines(line, 1);
            --left;
            line += 64;
            if (--in_row == 0) {
                line += s.stride - s.lines_per_row * 64;
                in_row = s.lines_per_row;
            }
        }
    }
    // The lines of the share the steps did not reach, then s moved past the share (`share`: left
    // as constructed).
    MLN_ALWAYS_INLINE void finish(PrefetchRows& s, int64_t share) {
        while (left > 0) step(s);
        if (share > 0) {
            const int64_t lines = s.line + share;
            s.row += lines / s.lines_per_row * s.stride;
            s.rows -= lines / s.lines_per_row;
            s.line = lines % s.lines_per_row;
        }
    }
};

// The lane totals' walk (DotLaneTotals) for kLanes-lane sums, kLanes vectors at a time:
// add_group(group, k0, n) gets the vectors k0.. k0 + n - 1 at `group`, a last partial group copied
// into zeroed vectors first, so every group is whole.
template <int kLanes, class AddGroup>
MLN_ALWAYS_INLINE void for_each_lane_group(const float* sums, int64_t count, AddGroup&& add_group) {
    alignas(64) float tail[kLanes * kLanes];
    for (int64_t k0 = 0; k0 < count; k0 += kLanes) {
        const float* group = sums + k0 * kLanes;
        const int64_t n = count - k0 < kLanes ? count - k0 : kLanes;
        if (n < kLanes) {
            for (int64_t i = 0; i < kLanes * kLanes; ++i) tail[i] = i < n * kLanes ? group[i] : 0.0f;
            group = tail;
        }
        add_group(group, k0, n);
    }
}

#if defined(MYELIN_X86_64_KERNELS)
void backward_filter_dot_avx2(int64_t rows, int64_t width, const float* a, int64_t a_row_stride,
                              const float* const* b, int64_t b_pitch, float* sums, bool first,
                              PrefetchRows* prefetch);
void backward_filter_dot_row_avx2(int64_t rows, int64_t width, const float* a, int64_t a_row_stride,
                                  const DotXRows& x, float* sums, bool first, PrefetchRows* prefetch);
void backward_filter_dot_totals_avx2(const float* sums, int64_t count, float* totals);
void backward_filter_dot_avx512(int64_t rows, int64_t width, const float* a, int64_t a_row_stride,
                                const float* const* b, int64_t b_pitch, float* sums, bool first,
                                PrefetchRows* prefetch);
void backward_filter_dot_row_avx512(int64_t rows, int64_t width, const float* a, int64_t a_row_stride,
                                    const DotXRows& x, float* sums, bool first, PrefetchRows* prefetch);
void backward_filter_dot_totals_avx512(const float* sums, int64_t count, float* totals);
void padded_phase_rows_avx512(const float* x, const WindowGeometry& g, int64_t channels, int64_t top, int64_t left,
                              int64_t plane_h, int64_t plane_w, int64_t i0, int64_t i1, float* planes);
void backward_filter_rows_avx512(int64_t rows, int64_t length, const float* a, int64_t a_row_stride, int64_t a_pitch,
                                 const float* b, float* c, int64_t ldc, bool first, PrefetchRows* prefetch);
void backward_filter_rows_at_avx512(int panel_rows, int64_t rows, int64_t length, const float* a,
                                    const int64_t* a_rows_at, int64_t a_pitch, const float* b, float* c, int64_t ldc,
                                    bool first, PrefetchRows* prefetch);
void backward_filter_untranspose_avx512(const float* dw_t, int64_t out_channels, int64_t panel_channels,
                                        int64_t channels, int64_t kernel_size, float* dw, int64_t depth);
#endif

// The kernel for `isa` and the GEMM micro-kernel's tile (mr x nr), or nullptr where none fits.
template <class T>
DirectRowsKernel<T> direct_rows_kernel(mln_isa isa, int mr, int nr) {
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (sizeof(T) == 4) {
        if (isa == MLN_ISA_AVX512 && mr == 8 && nr == 32) return backward_filter_rows_avx512;
    }
#endif
    (void)isa;
    (void)mr;
    (void)nr;
    return nullptr;
}

// The any-rows kernel for `isa` and the GEMM micro-kernel's tile, or nullptr where none fits.
template <class T>
DirectRowsAtKernel<T> direct_rows_at_kernel(mln_isa isa, int mr, int nr) {
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (sizeof(T) == 4) {
        if (isa == MLN_ISA_AVX512 && mr == 8 && nr == 32) return backward_filter_rows_at_avx512;
    }
#endif
    (void)isa;
    (void)mr;
    (void)nr;
    return nullptr;
}

// The untransposition for `isa`, or nullptr where direct mode has no kernel.
template <class T>
DirectUntranspose<T> direct_untranspose(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (sizeof(T) == 4) {
        if (isa == MLN_ISA_AVX512) return backward_filter_untranspose_avx512;
    }
#endif
    (void)isa;
    return nullptr;
}

// The ISA's dot kernels and the lanes of their partial sums. AVX2 has no phase planes: its dot mode
// takes only the shapes whose column rows are x's rows (dot_reads_x_rows; the stems' 7x7/2 keeps
// the lowered path there).
struct BackwardFilterDot {
    BackwardFilterDotKernel dot = nullptr;  // nullptr: none at this ISA
    BackwardFilterDotRowKernel dot_row = nullptr;
    PaddedPhaseRows phase_rows = nullptr;
    DotLaneTotals totals = nullptr;
    int64_t lanes = 0;
    bool row_splits_first = false;  // dot_row needs `split` even where no other tile reads it
};

inline BackwardFilterDot backward_filter_dot(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) {
        return {backward_filter_dot_avx512, backward_filter_dot_row_avx512, padded_phase_rows_avx512,
                backward_filter_dot_totals_avx512, 16};
    }
    if (isa == MLN_ISA_AVX2) {
        return {backward_filter_dot_avx2, backward_filter_dot_row_avx2, nullptr, backward_filter_dot_totals_avx2, 8,
                true};
    }
#endif
    (void)isa;
    return {};
}

}  // namespace mln::kernels
