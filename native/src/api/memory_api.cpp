// Device memory.
#include <myelin.h>

#include <cstdint>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "core/validation.hpp"

namespace {

// The CPU table copies host memory only; any other device's table knows how to move memory
// between itself and the host, so it serves a copy that involves it.
mln_device& copy_owner(mln_device& dst_device, mln_device& src_device) {
    return dst_device.kind != MLN_DEVICE_KIND_CPU ? dst_device : src_device;
}

void require_disjoint(const void* dst, const void* src, size_t bytes) {
    const auto d = reinterpret_cast<std::uintptr_t>(dst);
    const auto s = reinterpret_cast<std::uintptr_t>(src);
    if (d < s + bytes && s < d + bytes) {
        throw mln::Error(MLN_STATUS_INVALID_ARGUMENT,
                         mln::cat("dst ", dst, " and src ", src, " overlap for ", bytes, " bytes"));
    }
}

}  // namespace

extern "C" {

MLN_API mln_status mln_memory_alloc(mln_device* device, size_t bytes, void** out_ptr) {
    return mln::guard("mln_memory_alloc", [&] {
        mln_device& d = mln::require_device(device);
        void*& out = mln::require_not_null(out_ptr, "out_ptr");
        out = d.ops->alloc(d, bytes);
    });
}

// A pointer that this device did not allocate is reported through mln_last_error and left alone.
MLN_API void mln_memory_free(mln_device* device, void* ptr) {
    mln::guard("mln_memory_free", [&] {
        if (ptr == nullptr) return;
        mln_device& d = mln::require_device(device);
        d.ops->free(d, ptr);
    });
}

MLN_API mln_status mln_memory_copy(mln_device* dst_device, void* dst, mln_device* src_device, const void* src,
                                   size_t bytes) {
    return mln::guard("mln_memory_copy", [&] {
        mln_device& dst_d = mln::require_device(dst_device, "dst_device");
        mln_device& src_d = mln::require_device(src_device, "src_device");
        if (bytes == 0) return;
        if (dst == nullptr) throw mln::Error(MLN_STATUS_INVALID_ARGUMENT, mln::cat("dst is null but bytes is ", bytes));
        if (src == nullptr) throw mln::Error(MLN_STATUS_INVALID_ARGUMENT, mln::cat("src is null but bytes is ", bytes));
        const auto limit = UINTPTR_MAX - bytes;
        if (reinterpret_cast<std::uintptr_t>(dst) > limit || reinterpret_cast<std::uintptr_t>(src) > limit) {
            throw mln::Error(MLN_STATUS_INVALID_ARGUMENT, mln::cat(bytes, " bytes from dst ", dst, " or src ", src,
                                                                   " reach outside the address space"));
        }
        if (dst_d.kind == src_d.kind && dst_d.ordinal == src_d.ordinal) require_disjoint(dst, src, bytes);
        mln_device& owner = copy_owner(dst_d, src_d);
        owner.ops->copy(dst_d, dst, src_d, src, bytes);
    });
}

MLN_API mln_status mln_memory_get_stats(const mln_device* device, mln_memory_stats* out_stats) {
    return mln::guard("mln_memory_get_stats", [&] {
        const mln_device& d = mln::require_device(device);
        mln_memory_stats& out = mln::require_not_null(out_stats, "out_stats");
        out = d.ops->memory_stats(d);
    });
}

}  // extern "C"
