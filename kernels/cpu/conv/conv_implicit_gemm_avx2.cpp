// The AVX2 transposing write of implicit_gemm::position_panels (conv_implicit_gemm.hpp): its sums,
// a line of output channels per position, go to y's planes 8 channels x 8 positions at a time
// through an 8 x 8 register transpose, in place of a scalar store per output (each a different
// plane's line).
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/conv/conv_implicit_gemm_kernel.hpp"
#include "kernels/cpu/gemm/gemm_transpose_x86.hpp"

namespace mln::kernels {
namespace {

__m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace

void write_transposed_sums_avx2(const float* sums, int64_t ld, int64_t positions, int64_t rows, const float* bias,
                                const float* residual, float* y) {
    for (int64_t r0 = 0; r0 < rows; r0 += 8) {
        const int64_t block_rows = std::min<int64_t>(8, rows - r0);
        const __m256i row_mask = first_lanes(block_rows);
        const __m256 start = bias != nullptr ? _mm256_maskload_ps(bias + r0, row_mask) : _mm256_setzero_ps();
        for (int64_t q0 = 0; q0 < positions; q0 += 8) {
            const int64_t count = std::min<int64_t>(8, positions - q0);
            __m256 r[8];
            for (int64_t q = 0; q < 8; ++q) {
                r[q] = q < count ? _mm256_add_ps(_mm256_maskload_ps(sums + (q0 + q) * ld + r0, row_mask), start)
                                 : _mm256_setzero_ps();
            }
            transpose8x8(r);
            for (int64_t i = 0; i < block_rows; ++i) {
                float* const out = y + (r0 + i) * positions + q0;
                const float* const add = residual != nullptr ? residual + (r0 + i) * positions + q0 : nullptr;
                if (count == 8) {
                    _mm256_storeu_ps(out, add != nullptr ? _mm256_add_ps(r[i], _mm256_loadu_ps(add)) : r[i]);
                    continue;
                }
                // A row's last few positions one by one: a masked store (vmaskmovps) is slow on AMD.
                alignas(32) float lanes[8];
                _mm256_store_ps(lanes, r[i]);
                for (int64_t q = 0; q < count; ++q) out[q] = add != nullptr ? lanes[q] + add[q] : lanes[q];
            }
        }
    }
}

}  // namespace mln::kernels
