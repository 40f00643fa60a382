// Pointwise backward filter by broadcasts (conv_pointwise_filter.hpp), AVX-512 f32: where one
// operand (B: x or dy) has at most 32 channels, a block of its positions is transposed once so
// that a register holds its channels (at one, two or four positions), and every row of the other
// operand (A) is broadcast against it, one, two or four positions at a time:
//   acc[r] += A(r, p..) * Bt(p..)      for p along the block
// Each A element is read once, by a broadcast load straight from its row; a tile of 24
// accumulators stays in registers for the whole block, and Bt is read from L2. The dot kernel
// instead kept 16-lane partial sums per (row, row) pair, 10 vector loads per 24 FMAs from L2 and
// a reduction across the lanes. Broadcasts bound the forms that take one per FMA: in L1, 24 rows
// x 1 register ran at 154 GFLOP/s, 12 x 2 at 214 (1 thread, Zen 5). So B of 25 to 32 channels
// takes two registers per position, of 17 to 24 three registers per pair of positions (8
// channels each), of 9 to 16 three or four registers per quad of positions (4 channels each).
// The driver (slices, threads, blocks) is conv_pointwise_filter.cpp's.
// GCC 12 warns inside its own AVX-512 intrinsics (a self-initialized undefined operand, GCC bug
// 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/transpose_avx512.hpp"
#include "kernels/cpu/conv/conv_pointwise_filter.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kLanes = 16;
// Accumulators per register tile: 24 of the 32 zmm (12 rows against two registers of Bt, 8
// against three, 6 against four), the others for Bt and a broadcast.
constexpr int kTileRows = 24;
// Rows of A (and of B in the transposes) are fetched this far ahead (a line per row every 16
// positions).
constexpr int64_t kPrefetchPositions = 64;

// B's rows in `groups` groups of N at each block of up to 16 positions, for the transposes below:
// block(p, count, g, r) with r[j] = row g N + j at positions [p, p + count), zero past `rows`
// and past the positions (nothing read there). Each row's line kPrefetchPositions ahead is
// fetched as it goes: at batch 32 B comes from memory, and its rows' loads waited on it (Zen 5,
// 2 threads, same-process A/B against main, 5-7 rounds, both ways round: MobileNet-v2's 28x28
// layers 0.88-0.97x the time, 56x56 0.91-0.97x, 112x112 0.93-0.98x; batch 1 even). Fetches
// past the positions (into the next rows) stay: leaving them out took the 7 x 7 layers 1.02-1.04x
// the time at batch 1 (15 rounds, both ways round, 2026-12-08); plain loads for whole blocks of
// 16 positions instead of the masked ones, 1.00-1.08x at batch 32 (one way round).
template <int N, class Block>
MLN_ALWAYS_INLINE void for_each_row_group(const float* b, int64_t ldb, int64_t rows, int64_t groups,
                                          int64_t positions, Block&& block) {
    for (int64_t p = 0; p < positions; p += kLanes) {
        const int64_t count = std::min(kLanes, positions - p);
        const __mmask16 mask = static_cast<__mmask16>((1u << count) - 1);
        for (int64_t g = 0; g < groups; ++g) {
            __m512 r[N];
            for (int64_t j = 0; j < N; ++j) {
                const int64_t row = g * N + j;
                if (row < rows) {
                    _mm_prefetch(reinterpret_cast<const char*>(b + row * ldb + p + kPrefetchPositions), _MM_HINT_T0);
                }
                r[j] = row < rows ? _mm512_maskz_loadu_ps(mask, b + row * ldb + p) : _mm512_setzero_ps();
            }
            block(p, count, g, r);
        }
    }
}

// bt[p * width + j] = b[j * ldb + p] for p < positions, j < rows, 0 for rows <= j < width (a
// multiple of 16 lanes).
void transpose_block(const float* b, int64_t ldb, int64_t rows, int64_t width, int64_t positions, float* bt) {
    for_each_row_group<16>(b, ldb, rows, width / kLanes, positions,
                           [&](int64_t p, int64_t count, int64_t g, __m512 (&r)[16]) MLN_LAMBDA_ALWAYS_INLINE {
                               transpose16x16(r);
                               for (int64_t k = 0; k < count; ++k) {
                                   _mm512_storeu_ps(bt + (p + k) * width + g * kLanes, r[k]);
                               }
                           });
}

