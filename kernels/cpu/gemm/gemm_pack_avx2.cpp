// AVX2 packing of full float panels (the scalar loops in gemm_pack.hpp do edges and other
// layouts). Both transposes of B and the row-major A go through 8x8 register transposes (B^T by
// transpose8x8_copy: Zen 5, 256 x 256 into 16-column panels, 0.75x the time of transpose8x8), so
// packing reads whole cache lines and writes the panel sequentially. Compiled with AVX2 flags:
// only the exported functions leave this file.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/gemm/gemm_pack_avx2.hpp"
#include "kernels/cpu/gemm/gemm_transpose_x86.hpp"

namespace mln::kernels {

void sgemm_avx2_pack_b16_rows(const float* b, int64_t row_stride, int64_t depth, int64_t panels, float* packed) {
    // Panels lie 64 * depth bytes apart, often a power of two: writing one row to every panel in
    // turn would thrash a few cache sets. So each panel gets a run of kSteps rows (kSteps * 64
    // contiguous bytes) while those source rows stay in L1.
    constexpr int64_t kSteps = 16;
    const int64_t panel_size = 16 * depth;
    for (int64_t p0 = 0; p0 < depth; p0 += kSteps) {
        const int64_t steps = depth - p0 < kSteps ? depth - p0 : kSteps;
        for (int64_t s = 0; s < panels; ++s) {
            const float* source = b + p0 * row_stride + s * 16;
            float* target = packed + s * panel_size + p0 * 16;
            for (int64_t q = 0; q < steps; ++q) {
                _mm256_storeu_ps(target + q * 16, _mm256_loadu_ps(source + q * row_stride));
                _mm256_storeu_ps(target + q * 16 + 8, _mm256_loadu_ps(source + q * row_stride + 8));
            }
        }
    }
}

void sgemm_avx2_pack_b16_columns(const float* b, int64_t col_stride, int64_t depth, int columns, float* packed) {
    pack_b_columns_transposed<16>(b, col_stride, depth, columns, packed);
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

void sgemm_avx2_pack_a6_columns(const float* a, int64_t col_stride, int64_t depth, int64_t panels, float* packed) {
    // As sgemm_avx2_pack_b16_rows: runs of kSteps columns of op(a) per panel (panels lie
    // 24 * depth bytes apart). 6 values: a 16-byte and an 8-byte move, never past the panel.
    constexpr int64_t kSteps = 16;
    const int64_t panel_size = 6 * depth;
    for (int64_t p0 = 0; p0 < depth; p0 += kSteps) {
        const int64_t steps = depth - p0 < kSteps ? depth - p0 : kSteps;
        for (int64_t s = 0; s < panels; ++s) {
            const float* source = a + p0 * col_stride + s * 6;
            float* target = packed + s * panel_size + p0 * 6;
            for (int64_t q = 0; q < steps; ++q) {
                const float* from = source + q * col_stride;
                float* to = target + q * 6;
                _mm_storeu_ps(to, _mm_loadu_ps(from));
                _mm_storel_epi64(reinterpret_cast<__m128i*>(to + 4),
                                 _mm_loadl_epi64(reinterpret_cast<const __m128i*>(from + 4)));
            }
        }
    }
}

}  // namespace mln::kernels
