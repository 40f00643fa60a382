// Vector traits for AVX-512 F/DQ (16 floats or 8 doubles per __m512, compares into mask
// registers), the W of vector_math.hpp and of the elementwise loops. Include only from
// *_avx512.cpp files.
#pragma once

// GCC 12 reports the _mm512_undefined_* pass-through operand inside its own intrinsics
// (_mm512_max_ps, _mm512_roundscale_ps, _mm512_cvtps_pd, ...) as (maybe) uninitialized when
// they are inlined; a false positive (fixed in GCC 13). The pragmas must precede the
// intrinsics header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include "kernels/cpu/common/vector_math.hpp"

namespace mln::kernels {
// Internal linkage: float_lanes.hpp builds on these in files of every ISA level, and no copy
// compiled with one level's flags may stand in for another's at link time.
namespace {

struct Avx512F64;

struct Avx512F32 {
    using T = float;
    using V = __m512;
    using Mask = __mmask16;
    static constexpr int kLanes = 16;
    static constexpr int kBytes = 64;
    static V load(const T* p) { return _mm512_loadu_ps(p); }
    static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
    static void stream(T* p, V v) { _mm512_stream_ps(p, v); }
    static V set1(T v) { return _mm512_set1_ps(v); }
    static V zero() { return _mm512_setzero_ps(); }
    static V add(V a, V b) { return _mm512_add_ps(a, b); }
    static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    static V div(V a, V b) { return _mm512_div_ps(a, b); }
    static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
    static V fmsub(V a, V b, V c) { return _mm512_fmsub_ps(a, b, c); }
    static V min(V a, V b) { return _mm512_min_ps(a, b); }
    static V max(V a, V b) { return _mm512_max_ps(a, b); }
    static V sqrt(V a) { return _mm512_sqrt_ps(a); }
    static V round_nearest(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static V floor(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
    static V ceil(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC); }
    static V abs(V a) { return _mm512_andnot_ps(_mm512_set1_ps(-0.0f), a); }
    static V neg(V a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
    static V negative_abs(V a) { return _mm512_or_ps(a, _mm512_set1_ps(-0.0f)); }  // -|a|: one instruction
    static V copysign(V magnitude, V sign) {
        const V sign_bit = _mm512_set1_ps(-0.0f);
        return _mm512_or_ps(_mm512_andnot_ps(sign_bit, magnitude), _mm512_and_ps(sign_bit, sign));
    }
    static Mask lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
    static Mask le(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
    static Mask gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
    static Mask eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
    static Mask unordered(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
    // One classify (quiet NaN, +inf, signaling NaN) where two compares and two blends were.
    static Mask nan_or_positive_infinity(V a) { return _mm512_fpclass_ps_mask(a, 0x01 | 0x08 | 0x80); }
    static Mask nan_zero_or_positive_infinity(V a) { return _mm512_fpclass_ps_mask(a, 0x01 | 0x02 | 0x04 | 0x08 | 0x80); }
    static Mask mask_and(Mask a, Mask b) { return static_cast<Mask>(a & b); }
    static bool all(Mask m) { return m == 0xffff; }
    static V select(Mask m, V if_true, V if_false) { return _mm512_mask_blend_ps(m, if_false, if_true); }
    // a + b where m, else a: one masked add.
    static V add_where(Mask m, V a, V b) { return _mm512_mask_add_ps(a, m, a, b); }
    // One instruction, rounded once: the same bits as Avx2F32's two exact-then-rounded products.
    static V scale_by_pow2(V a, V n) { return _mm512_scalef_ps(a, n); }
    // table[the low 5 bits of each lane of index]: one two-table permute (vpermt2ps).
    static constexpr int kPermuteEntries = 32;
    // scalef is one instruction: vmath::exp needs no path for normal results.
    static constexpr bool kScalesNormalByExponentBits = false;
    static V permute(const float (&table)[32], V index) {
        return _mm512_permutex2var_ps(_mm512_loadu_ps(table), _mm512_castps_si512(index), _mm512_loadu_ps(table + 16));
    }
    static V lookup16(const float (&table)[16], V index) {
        return _mm512_permutexvar_ps(_mm512_castps_si512(index), _mm512_loadu_ps(table));
    }
    // Sums of float lanes kept in double (two halves of 8 doubles).
    struct DoubleSum {
        __m512d lo = _mm512_setzero_pd();
        __m512d hi = _mm512_setzero_pd();
    };
    static void accumulate(DoubleSum& sum, V v) {
        sum.lo = _mm512_add_pd(sum.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
        sum.hi = _mm512_add_pd(sum.hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
    }
    static double total(const DoubleSum& sum) { return _mm512_reduce_add_pd(_mm512_add_pd(sum.lo, sum.hi)); }
    static T reduce_max(V v) { return _mm512_reduce_max_ps(v); }
    // vmath::log by a table of intervals of m (vmath::log_interval).
    static constexpr bool kLogByTable = true;
    // x = m 2^e, m in [0.75, 1.5): getmant, and -e = getexp(m) - getexp(x) (getexp(m) is -1 or 0;
    // -e rather than e, which log1p's scaling takes as it is). Denormals need no care; +0 gives
    // m = 1, -e = inf; -0 m = -1, -e = inf; inf m = 1, -e = -inf; x < 0 m = NaN (0xffc00000).
    struct ReducedLogByTable {
        V minus_e, m;
    };
    static ReducedLogByTable reduce_for_log_by_table(V x) {
        const V m = _mm512_getmant_ps(x, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_nan);
        return {sub(_mm512_getexp_ps(m), _mm512_getexp_ps(x)), m};
    }
    // Each half of the lanes in double (Wide), and back, rounded once (VecPow's double halves).
    using Wide = Avx512F64;
    static __m512d widen_low(V v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
    static __m512d widen_high(V v) { return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))); }
    static V narrow(__m512d low, __m512d high) {
        return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(low)), _mm512_cvtpd_ps(high), 1);
    }
    // (bits(a) - bits) >> shift in each lane's bits (an index for permute).
    static V bits_less_shifted_right(V a, unsigned bits, unsigned shift) {
        return _mm512_castsi512_ps(
            _mm512_srli_epi32(_mm512_sub_epi32(_mm512_castps_si512(a), _mm512_set1_epi32(static_cast<int>(bits))), shift));
    }
    // vmath::sin, cos and tan: the quadrant's bits of the reduction's index.
    static V bitwise_xor(V a, V b) { return _mm512_xor_ps(a, b); }
    // Lanes whose bit Bit of a's bits is set.
    template <int Bit>
    static Mask bit_set(V a) {
        return _mm512_test_epi32_mask(_mm512_castps_si512(a), _mm512_set1_epi32(1 << Bit));
    }
    // Bit Bit of a's bits moved to the sign, the other bits 0.
    template <int Bit>
    static V sign_of_bit(V a) {
        return _mm512_and_ps(_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(a), 31 - Bit)),
                             _mm512_set1_ps(-0.0f));
    }
};

struct Avx512F64 {
    using T = double;
    using V = __m512d;
    using Mask = __mmask8;
    static constexpr int kLanes = 8;
    static constexpr int kBytes = 64;
    static V load(const T* p) { return _mm512_loadu_pd(p); }
    static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
    static void stream(T* p, V v) { _mm512_stream_pd(p, v); }
    static V set1(T v) { return _mm512_set1_pd(v); }
    static V zero() { return _mm512_setzero_pd(); }
    static V add(V a, V b) { return _mm512_add_pd(a, b); }
    static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
    static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
    static V div(V a, V b) { return _mm512_div_pd(a, b); }
    static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
    static V max(V a, V b) { return _mm512_max_pd(a, b); }
    static V min(V a, V b) { return _mm512_min_pd(a, b); }
    static Mask unordered(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q); }
    static V select(Mask m, V if_true, V if_false) { return _mm512_mask_blend_pd(m, if_false, if_true); }
    // Integer arithmetic on each lane's 64 bits (VecPow's exponent split and 2^k).
    static V add_bits(V a, int64_t bits) { return _mm512_castsi512_pd(_mm512_add_epi64(_mm512_castpd_si512(a), _mm512_set1_epi64(bits))); }
    static V sub_bits(V a, V b) { return _mm512_castsi512_pd(_mm512_sub_epi64(_mm512_castpd_si512(a), _mm512_castpd_si512(b))); }
    static V or_bits(V a, V b) { return _mm512_or_pd(a, b); }
    static V shift_bits_left(V a, unsigned shift) { return _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_castpd_si512(a), shift)); }
    static V shift_bits_right(V a, unsigned shift) { return _mm512_castsi512_pd(_mm512_srli_epi64(_mm512_castpd_si512(a), shift)); }
};

}  // namespace
}  // namespace mln::kernels
