// AVX2/FMA float transcendentals, 8 lanes. Include only from *_avx2.cpp files.
//
// Maximum errors in ulp of the exact value (double-precision std:: functions), measured by
// tests/native/kernels/vector_math_test.cpp over every 61st float bit pattern of the whole
// finite range, both signs, denormal inputs and outputs included; the stated bounds are the
// k*Avx2MaxUlp constants in elementwise_avx2.hpp, which that test asserts:
//   exp_avx2      1.21 measured (bound 1.5)  overflow to +inf, gradual underflow to 0
//   log_avx2      0.81 measured (bound 1)    log(0) = -inf, log(x < 0) = NaN, log(inf) = inf
//   tanh_avx2     1.32 measured (bound 1.5)  tanh(-0) = -0
//   sigmoid_avx2  2.52 measured (bound 3)    e^x / (1 + e^x) for x < 0: no overflow
//   erf_avx2      2.41 measured (bound 3)
// NaN in gives NaN out everywhere.
//
// Polynomials: coefficients are Chebyshev fits (mpmath.chebyfit, 40 digits) of the reduced
// function on the stated interval, rounded to float.
#pragma once

#include <immintrin.h>

namespace mln::kernels::avx2 {

inline __m256 nan_passthrough(__m256 x, __m256 result) {
    return _mm256_blendv_ps(result, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// Horner with FMA; coefficients highest degree first.
template <int N>
inline __m256 polynomial(__m256 x, const float (&c)[N]) {
    __m256 p = _mm256_set1_ps(c[0]);
    for (int i = 1; i < N; ++i) p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(c[i]));
    return p;
}

// 2^n for integral n in [-126, 127], as float bits.
inline __m256 exp2_int(__m256i n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

// e^x = 2^n e^r, r = x - n ln2 in [-ln2/2, ln2/2] (Cody-Waite split of ln2 so n ln2_hi is
// exact), e^r = 1 + r + r^2 P(r). 2^n is applied in two halves so results that are denormal
// or overflow come out right without a special case.
inline __m256 exp_avx2(__m256 x) {
    static constexpr float p[] = {1.989098087e-04f, 1.393364103e-03f, 8.333310934e-03f,
                                  4.166646501e-02f, 1.666666668e-01f, 5.000000013e-01f};
    const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    const __m256 r2 = _mm256_mul_ps(r, r);
    const __m256 er = _mm256_fmadd_ps(r2, polynomial(r, p), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i half = _mm256_srai_epi32(ni, 1);
    const __m256 result = _mm256_mul_ps(_mm256_mul_ps(er, exp2_int(half)), exp2_int(_mm256_sub_epi32(ni, half)));
    return nan_passthrough(x, result);
}

// log x = e ln2 + log m, m in [sqrt(1/2), sqrt 2), log(1 + f) = f - f^2/2 + f^3 P(f).
inline __m256 log_avx2(__m256 x) {
    static constexpr float p[] = {6.971611471e-02f,  -1.147973385e-01f, 1.168541992e-01f,
                                  -1.242568733e-01f, 1.424905765e-01f,  -1.666780232e-01f,
                                  2.000071575e-01f,  -2.499999696e-01f, 3.333333118e-01f};
    // Denormals: scale into the normal range first.
    const __m256 is_denormal = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
    const __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.0f)), is_denormal);
    const __m256 exponent_bias = _mm256_blendv_ps(_mm256_set1_ps(127.0f), _mm256_set1_ps(150.0f), is_denormal);

    const __m256i bits = _mm256_castps_si256(xs);
    __m256 e = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(bits, 23)), exponent_bias);
    __m256 m = _mm256_castsi256_ps(
        _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
    const __m256 above = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356f), _CMP_GT_OQ);
    m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), above);
    e = _mm256_add_ps(e, _mm256_and_ps(above, _mm256_set1_ps(1.0f)));

    const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
    const __m256 f2 = _mm256_mul_ps(f, f);
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(f2, f), polynomial(f, p));
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
    y = _mm256_fnmadd_ps(f2, _mm256_set1_ps(0.5f), y);
    __m256 result = _mm256_add_ps(f, y);
    result = _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), result);

    // Special values: x < 0 -> NaN, 0 -> -inf, +inf -> +inf.
    const __m256 zero = _mm256_setzero_ps();
    result = _mm256_blendv_ps(result, _mm256_set1_ps(-__builtin_inff()), _mm256_cmp_ps(x, zero, _CMP_EQ_OQ));
    result = _mm256_blendv_ps(result, _mm256_set1_ps(__builtin_nanf("")), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
    result = _mm256_blendv_ps(result, x, _mm256_cmp_ps(x, _mm256_set1_ps(__builtin_inff()), _CMP_EQ_OQ));
    return nan_passthrough(x, result);
}

