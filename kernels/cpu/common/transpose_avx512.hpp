// The 16 x 16 f32 transpose and the 4 x 4 transposes in each 128-bit quarter in AVX-512 registers, for the kernels of the *_avx512.cpp files.
// Included only by files compiled with AVX-512 flags; the anonymous namespace gives each file its
// own copy, so no instance compiled for another ISA can stand in for it at link time.
#pragma once

#include <immintrin.h>

#include "kernels/cpu/common/force_inline.hpp"

namespace mln::kernels {
namespace {

// r[i] lane j <- r[j] lane i: 32-bit pairs unpacked, 4 x 4 blocks shuffled inside the 128-bit
// lanes, then two rounds of 128-bit lane shuffles gather them; 64 shuffles for 256 elements.
// Zen 5, GCC 12 -O3, a block loaded from L1, transposed and stored: the same 6.7 ns as the
// unpack_pd form of the second round and the order that joins the lane rounds per column
// (the four copies this replaced); forming the 4 x 4 blocks by 128-bit inserts or masked
// broadcasts from memory (32 shuffles, 64 loads) took 9.9 ns. The zero-masked forms with every
// lane selected are the same instructions; GCC 12's plain ones warn about their own
// uninitialised pass-through operand (GCC bug 105593).
MLN_ALWAYS_INLINE void transpose16x16(__m512 (&r)[16]) {
    constexpr __mmask16 kAll = 0xFFFF;
    __m512 t[16];
    MLN_UNROLL(8)
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_maskz_unpacklo_ps(kAll, r[i], r[i + 1]);
        t[i + 1] = _mm512_maskz_unpackhi_ps(kAll, r[i], r[i + 1]);
    }
    MLN_UNROLL(4)
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_maskz_shuffle_ps(kAll, t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_maskz_shuffle_ps(kAll, t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_maskz_shuffle_ps(kAll, t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_maskz_shuffle_ps(kAll, t[i + 1], t[i + 3], 0xEE);
    }
    MLN_UNROLL(2)
    for (int h = 0; h < 16; h += 8) {
        MLN_UNROLL(4)
        for (int i = h; i < h + 4; ++i) {
            t[i] = _mm512_maskz_shuffle_f32x4(kAll, r[i], r[i + 4], 0x88);
            t[i + 4] = _mm512_maskz_shuffle_f32x4(kAll, r[i], r[i + 4], 0xDD);
        }
    }
    MLN_UNROLL(8)
    for (int i = 0; i < 8; ++i) {
        r[i] = _mm512_maskz_shuffle_f32x4(kAll, t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_maskz_shuffle_f32x4(kAll, t[i], t[i + 8], 0xDD);
    }
}

// u[m] quarter q <- (r[0], r[1], r[2], r[3]) lane 4 q + m: a 4 x 4 transpose inside each 128-bit
// quarter of four registers (32-bit pairs unpacked, then 64-bit ones), 8 shuffles.
MLN_ALWAYS_INLINE void transpose4x4_in_quarters(const __m512 (&r)[4], __m512 (&u)[4]) {
    const __m512d t0 = _mm512_castps_pd(_mm512_unpacklo_ps(r[0], r[1]));
    const __m512d t1 = _mm512_castps_pd(_mm512_unpackhi_ps(r[0], r[1]));
    const __m512d t2 = _mm512_castps_pd(_mm512_unpacklo_ps(r[2], r[3]));
    const __m512d t3 = _mm512_castps_pd(_mm512_unpackhi_ps(r[2], r[3]));
    u[0] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    u[1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    u[2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    u[3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
}

}  // namespace
}  // namespace mln::kernels
