// A raw-pointer front end to the GEMM driver (kernels::gemm) for row-major matrices with
// leading dimensions, as the convolution drivers hold them. It only builds views: blocking,
// packing, micro-kernels and threading stay the driver's.
#pragma once

#include <cstdint>

#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

namespace mln::kernels {

template <class T>
constexpr mln_dtype float_dtype_of() {
    return sizeof(T) == 4 ? MLN_DTYPE_F32 : MLN_DTYPE_F64;
}

template <class T>
TensorView matrix_view(const T* data, int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
    TensorView view;
    view.data = const_cast<T*>(data);
    view.dtype = float_dtype_of<T>();
    view.rank = 2;
    view.shape[0] = rows;
    view.shape[1] = cols;
    view.strides[0] = row_stride;
    view.strides[1] = col_stride;
    view.element_count = rows * cols;
    return view;
}

// c (m x n, row stride ldc) = op(a) * op(b) + beta * c, where op(a) is m x k and op(b)
// is k x n. a is stored m x k (lda) or, transposed, k x m (lda); likewise b. Threads per the
// driver: a call from inside a parallel region runs on the calling thread.
template <class T>
void gemm_rowmajor(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
                   const T* b, int64_t ldb, T* c, int64_t ldc, double beta) {
    GemmArgs args;
    args.a = transpose_a ? matrix_view(a, m, k, 1, lda) : matrix_view(a, m, k, lda, 1);
    args.b = transpose_b ? matrix_view(b, k, n, 1, ldb) : matrix_view(b, k, n, ldb, 1);
    args.c = matrix_view<T>(c, m, n, ldc, 1);
    args.m = m;
    args.n = n;
    args.k = k;
    args.beta = beta;
    gemm(args);
}

}  // namespace mln::kernels
