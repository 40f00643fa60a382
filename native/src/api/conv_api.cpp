// Convolution entry points: validate (core/nn_validation), then dispatch through the device.
#include <myelin.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/nn_validation.hpp"
#include "core/raw_enum.hpp"
#include "core/validation.hpp"

extern "C" {

MLN_API mln_status mln_conv_forward(mln_device* device, const mln_conv_params* params, const mln_tensor_desc* x,
                                    const mln_tensor_desc* w, const mln_tensor_desc* bias, mln_unary_op activation,
                                    const mln_tensor_desc* residual, const mln_tensor_desc* y) {
    return mln::guard("mln_conv_forward", [&] {
        mln_device& d = mln::require_device(device);
        const mln_unary_op checked_activation = mln::validate_unary_op(mln::raw_enum(activation), "activation");
        const mln::ConvArgs args = mln::validate_conv_forward(d, params, x, w, bias, checked_activation, residual, y);
        d.ops->conv_forward(d, args);
    });
}

MLN_API mln_status mln_conv_backward_data(mln_device* device, const mln_conv_params* params,
                                          const mln_tensor_desc* dy, const mln_tensor_desc* w,
                                          const mln_tensor_desc* dx) {
    return mln::guard("mln_conv_backward_data", [&] {
        mln_device& d = mln::require_device(device);
        const mln::ConvArgs args = mln::validate_conv_backward_data(d, params, dy, w, dx);
        d.ops->conv_backward_data(d, args);
    });
}

MLN_API mln_status mln_conv_backward_filter(mln_device* device, const mln_conv_params* params,
                                            const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                            const mln_tensor_desc* dw, const mln_tensor_desc* dbias) {
    return mln::guard("mln_conv_backward_filter", [&] {
        mln_device& d = mln::require_device(device);
        const mln::ConvArgs args = mln::validate_conv_backward_filter(d, params, x, dy, dw, dbias);
        d.ops->conv_backward_filter(d, args);
    });
}

}  // extern "C"