// acc[r * W + j] += sum over p < positions of a[r * lda + p] * bt[p * W + j], r < R, j < W =
// 16 NB (each broadcast feeds NB FMAs). The rows' lines are fetched kPrefetchPositions ahead,
// those past the positions from the next tile's rows where next (its first row) is set, so that
// a tile does not start on rows from memory: at batch 32 A comes from there (Zen 5, 2 threads,
// same-process A/B, 5-7 rounds, both ways round: MobileNet-v2 28x28 layers 0.91-0.98x the time,
// 56x56 (pairs) 0.93-0.99x, 16->96 @ 112 (quads) 0.93-0.98x; batch 1 even).
template <int R, int NB>
void accumulate_tile(const float* a, int64_t lda, const float* bt, int64_t positions, float* acc, const float* next) {
    constexpr int64_t width = NB * kLanes;
    __m512 s[R][NB];
    MLN_UNROLL(32)
    for (int r = 0; r < R; ++r) {
        MLN_UNROLL(2)
        for (int j = 0; j < NB; ++j) s[r][j] = _mm512_loadu_ps(acc + r * width + j * kLanes);
    }
    auto position = [&](int64_t q) {
        __m512 b[NB];
        MLN_UNROLL(2)
        for (int j = 0; j < NB; ++j) b[j] = _mm512_loadu_ps(bt + q * width + j * kLanes);
        MLN_UNROLL(32)
        for (int r = 0; r < R; ++r) {
            const __m512 v = _mm512_set1_ps(a[r * lda + q]);
            MLN_UNROLL(2)
            for (int j = 0; j < NB; ++j) s[r][j] = _mm512_fmadd_ps(v, b[j], s[r][j]);
        }
    };
    int64_t p = 0;
    for (; p + kLanes <= positions; p += kLanes) {
        const int64_t ahead = p + kPrefetchPositions;
        const float* fetch = ahead < positions || next == nullptr ? a + ahead : next + (ahead - positions);
        MLN_UNROLL(32)
        for (int r = 0; r < R; ++r) {
            _mm_prefetch(reinterpret_cast<const char*>(fetch + r * lda), _MM_HINT_T0);
        }
        for (int64_t q = p; q < p + kLanes; ++q) position(q);
    }
    for (; p < positions; ++p) position(p);
    MLN_UNROLL(32)
    for (int r = 0; r < R; ++r) {
        MLN_UNROLL(2)
        for (int j = 0; j < NB; ++j) _mm512_storeu_ps(acc + r * width + j * kLanes, s[r][j]);
    }
}

// Rows [0, rows) of A against the block of NB registers per position: full tiles of
// kTileRows / NB rows (24 accumulators), the last cut into 8, 4, 2, 1 rows.
template <int NB>
void accumulate_rows(const float* a, int64_t lda, int64_t rows, const float* bt, int64_t positions, float* acc) {
    constexpr int full = kTileRows / NB;
    constexpr int64_t width = NB * kLanes;
    auto next = [&](int64_t r) { return r < rows ? a + r * lda : nullptr; };
    int64_t r = 0;
    for (; r + full <= rows; r += full) {
        accumulate_tile<full, NB>(a + r * lda, lda, bt, positions, acc + r * width, next(r + full));
    }
    for (; r + 8 <= rows; r += 8) accumulate_tile<8, NB>(a + r * lda, lda, bt, positions, acc + r * width, next(r + 8));
    for (; r + 4 <= rows; r += 4) accumulate_tile<4, NB>(a + r * lda, lda, bt, positions, acc + r * width, next(r + 4));
    for (; r + 2 <= rows; r += 2) accumulate_tile<2, NB>(a + r * lda, lda, bt, positions, acc + r * width, next(r + 2));
    for (; r < rows; ++r) accumulate_tile<1, NB>(a + r * lda, lda, bt, positions, acc + r * width, next(r + 1));
}

// The pair form, for B of 17 to 24 channels (the two-register form would leave 8 of its 32
// lanes zero): a register holds 8 channels at 2 positions (lane 2 jj + pp: channel 8 h + jj at
// position 2 q + pp), three of them cover the 24 channels at a pair of positions, and each row
// of A is broadcast a pair of positions at a time (a 64-bit broadcast: A(r, 2q), A(r, 2q + 1)
// alternating). Three FMAs per row and pair where the two-register form took four.
// (1 thread, A/B in one process, fastest calls: MobileNet-v2 24->144, 144->24 and 96->24 at 56x56,
// batch 1, 0.74-0.76x the time; the same form for B of 16 channels took 1.45-1.6x, of 32 0.99x.)
constexpr int kPairRegisters = 3;
constexpr int64_t kPairWidth = kPairRegisters * kLanes;  // floats of Bt per pair of positions

// The 8 x 8 block of 64-bit elements of r transposed in place (element q of r[j] becomes
// element j of r[q]).
inline void transpose8x8_pd(__m512d r[8]) {
    __m512d t[8];
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    __m512d u[8];
    for (int h = 0; h < 2; ++h) {
        u[4 * h] = _mm512_shuffle_f64x2(t[4 * h], t[4 * h + 2], 0x88);
        u[4 * h + 1] = _mm512_shuffle_f64x2(t[4 * h + 1], t[4 * h + 3], 0x88);
        u[4 * h + 2] = _mm512_shuffle_f64x2(t[4 * h], t[4 * h + 2], 0xDD);
        u[4 * h + 3] = _mm512_shuffle_f64x2(t[4 * h + 1], t[4 * h + 3], 0xDD);
    }
    for (int i = 0; i < 4; ++i) {
        r[i] = _mm512_shuffle_f64x2(u[i], u[4 + i], 0x88);
        r[4 + i] = _mm512_shuffle_f64x2(u[i], u[4 + i], 0xDD);
    }
}

// bt[q * kPairWidth + 16 h + 2 jj + pp] = b[(8 h + jj) * ldb + 2 q + pp] for positions 2 q + pp
// below `positions`, 0 past them and for rows at or past `rows` (at most 24).
void transpose_pairs(const float* b, int64_t ldb, int64_t rows, int64_t positions, float* bt) {
    for_each_row_group<8>(b, ldb, rows, kPairRegisters, positions,
                          [&](int64_t p, int64_t count, int64_t h, __m512 (&rows8)[8]) MLN_LAMBDA_ALWAYS_INLINE {
                              __m512d r[8];
                              for (int j = 0; j < 8; ++j) r[j] = _mm512_castps_pd(rows8[j]);
                              transpose8x8_pd(r);
                              for (int64_t q = 0; q < (count + 1) / 2; ++q) {
                                  _mm512_storeu_ps(bt + (p / 2 + q) * kPairWidth + 16 * h, _mm512_castpd_ps(r[q]));
                              }
                          });
}

