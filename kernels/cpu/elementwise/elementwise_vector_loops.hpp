// The vector elementwise kernels, written once over the vector traits W of one ISA
// (Avx2F32/Avx2F64 in vector_math_avx2.hpp, Avx512F32/Avx512F64 in vector_math_avx512.hpp).
// Include only from the *_avx2.cpp / *_avx512.cpp file that instantiates them.
//
// Each vector op mirrors the scalar op struct of the same name (unary_ops.hpp, binary_ops.hpp):
// the same formula, forward and derivative, with the transcendentals of vector_math.hpp. The
// tail of a run goes through the same vector code on a padded copy, so an element's result
// never depends on where a run starts or how the work was split across threads.
#pragma once

#include <myelin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <immintrin.h>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/rounded.hpp"
#include "kernels/cpu/common/vector_math.hpp"
#include "kernels/cpu/elementwise/activation_constants.hpp"
#include "kernels/cpu/elementwise/elementwise_vector.hpp"

namespace mln::kernels::vector_loops {

template <class W>
struct Params {
    typename W::V alpha;
    typename W::V beta;
    typename W::V alpha_beta;  // alpha * beta rounded once, as the scalar ops' T(beta * alpha)
    typename W::V reciprocal_alpha;  // 1 / alpha: celu's x / alpha as a multiply
};

template <class W>
Params<W> make_params(double alpha, double beta) {
    return {W::set1(static_cast<float>(alpha)), W::set1(static_cast<float>(beta)), W::set1(static_cast<float>(alpha * beta)),
            W::set1(static_cast<float>(1.0 / alpha))};
}

template <class W>
inline typename W::V clamp01(typename W::V v) {
    return W::min(W::max(v, W::zero()), W::set1(1.0f));
}

// Derivative 1 where `positive`, `otherwise` where `non_positive`, v itself (NaN) elsewhere:
// the shape of the scalar derivatives' NaN handling.
template <class W>
inline typename W::V piecewise(typename W::Mask positive, typename W::V one, typename W::Mask non_positive,
                               typename W::V otherwise, typename W::V v) {
    return W::select(positive, one, W::select(non_positive, otherwise, v));
}

// Unary ops: apply(p, x) is the forward; derivative(p, v) is op'(x) from v = y where
// kGradFromY, else v = x (as the scalar struct of the same name). Forced inline, as vmath's
// functions: GCC otherwise called some ops' apply out of line from the streaming loop (log1p
// there ran at 0.75x main's speed, bench eltwise --threads 2).
struct VecIdentity {
    static constexpr bool kGradFromY = true;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return x; }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V) { return W::set1(1.0f); }
};
struct VecNeg {
    static constexpr bool kGradFromY = true;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::neg(x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V) { return W::set1(-1.0f); }
};
struct VecAbs {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::abs(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto zero = W::zero();
        return W::select(W::gt(x, zero), W::set1(1.0f),
                         W::select(W::lt(x, zero), W::set1(-1.0f), W::select(W::eq(x, zero), zero, x)));
    }
};
struct VecSqrt {
    static constexpr bool kGradFromY = true;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::sqrt(x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V y) { return W::div(W::set1(0.5f), y); }
};
struct VecExp {
    static constexpr bool kGradFromY = true;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::exp<W>(x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V y) { return y; }
};
struct VecLog {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::log<W>(x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) { return W::div(W::set1(1.0f), x); }
};
// NaN-preserving max(0, x) style selects use compares that are false for NaN.
struct VecRelu {
    static constexpr bool kGradFromY = true;
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::select(W::lt(x, W::zero()), W::zero(), x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V y) {
        return piecewise<W>(W::gt(y, W::zero()), W::set1(1.0f), W::eq(y, W::zero()), W::zero(), y);
    }
};
struct VecSigmoid {
    static constexpr bool kGradFromY = true;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::sigmoid<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V y) { return W::mul(y, W::sub(W::set1(1.0f), y)); }
};
struct VecTanh {
    static constexpr bool kGradFromY = true;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::tanh<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V y) { return W::fnmadd(y, y, W::set1(1.0f)); }
};
struct VecErf {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::erf<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto two_over_sqrt_pi = W::set1(static_cast<float>(detail::kTwoOverSqrtPi));
        return W::mul(two_over_sqrt_pi, vmath::exp_of_nonpositive<W>(W::neg(W::mul(x, x))));
    }
};
struct VecLeakyRelu {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>& p, typename W::V x) {
        return W::select(W::lt(x, W::zero()), W::mul(p.alpha, x), x);
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>& p, typename W::V x) {
        return piecewise<W>(W::gt(x, W::zero()), W::set1(1.0f), W::le(x, W::zero()), p.alpha, x);
    }
};
// Exact GELU: x Phi(x); derivative Phi(x) + x phi(x). Where one permute reaches 32 entries
// (AVX-512) both straight from tables of intervals (vmath::GeluIntervals,
// vmath::GeluDerivativeIntervals): no erf and no exp. Not taken (counted, 2026-12-07): 0.5 x +
// 0.5|x| erf(|x|/sqrt 2) as fma(0.5|x|, p, base) with erf's parts saves 2 instructions but, erf's
// p staying at -erfc(4) beyond its last interval, needs a compare and select there (gelu(-inf)
// would be -4e-8, gelu(+inf) NaN), which takes them back.
struct VecGelu {
    static constexpr bool kGradFromY = false;
    // (1 + e) / 2 as one FMA: halving is exact, so the bits of the add and multiply it replaces
    // (GELU's backward 0.97-0.99x the time in cache, Zen 5).
    template <class W>
    MLN_ALWAYS_INLINE static auto cdf(typename W::V x) {
        const auto e = vmath::erf<W>(W::mul(x, W::set1(static_cast<float>(detail::kInvSqrt2))));
        return W::fmadd(W::set1(0.5f), e, W::set1(0.5f));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) {
        if constexpr (W::kPermuteEntries == 32) {
            // max(0, x) keeps x's -0; NaN: h is NaN.
            const auto h = vmath::interval_polynomial_of_abs<W, vmath::GeluIntervals>(x).p;
            return W::sub(W::max(W::zero(), x), h);
        } else {
            const auto e = vmath::erf<W>(W::mul(x, W::set1(static_cast<float>(detail::kInvSqrt2))));
            return W::mul(W::mul(W::set1(0.5f), x), W::add(W::set1(1.0f), e));
        }
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        if constexpr (W::kPermuteEntries == 32) {
            // |x| unclamped (the table's index capped): +-inf gives t = inf and v = 0 inf = NaN, as
            // the scalar definition's inf 0.
            const auto v = vmath::interval_polynomial<W, vmath::GeluDerivativeIntervals>(W::abs(x)).p;
            // 1 - v(|x|) for x >= 0 (-0 too: v(0) = 1/2); v itself for x < 0 and NaN.
            return W::select(W::le(W::zero(), x), W::sub(W::set1(1.0f), v), v);
        } else {
            const auto pdf = vmath::exp_of_nonpositive<W>(W::mul(W::set1(-0.5f), W::mul(x, x)));
            return W::fmadd(W::mul(x, W::set1(static_cast<float>(detail::kInvSqrt2Pi))), pdf, cdf<W>(x));
        }
    }
};
// 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), as x sigmoid(2u) = x / (1 + e^-2u):
// one exp and a divide in place of tanh (forward 0.64-0.80x the time at AVX-512, 0.45-0.48x at
// AVX2; backward 0.78-0.87x, 0.56-0.60x; in cache and at 64 Mi, Zen 5, 2026-12-07), with relative
// accuracy where 1 + tanh lost every digit by x = -6 (kGeluTanhMaxUlp). Where e^-2u overflows (x <
// -10.06) the result is -0 where the exact one is above -3e-38, as the scalar op's tanh = -1;
// x = -inf gives -inf / inf = NaN as its -inf 0. Derivative s + x s (1 - s) 2u', s = sigmoid(2u).
struct VecGeluTanh {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static auto one_plus_exp_of_minus_twice_inner(typename W::V x, typename W::V xx) {
        const auto cubic = W::set1(static_cast<float>(-2 * detail::kSqrt2OverPi * detail::kGeluTanhCubic));
        const auto minus_twice_inner = W::mul(x, W::fmadd(cubic, xx, W::set1(static_cast<float>(-2 * detail::kSqrt2OverPi))));
        return W::add(W::set1(1.0f), vmath::exp<W>(minus_twice_inner));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) {
        return W::div(x, one_plus_exp_of_minus_twice_inner<W>(x, W::mul(x, x)));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto one = W::set1(1.0f);
        const auto xx = W::mul(x, x);
        const auto s = W::div(one, one_plus_exp_of_minus_twice_inner<W>(x, xx));
        const auto square = W::set1(static_cast<float>(2 * detail::kSqrt2OverPi * 3 * detail::kGeluTanhCubic));
        const auto twice_dinner = W::fmadd(square, xx, W::set1(static_cast<float>(2 * detail::kSqrt2OverPi)));
        return W::fmadd(W::mul(W::mul(x, s), W::sub(one, s)), twice_dinner, s);
    }
};
// SiLU: x sigmoid(x); derivative s (1 + x (1 - s)).
struct VecSilu {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::mul(x, vmath::sigmoid<W>(x)); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto s = vmath::sigmoid<W>(x);
        const auto one = W::set1(1.0f);
        return W::mul(s, W::fmadd(x, W::sub(one, s), one));
    }
};
struct VecSoftsign {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::div(x, W::add(W::set1(1.0f), W::abs(x))); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto d = W::add(W::set1(1.0f), W::abs(x));
        return W::div(W::set1(1.0f), W::mul(d, d));
    }
};
struct VecHardSigmoid {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>& p, typename W::V x) {
        return vmath::nan_passthrough<W>(x, clamp01<W>(W::fmadd(p.alpha, x, p.beta)));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>& p, typename W::V x) {
        const auto v = W::fmadd(p.alpha, x, p.beta);
        const auto inside = W::mask_and(W::gt(v, W::zero()), W::lt(v, W::set1(1.0f)));
        return W::select(inside, p.alpha, W::select(W::unordered(v, v), v, W::zero()));
    }
};
struct VecHardSwish {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) {
        const auto v = W::add(W::div(x, W::set1(6.0f)), W::set1(0.5f));
        return vmath::nan_passthrough<W>(x, W::mul(x, clamp01<W>(v)));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto middle = W::add(W::div(x, W::set1(3.0f)), W::set1(0.5f));  // NaN stays NaN
        return W::select(W::lt(x, W::set1(-3.0f)), W::zero(), W::select(W::gt(x, W::set1(3.0f)), W::set1(1.0f), middle));
    }
};
struct VecReciprocal {
    static constexpr bool kGradFromY = true;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::div(W::set1(1.0f), x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V y) { return W::neg(W::mul(y, y)); }
};
struct VecSquare {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::mul(x, x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) { return W::add(x, x); }
};
struct VecExpm1 {
    static constexpr bool kGradFromY = true;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::expm1<W>(x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V y) { return W::add(y, W::set1(1.0f)); }
};
struct VecLog1p {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::log1p<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) { return W::div(W::set1(1.0f), W::add(W::set1(1.0f), x)); }
};
// ELU: alpha (e^x - 1) below 0.
struct VecElu {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>& p, typename W::V x) {
        return W::select(W::lt(x, W::zero()), W::mul(p.alpha, vmath::expm1<W>(x)), x);
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>& p, typename W::V x) {
        return piecewise<W>(W::gt(x, W::zero()), W::set1(1.0f), W::le(x, W::zero()), W::mul(p.alpha, vmath::exp<W>(x)), x);
    }
};
// SELU: beta (alpha (e^x - 1) below 0, x above).
struct VecSelu {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>& p, typename W::V x) {
        return W::select(W::lt(x, W::zero()), W::mul(p.alpha_beta, vmath::expm1<W>(x)), W::mul(p.beta, x));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>& p, typename W::V x) {
        return piecewise<W>(W::gt(x, W::zero()), p.beta, W::le(x, W::zero()), W::mul(p.alpha_beta, vmath::exp<W>(x)), x);
    }
};
// CELU: alpha (e^(x / alpha) - 1) below 0.
struct VecCelu {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>& p, typename W::V x) {
        return W::select(W::lt(x, W::zero()), W::mul(p.alpha, vmath::expm1<W>(W::mul(x, p.reciprocal_alpha))), x);
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>& p, typename W::V x) {
        return piecewise<W>(W::gt(x, W::zero()), W::set1(1.0f), W::le(x, W::zero()), vmath::exp<W>(W::mul(x, p.reciprocal_alpha)), x);
    }
};
// Softplus: max(x, 0) + log1p(e^-|x|), no overflow; derivative sigmoid(x). A NaN x carries
// through exp's clamp (max returns its second operand where either is NaN) into the tail, so no
// passthrough select (2 instructions).
struct VecSoftplus {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static typename W::V softplus(typename W::V x) {
        if constexpr (W::kPermuteEntries == 32) {
            // log1p(e^-|x|) from vmath::SoftplusIntervals (no exp and no log) where |x| <= 7.75;
            // beyond (and NaN) the general form, only where a lane of the vector is there: each
            // lane's bits never depend on the others'.
            const auto a = W::abs(x);
            const auto inside = W::le(a, W::set1(vmath::SoftplusIntervals::kLimit));
            const auto near = W::add(W::max(x, W::zero()), vmath::interval_polynomial<W, vmath::SoftplusIntervals>(a).p);
            if (W::all(inside)) return near;
            return W::select(inside, near, general<W>(x));
        } else {
            return general<W>(x);
        }
    }
    template <class W>
    MLN_ALWAYS_INLINE static typename W::V general(typename W::V x) {
        const auto tail = vmath::log1p_of_fraction<W>(vmath::exp_of_nonpositive<W>(W::negative_abs(x)));
        return W::add(W::max(x, W::zero()), tail);
    }
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return softplus<W>(x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) { return vmath::sigmoid<W>(x); }
};
// Mish: x tanh(softplus(x)); derivative t + x (1 - t^2) sigmoid(x). With n = e^x,
// t = tanh(log(1 + n)) = n (n + 2) / (n (n + 2) + 2) and sigmoid(x) = n / (1 + n): one exp and
// no log. x is clamped to 20 for n, where t and sigmoid are 1 in float and n^2 is finite. A NaN
// x gives NaN through the products with x.
struct VecMish {
    static constexpr bool kGradFromY = false;
    // exp's own clamp to [-104, 89] less its upper bound, which 20 already keeps (min(x, 20) is
    // never NaN: min returns its second operand where either is).
    template <class W>
    MLN_ALWAYS_INLINE static auto exp_clamped(typename W::V x) {
        return vmath::exp_of_clamped<W>(W::max(W::set1(-104.0f), W::min(x, W::set1(20.0f))));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto tanh_softplus(typename W::V n) {
        const auto p = W::fmadd(n, n, W::add(n, n));  // n (n + 2) with one rounding
        return W::div(p, W::add(p, W::set1(2.0f)));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) {
        return W::mul(x, tanh_softplus<W>(exp_clamped<W>(x)));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto n = exp_clamped<W>(x);
        const auto t = tanh_softplus<W>(n);
        const auto one = W::set1(1.0f);
        const auto sigmoid = W::div(n, W::add(one, n));
        return W::fmadd(W::mul(x, W::fnmadd(t, t, one)), sigmoid, t);
    }
};

// The hyperbolic functions and their inverses (vmath::sinh ...); derivatives as the scalar structs'.
// asinh, acosh and atanh run at 0.37-0.60x log1p's speed in cache at AVX-512 (Zen 5, one thread),
// more than their divide or square root alone costs. Not taken (2026-12-08, in cache): atanh as
// (log1p(a) - log1p(-a)) / 2, no divide, 1.35x the time; asinh with sqrt(1 + a^2) - 1 from s - 1
// and the square root's residual (fnmadd(s, s, v)) in place of a^2 / (1 + s), no divide, 1.00x;
// two or four vectors a loop iteration (run_vectors is shared) 0.94-1.01x (asinh, acosh, atanh).
struct VecSinh {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::sinh<W>(x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) { return vmath::cosh<W>(x); }
};
struct VecCosh {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::cosh<W>(x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) { return vmath::sinh<W>(x); }
};
struct VecAsinh {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::asinh<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto one = W::set1(1.0f);
        return W::div(one, W::sqrt(W::add(rounded(W::mul(x, x)), one)));
    }
};
struct VecAcosh {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::acosh<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto one = W::set1(1.0f);
        return W::div(one, W::mul(W::sqrt(W::sub(x, one)), W::sqrt(W::add(x, one))));
    }
};
struct VecAtanh {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::atanh<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto one = W::set1(1.0f);
        return W::div(one, W::sub(one, rounded(W::mul(x, x))));  // as the scalar op: see VecAsin
    }
};

