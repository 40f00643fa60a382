// The CPU backend's device table.
#pragma once

#include "core/device.hpp"

namespace mln::cpu {

const DeviceOps& cpu_device_ops();

}  // namespace mln::cpu