// The positions of rows [0, R) of A in groups of kGroup: group(g, whole) for each whole group g,
// the rows' next lines fetched kPrefetch positions ahead once a line (16 positions), then
// group(g, tail) for a last partial group (tail reads only its positions). line(p, count) comes
// before the groups of positions [p, p + count): a line, then the rest after the last line.
// Where next is set (the next tile's first row, A's row stride), the fetches run on past the
// positions into the next tile's rows, as accumulate_tile's.
template <int R, int64_t kGroup, int64_t kPrefetch, class Group, class Whole, class Tail, class Line>
MLN_ALWAYS_INLINE void walk_position_groups(const float* a, int64_t lda, int64_t positions, Group& group,
                                            const Whole& whole, const Tail& tail, const Line& line,
                                            const float* next = nullptr) {
    constexpr int64_t kGroupsPerLine = kLanes / kGroup;
    const int64_t groups = positions / kGroup;
    int64_t g = 0;
    for (; g + kGroupsPerLine <= groups; g += kGroupsPerLine) {
        const int64_t ahead = kGroup * g + kPrefetch;
        const float* fetch = ahead < positions || next == nullptr ? a + ahead : next + (ahead - positions);
        MLN_UNROLL(8)
        for (int r = 0; r < R; ++r) {
            _mm_prefetch(reinterpret_cast<const char*>(fetch + r * lda), _MM_HINT_T0);
        }
        line(kGroup * g, kLanes);
        for (int64_t k = g; k < g + kGroupsPerLine; ++k) group(k, whole);
    }
    if (kGroup * g < positions) line(kGroup * g, positions - kGroup * g);
    for (; g < groups; ++g) group(g, whole);
    if (positions % kGroup != 0) group(groups, tail);
}

// acc[r * 32 + 8 h + jj] += the sum over positions p of a[r * lda + p] * b[(8 h + jj) * ldb + p]
// for r < R, from Bt in pairs (transpose_pairs); the tile's sums start at zero and are added to
// acc once, the two lanes of each channel folded.
template <int R>
void accumulate_pair_tile(const float* a, int64_t lda, const float* bt, int64_t positions, float* acc,
                          const float* next) {
    __m512 s[R][kPairRegisters];
    MLN_UNROLL(8)
    for (int r = 0; r < R; ++r) {
        for (int h = 0; h < kPairRegisters; ++h) s[r][h] = _mm512_setzero_ps();
    }
    auto pair = [&](int64_t q, auto broadcast) {
        __m512 b[kPairRegisters];
        for (int h = 0; h < kPairRegisters; ++h) b[h] = _mm512_loadu_ps(bt + q * kPairWidth + 16 * h);
        MLN_UNROLL(8)
        for (int r = 0; r < R; ++r) {
            const __m512 v = broadcast(a + r * lda + 2 * q);
            for (int h = 0; h < kPairRegisters; ++h) s[r][h] = _mm512_fmadd_ps(v, b[h], s[r][h]);
        }
    };
    auto pair_of = [](const float (&two)[2]) {
        double bits;
        std::memcpy(&bits, two, sizeof(bits));
        return _mm512_castpd_ps(_mm512_set1_pd(bits));
    };
    auto both = [&](const float* x) { return pair_of({x[0], x[1]}); };
    // A lone last position, paired with zero (not read past the row; and an infinite A times
    // the zero lanes of Bt would add NaN to its channels).
    auto first = [&](const float* x) { return pair_of({x[0], 0.0f}); };
    walk_position_groups<R, 2, kPrefetchPositions>(a, lda, positions, pair, both, first, [](int64_t, int64_t) {},
                                                   next);
    // Lane 2 jj + lane 2 jj + 1 into lane jj of the low 8.
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
    MLN_UNROLL(8)
    for (int r = 0; r < R; ++r) {
        for (int h = 0; h < kPairRegisters; ++h) {
            const __m512 folded = _mm512_add_ps(s[r][h], _mm512_permute_ps(s[r][h], 0xB1));
            const __m256 sums = _mm512_castps512_ps256(_mm512_permutexvar_ps(evens, folded));
            float* to = acc + r * 2 * kLanes + 8 * h;
            _mm256_storeu_ps(to, _mm256_add_ps(_mm256_loadu_ps(to), sums));
        }
    }
}

// Rows [0, rows) of A against Bt in pairs: tiles of 8 rows (24 accumulators), then 4, 2, 1.
void accumulate_pair_rows(const float* a, int64_t lda, int64_t rows, const float* bt, int64_t positions, float* acc) {
    constexpr int full = kTileRows / kPairRegisters;
    constexpr int64_t width = 2 * kLanes;  // of acc
    auto next = [&](int64_t r) { return r < rows ? a + r * lda : nullptr; };
    int64_t r = 0;
    for (; r + full <= rows; r += full) {
        accumulate_pair_tile<full>(a + r * lda, lda, bt, positions, acc + r * width, next(r + full));
    }
    for (; r + 4 <= rows; r += 4) accumulate_pair_tile<4>(a + r * lda, lda, bt, positions, acc + r * width, next(r + 4));
    for (; r + 2 <= rows; r += 2) accumulate_pair_tile<2>(a + r * lda, lda, bt, positions, acc + r * width, next(r + 2));
    for (; r < rows; ++r) accumulate_pair_tile<1>(a + r * lda, lda, bt, positions, acc + r * width, next(r + 1));
}

