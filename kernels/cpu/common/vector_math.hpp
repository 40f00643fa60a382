// Float transcendentals written once over a vector-traits struct W (vector_math_avx2.hpp:
// 8 lanes of __m256, vector_math_avx512.hpp: 16 lanes of __m512). Both instantiations run the
// same operations in the same order, so they give bit-identical results lane for lane (erf
// excepted: its table has one permute's entries, vmath::ErfIntervals; log and log1p, which
// AVX-512 takes by a table, vmath::log_interval; tanh, which AVX-512 takes by intervals as
// erf, vmath::TanhIntervals; and the tables of GELU, its derivative and softplus that only
// AVX-512 has, vmath::GeluIntervals).
//
// Maximum errors in ulp of the exact value (double-precision std:: functions), measured by
// tests/native/kernels/vector_math_test.cpp at every vector ISA over every 61st float bit
// pattern of the whole finite range, both signs, denormal inputs and outputs included; the
// stated bounds are the k*MaxUlp constants in elementwise_vector.hpp, which that test asserts:
//   exp      1.01 measured (bound 1.5)  overflow to +inf, gradual underflow to 0
//   log      0.80 measured (bound 1.5)  log(0) = -inf, log(x < 0) = NaN, log(inf) = inf
//                                       1.44 at AVX-512 (vmath::log_interval)
//   tanh     1.30 measured (bound 1.5)  tanh(-0) = -0
//                                       2.79 at AVX-512 (vmath::TanhIntervals, bound 3)
//   sigmoid  3.04 measured (bound 3.5)  e^x / (1 + e^x) for x < 0: no overflow
//   erf      2.25 measured (bound 3)    2.23 at AVX-512; 2.45 over every float in [2^-12, 4.5]
//                                       (AVX2 and AVX-512 alike)
//   expm1    1.51 measured (bound 2)    expm1(-0) = -0, expm1(-inf) = -1
//   log1p    1.38 measured (bound 2)    log1p(-1) = -inf, log1p(x < -1) = NaN
//                                       1.55 at AVX-512 (vmath::log_interval), 1.36 over
//                                       every float in [-0.75, 2)
//   sin      1.49 measured (bound 2)    sin(-0) = -0; every float up to kTrigLimit (65536)
//   cos      1.49 measured (bound 2)    measured exhaustively; beyond (and NaN, +-inf: NaN) the
//   tan      3.35 measured (bound 3.5)  scalar std:: functions, lane by lane (with_scalar_beyond)
//   asin     2.06 measured (bound 2.5)  |x| > 1: NaN; every float of [-1, 1] measured
//   acos     1.35 measured (bound 2)    acos(1) = 0, acos(-1) = pi rounded
//   atan     1.89 measured (bound 2.5)  atan(+-inf) = +-pi/2 rounded
// NaN in gives NaN out everywhere (log(x < 0) and log1p(x < -1) give the NaN 0xffc00000).
// (Mish has its own one-exp form in elementwise_vector_loops.hpp: 4.12 ulp measured where its
// result is normal.)
//
// Polynomials: coefficients are Chebyshev fits (mpmath.chebyfit, 40 digits) of the reduced
// function on the stated interval, rounded to float.
//
// W provides: V (the float vector), Mask, kLanes, load, store, set1, zero, add, sub, mul, div, sqrt, fmadd (a b + c),
// fnmadd (c - a b), fmsub (a b - c), min, max, round_nearest, floor, abs,
// copysign, neg, negative_abs (-|a|), lt, gt, eq, unordered, nan_or_positive_infinity (NaN or +inf),
// select (mask ? a : b), lookup16 (table[the low 4 bits
// of each lane]), permute (the same from a table of kPermuteEntries, what one permute reaches), scale_by_pow2 (a 2^floor(n) rounded once, for n in [-152, 129]; where the
// result is denormal, for a in [0.7, 2]), kLogByTable, and where it is false reduce_for_log
// (log's (e, f), below) and reduce_normal_for_log (log1p's (e, f, 2^-e)), with the special values
// of AVX-512's getexp and getmant, where it is true reduce_for_log_by_table and
// bits_less_shifted_right (log_interval);
// kScalesNormalByExponentBits, and where it is true all (every lane of a mask) and
// add_index_bits (exp_of_normal); bitwise_xor, bit_set<Bit> (lanes whose bit Bit is set) and
// sign_of_bit<Bit> (that bit moved to the sign) for sin, cos and tan.
#pragma once

#include <bit>
#include <cmath>
#include <limits>

#include "kernels/cpu/common/force_inline.hpp"

