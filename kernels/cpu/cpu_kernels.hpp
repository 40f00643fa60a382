// Entry points of the CPU kernel families. Arguments are validated by the api layer; inputs
// are broadcast to the output's shape. A family throws Error(NOT_SUPPORTED) for an op/dtype
// pair it does not implement, before touching memory.
#pragma once

#include <myelin.h>

#include "core/elementwise_args.hpp"
#include "core/kernel_args.hpp"
#include "core/tensor_view.hpp"

namespace mln::kernels {

void fill(const TensorView& y, double value);
void copy(const TensorView& x, const TensorView& y);
void cast(const TensorView& x, const TensorView& y);
void unary(mln_unary_op op, double alpha, double beta, const TensorView& x, const TensorView& y);
void binary(mln_binary_op op, const TensorView& a, const TensorView& b, const TensorView& y);
void reduce(const ReduceArgs& args);
// Along one axis (kernels/cpu/reduce): position of the maximum or minimum, the k most extreme
// values with their positions, and the cumulative sum.
void arg_reduce(const ArgReduceArgs& args);
void top_k(const TopKArgs& args);
void cumsum(const CumSumArgs& args);
void gemm(const GemmArgs& args);
void unary_backward(const UnaryBackwardArgs& args);
void where(const WhereArgs& args);
void softmax(const SoftmaxArgs& args);
void softmax_backward(const SoftmaxArgs& args);
void optimizer_step(const OptimizerArgs& args);
void dropout(const DropoutArgs& args);

// Whether the family has at least one op for dtype.
bool supports(mln_kernel kernel, mln_dtype dtype);

}  // namespace mln::kernels
