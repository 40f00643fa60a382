// Float lanes: one vector register of f32 with the few operations the normalization and
// pooling bodies need, so a body is written once as a template on the lane type and compiled
// per ISA file (the *_avx2.cpp and *_avx512.cpp files get the flags; the plain file gets the
// one-lane scalar type). Everything here has internal linkage: the copies compiled with
// different flags must never be merged by the linker.
//
// A loop runs full registers, then one masked register for the tail (for_lanes), so the
// bodies have no scalar tail loop. Masked loads read nothing outside the mask (no fault past
// the end of a buffer) and give 0 in the inactive lanes.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace mln::kernels {
namespace {

// Tag for a whole register: the unmasked instructions.
struct AllLanes {};

struct ScalarLanes {
    using Reg = float;
    using Mask = bool;  // never built: a one-lane loop has no tail
    static constexpr int64_t width = 1;
    static Mask first(int64_t) { return true; }
    static Reg load(const float* p, AllLanes) { return *p; }
    static Reg load(const float* p, Mask m) { return m ? *p : 0.0f; }
    static void store(float* p, Reg v, AllLanes) { *p = v; }
    static void store(float* p, Reg v, Mask m) {
        if (m) *p = v;
    }
    static Reg keep(Reg v, AllLanes) { return v; }
    static Reg keep(Reg v, Mask m) { return m ? v : 0.0f; }
    static Reg set1(float v) { return v; }
    static Reg zero() { return 0.0f; }
    static Reg add(Reg a, Reg b) { return a + b; }
    static Reg sub(Reg a, Reg b) { return a - b; }
    static Reg mul(Reg a, Reg b) { return a * b; }
    static Reg fmadd(Reg a, Reg b, Reg c) { return a * b + c; }
    static double sum(Reg v) { return static_cast<double>(v); }

    // Comparisons and int32 lanes (pooling's argmax).
    using Cmp = bool;
    using IReg = int32_t;
    static Reg load_strided(const float* p, int64_t) { return *p; }
    // Whether v replaces best in a max where NaN wins and the first NaN stays: v > best, or v
    // NaN while best is not.
    static Cmp takes_over(Reg v, Reg best) { return v > best || (std::isnan(v) && !std::isnan(best)); }
    static Reg select(Cmp c, Reg t, Reg f) { return c ? t : f; }
    static IReg select(Cmp c, IReg t, IReg f) { return c ? t : f; }
    // Lane i holds i * step; plus(steps, first) adds first to every lane.
    static IReg lane_steps(int32_t) { return 0; }
    static IReg plus(IReg steps, int32_t first) { return steps + first; }
    static void store_indices(int64_t* out, IReg positions, int64_t base) { *out = base + positions; }
};

#if defined(__AVX2__) && defined(__FMA__)
struct Avx2Lanes {
    using Reg = __m256;
    using Mask = __m256i;
    static constexpr int64_t width = 8;
    // Lanes [0, n), 0 < n < 8.
    static Mask first(int64_t n) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    static Reg load(const float* p, AllLanes) { return _mm256_loadu_ps(p); }
    static Reg load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
    static void store(float* p, Reg v, AllLanes) { _mm256_storeu_ps(p, v); }
    static void store(float* p, Reg v, Mask m) { _mm256_maskstore_ps(p, m, v); }
    static Reg keep(Reg v, AllLanes) { return v; }
    static Reg keep(Reg v, Mask m) { return _mm256_and_ps(v, _mm256_castsi256_ps(m)); }
    static Reg set1(float v) { return _mm256_set1_ps(v); }
    static Reg zero() { return _mm256_setzero_ps(); }
    static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
    static Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
    static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
    static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
    static double sum(Reg v) {
        const __m256d d = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
        const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(d), _mm256_extractf128_pd(d, 1));
        return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    }

