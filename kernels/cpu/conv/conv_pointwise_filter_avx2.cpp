// Pointwise backward filter by broadcasts (conv_pointwise_filter.hpp), AVX2 f32: the AVX-512
// file's plain form at 8 lanes. A block of B's positions (x or dy, 9 channels or more) is
// transposed once, 8 x 8 at a time, so that one to four ymm hold 32 of its channels at a
// position (more channels: in groups of 32, each walked by all of A's rows in turn), and every row
// of A is broadcast against them:
//   acc[r] += A(r, p) * Bt(p)      for p along the block
// A tile of 12 accumulators (6 rows x 2 registers, 4 x 3, 3 x 4) stays in registers for the whole
// block; a position costs NB loads of Bt (from L2) and R broadcasts of A (each element read once,
// straight from its row) for 12 FMAs. The dot kernel it replaces (3 x 3 partial sums, 6 loads per
// 9 FMAs, both operands from L2) is bound by L2's bandwidth on Zen 3.
// The driver (slices, threads, blocks) is conv_pointwise_filter.cpp's.
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_pointwise_filter.hpp"
#include "kernels/cpu/gemm/gemm_transpose_x86.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kLanes = 8;
// Accumulators per register tile: 12 of the 16 ymm, the others for Bt and the broadcasts.
constexpr int kTileRegisters = 12;
// Rows of A are fetched this far ahead (a line per row every 16 positions).
constexpr int64_t kLinePositions = 16;
constexpr int64_t kPrefetchPositions = 64;
// Bt's columns in groups of up to 32 (4 registers), each group's positions contiguous.
constexpr int64_t kGroupWidth = 32;

// Columns 32 c .. 32 c + w - 1 of Bt (w = min(32, width - 32 c)) at bt + 32 c * positions, row
// stride w: bt[32 c * positions + p * w + j] = b[(32 c + j) * ldb + p] for p < positions, 0 for
// rows at or past `rows` (width a multiple of 8 lanes).
void transpose_block(const float* b, int64_t ldb, int64_t rows, int64_t width, int64_t positions, float* bt) {
    const int64_t whole = positions / kLanes * kLanes;
    for (int64_t g = 0; g < width / kLanes; ++g) {
        const int64_t group = g * kLanes / kGroupWidth;
        const int64_t group_width = std::min(kGroupWidth, width - group * kGroupWidth);
        float* to = bt + group * kGroupWidth * positions + g * kLanes % kGroupWidth;
        for (int64_t p = 0; p < whole; p += kLanes) {
            __m256 r[8];
            for (int64_t j = 0; j < kLanes; ++j) {
                const int64_t row = g * kLanes + j;
                r[j] = row < rows ? _mm256_loadu_ps(b + row * ldb + p) : _mm256_setzero_ps();
            }
            transpose8x8(r);
            for (int64_t k = 0; k < kLanes; ++k) _mm256_storeu_ps(to + (p + k) * group_width, r[k]);
        }
        for (int64_t p = whole; p < positions; ++p) {
            for (int64_t j = 0; j < kLanes; ++j) {
                const int64_t row = g * kLanes + j;
                to[p * group_width + j] = row < rows ? b[row * ldb + p] : 0.0f;
            }
        }
    }
}

