// One struct per binary op, like unary_ops.hpp. Integer semantics: add/sub/mul wrap modulo
// 2^bits; div truncates toward zero, x / 0 is 0 and MIN / -1 is MIN (wraps), so no input can
// trap. Float max/min propagate NaN (if either input is NaN the result is NaN).
// Comparisons and logic ops return Bool8 (`result_t<Op, T>` is an op's output type).
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

// Comparisons: inputs of any numeric dtype (bool for eq/ne), output Bool8. IEEE semantics:
// every comparison with NaN is false except ne.
template <class T>
constexpr bool is_comparable_v = is_float_v<T> || is_signed_int_v<T> || std::is_same_v<T, uint8_t>;

struct ComparisonOp {
    static constexpr bool kBoolResult = true;
};

template <class T>
auto comparable_value(T v) {
    if constexpr (std::is_same_v<T, Bool8>) return v.value != 0;
    else return v;
}

struct EqOp : ComparisonOp {
    template <class T>
    static constexpr bool supports = is_comparable_v<T> || std::is_same_v<T, Bool8>;
    template <class T>
    static Bool8 apply(T a, T b) { return Bool8{comparable_value(a) == comparable_value(b)}; }
};
struct NeOp : ComparisonOp {
    template <class T>
    static constexpr bool supports = is_comparable_v<T> || std::is_same_v<T, Bool8>;
    template <class T>
    static Bool8 apply(T a, T b) { return Bool8{comparable_value(a) != comparable_value(b)}; }
};
struct LtOp : ComparisonOp {
    template <class T>
    static constexpr bool supports = is_comparable_v<T>;
    template <class T>
    static Bool8 apply(T a, T b) { return Bool8{a < b}; }
};
struct LeOp : ComparisonOp {
    template <class T>
    static constexpr bool supports = is_comparable_v<T>;
    template <class T>
    static Bool8 apply(T a, T b) { return Bool8{a <= b}; }
};
struct GtOp : ComparisonOp {
    template <class T>
    static constexpr bool supports = is_comparable_v<T>;
    template <class T>
    static Bool8 apply(T a, T b) { return Bool8{a > b}; }
};
struct GeOp : ComparisonOp {
    template <class T>
    static constexpr bool supports = is_comparable_v<T>;
    template <class T>
    static Bool8 apply(T a, T b) { return Bool8{a >= b}; }
};

// Logic on bool: any nonzero byte is true; the result is 0 or 1.
struct LogicalOp : ComparisonOp {
    template <class T>
    static constexpr bool supports = std::is_same_v<T, Bool8>;
};
struct LogicalAndOp : LogicalOp {
    static Bool8 apply(Bool8 a, Bool8 b) { return Bool8{a.value != 0 && b.value != 0}; }
};
struct LogicalOrOp : LogicalOp {
    static Bool8 apply(Bool8 a, Bool8 b) { return Bool8{a.value != 0 || b.value != 0}; }
};
struct LogicalXorOp : LogicalOp {
    static Bool8 apply(Bool8 a, Bool8 b) { return Bool8{(a.value != 0) != (b.value != 0)}; }
};

template <class Op, class = void>
struct BinaryResult {
    template <class T>
    using type = T;
};
template <class Op>
struct BinaryResult<Op, std::void_t<decltype(Op::kBoolResult)>> {
    template <class T>
    using type = Bool8;
};
template <class Op, class T>
using result_t = typename BinaryResult<Op>::template type<T>;

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
        case MLN_BINARY_OP_EQ: return visitor(EqOp{});
        case MLN_BINARY_OP_NE: return visitor(NeOp{});
        case MLN_BINARY_OP_LT: return visitor(LtOp{});
        case MLN_BINARY_OP_LE: return visitor(LeOp{});
        case MLN_BINARY_OP_GT: return visitor(GtOp{});
        case MLN_BINARY_OP_GE: return visitor(GeOp{});
        case MLN_BINARY_OP_LOGICAL_AND: return visitor(LogicalAndOp{});
        case MLN_BINARY_OP_LOGICAL_OR: return visitor(LogicalOrOp{});
        case MLN_BINARY_OP_LOGICAL_XOR: return visitor(LogicalXorOp{});
    }
    throw Error(MLN_STATUS_INTERNAL, cat("unexpected binary op ", static_cast<int>(op), " reached a kernel"));
}

// Whether `op` is defined for inputs of `dtype`.
bool binary_op_supports(mln_binary_op op, mln_dtype dtype);
// Whether `op` gives bool whatever its inputs are (comparisons and logic).
bool binary_op_returns_bool(mln_binary_op op);

}  // namespace mln::kernels
