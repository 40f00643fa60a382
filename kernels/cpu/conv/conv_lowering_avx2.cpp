// Compiled with AVX2. Pieces of an image row are short (at most one panel, often less than a
// vector), so stride-1 pieces move a vector at a time under a mask (vmaskmov) instead of through a
// vectorized loop with a scalar tail; other strides use the plain loops.
#include <immintrin.h>

#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/conv/conv_lowering.hpp"
#include "kernels/cpu/conv/conv_lowering_body.hpp"
#include "kernels/cpu/conv/conv_same_size_lowering.hpp"

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
        if (stride == 2) return copy_even(src, n, dst);
        if (stride != 1) return LoopPieceCopier<float>::copy(src, stride, n, dst);
        for (int64_t i = 0; i < n; i += 8) {
            const __m256i mask = first_lanes_32(n - i);
            _mm256_maskstore_ps(dst + i, mask, _mm256_maskload_ps(src + i, mask));
        }
    }
    // Stride 2, 8 outputs a step while 8 remain: the 16 source elements behind them in two loads
    // (the last one masked where it would read past src[2 (n - 1)]), the even ones picked by a
    // shuffle and a 64-bit lane permute; the rest, under 8, by the scalar loop (masked loads and
    // a masked store, slow on AMD, took ResNet-18's 3x3/2 layers 1.05x the time of the loop).
    // The scalar loop alone ran the 7x7/2 stem 1.2x slower where its 20-byte body straddled a
    // 64-byte line (Zen 3); these steps run it 0.88-0.91x of main's time.
    static void copy_even(const float* src, int64_t n, float* dst) {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            const __m256 low = _mm256_loadu_ps(src + 2 * i);
            const __m256 high = i + 8 < n ? _mm256_loadu_ps(src + 2 * i + 8)
                                          : _mm256_maskload_ps(src + 2 * i + 8, first_lanes_32(7));
            // [l0 l2 h0 h2 | l4 l6 h4 h6] -> [l0 l2 l4 l6 | h0 h2 h4 h6]
            const __m256 even = _mm256_shuffle_ps(low, high, 0x88);
            _mm256_storeu_ps(dst + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8)));
        }
        LoopPieceCopier<float>::copy(src + 2 * i, 2, n - i, dst + i);
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

// The lane type of lower_same_size_body (conv_same_size_lowering.hpp): 8 bits a register.
struct Avx2SameSizeLanes {
    static constexpr int64_t width = 8;
    using Bits = uint8_t;
    // Unsigned v < limit as min(v, limit - 1) == v (AVX2 has no unsigned compare): both bounds
    // at once, a negative index being a huge unsigned one.
    static __m256i below(__m256i v, int32_t limit) {
        return _mm256_cmpeq_epi32(_mm256_min_epu32(v, _mm256_set1_epi32(limit - 1)), v);
    }
    static Bits inside(const int32_t* rows, const int32_t* columns, int32_t dh, int32_t dw, int32_t height,
                       int32_t width_limit) {
        const __m256i h =
            _mm256_add_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(rows)), _mm256_set1_epi32(dh));
        const __m256i w =
            _mm256_add_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(columns)), _mm256_set1_epi32(dw));
        const __m256i both = _mm256_and_si256(below(h, height), below(w, width_limit));
        return static_cast<Bits>(_mm256_movemask_ps(_mm256_castsi256_ps(both)));
    }
    static void copy(const float* src, Bits bits, float* dst) {
        const __m256i lane_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        const __m256i mask = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(bits), lane_bits), lane_bits);
        _mm256_storeu_ps(dst, _mm256_maskload_ps(src, mask));
    }
};

}  // namespace

// Same-size images (ResNet's 3x3 stride-1 layers) take the masked-load lowering: rows of 14 or
// 7 outputs are pieces shorter than a register, whose copies through the panel writer cost
// more in control than in data (15% of ResNet-18's layer3 3x3 forward at batch 1, perf). Zen 3,
// one thread, batch 1, whole layers against the piece copier (min, median of 21 rounds):
// layer3 3x3 (14x14) 0.81 / 0.79, layer4 3x3 (7x7) 0.90 / 0.89.
void lower_column_panels_avx2(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                              int64_t cols, int64_t nr, float* packed) {
    if (same_size_lowering_fits(g, cols, nr, Avx2SameSizeLanes::width)) {
        return lower_same_size_body<Avx2SameSizeLanes>(x, g, pc, kc, q0, cols, nr, packed);
    }
    lower_column_panels_body<float, Avx2FloatPieceCopier>(x, g, pc, kc, q0, cols, nr, packed);
}
void lower_column_panels_avx2(const double* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                              int64_t cols, int64_t nr, double* packed) {
    lower_column_panels_body<double, Avx2DoublePieceCopier>(x, g, pc, kc, q0, cols, nr, packed);
}

void split_phase_planes_rows_avx2(const float* x, const WindowGeometry& g, int64_t channels, int64_t first_row,
                                  int64_t rows, int64_t plane_stride, PhasePlaneRows padded, float* planes) {
    split_phase_planes_rows_body<Avx2Lanes>(x, g, channels, first_row, rows, plane_stride, padded, planes);
}

void split_phase_planes_avx2(const float* x, const WindowGeometry& g, int64_t channels, float* planes) {
    split_phase_planes_rows_avx2(x, g, channels, 0, g.out[1], g.out[1] * g.out[2], {g.out[2], 0}, planes);
}

// Zen 3, batch 1, one thread, ResNet-18's 3x3/2 forward against the strided piece copies from
// the image (conv_vs_build, min / median of 21 rounds): from 56x56 0.85-0.91 / 0.83-0.85 (split
// plus lowering 18% of the layer, the piece copies 22%); the 7x7 and 14x14 outputs 0.82-0.89.
void lower_phase_panels_avx2(const float* planes, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                             int64_t cols, int64_t nr, float* packed) {
    static_assert(kMaxPhaseTapsAvx2 <= kMaxSameSizeTaps && kMaxPhaseColumns <= kMaxSameSizeColumns);
    lower_phase_planes_body<Avx2SameSizeLanes>(planes, g, pc, kc, q0, cols, nr, packed);
}

}  // namespace mln::kernels
