// Packing of GEMM operands into the panel layouts the micro-kernels read (gemm_microkernel.hpp).
// Packing reads any strides (transposes and negative strides included) and pads edge panels
// with zeros, so micro-kernels always see full MR x kc and kc x NR panels.
#pragma once

#include <cstdint>

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
void pack_a_panels(const MatrixRef<T>& a, int64_t row, int64_t rows, int64_t col, int64_t depth, int mr, T* packed) {
    for (int64_t panel = 0; panel < rows; panel += mr) {
        const int64_t valid = rows - panel < mr ? rows - panel : mr;
        for (int64_t p = 0; p < depth; ++p) {
            for (int64_t i = 0; i < valid; ++i) packed[i] = a(row + panel + i, col + p);
            for (int64_t i = valid; i < mr; ++i) packed[i] = T(0);
            packed += mr;
        }
    }
}

// Packs rows [row, row+depth) x columns [col, col+cols) of B into panels of NR columns:
// panel s holds columns s*NR.. as depth rows of NR values, at packed + s*NR*depth.
template <class T>
void pack_b_panels(const MatrixRef<T>& b, int64_t row, int64_t depth, int64_t col, int64_t cols, int nr, T* packed) {
    for (int64_t panel = 0; panel < cols; panel += nr) {
        const int64_t valid = cols - panel < nr ? cols - panel : nr;
        for (int64_t p = 0; p < depth; ++p) {
            for (int64_t j = 0; j < valid; ++j) packed[j] = b(row + p, col + panel + j);
            for (int64_t j = valid; j < nr; ++j) packed[j] = T(0);
            packed += nr;
        }
    }
}

}  // namespace mln::kernels