// Piecewise constant: derivative 0, NaN where y is NaN.
struct PiecewiseConstantDerivative {
    static constexpr bool kGradFromY = true;
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V y) { return W::sub(y, y); }
};
struct VecFloor : PiecewiseConstantDerivative {
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::floor(x); }
};
struct VecCeil : PiecewiseConstantDerivative {
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::ceil(x); }
};
struct VecRound : PiecewiseConstantDerivative {
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return W::round_nearest(x); }
};
// 1 or -1 by x's sign; keeps 0, -0 and NaN (the compares are false there).
struct VecSign : PiecewiseConstantDerivative {
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) {
        return W::select(W::gt(x, W::zero()), W::set1(1.0f), W::select(W::lt(x, W::zero()), W::set1(-1.0f), x));
    }
};
// Outside [-alpha, alpha] x shifted by beta towards 0, inside 0; NaN stays NaN.
struct VecShrink {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>& p, typename W::V x) {
        const auto inside = vmath::nan_passthrough<W>(x, W::zero());
        return W::select(W::lt(x, W::neg(p.alpha)), W::add(x, p.beta), W::select(W::gt(x, p.alpha), W::sub(x, p.beta), inside));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>& p, typename W::V x) {
        const auto one = W::set1(1.0f);
        return W::select(W::lt(x, W::neg(p.alpha)), one, W::select(W::gt(x, p.alpha), one, vmath::nan_passthrough<W>(x, W::zero())));
    }
};
// x where x > alpha, else 0; NaN stays NaN.
struct VecThresholdedRelu {
    static constexpr bool kGradFromY = false;
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(const Params<W>& p, typename W::V x) {
        return W::select(W::gt(x, p.alpha), x, vmath::nan_passthrough<W>(x, W::zero()));
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>& p, typename W::V x) {
        return W::select(W::gt(x, p.alpha), W::set1(1.0f), vmath::nan_passthrough<W>(x, W::zero()));
    }
};

