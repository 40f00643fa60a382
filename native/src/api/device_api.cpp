// Device handles.
#include <myelin.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/kernel_validation.hpp"
#include "core/raw_enum.hpp"
#include "core/validation.hpp"

extern "C" {

MLN_API mln_status mln_device_count(mln_device_kind kind, int32_t* out_count) {
    return mln::guard("mln_device_count", [&] {
        int32_t& out = mln::require_not_null(out_count, "out_count");
        out = mln::device_count(mln::raw_enum(kind));
    });
}

MLN_API mln_status mln_device_create(mln_device_kind kind, int32_t ordinal, mln_device** out_device) {
    return mln::guard("mln_device_create", [&] {
        mln_device*& out = mln::require_not_null(out_device, "out_device");
        out = mln::create_device(mln::raw_enum(kind), ordinal);
    });
}

// Destroying a handle that is not live is reported through mln_last_error and ignored.
MLN_API void mln_device_destroy(mln_device* device) {
    mln::guard("mln_device_destroy", [&] {
        if (device != nullptr) mln::destroy_device(&mln::require_device(device));
    });
}

MLN_API mln_status mln_device_get_kind(const mln_device* device, mln_device_kind* out_kind) {
    return mln::guard("mln_device_get_kind", [&] {
        const mln_device& d = mln::require_device(device);
        mln::require_not_null(out_kind, "out_kind") = d.kind;
    });
}

MLN_API mln_status mln_device_get_name(const mln_device* device, const char** out_name) {
    return mln::guard("mln_device_get_name", [&] {
        const mln_device& d = mln::require_device(device);
        mln::require_not_null(out_name, "out_name") = d.name.c_str();
    });
}

MLN_API mln_status mln_device_get_thread_count(const mln_device* device, int32_t* out_count) {
    return mln::guard("mln_device_get_thread_count", [&] {
        const mln_device& d = mln::require_device(device);
        int32_t& out = mln::require_not_null(out_count, "out_count");
        out = d.ops->get_thread_count(d);
    });
}

MLN_API mln_status mln_device_set_thread_count(mln_device* device, int32_t count) {
    return mln::guard("mln_device_set_thread_count", [&] {
        mln_device& d = mln::require_device(device);
        d.ops->set_thread_count(d, count);
    });
}

MLN_API mln_status mln_device_supports(const mln_device* device, mln_kernel kernel, mln_dtype dtype,
                                       int32_t* out_supported) {
    return mln::guard("mln_device_supports", [&] {
        const mln_device& d = mln::require_device(device);
        const mln_kernel checked_kernel = mln::validate_kernel(mln::raw_enum(kernel));
        const mln_dtype checked_dtype = mln::validate_dtype(mln::raw_enum(dtype));
        int32_t& out = mln::require_not_null(out_supported, "out_supported");
        out = d.ops->supports(checked_kernel, checked_dtype) ? 1 : 0;
    });
}

MLN_API mln_status mln_device_synchronize(mln_device* device) {
    return mln::guard("mln_device_synchronize", [&] {
        mln_device& d = mln::require_device(device);
        d.ops->synchronize(d);
    });
}

}  // extern "C"
