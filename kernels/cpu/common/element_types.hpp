// The C++ type of each mln_dtype and the single switch that turns a runtime dtype into a
// template instantiation.
#pragma once

#include <myelin.h>

#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "kernels/cpu/common/small_float.hpp"

namespace mln::kernels {

template <class T>
struct TypeTag {
    using type = T;
};

// Calls visitor(TypeTag<T>{}) with the element type of dtype.
template <class Visitor>
decltype(auto) visit_dtype(mln_dtype dtype, Visitor&& visitor) {
    switch (dtype) {
        case MLN_DTYPE_F32: return visitor(TypeTag<float>{});
        case MLN_DTYPE_F64: return visitor(TypeTag<double>{});
        case MLN_DTYPE_F16: return visitor(TypeTag<Half>{});
        case MLN_DTYPE_BF16: return visitor(TypeTag<BFloat16>{});
        case MLN_DTYPE_U8: return visitor(TypeTag<uint8_t>{});
        case MLN_DTYPE_I8: return visitor(TypeTag<int8_t>{});
        case MLN_DTYPE_I32: return visitor(TypeTag<int32_t>{});
        case MLN_DTYPE_I64: return visitor(TypeTag<int64_t>{});
        case MLN_DTYPE_BOOL: return visitor(TypeTag<Bool8>{});
    }
    throw Error(MLN_STATUS_INTERNAL, cat("unexpected dtype ", static_cast<int>(dtype), " reached a kernel"));
}

template <class T>
constexpr bool is_float_v = std::is_same_v<T, float> || std::is_same_v<T, double>;
template <class T>
constexpr bool is_signed_int_v = std::is_same_v<T, int8_t> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>;

// Conversion rules between all element types (the semantics of mln_cast and mln_fill):
//  - float -> integer truncates toward zero, saturates at the integer's range, NaN gives 0;
//  - integer -> narrower integer wraps modulo 2^bits (two's complement), as C++20 defines;
//  - anything -> bool is 1 for nonzero (NaN included); bool -> anything is 0 or 1;
//  - to f16/bf16 rounds to nearest even from the source value (one rounding).
template <class T>
struct ElementConvert;

template <>
struct ElementConvert<float> {
    static double to_wide(float v) { return v; }
    static float from_double(double v) { return static_cast<float>(v); }
    static float from_int(int64_t v) { return static_cast<float>(v); }
};
template <>
struct ElementConvert<double> {
    static double to_wide(double v) { return v; }
    static double from_double(double v) { return v; }
    static double from_int(int64_t v) { return static_cast<double>(v); }
};
template <>
struct ElementConvert<Half> {
    static double to_wide(Half v) { return half_to_float(v); }
    static Half from_double(double v) { return half_from_double(v); }
    static Half from_int(int64_t v) { return half_from_double(static_cast<double>(v)); }
};
template <>
struct ElementConvert<BFloat16> {
    static double to_wide(BFloat16 v) { return bfloat16_to_float(v); }
    static BFloat16 from_double(double v) { return bfloat16_from_double(v); }
    static BFloat16 from_int(int64_t v) { return bfloat16_from_double(static_cast<double>(v)); }
};
template <>
struct ElementConvert<Bool8> {
    static int64_t to_wide(Bool8 v) { return v.value != 0 ? 1 : 0; }
    static Bool8 from_double(double v) { return Bool8{static_cast<uint8_t>(v != 0.0 ? 1 : 0)}; }
    static Bool8 from_int(int64_t v) { return Bool8{static_cast<uint8_t>(v != 0 ? 1 : 0)}; }
};

template <class I>
struct IntegerConvert {
    static int64_t to_wide(I v) { return v; }
    static I from_double(double v) {
        if (v != v) return 0;
        // Compare in double: the bounds of int64 are exactly representable as powers of two
        // (max + 1), so the comparisons decide saturation before any out-of-range conversion.
        constexpr double lower = static_cast<double>(std::numeric_limits<I>::min());
        constexpr double upper_exclusive = static_cast<double>(std::numeric_limits<I>::max()) + 1.0;
        if (v <= lower) return std::numeric_limits<I>::min();
        if (v >= upper_exclusive) return std::numeric_limits<I>::max();
        return static_cast<I>(v);
    }
    static I from_int(int64_t v) { return static_cast<I>(v); }
};
template <>
struct ElementConvert<uint8_t> : IntegerConvert<uint8_t> {};
template <>
struct ElementConvert<int8_t> : IntegerConvert<int8_t> {};
template <>
struct ElementConvert<int32_t> : IntegerConvert<int32_t> {};
template <>
struct ElementConvert<int64_t> : IntegerConvert<int64_t> {};

template <class To, class From>
To convert_element(From value) {
    const auto wide = ElementConvert<From>::to_wide(value);
    if constexpr (std::is_same_v<decltype(wide), const double>) {
        return ElementConvert<To>::from_double(wide);
    } else {
        return ElementConvert<To>::from_int(wide);
    }
}

}  // namespace mln::kernels
