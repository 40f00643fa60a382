// One struct per unary op. `supports<T>` says which element types the op is defined for (the
// dispatch instantiates only those); `apply` is the scalar definition, which is also what the
// reference kernels use. Integer ops wrap on overflow (neg/abs of the minimum give the minimum).
#pragma once

#include <myelin.h>

#include <cmath>
#include <type_traits>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/text.hpp"
#include "kernels/cpu/common/element_types.hpp"

namespace mln::kernels {

namespace detail {
// Two's complement negation without signed-overflow UB.
template <class T>
T wrapping_neg(T x) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(U{0} - static_cast<U>(x)));
}
}  // namespace detail

struct IdentityOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_signed_int_v<T>;
    template <class T>
    static T apply(T x) { return x; }
};

struct NegOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_signed_int_v<T>;
    template <class T>
    static T apply(T x) {
        if constexpr (is_float_v<T>) return -x;
        else return detail::wrapping_neg(x);
    }
};

struct AbsOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_signed_int_v<T>;
    template <class T>
    static T apply(T x) {
        if constexpr (is_float_v<T>) return std::fabs(x);
        else return x < 0 ? detail::wrapping_neg(x) : x;
    }
};

struct SqrtOp {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
    template <class T>
    static T apply(T x) { return std::sqrt(x); }
};

struct ExpOp {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
    template <class T>
    static T apply(T x) { return std::exp(x); }
};

struct LogOp {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
    template <class T>
    static T apply(T x) { return std::log(x); }
};

struct ReluOp {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
    // NaN stays NaN (x > 0 is false for NaN, so test the other way round).
    template <class T>
    static T apply(T x) { return x < T(0) ? T(0) : x; }
};

struct SigmoidOp {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
    // Two branches so exp never overflows: for x < 0, e^x / (1 + e^x).
    template <class T>
    static T apply(T x) {
        if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
        const T e = std::exp(x);
        return e / (T(1) + e);
    }
};

struct TanhOp {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
    template <class T>
    static T apply(T x) { return std::tanh(x); }
};

// Calls visitor(Op{}) for the op's struct. `op` must be valid (checked at the entry).
template <class Visitor>
decltype(auto) visit_unary_op(mln_unary_op op, Visitor&& visitor) {
    switch (op) {
        case MLN_UNARY_OP_IDENTITY: return visitor(IdentityOp{});
        case MLN_UNARY_OP_NEG: return visitor(NegOp{});
        case MLN_UNARY_OP_ABS: return visitor(AbsOp{});
        case MLN_UNARY_OP_SQRT: return visitor(SqrtOp{});
        case MLN_UNARY_OP_EXP: return visitor(ExpOp{});
        case MLN_UNARY_OP_LOG: return visitor(LogOp{});
        case MLN_UNARY_OP_RELU: return visitor(ReluOp{});
        case MLN_UNARY_OP_SIGMOID: return visitor(SigmoidOp{});
        case MLN_UNARY_OP_TANH: return visitor(TanhOp{});
    }
    throw Error(MLN_STATUS_INTERNAL, cat("unexpected unary op ", static_cast<int>(op), " reached a kernel"));
}

// Whether `op` is defined for `dtype`.
bool unary_op_supports(mln_unary_op op, mln_dtype dtype);

}  // namespace mln::kernels