// Trigonometric ops (vmath::sin ...; their bounds kSinMaxUlp ... in elementwise_vector.hpp).
struct VecSin {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::sin<W>(x); }
    template <class W> MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) { return vmath::cos<W>(x); }
};
struct VecCos {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::cos<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) { return W::neg(vmath::sin<W>(x)); }
};
struct VecTan {
    static constexpr bool kGradFromY = true;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::tan<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V y) { return W::add(W::set1(1.0f), W::mul(y, y)); }
};
// 1 - x^2 with the product rounded, as the scalar op's (no FMA): near |x| = 1 that rounding
// moves the result by up to 1e-4 relative.
struct VecAsin {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::asin<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto one = W::set1(1.0f);
        return W::div(one, W::sqrt(W::sub(one, rounded(W::mul(x, x)))));
    }
};
struct VecAcos {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::acos<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        return W::div(W::set1(-1.0f), W::sqrt(W::sub(W::set1(1.0f), rounded(W::mul(x, x)))));
    }
};
struct VecAtan {
    static constexpr bool kGradFromY = false;
    template <class W> MLN_ALWAYS_INLINE static auto apply(const Params<W>&, typename W::V x) { return vmath::atan<W>(x); }
    template <class W>
    MLN_ALWAYS_INLINE static auto derivative(const Params<W>&, typename W::V x) {
        const auto one = W::set1(1.0f);
        return W::div(one, W::add(one, W::mul(x, x)));
    }
};