// The quad form, for B of 9 to 16 channels: a register holds 4 channels at 4 positions (lane
// 4 jj + pp: channel 4 h + jj at position 4 q + pp), NH = 3 or 4 of them cover the channels at a
// quad of positions, and each row of A is broadcast a quad of positions at a time (a 128-bit
// broadcast load) into NH FMAs: a tile of 24 / NH rows takes NH loads of Bt and 24 / NH
// broadcasts per 24 FMAs. The form it replaced, one register of 16 channels per position
// against 24 rows, took a broadcast per FMA (1 thread, A/B in one process, fastest calls,
// loaded machine, batch 1: MobileNet-v2 16->96 at 112x112 0.84-0.86x the time, 2 threads 0.81x;
// 32->16 0.88x; 12->72 at 56x56 0.66x; 16->96 at 56x56 batch 8 0.84x, at 28x28 batch 32 0.85x).
// Its rows are fetched further ahead than the other forms' (fewer rows per tile, each read
// faster): from DRAM (16->96 at 112x112, batch 32) 256 positions took 0.91x the time of 64
// and matched the one-register form; 128 the same, 512 1.05x. (Lost, 2026-12-08, batch 32, 2
// threads: into L2 (prefetcht1) at 256, or at 512 with a prefetcht0 at 64: 1.01-1.08x the time.)
constexpr int64_t kQuadPrefetchPositions = 256;
template <int NH>
constexpr int64_t kQuadWidth = NH * kLanes;  // floats of Bt per quad of positions

// bt[q * NH * 16 + 16 h + 4 jj + pp] = b[(4 h + jj) * ldb + 4 q + pp] for positions 4 q + pp
// below `positions`, 0 past them and for rows at or past `rows` (at most 4 NH): a 4 x 4
// transpose of 128-bit pieces of 4 rows.
template <int NH>
void transpose_quads(const float* b, int64_t ldb, int64_t rows, int64_t positions, float* bt) {
    auto store_quads = [&](int64_t p, int64_t count, int64_t h, __m512 (&r)[4]) MLN_LAMBDA_ALWAYS_INLINE {
        const __m512 low01 = _mm512_shuffle_f32x4(r[0], r[1], 0x44);
        const __m512 high01 = _mm512_shuffle_f32x4(r[0], r[1], 0xEE);
        const __m512 low23 = _mm512_shuffle_f32x4(r[2], r[3], 0x44);
        const __m512 high23 = _mm512_shuffle_f32x4(r[2], r[3], 0xEE);
        const __m512 quads[4] = {_mm512_shuffle_f32x4(low01, low23, 0x88), _mm512_shuffle_f32x4(low01, low23, 0xDD),
                                 _mm512_shuffle_f32x4(high01, high23, 0x88),
                                 _mm512_shuffle_f32x4(high01, high23, 0xDD)};
        for (int64_t q = 0; q < (count + 3) / 4; ++q) {
            _mm512_storeu_ps(bt + (p / 4 + q) * kQuadWidth<NH> + 16 * h, quads[q]);
        }
    };
    for_each_row_group<4>(b, ldb, rows, NH, positions, store_quads);
}

// acc[r * 16 + 4 h + jj] += the sum over positions p of a[r * lda + p] * b[(4 h + jj) * ldb + p]
// for r < R, from Bt in quads (transpose_quads); the tile's sums start at zero and are added to
// acc once, the four lanes of each channel folded. kTransposes: the tile writes Bt itself from
// B's b_rows rows, a line of positions just before it reads them (the block's first tile), so
// that the transpose's loads and stores overlap the tile's FMAs. On its own the transpose was a
// fifth of MobileNet-v2's 32->16 at 112x112, batch 1, 1 thread; fused, A/B in one process,
// fastest of 15-21 alternating batches, loaded machine: 0.96-0.99x the time (16->96 0.97-1.04x).
template <int R, int NH, bool kTransposes>
void accumulate_quad_tile(const float* a, int64_t lda, float* bt, int64_t positions, float* acc, const float* b,
                          int64_t ldb, int64_t b_rows, const float* next) {
    __m512 s[R][NH];
    MLN_UNROLL(8)
    for (int r = 0; r < R; ++r) {
        MLN_UNROLL(4)
        for (int h = 0; h < NH; ++h) s[r][h] = _mm512_setzero_ps();
    }
    auto quad = [&](int64_t q, auto broadcast) {
        __m512 b[NH];
        MLN_UNROLL(4)
        for (int h = 0; h < NH; ++h) b[h] = _mm512_loadu_ps(bt + q * kQuadWidth<NH> + 16 * h);
        MLN_UNROLL(8)
        for (int r = 0; r < R; ++r) {
            const __m512 v = _mm512_broadcast_f32x4(broadcast(a + r * lda + 4 * q));
            MLN_UNROLL(4)
            for (int h = 0; h < NH; ++h) s[r][h] = _mm512_fmadd_ps(v, b[h], s[r][h]);
        }
    };
    auto whole = [](const float* x) { return _mm_loadu_ps(x); };
    // The last 1 to 3 positions, the rest of their quad zero (not read past the row; and an
    // infinite A times the zero lanes of Bt would add NaN to its channels).
    const __mmask8 tail = static_cast<__mmask8>((1u << (positions % 4)) - 1);
    auto partial = [&](const float* x) { return _mm_maskz_loadu_ps(tail, x); };
    auto line = [&](int64_t p, int64_t count) MLN_LAMBDA_ALWAYS_INLINE {
        if constexpr (kTransposes) transpose_quads<NH>(b + p, ldb, b_rows, count, bt + p / 4 * kQuadWidth<NH>);
    };
    walk_position_groups<R, 4, kQuadPrefetchPositions>(a, lda, positions, quad, whole, partial, line, next);
    // Lanes 4 jj to 4 jj + 3 into lane jj of the low 4.
    const __m512i firsts = _mm512_setr_epi32(0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12);
    MLN_UNROLL(8)
    for (int r = 0; r < R; ++r) {
        MLN_UNROLL(4)
        for (int h = 0; h < NH; ++h) {
            const __m512 pairs = _mm512_add_ps(s[r][h], _mm512_permute_ps(s[r][h], 0xB1));
            const __m512 folded = _mm512_add_ps(pairs, _mm512_permute_ps(pairs, 0x4E));
            const __m128 sums = _mm512_castps512_ps128(_mm512_permutexvar_ps(firsts, folded));
            float* to = acc + r * kLanes + 4 * h;
            _mm_storeu_ps(to, _mm_add_ps(_mm_loadu_ps(to), sums));
        }
    }
}

