// Validation of whole kernel calls: every tensor, their agreement, and support on the device.
// Op enums come in already checked (validate_*_op). Each returns the arguments in the form
// the device table takes.
#pragma once

#include <myelin.h>

#include "core/device.hpp"
#include "core/kernel_args.hpp"
#include "core/tensor_view.hpp"

namespace mln {

// Throws NOT_SUPPORTED when the device has no `kernel` for `dtype`.
void require_supported(const mln_device& device, mln_kernel kernel, mln_dtype dtype);

struct UnaryViews {
    TensorView x;
    TensorView y;
};
struct BinaryViews {
    TensorView a;  // broadcast to y's shape
    TensorView b;  // broadcast to y's shape
    TensorView y;
};

TensorView validate_fill(const mln_device& device, const mln_tensor_desc* y);
UnaryViews validate_copy(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* y);
UnaryViews validate_cast(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* y);
UnaryViews validate_unary(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* y);
BinaryViews validate_binary(const mln_device& device, mln_binary_op op, const mln_tensor_desc* a,
                            const mln_tensor_desc* b, const mln_tensor_desc* y);
ReduceArgs validate_reduce(const mln_device& device, mln_reduce_op op, const mln_tensor_desc* x, const int32_t* axes,
                           int32_t axis_count, int32_t keepdims, const mln_tensor_desc* y);
GemmArgs validate_gemm(const mln_device& device, const mln_tensor_desc* a, int32_t transpose_a,
                       const mln_tensor_desc* b, int32_t transpose_b, const mln_tensor_desc* c, double alpha,
                       double beta, const mln_tensor_desc* bias, mln_unary_op activation,
                       const mln_tensor_desc* residual = nullptr);

}  // namespace mln
