// The AVX-512 16 x 16 f32 transpose: in registers, and of the channel-blocked layout
// (conv_depthwise_blocked.hpp) with each transposed row stored where its caller says. For the
// AVX-512 depthwise files only.
// GCC 12 warns inside its own AVX-512 unpack intrinsics (a self-initialized undefined operand,
// GCC bug 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#pragma once

#include <immintrin.h>

#include "kernels/cpu/conv/conv_depthwise_blocked.hpp"

namespace mln::kernels {
namespace {

// r[i] lane j <- r[j] lane i: a 16 x 16 f32 transpose in registers (unpack 32- and 64-bit
// pairs, then swap 128-bit lanes twice), 64 shuffles instead of 256 scalar moves.
inline void transpose_16x16(__m512 (&r)[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 4; ++j) {
            t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0x88);
            t[8 * i + j + 4] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0xdd);
        }
    }
    for (int j = 0; j < 8; ++j) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
    }
}

// The channel-blocked layout's tile transposed in registers; f64 keeps the portable tile.
struct Avx512Tile {
    static void transpose_rows(const float* src, int64_t src_stride, float* const* dst_rows) {
        __m512 r[16];
        for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * src_stride);
        transpose_16x16(r);
        for (int i = 0; i < 16; ++i) _mm512_storeu_ps(dst_rows[i], r[i]);
    }
    static void transpose_rows(const double* src, int64_t src_stride, double* const* dst_rows) {
        PortableTile::transpose_rows(src, src_stride, dst_rows);
    }
};

}  // namespace
}  // namespace mln::kernels
