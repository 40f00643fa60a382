// Validation of the kernel calls that work along one axis of a contiguous tensor: arg_reduce,
// top_k and cumsum. Each checks the descriptors, the axis and the parameters, their agreement
// and device support, and returns the arguments in the form the device table takes.
#pragma once

#include <myelin.h>

#include "core/device.hpp"
#include "core/kernel_args.hpp"

namespace mln {

// `op` is already checked (validate_reduce_op) but must be MAX or MIN here.
ArgReduceArgs validate_arg_reduce(const mln_device& device, mln_reduce_op op, const mln_tensor_desc* x, int32_t axis,
                                  int32_t keepdims, int32_t select_last_index, const mln_tensor_desc* y);
TopKArgs validate_top_k(const mln_device& device, const mln_tensor_desc* x, int32_t axis, int64_t k, int32_t largest,
                        const mln_tensor_desc* values, const mln_tensor_desc* indices);
CumSumArgs validate_cumsum(const mln_device& device, const mln_tensor_desc* x, int32_t axis, int32_t exclusive,
                           int32_t reverse, const mln_tensor_desc* y);

}  // namespace mln
