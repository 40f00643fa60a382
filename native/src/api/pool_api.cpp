// Pooling entry points: validate (core/nn_validation), then dispatch through the device.
#include <myelin.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/nn_validation.hpp"
#include "core/raw_enum.hpp"

extern "C" {

MLN_API mln_status mln_pool_forward(mln_device* device, mln_pool_mode mode, const mln_pool_params* params,
                                    const mln_tensor_desc* x, const mln_tensor_desc* y,
                                    const mln_tensor_desc* indices) {
    return mln::guard("mln_pool_forward", [&] {
        mln_device& d = mln::require_device(device);
        const mln::PoolArgs args = mln::validate_pool_forward(d, mln::raw_enum(mode), params, x, y, indices);
        d.ops->pool_forward(d, args);
    });
}

MLN_API mln_status mln_pool_backward(mln_device* device, mln_pool_mode mode, const mln_pool_params* params,
                                     const mln_tensor_desc* dy, const mln_tensor_desc* indices,
                                     const mln_tensor_desc* dx) {
    return mln::guard("mln_pool_backward", [&] {
        mln_device& d = mln::require_device(device);
        const mln::PoolArgs args = mln::validate_pool_backward(d, mln::raw_enum(mode), params, dy, indices, dx);
        d.ops->pool_backward(d, args);
    });
}

}  // extern "C"
