// Float lanes: one vector register of f32 with the few operations the normalization, pooling
// and convolution kernels need, so a body is written once as a template on the lane type and
// compiled per ISA file (the *_avx2.cpp and *_avx512.cpp files get the flags; the plain file
// gets the one-lane scalar type), and the AVX-512 files write their masked lanes in one place.
// The vector types build on the vector-math traits (vector_math_avx*.hpp: arithmetic, compares,
// select) and add the lane masks. Everything here has internal linkage: the copies compiled
// with different flags must never be merged by the linker.
//
// A loop runs full registers, then one masked register for the tail (for_lanes), so the
// bodies have no scalar tail loop. Masked loads read nothing outside the mask (no fault past
// the end of a buffer) and give 0 in the inactive lanes.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__)
#include "kernels/cpu/common/vector_math_avx2.hpp"
#endif
#if defined(__AVX512F__)
#include "kernels/cpu/common/vector_math_avx512.hpp"
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
    static Mask last(int64_t) { return true; }
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
// Avx2F32's Mask (a compare result) is Cmp here; Mask is the tail mask of maskload/maskstore.
struct Avx2Lanes : Avx2F32 {
    using Reg = __m256;
    using Mask = __m256i;
    static constexpr int64_t width = 8;
    // Lanes [0, n) for |n| < 2^31 (none for n <= 0, all from n = 8).
    static Mask first(int64_t n) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    // Lanes [8 - n, 8), 0 < n < 8.
    static Mask last(int64_t n) {
        return _mm256_cmpgt_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int>(7 - n)));
    }
    static Reg load(const float* p, AllLanes) { return Avx2F32::load(p); }
    static Reg load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
    static void store(float* p, Reg v, AllLanes) { Avx2F32::store(p, v); }
    static void store(float* p, Reg v, Mask m) { _mm256_maskstore_ps(p, m, v); }
    static Reg keep(Reg v, AllLanes) { return v; }
    static Reg keep(Reg v, Mask m) { return _mm256_and_ps(v, _mm256_castsi256_ps(m)); }
    static double sum(Reg v) {
        const __m256d d = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
        const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(d), _mm256_extractf128_pd(d, 1));
        return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    }

    // As Avx512Lanes::load_even_odd (at most 16 elements read, n < 2^31): each 128-bit half
    // keeps its even (odd) elements of both registers, then the 64-bit quarters are put in order.
    // 16 elements or more by plain loads: the masks and vmaskmovps took 0.08 of MobileNet-v2's
    // 3x3/2 stem forward (its plane split, Zen 3).
    static void load_even_odd(const float* p, int64_t n, Reg* even, Reg* odd) {
        __m256 low, high;
        if (n >= 16) {
            low = _mm256_loadu_ps(p);
            high = _mm256_loadu_ps(p + 8);
        } else {
            low = _mm256_maskload_ps(p, first(n));
            high = _mm256_maskload_ps(p + 8, first(n - 8));
        }
        *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(low, high, 0x88)), 0xD8));
        *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(low, high, 0xDD)), 0xD8));
    }

    using Cmp = Avx2F32::Mask;
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
    using Avx2F32::select;
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
struct Avx512Lanes : Avx512F32 {
    using Reg = __m512;
    using Mask = __mmask16;
    static constexpr int64_t width = 16;
    // Lanes [0, n) for n >= 0 (all of them from n = 16).
    static Mask first(int64_t n) { return static_cast<Mask>(n >= 16 ? 0xFFFFu : (1u << (n > 0 ? n : 0)) - 1u); }
    // Lanes [begin, end) for 0 <= begin, clipped to the register.
    static Mask range(int64_t begin, int64_t end) { return static_cast<Mask>(first(end) & ~first(begin)); }
    // Lanes [16 - n, 16), 0 < n <= 16.
    static Mask last(int64_t n) { return range(16 - n, 16); }
    static Reg load(const float* p, AllLanes) { return Avx512F32::load(p); }
    static Reg load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
    static void store(float* p, Reg v, AllLanes) { Avx512F32::store(p, v); }
    static void store(float* p, Reg v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
    static Reg keep(Reg v, AllLanes) { return v; }
    static Reg keep(Reg v, Mask m) { return _mm512_maskz_mov_ps(m, v); }
    static double sum(Reg v) {
        // The mask forms here and below, and no _mm512_reduce_add_pd: GCC 12's plain ones warn about an undefined pass-through register.
        const __m512d lo = _mm512_maskz_cvtps_pd(0xFF, _mm512_maskz_extractf32x8_ps(0xFF, v, 0));
        const __m512d hi = _mm512_maskz_cvtps_pd(0xFF, _mm512_maskz_extractf32x8_ps(0xFF, v, 1));
        alignas(64) double lanes[8];
        _mm512_store_pd(lanes, _mm512_add_pd(lo, hi));
        return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    }

    // Lane i = p[2 i] where m has lane i, else 0; reads only those elements (each half of the
    // source under the mask's bits spread to the even positions), then keeps the even ones.
    static Reg load_even(const float* p, Mask m) {
        const __m512 low = _mm512_maskz_loadu_ps(spread_to_even(m & 0xFFu), p);
        const __m512 high = _mm512_maskz_loadu_ps(spread_to_even(m >> 8), p + 16);
        return _mm512_permutex2var_ps(low, even_indices(), high);
    }
    // Elements p[0, n) (n >= 0; at most 32 are read) split by parity: even lane i = p[2 i], odd
    // lane i = p[2 i + 1], 0 past n.
    static void load_even_odd(const float* p, int64_t n, Reg* even, Reg* odd) {
        const __m512 low = _mm512_maskz_loadu_ps(first(n), p);
        const __m512 high = _mm512_maskz_loadu_ps(first(n - 16), p + 16);
        *even = _mm512_permutex2var_ps(low, even_indices(), high);
        *odd = _mm512_permutex2var_ps(low, _mm512_add_epi32(even_indices(), _mm512_set1_epi32(1)), high);
    }

    using Cmp = Avx512F32::Mask;
    using IReg = __m512i;
    // p[0], p[s], ..., p[15 s], as Avx2Lanes::load_strided.
    static Reg load_strided(const float* p, int64_t s) {
        if (s == 1) return _mm512_loadu_ps(p);
        if (s == 2) return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even_indices(), _mm512_loadu_ps(p + 16));
        const __m512i offsets = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(static_cast<int>(s)));
        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xFFFF, offsets, p, 4);
    }
    // As Avx2Lanes::takes_over, the ordered test as the compare's input mask.
    static Cmp takes_over(Reg v, Reg best) {
        return _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(best, best, _CMP_ORD_Q), v, best, _CMP_NLE_UQ);
    }
    using Avx512F32::select;
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

   private:
    // Source lanes 0, 2, ..., 30 of a two-register permute.
    static __m512i even_indices() {
        return _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    }
    // Bit i of the low 8 bits of m to bit 2 i.
    static Mask spread_to_even(uint32_t m) {
        m = (m | (m << 4)) & 0x0F0Fu;
        m = (m | (m << 2)) & 0x3333u;
        m = (m | (m << 1)) & 0x5555u;
        return static_cast<Mask>(m);
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