// Elements before y + result is vector-aligned (all of n if y is not element-aligned).
template <class W>
int64_t misaligned_head(const void* y, int64_t n) {
    constexpr size_t size = sizeof(typename W::T);
    const auto address = reinterpret_cast<uintptr_t>(y);
    if (address % size != 0) return n;
    return std::min<int64_t>(n, static_cast<int64_t>(((W::kBytes - address % W::kBytes) % W::kBytes) / size));
}

// Runs vector(i) -> V over [0, n) into y: whole vectors stored (streamed when `stream`, from
// the first aligned one), the partial head and tail through partial(begin, count), which
// evaluates the same vector code on padded copies.
// A software prefetch of the inputs 2 KiB ahead in the streamed loop took 0.98-1.00x the time
// (64 Mi f32, 2 threads, Zen 5, 2026-12-07): the hardware prefetchers keep up; tanh's and exp's
// with prefetches 1 or 4 KiB ahead into L1, 16 or 64 KiB into L2, 1.01-1.05x (one thread).
// Prefetches of x into L2 in bursts of 16 lines each 1 KiB, 4, 8 or 16 KiB ahead: 1.02-1.19x the
// time (2 threads; bursts of 64 lines 16 KiB ahead 1.27-1.36x; 2026-12-07, all lines streamed).
// The transcendentals' streamed loops hardly overlap their arithmetic with memory (tanh takes a
// copy's time plus most of its time in cache). Plain stores for their forwards (branch
// wip/eltwise, 2138192) took 0.72-0.83x main's time on the Zen 5 VM at 2 threads with its copy at
// 62-69 GB/s (bench eltwise: tanh 68-71% -> 82-87% of a copy, GELU 73-74% -> 89%, log1p 68-69%
// -> 83-95%), 0.83-0.91x at one thread, but 1.07-1.23x with the copy at 50 GB/s: a third stream
// (read-for-ownership) where memory is the bound, as on a machine with many threads, so not
// taken. Blocks of 16 or 64 vectors computed into a buffer, then streamed: 1.02-1.21x (2026-12-07).
// Streamed, with a prefetch of y's line 4 KiB ahead each 1 KiB (prefetch_stream_ahead): with only
// streaming stores the Zen 5 VM overlapped almost none of a loop's arithmetic with its memory traffic (tanh took a
// copy's time plus its time in cache), and even a copy ran below the speed it reaches so; what
// helps is y's stream passing through the caches every 1 KiB. First taken as one plainly stored
// line per 1 KiB (wip/eltwise fcf9402); against main (359b0a7) in one process, alternating, both
// ways round, 64 Mi f32, min / median (2026-12-07): 2 threads tanh 0.56-0.64x the time, gelu
// 0.55-0.69x, erf 0.56-0.65x, log1p 0.54-0.63x, sigmoid, silu, mish, elu, softplus, exp 0.54-0.72x,
// their backwards 0.65-0.86x, the copy (identity) 0.72-0.92x, relu 0.80-0.99x, add and mul even;
// one thread tanh 0.57-0.58x, gelu 0.61-0.65x, the copy 0.84-0.86x; AVX2 tanh and gelu 0.80-0.83x;
// but with the VM's copy down to 50-54 GB/s relu took 1.12-1.15x (tanh, gelu, log1p 0.85-0.89x),
// probably as a plain store commits only after its read for ownership, holding up the streamed
// stores behind it. The prefetch (the same read of 1/16 of y, which no store waits for; past the
// run's end it reads a line more, and never faults) measured even with the plain line (0.96-1.04x
// both ways round; one thread beside a copying process 0.98-1.01x); against main, medians both ways
// round: tanh 0.56-0.57x, gelu 0.62-0.67x, the other transcendental forwards 0.57-0.69x, backwards
// 0.70-0.83x, the copy 0.78-0.87x, relu 0.87-0.98x, add and mul 0.93-1.03x; with the VM's copy at
// 35-48 GB/s the copy 0.80-0.91x, tanh 0.62-0.69x, relu and add even (min 0.83-1.04x, medians
// noisier, mostly 0.98-1.06x). In a scratch loop: a load or prefetchw of y's line 1 KiB ahead
// gained as much, a dummy store to the stack nothing, an sfence each 1 KiB took 1.7x the time, a
// plain line per 512 B gained less (tanh 0.62-0.68x against 0.54-0.59x), per 2 or 4 KiB between
// nothing and as much; y's offset from x made no difference, nor did the 2-thread split (contiguous
// halves against the pool's interleaved chunks: tanh 103-118% of the streamed copy's speed either
// way).
template <class W, class Vector, class Partial>
void run_vectors(typename W::T* y, int64_t n, bool stream, Vector&& vector, Partial&& partial) {
    constexpr int lanes = W::kLanes;
    constexpr int group_vectors = kStreamPrefetchEvery / W::kBytes;
    int64_t i = 0;
    if (stream) {
        const int64_t head = misaligned_head<W>(y, n);
        if (head < lanes) {
            if (head > 0) partial(0, head), i = head;
            for (; i + group_vectors * lanes <= n; i += group_vectors * lanes) {
                prefetch_stream_ahead(y + i);
                for (int k = 0; k < group_vectors; ++k) W::stream(y + i + k * lanes, vector(i + k * lanes));
            }
            for (; i + lanes <= n; i += lanes) W::stream(y + i, vector(i));
            _mm_sfence();
        }
    }
    for (; i + lanes <= n; i += lanes) W::store(y + i, vector(i));
    if (i < n) partial(i, n - i);
}

