// 8 x 8 float transposes in AVX registers, for the packers of the AVX2 and AVX-512 files.
// Included only by files compiled with AVX2 flags (or more); the anonymous namespace gives
// each file its own copy, so no AVX-512 instance can stand in for the AVX2 one at link time.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace mln::kernels {
namespace {

inline void transpose8x8(__m256 (&r)[8]) {
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

// Copies the 8 x 8 block at source (row i at source + i * stride) transposed to target (row q
// at target + q * target_stride). Rows i and i + 4 share a register, one 128-bit half each (the
// upper half by an insert that loads), so 4 x 4 transposes within the halves finish it: 8
// shuffles a half against transpose8x8's 24 for the whole. Zen 5, one core, CPU time, min of
// 400-2000 runs under load, against transpose8x8: 256 x 256 B^T into 32-column panels 0.70x;
// A (240 x 256, rows 4-8 KiB apart) into 8-row panels 0.70x. In GEMM (one thread, median of 101
// alternating batches): 256^3 with B transposed 0.99-1.00x, both transposed 0.99x. Not faster
// on Zen 5 (B^T into 32-column panels, in L2): 16 x 16 transposes in zmm registers (64 512-bit
// shuffles per 256 values) 1.15-1.31x the time; each 8-column group down 64 depth steps
// before the next group 1.05-1.10x (0.66x only at depth 2048, 8 KiB rows; GEMM 256^3 NT 0.99x).
inline void transpose8x8_copy(const float* source, int64_t stride, float* target, int64_t target_stride) {
    __m256 low[4];   // columns 0-3 of rows i (lower half) and i + 4 (upper half)
    __m256 high[4];  // columns 4-7 of the same rows
    for (int i = 0; i < 4; ++i) {
        const float* row = source + i * stride;
        const float* row4 = row + 4 * stride;
        low[i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(row)), _mm_loadu_ps(row4), 1);
        high[i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(row + 4)), _mm_loadu_ps(row4 + 4), 1);
    }
    for (int half = 0; half < 2; ++half) {
        const __m256* r = half == 0 ? low : high;
        const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]);
        const __m256 t1 = _mm256_unpackhi_ps(r[0], r[1]);
        const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]);
        const __m256 t3 = _mm256_unpackhi_ps(r[2], r[3]);
        float* out = target + half * 4 * target_stride;
        _mm256_storeu_ps(out, _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)));
        _mm256_storeu_ps(out + target_stride, _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)));
        _mm256_storeu_ps(out + 2 * target_stride, _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)));
        _mm256_storeu_ps(out + 3 * target_stride, _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)));
    }
}

// Packs `columns` (1..NR) columns of B, column j at b + j * col_stride, into depth rows of NR
// values with zeros after the columns. Blocks of 8 depth go through 8 x 8 transposes (a partial
// column group through a zero-padded copy), so every panel row is written whole by vector stores
// instead of one strided scalar store per value.
template <int NR>
void pack_b_columns_transposed(const float* b, int64_t col_stride, int64_t depth, int columns, float* packed) {
    const int full_groups = columns / 8;
    const int partial = columns % 8;
    alignas(32) float partial_lines[8][8] = {};  // lines from `partial` on stay zero
    int64_t p = 0;
    for (; p + 8 <= depth; p += 8) {
        int group = 0;
        for (; group < full_groups; ++group) {
            transpose8x8_copy(b + group * 8 * col_stride + p, col_stride, packed + p * NR + group * 8, NR);
        }
        if (partial != 0) {
            for (int j = 0; j < partial; ++j) {
                _mm256_store_ps(partial_lines[j], _mm256_loadu_ps(b + (group * 8 + j) * col_stride + p));
            }
            transpose8x8_copy(&partial_lines[0][0], 8, packed + p * NR + group * 8, NR);
            ++group;
        }
        for (; group < NR / 8; ++group) {
            for (int q = 0; q < 8; ++q) _mm256_storeu_ps(packed + (p + q) * NR + group * 8, _mm256_setzero_ps());
        }
    }
    for (; p < depth; ++p) {
        for (int j = 0; j < NR; ++j) packed[p * NR + j] = j < columns ? b[j * col_stride + p] : 0.0f;
    }
}

}  // namespace
}  // namespace mln::kernels