// acc[r * ldc + j] += sum over p < positions of a[r * lda + p] * bt[p * W + j], r < R, j < W =
// 8 NB. The smaller of the two sides stays in registers for the position: Bt's NB registers,
// each row's broadcast then feeding NB FMAs, or (4 registers against 3 rows) the R broadcasts,
// each register of Bt then feeding R FMAs; either way 12 accumulators + 4 or fewer fit in 16.
template <int R, int NB>
void accumulate_tile(const float* a, int64_t lda, const float* bt, int64_t positions, float* acc, int64_t ldc) {
    constexpr int64_t width = NB * kLanes;
    __m256 s[R][NB];
    MLN_UNROLL(12)
    for (int r = 0; r < R; ++r) {
        MLN_UNROLL(4)
        for (int j = 0; j < NB; ++j) s[r][j] = _mm256_loadu_ps(acc + r * ldc + j * kLanes);
    }
    auto position = [&](int64_t q) MLN_LAMBDA_ALWAYS_INLINE {
        if constexpr (NB <= R) {
            __m256 b[NB];
            MLN_UNROLL(4)
            for (int j = 0; j < NB; ++j) b[j] = _mm256_loadu_ps(bt + q * width + j * kLanes);
            MLN_UNROLL(12)
            for (int r = 0; r < R; ++r) {
                const __m256 v = _mm256_broadcast_ss(a + r * lda + q);
                MLN_UNROLL(4)
                for (int j = 0; j < NB; ++j) s[r][j] = _mm256_fmadd_ps(v, b[j], s[r][j]);
            }
        } else {
            __m256 v[R];
            MLN_UNROLL(12)
            for (int r = 0; r < R; ++r) v[r] = _mm256_broadcast_ss(a + r * lda + q);
            MLN_UNROLL(4)
            for (int j = 0; j < NB; ++j) {
                const __m256 b = _mm256_loadu_ps(bt + q * width + j * kLanes);
                MLN_UNROLL(12)
                for (int r = 0; r < R; ++r) s[r][j] = _mm256_fmadd_ps(v[r], b, s[r][j]);
            }
        }
    };
    int64_t p = 0;
    for (; p + kLinePositions <= positions; p += kLinePositions) {
        MLN_UNROLL(12)
        for (int r = 0; r < R; ++r) {
            _mm_prefetch(reinterpret_cast<const char*>(a + r * lda + p + kPrefetchPositions), _MM_HINT_T0);
        }
        MLN_UNROLL(4)
        for (int64_t q = p; q < p + kLinePositions; ++q) position(q);
    }
    for (; p < positions; ++p) position(p);
    MLN_UNROLL(12)
    for (int r = 0; r < R; ++r) {
        MLN_UNROLL(4)
        for (int j = 0; j < NB; ++j) _mm256_storeu_ps(acc + r * ldc + j * kLanes, s[r][j]);
    }
}

// `rows` (1 to R) rows of A as one tile of exactly that many.
template <int NB, int R>
void accumulate_tile_of(const float* a, int64_t lda, int64_t rows, const float* bt, int64_t positions, float* acc,
                        int64_t ldc) {
    if constexpr (R >= 1) {
        if (rows == R) return accumulate_tile<R, NB>(a, lda, bt, positions, acc, ldc);
        accumulate_tile_of<NB, R - 1>(a, lda, rows, bt, positions, acc, ldc);
    }
}

// Rows [0, rows) of A against the block of NB registers per position, in near-equal tiles of at
// most 12 / NB rows (32 rows against 2 registers as 6, 6, 5, 5, 5, 5 rather than 5 x 6 + 2: a
// 2-row tile loads a broadcast per 2 FMAs).
template <int NB>
void accumulate_rows(const float* a, int64_t lda, int64_t rows, const float* bt, int64_t positions, float* acc,
                     int64_t ldc) {
    constexpr int64_t full = kTileRegisters / NB;
    const int64_t tiles = (rows + full - 1) / full;
    int64_t r = 0;
    for (int64_t t = 0; t < tiles; ++t) {
        const int64_t tile_rows = rows / tiles + (t < rows % tiles ? 1 : 0);
        accumulate_tile_of<NB, full>(a + r * lda, lda, tile_rows, bt, positions, acc + r * ldc, ldc);
        r += tile_rows;
    }
}

}  // namespace

void pointwise_filter_broadcast_block_avx2(const float* b, int64_t ldb, int64_t b_rows, int64_t width,
                                           const float* a, int64_t lda, int64_t a_rows, int64_t positions,
                                           float* bt, float* acc) {
    transpose_block(b, ldb, b_rows, width, positions, bt);
    for (int64_t col = 0; col < width; col += kGroupWidth) {
        const float* group = bt + col * positions;
        switch (std::min(kGroupWidth, width - col) / kLanes) {
            case 1: accumulate_rows<1>(a, lda, a_rows, group, positions, acc + col, width); break;
            case 2: accumulate_rows<2>(a, lda, a_rows, group, positions, acc + col, width); break;
            case 3: accumulate_rows<3>(a, lda, a_rows, group, positions, acc + col, width); break;
            default: accumulate_rows<4>(a, lda, a_rows, group, positions, acc + col, width); break;
        }
    }
}

}  // namespace mln::kernels