// Up to one vector of each input copied into zero-padded buffers, f evaluated on them, and
// `count` results copied out.
template <class W, int Inputs, class F>
void on_padded(const typename W::T* const (&inputs)[Inputs], const int64_t (&steps)[Inputs], typename W::T* y,
               int64_t count, F&& f) {
    using T = typename W::T;
    alignas(64) T buffers[Inputs][W::kLanes] = {};
    for (int k = 0; k < Inputs; ++k) {
        for (int64_t i = 0; i < count; ++i) buffers[k][i] = inputs[k][i * steps[k]];
    }
    alignas(64) T out[W::kLanes];
    W::store(out, f(buffers));
    std::memcpy(y, out, static_cast<size_t>(count) * sizeof(T));
}

template <class Op, class W>
void unary_run(double alpha, double beta, const float* x, float* y, int64_t n, bool stream) {
    const Params<W> params = make_params<W>(alpha, beta);
    run_vectors<W>(y, n, stream, [&](int64_t i) MLN_LAMBDA_ALWAYS_INLINE { return Op::template apply<W>(params, W::load(x + i)); },
                   [&](int64_t begin, int64_t count) {
                       on_padded<W, 1>({x + begin}, {1}, y + begin, count, [&](const auto& in) {
                           return Op::template apply<W>(params, W::load(in[0]));
                       });
                   });
}

