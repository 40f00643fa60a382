// The fused GEMM epilogue: c = activation(c + bias[j]) over a block of C, with the activation
// taken from the unary op structs. Shared by the optimized driver and the reference twin.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "kernels/cpu/elementwise/unary_ops.hpp"

namespace mln::kernels {

// A block of C (rows x cols, strided) and an optional bias vector (stride in elements).
template <class T>
using GemmEpilogue = void (*)(T* c, int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride,
                              const T* bias, int64_t bias_stride);

template <class Op, class T>
void gemm_epilogue(T* c, int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride, const T* bias,
                   int64_t bias_stride) {
    for (int64_t i = 0; i < rows; ++i) {
        T* row = c + i * row_stride;
        for (int64_t j = 0; j < cols; ++j) {
            T& value = row[j * col_stride];
            value = Op::apply(bias != nullptr ? value + bias[j * bias_stride] : value);
        }
    }
}

// The epilogue for `activation`, or nullptr when there is nothing to do (identity, no bias).
template <class T>
GemmEpilogue<T> select_gemm_epilogue(mln_unary_op activation, bool has_bias) {
    if (activation == MLN_UNARY_OP_IDENTITY && !has_bias) return nullptr;
    return visit_unary_op(activation, [](auto op) -> GemmEpilogue<T> { return &gemm_epilogue<decltype(op), T>; });
}

}  // namespace mln::kernels
