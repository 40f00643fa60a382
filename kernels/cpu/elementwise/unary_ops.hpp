// One struct per unary op. `supports<T>` says which element types the op is defined for (the
// dispatch instantiates only those); `apply` is the scalar definition, which is also what the
// reference kernels use. Integer ops wrap on overflow (neg/abs of the minimum give the minimum).
//
// Ops with parameters carry them as members (alpha, beta) with the ONNX defaults, so a
// default-constructed struct is the op as a GEMM activation uses it; visit_unary_op with
// parameters sets them from mln_unary's alpha and beta.
//
// Backward: every differentiable op has a derivative. Ops whose derivative is cheapest from
// the output define `kGradFromY = true` and `derivative_from_y(y)`; the others define
// `derivative(x)`. Piecewise-constant ops (floor, ceil, round, sign) have derivative 0.
#pragma once

#include <myelin.h>

#include <cmath>
#include <type_traits>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/text.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/elementwise/activation_constants.hpp"

namespace mln::kernels {

namespace detail {
// Two's complement negation without signed-overflow UB.
template <class T>
T wrapping_neg(T x) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(U{0} - static_cast<U>(x)));
}

template <class T>
T stable_sigmoid(T x) {
    // Two branches so exp never overflows: for x < 0, e^x / (1 + e^x).
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
}

// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
template <class T>
T stable_softplus(T x) {
    return std::fmax(x, T(0)) + std::log1p(std::exp(-std::fabs(x)));
}
}  // namespace detail

// Supports every float type; the common case.
struct FloatOp {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
};

// A float op with parameters (alpha, beta members) that mln_unary sets; as a GEMM activation
// it keeps its defaults.
struct ParameterizedOp : FloatOp {
    static constexpr bool kParameterized = true;
};

template <class Op>
constexpr bool is_parameterized_v = requires { Op::kParameterized; };

struct IdentityOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_signed_int_v<T>;
    template <class T>
    static T apply(T x) { return x; }
    static constexpr bool kGradFromY = true;
    template <class T>
    static T derivative_from_y(T) { return T(1); }
};

struct NegOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_signed_int_v<T>;
    template <class T>
    static T apply(T x) {
        if constexpr (is_float_v<T>) return -x;
        else return detail::wrapping_neg(x);
    }
    static constexpr bool kGradFromY = true;
    template <class T>
    static T derivative_from_y(T) { return T(-1); }
};

struct AbsOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_signed_int_v<T>;
    template <class T>
    static T apply(T x) {
        if constexpr (is_float_v<T>) return std::fabs(x);
        else return x < 0 ? detail::wrapping_neg(x) : x;
    }
    static constexpr bool kGradFromY = false;
    // sign(x); 0 at 0 (the subgradient PyTorch uses).
    template <class T>
    static T derivative(T x) { return x > T(0) ? T(1) : (x < T(0) ? T(-1) : (x == T(0) ? T(0) : x)); }
};

struct SqrtOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::sqrt(x); }
    static constexpr bool kGradFromY = true;
    template <class T>
    static T derivative_from_y(T y) { return T(0.5) / y; }
};

struct ExpOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::exp(x); }
    static constexpr bool kGradFromY = true;
    template <class T>
    static T derivative_from_y(T y) { return y; }
};

struct LogOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::log(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return T(1) / x; }
};

struct ReluOp : FloatOp {
    // NaN stays NaN (x > 0 is false for NaN, so test the other way round).
    template <class T>
    static T apply(T x) { return x < T(0) ? T(0) : x; }
    static constexpr bool kGradFromY = true;  // y > 0 exactly where x > 0
    template <class T>
    static T derivative_from_y(T y) { return y > T(0) ? T(1) : (y == T(0) ? T(0) : y); }
};

struct SigmoidOp : FloatOp {
    template <class T>
    static T apply(T x) { return detail::stable_sigmoid(x); }
    static constexpr bool kGradFromY = true;
    template <class T>
    static T derivative_from_y(T y) { return y * (T(1) - y); }
};

struct TanhOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::tanh(x); }
    static constexpr bool kGradFromY = true;
    template <class T>
    static T derivative_from_y(T y) { return T(1) - y * y; }
};

struct LeakyReluOp : ParameterizedOp {
    double alpha = 0.01;
    template <class T>
    T apply(T x) const { return x < T(0) ? T(alpha) * x : x; }
    static constexpr bool kGradFromY = false;
    template <class T>
    T derivative(T x) const { return x > T(0) ? T(1) : (x <= T(0) ? T(alpha) : x); }
};

