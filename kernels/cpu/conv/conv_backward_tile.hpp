// One micro-kernel tile of the backward convolutions' implicit GEMMs (conv_backward_filter.hpp,
// conv_backward_data.hpp), whose operands are read in place where they can be: C (rows x cols,
// at most MR x NR, row stride ldc) = A * B over kc on the first depth block, C += A * B after.
// A(i, k) = a[i * a_row_stride + k * a_col_stride], B(k, j) = b[k * b_row_stride + j] (a packed
// panel or rows of contiguous values, NR of them readable). Edge tiles go through a scratch tile,
// adding in the same order as the full ones, so a result does not depend on where tiles fall.
#pragma once

#include <cstdint>

#include "kernels/cpu/gemm/gemm_microkernel.hpp"

namespace mln::kernels {

// The first rows x cols of a scratch tile (row stride nr) into C: stored on the first depth
// block, added after it.
template <class T>
void add_scratch_tile(const T* tile, int64_t nr, T* c, int64_t ldc, int64_t rows, int64_t cols, bool first) {
    for (int64_t i = 0; i < rows; ++i) {
        T* target = c + i * ldc;
        for (int64_t j = 0; j < cols; ++j) target[j] = first ? tile[i * nr + j] : target[j] + tile[i * nr + j];
    }
}

template <class T>
void accumulate_tile(GemmMicroKernel<T> kernel, int mr, int nr, int64_t kc, const T* a, int64_t a_row_stride,
                     int64_t a_col_stride, const T* b, int64_t b_row_stride, T* c, int64_t ldc, int64_t rows,
                     int64_t cols, bool first) {
    if (rows == mr && cols == nr) {
        kernel(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, T(1), first ? T(0) : T(1), nullptr);
        return;
    }
    T tile[kMaxMicroTile];
    kernel(kc, a, a_row_stride, a_col_stride, b, b_row_stride, tile, nr, T(1), T(0), nullptr);
    add_scratch_tile(tile, nr, c, ldc, rows, cols, first);
}

// A tile of `rows` (fewer than MR) through the set's edge kernel, always over all NR columns of
// B's panel (zero-padded to NR): the AVX-512 edge kernel sums tiles of few columns in another
// order, so a tile cut short where a task's columns end would give bits that depend on the thread
// count. Fewer than NR columns wanted go through a scratch tile. A is packed `rows` to a column.
template <class T>
void accumulate_edge_tile(GemmEdgeMicroKernel<T> edge, int rows, int nr, int64_t kc, const T* a, const T* b, T* c,
                          int64_t ldc, int64_t cols, bool first) {
    if (cols == nr) {
        edge(rows, nr, kc, a, 1, rows, b, nr, c, ldc, T(1), first ? T(0) : T(1), nullptr);
        return;
    }
    T tile[kMaxMicroTile];
    edge(rows, nr, kc, a, 1, rows, b, nr, tile, nr, T(1), T(0), nullptr);
    add_scratch_tile(tile, nr, c, ldc, rows, cols, first);
}

}  // namespace mln::kernels