template <class Op, class W>
void unary_backward_run(double alpha, double beta, const float* source, bool source_is_y, const float* dy,
                        float* dx, int64_t n, bool stream) {
    const Params<W> params = make_params<W>(alpha, beta);
    const bool apply_first = Op::kGradFromY && !source_is_y;
    const auto gradient = [&](typename W::V v, typename W::V g) MLN_LAMBDA_ALWAYS_INLINE {
        if (apply_first) v = Op::template apply<W>(params, v);
        return W::mul(g, Op::template derivative<W>(params, v));
    };
    run_vectors<W>(dx, n, stream, [&](int64_t i) MLN_LAMBDA_ALWAYS_INLINE { return gradient(W::load(source + i), W::load(dy + i)); },
                   [&](int64_t begin, int64_t count) {
                       on_padded<W, 2>({source + begin, dy + begin}, {1, 1}, dx + begin, count, [&](const auto& in) {
                           return gradient(W::load(in[0]), W::load(in[1]));
                       });
                   });
}

template <class W>
struct UnaryKernels {
    UnaryKernelF32 forward = nullptr;
    UnaryBackwardKernelF32 backward = nullptr;
};

template <class Op, class W>
constexpr UnaryKernels<W> kernels_of() {
    return {&unary_run<Op, W>, &unary_backward_run<Op, W>};
}

