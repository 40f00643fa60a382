// Compiled with AVX-512: row sums on four 8-double accumulators (32 floats a step).
#include <immintrin.h>

#include "kernels/cpu/reduce/row_sums.hpp"

namespace mln::kernels {
namespace {

// The all-lanes mask form: GCC 12 flags the plain form's undefined pass-through operand as
// maybe uninitialized (a false positive); both are one vcvtps2pd.
__m512d widen(__m256 v) { return _mm512_maskz_cvtps_pd(0xFF, v); }
__m512d widen(const float* p) { return widen(_mm256_loadu_ps(p)); }

}  // namespace

void row_sums_avx512(const float* x, int64_t rows, int64_t length, int64_t stride, double* sums) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = x + r * stride;
        __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd(), a2 = _mm512_setzero_pd(), a3 = _mm512_setzero_pd();
        int64_t i = 0;
        for (; i + 32 <= length; i += 32) {
            a0 = _mm512_add_pd(a0, widen(row + i));
            a1 = _mm512_add_pd(a1, widen(row + i + 8));
            a2 = _mm512_add_pd(a2, widen(row + i + 16));
            a3 = _mm512_add_pd(a3, widen(row + i + 24));
        }
        for (; i + 8 <= length; i += 8) a0 = _mm512_add_pd(a0, widen(row + i));
        if (i < length) {
            // Lanes [0, length - i) of a masked load; it reads nothing past the row.
            const __mmask8 mask = static_cast<__mmask8>((1u << (length - i)) - 1u);
            a1 = _mm512_add_pd(a1, widen(_mm256_maskz_loadu_ps(mask, row + i)));
        }
        alignas(64) double lanes[8];
        _mm512_store_pd(lanes, _mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
        sums[r] = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    }
}

}  // namespace mln::kernels
