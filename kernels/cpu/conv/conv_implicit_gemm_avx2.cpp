// AVX2 pieces of the implicit GEMM's position panels (conv_implicit_gemm.hpp): the transposing
// write of the sums and the flipped-filter packer. Compiled with AVX2 flags: only the exported
// functions leave this file.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_flipped_weights_body.hpp"
#include "kernels/cpu/conv/conv_implicit_gemm_kernel.hpp"
#include "kernels/cpu/gemm/gemm_transpose_x86.hpp"

namespace mln::kernels {
namespace {

__m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// pack_flipped_weights_body's blocks: 16 channels (a whole 16-lane panel row), channel j's K taps
// contiguous at channels + j * K. Columns of 8 taps of 8 channels go through an 8 x 8 transpose,
// the taps past the last whole column (1 of 9) through a gather of 8 each.
struct Avx2FlippedLanes {
    static constexpr int64_t panel_width = kFlippedPanelWidthAvx2;
    static constexpr int64_t channels = 16;
    // Gather indices (lane j at j * K) stay far inside 32 bits.
    static constexpr int64_t max_gathered_stride = int64_t{1} << 24;
    template <class RowOf>
    MLN_ALWAYS_INLINE static void block_taps(const float* block, int64_t K, RowOf&& row_of) {
        const int64_t columns_end = K / 8 * 8;
        const __m256i row_starts =
            _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int>(K)));
        int64_t t = 0;
        for (; t < columns_end; t += 8) {
            __m256 low[8], high[8];
            MLN_UNROLL(8)
            for (int j = 0; j < 8; ++j) {
                low[j] = _mm256_loadu_ps(block + j * K + t);
                high[j] = _mm256_loadu_ps(block + (j + 8) * K + t);
            }
            transpose8x8(low);
            transpose8x8(high);
            MLN_UNROLL(8)
            for (int d = 0; d < 8; ++d) {
                float* const row = row_of(t + d);
                if (row == nullptr) continue;
                _mm256_storeu_ps(row, low[d]);
                _mm256_storeu_ps(row + 8, high[d]);
            }
        }
        for (; t < K; ++t) {
            float* const row = row_of(t);
            if (row == nullptr) continue;
            _mm256_storeu_ps(row, _mm256_i32gather_ps(block + t, row_starts, 4));
            _mm256_storeu_ps(row + 8, _mm256_i32gather_ps(block + 8 * K + t, row_starts, 4));
        }
    }
};

}  // namespace

// The transposing write: the sums, a line of output channels per position, go to y's planes 8
// channels x 8 positions at a time through an 8 x 8 register transpose, in place of a scalar
// store per output (each a different plane's line).
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

void pack_flipped_weights_avx2(const float* w, int64_t m_stride, int64_t kernel_size, int64_t rows, int64_t pc,
                               int64_t kc, float* panel) {
    pack_flipped_weights_body<Avx2FlippedLanes>(w, m_stride, kernel_size, rows, pc, kc, panel);
}

}  // namespace mln::kernels
