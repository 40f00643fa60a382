// Normalization entry points: validate (core/nn_validation), then dispatch through the device.
// Layer norm runs on the group-norm slots (one group over the trailing dimensions).
#include <myelin.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/nn_validation.hpp"

extern "C" {

MLN_API mln_status mln_batch_norm_forward_training(mln_device* device, const mln_tensor_desc* x,
                                                   const mln_tensor_desc* scale, const mln_tensor_desc* bias,
                                                   double epsilon, double momentum,
                                                   const mln_tensor_desc* running_mean,
                                                   const mln_tensor_desc* running_var, const mln_tensor_desc* y,
                                                   const mln_tensor_desc* saved_mean,
                                                   const mln_tensor_desc* saved_invstd) {
    return mln::guard("mln_batch_norm_forward_training", [&] {
        mln_device& d = mln::require_device(device);
        const mln::NormArgs args = mln::validate_batch_norm_training(d, x, scale, bias, epsilon, momentum, running_mean,
                                                                     running_var, y, saved_mean, saved_invstd);
        d.ops->batch_norm_training(d, args);
    });
}

MLN_API mln_status mln_batch_norm_forward_inference(mln_device* device, const mln_tensor_desc* x,
                                                    const mln_tensor_desc* scale, const mln_tensor_desc* bias,
                                                    const mln_tensor_desc* running_mean,
                                                    const mln_tensor_desc* running_var, double epsilon,
                                                    const mln_tensor_desc* y) {
    return mln::guard("mln_batch_norm_forward_inference", [&] {
        mln_device& d = mln::require_device(device);
        const mln::NormArgs args =
            mln::validate_batch_norm_inference(d, x, scale, bias, running_mean, running_var, epsilon, y);
        d.ops->batch_norm_inference(d, args);
    });
}

MLN_API mln_status mln_batch_norm_backward(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                           const mln_tensor_desc* scale, const mln_tensor_desc* saved_mean,
                                           const mln_tensor_desc* saved_invstd, const mln_tensor_desc* dx,
                                           const mln_tensor_desc* dscale, const mln_tensor_desc* dbias) {
    return mln::guard("mln_batch_norm_backward", [&] {
        mln_device& d = mln::require_device(device);
        const mln::NormArgs args =
            mln::validate_batch_norm_backward(d, x, dy, scale, saved_mean, saved_invstd, dx, dscale, dbias);
        d.ops->batch_norm_backward(d, args);
    });
}

MLN_API mln_status mln_layer_norm_forward(mln_device* device, const mln_tensor_desc* x, int32_t normalized_rank,
                                          const mln_tensor_desc* scale, const mln_tensor_desc* bias, double epsilon,
                                          const mln_tensor_desc* y, const mln_tensor_desc* saved_mean,
                                          const mln_tensor_desc* saved_invstd) {
    return mln::guard("mln_layer_norm_forward", [&] {
        mln_device& d = mln::require_device(device);
        const mln::NormArgs args =
            mln::validate_layer_norm_forward(d, x, normalized_rank, scale, bias, epsilon, y, saved_mean, saved_invstd);
        d.ops->group_norm_forward(d, args);
    });
}

MLN_API mln_status mln_layer_norm_backward(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                           int32_t normalized_rank, const mln_tensor_desc* scale,
                                           const mln_tensor_desc* saved_mean, const mln_tensor_desc* saved_invstd,
                                           const mln_tensor_desc* dx, const mln_tensor_desc* dscale,
                                           const mln_tensor_desc* dbias) {
    return mln::guard("mln_layer_norm_backward", [&] {
        mln_device& d = mln::require_device(device);
        const mln::NormArgs args = mln::validate_layer_norm_backward(d, x, dy, normalized_rank, scale, saved_mean,
                                                                     saved_invstd, dx, dscale, dbias);
        d.ops->group_norm_backward(d, args);
    });
}

MLN_API mln_status mln_group_norm_forward(mln_device* device, const mln_tensor_desc* x, int64_t groups,
                                          const mln_tensor_desc* scale, const mln_tensor_desc* bias, double epsilon,
                                          const mln_tensor_desc* y, const mln_tensor_desc* saved_mean,
                                          const mln_tensor_desc* saved_invstd) {
    return mln::guard("mln_group_norm_forward", [&] {
        mln_device& d = mln::require_device(device);
        const mln::NormArgs args =
            mln::validate_group_norm_forward(d, x, groups, scale, bias, epsilon, y, saved_mean, saved_invstd);
        d.ops->group_norm_forward(d, args);
    });
}

MLN_API mln_status mln_group_norm_backward(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                           int64_t groups, const mln_tensor_desc* scale,
                                           const mln_tensor_desc* saved_mean, const mln_tensor_desc* saved_invstd,
                                           const mln_tensor_desc* dx, const mln_tensor_desc* dscale,
                                           const mln_tensor_desc* dbias) {
    return mln::guard("mln_group_norm_backward", [&] {
        mln_device& d = mln::require_device(device);
        const mln::NormArgs args =
            mln::validate_group_norm_backward(d, x, dy, groups, scale, saved_mean, saved_invstd, dx, dscale, dbias);
        d.ops->group_norm_backward(d, args);
    });
}

}  // extern "C"
