// Overflow-checked arithmetic on non-negative 64-bit sizes.
#pragma once

#include <cstdint>
#include <limits>

namespace mln {

// Stores a*b in *result and returns true, or returns false if it does not fit in int64.
// Both operands must be >= 0.
constexpr bool checked_mul(int64_t a, int64_t b, int64_t* result) noexcept {
#if defined(__GNUC__)
    // The overflow flag of one multiply: the division below costs 10-20 cycles, and every
    // tensor argument of every call is checked (two or three products per dimension).
    return !__builtin_mul_overflow(a, b, result);
#else
    if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) return false;
    *result = a * b;
    return true;
#endif
}

// Stores a+b in *result and returns true, or returns false if it does not fit in int64.
// Both operands must be >= 0.
constexpr bool checked_add(int64_t a, int64_t b, int64_t* result) noexcept {
    if (b > std::numeric_limits<int64_t>::max() - a) return false;
    *result = a + b;
    return true;
}

}  // namespace mln
