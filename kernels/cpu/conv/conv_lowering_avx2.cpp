// Compiled with AVX2. Pieces of an image row are short (at most one panel, often less than a
// vector), so stride-1 pieces move a vector at a time under a mask (vmaskmov) instead of through a
// vectorized loop with a scalar tail; other strides use the plain loops.
#include <immintrin.h>

#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/conv/conv_lowering.hpp"
#include "kernels/cpu/conv/conv_lowering_body.hpp"

namespace mln::kernels {
namespace {

// Lanes [0, n) of 8 32-bit lanes, for n >= 0.
__m256i first_lanes_32(int64_t n) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(n < 8 ? n : 8)), lanes);
}

// Lanes [0, n) of 4 64-bit lanes, for n >= 0.
__m256i first_lanes_64(int64_t n) {
    const __m256i lanes = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n < 4 ? n : 4), lanes);
}

struct Avx2FloatPieceCopier {
    static void copy(const float* src, int64_t stride, int64_t n, float* dst) {
        if (stride != 1) return LoopPieceCopier<float>::copy(src, stride, n, dst);
        for (int64_t i = 0; i < n; i += 8) {
            const __m256i mask = first_lanes_32(n - i);
            _mm256_maskstore_ps(dst + i, mask, _mm256_maskload_ps(src + i, mask));
        }
    }
    static void zero(int64_t n, float* dst) {
        for (int64_t i = 0; i < n; i += 8) _mm256_maskstore_ps(dst + i, first_lanes_32(n - i), _mm256_setzero_ps());
    }
};

struct Avx2DoublePieceCopier {
    static void copy(const double* src, int64_t stride, int64_t n, double* dst) {
        if (stride != 1) return LoopPieceCopier<double>::copy(src, stride, n, dst);
        for (int64_t i = 0; i < n; i += 4) {
            const __m256i mask = first_lanes_64(n - i);
            _mm256_maskstore_pd(dst + i, mask, _mm256_maskload_pd(src + i, mask));
        }
    }
    static void zero(int64_t n, double* dst) {
        for (int64_t i = 0; i < n; i += 4) _mm256_maskstore_pd(dst + i, first_lanes_64(n - i), _mm256_setzero_pd());
    }
};

}  // namespace

void lower_column_panels_avx2(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                              int64_t cols, int64_t nr, float* packed) {
    lower_column_panels_body<float, Avx2FloatPieceCopier>(x, g, pc, kc, q0, cols, nr, packed);
}
void lower_column_panels_avx2(const double* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                              int64_t cols, int64_t nr, double* packed) {
    lower_column_panels_body<double, Avx2DoublePieceCopier>(x, g, pc, kc, q0, cols, nr, packed);
}

void split_phase_planes_rows_avx2(const float* x, const WindowGeometry& g, int64_t channels, int64_t first_row,
                                  int64_t rows, int64_t plane_stride, float* planes) {
    split_phase_planes_rows_body<Avx2Lanes>(x, g, channels, first_row, rows, plane_stride, planes);
}

}  // namespace mln::kernels
