// Reference twins of the elementwise families beyond unary/binary (reference_softmax_optim.cpp):
// one element or row at a time, in double, no threads.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/elementwise_args.hpp"
#include "core/tensor_view.hpp"

namespace mln::reference {

// cond, a and b broadcast against y NumPy style.
void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& y);
// axis normalized; computed in double.
void softmax(mln_softmax_op op, int32_t axis, const TensorView& x, const TensorView& y);
void softmax_backward(mln_softmax_op op, int32_t axis, const TensorView& y, const TensorView& dy, const TensorView& dx);
// The update rules written out per kind in double, element by element (states may be empty
// views for kinds that do not use them).
void optimizer_step(const mln_optimizer_params& params, const TensorView& param, const TensorView& grad,
                    const TensorView& state0, const TensorView& state1);
// Sequential: element i (row-major) keeps iff Philox word (offset + i) >> 8 is >= p 2^24.
void dropout(double p, uint64_t seed, uint64_t offset, const TensorView& x, const TensorView& y,
             const TensorView& mask);

}  // namespace mln::reference