// A tile of `rows` (1 to R) rows of A against Bt in quads (accumulate_quad_tile).
template <int NH, bool kTransposes, int R = kTileRows / NH>
void accumulate_quad_tile_of(int64_t rows, const float* a, int64_t lda, float* bt, int64_t positions, float* acc,
                             const float* b, int64_t ldb, int64_t b_rows, const float* next) {
    if constexpr (R > 1) {
        if (rows < R) {
            return accumulate_quad_tile_of<NH, kTransposes, R - 1>(rows, a, lda, bt, positions, acc, b, ldb, b_rows,
                                                                   next);
        }
    }
    accumulate_quad_tile<R, NH, kTransposes>(a, lda, bt, positions, acc, b, ldb, b_rows, next);
}

// Rows [0, rows) of A against Bt in quads, in as few tiles of at most 24 / NH rows (24
// accumulators) as hold them, of near-equal rows: 32 rows as 5 + 5 + 6 + 5 + 5 + 6 rather than
// 5 x 6 + 2, whose last tile loads Bt for every 2 broadcasts (MobileNet-v2 32->16 and 16->32 at
// 112x112, batch 1, 1 and 2 threads, A/B in one process: 0.95x the time; 16->96 unchanged).
// The first tile transposes B's b_rows rows into Bt as it goes; the others read Bt.
template <int NH>
void accumulate_quad_rows(const float* a, int64_t lda, int64_t rows, float* bt, int64_t positions, float* acc,
                          const float* b, int64_t ldb, int64_t b_rows) {
    constexpr int64_t full = kTileRows / NH;
    const int64_t tiles = (rows + full - 1) / full;
    for (int64_t t = 0; t < tiles; ++t) {
        const int64_t r = rows * t / tiles;
        const int64_t tile_rows = rows * (t + 1) / tiles - r;
        const float* next = t + 1 < tiles ? a + (r + tile_rows) * lda : nullptr;
        if (t == 0) {
            accumulate_quad_tile_of<NH, true>(tile_rows, a, lda, bt, positions, acc, b, ldb, b_rows, next);
        } else {
            accumulate_quad_tile_of<NH, false>(tile_rows, a + r * lda, lda, bt, positions, acc + r * kLanes, b, ldb,
                                               b_rows, next);
        }
    }
}

// The images tile's rows and B panel width (pointwise_filter_images_tile_avx512). Tiles of 12
// rows (24 accumulators, 14 loads per 24 FMAs rather than 10 per 16) measured even (Zen 5, batch
// 1, 1 thread, same-process A/B): MobileNet-v2 14x14 and 7x7 0.97-1.01x the time (sum 0.99x),
// ResNet-18's 1x1/2 0.99-1.00x; the tile already runs at about the GEMM's rate (~95 of 105 GMAC/s).
constexpr int kImagesTileRows = 8;
constexpr int kImagesTileVectors = 2;