inline __m256 abs_avx2(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

inline __m256 copysign_avx2(__m256 magnitude, __m256 sign) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign_bit, magnitude), _mm256_and_ps(sign_bit, sign));
}

// |x| < 0.625: x + x u R(u), u = x^2 (fit of tanh(x)/x); else 1 - 2 / (e^2|x| + 1).
inline __m256 tanh_avx2(__m256 x) {
    static constexpr float r[] = {-5.657135184e-03f, 2.058819145e-02f, -5.372010766e-02f, 1.333111406e-01f,
                                  -3.333325986e-01f};
    const __m256 ax = abs_avx2(x);
    const __m256 u = _mm256_mul_ps(x, x);
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, u), polynomial(u, r), x);
    const __m256 e = exp_avx2(_mm256_add_ps(ax, ax));
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 large = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    // tanh is odd: the sign of x also fixes tanh(-0) = -0.
    const __m256 result = copysign_avx2(
        _mm256_blendv_ps(large, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ)), x);
    return nan_passthrough(x, result);
}

inline __m256 sigmoid_avx2(__m256 x) {
    const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), abs_avx2(x)));
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 denominator = _mm256_add_ps(one, e);
    const __m256 numerator = _mm256_blendv_ps(one, e, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    return nan_passthrough(x, _mm256_div_ps(numerator, denominator));
}

// |x| < 0.875: x P(x^2) (fit of erf(x)/x); else 1 - e^-x^2 g(t), g(t) the fit of
// erfc(x) e^(x^2) on x in [0.875, 4] with t = (x - 2.4375) / 1.5625. x^2 is split into
// hi + lo (FMA) so e^-x^2 keeps full accuracy. Beyond 4, erf is 1 in float.
inline __m256 erf_avx2(__m256 x) {
    static constexpr float small_p[] = {8.529401323e-05f,  -8.179632181e-04f, 5.204226694e-03f, -2.686066479e-02f,
                                        1.128371805e-01f,  -3.761263519e-01f, 1.128379167e+00f};
    static constexpr float large_p[] = {2.785988105e-05f,  -7.316456639e-05f, 9.767006162e-05f, -2.360257972e-04f,
                                        6.674326310e-04f,  -1.558614139e-03f, 3.469578771e-03f, -7.608887723e-03f,
                                        1.614824283e-02f,  -3.299060185e-02f, 6.469225602e-02f, -1.211887658e-01f,
                                        2.155524792e-01f};
    const __m256 ax = abs_avx2(x);
    const __m256 small = _mm256_mul_ps(x, polynomial(_mm256_mul_ps(x, x), small_p));

    const __m256 axc = _mm256_min_ps(ax, _mm256_set1_ps(4.0f));
    const __m256 t = _mm256_fmadd_ps(axc, _mm256_set1_ps(0.64f), _mm256_set1_ps(-1.56f));
    const __m256 g = polynomial(t, large_p);
    const __m256 hi = _mm256_mul_ps(axc, axc);
    const __m256 lo = _mm256_fmsub_ps(axc, axc, hi);
    __m256 e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), hi));
    e = _mm256_fnmadd_ps(e, lo, e);
    const __m256 large = _mm256_fnmadd_ps(e, g, _mm256_set1_ps(1.0f));
    const __m256 result = _mm256_blendv_ps(copysign_avx2(large, x), small,
                                           _mm256_cmp_ps(ax, _mm256_set1_ps(0.875f), _CMP_LT_OQ));
    return nan_passthrough(x, result);
}

}  // namespace mln::kernels::avx2
