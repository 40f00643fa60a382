// Kernel entry points: validate, then dispatch through the device's table. Enum arguments are
// read through raw_enum until checked (a C caller may pass any int).
#include <myelin.h>

#include "core/device.hpp"
#include "core/elementwise_validation.hpp"
#include "core/error.hpp"
#include "core/kernel_validation.hpp"
#include "core/raw_enum.hpp"
#include "core/validation.hpp"

extern "C" {

MLN_API mln_status mln_fill(mln_device* device, const mln_tensor_desc* y, double value) {
    return mln::guard("mln_fill", [&] {
        mln_device& d = mln::require_device(device);
        const mln::TensorView view = mln::validate_fill(d, y);
        d.ops->fill(d, view, value);
    });
}

MLN_API mln_status mln_copy(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* y) {
    return mln::guard("mln_copy", [&] {
        mln_device& d = mln::require_device(device);
        const mln::UnaryViews views = mln::validate_copy(d, x, y);
        d.ops->copy_tensor(d, views.x, views.y);
    });
}

MLN_API mln_status mln_cast(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* y) {
    return mln::guard("mln_cast", [&] {
        mln_device& d = mln::require_device(device);
        const mln::UnaryViews views = mln::validate_cast(d, x, y);
        d.ops->cast(d, views.x, views.y);
    });
}

MLN_API mln_status mln_unary(mln_device* device, mln_unary_op op, double alpha, double beta, const mln_tensor_desc* x,
                             const mln_tensor_desc* y) {
    return mln::guard("mln_unary", [&] {
        mln_device& d = mln::require_device(device);
        const mln_unary_op checked_op = mln::validate_unary_op(mln::raw_enum(op), "op");
        mln::validate_unary_params(checked_op, alpha, beta);
        const mln::UnaryViews views = mln::validate_unary(d, x, y);
        d.ops->unary(d, checked_op, alpha, beta, views.x, views.y);
    });
}

MLN_API mln_status mln_binary(mln_device* device, mln_binary_op op, const mln_tensor_desc* a, const mln_tensor_desc* b,
                              const mln_tensor_desc* y) {
    return mln::guard("mln_binary", [&] {
        mln_device& d = mln::require_device(device);
        const mln_binary_op checked_op = mln::validate_binary_op(mln::raw_enum(op));
        const mln::BinaryViews views = mln::validate_binary(d, checked_op, a, b, y);
        d.ops->binary(d, checked_op, views.a, views.b, views.y);
    });
}

MLN_API mln_status mln_reduce(mln_device* device, mln_reduce_op op, const mln_tensor_desc* x, const int32_t* axes,
                              int32_t axis_count, int32_t keepdims, const mln_tensor_desc* y) {
    return mln::guard("mln_reduce", [&] {
        mln_device& d = mln::require_device(device);
        const mln_reduce_op checked_op = mln::validate_reduce_op(mln::raw_enum(op));
        const mln::ReduceArgs args = mln::validate_reduce(d, checked_op, x, axes, axis_count, keepdims, y);
        d.ops->reduce(d, args);
    });
}

// The fixed cost of a call (Zen 5, 2026-12-07): an 8^3 product takes ~104 ns, about half of it
// validation (validate_tensor ~20%, validate_gemm ~18%, half of that GemmArgs's zeroing). At 64^3
// the tiles run at the FMA bound (159 ns per 8x32x64 tile, ~512 cycles): the rest is this part.
// Dropping the batch arrays' default zeros (written in validate_gemm instead) still left a
// `rep stos` for the five TensorViews' defaults.
MLN_API mln_status mln_gemm(mln_device* device, const mln_tensor_desc* a, int32_t transpose_a, const mln_tensor_desc* b,
                            int32_t transpose_b, const mln_tensor_desc* c, double alpha, double beta,
                            const mln_tensor_desc* bias, mln_unary_op activation,
                            const mln_tensor_desc* residual) {
    return mln::guard("mln_gemm", [&] {
        mln_device& d = mln::require_device(device);
        const mln_unary_op checked_activation = mln::validate_unary_op(mln::raw_enum(activation), "activation");
        const mln::GemmArgs args = mln::validate_gemm(d, a, transpose_a, b, transpose_b, c, alpha, beta, bias,
                                                      checked_activation, residual);
        d.ops->gemm(d, args);
    });
}

}  // extern "C"
