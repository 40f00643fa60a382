// Names of ABI enum values for messages, and range checks of enum arguments.
#pragma once

#include <myelin.h>

#include <cstdint>

namespace mln {

// Each takes the integer value (see raw_enum.hpp) and returns nullptr for a value outside
// the enum, so these also serve as validity checks.
const char* unary_op_name(int32_t op) noexcept;
const char* binary_op_name(int32_t op) noexcept;
// Whether binary op `op` is a comparison or logic op, whose result is bool whatever its inputs are.
bool binary_op_gives_bool(int32_t op) noexcept;
const char* reduce_op_name(int32_t op) noexcept;
const char* kernel_name(int32_t kernel) noexcept;
const char* device_kind_name(int32_t kind) noexcept;
const char* isa_name(int32_t isa) noexcept;

}  // namespace mln
