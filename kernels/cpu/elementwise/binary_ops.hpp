// One struct per binary op, like unary_ops.hpp. Integer semantics: add/sub/mul wrap modulo
// 2^bits; div truncates toward zero, x / 0 is 0 and MIN / -1 is MIN (wraps), so no input can
// trap. Float max/min propagate NaN (if either input is NaN the result is NaN).
#pragma once

#include <myelin.h>

#include <cmath>
#include <limits>
#include <type_traits>

#include "core/error.hpp"
#include "core/text.hpp"
#include "kernels/cpu/common/element_types.hpp"

namespace mln::kernels {

template <class T>
constexpr bool is_binary_int_v = std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>;

namespace detail {
template <class T>
using Unsigned = std::make_unsigned_t<T>;
}  // namespace detail

struct AddOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) return a + b;
        else return static_cast<T>(static_cast<detail::Unsigned<T>>(a) + static_cast<detail::Unsigned<T>>(b));
    }
};

struct SubOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) return a - b;
        else return static_cast<T>(static_cast<detail::Unsigned<T>>(a) - static_cast<detail::Unsigned<T>>(b));
    }
};

struct MulOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) return a * b;
        else return static_cast<T>(static_cast<detail::Unsigned<T>>(a) * static_cast<detail::Unsigned<T>>(b));
    }
};

struct DivOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) {
            return a / b;
        } else {
            if (b == 0) return 0;
            if (b == -1) return static_cast<T>(detail::Unsigned<T>{0} - static_cast<detail::Unsigned<T>>(a));
            return a / b;
        }
    }
};

struct MaxOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) {
            if (a != a || b != b) return std::numeric_limits<T>::quiet_NaN();
        }
        return a < b ? b : a;
    }
};

struct MinOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) {
            if (a != a || b != b) return std::numeric_limits<T>::quiet_NaN();
        }
        return b < a ? b : a;
    }
};

struct PowOp {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
    template <class T>
    static T apply(T a, T b) { return std::pow(a, b); }
};

template <class Visitor>
decltype(auto) visit_binary_op(mln_binary_op op, Visitor&& visitor) {
    switch (op) {
        case MLN_BINARY_OP_ADD: return visitor(AddOp{});
        case MLN_BINARY_OP_SUB: return visitor(SubOp{});
        case MLN_BINARY_OP_MUL: return visitor(MulOp{});
        case MLN_BINARY_OP_DIV: return visitor(DivOp{});
        case MLN_BINARY_OP_MAX: return visitor(MaxOp{});
        case MLN_BINARY_OP_MIN: return visitor(MinOp{});
        case MLN_BINARY_OP_POW: return visitor(PowOp{});
    }
    throw Error(MLN_STATUS_INTERNAL, cat("unexpected binary op ", static_cast<int>(op), " reached a kernel"));
}

bool binary_op_supports(mln_binary_op op, mln_dtype dtype);

}  // namespace mln::kernels