namespace mln::kernels::vmath {

// Every function here is forced inline: GCC kept tanh, exp, erf, expm1 and log1p out of line in
// some of the elementwise loops (the streaming one among them), a call per vector that reloads
// its constants.

template <class W>
MLN_ALWAYS_INLINE typename W::V nan_passthrough(typename W::V x, typename W::V result) {
    return W::select(W::unordered(x, x), x, result);
}

// Horner with FMA; coefficients highest degree first (floats, or doubles for double traits).
template <class W, int N>
MLN_ALWAYS_INLINE typename W::V polynomial(typename W::V x, const typename W::T (&c)[N]) {
    typename W::V p = W::set1(c[0]);
    for (int i = 1; i < N; ++i) p = W::fmadd(p, x, W::set1(c[i]));
    return p;
}

// Estrin's scheme, coefficients highest degree first: pairs a x + b, then pairs of those with
// x^2, x^4, ...: about log2(N) dependent FMAs instead of Horner's N - 1, for loops whose
// bodies are too long for the out-of-order window to overlap many Horner chains.
template <class W, int N>
MLN_ALWAYS_INLINE typename W::V polynomial_estrin(typename W::V x, const float (&c)[N]) {
    typename W::V terms[N];  // lowest degree first
    for (int i = 0; i < N; ++i) terms[i] = W::set1(c[N - 1 - i]);
    auto power = x;
    for (int count = N; count > 1; count = (count + 1) / 2) {
        for (int j = 0; j < count / 2; ++j) terms[j] = W::fmadd(terms[2 * j + 1], power, terms[2 * j]);
        if (count % 2 != 0) terms[count / 2] = terms[count - 1];
        power = W::mul(power, power);
    }
    return terms[0];
}

// 2^(j/16) for j = 0..15 rounded to float, and the rest: high + low is 2^(j/16) within 2^-48.
inline constexpr float kPow2Sixteenths[16] = {
    1.000000000e+00f, 1.044273734e+00f, 1.090507746e+00f, 1.138788581e+00f, 1.189207077e+00f, 1.241857767e+00f,
    1.296839595e+00f, 1.354255557e+00f, 1.414213538e+00f, 1.476826191e+00f, 1.542210817e+00f, 1.610490322e+00f,
    1.681792855e+00f, 1.756252170e+00f, 1.834008098e+00f, 1.915206552e+00f};
inline constexpr float kPow2SixteenthsLow[16] = {
    0.000000000e+00f,  4.833470157e-08f,  -1.307753994e-08f, 5.386222313e-08f,  3.797635273e-08f, 4.496838102e-08f,
    -4.018999533e-08f, -1.012334927e-08f, 2.420323497e-08f,  -4.500898854e-08f, 8.070904833e-09f, 9.836217174e-09f,
    -2.475532668e-08f, -9.235770371e-09f, -1.123927795e-08f, 9.845328108e-09f};

// x = m ln2 + r, m = k + j/16 (k integral, j = 0..15) x log2(e) rounded to sixteenths, r in
// [-ln2/32, ln2/32] (Cody-Waite split of ln2 so m ln2_hi is exact); `index` holds j in its low
// 4 bits (m + 1.5 2^19, a float whose unit is 1/16), for W::lookup16. The one FMA x log2(e) +
// 1.5 2^19 rounds to sixteenths itself (that float's unit), so m = index - 1.5 2^19 exactly:
// two instructions, where a multiply, a round to sixteenths and an add took 4 at AVX2 (3 at
// AVX-512).
template <class W>
struct ExpReduction {
    typename W::V m, r, index;
};
template <class W>
MLN_ALWAYS_INLINE ExpReduction<W> exp_reduction(typename W::V x) {
    const auto index = W::fmadd(x, W::set1(1.44269504088896341f), W::set1(786432.0f));
    const auto m = W::sub(index, W::set1(786432.0f));
    auto r = W::fnmadd(m, W::set1(0.693359375f), x);
    r = W::fnmadd(m, W::set1(-2.12194440e-4f), r);
    return {m, r, index};
}

// e^x = 2^k 2^(j/16) (1 + q), q = e^r - 1 = r + r^2 (c2 + c3 r) (fit on [-ln2/32, ln2/32],
// 0.04 ulp), 2^k = 2^floor(m).
template <class W>
struct ExpParts {
    typename W::V m, index, q;
};
template <class W>
MLN_ALWAYS_INLINE ExpParts<W> exp_parts(typename W::V xc) {
    const auto [m, r, index] = exp_reduction<W>(xc);
    const auto q = W::fmadd(W::mul(r, r), W::fmadd(r, W::set1(1.666686237e-01f), W::set1(5.000097752e-01f)), r);
    return {m, index, q};
}
// W::scale_by_pow2 rounds once, so results that are denormal or overflow come out right
// without a special case. exp_of_clamped takes x already in [-104, 89] (the callers' clamps);
// with Pow2 it gives e^x 2^Pow2, rounded once (sinh's and cosh's e^x / 2 for x up to 89.5: finite
// beyond 88.72, where e^x overflows).
template <class W, int Pow2 = 0>
MLN_ALWAYS_INLINE typename W::V exp_of_clamped(typename W::V xc) {
    const auto [m, index, q] = exp_parts<W>(xc);
    const auto table = W::lookup16(kPow2Sixteenths, index);
    if constexpr (Pow2 != 0) return W::scale_by_pow2(W::fmadd(table, q, table), W::add(m, W::set1(float{Pow2})));
    return W::scale_by_pow2(W::fmadd(table, q, table), m);
}
// kPow2Sixteenths' bits less j << 19: adding index's bits shifted left by 19 (16k + j from bit 0,
// vmath::exp_reduction) restores 2^(j/16) and adds k to its exponent.
struct Pow2SixteenthsLessIndexBits {
    float entries[16];
};
inline constexpr Pow2SixteenthsLessIndexBits kPow2SixteenthsLessIndexBits = [] {
    Pow2SixteenthsLessIndexBits table{};
    for (unsigned j = 0; j < 16; ++j) {
        table.entries[j] = std::bit_cast<float>(std::bit_cast<unsigned>(kPow2Sixteenths[j]) - (j << 19));
    }
    return table;
}();
// e^x for x in [-87, 87] (or NaN, where only tanh calls it), where e^x is normal: 2^k 2^(j/16)
// is then a normal float and 2^k (2^(j/16) + 2^(j/16) q) rounds as the unscaled sum, so
// W::kScalesNormalByExponentBits (AVX2) puts k in the table entry's exponent bits
// (W::add_index_bits: 2 instructions where scale_by_pow2 takes 9) and gives exp_of_clamped's
// bits. A NaN x there gives no NaN: the caller must pass NaN on itself.
template <class W>
MLN_ALWAYS_INLINE typename W::V exp_of_normal(typename W::V x) {
    if constexpr (W::kScalesNormalByExponentBits) {
        const auto [m, index, q] = exp_parts<W>(x);
        const auto scaled = W::add_index_bits(W::lookup16(kPow2SixteenthsLessIndexBits.entries, index), index);
        return W::fmadd(scaled, q, scaled);
    } else {
        return exp_of_clamped<W>(x);
    }
}
// The clamps and the full scaling only where some lane of x is beyond [-87, 87] (or NaN) at
// AVX2: one compare and a branch per vector (in cache, inputs in [-20, 20]: 0.75x the time).
template <class W>
MLN_ALWAYS_INLINE typename W::V exp(typename W::V x) {
    if constexpr (W::kScalesNormalByExponentBits) {
        if (W::all(W::le(W::abs(x), W::set1(87.0f)))) return exp_of_normal<W>(x);
    }
    // max and min return their second operand where either is NaN: x's NaN carries through.
    return exp_of_clamped<W>(W::min(W::set1(89.0f), W::max(W::set1(-104.0f), x)));
}
// e^x for x <= 0 (or NaN): exp's clamp less its upper bound, one instruction fewer.
template <class W>
MLN_ALWAYS_INLINE typename W::V exp_of_nonpositive(typename W::V x) {
    if constexpr (W::kScalesNormalByExponentBits) {
        if (W::all(W::le(W::set1(-87.0f), x))) return exp_of_normal<W>(x);
    }
    return exp_of_clamped<W>(W::max(W::set1(-104.0f), x));
}

// e ln2 + log(1 + f) for f in [sqrt(1/2) - 1, sqrt 2 - 1]: log(1 + f) = f - f^2/2 + f^3 P(f).
// ln2 is split with its low part positive, so e = -inf gives -inf and e = +inf (f = 0) +inf
// without a special case.
template <class W>
MLN_ALWAYS_INLINE typename W::V log_of_reduced(typename W::V e, typename W::V f) {
    static constexpr float p[] = {6.971611471e-02f,  -1.147973385e-01f, 1.168541992e-01f,
                                  -1.242568733e-01f, 1.424905765e-01f,  -1.666780232e-01f,
                                  2.000071575e-01f,  -2.499999696e-01f, 3.333333118e-01f};
    const auto f2 = W::mul(f, f);
    auto y = W::mul(W::mul(f2, f), polynomial_estrin<W>(f, p));
    y = W::fmadd(e, W::set1(1.42860677e-6f), y);
    y = W::fnmadd(f2, W::set1(0.5f), y);
    return W::fmadd(e, W::set1(0.693145751953125f), W::add(f, y));
}

// x = (1 + f) 2^e, 1 + f in [sqrt(1/2), sqrt 2): (e, f) for log_of_reduced.
template <class W>
struct ReducedLog {
    typename W::V e;
    typename W::V f;
};

// reduce_for_log's (e, f) for a w that is not denormal, and 2^-e (e clamped so that it is finite).
template <class W>
struct ReducedNormalLog {
    typename W::V e;
    typename W::V f;
    typename W::V pow2_of_minus_e;
};

// W::kLogByTable (AVX-512): x = m 2^e with m in [0.75, 1.5) (W::reduce_for_log_by_table: getmant,
// getexp), m in one of 17 intervals of its bits (index (bits(m) - bits(63/64)) >> 19: 1/32 wide
// below 1, 1/16 above, interval 0 [63/64, 33/32) around 1), each with a centre c: log x = e ln2 +
// log c + log(1 + r), r = m / c - 1 = m (1/c) - 1 in one FMA, |r| <= 1/32, log(1 + r) = r + r^2
// P(r), P the degree-3 Chebyshev fit of (log(1 + r) - r) / r^2 on [-0.0295, 0.0313] (1.8e-8).
// Interval 0 has c = 1 and log c = 0, so results near 0 keep their relative accuracy; the other
// 1/c were picked within 1024 floats of the interval's centre for a log c that rounds to float
// with the least error (at most 0.24 of its ulp; mpmath, 200 bits). Two permutes and a 4-term
// polynomial, where halving m above sqrt 2 and log_of_reduced's 9-term one took 25 instructions:
// log 0.56-0.63x and log1p 0.61-0.66x the time (Zen 5, in cache, one thread). Other bits than
// AVX2's; over every float, log 1.24 ulp in [0.25, 4), log1p 1.36 in [-0.75, 2) (vmath::log1p).
inline constexpr float kLogInverseCentres[32] = {
    1.000000000e+00f, 9.411764741e-01f, 8.889499307e-01f, 8.421052694e-01f, 8.000000119e-01f, 7.619237304e-01f,
    7.272727489e-01f, 6.956859827e-01f, 6.736566424e-01f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.319621682e+00f, 1.279915214e+00f, 1.230891347e+00f, 1.185119271e+00f,
    1.142805934e+00f, 1.103535295e+00f, 1.066559672e+00f, 1.032156110e+00f};
inline constexpr float kLogOfCentres[32] = {
    0.000000000e+00f, 6.062461808e-02f, 1.177143678e-01f, 1.718502492e-01f, 2.231435329e-01f, 2.719088197e-01f,
    3.184536994e-01f, 3.628568947e-01f, 3.950347304e-01f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, -2.773450911e-01f, -2.467938364e-01f, -2.077385783e-01f, -1.698434204e-01f,
    -1.334865838e-01f, -9.851893038e-02f, -6.443820894e-02f, -3.164992481e-02f};
template <class W>
struct LogInterval {
    typename W::V inverse_centre, log_centre;
};
template <class W>
MLN_ALWAYS_INLINE LogInterval<W> log_interval(typename W::V m) {
    const auto index = W::bits_less_shifted_right(m, 0x3f7c0000, 19);
    return {W::permute(kLogInverseCentres, index), W::permute(kLogOfCentres, index)};
}
// e ln2 + log c + log(1 + r) from -e: e ln2 + log c rounded once (ln2 to float is 2.8e-9 relative
// off); where it is not 0 it is at least 0.0316 in magnitude (interval -1), about twice |r| there.
template <class W>
MLN_ALWAYS_INLINE typename W::V log_of_interval(typename W::V minus_e, typename W::V log_centre, typename W::V r) {
    static constexpr float p[] = {1.995193362e-01f, -2.501523495e-01f, 3.333336115e-01f, -4.999999702e-01f};
    const auto q = W::fmadd(W::mul(r, r), polynomial_estrin<W>(r, p), r);
    return W::add(W::fnmadd(minus_e, W::set1(0.693147182f), log_centre), q);
}

// log x = e ln2 + log(1 + f), x = (1 + f) 2^e, 1 + f in [sqrt(1/2), sqrt 2). W::reduce_for_log
// gives x = 0 -> e = -inf, f = 0; x = inf -> e = inf, f = 0; x < 0 -> f = NaN, which
// log_of_reduced carries through to -inf, inf and NaN. W::kLogByTable: the same special values
// through reduce_for_log_by_table's e and m (m = -1 for -0, NaN for x < 0); a NaN x gives NaN m
// and e, which the arithmetic carries through, so no passthrough select (2 instructions).
template <class W>
MLN_ALWAYS_INLINE typename W::V log(typename W::V x) {
    if constexpr (W::kLogByTable) {
        const auto [minus_e, m] = W::reduce_for_log_by_table(x);
        const auto [inverse_centre, log_centre] = log_interval<W>(m);
        return log_of_interval<W>(minus_e, log_centre, W::fmsub(m, inverse_centre, W::set1(1.0f)));
    } else {
        const auto r = W::reduce_for_log(x);
        return nan_passthrough<W>(x, log_of_reduced<W>(r.e, r.f));
    }
}

template <class W>
MLN_ALWAYS_INLINE typename W::V sigmoid(typename W::V x) {
    const auto e = exp_of_nonpositive<W>(W::negative_abs(x));
    const auto one = W::set1(1.0f);
    const auto denominator = W::add(one, e);
    const auto numerator = W::select(W::lt(x, W::zero()), e, one);
    return W::div(numerator, denominator);  // NaN: e and the denominator are NaN
}

// erf on intervals of |x| centred on k/n (n = 8 for 32 intervals, 2 for 8; the last interval
// reaching to 4, beyond which erf is 1 in float): erf(k/n + t) = s + c0 + t P(t), its
// coefficients fetched per lane from a table of one permute's entries (W::kPermuteEntries: 32 at
// AVX-512, a two-table vpermt2ps, 8 at AVX2): no exp, no second polynomial. The last row of the
// table holds c0 for every k, row j before it P's coefficient of degree (rows - 2 - j); s (0 or
// 1) is a compare of k, not a lookup. k/n >= 1: s = 1 and c0 + t P(t) the Chebyshev fit of
// erf(k/n + t) - 1 = -erfc, so erf near 1 loses only the final rounding. Below: s = 0, the fit of
// erf(k/n + t). k = 0: s = c0 = 0, P(t) = 2/sqrt(pi) + t R(t), R the fit of (erf(t)/t -
// 2/sqrt(pi)) / t on [0, 1/2n], so erf keeps its relative accuracy near 0 (the measured maximum
// is there: 2/sqrt(pi) lies halfway between two floats). AVX-512: 32 intervals of width 1/8 (t in
// [-1/16, 1/16], the last [-1/16, 1/8]), P of degree 4: fit errors below 6e-10 (mpmath.chebyfit,
// 40 digits), 2.23 ulp measured as with 16 intervals of width 1/4 and P of degree 5, whose one
// permute and FMA more made erf 1.15x, GELU 1.16x and GELU's backward 1.07x the time (Zen 5, in
// cache, one thread). AVX2 takes 8 intervals of width 1/2 (t in [-1/4, 1/4], the last [-1/4,
// 1/2]), P of degree 5: its 16-entry lookup is two permutes and a blend, and erf's 14 permutes,
// one a cycle, bounded its throughput; 8 intervals give other bits than AVX-512's 32.
template <int Entries>
struct ErfIntervals;
template <>
struct ErfIntervals<32> {
    static constexpr float kPerUnit = 8.0f;
    static constexpr float kFirstNearOne = 8.0f;
    static constexpr float kLimit = 4.0f;
    static constexpr float kCoefficients[6][32] = {
    {1.125495984e-01f, 1.040411715e-01f, 7.995850014e-02f, 4.544336755e-02f, 7.354803554e-03f, -2.733200060e-02f,
     -5.313481233e-02f, -6.710700187e-02f, -6.909583426e-02f, -6.126740250e-02f, -4.715976785e-02f, -3.061425049e-02f,
     -1.489403348e-02f, -2.171124437e-03f, 6.588883995e-03f, 1.143371539e-02f, 1.306929127e-02f, 1.248452246e-02f,
     1.065374121e-02f, 8.358106429e-03f, 6.120519953e-03f, 4.221866133e-03f, 2.759591975e-03f, 1.716359953e-03f,
     1.018836142e-03f, 5.785235686e-04f, 3.147939359e-04f, 1.643732392e-04f, 8.245765019e-05f, 3.977724739e-05f,
     1.846649548e-05f, 6.761094368e-06f},
    {1.474114835e-05f, 6.857445118e-02f, 1.267436127e-01f, 1.662900833e-01f, 1.827867489e-01f, 1.762177708e-01f,
     1.505295725e-01f, 1.123357662e-01f, 6.921148525e-02f, 2.806417810e-02f, -6.034738714e-03f, -3.037086922e-02f,
     -4.448568002e-02f, -4.963441643e-02f, -4.804967324e-02f, -4.223579089e-02f, -3.444224364e-02f, -2.637146514e-02f,
     -1.910037562e-02f, -1.315144482e-02f, -8.638765762e-03f, -5.427457949e-03f, -3.267826849e-03f, -1.888443684e-03f,
     -1.048725818e-03f, -5.602270979e-04f, -2.881155527e-04f, -1.427472994e-04f, -6.817422615e-05f, -3.140072585e-05f,
     -1.395445279e-05f, -5.928647010e-06f},
    {-3.761265906e-01f, -3.587231626e-01f, -3.091706491e-01f, -2.348761471e-01f, -1.464638094e-01f, -5.567196036e-02f,
     2.678863651e-02f, 9.292344232e-02f, 1.383690358e-01f, 1.624522505e-01f, 1.675357639e-01f, 1.579377190e-01f,
     1.387520447e-01f, 1.148406727e-01f, 9.015733667e-02f, 6.744113484e-02f, 4.822299483e-02f, 3.303742124e-02f,
     2.172455946e-02f, 1.373053246e-02f, 8.350084906e-03f, 4.890420481e-03f, 2.760383164e-03f, 1.502531470e-03f,
     7.890972747e-04f, 4.000174944e-04f, 1.958082516e-04f, 9.258207333e-05f, 4.229500954e-05f, 1.867347392e-05f,
     7.969476074e-06f, 3.296605063e-06f},
    {3.998433779e-10f, -1.388604645e-01f, -2.650031849e-01f, -3.676318741e-01f, -4.393908604e-01f, -4.771868553e-01f,
     -4.821980714e-01f, -4.591518256e-01f, -4.151075368e-01f, -3.580583364e-01f, -2.956515856e-01f, -2.342448788e-01f,
     -1.783955996e-01f, -1.307675446e-01f, -9.235631984e-02f, -6.289846360e-02f, -4.133397473e-02f, -2.622422824e-02f,
     -1.607019292e-02f, -9.515358222e-03f, -5.445686569e-03f, -3.013152922e-03f, -1.612248200e-03f, -8.343965213e-04f,
     -4.177528147e-04f, -2.023669975e-04f, -9.486206666e-05f, -4.303586590e-05f, -1.889732478e-05f, -8.032370777e-06f,
     -3.305204759e-06f, -1.316952618e-06f},
    {1.128379167e+00f, 1.110885270e+00f, 1.060014129e+00f, 9.803528095e-01f, 8.787825789e-01f, 7.634995358e-01f,
     6.429310692e-01f, 5.247450453e-01f, 4.151074974e-01f, 3.182739585e-01f, 2.365211225e-01f, 1.703597737e-01f,
     1.189302892e-01f, 8.047225901e-02f, 5.277499592e-02f, 3.354582842e-02f, 2.066698535e-02f, 1.234082061e-02f,
     7.142319021e-03f, 4.006477862e-03f, 2.178284231e-03f, 1.147875127e-03f, 5.862772483e-04f, 2.902282838e-04f,
     1.392530527e-04f, 6.475868373e-05f, 2.918902570e-05f, 1.275174099e-05f, 5.399426886e-06f, 2.215920343e-06f,
     8.814322216e-07f, 3.398124236e-07f},
    {0.000000000e+00f, 1.403162048e-01f, 2.763263901e-01f, 4.041169093e-01f, 5.204998777e-01f, 6.232408821e-01f,
     7.111556336e-01f, 7.840750610e-01f, -1.572992070e-01f, -1.116117683e-01f, -7.709987170e-02f, -5.182992718e-02f,
     -3.389485349e-02f, -2.155626673e-02f, -1.332832876e-02f, -8.009942322e-03f, -4.677734980e-03f, -2.654029363e-03f,
     -1.462716592e-03f, -7.829382237e-04f, -4.069520227e-04f, -2.053757403e-04f, -1.006219252e-04f, -4.785484187e-05f,
     -2.209049837e-05f, -9.896735469e-06f, -4.302779955e-06f, -1.815281701e-06f, -7.430985175e-07f, -2.951402664e-07f,
     -1.137272926e-07f, -4.251387040e-08f}
};
};
template <>
struct ErfIntervals<8> {
    static constexpr float kPerUnit = 2.0f;
    static constexpr float kFirstNearOne = 2.0f;
    static constexpr float kLimit = 4.0f;
    static constexpr float kCoefficients[7][8] = {
    {-1.635122672e-02f, -4.895612597e-02f, 4.100179765e-03f, 1.906700619e-02f, 6.310428143e-04f, -2.769314218e-03f, -7.526472327e-04f, -4.463320874e-05f},
    {1.163697466e-01f, 7.896151394e-03f, -6.754309684e-02f, -1.537059620e-02f, 1.271915715e-02f, 6.174538750e-03f, 1.059378497e-03f, 8.126287867e-05f},
    {-3.132409183e-04f, 1.830458939e-01f, 6.920049340e-02f, -4.459075257e-02f, -3.445032239e-02f, -8.623292670e-03f, -1.043942757e-03f, -7.113472384e-05f},
    {-3.761166334e-01f, -1.464814991e-01f, 1.383180171e-01f, 1.387676299e-01f, 4.823452979e-02f, 8.348322473e-03f, 7.877611206e-04f, 4.270167847e-05f},
    {-4.875507997e-08f, -4.393910170e-01f, -4.151076078e-01f, -1.783954948e-01f, -4.133392870e-02f, -5.445703398e-03f, -4.177626979e-04f, -1.880706077e-05f},
    {1.128379226e+00f, 8.787826896e-01f, 4.151079059e-01f, 1.189301684e-01f, 2.066689543e-02f, 2.178298077e-03f, 1.392635168e-04f, 5.391107607e-06f},
    {0.000000000e+00f, 5.204998851e-01f, -1.572992057e-01f, -3.389485180e-02f, -4.677734803e-03f, -4.069520219e-04f, -2.209049671e-05f, -7.435128282e-07f},
};
};
// tanh at AVX-512 as erf (odd_by_intervals): 32 intervals of |x| of width 1/4 centred on k/4, the
// last reaching to 9.5 (where tanh is 1 in float); k >= 4: s = 1 and the fit of tanh - 1; k = 0:
// t P(t), P the fit of tanh(t)/t on [0, 1/8]; P of degree 4 (mpmath.chebyfit, 40 digits, float
// coefficients): interval 1's fit error, 1.1 ulp, takes tanh to 2.79 ulp (kTanhIntervalsMaxUlp),
// where degree 5 gave 1.40 at 1.13x the time in cache (Zen 5, 2026-12-07). No exp and no divide;
// other bits than AVX2's. Without s (c0 = tanh(k/4) rounded; erf likewise) 0.89-0.91x the time in
// cache, but tanh near -1 lost absolute accuracy: GELU's tanh form, 1 + tanh, missed the f16
// compute test at x = -3.94 (2026-12-07).
struct TanhIntervals {
    static constexpr float kPerUnit = 4.0f;
    static constexpr float kFirstNearOne = 4.0f;
    static constexpr float kLimit = 9.5f;
    static constexpr float kCoefficients[6][32] = {
    {1.299427897e-01f, 7.198348641e-02f, -2.655756101e-02f, -6.352973729e-02f, -4.624896497e-02f, -1.930300891e-02f, -2.752579283e-03f, 3.650475293e-03f, 4.765827209e-03f, 3.985910676e-03f, 2.859136323e-03f, 1.905753394e-03f, 1.221146435e-03f, 7.651501801e-04f, 4.732049129e-04f, 2.903921995e-04f, 1.773803233e-04f, 1.080471557e-04f, 6.570361438e-05f, 3.991374979e-05f, 2.423191654e-05f, 1.470586540e-05f, 8.922673260e-06f, 5.413020972e-06f, 3.283584874e-06f, 1.991749969e-06f, 1.208114554e-06f, 7.327794833e-07f, 4.444609658e-07f, 2.695820456e-07f, 1.635108191e-07f, 2.207059424e-08f},
    {4.881165514e-04f, 1.380606890e-01f, 1.634981483e-01f, 9.972419590e-02f, 2.815278806e-02f, -1.223209128e-02f, -2.479789779e-02f, -2.347273380e-02f, -1.789468341e-02f, -1.233948395e-02f, -8.064590394e-03f, -5.112781189e-03f, -3.184298985e-03f, -1.962407259e-03f, -1.201768755e-03f, -7.331640809e-04f, -4.462563084e-04f, -2.712466521e-04f, -1.647324825e-04f, -9.999373287e-05f, -6.067812865e-05f, -3.681376984e-05f, -2.233258783e-05f, -1.354683627e-05f, -8.217100913e-06f, -4.984118277e-06f, -3.023091949e-06f, -1.833624310e-06f, -1.112159111e-06f, -6.745621590e-07f, -4.091439223e-07f, -1.475671354e-07f},
    {-3.333574533e-01f, -2.569493055e-01f, -9.420543164e-02f, 4.180628061e-02f, 1.036041006e-01f, 1.083113849e-01f, 8.781674504e-02f, 6.292180717e-02f, 4.210910201e-02f, 2.708742768e-02f, 1.702099293e-02f, 1.054660697e-02f, 6.480007432e-03f, 3.961185925e-03f, 2.413994865e-03f, 1.468374277e-03f, 8.921667468e-04f, 5.416983622e-04f, 3.287672007e-04f, 1.994848717e-04f, 1.210221963e-04f, 7.341416494e-05f, 4.453180009e-05f, 2.701132325e-05f, 1.638371759e-05f, 9.937419236e-06f, 6.027420113e-06f, 3.655841283e-06f, 2.217389465e-06f, 1.344918132e-06f, 8.157354046e-07f, 4.304536674e-07f},
    {3.934391657e-07f, -2.302177399e-01f, -3.634240925e-01f, -3.789206743e-01f, -3.198525906e-01f, -2.378734201e-01f, -1.635672748e-01f, -1.071401983e-01f, -6.810932606e-02f, -4.250972345e-02f, -2.623617277e-02f, -1.608222350e-02f, -9.817196056e-03f, -5.977680441e-03f, -3.634229535e-03f, -2.207436133e-03f, -1.340043265e-03f, -8.132064831e-04f, -4.933926393e-04f, -2.993158705e-04f, -1.815656433e-04f, -1.101329908e-04f, -6.680193474e-05f, -4.051848373e-05f, -2.457609480e-05f, -1.490629893e-05f, -9.041180419e-06f, -5.483772838e-06f, -3.326083515e-06f, -2.017374300e-06f, -1.223600293e-06f, -7.261579071e-07f},
    {1.000000000e+00f, 9.400148392e-01f, 7.864477634e-01f, 5.965858102e-01f, 4.199743271e-01f, 2.804148793e-01f, 1.807066351e-01f, 1.138120964e-01f, 7.065082341e-02f, 4.346491769e-02f, 2.659222670e-02f, 1.621428691e-02f, 9.866037406e-03f, 5.995715037e-03f, 3.640884766e-03f, 2.209892264e-03f, 1.340950723e-03f, 8.135423996e-04f, 4.935173783e-04f, 2.993624948e-04f, 1.815832366e-04f, 1.101397283e-04f, 6.680456863e-05f, 4.051955329e-05f, 2.457654773e-05f, 1.490650175e-05f, 9.041276826e-06f, 5.483821496e-06f, 3.326109436e-06f, 2.017388624e-06f, 1.223608479e-06f, 7.422021326e-07f},
    {0.000000000e+00f, 2.449186593e-01f, 4.621171653e-01f, 6.351489425e-01f, -2.384058386e-01f, -1.517163515e-01f, -9.485174716e-02f, -5.862446129e-02f, -3.597242013e-02f, -2.197388560e-02f, -1.338570192e-02f, -8.140275255e-03f, -4.945246503e-03f, -3.002364654e-03f, -1.822102349e-03f, -1.105557312e-03f, -6.707002758e-04f, -4.068539711e-04f, -2.467891609e-04f, -1.496924524e-04f, -9.079573647e-05f, -5.507138121e-05f, -3.340284456e-05f, -2.025998219e-05f, -1.228834935e-05f, -7.453278613e-06f, -4.520648417e-06f, -2.741914386e-06f, -1.663056082e-06f, -1.008694881e-06f, -6.118044666e-07f, -3.712723355e-07f},
};
};

// GELU at AVX-512 by intervals (interval_polynomial, 32 intervals of a = |x| of width 1/4): gelu(x) =
// max(x, 0) - h(a), h(a) = a Phi(-a), so no erf, scaling, 0-or-1 term or sign. Interval 0 is
// t P(t), P the fit of Phi(-t), so results near 0 keep their relative accuracy; intervals 1-30
// (a < 7.625) the fits of h (degree 5, errors below 1e-9, mpmath.chebyfit, 40 digits, float
// coefficients); interval 31 is 0 (h(7.625) = 9e-14), reached by the clamp to 7.75. Other bits
// than AVX2's; over every float, 1.56 ulp for x >= -3 (2.2 to -4, where main's 1 + erf lost
// hundreds), absolute error below 1.2e-8 for x < 0 and 0 for x <= -7.625 (-h there, at most -1e-13).
struct GeluIntervals {
    static constexpr float kPerUnit = 4.0f;
    static constexpr float kLimit = 7.75f;
    static constexpr float kCoefficients[6][32] = {
    {-3.104081145e-03f, -1.389873400e-02f, -2.238683775e-02f, -2.276280895e-02f, -1.610213891e-02f, -6.201196928e-03f, 2.697076648e-03f, 7.899285294e-03f, 8.972399868e-03f, 7.166942582e-03f, 4.271287937e-03f, 1.675155712e-03f, 8.522146345e-06f, -7.296547992e-04f, -8.454301860e-04f, -6.724169943e-04f, -4.376339493e-04f, -2.466454753e-04f, -1.235609088e-04f, -5.582745871e-05f, -2.295666127e-05f, -8.644019545e-06f, -2.993366024e-06f, -9.564180345e-07f, -2.826579646e-07f, -7.742021069e-08f, -1.968412988e-08f, -4.651711016e-09f, -1.022858798e-09f, -2.094708296e-10f, -3.998311751e-11f, 0.000000000e+00f},
    {6.682924181e-02f, 5.727211758e-02f, 3.385157511e-02f, 4.810938612e-03f, -2.002281323e-02f, -3.406007588e-02f, -3.597523272e-02f, -2.892237343e-02f, -1.800739020e-02f, -7.723103277e-03f, -5.477414816e-04f, 3.093409119e-03f, 4.044331145e-03f, 3.513753880e-03f, 2.485191217e-03f, 1.521486556e-03f, 8.287587552e-04f, 4.076918995e-04f, 1.827936067e-04f, 7.515575999e-05f, 2.845784911e-05f, 9.955325368e-06f, 3.225303317e-06f, 9.695468179e-07f, 2.708370914e-07f, 7.039239591e-08f, 1.703988772e-08f, 3.845078478e-09f, 8.093921089e-10f, 1.590379634e-10f, 2.918548736e-11f, 0.000000000e+00f},
    {-1.511247046e-05f, 6.343743950e-02f, 1.100199744e-01f, 1.293946058e-01f, 1.209851876e-01f, 9.275154769e-02f, 5.666415393e-02f, 2.359167859e-02f, 1.528707543e-07f, -1.264621317e-02f, -1.643280126e-02f, -1.484813448e-02f, -1.107967086e-02f, -7.212664466e-03f, -4.199800082e-03f, -2.217498841e-03f, -1.070639119e-03f, -4.753186367e-04f, -1.947989222e-04f, -7.390838437e-05f, -2.601665255e-05f, -8.511315173e-06f, -2.591296834e-06f, -7.350049032e-07f, -1.944060983e-07f, -4.798501152e-08f, -1.106002667e-08f, -2.381770559e-09f, -4.794489805e-10f, -9.025314524e-11f, -1.589337689e-11f, 0.000000000e+00f},
    {-3.989420533e-01f, -3.745836318e-01f, -3.080567420e-01f, -2.164428681e-01f, -1.209861934e-01f, -3.995540738e-02f, 1.618902944e-02f, 4.583454877e-02f, 5.399102718e-02f, 4.860158265e-02f, 3.724790737e-02f, 2.529167011e-02f, 1.551157609e-02f, 8.686895482e-03f, 4.472491797e-03f, 2.126571489e-03f, 9.367912426e-04f, 3.832259390e-04f, 1.458432234e-04f, 5.170531949e-05f, 1.709531534e-05f, 5.275896910e-06f, 1.520927526e-06f, 4.098044144e-07f, 1.032575838e-07f, 2.434068769e-08f, 5.369959588e-09f, 1.109114467e-09f, 2.145215255e-10f, 3.886525823e-11f, 6.596944779e-12f, 0.000000000e+00f},
    {5.000000000e-01f, 3.046266437e-01f, 1.325048804e-01f, 7.742785965e-04f, -8.331546932e-02f, -1.226615831e-01f, -1.274691969e-01f, -1.109261513e-01f, -8.523180336e-02f, -5.918974429e-02f, -3.761108592e-02f, -2.202753350e-02f, -1.194564719e-02f, -6.017381325e-03f, -2.821760252e-03f, -1.233816496e-03f, -5.036496441e-04f, -1.921156800e-04f, -6.852916704e-05f, -2.287307871e-05f, -7.146946700e-06f, -2.091398073e-06f, -5.733473927e-07f, -1.472943723e-07f, -3.546873018e-08f, -8.007290830e-09f, -1.695053431e-09f, -3.365165091e-10f, -6.266333979e-11f, -1.094603835e-11f, -1.793836455e-12f, 0.000000000e+00f},
    {0.000000000e+00f, 1.003234163e-01f, 1.542687714e-01f, 1.699705124e-01f, 1.586552560e-01f, 1.320622116e-01f, 1.002108008e-01f, 7.010352612e-02f, 4.550026357e-02f, 2.750506252e-02f, 1.552416291e-02f, 8.194348775e-03f, 4.049694166e-03f, 1.875331393e-03f, 8.142017759e-04f, 3.315648355e-04f, 1.266849868e-04f, 4.542624811e-05f, 1.528953726e-05f, 4.831148999e-06f, 1.433259513e-06f, 3.992611255e-07f, 1.044428544e-07f, 2.565758095e-08f, 5.919554180e-09f, 1.282672857e-09f, 2.610422156e-10f, 4.989828342e-11f, 8.958812858e-12f, 1.510824018e-12f, 2.393222068e-13f, 0.000000000e+00f},
};
};
// GELU's derivative Phi(x) + x phi(x) as erf's tables: v(a) = Phi(-a) - a phi(a) is the
// derivative at -a and 1 - v(a) at a (v(0) = 1/2, so -0 needs no care); fits of degree 5 (errors
// below 3e-9), interval 31 0 (v(7.625) = -1e-12). 0.9 ulp over every float with x >= 0, 1.5 for
// x in [-4, 0) away from the derivative's zero at -0.75, absolute error below 2.5e-8 for x < 0.
struct GeluDerivativeIntervals {
    static constexpr float kPerUnit = 4.0f;
    static constexpr float kLimit = std::numeric_limits<float>::infinity();  // no clamp: the index capped
    static constexpr float kCoefficients[6][32] = {
    {-5.900969356e-02f, -4.776518792e-02f, -1.826245151e-02f, 1.445712149e-02f, 3.612944484e-02f, 4.010591283e-02f, 2.923787944e-02f, 1.213765051e-02f, -2.634444740e-03f, -1.055103820e-02f, -1.166494563e-02f, -8.695947006e-03f, -4.662046209e-03f, -1.466721296e-03f, 3.095404536e-04f, 9.229321731e-04f, 8.881163085e-04f, 6.268831203e-04f, 3.680589143e-04f, 1.881995122e-04f, 8.572413208e-05f, 3.524070053e-05f, 1.318496561e-05f, 4.515531600e-06f, 1.421504749e-06f, 4.126344209e-07f, 1.107195828e-07f, 2.751526651e-08f, 6.343130465e-09f, 1.358267943e-09f, 2.704572677e-10f, 0.000000000e+00f},
    {-1.546687563e-04f, -6.939259171e-02f, -1.117831469e-01f, -1.136840135e-01f, -8.045223355e-02f, -3.102652356e-02f, 1.341568865e-02f, 3.942003846e-02f, 4.480984434e-02f, 3.581598029e-02f, 2.136304043e-02f, 8.393364958e-03f, 5.963470176e-05f, -3.637151094e-03f, -4.222179763e-03f, -3.361175535e-03f, -2.189074643e-03f, -1.234491239e-03f, -6.188013940e-04f, -2.797515772e-04f, -1.151043762e-04f, -4.336743950e-05f, -1.502729538e-05f, -4.804527634e-06f, -1.420874696e-06f, -3.894490419e-07f, -9.908881538e-08f, -2.343386107e-08f, -5.156799876e-09f, -1.056896570e-09f, -2.019021061e-10f, 0.000000000e+00f},
    {2.659726739e-01f, 2.298349738e-01f, 1.356916726e-01f, 1.901775971e-02f, -8.065593243e-02f, -1.368670911e-01f, -1.443578303e-01f, -1.158791184e-01f, -7.198833674e-02f, -3.072749265e-02f, -2.008665353e-03f, 1.250951923e-02f, 1.625016145e-02f, 1.407791954e-02f, 9.935918264e-03f, 6.071519572e-03f, 3.301156452e-03f, 1.620972645e-03f, 7.254242664e-04f, 2.976830874e-04f, 1.124924092e-04f, 3.927090438e-05f, 1.269531003e-05f, 3.807677786e-06f, 1.061154080e-06f, 2.751277179e-07f, 6.643124806e-08f, 1.495085833e-08f, 3.138577620e-09f, 6.149574183e-10f, 1.125222762e-10f, 0.000000000e+00f},
    {-3.446848496e-07f, 1.903111339e-01f, 3.300581574e-01f, 3.881823123e-01f, 3.629548848e-01f, 2.782548964e-01f, 1.699932814e-01f, 7.077593356e-02f, 1.069839755e-06f, -3.793841973e-02f, -4.929848015e-02f, -4.454460740e-02f, -3.323921189e-02f, -2.163812332e-02f, -1.259945799e-02f, -6.652507465e-03f, -3.211906878e-03f, -1.425941125e-03f, -5.843850668e-04f, -2.217179426e-04f, -7.804619236e-05f, -2.553221930e-05f, -7.773182006e-06f, -2.204751809e-06f, -5.831294629e-07f, -1.439275223e-07f, -3.317225250e-08f, -7.143258429e-09f, -1.437849173e-09f, -2.706476987e-10f, -4.765686804e-11f, 0.000000000e+00f},
    {-7.978845835e-01f, -7.491694689e-01f, -6.161143184e-01f, -4.328850508e-01f, -2.419707328e-01f, -7.990897447e-02f, 3.237939999e-02f, 9.166964889e-02f, 1.079819351e-01f, 9.720268101e-02f, 7.449527830e-02f, 5.058294162e-02f, 3.102293797e-02f, 1.737372391e-02f, 8.944997564e-03f, 4.253185354e-03f, 1.873623114e-03f, 7.664805744e-04f, 2.917032689e-04f, 1.034192464e-04f, 3.419455243e-05f, 1.055340545e-05f, 3.042457820e-06f, 8.198151704e-07f, 2.065800970e-07f, 4.870022252e-08f, 1.074497380e-08f, 2.219484818e-09f, 4.293324862e-10f, 7.779247385e-11f, 1.320622084e-11f, 0.000000000e+00f},
    {5.000000000e-01f, 3.046266437e-01f, 1.325048804e-01f, 7.742805756e-04f, -8.331546932e-02f, -1.226615831e-01f, -1.274691969e-01f, -1.109261513e-01f, -8.523180336e-02f, -5.918974429e-02f, -3.761108592e-02f, -2.202753350e-02f, -1.194564719e-02f, -6.017380860e-03f, -2.821760252e-03f, -1.233816496e-03f, -5.036497023e-04f, -1.921157091e-04f, -6.852918159e-05f, -2.287308780e-05f, -7.146951702e-06f, -2.091400347e-06f, -5.733483022e-07f, -1.472947133e-07f, -3.546884386e-08f, -8.007326358e-09f, -1.695063645e-09f, -3.365191736e-10f, -6.266398511e-11f, -1.094618406e-11f, -1.793866704e-12f, 0.000000000e+00f},
};
};
// softplus's log1p(e^-a) at AVX-512 for a = |x| <= 7.75 (vector_loops::VecSoftplus): fits of degree 4
// on 32 intervals of width 1/4 (errors below 2.1e-9 relative). 1.75 ulp over every float in
// [-7.75, 7.75]; other bits than AVX2's.
struct SoftplusIntervals {
    static constexpr float kPerUnit = 4.0f;
    static constexpr float kLimit = 7.75f;
    static constexpr float kCoefficients[5][32] = {
    {-5.186335649e-03f, -4.884001799e-03f, -4.011188168e-03f, -2.789648250e-03f, -1.473279553e-03f, -2.814177715e-04f, 6.500156596e-04f, 1.275247429e-03f, 1.616464579e-03f, 1.732346369e-03f, 1.691378420e-03f, 1.555307303e-03f, 1.371992286e-03f, 1.174501725e-03f, 9.833367076e-04f, 8.096335805e-04f, 6.581963971e-04f, 5.299063050e-04f, 4.234436783e-04f, 3.364243894e-04f, 2.660985338e-04f, 2.097477409e-04f, 1.648877806e-04f, 1.293529349e-04f, 1.013123256e-04f, 7.925061800e-05f, 6.193252193e-05f, 4.836205699e-05f, 3.774278230e-05f, 2.944172047e-05f, 2.295814738e-05f, 1.789737689e-05f},
    {-3.171663593e-06f, -5.091534462e-03f, -9.575773031e-03f, -1.299354900e-02f, -1.512287278e-02f, -1.598381996e-02f, -1.577619277e-02f, -1.478975266e-02f, -1.332369447e-02f, -1.163436938e-02f, -9.912837297e-03f, -8.284154348e-03f, -6.818307564e-03f, -5.544912536e-03f, -4.467033781e-03f, -3.572172252e-03f, -2.840073314e-03f, -2.247800818e-03f, -1.772747142e-03f, -1.394226449e-03f, -1.094160601e-03f, -8.572280058e-04f, -6.707184948e-04f, -5.242503830e-04f, -4.094397300e-04f, -3.195733589e-04f, -2.493103384e-04f, -1.944221294e-04f, -1.515734184e-04f, -1.181410262e-04f, -9.206630784e-05f, -7.173650374e-05f},
    {1.250001639e-01f, 1.230670214e-01f, 1.175018400e-01f, 1.089474931e-01f, 9.830597043e-02f, 8.655240387e-02f, 7.457324117e-02f, 6.306462735e-02f, 5.249680206e-02f, 4.312897846e-02f, 3.505186364e-02f, 2.823812328e-02f, 2.258833125e-02f, 1.796679571e-02f, 1.422651112e-02f, 1.122470386e-02f, 8.831351995e-03f, 6.932919845e-03f, 5.433114246e-03f, 4.251955543e-03f, 3.324027872e-03f, 2.596437465e-03f, 2.026785398e-03f, 1.581308199e-03f, 1.233254443e-03f, 9.615109884e-04f, 7.494642050e-04f, 5.840711528e-04f, 4.551105085e-04f, 3.545833169e-04f, 2.762364747e-04f, 2.151858062e-04f},
    {-5.000000000e-01f, -4.378235340e-01f, -3.775407374e-01f, -3.208213747e-01f, -2.689414918e-01f, -2.227002084e-01f, -1.824255735e-01f, -1.480472237e-01f, -1.192029342e-01f, -9.534946829e-02f, -7.585817575e-02f, -6.008664146e-02f, -4.742586240e-02f, -3.732687607e-02f, -2.931221947e-02f, -2.297735959e-02f, -1.798620075e-02f, -1.406362001e-02f, -1.098693721e-02f, -8.577480912e-03f, -6.692847237e-03f, -5.220122635e-03f, -4.070135299e-03f, -3.172680968e-03f, -2.472621622e-03f, -1.926733530e-03f, -1.501181279e-03f, -1.169509487e-03f, -9.110506508e-04f, -7.096699555e-04f, -5.527783069e-04f, -4.305568000e-04f},
    {6.931471825e-01f, 5.759394169e-01f, 4.740769863e-01f, 3.868710101e-01f, 3.132616878e-01f, 2.519290745e-01f, 2.014132738e-01f, 1.602241546e-01f, 1.269280165e-01f, 1.002065614e-01f, 7.888973504e-02f, 6.196758896e-02f, 4.858735204e-02f, 3.804137185e-02f, 2.975041792e-02f, 2.324546501e-02f, 1.814992726e-02f, 1.416345686e-02f, 1.104774512e-02f, 8.614484221e-03f, 6.715348456e-03f, 5.233798176e-03f, 4.078443162e-03f, 3.177726408e-03f, 2.475685207e-03f, 1.928593148e-03f, 1.502310159e-03f, 1.170194708e-03f, 9.114664281e-04f, 7.099223440e-04f, 5.529314512e-04f, 4.306497867e-04f},
};
};

// The polynomial of interval k of a table of 32 intervals (Intervals: kPerUnit intervals per unit
// centred on k / kPerUnit, kCoefficients: one row per coefficient, highest degree first; see
// ErfIntervals) at a = |x| clamped to Intervals::kLimit by the caller (or NaN, which carries
// through t), and the interval's centre k / kPerUnit.
template <class W>
struct IntervalValue {
    typename W::V p, centre;
};
template <class W, class Intervals>
MLN_ALWAYS_INLINE IntervalValue<W> interval_polynomial(typename W::V a) {
    // 1.5 2^23 / kPerUnit + k / kPerUnit, k = a kPerUnit rounded to nearest (the float's unit is
    // 1 / kPerUnit: the add rounds), capped at the last interval where kLimit reaches beyond it: k
    // in the low bits for permute, the centre and t exact. Adds where FMAs took a kPerUnit + 1.5
    // 2^23 and t = a - k / kPerUnit, the same k and t: on Zen 5 vpermt2ps and FMAs share two of
    // the four vector pipes and bound these loops, adds take the other two (erf and tanh
    // 0.90-0.93x, GELU 0.87x, its derivative 0.85x, softplus 0.85x the time in cache, one thread,
    // both ways round, 2026-12-07). Not taken: Horner in t^2 over pairs c_j + c_(j-1) t (one
    // multiply more, the chain 3 FMAs after t rather than 5) was 0.95-0.98x the time but took tanh
    // to 3.27 ulp and GELU to 2.26, and t^2 overflows for GELU's derivative at huge |x|; two vectors
    // a loop iteration 0.98-1.03x.
    static_assert(
        [] {
            float v = Intervals::kPerUnit;
            while (v > 1.0f) v *= 0.5f;
            return v == 1.0f;
        }(),
        "the add rounds a to k / kPerUnit only where kPerUnit is a power of two");
    constexpr float kBias = 12582912.0f / Intervals::kPerUnit;
    const auto bias = W::set1(kBias);
    auto index = W::add(a, bias);
    if constexpr (Intervals::kLimit * Intervals::kPerUnit >= W::kPermuteEntries - 0.5f) {
        index = W::min(W::set1(kBias + (W::kPermuteEntries - 1) / Intervals::kPerUnit), index);
    }
    const auto centre = W::sub(index, bias);
    const auto t = W::sub(a, centre);
    constexpr int rows = sizeof(Intervals::kCoefficients) / sizeof(Intervals::kCoefficients[0]);
    auto p = W::permute(Intervals::kCoefficients[0], index);
    for (int j = 1; j < rows; ++j) p = W::fmadd(p, t, W::permute(Intervals::kCoefficients[j], index));
    return {p, centre};
}

// interval_polynomial at |x| clamped to Intervals::kLimit.
template <class W, class Intervals>
MLN_ALWAYS_INLINE IntervalValue<W> interval_polynomial_of_abs(typename W::V x) {
    // min returns its second operand where either is NaN: x's NaN carries through t.
    return interval_polynomial<W, Intervals>(W::min(W::set1(Intervals::kLimit), W::abs(x)));
}

// f(x) for an odd f (erf, tanh) on intervals of |x| (Intervals: kPerUnit, kFirstNearOne, kLimit,
// kCoefficients; see ErfIntervals).
template <class W, class Intervals>
MLN_ALWAYS_INLINE typename W::V odd_by_intervals(typename W::V x) {
    const auto [p, centre] = interval_polynomial_of_abs<W, Intervals>(x);
    // 1 + p where k is near one, else p (0 + p's bits): a masked add at AVX-512, where a blend of
    // 0 and 1 and an add took one instruction more.
    const auto sp =
        W::add_where(W::le(W::set1(Intervals::kFirstNearOne / Intervals::kPerUnit), centre), p, W::set1(1.0f));
    // f is odd: the sign of x also gives f(-0) = -0.
    return W::copysign(sp, x);
}
template <class W>
MLN_ALWAYS_INLINE typename W::V erf(typename W::V x) {
    return odd_by_intervals<W, ErfIntervals<W::kPermuteEntries>>(x);
}

// |x| < 0.625: x + x u R(u), u = x^2 (fit of tanh(x)/x); else 1 - 2 / (e^2|x| + 1).
template <class W>
MLN_ALWAYS_INLINE typename W::V tanh(typename W::V x) {
    // Where one permute reaches 32 entries (AVX-512): TanhIntervals.
    if constexpr (W::kPermuteEntries == 32) {
        return odd_by_intervals<W, TanhIntervals>(x);
    } else {
        static constexpr float r[] = {-5.657135184e-03f, 2.058819145e-02f, -5.372010766e-02f, 1.333111406e-01f,
                                      -3.333325986e-01f};
        const auto ax = W::abs(x);
        const auto u = W::mul(x, x);
        const auto small = W::fmadd(W::mul(x, u), polynomial<W>(u, r), x);
        // 2|x| >= 0 needs only the upper clamp (where tanh is 1 in float); a NaN carries through min.
        const auto e = exp_of_normal<W>(W::min(W::set1(20.0f), W::add(ax, ax)));
        const auto one = W::set1(1.0f);
        // This form at AVX-512 (before TanhIntervals) with rcp14 and one Newton step in place of the
        // divide took 1.02-1.12x the time (Zen 5, in cache, one thread; 2026-12-07).
        const auto large = W::sub(one, W::div(W::set1(2.0f), W::add(e, one)));
        // tanh is odd: the sign of x also fixes tanh(-0) = -0. A NaN x takes `small`, which is NaN.
        return W::copysign(W::select(W::le(W::set1(0.625f), ax), large, small), x);
    }
}

// e^x - 1 = 2^k ((2^(j/16) - 2^-k) + 2^(j/16) q) with q = e^r - 1 = r + r^2 (1/2 + r/6 + r^2/24)
// (the Taylor series, so q keeps full relative accuracy as r goes to 0; truncation below
// 2^-28 relative) and 2^(j/16) in two parts. The difference is exact where the result is small
// (k = 0 or -1: Sterbenz), so small results keep full relative accuracy; x is clamped to
// [-88, 89] so that 2^-k stays finite (e^-88 - 1 is -1 in float).
template <class W>
MLN_ALWAYS_INLINE typename W::V expm1(typename W::V x) {
    const auto xc = W::min(W::set1(89.0f), W::max(W::set1(-88.0f), x));
    const auto [m, r, index] = exp_reduction<W>(xc);
    const auto high = W::lookup16(kPow2Sixteenths, index);
    const auto low = W::lookup16(kPow2SixteenthsLow, index);
    const auto taylor = W::fmadd(W::fmadd(r, W::set1(1.0f / 24), W::set1(1.0f / 6)), r, W::set1(0.5f));
    const auto q = W::fmadd(W::mul(r, r), taylor, r);
    const auto pow2_minus_k = W::scale_by_pow2(W::set1(1.0f), W::neg(W::floor(m)));
    const auto sum = W::add(W::fmadd(high, q, low), W::sub(high, pow2_minus_k));
    // e^x - 1 has the sign of x: this also keeps expm1(-0) = -0 (and x's NaN).
    return W::copysign(W::scale_by_pow2(sum, m), x);
}

// AVX2: log(1 + x) = log(w (1 + c / w)), w = 1 + x rounded and c its rounding error (Fast2Sum,
// exact; AVX-512 needs no c, below). With w = m 2^e, log(1 + x) = e ln2 + log(m + c 2^-e): c 2^-e joins m - 1 in one
// rounding, no division. W::reduce_normal_for_log gives 2^-e finite everywhere (e = 127 only
// where x >= 2^126, c = 1 there and its term far below m - 1's last bit; x = -1: w = 0,
// e = -inf, c = 0); x < -1 gives a negative w and NaN. log1p has the sign of x, which also keeps
// log1p(-0) = -0; log1p(inf) = inf.
template <class W>
MLN_ALWAYS_INLINE typename W::V log1p(typename W::V x) {
    const auto one = W::set1(1.0f);
    const auto w = W::add(one, x);
    if constexpr (W::kLogByTable) {
        // No rounding correction: with w = m 2^e and s = 2^-e / centre (scalef, exact where s is
        // normal), r = (1 + x) s - 1 = x s + (s - 1) in one FMA from x itself, so w's rounding never
        // enters. s - 1 is exact where s >= 1/2; below (e >= 1, results above 0.28) it rounds by at
        // most 2^-25. -e capped at 32 for w = 0 (x = -1: r = 0 and -inf from e). The classify
        // passes x through where it is NaN, +inf or +-0 (log1p(-0) = -0), so no sign fix.
        const auto [minus_e, m] = W::reduce_for_log_by_table(w);
        const auto [inverse_centre, log_centre] = log_interval<W>(m);
        const auto s = W::scale_by_pow2(inverse_centre, W::min(minus_e, W::set1(32.0f)));
        const auto r = W::fmadd(x, s, W::sub(s, one));
        return W::select(W::nan_zero_or_positive_infinity(x), x, log_of_interval<W>(minus_e, log_centre, r));
    } else {
        const auto c = W::sub(W::min(one, x), W::sub(w, W::max(one, x)));
        const auto r = W::reduce_normal_for_log(w);  // w is 0 or at least 2^-24 (or negative, inf, NaN)
        const auto result = W::copysign(log_of_reduced<W>(r.e, W::fmadd(c, r.pow2_of_minus_e, r.f)), x);
        // x itself where it is NaN or +inf (W::nan_or_positive_infinity: one classify at AVX-512,
        // log1p 0.92-0.94x the time in cache on Zen 5).
        return W::select(W::nan_or_positive_infinity(x), x, result);
    }
}

// log(1 + n) for n in [0, 1] (softplus's log1p(e^-|x|)): n + n^2 R(n), R the Chebyshev fit of
// degree 8 of (log(1 + n) / n - 1) / n on [0, 1], in Horner's scheme (Estrin's was 0.93x the
// time in cache at AVX2 but took softplus to 2.53 ulp); softplus, with exp's error, 2.26 ulp
// measured over every float in [-20, 20], the same bits at every ISA. AVX-512 took
// log_of_reduced on 1 + n (or (1 + n) / 2 above sqrt 2) until 2026-12-07: 2.17 ulp, but softplus
// by the polynomial takes 0.63-0.70x its time (Zen 5, in cache, one thread), Estrin's scheme
// there no faster than Horner's (0.97-1.04x).
template <class W>
MLN_ALWAYS_INLINE typename W::V log1p_of_fraction(typename W::V n) {
    static constexpr float r[] = {-4.466211423e-03f, 2.522405423e-02f, -6.675772369e-02f,
                                  1.156184524e-01f,  -1.584756523e-01f, 1.985410601e-01f,
                                  -2.498652637e-01f, 3.333284259e-01f,  -4.999999702e-01f};
    return W::fmadd(W::mul(n, n), polynomial<W>(n, r), n);
}

// Trigonometric functions.
//
// Lanes of x beyond `limit` in magnitude (or NaN) take scalar(x) there, the scalar op's own
// std:: function, the others `result`: one compare and a branch per vector where every lane is
// within (a lane's bits never depend on the others').
template <class W, class Scalar>
[[gnu::noinline, gnu::cold]] typename W::V scalar_lanes_beyond(typename W::V x, typename W::V result, float limit,
                                                               Scalar scalar) {
    alignas(64) float xs[W::kLanes];
    alignas(64) float ys[W::kLanes];
    W::store(xs, x);
    W::store(ys, result);
    for (int i = 0; i < W::kLanes; ++i) {
        if (!(std::fabs(xs[i]) <= limit)) ys[i] = scalar(xs[i]);
    }
    return W::load(ys);
}
template <class W, class Scalar>
MLN_ALWAYS_INLINE typename W::V with_scalar_beyond(typename W::V x, typename W::V result, float limit, Scalar scalar) {
    if (W::all(W::le(W::abs(x), W::set1(limit)))) return result;
    return scalar_lanes_beyond<W>(x, result, limit, scalar);
}

// a = k pi/2 + r for a >= 0 (a = |x|), |r| <= pi/4 + 0.004 (k = a 2/pi rounded to nearest, 2/pi
// rounded to float): index is k + 1.5 2^23, k in its low bits (the float's unit is 1, as in
// exp_reduction), pi/2 in three float parts (Cody-Waite; with FMA each k part is exact and the
// first difference too). Where a <= kTrigLimit the reduction's error (1e-23 k from the parts'
// truncation, a rounding of r in each of the last two steps) keeps sin, cos and tan within their
// stated bounds (measured over every float up to kTrigLimit); beyond, the callers take the scalar
// functions (with_scalar_beyond), whose reduction is exact.
inline constexpr float kTrigLimit = 65536.0f;
// pi/2 as floats high + low (+ third: the part the two leave, for the reduction); pi and pi/4
// in two parts are high and low times 2 and 1/2 (exact).
inline constexpr float kHalfPiHigh = 1.570796371e+00f;
inline constexpr float kHalfPiLow = -4.371138829e-08f;
inline constexpr float kHalfPiThird = -1.715124510e-15f;
template <class W>
struct QuarterTurns {
    typename W::V r, index;
};
template <class W>
MLN_ALWAYS_INLINE QuarterTurns<W> reduce_by_half_pi(typename W::V a) {
    const auto index = W::fmadd(a, W::set1(6.366197467e-01f), W::set1(12582912.0f));
    const auto k = W::sub(index, W::set1(12582912.0f));
    auto r = W::fnmadd(k, W::set1(kHalfPiHigh), a);
    r = W::fnmadd(k, W::set1(kHalfPiLow), r);
    r = W::fnmadd(k, W::set1(kHalfPiThird), r);
    return {r, index};
}
// sin r = r + r u S(u), cos r = 1 + u C(u), u = r^2: S, C the fits of (sin r / r - 1) / u and
// (cos r - 1) / u on u in [0, (pi/4 + 0.01)^2] (3e-9 and 6e-10 relative).
inline constexpr float kSinFit[] = {2.724209253e-06f, -1.984002593e-04f, 8.333331905e-03f, -1.666666716e-01f};
inline constexpr float kCosFit[] = {2.445518840e-05f, -1.388752251e-03f, 4.166664928e-02f, -5.000000000e-01f};
template <class W>
struct SinCosOfReduced {
    typename W::V sin, cos;
};
template <class W>
MLN_ALWAYS_INLINE SinCosOfReduced<W> sin_cos_of_reduced(typename W::V r) {
    const auto u = W::mul(r, r);
    return {W::fmadd(W::mul(r, u), polynomial<W>(u, kSinFit), r), W::fmadd(u, polynomial<W>(u, kCosFit), W::set1(1.0f))};
}
// cos r where `cos_lanes`, else sin r, with sin_cos_of_reduced's bits: one polynomial, its
// coefficients picked per lane (blends, which leave the FMA pipes), where both polynomials and a
// select took 1.04-1.15x the time (sin, cos and their backwards in cache, one thread, Zen 5,
// 2026-12-08). tan needs both (one divide of the two): 69-70% of a copy at 2 threads (64 Mi f32)
// against sin's and cos's 90-91%.
template <class W>
MLN_ALWAYS_INLINE typename W::V sin_or_cos_of_reduced(typename W::V r, typename W::Mask cos_lanes) {
    constexpr int n = sizeof(kSinFit) / sizeof(kSinFit[0]);
    const auto u = W::mul(r, r);
    auto p = W::select(cos_lanes, W::set1(kCosFit[0]), W::set1(kSinFit[0]));
    for (int i = 1; i < n; ++i) p = W::fmadd(p, u, W::select(cos_lanes, W::set1(kCosFit[i]), W::set1(kSinFit[i])));
    return W::fmadd(W::select(cos_lanes, u, W::mul(r, u)), p, W::select(cos_lanes, W::set1(1.0f), r));
}
// sin(a) for quadrant k: sin r, cos r, -sin r, -cos r (bits 0 and 1 of index); sin is odd, so
// x's sign is x ^ |x| (this keeps sin(-0) = -0).
template <class W>
MLN_ALWAYS_INLINE typename W::V sin_of_quadrant(typename W::V index, typename W::V r, typename W::V sign) {
    const auto y = sin_or_cos_of_reduced<W>(r, W::template bit_set<0>(index));
    return W::bitwise_xor(y, W::bitwise_xor(W::template sign_of_bit<1>(index), sign));
}
template <class W>
MLN_ALWAYS_INLINE typename W::V sin(typename W::V x) {
    const auto a = W::abs(x);
    const auto [r, index] = reduce_by_half_pi<W>(a);
    const auto y = sin_of_quadrant<W>(index, r, W::bitwise_xor(x, a));
    return with_scalar_beyond<W>(x, y, kTrigLimit, [](float v) { return std::sin(v); });
}
// cos(a) = sin(a + pi/2): quadrant k + 1 (index + 1 is exact), the same r.
template <class W>
MLN_ALWAYS_INLINE typename W::V cos(typename W::V x) {
    const auto a = W::abs(x);
    const auto [r, index] = reduce_by_half_pi<W>(a);
    const auto y = sin_of_quadrant<W>(W::add(index, W::set1(1.0f)), r, W::zero());
    return with_scalar_beyond<W>(x, y, kTrigLimit, [](float v) { return std::cos(v); });
}
// tan(a) = sin r / cos r for even k, -cos r / sin r for odd k: one divide of the two fits.
template <class W>
MLN_ALWAYS_INLINE typename W::V tan(typename W::V x) {
    const auto a = W::abs(x);
    const auto [r, index] = reduce_by_half_pi<W>(a);
    const auto sc = sin_cos_of_reduced<W>(r);
    const auto odd = W::template bit_set<0>(index);
    const auto y = W::div(W::select(odd, sc.cos, sc.sin), W::select(odd, W::neg(sc.sin), sc.cos));
    return with_scalar_beyond<W>(x, W::bitwise_xor(y, W::bitwise_xor(x, a)), kTrigLimit,
                                 [](float v) { return std::tan(v); });
}

// asin(a) for a = |x| <= 1/2 is s + q with s = a, q = s z P(z), z = a^2; above, asin(a) = pi/2 -
// 2 asin(s) with s = sqrt(z), z = (1 - a) / 2 (exact) <= 1/4, the same fit: P the fit of
// (asin(s) / s - 1) / z on z in [0, 1/4] (1.7e-8 relative). |x| > 1 gives z < 0 and NaN from
// sqrt, a NaN x NaN z.
template <class W>
struct ArcsineParts {
    typename W::V s, q;
    typename W::Mask small;
};
template <class W>
MLN_ALWAYS_INLINE ArcsineParts<W> arcsine_parts(typename W::V a) {
    static constexpr float p[] = {3.808502480e-02f, 2.655454166e-02f, 4.500138015e-02f, 7.498855144e-02f,
                                  1.666667312e-01f};
    const auto small = W::le(a, W::set1(0.5f));
    const auto half = W::set1(0.5f);
    const auto z = W::select(small, W::mul(a, a), W::fnmadd(a, half, half));
    const auto s = W::select(small, a, W::sqrt(z));
    return {s, W::mul(W::mul(s, z), polynomial<W>(z, p)), small};
}
// pi/2 - 2 (s + q) as (pi/2_hi - 2s) + (pi/2_lo - 2q): 2s is exact, and the first difference
// at least 0.57.
template <class W>
MLN_ALWAYS_INLINE typename W::V asin(typename W::V x) {
    const auto [s, q, small] = arcsine_parts<W>(W::abs(x));
    const auto two = W::set1(2.0f);
    const auto large = W::add(W::fnmadd(two, s, W::set1(kHalfPiHigh)), W::fnmadd(two, q, W::set1(kHalfPiLow)));
    // asin is odd: x's sign also keeps asin(-0) = -0.
    return W::copysign(W::select(small, W::add(s, q), large), x);
}
// acos x = pi/2 - asin x: with s and q carrying x's sign, (pi/2_hi - s) + (pi/2_lo - q) for
// |x| <= 1/2; above, 2 asin(s) for x > 0 and pi - 2 asin(s) for x < 0: base + 2s + 2q, base 0
// or pi in two parts.
template <class W>
MLN_ALWAYS_INLINE typename W::V acos(typename W::V x) {
    const auto [s, q, small] = arcsine_parts<W>(W::abs(x));
    const auto negative = W::lt(x, W::zero());
    const auto base_high = W::select(small, W::set1(kHalfPiHigh), W::select(negative, W::set1(2 * kHalfPiHigh), W::zero()));
    const auto base_low = W::select(small, W::set1(kHalfPiLow), W::select(negative, W::set1(2 * kHalfPiLow), W::zero()));
    const auto m = W::select(small, W::set1(-1.0f), W::set1(2.0f));
    return W::add(W::fmadd(m, W::copysign(s, x), base_high), W::fmadd(m, W::copysign(q, x), base_low));
}

// atan(a), a = |x|: t = a (a <= tan(pi/8)), (a - 1) / (a + 1) + pi/4 (a <= tan(3pi/8)), -1/a + pi/2
// above, one divide; |t| <= tan(pi/8) and atan(t) = t + t u P(u), u = t^2, P the fit of (atan(t)
// / t - 1) / u on u in [0, tan(pi/8)^2] (2.9e-9 relative). a = inf gives t = -0 and pi/2.
template <class W>
MLN_ALWAYS_INLINE typename W::V atan(typename W::V x) {
    static constexpr float p[] = {-6.449835002e-02f, 1.074309945e-01f, -1.426389664e-01f, 1.999953836e-01f,
                                  -3.333333135e-01f};
    const auto a = W::abs(x);
    const auto one = W::set1(1.0f);
    const auto above_eighth = W::lt(W::set1(4.142135624e-01f), a);
    const auto above_three_eighths = W::lt(W::set1(2.414213562e+00f), a);
    const auto numerator = W::select(above_three_eighths, W::set1(-1.0f), W::select(above_eighth, W::sub(a, one), a));
    const auto denominator = W::select(above_three_eighths, a, W::select(above_eighth, W::add(a, one), one));
    const auto t = W::div(numerator, denominator);
    const auto u = W::mul(t, t);
    const auto base_high =
        W::select(above_three_eighths, W::set1(kHalfPiHigh), W::select(above_eighth, W::set1(kHalfPiHigh / 2), W::zero()));
    const auto base_low =
        W::select(above_three_eighths, W::set1(kHalfPiLow), W::select(above_eighth, W::set1(kHalfPiLow / 2), W::zero()));
    const auto y = W::add(base_high, W::add(t, W::fmadd(W::mul(t, u), polynomial<W>(u, p), base_low)));
    // atan is odd: x's sign also keeps atan(-0) = -0; a NaN x gives a NaN t.
    return W::copysign(y, x);
}

// The hyperbolic functions and their inverses (vector_loops::VecSinh ... VecAtanh), from exp and
// log1p above. Their stated bounds (elementwise_vector.hpp kSinhMaxUlp ...) are measured as
// exp's, over every 61st float (vector_math_test.cpp).

// ln 2 rounded to float: asinh's and acosh's log(2a) = log1p(a - 1) + ln 2.
inline constexpr float kLn2 = 6.931471825e-01f;

// e^a / 2 for a >= 0 (or NaN), rounded once: sinh's and cosh's e^a / 2 -+ (1/4) / (e^a / 2),
// which overflow where e^a / 2 does (a > 89.4159); a is clamped to 89.5, beyond it. At AVX2
// exp_of_normal halved where every lane is within 87 (the halving is exact: the bits of
// scale_by_pow2 by m - 1).
template <class W>
MLN_ALWAYS_INLINE typename W::V half_exp_of_nonnegative(typename W::V a) {
    if constexpr (W::kScalesNormalByExponentBits) {
        if (W::all(W::le(a, W::set1(87.0f)))) return W::mul(W::set1(0.5f), exp_of_normal<W>(a));
    }
    // min returns its second operand where either is NaN: a's NaN carries through.
    return exp_of_clamped<W, -1>(W::min(W::set1(89.5f), a));
}

// cosh x = h + (1/4) / h, h = e^|x| / 2: no cancellation; cosh(+-inf) = inf, cosh(0) = 1.
template <class W>
MLN_ALWAYS_INLINE typename W::V cosh(typename W::V x) {
    const auto h = half_exp_of_nonnegative<W>(W::abs(x));
    return W::add(h, W::div(W::set1(0.25f), h));
}

// sinh x: |x| < 1: x + x u P(u), u = x^2, P the Chebyshev fit of degree 3 of (sinh(x) - x) / x^3
// in u on [0, 1] (2e-10 absolute); else h - (1/4) / h with h = e^|x| / 2 (the term taken off at
// most e^-2 of h: little cancellation) and x's sign. The sign of x also keeps sinh(-0) = -0; a
// NaN takes the polynomial, which carries it.
template <class W>
MLN_ALWAYS_INLINE typename W::V sinh(typename W::V x) {
    static constexpr float p[] = {2.806280236e-06f, 1.983810216e-04f, 8.333339356e-03f, 1.666666716e-01f};
    const auto a = W::abs(x);
    const auto u = W::mul(x, x);
    const auto small = W::fmadd(W::mul(x, u), polynomial<W>(u, p), x);
    const auto h = half_exp_of_nonnegative<W>(a);
    const auto large = W::copysign(W::sub(h, W::div(W::set1(0.25f), h)), x);
    return W::select(W::le(W::set1(1.0f), a), large, small);
}

// asinh x = sign(x) log1p(a + a^2 / (1 + sqrt(1 + a^2))), a = |x| (no cancellation in 1 + sqrt);
// for a >= 2^12 log(2a) (within 0.03 ulp of asinh there: 1/(4a^2) relative to log(2a)) as
// log1p(a - 1) + ln2, where a^2 would overflow (a > 1.8e19). One log1p on the selected argument.
// asinh(-0) = -0, asinh(+-inf) = +-inf.
template <class W>
MLN_ALWAYS_INLINE typename W::V asinh(typename W::V x) {
    const auto one = W::set1(1.0f);
    const auto a = W::abs(x);
    const auto large = W::le(W::set1(4096.0f), a);
    const auto near = W::add(a, W::div(W::mul(a, a), W::add(one, W::sqrt(W::fmadd(a, a, one)))));
    const auto y = log1p<W>(W::select(large, W::sub(a, one), near));
    return W::copysign(W::add_where(large, y, W::set1(kLn2)), x);
}

// acosh x = log1p(t + sqrt(t (t + 2))), t = x - 1 (exact for x in [1, 2^24]; t (t + 2) as
// t t + 2t, one rounding), which keeps its accuracy near x = 1; for x >= 2^12 log(2x) (within
// 0.03 ulp: 1/(4x^2) relative to log(2x)) as log1p(t) + ln2, where t^2 would overflow. NaN
// below 1 (the form above gives -inf or a number for x <= -1); acosh(1) = 0, acosh(inf) = inf.
template <class W>
MLN_ALWAYS_INLINE typename W::V acosh(typename W::V x) {
    const auto one = W::set1(1.0f);
    const auto t = W::sub(x, one);
    const auto large = W::le(W::set1(4096.0f), x);
    const auto near = W::add(t, W::sqrt(W::fmadd(t, t, W::add(t, t))));
    const auto y = W::add_where(large, log1p<W>(W::select(large, t, near)), W::set1(kLn2));
    return W::select(W::lt(x, one), W::set1(std::numeric_limits<float>::quiet_NaN()), y);
}

// atanh x = sign(x) log1p(2a / (1 - a)) / 2, a = |x|: atanh(+-1) = +-inf (2 / 0), and for a > 1
// the argument is below -2, where log1p gives NaN; atanh(-0) = -0.
template <class W>
MLN_ALWAYS_INLINE typename W::V atanh(typename W::V x) {
    const auto a = W::abs(x);
    const auto y = log1p<W>(W::div(W::add(a, a), W::sub(W::set1(1.0f), a)));
    return W::copysign(W::mul(W::set1(0.5f), y), x);
}

}  // namespace mln::kernels::vmath
