// Facts about mln_dtype values that every layer needs: validity, size, name.
#pragma once

#include <myelin.h>

#include <cstddef>
#include <cstdint>

namespace mln {

// These take the integer value of a dtype (see raw_enum.hpp), so they also judge values a C
// caller passed that are not mln_dtype enumerators.
bool is_valid_dtype(int32_t dtype) noexcept;
// Size of one element in bytes; 0 for a value that is not an mln_dtype.
std::size_t dtype_size(int32_t dtype) noexcept;
// Short name used in messages ("f32", "bf16"); "invalid" for a value that is not an mln_dtype.
const char* dtype_name(int32_t dtype) noexcept;

}  // namespace mln
