// The integer a C caller passed for an enum parameter.
//
// C callers may pass any int where the header names an enum; in C++ reading an enum object
// whose value lies outside the enum's range is undefined (and UBSan flags it). Entry points
// therefore inspect enum arguments through their bytes until they are known to be valid.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace mln {

template <class Enum>
int32_t raw_enum(const Enum& value) noexcept {
    static_assert(std::is_enum_v<Enum> && sizeof(Enum) == sizeof(int32_t));
    int32_t raw;
    std::memcpy(&raw, &value, sizeof(raw));
    return raw;
}

}  // namespace mln