template <class W>
UnaryKernels<W> unary_kernels(mln_unary_op op) {
    switch (op) {
        case MLN_UNARY_OP_IDENTITY: return kernels_of<VecIdentity, W>();
        case MLN_UNARY_OP_NEG: return kernels_of<VecNeg, W>();
        case MLN_UNARY_OP_ABS: return kernels_of<VecAbs, W>();
        case MLN_UNARY_OP_SQRT: return kernels_of<VecSqrt, W>();
        case MLN_UNARY_OP_EXP: return kernels_of<VecExp, W>();
        case MLN_UNARY_OP_LOG: return kernels_of<VecLog, W>();
        case MLN_UNARY_OP_RELU: return kernels_of<VecRelu, W>();
        case MLN_UNARY_OP_SIGMOID: return kernels_of<VecSigmoid, W>();
        case MLN_UNARY_OP_TANH: return kernels_of<VecTanh, W>();
        case MLN_UNARY_OP_LEAKY_RELU: return kernels_of<VecLeakyRelu, W>();
        case MLN_UNARY_OP_GELU: return kernels_of<VecGelu, W>();
        case MLN_UNARY_OP_GELU_TANH: return kernels_of<VecGeluTanh, W>();
        case MLN_UNARY_OP_SILU: return kernels_of<VecSilu, W>();
        case MLN_UNARY_OP_SOFTSIGN: return kernels_of<VecSoftsign, W>();
        case MLN_UNARY_OP_HARD_SIGMOID: return kernels_of<VecHardSigmoid, W>();
        case MLN_UNARY_OP_HARD_SWISH: return kernels_of<VecHardSwish, W>();
        case MLN_UNARY_OP_RECIPROCAL: return kernels_of<VecReciprocal, W>();
        case MLN_UNARY_OP_SQUARE: return kernels_of<VecSquare, W>();
        case MLN_UNARY_OP_ERF: return kernels_of<VecErf, W>();
        case MLN_UNARY_OP_FLOOR: return kernels_of<VecFloor, W>();
        case MLN_UNARY_OP_CEIL: return kernels_of<VecCeil, W>();
        case MLN_UNARY_OP_ROUND: return kernels_of<VecRound, W>();
        case MLN_UNARY_OP_EXPM1: return kernels_of<VecExpm1, W>();
        case MLN_UNARY_OP_LOG1P: return kernels_of<VecLog1p, W>();
        case MLN_UNARY_OP_ELU: return kernels_of<VecElu, W>();
        case MLN_UNARY_OP_SELU: return kernels_of<VecSelu, W>();
        case MLN_UNARY_OP_CELU: return kernels_of<VecCelu, W>();
        case MLN_UNARY_OP_SOFTPLUS: return kernels_of<VecSoftplus, W>();
        case MLN_UNARY_OP_MISH: return kernels_of<VecMish, W>();
        case MLN_UNARY_OP_SIGN: return kernels_of<VecSign, W>();
        case MLN_UNARY_OP_SHRINK: return kernels_of<VecShrink, W>();
        case MLN_UNARY_OP_THRESHOLDED_RELU: return kernels_of<VecThresholdedRelu, W>();
        case MLN_UNARY_OP_SINH: return kernels_of<VecSinh, W>();
        case MLN_UNARY_OP_COSH: return kernels_of<VecCosh, W>();
        case MLN_UNARY_OP_ASINH: return kernels_of<VecAsinh, W>();
        case MLN_UNARY_OP_ACOSH: return kernels_of<VecAcosh, W>();
        case MLN_UNARY_OP_ATANH: return kernels_of<VecAtanh, W>();
        case MLN_UNARY_OP_SIN: return kernels_of<VecSin, W>();
        case MLN_UNARY_OP_COS: return kernels_of<VecCos, W>();
        case MLN_UNARY_OP_TAN: return kernels_of<VecTan, W>();
        case MLN_UNARY_OP_ASIN: return kernels_of<VecAsin, W>();
        case MLN_UNARY_OP_ACOS: return kernels_of<VecAcos, W>();
        case MLN_UNARY_OP_ATAN: return kernels_of<VecAtan, W>();
        default: return {};
    }
}

