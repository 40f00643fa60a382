// The scalar side of the fused GEMM epilogue: c = activation(c) over a block of C, with the
// activation taken from the unary op structs. Bias, residual and ReLU are fused into the
// micro-kernel's store (GemmTileExtras); this covers edge tiles and the other activations,
// applied tile by tile while the tile is still in L1.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "kernels/cpu/elementwise/unary_ops.hpp"

namespace mln::kernels {

template <class T>
using GemmActivation = void (*)(T* c, int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride);

template <class Op, class T>
void gemm_activation(T* c, int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
    const Op op{};  // default parameters: the op as a GEMM activation
    for (int64_t i = 0; i < rows; ++i) {
        T* row = c + i * row_stride;
        for (int64_t j = 0; j < cols; ++j) row[j * col_stride] = op.apply(row[j * col_stride]);
    }
}

// The activation pass for `activation`, or nullptr for the identity.
template <class T>
GemmActivation<T> select_gemm_activation(mln_unary_op activation) {
    if (activation == MLN_UNARY_OP_IDENTITY) return nullptr;
    return visit_unary_op(activation, [](auto op) -> GemmActivation<T> { return &gemm_activation<decltype(op), T>; });
}

}  // namespace mln::kernels