// FetchAhead: next_a is set. A template argument, not a test of next_a in the step loop: that test
// cost MobileNet-v2's 7 x 7 backward filters 1-2% at batch 1, fetch off (1.03-1.04x main's time
// one way round, 1.00x the other; as a template argument even both ways round, 2026-12-07).
template <int Rows, bool FetchAhead>
void images_tile(const float* a, int64_t lda, int64_t a_image_stride, const float* b, int64_t images,
                 int64_t positions, float* c, int64_t ldc, int cols, bool first, const float* next_a) {
    __m512 acc[Rows][kImagesTileVectors];
    MLN_UNROLL(16)
    for (int i = 0; i < Rows; ++i) {
        for (int v = 0; v < kImagesTileVectors; ++v) acc[i][v] = _mm512_setzero_ps();
    }
    for (int64_t n = 0; n < images; ++n) {
        const float* a_step = a + n * a_image_stride;
        for (int64_t p = 0; p < positions; ++p) {
            if (FetchAhead && p % kLanes == 0) {
                // The next tile's rows of A, a line per row every 16 positions (as fast as they are
                // read). Lost: the positions in blocks of 16 for it (inner loops of 16 and 1 at 7 x 7:
                // batch 1, 1 thread, 7 x 7 layers 1.05-1.10x main's time without the fetch).
                const float* ahead = next_a + n * a_image_stride + p;
                MLN_UNROLL(16)
                for (int i = 0; i < kImagesTileRows; ++i) {
                    _mm_prefetch(reinterpret_cast<const char*>(ahead + i * lda), _MM_HINT_T0);
                }
            }
            // B's panel is read once per tile from L2: a line ahead per step, as the GEMM's kernel.
            // (Without it, 2026-12-08, batch 1, 1 thread, 15 rounds both ways round: 7 x 7 layers,
            // whose panel stays in L1, 0.98-1.01x / 1.03x the time: no consistent gain.)
            _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kImagesTileVectors * kLanes), _MM_HINT_T0);
            const __m512 b0 = _mm512_loadu_ps(b);
            const __m512 b1 = _mm512_loadu_ps(b + kLanes);
            MLN_UNROLL(16)
            for (int i = 0; i < Rows; ++i) {
                const __m512 x = _mm512_set1_ps(a_step[i * lda]);
                acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
            }
            ++a_step;
            b += kImagesTileVectors * kLanes;
        }
    }
    // (Lost, 2026-12-07: the tile's lines of c fetched at the start of its last image, where not
    // `first`: batch 32, 2 threads 0.96-1.02x the time, batch 1 7 x 7 1.01-1.03x; one way round.)
    // The columns in the tile: `cols` of the 32 lanes, low register first.
    auto lanes_of = [](int count) {
        return static_cast<__mmask16>(count >= kLanes ? 0xFFFF : count > 0 ? (1u << count) - 1 : 0);
    };
    const __mmask16 low = lanes_of(cols);
    const __mmask16 high = lanes_of(cols - kLanes);
    MLN_UNROLL(16)
    for (int i = 0; i < Rows; ++i) {
        float* row = c + i * ldc;
        if (!first) {
            acc[i][0] = _mm512_add_ps(_mm512_maskz_loadu_ps(low, row), acc[i][0]);
            acc[i][1] = _mm512_add_ps(_mm512_maskz_loadu_ps(high, row + kLanes), acc[i][1]);
        }
        _mm512_mask_storeu_ps(row, low, acc[i][0]);
        _mm512_mask_storeu_ps(row + kLanes, high, acc[i][1]);
    }
}

using ImagesTile = void (*)(const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*, int64_t, int,
                            bool, const float*);
template <bool FetchAhead>
constexpr ImagesTile kImagesTiles[kImagesTileRows] = {
    images_tile<1, FetchAhead>, images_tile<2, FetchAhead>, images_tile<3, FetchAhead>, images_tile<4, FetchAhead>,
    images_tile<5, FetchAhead>, images_tile<6, FetchAhead>, images_tile<7, FetchAhead>, images_tile<8, FetchAhead>};

// The two masked loads of a stride-2 piece of `outputs` (1 to 16) outputs: its 2 outputs - 1
// inputs over two registers.
struct Stride2PieceMasks {
    __mmask16 low, high;
};

Stride2PieceMasks stride2_piece_masks(int64_t outputs) {
    const int64_t inputs = 2 * outputs - 1;
    return {static_cast<__mmask16>((1u << std::min(inputs, kLanes)) - 1),
            static_cast<__mmask16>(inputs > kLanes ? (1u << (inputs - kLanes)) - 1 : 0)};
}

// 16 outputs of a stride-2 row from x at `at` (inputs 0, 2, ..., 30): two loads and a permute.
// whole: both registers' 32 inputs lie inside x; otherwise only the piece's inputs are read
// (masks), the outputs past it 0.
MLN_ALWAYS_INLINE __m512 stride2_piece(const float* at, bool whole, Stride2PieceMasks masks) {
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    if (whole) return _mm512_permutex2var_ps(_mm512_loadu_ps(at), evens, _mm512_loadu_ps(at + kLanes));
    return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(masks.low, at), evens,
                                  _mm512_maskz_loadu_ps(masks.high, at + kLanes));
}

}  // namespace

void pointwise_filter_images_tile_avx512(const float* a, int64_t lda, int64_t a_image_stride, int64_t rows,
                                         const float* b, int64_t images, int64_t positions, float* c, int64_t ldc,
                                         int64_t cols, bool first, const float* next_a) {
    const ImagesTile tile = next_a != nullptr ? kImagesTiles<true>[rows - 1] : kImagesTiles<false>[rows - 1];
    tile(a, lda, a_image_stride, b, images, positions, c, ldc, static_cast<int>(cols), first, next_a);
}

void pointwise_filter_images_panel_avx512(const float* b, int64_t ldb, int64_t cols, int64_t positions,
                                          float* panel) {
    transpose_block(b, ldb, cols, kImagesTileMaxCols, positions, panel);
}

// The panel gather fetches each piece's lines this many gathered rows ahead: from memory
// (ResNet-18's 64->128 1x1/2 at batch 32, 1 thread) it took 1.055x the time of the compact
// gather and packing without, 1.01x with 2 rows, 1.02x with 4.
constexpr int64_t kPanelGatherPrefetchRows = 2;