struct EluOp : ParameterizedOp {
    double alpha = 1.0;
    template <class T>
    T apply(T x) const { return x < T(0) ? T(alpha) * std::expm1(x) : x; }
    static constexpr bool kGradFromY = false;
    template <class T>
    T derivative(T x) const { return x > T(0) ? T(1) : (x <= T(0) ? T(alpha) * std::exp(x) : x); }
};

// beta is ONNX's gamma (PyTorch's scale, lambda in the paper).
struct SeluOp : ParameterizedOp {
    double alpha = detail::kSeluAlpha;
    double beta = detail::kSeluLambda;
    template <class T>
    T apply(T x) const {
        return x < T(0) ? T(beta * alpha) * std::expm1(x) : T(beta) * x;
    }
    static constexpr bool kGradFromY = false;
    template <class T>
    T derivative(T x) const {
        if (x > T(0)) return T(beta);
        return x <= T(0) ? T(beta * alpha) * std::exp(x) : x;
    }
};

// max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); alpha must be nonzero.
struct CeluOp : ParameterizedOp {
    double alpha = 1.0;
    template <class T>
    T apply(T x) const { return x < T(0) ? T(alpha) * std::expm1(x / T(alpha)) : x; }
    static constexpr bool kGradFromY = false;
    template <class T>
    T derivative(T x) const { return x > T(0) ? T(1) : (x <= T(0) ? std::exp(x / T(alpha)) : x); }
};

// Exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
struct GeluOp : FloatOp {
    template <class T>
    static T apply(T x) { return T(0.5) * x * (T(1) + std::erf(x * T(detail::kInvSqrt2))); }
    static constexpr bool kGradFromY = false;
    // Phi(x) + x phi(x).
    template <class T>
    static T derivative(T x) {
        const T cdf = T(0.5) * (T(1) + std::erf(x * T(detail::kInvSqrt2)));
        return cdf + x * T(detail::kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
    }
};

// GELU with the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
struct GeluTanhOp : FloatOp {
    template <class T>
    static T apply(T x) {
        const T inner = T(detail::kSqrt2OverPi) * (x + T(detail::kGeluTanhCubic) * x * x * x);
        return T(0.5) * x * (T(1) + std::tanh(inner));
    }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) {
        const T inner = T(detail::kSqrt2OverPi) * (x + T(detail::kGeluTanhCubic) * x * x * x);
        const T t = std::tanh(inner);
        const T dinner = T(detail::kSqrt2OverPi) * (T(1) + T(3 * detail::kGeluTanhCubic) * x * x);
        return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner;
    }
};

// SiLU / swish: x * sigmoid(x).
struct SiluOp : FloatOp {
    template <class T>
    static T apply(T x) { return x * detail::stable_sigmoid(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) {
        const T s = detail::stable_sigmoid(x);
        return s * (T(1) + x * (T(1) - s));
    }
};

// x * tanh(softplus(x)).
struct MishOp : FloatOp {
    template <class T>
    static T apply(T x) { return x * std::tanh(detail::stable_softplus(x)); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) {
        const T t = std::tanh(detail::stable_softplus(x));
        return t + x * (T(1) - t * t) * detail::stable_sigmoid(x);
    }
};

struct SoftplusOp : FloatOp {
    template <class T>
    static T apply(T x) { return detail::stable_softplus(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return detail::stable_sigmoid(x); }
};

// x / (1 + |x|).
struct SoftsignOp : FloatOp {
    template <class T>
    static T apply(T x) { return x / (T(1) + std::fabs(x)); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) {
        const T d = T(1) + std::fabs(x);
        return T(1) / (d * d);
    }
};

// max(0, min(1, alpha x + beta)), ONNX defaults alpha 0.2, beta 0.5.
struct HardSigmoidOp : ParameterizedOp {
    double alpha = 0.2;
    double beta = 0.5;
    template <class T>
    T apply(T x) const {
        const T v = T(alpha) * x + T(beta);
        return v < T(0) ? T(0) : (v > T(1) ? T(1) : v);
    }
    static constexpr bool kGradFromY = false;
    template <class T>
    T derivative(T x) const {
        const T v = T(alpha) * x + T(beta);
        return v > T(0) && v < T(1) ? T(alpha) : (v != v ? v : T(0));
    }
};

// x * hard_sigmoid(x) with alpha 1/6, beta 0.5 (ONNX HardSwish).
struct HardSwishOp : FloatOp {
    template <class T>
    static T apply(T x) {
        const T v = x / T(6) + T(0.5);
        return x * (v < T(0) ? T(0) : (v > T(1) ? T(1) : v));
    }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) {
        if (x < T(-3)) return T(0);
        if (x > T(3)) return T(1);
        return x / T(3) + T(0.5);  // NaN stays NaN
    }
};

struct ReciprocalOp : FloatOp {
    template <class T>
    static T apply(T x) { return T(1) / x; }
    static constexpr bool kGradFromY = true;
    template <class T>
    static T derivative_from_y(T y) { return -y * y; }
};

struct SquareOp : FloatOp {
    template <class T>
    static T apply(T x) { return x * x; }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return T(2) * x; }
};

