// Reference twins of the CPU kernels: the plainest correct code, one element at a time, no
// threads, no layout tricks. Tests compare the optimized kernels against these. They share
// only the op structs (the definition of each op) with the optimized kernels.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/kernel_args.hpp"
#include "core/tensor_view.hpp"

namespace mln::reference {

void fill(const TensorView& y, double value);
// x has y's shape (it may have zero strides).
void copy(const TensorView& x, const TensorView& y);
void cast(const TensorView& x, const TensorView& y);
void unary(mln_unary_op op, double alpha, double beta, const TensorView& x, const TensorView& y);
// a and b broadcast against y NumPy style (this twin does its own index mapping).
void binary(mln_binary_op op, const TensorView& a, const TensorView& b, const TensorView& y);
// Reduces x over the axes in reduced_axes (bit d = axis d) into y, which has x's shape with
// those axes set to 1 (keepdims) or removed.
void reduce(mln_reduce_op op, const TensorView& x, uint32_t reduced_axes, bool keepdims, const TensorView& y);
// Along axis (0..rank-1) of x, any strides. arg_reduce's y has x's rank with the axis of size 1;
// top_k's values and indices have it of size k.
void arg_reduce(mln_reduce_op op, const TensorView& x, int32_t axis, bool select_last_index, const TensorView& y);
void top_k(const TensorView& x, int32_t axis, int64_t k, bool largest, const TensorView& values,
           const TensorView& indices);
void cumsum(const TensorView& x, int32_t axis, bool exclusive, bool reverse, const TensorView& y);
// The triple loop, accumulating in double.
void gemm(const GemmArgs& args);

}  // namespace mln::reference
