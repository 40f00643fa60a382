// Validation of the elementwise entry points beyond unary/binary (api/elementwise_api.cpp).
#pragma once

#include <myelin.h>

#include "core/device.hpp"
#include "core/elementwise_args.hpp"

namespace mln {

// Checks the op parameters of mln_unary / mln_unary_backward (celu needs alpha != 0).
void validate_unary_params(mln_unary_op op, double alpha, double beta);
UnaryBackwardArgs validate_unary_backward(const mln_device& device, mln_unary_op op, double alpha, double beta,
                                          const mln_tensor_desc* x, const mln_tensor_desc* y,
                                          const mln_tensor_desc* dy, const mln_tensor_desc* dx);
WhereArgs validate_where(const mln_device& device, const mln_tensor_desc* cond, const mln_tensor_desc* a,
                         const mln_tensor_desc* b, const mln_tensor_desc* y);
// backward: input is y (forward output) and grad is dy; forward: grad is unused.
SoftmaxArgs validate_softmax(const mln_device& device, int32_t op, int32_t axis, const mln_tensor_desc* input,
                             const char* input_name, const mln_tensor_desc* grad, const mln_tensor_desc* output,
                             const char* output_name, bool backward);
OptimizerArgs validate_optimizer_step(const mln_device& device, const mln_optimizer_params* params,
                                      const mln_tensor_desc* param, const mln_tensor_desc* grad,
                                      const mln_tensor_desc* state0, const mln_tensor_desc* state1);
DropoutArgs validate_dropout(const mln_device& device, double p, uint64_t seed, uint64_t offset,
                             const mln_tensor_desc* x, const mln_tensor_desc* y, const mln_tensor_desc* mask);

}  // namespace mln
