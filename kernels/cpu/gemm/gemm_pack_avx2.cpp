// AVX2 packing of full float panels (the scalar loops in gemm_pack.hpp do edges and other
// layouts). Both transposes of B and the row-major A go through 8x8 register transposes, so
// packing reads whole cache lines and writes the panel sequentially. Compiled with AVX2 flags:
// only the exported functions leave this file.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/gemm/gemm_pack_avx2.hpp"

namespace mln::kernels {
namespace {

void transpose8x8(__m256 (&r)[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]);
    const __m256 t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]);
    const __m256 t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]);
    const __m256 t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]);
    const __m256 t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

}  // namespace

void sgemm_avx2_pack_b16_rows(const float* b, int64_t row_stride, int64_t depth, int64_t panels, float* packed) {
    // Row by row: each source row is read front to back (prefetch-friendly); the writes go to
    // `panels` sequential streams.
    const int64_t panel_size = 16 * depth;
    for (int64_t p = 0; p < depth; ++p) {
        const float* row = b + p * row_stride;
        float* target = packed + p * 16;
        for (int64_t s = 0; s < panels; ++s) {
            _mm256_storeu_ps(target + s * panel_size, _mm256_loadu_ps(row + s * 16));
            _mm256_storeu_ps(target + s * panel_size + 8, _mm256_loadu_ps(row + s * 16 + 8));
        }
    }
}

void sgemm_avx2_pack_b16_columns(const float* b, int64_t col_stride, int64_t depth, float* packed) {
    int64_t p = 0;
    for (; p + 8 <= depth; p += 8) {
        for (int half = 0; half < 2; ++half) {
            __m256 r[8];
            for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(b + (half * 8 + j) * col_stride + p);
            transpose8x8(r);
            for (int q = 0; q < 8; ++q) _mm256_storeu_ps(packed + (p + q) * 16 + half * 8, r[q]);
        }
    }
    for (; p < depth; ++p) {
        for (int j = 0; j < 16; ++j) packed[p * 16 + j] = b[j * col_stride + p];
    }
}

void sgemm_avx2_pack_a6_rows(const float* a, int64_t row_stride, int64_t depth, float* packed) {
    const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    int64_t p = 0;
    for (; p + 8 <= depth; p += 8) {
        __m256 r[8];
        for (int i = 0; i < 6; ++i) r[i] = _mm256_loadu_ps(a + i * row_stride + p);
        r[6] = r[7] = _mm256_setzero_ps();
        transpose8x8(r);
        // Each store writes 8 lanes; the next one overwrites the 2 extra. The last is masked.
        for (int q = 0; q < 7; ++q) _mm256_storeu_ps(packed + (p + q) * 6, r[q]);
        _mm256_maskstore_ps(packed + (p + 7) * 6, six, r[7]);
    }
    for (; p < depth; ++p) {
        for (int i = 0; i < 6; ++i) packed[p * 6 + i] = a[i * row_stride + p];
    }
}

}  // namespace mln::kernels
