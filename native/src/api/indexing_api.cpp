// Indexing entry points: validate (core/nn_validation), then dispatch through the device.
#include <myelin.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/indexing_validation.hpp"
#include "core/nn_validation.hpp"
#include "core/raw_enum.hpp"

extern "C" {

MLN_API mln_status mln_gather(mln_device* device, const mln_tensor_desc* x, int32_t axis,
                              const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    return mln::guard("mln_gather", [&] {
        mln_device& d = mln::require_device(device);
        const mln::GatherArgs args = mln::validate_gather(d, x, axis, indices, y);
        d.ops->gather(d, args);
    });
}

MLN_API mln_status mln_scatter_add(mln_device* device, const mln_tensor_desc* updates, int32_t axis,
                                   const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    return mln::guard("mln_scatter_add", [&] {
        mln_device& d = mln::require_device(device);
        const mln::GatherArgs args = mln::validate_scatter_add(d, updates, axis, indices, y);
        d.ops->scatter_add(d, args);
    });
}

MLN_API mln_status mln_pad(mln_device* device, mln_pad_mode mode, const mln_tensor_desc* x,
                           const int64_t* pads_begin, const int64_t* pads_end, double value,
                           const mln_tensor_desc* y) {
    return mln::guard("mln_pad", [&] {
        mln_device& d = mln::require_device(device);
        const mln::PadArgs args = mln::validate_pad(d, mln::raw_enum(mode), x, pads_begin, pads_end, value, y);
        d.ops->pad(d, args);
    });
}

MLN_API mln_status mln_gather_elements(mln_device* device, const mln_tensor_desc* x, int32_t axis,
                                       const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    return mln::guard("mln_gather_elements", [&] {
        mln_device& d = mln::require_device(device);
        const mln::ElementIndexArgs args = mln::validate_gather_elements(d, x, axis, indices, y);
        d.ops->gather_elements(d, args);
    });
}

MLN_API mln_status mln_scatter_elements(mln_device* device, mln_scatter_reduction reduction,
                                        const mln_tensor_desc* updates, int32_t axis,
                                        const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    return mln::guard("mln_scatter_elements", [&] {
        mln_device& d = mln::require_device(device);
        const mln::ElementIndexArgs args =
            mln::validate_scatter_elements(d, mln::raw_enum(reduction), updates, axis, indices, y);
        d.ops->scatter_elements(d, args);
    });
}

MLN_API mln_status mln_gather_nd(mln_device* device, const mln_tensor_desc* x, int32_t batch_dims,
                                 const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    return mln::guard("mln_gather_nd", [&] {
        mln_device& d = mln::require_device(device);
        const mln::GatherNdArgs args = mln::validate_gather_nd(d, x, batch_dims, indices, y);
        d.ops->gather_nd(d, args);
    });
}

MLN_API mln_status mln_scatter_nd(mln_device* device, mln_scatter_reduction reduction,
                                  const mln_tensor_desc* updates, int32_t batch_dims,
                                  const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    return mln::guard("mln_scatter_nd", [&] {
        mln_device& d = mln::require_device(device);
        const mln::GatherNdArgs args = mln::validate_scatter_nd(d, mln::raw_enum(reduction), updates, batch_dims, indices, y);
        d.ops->scatter_nd(d, args);
    });
}

MLN_API mln_status mln_trilu(mln_device* device, int32_t upper, int64_t k, const mln_tensor_desc* x,
                             const mln_tensor_desc* y) {
    return mln::guard("mln_trilu", [&] {
        mln_device& d = mln::require_device(device);
        const mln::TriluArgs args = mln::validate_trilu(d, upper, k, x, y);
        d.ops->trilu(d, args);
    });
}

}  // extern "C"