struct SinOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::sin(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return std::cos(x); }
};

struct CosOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::cos(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return -std::sin(x); }
};

struct ErfOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::erf(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return T(detail::kTwoOverSqrtPi) * std::exp(-x * x); }
};

// Piecewise-constant ops: derivative 0 almost everywhere (NaN where y is NaN).
struct PiecewiseConstantGrad {
    static constexpr bool kGradFromY = true;
    template <class T>
    static T derivative_from_y(T y) { return y - y; }
};

struct FloorOp : FloatOp, PiecewiseConstantGrad {
    template <class T>
    static T apply(T x) { return std::floor(x); }
};

struct CeilOp : FloatOp, PiecewiseConstantGrad {
    template <class T>
    static T apply(T x) { return std::ceil(x); }
};

// Halves go to the even neighbour (the default rounding mode, as ONNX Round).
struct RoundOp : FloatOp, PiecewiseConstantGrad {
    template <class T>
    static T apply(T x) { return std::nearbyint(x); }
};

struct SignOp : PiecewiseConstantGrad {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_signed_int_v<T>;
    template <class T>
    static T apply(T x) { return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x); }  // keeps 0, -0, NaN
};

struct Log1pOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::log1p(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return T(1) / (T(1) + x); }
};

struct Expm1Op : FloatOp {
    template <class T>
    static T apply(T x) { return std::expm1(x); }
    static constexpr bool kGradFromY = true;
    template <class T>
    static T derivative_from_y(T y) { return y + T(1); }
};

struct TanOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::tan(x); }
    static constexpr bool kGradFromY = true;
    template <class T>
    static T derivative_from_y(T y) { return T(1) + y * y; }
};

struct AsinOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::asin(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return T(1) / std::sqrt(T(1) - x * x); }
};

struct AcosOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::acos(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return T(-1) / std::sqrt(T(1) - x * x); }
};

struct AtanOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::atan(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return T(1) / (T(1) + x * x); }
};

struct SinhOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::sinh(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return std::cosh(x); }
};

struct CoshOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::cosh(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return std::sinh(x); }
};

struct AsinhOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::asinh(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return T(1) / std::sqrt(x * x + T(1)); }
};

// Defined for x >= 1; the derivative is computed as 1 / (sqrt(x - 1) sqrt(x + 1)), which does not
// overflow for large x.
struct AcoshOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::acosh(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return T(1) / (std::sqrt(x - T(1)) * std::sqrt(x + T(1))); }
};

struct AtanhOp : FloatOp {
    template <class T>
    static T apply(T x) { return std::atanh(x); }
    static constexpr bool kGradFromY = false;
    template <class T>
    static T derivative(T x) { return T(1) / (T(1) - x * x); }
};

// ONNX Shrink: alpha is lambd, beta is bias.
struct ShrinkOp : ParameterizedOp {
    double alpha = 0.5;
    double beta = 0.0;
    template <class T>
    T apply(T x) const {
        if (x < T(-alpha)) return x + T(beta);
        if (x > T(alpha)) return x - T(beta);
        return x != x ? x : T(0);
    }
    static constexpr bool kGradFromY = false;
    template <class T>
    T derivative(T x) const { return x < T(-alpha) || x > T(alpha) ? T(1) : (x != x ? x : T(0)); }
};

// ONNX ThresholdedRelu: x where x > alpha, else 0.
struct ThresholdedReluOp : ParameterizedOp {
    double alpha = 1.0;
    template <class T>
    T apply(T x) const { return x > T(alpha) ? x : (x != x ? x : T(0)); }
    static constexpr bool kGradFromY = false;
    template <class T>
    T derivative(T x) const { return x > T(alpha) ? T(1) : (x != x ? x : T(0)); }
};

