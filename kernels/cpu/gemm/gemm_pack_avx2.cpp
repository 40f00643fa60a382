// AVX2 packing of full float panels (the scalar loops in gemm_pack.hpp do edges and other
// layouts). Both transposes of B and the row-major A go through 8x8 register transposes, so
// packing reads whole cache lines and writes the panel sequentially. Compiled with AVX2 flags:
// only the exported functions leave this file.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/gemm/gemm_pack_avx2.hpp"
#include "kernels/cpu/gemm/gemm_transpose_x86.hpp"

namespace mln::kernels {

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