void pointwise_filter_images_panel_stride2_avx512(const float* x, int64_t channel_stride, int64_t cols, int64_t rows,
                                                  int64_t row_step, int64_t count, int64_t x_floats, float* panel) {
    for (int64_t o = 0; o < rows; ++o) {
        for (int64_t w = 0; w < count; w += kLanes) {
            const int64_t outputs = std::min(kLanes, count - w);
            const Stride2PieceMasks masks = stride2_piece_masks(outputs);
            float* to = panel + (o * count + w) * kImagesTileMaxCols;
            for (int64_t h = 0; h < kImagesTileMaxCols; h += kLanes) {
                __m512 r[kLanes];
                for (int64_t j = 0; j < kLanes; ++j) {
                    if (h + j >= cols) {
                        r[j] = _mm512_setzero_ps();
                        continue;
                    }
                    const int64_t at = (h + j) * channel_stride + o * row_step + 2 * w;
                    const float* ahead = x + at + kPanelGatherPrefetchRows * row_step;
                    _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
                    _mm_prefetch(reinterpret_cast<const char*>(ahead + kLanes), _MM_HINT_T0);
                    r[j] = stride2_piece(x + at, at + 2 * kLanes <= x_floats, masks);
                }
                transpose16x16(r);
                for (int64_t k = 0; k < outputs; ++k) _mm512_storeu_ps(to + k * kImagesTileMaxCols + h, r[k]);
            }
        }
    }
}

void pointwise_filter_broadcast_block_avx512(const float* b, int64_t ldb, int64_t b_rows, int64_t width,
                                             const float* a, int64_t lda, int64_t a_rows, int64_t positions,
                                             float* bt, float* acc) {
    if (b_rows > kLanes && b_rows <= kPairRegisters * 8) {
        transpose_pairs(b, ldb, b_rows, positions, bt);
        accumulate_pair_rows(a, lda, a_rows, bt, positions, acc);
        return;
    }
    if (b_rows <= 12) {
        accumulate_quad_rows<3>(a, lda, a_rows, bt, positions, acc, b, ldb, b_rows);
        return;
    }
    if (b_rows <= kLanes) {
        accumulate_quad_rows<4>(a, lda, a_rows, bt, positions, acc, b, ldb, b_rows);
        return;
    }
    // (Lost, 2026-12-08: the first tile transposing B 16 positions before it reads them, as the
    // quad form's: MobileNet-v2 32->192 @ 28, batch 32, 2 threads 1.02-1.06x the time both ways
    // round, B's loads from memory then stalling the tile; batch 1 even.)
    transpose_block(b, ldb, b_rows, width, positions, bt);
    accumulate_rows<2>(a, lda, a_rows, bt, positions, acc);
}

// Rows are gathered channel after channel, but row by row across the channels where the inputs
// skipped between two gathered rows (odd rows of a 2-d layer) span at least this many floats
// (2 cache lines): walking one channel's rows in order, the hardware prefetcher also fetched the
// skipped lines. ResNet-18's 64->128 1x1/2 (x 56x56: 56 floats skipped), A/B in one process
// against channel after channel: batch 32 0.89-0.92x the time on 1 thread, 0.84-0.94x on 2;
// batch 1 even. Across the channels 128->256 (28 skipped) was about even, 256->512 (14) 1.05x.
// Lost, 2026-12-07: each row's lines of the row gathered next in its channel prefetched (into L1;
// kPanelGatherPrefetchRows ahead where not interleaved): batch 1, 1 thread, ResNet-18's 1x1/2
// forward 1.00-1.06x the time (sum 1.02x), backward filter 0.99-1.03x (one way round).
constexpr int64_t kInterleavedMinSkip = 32;

void gather_stride2_rows_avx512(const float* x, int64_t channels, int64_t channel_stride, int64_t rows,
                                int64_t row_step, int64_t count, float* compact) {
    // Pieces of 16 outputs from 32 inputs; all but the last lie inside the row. The last piece's
    // loads and store are whole registers too while they stay inside x and compact (its extra
    // outputs are overwritten by the next row's): masked loads that cross a cache line were slow
    // (from memory, 14-float rows of ResNet-18's 256->512 1x1/2 at batch 32, 1 thread: 2.4x the
    // gather's time), so only a row at the end of either takes the masks.
    const int64_t pieces = ceil_div(count, kLanes);
    const int64_t last = (pieces - 1) * kLanes;  // first output of the last piece
    const Stride2PieceMasks last_masks = stride2_piece_masks(count - last);
    const __mmask16 outputs = static_cast<__mmask16>((1u << (count - last)) - 1);
    const int64_t x_size = channels * channel_stride;
    const int64_t compact_size = channels * rows * count;
    // Row (c, o): the last piece's extra outputs land on rows gathered later, so whole only
    // before `written_to` (the end of compact, or of channel c's rows where the channels are
    // interleaved: channel c + 1's first row is then already written).
    auto gather_row = [&](int64_t c, int64_t o, int64_t written_to) MLN_LAMBDA_ALWAYS_INLINE {
        const int64_t row = c * channel_stride + o * row_step;
        const int64_t row_out = (c * rows + o) * count;
        for (int64_t k = 0; k < last; k += kLanes) {
            _mm512_storeu_ps(compact + row_out + k, stride2_piece(x + row + 2 * k, true, last_masks));
        }
        const float* at = x + row + 2 * last;
        float* to = compact + row_out + last;
        if (row + 2 * last + 2 * kLanes <= x_size && row_out + last + kLanes <= written_to) {
            _mm512_storeu_ps(to, stride2_piece(at, true, last_masks));
        } else {
            _mm512_mask_storeu_ps(to, outputs, stride2_piece(at, false, last_masks));
        }
    };
    if (row_step - 2 * count >= kInterleavedMinSkip) {
        for (int64_t o = 0; o < rows; ++o) {
            for (int64_t c = 0; c < channels; ++c) gather_row(c, o, (c + 1) * rows * count);
        }
        return;
    }
    for (int64_t c = 0; c < channels; ++c) {
        for (int64_t o = 0; o < rows; ++o) gather_row(c, o, compact_size);
    }
}

