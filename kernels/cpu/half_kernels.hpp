// f16/bf16 tensors computed in f32: each entry point widens its operands block by block into
// f32 scratch (kernels/cpu/common/half_convert.hpp), runs the f32 kernel of the op on the
// block, and narrows the result once. So an op's f16/bf16 result is its f32 result on the
// widened inputs, rounded to nearest even: one rounding, the same at every ISA.
#pragma once

#include <myelin.h>

#include "core/kernel_args.hpp"
#include "core/tensor_view.hpp"

namespace mln::kernels {

// mln_gemm with a, b, c (and bias, residual) all f16 or all bf16; f32 accumulation.
void gemm_half(const GemmArgs& args);
// mln_unary / mln_binary on f16 or bf16 (y bool for comparisons), for the ops defined on f32.
void unary_half(mln_unary_op op, double alpha, double beta, const TensorView& x, const TensorView& y);
void binary_half(mln_binary_op op, const TensorView& a, const TensorView& b, const TensorView& y);

}  // namespace mln::kernels
