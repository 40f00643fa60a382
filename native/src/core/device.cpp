#include "core/device.hpp"

#include <memory>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/text.hpp"
#include "cpu/cpu_device.hpp"

namespace mln {

mln_device& require_device(mln_device* device, const char* name) {
    if (device == nullptr) throw Error(MLN_STATUS_INVALID_ARGUMENT, cat(name, " is null"));
    if (device->magic != mln_device::kLiveMagic) {
        throw Error(MLN_STATUS_INVALID_ARGUMENT,
                    cat(name, " ", static_cast<const void*>(device), " is not a live mln_device (destroyed?)"));
    }
    return *device;
}

const mln_device& require_device(const mln_device* device, const char* name) {
    return require_device(const_cast<mln_device*>(device), name);
}

int32_t device_count(int32_t kind) {
    switch (kind) {
        case MLN_DEVICE_KIND_CPU: return 1;
        case MLN_DEVICE_KIND_CUDA: return 0;  // no CUDA backend in this build yet
    }
    throw Error(MLN_STATUS_INVALID_ARGUMENT, cat("kind ", kind, " is not a valid mln_device_kind"));
}

mln_device* create_device(int32_t kind, int32_t ordinal) {
    const int32_t count = device_count(kind);
    if (kind == MLN_DEVICE_KIND_CUDA) {
        throw Error(MLN_STATUS_NOT_SUPPORTED,
                    "CUDA devices are not supported by this build (mln_device_count reports 0)");
    }
    if (ordinal < 0 || ordinal >= count) {
        throw Error(MLN_STATUS_INVALID_ARGUMENT, cat(device_kind_name(kind), " ordinal ", ordinal,
                                                     " is out of range (", count, " device(s))"));
    }
    auto device = std::make_unique<mln_device>();
    device->kind = static_cast<mln_device_kind>(kind);
    device->ordinal = ordinal;
    device->name = cat(device_kind_name(kind), ":", ordinal);
    device->ops = &cpu::cpu_device_ops();
    return device.release();
}

void destroy_device(mln_device* device) noexcept {
    if (device == nullptr) return;
    device->magic = 0;
    delete device;
}

}  // namespace mln