// The last mln_unary_op, for loops over every op.
constexpr mln_unary_op kLastUnaryOp = MLN_UNARY_OP_THRESHOLDED_RELU;

// Calls visitor(op struct) with alpha/beta set for the ops that take them. `op` must be valid
// (checked at the entry).
template <class Visitor>
decltype(auto) visit_unary_op(mln_unary_op op, double alpha, double beta, Visitor&& visitor) {
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
        case MLN_UNARY_OP_LEAKY_RELU: return visitor(LeakyReluOp{{}, alpha});
        case MLN_UNARY_OP_ELU: return visitor(EluOp{{}, alpha});
        case MLN_UNARY_OP_SELU: return visitor(SeluOp{{}, alpha, beta});
        case MLN_UNARY_OP_CELU: return visitor(CeluOp{{}, alpha});
        case MLN_UNARY_OP_GELU: return visitor(GeluOp{});
        case MLN_UNARY_OP_GELU_TANH: return visitor(GeluTanhOp{});
        case MLN_UNARY_OP_SILU: return visitor(SiluOp{});
        case MLN_UNARY_OP_MISH: return visitor(MishOp{});
        case MLN_UNARY_OP_SOFTPLUS: return visitor(SoftplusOp{});
        case MLN_UNARY_OP_SOFTSIGN: return visitor(SoftsignOp{});
        case MLN_UNARY_OP_HARD_SIGMOID: return visitor(HardSigmoidOp{{}, alpha, beta});
        case MLN_UNARY_OP_HARD_SWISH: return visitor(HardSwishOp{});
        case MLN_UNARY_OP_RECIPROCAL: return visitor(ReciprocalOp{});
        case MLN_UNARY_OP_SQUARE: return visitor(SquareOp{});
        case MLN_UNARY_OP_SIN: return visitor(SinOp{});
        case MLN_UNARY_OP_COS: return visitor(CosOp{});
        case MLN_UNARY_OP_ERF: return visitor(ErfOp{});
        case MLN_UNARY_OP_FLOOR: return visitor(FloorOp{});
        case MLN_UNARY_OP_CEIL: return visitor(CeilOp{});
        case MLN_UNARY_OP_ROUND: return visitor(RoundOp{});
        case MLN_UNARY_OP_SIGN: return visitor(SignOp{});
        case MLN_UNARY_OP_LOG1P: return visitor(Log1pOp{});
        case MLN_UNARY_OP_EXPM1: return visitor(Expm1Op{});
        case MLN_UNARY_OP_TAN: return visitor(TanOp{});
        case MLN_UNARY_OP_ASIN: return visitor(AsinOp{});
        case MLN_UNARY_OP_ACOS: return visitor(AcosOp{});
        case MLN_UNARY_OP_ATAN: return visitor(AtanOp{});
        case MLN_UNARY_OP_SINH: return visitor(SinhOp{});
        case MLN_UNARY_OP_COSH: return visitor(CoshOp{});
        case MLN_UNARY_OP_ASINH: return visitor(AsinhOp{});
        case MLN_UNARY_OP_ACOSH: return visitor(AcoshOp{});
        case MLN_UNARY_OP_ATANH: return visitor(AtanhOp{});
        case MLN_UNARY_OP_SHRINK: return visitor(ShrinkOp{{}, alpha, beta});
        case MLN_UNARY_OP_THRESHOLDED_RELU: return visitor(ThresholdedReluOp{{}, alpha});
    }
    throw Error(MLN_STATUS_INTERNAL, cat("unexpected unary op ", static_cast<int>(op), " reached a kernel"));
}

// The op with its default parameters (GEMM activations).
template <class Visitor>
decltype(auto) visit_unary_op(mln_unary_op op, Visitor&& visitor) {
    return visit_unary_op(op, LeakyReluOp{}.alpha, 0.0, [&](auto op_struct) -> decltype(auto) {
        using Op = decltype(op_struct);
        if constexpr (is_parameterized_v<Op>) {
            return visitor(Op{});
        } else {
            return visitor(op_struct);
        }
    });
}

// Scalar derivative dy/dx of `op`, from x or y as the op prefers (both valid values).
template <class Op, class T>
T unary_derivative(const Op& op, T x, T y) {
    if constexpr (Op::kGradFromY) {
        (void)x;
        return op.template derivative_from_y<T>(y);
    } else {
        (void)y;
        return op.template derivative<T>(x);
    }
}

// Whether `op` is defined for `dtype`.
bool unary_op_supports(mln_unary_op op, mln_dtype dtype);

}  // namespace mln::kernels
