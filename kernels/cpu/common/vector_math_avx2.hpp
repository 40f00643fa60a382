// Vector traits for AVX2/FMA (8 floats or 4 doubles per __m256), the W of vector_math.hpp and
// of the elementwise loops. Include only from *_avx2.cpp files.
#pragma once

#include <immintrin.h>

#include "kernels/cpu/common/vector_math.hpp"

namespace mln::kernels {
// Internal linkage: float_lanes.hpp builds on these in files of every ISA level, and no copy
// compiled with one level's flags may stand in for another's at link time.
namespace {

struct Avx2F32 {
    using T = float;
    using V = __m256;
    using Mask = __m256;  // all-ones lanes where true
    static constexpr int kLanes = 8;
    static constexpr int kBytes = 32;
    static V load(const T* p) { return _mm256_loadu_ps(p); }
    static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
    static void stream(T* p, V v) { _mm256_stream_ps(p, v); }
    static V set1(T v) { return _mm256_set1_ps(v); }
    static V zero() { return _mm256_setzero_ps(); }
    static V add(V a, V b) { return _mm256_add_ps(a, b); }
    static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    static V div(V a, V b) { return _mm256_div_ps(a, b); }
    static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
    static V fmsub(V a, V b, V c) { return _mm256_fmsub_ps(a, b, c); }
    static V min(V a, V b) { return _mm256_min_ps(a, b); }
    static V max(V a, V b) { return _mm256_max_ps(a, b); }
    static V sqrt(V a) { return _mm256_sqrt_ps(a); }
    static V round_nearest(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    // Exact: the scalings by 16 and 1/16 only change the exponent.
    static V round_to_sixteenths(V a) { return mul(round_nearest(mul(a, set1(16.0f))), set1(0.0625f)); }
    static V floor(V a) { return _mm256_floor_ps(a); }
    static V ceil(V a) { return _mm256_ceil_ps(a); }
    static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
    static V neg(V a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
    static V copysign(V magnitude, V sign) {
        const V sign_bit = _mm256_set1_ps(-0.0f);
        return _mm256_or_ps(_mm256_andnot_ps(sign_bit, magnitude), _mm256_and_ps(sign_bit, sign));
    }
    static Mask lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
    static Mask le(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
    static Mask gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
    static Mask eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
    static Mask unordered(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
    static Mask mask_and(Mask a, Mask b) { return _mm256_and_ps(a, b); }
    static V select(Mask m, V if_true, V if_false) { return _mm256_blendv_ps(if_false, if_true, m); }
    // 2^n for integral n in [-126, 127].
    static V pow2(V n) {
        const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
        return _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23));
    }
    // In two halves, each a normal power of two: a 2^half is exact, so the one rounding is in
    // the second product (as AVX-512's scalef, which gives the same bits).
    static V scale_by_pow2(V a, V n) {
        const V whole = floor(n);
        const V half = floor(mul(whole, set1(0.5f)));
        return mul(mul(a, pow2(half)), pow2(sub(whole, half)));
    }
    // Two 8-entry permutes, bit 3 of the index (moved to the sign) picking between them.
    static V lookup16(const float (&table)[16], V index) {
        const __m256i i = _mm256_castps_si256(index);
        const V low = _mm256_permutevar8x32_ps(_mm256_loadu_ps(table), i);
        const V high = _mm256_permutevar8x32_ps(_mm256_loadu_ps(table + 8), i);
        return _mm256_blendv_ps(low, high, _mm256_castsi256_ps(_mm256_slli_epi32(i, 28)));
    }
    // Sums of float lanes kept in double (two halves of 4 doubles).
    struct DoubleSum {
        __m256d lo = _mm256_setzero_pd();
        __m256d hi = _mm256_setzero_pd();
    };
    static void accumulate(DoubleSum& sum, V v) {
        sum.lo = _mm256_add_pd(sum.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        sum.hi = _mm256_add_pd(sum.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    static double total(const DoubleSum& sum) {
        alignas(32) double lanes[4];
        _mm256_store_pd(lanes, _mm256_add_pd(sum.lo, sum.hi));
        return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    }
    static T reduce_max(V v) {
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        return _mm_cvtss_f32(m);
    }
    // AVX-512's getexp and getmant (Avx512F32), as far as log needs them: the same values
    // for every a >= 0 and +-inf, NaN for a < 0, +-0 taken as +0 (log gives -inf either way).
    // The _of_normal pair reads the exponent field as it is (a not denormal: log1p's 1 + x);
    // exponent_of and mantissa_of scale denormals into the normal range first.
    // The exponent field of `scaled` less `bias`, with getexp's -inf for a = +-0 and +inf for +-inf.
    static V exponent_of_field(V a, V scaled, V bias) {
        const __m256i field = _mm256_srli_epi32(_mm256_slli_epi32(_mm256_castps_si256(scaled), 1), 24);
        const V e = select(eq(a, zero()), set1(-__builtin_inff()), sub(_mm256_cvtepi32_ps(field), bias));
        return select(eq(abs(a), set1(__builtin_inff())), set1(__builtin_inff()), e);
    }
    static V exponent_of_normal(V a) { return exponent_of_field(a, a, set1(127.0f)); }
    static V mantissa_of_normal(V a) {
        const __m256i bits = _mm256_castps_si256(a);
        const V m = _mm256_castsi256_ps(
            _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
        return select(lt(a, zero()), _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0xffc00000u))), m);
    }
    static Mask denormal_or_zero(V a) { return lt(abs(a), set1(1.17549435e-38f)); }
    static V exponent_of(V a) {
        const Mask denormal = denormal_or_zero(a);
        return exponent_of_field(a, select(denormal, mul(a, set1(8388608.0f)), a),
                                 select(denormal, set1(150.0f), set1(127.0f)));
    }
    static V mantissa_of(V a) {
        return mantissa_of_normal(select(denormal_or_zero(a), mul(a, set1(8388608.0f)), a));
    }
};

struct Avx2F64 {
    using T = double;
    using V = __m256d;
    using Mask = __m256d;
    static constexpr int kLanes = 4;
    static constexpr int kBytes = 32;
    static V load(const T* p) { return _mm256_loadu_pd(p); }
    static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
    static void stream(T* p, V v) { _mm256_stream_pd(p, v); }
    static V set1(T v) { return _mm256_set1_pd(v); }
    static V zero() { return _mm256_setzero_pd(); }
    static V add(V a, V b) { return _mm256_add_pd(a, b); }
    static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
    static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
    static V div(V a, V b) { return _mm256_div_pd(a, b); }
    static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
    static V max(V a, V b) { return _mm256_max_pd(a, b); }
    static V min(V a, V b) { return _mm256_min_pd(a, b); }
    static Mask unordered(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_UNORD_Q); }
    static V select(Mask m, V if_true, V if_false) { return _mm256_blendv_pd(if_false, if_true, m); }
};

}  // namespace
}  // namespace mln::kernels
