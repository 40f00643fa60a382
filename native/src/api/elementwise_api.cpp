// Entry points of the elementwise families beyond unary/binary: validate, then dispatch
// through the device's table.
#include <myelin.h>

#include "core/device.hpp"
#include "core/elementwise_validation.hpp"
#include "core/error.hpp"
#include "core/raw_enum.hpp"
#include "core/validation.hpp"

extern "C" {

MLN_API mln_status mln_unary_backward(mln_device* device, mln_unary_op op, double alpha, double beta,
                                      const mln_tensor_desc* x, const mln_tensor_desc* y, const mln_tensor_desc* dy,
                                      const mln_tensor_desc* dx) {
    return mln::guard("mln_unary_backward", [&] {
        mln_device& d = mln::require_device(device);
        const mln_unary_op checked_op = mln::validate_unary_op(mln::raw_enum(op), "op");
        const mln::UnaryBackwardArgs args = mln::validate_unary_backward(d, checked_op, alpha, beta, x, y, dy, dx);
        d.ops->unary_backward(d, args);
    });
}

MLN_API mln_status mln_where(mln_device* device, const mln_tensor_desc* cond, const mln_tensor_desc* a,
                             const mln_tensor_desc* b, const mln_tensor_desc* y) {
    return mln::guard("mln_where", [&] {
        mln_device& d = mln::require_device(device);
        const mln::WhereArgs args = mln::validate_where(d, cond, a, b, y);
        d.ops->where(d, args);
    });
}

MLN_API mln_status mln_softmax(mln_device* device, mln_softmax_op op, int32_t axis, const mln_tensor_desc* x,
                               const mln_tensor_desc* y) {
    return mln::guard("mln_softmax", [&] {
        mln_device& d = mln::require_device(device);
        const mln::SoftmaxArgs args =
            mln::validate_softmax(d, mln::raw_enum(op), axis, x, "x", nullptr, y, "y", /*backward=*/false);
        d.ops->softmax(d, args);
    });
}

MLN_API mln_status mln_softmax_backward(mln_device* device, mln_softmax_op op, int32_t axis, const mln_tensor_desc* y,
                                        const mln_tensor_desc* dy, const mln_tensor_desc* dx) {
    return mln::guard("mln_softmax_backward", [&] {
        mln_device& d = mln::require_device(device);
        const mln::SoftmaxArgs args =
            mln::validate_softmax(d, mln::raw_enum(op), axis, y, "y", dy, dx, "dx", /*backward=*/true);
        d.ops->softmax_backward(d, args);
    });
}

MLN_API mln_status mln_optimizer_step(mln_device* device, const mln_optimizer_params* params,
                                      const mln_tensor_desc* param, const mln_tensor_desc* grad,
                                      const mln_tensor_desc* state0, const mln_tensor_desc* state1) {
    return mln::guard("mln_optimizer_step", [&] {
        mln_device& d = mln::require_device(device);
        const mln::OptimizerArgs args = mln::validate_optimizer_step(d, params, param, grad, state0, state1);
        d.ops->optimizer_step(d, args);
    });
}

MLN_API mln_status mln_dropout(mln_device* device, double p, uint64_t seed, uint64_t offset, const mln_tensor_desc* x,
                               const mln_tensor_desc* y, const mln_tensor_desc* mask) {
    return mln::guard("mln_dropout", [&] {
        mln_device& d = mln::require_device(device);
        const mln::DropoutArgs args = mln::validate_dropout(d, p, seed, offset, x, y, mask);
        d.ops->dropout(d, args);
    });
}

}  // extern "C"
