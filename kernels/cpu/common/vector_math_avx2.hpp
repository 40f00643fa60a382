// Vector traits for AVX2/FMA (8 floats or 4 doubles per __m256), the W of vector_math.hpp and
// of the elementwise loops. Include only from *_avx2.cpp files.
#pragma once

#include <immintrin.h>

#include "kernels/cpu/common/vector_math.hpp"

namespace mln::kernels {
// Internal linkage: float_lanes.hpp builds on these in files of every ISA level, and no copy
// compiled with one level's flags may stand in for another's at link time.
namespace {

struct Avx2F64;

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
    static V floor(V a) { return _mm256_floor_ps(a); }
    static V ceil(V a) { return _mm256_ceil_ps(a); }
    static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
    static V neg(V a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
    static V negative_abs(V a) { return _mm256_or_ps(a, _mm256_set1_ps(-0.0f)); }  // -|a|: one instruction
    static V copysign(V magnitude, V sign) {
        const V sign_bit = _mm256_set1_ps(-0.0f);
        return _mm256_or_ps(_mm256_andnot_ps(sign_bit, magnitude), _mm256_and_ps(sign_bit, sign));
    }
    static Mask lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
    static Mask le(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
    static Mask gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
    static Mask eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
    static Mask unordered(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
    static Mask nan_or_positive_infinity(V a) { return _mm256_or_ps(unordered(a, a), eq(a, set1(__builtin_inff()))); }
    static Mask mask_and(Mask a, Mask b) { return _mm256_and_ps(a, b); }
    static V select(Mask m, V if_true, V if_false) { return _mm256_blendv_ps(if_false, if_true, m); }
    // a + b where m, else a.
    static V add_where(Mask m, V a, V b) { return select(m, add(a, b), a); }
    // In two halves, each a normal power of two: a 2^half is exact, so the one rounding is in
    // the second product (as AVX-512's scalef, which gives the same bits). The halves are split
    // in integers with the bias folded in: floor(n) + 254 = (half + 127) + (rest + 127), half =
    // floor(floor(n) / 2); 9 instructions, where halving and flooring in float took 12.
    static V scale_by_pow2(V a, V n) {
        const __m256i biased_twice = _mm256_add_epi32(_mm256_cvtps_epi32(floor(n)), _mm256_set1_epi32(254));
        const __m256i half = _mm256_srai_epi32(biased_twice, 1);
        const __m256i rest = _mm256_sub_epi32(biased_twice, half);
        return mul(mul(a, _mm256_castsi256_ps(_mm256_slli_epi32(half, 23))),
                   _mm256_castsi256_ps(_mm256_slli_epi32(rest, 23)));
    }
    static bool all(Mask m) { return _mm256_movemask_ps(m) == 0xff; }
    // vmath::exp_of_normal: the table entry's bits plus index's bits shifted left by 19.
    static constexpr bool kScalesNormalByExponentBits = true;
    static V add_index_bits(V entry, V index) {
        return _mm256_castsi256_ps(
            _mm256_add_epi32(_mm256_castps_si256(entry), _mm256_slli_epi32(_mm256_castps_si256(index), 19)));
    }
    // table[the low 3 bits of each lane of index]: one permute.
    static constexpr int kPermuteEntries = 8;
    static V permute(const float (&table)[8], V index) {
        return _mm256_permutevar8x32_ps(_mm256_loadu_ps(table), _mm256_castps_si256(index));
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
    // Each half of the lanes in double (Wide), and back, rounded once (VecPow's double halves).
    using Wide = Avx2F64;
    static __m256d widen_low(V v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
    static __m256d widen_high(V v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }
    static V narrow(__m256d low, __m256d high) { return _mm256_set_m128(_mm256_cvtpd_ps(high), _mm256_cvtpd_ps(low)); }
    // vmath::log by log_of_reduced (reduce_for_log below).
    static constexpr bool kLogByTable = false;
    static V nan_of_negative() { return _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0xffc00000u))); }
    // x = m 2^e, m in [sqrt(1/2), sqrt 2), on the bits of a positive normal x: e = (bits -
    // bits(sqrt(1/2))) >> 23 and m = bits - (e << 23), as getexp/getmant's m in [1, 2) halved
    // (and e + 1) where above sqrt 2 would give it. 0x3f3504f4 is sqrt(1/2) rounded up, so m =
    // sqrt 2 rounded down stays (as that m > sqrt 2 test would keep it).
    struct SplitAtSqrt2 {
        __m256i exponent;
        V m;
    };
    static SplitAtSqrt2 split_at_sqrt2(__m256i bits) {
        const __m256i exponent = _mm256_srai_epi32(_mm256_sub_epi32(bits, _mm256_set1_epi32(0x3f3504f4)), 23);
        return {exponent, _mm256_castsi256_ps(_mm256_sub_epi32(bits, _mm256_slli_epi32(exponent, 23)))};
    }
    // log's x = (1 + f) 2^e (split_at_sqrt2), denormals scaled by 2^23 first: the same e and f
    // as getexp, getmant and that halving for every x; e = -inf for +-0 and inf for inf, f = NaN
    // (0xffc00000) for x < 0. 17 instructions, where imitating getexp and getmant, then
    // the halving, took about 25.
    static vmath::ReducedLog<Avx2F32> reduce_for_log(V x) {
        const Mask denormal_zero_or_negative = lt(x, set1(1.17549435e-38f));
        const auto [exponent, m] =
            split_at_sqrt2(_mm256_castps_si256(select(denormal_zero_or_negative, mul(x, set1(8388608.0f)), x)));
        V e = sub(_mm256_cvtepi32_ps(exponent), _mm256_and_ps(denormal_zero_or_negative, set1(23.0f)));
        e = select(eq(x, zero()), set1(-__builtin_inff()), e);
        e = select(eq(x, set1(__builtin_inff())), set1(__builtin_inff()), e);
        return {e, select(lt(x, zero()), nan_of_negative(), sub(m, set1(1.0f)))};
    }
    // reduce_for_log for a w that is not denormal (log1p's 1 + x), with 2^-e in integers (e at
    // most 126): the same e, f and 2^-e as getexp, getmant and the halving for every such w. 15
    // instructions, where imitating getexp and getmant, the halving and 2^-e took 25.
    static vmath::ReducedNormalLog<Avx2F32> reduce_normal_for_log(V w) {
        const auto [exponent, m] = split_at_sqrt2(_mm256_castps_si256(w));
        // w = 0 (exponent -127) and w < 0 also give a normal 2^-e: their f is 0 and NaN.
        const __m256i biased = _mm256_sub_epi32(_mm256_set1_epi32(127), _mm256_min_epi32(exponent, _mm256_set1_epi32(126)));
        V e = select(eq(w, zero()), set1(-__builtin_inff()), _mm256_cvtepi32_ps(exponent));
        e = select(eq(w, set1(__builtin_inff())), set1(__builtin_inff()), e);
        return {e, select(lt(w, zero()), nan_of_negative(), sub(m, set1(1.0f))),
                _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23))};
    }
    // vmath::sin, cos and tan: the quadrant's bits of the reduction's index.
    static V bitwise_xor(V a, V b) { return _mm256_xor_ps(a, b); }
    // Lanes whose bit Bit of a's bits is set (all ones there).
    template <int Bit>
    static Mask bit_set(V a) {
        return _mm256_castsi256_ps(_mm256_srai_epi32(_mm256_slli_epi32(_mm256_castps_si256(a), 31 - Bit), 31));
    }
    // Bit Bit of a's bits moved to the sign, the other bits 0.
    template <int Bit>
    static V sign_of_bit(V a) {
        return _mm256_and_ps(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(a), 31 - Bit)),
                             _mm256_set1_ps(-0.0f));
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
    // Integer arithmetic on each lane's 64 bits (VecPow's exponent split and 2^k).
    static V add_bits(V a, int64_t bits) { return _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(a), _mm256_set1_epi64x(bits))); }
    static V sub_bits(V a, V b) { return _mm256_castsi256_pd(_mm256_sub_epi64(_mm256_castpd_si256(a), _mm256_castpd_si256(b))); }
    static V or_bits(V a, V b) { return _mm256_or_pd(a, b); }
    static V shift_bits_left(V a, unsigned shift) { return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(a), static_cast<int>(shift))); }
    static V shift_bits_right(V a, unsigned shift) { return _mm256_castsi256_pd(_mm256_srli_epi64(_mm256_castpd_si256(a), static_cast<int>(shift))); }
};

}  // namespace
}  // namespace mln::kernels