    using Cmp = __m256;
    using IReg = __m256i;
    // p[0], p[s], ..., p[7 s]: a plain load for s = 1, two loads and a shuffle for s = 2, a
    // gather otherwise (s * 7 fits in int32: callers check plane sizes).
    static Reg load_strided(const float* p, int64_t s) {
        if (s == 1) return _mm256_loadu_ps(p);
        if (s == 2) {
            const __m256 even = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), 0x88);
            return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8));
        }
        const __m256i offsets = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int>(s)));
        return _mm256_i32gather_ps(p, offsets, 4);
    }
    // !(v <= best) is v > best or either NaN; best ordered leaves v > best or v NaN.
    static Cmp takes_over(Reg v, Reg best) {
        return _mm256_and_ps(_mm256_cmp_ps(v, best, _CMP_NLE_UQ), _mm256_cmp_ps(best, best, _CMP_ORD_Q));
    }
    static Reg select(Cmp c, Reg t, Reg f) { return _mm256_blendv_ps(f, t, c); }
    static IReg select(Cmp c, IReg t, IReg f) {
        return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(f), _mm256_castsi256_ps(t), c));
    }
    static IReg lane_steps(int32_t step) {
        return _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(step));
    }
    static IReg plus(IReg steps, int32_t first) { return _mm256_add_epi32(steps, _mm256_set1_epi32(first)); }
    static void store_indices(int64_t* out, IReg positions, int64_t base) {
        const __m256i b = _mm256_set1_epi64x(base);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                            _mm256_add_epi64(b, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(positions))));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4),
                            _mm256_add_epi64(b, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(positions, 1))));
    }
};
#endif

#if defined(__AVX512F__)
struct Avx512Lanes {
    using Reg = __m512;
    using Mask = __mmask16;
    static constexpr int64_t width = 16;
    static Mask first(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }
    static Reg load(const float* p, AllLanes) { return _mm512_loadu_ps(p); }
    static Reg load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
    static void store(float* p, Reg v, AllLanes) { _mm512_storeu_ps(p, v); }
    static void store(float* p, Reg v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
    static Reg keep(Reg v, AllLanes) { return v; }
    static Reg keep(Reg v, Mask m) { return _mm512_maskz_mov_ps(m, v); }
    static Reg set1(float v) { return _mm512_set1_ps(v); }
    static Reg zero() { return _mm512_setzero_ps(); }
    static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
    static Reg sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
    static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
    static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
    static double sum(Reg v) {
        // The mask forms here and below, and no _mm512_reduce_add_pd: GCC 12's plain ones warn about an undefined pass-through register.
        const __m512d lo = _mm512_maskz_cvtps_pd(0xFF, _mm512_maskz_extractf32x8_ps(0xFF, v, 0));
        const __m512d hi = _mm512_maskz_cvtps_pd(0xFF, _mm512_maskz_extractf32x8_ps(0xFF, v, 1));
        alignas(64) double lanes[8];
        _mm512_store_pd(lanes, _mm512_add_pd(lo, hi));
        return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    }

    using Cmp = __mmask16;
    using IReg = __m512i;
    // p[0], p[s], ..., p[15 s], as Avx2Lanes::load_strided.
    static Reg load_strided(const float* p, int64_t s) {
        if (s == 1) return _mm512_loadu_ps(p);
        if (s == 2) {
            const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
        }
        const __m512i offsets = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(static_cast<int>(s)));
        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xFFFF, offsets, p, 4);
    }
    // As Avx2Lanes::takes_over, the ordered test as the compare's input mask.
    static Cmp takes_over(Reg v, Reg best) {
        return _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(best, best, _CMP_ORD_Q), v, best, _CMP_NLE_UQ);
    }
    static Reg select(Cmp c, Reg t, Reg f) { return _mm512_mask_blend_ps(c, f, t); }
    static IReg select(Cmp c, IReg t, IReg f) { return _mm512_mask_blend_epi32(c, f, t); }
    static IReg lane_steps(int32_t step) {
        return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                  _mm512_set1_epi32(step));
    }
    static IReg plus(IReg steps, int32_t first) { return _mm512_add_epi32(steps, _mm512_set1_epi32(first)); }
    static void store_indices(int64_t* out, IReg positions, int64_t base) {
        const __m512i b = _mm512_set1_epi64(base);
        const __m256i low = _mm512_maskz_extracti32x8_epi32(0xFF, positions, 0);
        const __m256i high = _mm512_maskz_extracti32x8_epi32(0xFF, positions, 1);
        _mm512_storeu_si512(out, _mm512_add_epi64(b, _mm512_maskz_cvtepi32_epi64(0xFF, low)));
        _mm512_storeu_si512(out + 8, _mm512_add_epi64(b, _mm512_maskz_cvtepi32_epi64(0xFF, high)));
    }
};
#endif

// Calls f(i, mask) for each register of [0, n): AllLanes for whole ones, then a mask for the tail.
template <class V, class F>
inline void for_lanes(int64_t n, F&& f) {
    int64_t i = 0;
    for (; i + V::width <= n; i += V::width) f(i, AllLanes{});
    if (i < n) f(i, V::first(n - i));
}

}  // namespace
}  // namespace mln::kernels