void gather_stride2_columns_avx512(const float* x, int64_t depth, int64_t channel_stride, int64_t row_step,
                                   int64_t count, int64_t q0, int64_t n, float* to, int64_t to_stride) {
    const int64_t x_floats = depth * channel_stride;
    const int64_t first_row = q0 / count, first_w = q0 % count;
    const int64_t end = (depth - 1) * to_stride + n;
    // Channel k's run of outputs [j, j + run) from row o, column w on, whole stores inside `limit`
    // (of channel k's row of `to`): the extra outputs land where later runs write. kPrefetch:
    // each piece's inputs a row further on (the channel's next row) fetched into L1.
    auto gather_run = [&]<bool kPrefetch>(int64_t k, int64_t o, int64_t w, int64_t j, int64_t run,
                                          int64_t limit) MLN_LAMBDA_ALWAYS_INLINE {
        float* out = to + k * to_stride;
        const int64_t row = k * channel_stride + o * row_step + 2 * w;
        for (int64_t piece = 0; piece < run; piece += kLanes) {
            const int64_t outputs = std::min(kLanes, run - piece);
            const int64_t at = row + 2 * piece;
            if constexpr (kPrefetch) {
                if (at + row_step < x_floats) {
                    const float* ahead = x + at + row_step;
                    _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
                    _mm_prefetch(reinterpret_cast<const char*>(ahead + kLanes), _MM_HINT_T0);
                }
            }
            // Whole loads inside x, as the row gather's. Lost: a run's last piece masked where
            // its whole loads reach a line past its inputs (batch 32, 2 threads: 7-output rows
            // 1.13-1.20x the time, 28-output rows even).
            const __m512 v = stride2_piece(x + at, at + 2 * kLanes <= x_floats, stride2_piece_masks(outputs));
            if (j + piece + kLanes <= limit) {
                _mm512_storeu_ps(out + j + piece, v);
            } else {
                _mm512_mask_storeu_ps(out + j + piece, static_cast<__mmask16>((1u << outputs) - 1), v);
            }
        }
    };
    // Where the skipped rows span kInterleavedMinSkip: row by row across the channels, as the row
    // gather, each piece prefetching its channel's next row (the hardware prefetcher, which
    // walking a channel's rows in order also fetched the skipped lines, no longer follows). A
    // channel's later runs are written after its earlier ones, but the next channel's first run
    // before: a run's whole stores stay inside its channel's row. ResNet-18's 64->128 1x1/2
    // forward (x 56x56), batch 32, 2 threads, same-process A/B against main, 5-9 rounds, loaded
    // machine, 2026-12-08: 0.86-0.99x the time, mostly 0.91-0.95x (swapped, main 1.04-1.12x of
    // it), prepared 0.91-0.94x (swapped 1.16-1.18x); batch 1, 2 threads, even. In this order
    // without the prefetch 1.02-1.15x, prefetching two rows ahead 1.03x; 128->256 (28 floats
    // skipped) in this order 1.01-1.09x, with the prefetch even (0.97-1.05x, both ways round);
    // channel after channel prefetching 4 or 8 rows ahead 1.0-1.04x.
    if (row_step - 2 * count >= kInterleavedMinSkip) {
        int64_t o = first_row, w = first_w;
        for (int64_t j = 0; j < n;) {
            const int64_t run = std::min(count - w, n - j);
            for (int64_t k = 0; k < depth; ++k) gather_run.template operator()<true>(k, o, w, j, run, n);
            j += run;
            w = 0;
            ++o;
        }
        return;
    }
    for (int64_t k = 0; k < depth; ++k) {
        int64_t o = first_row, w = first_w;
        for (int64_t j = 0; j < n;) {
            const int64_t run = std::min(count - w, n - j);
            // Whole stores inside to's last row's end: the extra outputs land where later pieces
            // write (or between to's rows).
            gather_run.template operator()<false>(k, o, w, j, run, end - k * to_stride);
            j += run;
            w = 0;
            ++o;
        }
    }
}

void transpose_tile_avx512(const float* from, int64_t from_stride, int64_t rows, int64_t cols, float* to,
                           int64_t to_stride) {
    const __mmask16 row_mask = static_cast<__mmask16>((1u << rows) - 1);
    const __mmask16 col_mask = static_cast<__mmask16>((1u << cols) - 1);
    __m512 r[kLanes];
    for (int64_t j = 0; j < kLanes; ++j) {
        r[j] = j < cols ? _mm512_maskz_loadu_ps(row_mask, from + j * from_stride) : _mm512_setzero_ps();
    }
    transpose16x16(r);
    for (int64_t i = 0; i < rows; ++i) _mm512_mask_storeu_ps(to + i * to_stride, col_mask, r[i]);
}

}  // namespace mln::kernels
