// Packing of GEMM operands into the panel layouts the micro-kernels read (gemm_microkernel.hpp).
// Packing reads any strides (transposes and negative strides included) and pads edge panels
// with zeros, so micro-kernels always see full MR x kc and kc x NR panels. The loop order
// follows the source's contiguous direction, so both transposes pack at streaming speed.
#pragma once

#include <cstdint>

#include "kernels/cpu/gemm/gemm_microkernel.hpp"

namespace mln::kernels {

// A strided matrix: element (i, j) at data[i * row_stride + j * col_stride].
template <class T>
struct MatrixRef {
    const T* data;
    int64_t row_stride;
    int64_t col_stride;
    const T& operator()(int64_t i, int64_t j) const { return data[i * row_stride + j * col_stride]; }
};

// Packs rows [row, row+rows) x columns [col, col+depth) of A into panels of MR rows:
// panel r holds rows r*MR.. as depth columns of MR values, at packed + r*MR*depth.
template <class T>
void pack_a_panels(const MatrixRef<T>& a, int64_t row, int64_t rows, int64_t col, int64_t depth, int mr,
                   const GemmPanelPackers<T>& packers, T* packed) {
    int64_t panel = 0;
    if (packers.a_columns != nullptr && a.row_stride == 1 && rows >= mr) {
        // All full panels in one pass over the columns of op(a) (sequential reads of each).
        const int64_t full = rows / mr;
        packers.a_columns(&a(row, col), a.col_stride, depth, full, packed);
        panel = full * mr;
        packed += full * mr * depth;
    }
    for (; panel < rows; panel += mr) {
        const int64_t valid = rows - panel < mr ? rows - panel : mr;
        const T* source = &a(row + panel, col);
        if (packers.a_rows != nullptr && a.col_stride == 1 && valid == mr) {
            packers.a_rows(source, a.row_stride, depth, packed);
        } else if (a.row_stride == 1 && valid == mr) {  // op(a) columns are contiguous (a transposed)
            for (int64_t p = 0; p < depth; ++p) {
                for (int64_t i = 0; i < mr; ++i) packed[p * mr + i] = source[p * a.col_stride + i];
            }
        } else {  // walk each row along its contiguous direction (a not transposed)
            for (int64_t i = 0; i < valid; ++i) {
                const T* line = source + i * a.row_stride;
                for (int64_t p = 0; p < depth; ++p) packed[p * mr + i] = line[p * a.col_stride];
            }
            for (int64_t i = valid; i < mr; ++i) {
                for (int64_t p = 0; p < depth; ++p) packed[p * mr + i] = T(0);
            }
        }
        packed += mr * depth;
    }
}

// Packs rows [row, row+depth) x columns [col, col+cols) of B into panels of NR columns:
// panel s holds columns s*NR.. as depth rows of NR values, at packed + s*NR*depth.
template <class T>
void pack_b_panels(const MatrixRef<T>& b, int64_t row, int64_t depth, int64_t col, int64_t cols, int nr,
                   const GemmPanelPackers<T>& packers, T* packed) {
    int64_t panel = 0;
    if (packers.b_rows != nullptr && b.col_stride == 1 && cols >= nr) {
        // All full panels in one pass over the rows (sequential reads of each source row).
        const int64_t full = cols / nr;
        packers.b_rows(&b(row, col), b.row_stride, depth, full, packed);
        panel = full * nr;
        packed += full * nr * depth;
    }
    for (; panel < cols; panel += nr) {
        const int64_t valid = cols - panel < nr ? cols - panel : nr;
        const T* source = &b(row, col + panel);
        if (packers.b_columns != nullptr && b.row_stride == 1) {
            packers.b_columns(source, b.col_stride, depth, static_cast<int>(valid), packed);
        } else if (b.col_stride == 1) {  // rows of op(b) are contiguous (b not transposed)
            for (int64_t p = 0; p < depth; ++p) {
                for (int64_t j = 0; j < valid; ++j) packed[p * nr + j] = source[p * b.row_stride + j];
                for (int64_t j = valid; j < nr; ++j) packed[p * nr + j] = T(0);
            }
        } else {  // walk each column along its contiguous direction (b transposed)
            for (int64_t j = 0; j < valid; ++j) {
                const T* line = source + j * b.col_stride;
                for (int64_t p = 0; p < depth; ++p) packed[p * nr + j] = line[p * b.row_stride];
            }
            for (int64_t j = valid; j < nr; ++j) {
                for (int64_t p = 0; p < depth; ++p) packed[p * nr + j] = T(0);
            }
        }
        packed += nr * depth;
    }
}

}  // namespace mln::kernels
