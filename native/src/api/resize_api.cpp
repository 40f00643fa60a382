// Resize entry points: validate (core/nn_validation), then dispatch through the device.
#include <myelin.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/nn_validation.hpp"

extern "C" {

MLN_API mln_status mln_resize_forward(mln_device* device, const mln_resize_params* params,
                                      const mln_tensor_desc* x, const mln_tensor_desc* y) {
    return mln::guard("mln_resize_forward", [&] {
        mln_device& d = mln::require_device(device);
        const mln::ResizeArgs args = mln::validate_resize(d, params, x, y, false);
        d.ops->resize_forward(d, args);
    });
}

MLN_API mln_status mln_resize_backward(mln_device* device, const mln_resize_params* params,
                                       const mln_tensor_desc* dy, const mln_tensor_desc* dx) {
    return mln::guard("mln_resize_backward", [&] {
        mln_device& d = mln::require_device(device);
        const mln::ResizeArgs args = mln::validate_resize(d, params, dx, dy, true);
        d.ops->resize_backward(d, args);
    });
}

}  // extern "C"
