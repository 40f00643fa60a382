// Entry points that work along one axis (arg_reduce, top_k, cumsum): validate
// (core/axis_validation), then dispatch through the device.
#include <myelin.h>

#include "core/axis_validation.hpp"
#include "core/device.hpp"
#include "core/error.hpp"
#include "core/raw_enum.hpp"
#include "core/validation.hpp"

extern "C" {

MLN_API mln_status mln_arg_reduce(mln_device* device, mln_reduce_op op, const mln_tensor_desc* x, int32_t axis,
                                  int32_t keepdims, int32_t select_last_index, const mln_tensor_desc* y) {
    return mln::guard("mln_arg_reduce", [&] {
        mln_device& d = mln::require_device(device);
        const mln_reduce_op checked_op = mln::validate_reduce_op(mln::raw_enum(op));
        const mln::ArgReduceArgs args = mln::validate_arg_reduce(d, checked_op, x, axis, keepdims, select_last_index, y);
        d.ops->arg_reduce(d, args);
    });
}

MLN_API mln_status mln_top_k(mln_device* device, const mln_tensor_desc* x, int32_t axis, int64_t k, int32_t largest,
                             const mln_tensor_desc* values, const mln_tensor_desc* indices) {
    return mln::guard("mln_top_k", [&] {
        mln_device& d = mln::require_device(device);
        const mln::TopKArgs args = mln::validate_top_k(d, x, axis, k, largest, values, indices);
        d.ops->top_k(d, args);
    });
}

MLN_API mln_status mln_cumsum(mln_device* device, const mln_tensor_desc* x, int32_t axis, int32_t exclusive,
                              int32_t reverse, const mln_tensor_desc* y) {
    return mln::guard("mln_cumsum", [&] {
        mln_device& d = mln::require_device(device);
        const mln::CumSumArgs args = mln::validate_cumsum(d, x, axis, exclusive, reverse, y);
        d.ops->cumsum(d, args);
    });
}

}  // extern "C"
