// One struct per binary op, like unary_ops.hpp. Integer semantics: add/sub/mul wrap modulo
// 2^bits; div truncates toward zero, x / 0 is 0 and MIN / -1 is MIN (wraps), so no input can
// trap (mod and fmod likewise: x % 0 is 0, MIN % -1 is 0). Float max/min propagate NaN (if
// either input is NaN the result is NaN); f16 max/min compare the widened values and return
// one of the inputs unchanged. Comparisons and logic ops return Bool8 (`result_t<Op, T>` is an
// op's output type).
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
constexpr bool is_binary_int_v = std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t> ||
                                 std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>;
// Types arithmetic is defined for.
template <class T>
constexpr bool is_arithmetic_v = is_float_v<T> || is_binary_int_v<T>;

namespace detail {
template <class T>
using Unsigned = std::make_unsigned_t<T>;

// A value to compare or compute with: f16 widened to float, everything else as is.
template <class T>
auto widen(T v) {
    if constexpr (std::is_same_v<T, Half>) return half_to_float(v);
    else return v;
}

template <class T>
bool is_nan(T v) {
    if constexpr (std::is_same_v<T, Half> || is_float_v<T>) {
        const auto w = widen(v);
        return w != w;
    } else {
        return false;
    }
}

// a % b truncated toward zero (the sign of a) without traps: b == 0 gives 0, and so does
// b == -1 (MIN % -1 overflows in C++ but is mathematically 0).
template <class T>
T truncated_remainder(T a, T b) {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>) {
        if (b == -1) return 0;
    }
    return static_cast<T>(a % b);
}
}  // namespace detail

struct AddOp {
    template <class T>
    static constexpr bool supports = is_arithmetic_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) return a + b;
        else return static_cast<T>(static_cast<detail::Unsigned<T>>(a) + static_cast<detail::Unsigned<T>>(b));
    }
};

struct SubOp {
    template <class T>
    static constexpr bool supports = is_arithmetic_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) return a - b;
        else return static_cast<T>(static_cast<detail::Unsigned<T>>(a) - static_cast<detail::Unsigned<T>>(b));
    }
};

struct MulOp {
    template <class T>
    static constexpr bool supports = is_arithmetic_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) return a * b;
        else return static_cast<T>(static_cast<detail::Unsigned<T>>(a) * static_cast<detail::Unsigned<T>>(b));
    }
};

struct DivOp {
    template <class T>
    static constexpr bool supports = is_arithmetic_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) {
            return a / b;
        } else {
            if (b == 0) return 0;
            if constexpr (std::is_signed_v<T>) {
                if (b == -1) return static_cast<T>(detail::Unsigned<T>{0} - static_cast<detail::Unsigned<T>>(a));
            }
            return static_cast<T>(a / b);
        }
    }
};

struct MaxOp {
    template <class T>
    static constexpr bool supports = is_arithmetic_v<T> || std::is_same_v<T, Half>;
    template <class T>
    static T apply(T a, T b) {
        if (detail::is_nan(a) || detail::is_nan(b)) return detail::is_nan(a) ? a : b;
        return detail::widen(a) < detail::widen(b) ? b : a;
    }
};

struct MinOp {
    template <class T>
    static constexpr bool supports = is_arithmetic_v<T> || std::is_same_v<T, Half>;
    template <class T>
    static T apply(T a, T b) {
        if (detail::is_nan(a) || detail::is_nan(b)) return detail::is_nan(a) ? a : b;
        return detail::widen(b) < detail::widen(a) ? b : a;
    }
};

// Integers: exponentiation by squaring, wrapping; a negative exponent gives the truncation of
// 1 / a^-b (1 for a = 1, +-1 for a = -1, else 0; 0 for a = 0 too rather than a trap).
struct PowOp {
    template <class T>
    static constexpr bool supports = is_arithmetic_v<T>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (is_float_v<T>) {
            return std::pow(a, b);
        } else {
            using U = detail::Unsigned<T>;
            if (b < 0) {
                if (a == 1) return 1;
                if constexpr (std::is_signed_v<T>) {
                    if (a == -1) return (b & 1) != 0 ? T(-1) : T(1);
                }
                return 0;
            }
            U result = 1, base = static_cast<U>(a);
            for (auto e = static_cast<U>(b); e != 0; e >>= 1) {
                if ((e & 1) != 0) result = static_cast<U>(result * base);
                base = static_cast<U>(base * base);
            }
            return static_cast<T>(result);
        }
    }
};

// ONNX Mod with fmod = 0 (Python %): the remainder takes the divisor's sign.
struct ModOp {
    template <class T>
    static constexpr bool supports = is_binary_int_v<T>;
    template <class T>
    static T apply(T a, T b) {
        const T r = detail::truncated_remainder(a, b);
        if constexpr (std::is_signed_v<T>) {
            if (r != 0 && ((r < 0) != (b < 0))) return static_cast<T>(r + b);
        }
        return r;
    }
};

// C fmod: the remainder takes the dividend's sign.
struct FmodOp {
    template <class T>
    static constexpr bool supports = is_arithmetic_v<T> || std::is_same_v<T, Half>;
    template <class T>
    static T apply(T a, T b) {
        if constexpr (std::is_same_v<T, Half>) return half_from_double(std::fmod(half_to_float(a), half_to_float(b)));
        else if constexpr (is_float_v<T>) return std::fmod(a, b);
        else return detail::truncated_remainder(a, b);
    }
};

struct ShiftOp {
    template <class T>
    static constexpr bool supports = std::is_same_v<T, uint8_t>;
};
struct ShiftLeftOp : ShiftOp {
    template <class T>
    static T apply(T a, T b) { return b >= sizeof(T) * 8 ? T(0) : static_cast<T>(a << b); }
};
struct ShiftRightOp : ShiftOp {
    template <class T>
    static T apply(T a, T b) { return b >= sizeof(T) * 8 ? T(0) : static_cast<T>(a >> b); }
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
        case MLN_BINARY_OP_MOD: return visitor(ModOp{});
        case MLN_BINARY_OP_FMOD: return visitor(FmodOp{});
        case MLN_BINARY_OP_SHIFT_LEFT: return visitor(ShiftLeftOp{});
        case MLN_BINARY_OP_SHIFT_RIGHT: return visitor(ShiftRightOp{});
    }
    throw Error(MLN_STATUS_INTERNAL, cat("unexpected binary op ", static_cast<int>(op), " reached a kernel"));
}

// The last mln_binary_op, for loops over every op.
constexpr mln_binary_op kLastBinaryOp = MLN_BINARY_OP_SHIFT_RIGHT;

// Whether `op` is defined for inputs of `dtype`.
bool binary_op_supports(mln_binary_op op, mln_dtype dtype);
// Whether `op` gives bool whatever its inputs are (comparisons and logic).
bool binary_op_returns_bool(mln_binary_op op);

}  // namespace mln::kernels