// Binary ops, over float or double traits.
struct VecAdd { template <class W> MLN_ALWAYS_INLINE static auto apply(typename W::V a, typename W::V b) { return W::add(a, b); } };
struct VecSub { template <class W> MLN_ALWAYS_INLINE static auto apply(typename W::V a, typename W::V b) { return W::sub(a, b); } };
struct VecMul { template <class W> MLN_ALWAYS_INLINE static auto apply(typename W::V a, typename W::V b) { return W::mul(a, b); } };
struct VecDiv { template <class W> MLN_ALWAYS_INLINE static auto apply(typename W::V a, typename W::V b) { return W::div(a, b); } };
// max/min propagate NaN from either side, like MaxOp/MinOp (a + b is NaN there).
struct VecMax {
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(typename W::V a, typename W::V b) { return W::select(W::unordered(a, b), W::add(a, b), W::max(a, b)); }
};
struct VecMin {
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(typename W::V a, typename W::V b) { return W::select(W::unordered(a, b), W::add(a, b), W::min(a, b)); }
};
// pow for float (PowOp's std::pow): in double, each half of the lanes in W::Wide, x^y =
// 2^(y log2 x) with log2 x = e + log2 m, m in [sqrt(1/2), sqrt 2), by the atanh series
// (relative error below 1e-13) and 2^t = 2^k 2^r by Taylor (|r| <= 1/2, below 3e-13), rounded
// to float once: kPowMaxUlp. Lanes with x = +-0, x not finite or y not finite (the special
// cases of C's pow) take std::pow per lane. Not taken: Estrin for both polynomials (14.8-15.8
// GB/s against Horner's 14.7-15.5 at 64 Mi, 2 threads: no consistent gain, 2026-12-08).
struct VecPow {
    static constexpr double kLog2OfMByAtanh[8] = {0.19235933878519512, 0.2219530832136867, 0.2623081892525388,
                                                  0.3205988979753252,  0.41219858311113244, 0.5770780163555853,
                                                  0.9617966939259757,  2.8853900817779268};  // 2 / (ln 2 (2k + 1))
    static constexpr double kExp2Taylor[11] = {7.054911620801121e-09, 1.0178086009239696e-07, 1.3215486790144305e-06,
                                               1.5252733804059838e-05, 0.00015403530393381606, 0.0013333558146428441,
                                               0.009618129107628477, 0.055504108664821576, 0.2402265069591007,
                                               0.6931471805599453, 1.0};  // ln(2)^n / n!
    // x^y for x > 0 and both finite (x a float widened: a normal double).
    template <class D>
    MLN_ALWAYS_INLINE static typename D::V positive_pow(typename D::V x, typename D::V y) {
        // e + 1024 from x's bits less sqrt(1/2)'s, offset by 1024 << 52 so the shift sees no sign;
        // m = x 2^-e in the bits. e as a double: 2^52 + (e + 1024) by its bits, less 2^52 + 1024.
        constexpr int64_t kSqrtHalfBits = 0x3fe6a09e667f3bcd;
        const auto biased = D::shift_bits_right(D::add_bits(x, (int64_t{1024} << 52) - kSqrtHalfBits), 52);
        const auto m = D::sub_bits(x, D::shift_bits_left(D::add_bits(biased, -1024), 52));
        const auto e = D::sub(D::or_bits(biased, D::set1(0x1p52)), D::set1(0x1p52 + 1024));
        // log2 m = s P(s^2), s = (m - 1) / (m + 1), |s| <= 0.1716; m - 1 is exact.
        const auto one = D::set1(1.0);
        const auto s = D::div(D::sub(m, one), D::add(m, one));
        const auto log2_x = D::fmadd(s, vmath::polynomial<D>(D::mul(s, s), kLog2OfMByAtanh), e);
        // Beyond +-300 the result is inf or 0 in float all the same; k + 1023 stays a normal exponent.
        const auto t = D::min(D::max(D::mul(y, log2_x), D::set1(-300.0)), D::set1(300.0));
        // k = round(t) in the low bits of t + 1.5 2^52; r = t - k exact; 2^k from k's bits.
        const auto shifter = D::set1(0x1.8p52);
        const auto shifted = D::add(t, shifter);
        const auto r = D::sub(t, D::sub(shifted, shifter));
        const auto scale = D::shift_bits_left(D::add_bits(shifted, 1023), 52);
        return D::mul(vmath::polynomial<D>(r, kExp2Taylor), scale);
    }
    template <class W>
    MLN_ALWAYS_INLINE static auto apply(typename W::V a, typename W::V b) {
        using D = typename W::Wide;
        const auto abs_a = W::abs(a);
        const auto magnitude = W::narrow(positive_pow<D>(W::widen_low(abs_a), W::widen_low(b)),
                                         positive_pow<D>(W::widen_high(abs_a), W::widen_high(b)));
        // x < 0 (x^2 of centred values): |x|^y, negated for odd y; NaN (0 / 0's) for y not an
        // integer. y / 2 is exact for integers; from 2^24 all are even.
        const auto integer = W::eq(W::round_nearest(b), b);
        const auto half_b = W::mul(b, W::set1(0.5f));
        const auto by_parity = W::select(W::eq(W::round_nearest(half_b), half_b), magnitude, W::neg(magnitude));
        const auto signed_result = W::select(integer, by_parity, W::set1(std::bit_cast<float>(0xffc00000u)));
        const auto y = W::select(W::lt(a, W::zero()), signed_result, magnitude);
        const auto inf = W::set1(__builtin_inff());
        const auto ordinary = W::mask_and(W::mask_and(W::gt(abs_a, W::zero()), W::lt(abs_a, inf)), W::lt(W::abs(b), inf));
        if (W::all(ordinary)) [[likely]] return y;
        alignas(64) float as[W::kLanes], bs[W::kLanes], ys[W::kLanes];
        W::store(as, a), W::store(bs, b), W::store(ys, y);
        for (int l = 0; l < W::kLanes; ++l) {
            if (!(std::fabs(as[l]) > 0.0f && std::fabs(as[l]) < __builtin_inff() && std::fabs(bs[l]) < __builtin_inff())) {
                ys[l] = std::pow(as[l], bs[l]);
            }
        }
        return W::load(ys);
    }
};

template <class Op, class W>
void binary_run(const typename W::T* a, int64_t a_step, const typename W::T* b, int64_t b_step, typename W::T* y,
                int64_t n, bool stream) {
    // A zero step is a scalar operand: broadcast once instead of loading.
    const auto va = W::set1(*a);
    const auto vb = W::set1(*b);
    run_vectors<W>(
        y, n, stream,
        [&](int64_t i) { return Op::template apply<W>(a_step != 0 ? W::load(a + i) : va, b_step != 0 ? W::load(b + i) : vb); },
        [&](int64_t begin, int64_t count) {
            on_padded<W, 2>({a + begin * a_step, b + begin * b_step}, {a_step, b_step}, y + begin, count,
                            [&](const auto& in) { return Op::template apply<W>(W::load(in[0]), W::load(in[1])); });
        });
}

template <class W>
BinaryKernel<typename W::T> binary_kernel(mln_binary_op op) {
    switch (op) {
        case MLN_BINARY_OP_ADD: return &binary_run<VecAdd, W>;
        case MLN_BINARY_OP_SUB: return &binary_run<VecSub, W>;
        case MLN_BINARY_OP_MUL: return &binary_run<VecMul, W>;
        case MLN_BINARY_OP_DIV: return &binary_run<VecDiv, W>;
        case MLN_BINARY_OP_MAX: return &binary_run<VecMax, W>;
        case MLN_BINARY_OP_MIN: return &binary_run<VecMin, W>;
        case MLN_BINARY_OP_POW:
            if constexpr (std::is_same_v<typename W::T, float>) return &binary_run<VecPow, W>;
            else return nullptr;
        default: return nullptr;
    }
}

}  // namespace mln::kernels::vector_loops
