// Compiled with AVX2: row sums on four 4-double accumulators (16 floats a step).
#include <immintrin.h>

#include "kernels/cpu/reduce/row_sums.hpp"

namespace mln::kernels {
namespace {

__m256d widen(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }

}  // namespace

void row_sums_avx2(const float* x, int64_t rows, int64_t length, int64_t stride, double* sums) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = x + r * stride;
        __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
        int64_t i = 0;
        for (; i + 16 <= length; i += 16) {
            a0 = _mm256_add_pd(a0, widen(row + i));
            a1 = _mm256_add_pd(a1, widen(row + i + 4));
            a2 = _mm256_add_pd(a2, widen(row + i + 8));
            a3 = _mm256_add_pd(a3, widen(row + i + 12));
        }
        for (; i + 4 <= length; i += 4) a0 = _mm256_add_pd(a0, widen(row + i));
        if (i < length) {
            // Lanes [0, length - i) of a masked load; it reads nothing past the row.
            const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(length - i)), _mm_setr_epi32(0, 1, 2, 3));
            a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm_maskload_ps(row + i, mask)));
        }
        const __m256d total = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3));
        const __m128d half = _mm_add_pd(_mm256_castpd256_pd128(total), _mm256_extractf128_pd(total, 1));
        sums[r] = _mm_cvtsd_f64(_mm_add_sd(half, _mm_unpackhi_pd(half, half)));
    }
}

}  // namespace mln::kernels
