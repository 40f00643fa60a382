// AVX-512 GEMM micro-kernels: MR rows x 2 zmm vectors of C (sgemm 8 x 32, dgemm 8 x 16).
// Compiled with AVX-512 flags, so (as in the AVX2 file) only the exported kernels leave this
// file and only intrinsics headers are included.
//
// Each depth step is 2 B loads + MR broadcasts for 2 * MR FMAs. Measured on Zen 5 (one core,
// packed A block against one B panel in L1, beta 1, min of 300 runs): 8 x 32 gives 216 / 224 /
// 228 GFLOP/s at kc = 64 / 128 / 256, the same as 12 x 32 (213 / 224 / 228) and 14 x 32
// (211 / 223 / 228): two 512-bit FMA pipes stay fed with 16 accumulators. So MR = 8, which
// divides every M the networks use (64, 128, 256, 784, ...), where 12 or 14 rows leave a last
// row panel that is mostly padding (64 = 5 x 12 + 4).
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"

namespace mln::kernels {
namespace {

struct Avx512Float {
    using Scalar = float;
    using Vector = __m512;
    using Mask = __mmask16;
    static constexpr int kLanes = 16;
    static Vector zero() { return _mm512_setzero_ps(); }
    static Vector load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, Vector v) { _mm512_storeu_ps(p, v); }
    // Masked-off lanes are neither read (no fault past the end) nor written; they load as 0.
    static Vector load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
    static void store(float* p, Vector v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
    static Vector broadcast(const float* p) { return _mm512_set1_ps(*p); }
    static Vector set1(float x) { return _mm512_set1_ps(x); }
    static Vector fmadd(Vector a, Vector b, Vector c) { return _mm512_fmadd_ps(a, b, c); }
    static Vector add(Vector a, Vector b) { return _mm512_add_ps(a, b); }
    static Vector mul(Vector a, Vector b) { return _mm512_mul_ps(a, b); }
    // max(0, x) with x second: NaN in x comes through, as ReluOp defines. The zero-masked form
    // with every lane selected is the same instruction; GCC 12's plain _mm512_max_ps warns
    // about its own uninitialised pass-through operand.
    static Vector relu(Vector x) { return _mm512_maskz_max_ps(__mmask16(0xFFFF), _mm512_setzero_ps(), x); }
    // Lanes q of a gather read p[q * stride] (stride * kLanes within int32).
    using Index = __m512i;
    static Index strided_index(int64_t stride) {
        return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                  _mm512_set1_epi32(static_cast<int>(stride)));
    }
    static Vector gather(const float* p, Index index, Mask m) {
        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, index, p, 4);
    }
    // Columns 0..kCols-1 (kCols <= 2) of the first `steps` (1..16) rows of B, row q at
    // b + q * stride (lanes q of index: q * stride), as vectors along the depth: column[j] lane
    // q = b[q * stride + j], 0 from `steps` on; only those elements are read. One column is
    // gathered; two are loaded row by row (row q into 128-bit lane q / 4 of register q % 4) and
    // transposed 4 x 4 within the lanes, as two gathers took longer. Zen 5, one 8-row edge tile at
    // depth 100 (B in L1), cycles two gathers / loads: 2 columns 336 / 277, 4 columns 642 / 531;
    // 1 column 203 gathered, 214 loaded.
    template <int kCols>
    static MLN_ALWAYS_INLINE void load_columns(const float* b, int64_t stride, Index index, int steps,
                                               Vector (&column)[kCols]) {
        static_assert(kCols == 1 || kCols == 2);
        if constexpr (kCols == 1) {
            column[0] = gather(b, index, static_cast<Mask>(steps >= kLanes ? 0xFFFF : (1u << steps) - 1));
            return;
        }
        // Row q's two values by an 8-byte load; rows from `steps` on are 0 (their loads, of row 0,
        // dropped). Masked 16-byte loads (rows past the depth masked off whole) ran some placements
        // of B 2x slower (100x196x100 NN 41 us against 22), presumably an assist where a masked-off
        // part lies on another page.
        auto row = [&](int q) MLN_LAMBDA_ALWAYS_INLINE {
            const auto* const source = reinterpret_cast<const __m128i*>(b + (q < steps ? q : 0) * stride);
            return q < steps ? _mm_castsi128_ps(_mm_loadl_epi64(source)) : _mm_setzero_ps();
        };
        __m512 z[4];
        for (int r = 0; r < 4; ++r) {
            __m512 v = _mm512_zextps128_ps512(row(r));
            v = _mm512_insertf32x4(v, row(r + 4), 1);
            v = _mm512_insertf32x4(v, row(r + 8), 2);
            z[r] = _mm512_insertf32x4(v, row(r + 12), 3);
        }
        // Per 128-bit lane z0[0] z1[0] z0[1] z1[1]. Zero-masked with every lane selected: the plain
        // unpack (GCC 12's warns about its own uninitialised pass-through operand).
        const __m512 low01 = _mm512_maskz_unpacklo_ps(__mmask16(0xFFFF), z[0], z[1]);
        const __m512 low23 = _mm512_maskz_unpacklo_ps(__mmask16(0xFFFF), z[2], z[3]);
        column[0] = _mm512_shuffle_ps(low01, low23, _MM_SHUFFLE(1, 0, 1, 0));
        column[1] = _mm512_shuffle_ps(low01, low23, _MM_SHUFFLE(3, 2, 3, 2));
    }
    // Lanes 0-7 from a (masked by the mask's lower 8 bits), 8-15 from a + stride (the upper bits).
    static Vector load_steps(const float* a, int64_t stride, Mask m) {
        const __m512 lower = _mm512_maskz_loadu_ps(static_cast<__mmask16>(m & 0x00FF), a);
        return _mm512_insertf32x8(lower, _mm256_maskz_loadu_ps(static_cast<__mmask8>(m >> 8), a + stride), 1);
    }
    // Lanes 0-7 hold b[0], lanes 8-15 b[stride] (two depth steps of 8-row A columns); with one
    // step, lanes 8-15 hold 0 and b[stride] is not read.
    static Vector broadcast_steps(const float* b, int64_t stride, int steps) {
        if (steps == 1) return _mm512_maskz_broadcastss_ps(__mmask16(0x00FF), _mm_load_ss(b));
        return _mm512_mask_broadcastss_ps(_mm512_set1_ps(*b), __mmask16(0xFF00), _mm_load_ss(b + stride));
    }
    // The lanes' sum. The zero-masked extracts with every lane selected are the plain ones (and
    // the 256-bit cast); GCC 12's versions of those and of _mm512_reduce_add_* warn about their
    // own uninitialised pass-through operand.
    static float sum(Vector v) {
        const __m512d bits = _mm512_castps_pd(v);
        const __m256 half = _mm256_add_ps(_mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(__mmask8(0xF), bits, 0)),
                                          _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(__mmask8(0xF), bits, 1)));
        __m128 quarter = _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
        quarter = _mm_add_ps(quarter, _mm_movehl_ps(quarter, quarter));
        return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)));
    }
};

struct Avx512Double {
    using Scalar = double;
    using Vector = __m512d;
    using Mask = __mmask8;
    static constexpr int kLanes = 8;
    static Vector zero() { return _mm512_setzero_pd(); }
    static Vector load(const double* p) { return _mm512_loadu_pd(p); }
    static void store(double* p, Vector v) { _mm512_storeu_pd(p, v); }
    static Vector load(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
    static void store(double* p, Vector v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
    static Vector broadcast(const double* p) { return _mm512_set1_pd(*p); }
    static Vector set1(double x) { return _mm512_set1_pd(x); }
    static Vector fmadd(Vector a, Vector b, Vector c) { return _mm512_fmadd_pd(a, b, c); }
    static Vector add(Vector a, Vector b) { return _mm512_add_pd(a, b); }
    static Vector mul(Vector a, Vector b) { return _mm512_mul_pd(a, b); }
    static Vector relu(Vector x) { return _mm512_maskz_max_pd(__mmask8(0xFF), _mm512_setzero_pd(), x); }
    using Index = __m256i;
    static Index strided_index(int64_t stride) {
        return _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                  _mm256_set1_epi32(static_cast<int>(stride)));
    }
    static Vector gather(const double* p, Index index, Mask m) {
        return _mm512_mask_i32gather_pd(_mm512_setzero_pd(), m, index, p, 8);
    }
    // Columns 0..kCols-1 of the first `steps` (1..8) rows of B, gathered (lanes q of index: q * stride).
    template <int kCols>
    static MLN_ALWAYS_INLINE void load_columns(const double* b, int64_t, Index index, int steps,
                                               Vector (&column)[kCols]) {
        const auto m = static_cast<Mask>(steps >= kLanes ? 0xFF : (1u << steps) - 1);
        for (int j = 0; j < kCols; ++j) column[j] = gather(b + j, index, m);
    }
    static Vector load_steps(const double* a, int64_t, Mask m) { return _mm512_maskz_loadu_pd(m, a); }
    static Vector broadcast_steps(const double* b, int64_t, int) { return _mm512_set1_pd(*b); }
    static double sum(Vector v) {
        const __m256d half = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(__mmask8(0xF), v, 0),
                                           _mm512_maskz_extractf64x4_pd(__mmask8(0xF), v, 1));
        const __m128d quarter = _mm_add_pd(_mm256_castpd256_pd128(half), _mm256_extractf128_pd(half, 1));
        return _mm_cvtsd_f64(_mm_add_sd(quarter, _mm_unpackhi_pd(quarter, quarter)));
    }
};

constexpr int kRows = 8;

// a * b + c rounded once, as the vector epilogue's FMA.
inline float scalar_fmadd(float a, float b, float c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}
inline double scalar_fmadd(double a, double b, double c) {
    return _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c)));
}

// kCopyB: also store each B row read (2 vectors) to b_copy, a packed panel (row stride NR).
// kEdge: a tile of `rows` x `cols` (rows <= MR, cols <= kVectors vectors, more than kVectors - 1)
// straight into C: A rows from `rows` on are not read (their broadcasts repeat row rows - 1 and
// their sums are dropped), nor B, bias, residual or C lanes from `cols` on (masked loads), so
// neither operand needs a zero-padded copy and no scratch tile is merged.
// kTileRows: the rows computed (an edge tile of few rows takes fewer than kRows).
template <class Isa, bool kPackedA, bool kCopyB = false, int kVectors = 2, bool kEdge = false, int kTileRows = kRows>
void gemm_avx512_microkernel(int64_t kc, const typename Isa::Scalar* a, int64_t a_row_stride, int64_t a_col_stride,
                             const typename Isa::Scalar* b, int64_t b_row_stride, typename Isa::Scalar* c,
                             int64_t ldc, typename Isa::Scalar alpha, typename Isa::Scalar beta,
                             const GemmTileExtras<typename Isa::Scalar>* extras,
                             typename Isa::Scalar* b_copy = nullptr, int rows = kRows,
                             int cols = 2 * Isa::kLanes) {
    using Scalar = typename Isa::Scalar;
    using Vector = typename Isa::Vector;
    using Mask = typename Isa::Mask;
    constexpr int MR = kTileRows;
    constexpr int kLanes = Isa::kLanes;
    if constexpr (kPackedA) {
        a_row_stride = 1;
        a_col_stride = kRows;  // the packed panel's height
    }
    // Lanes of the last vector that are in the tile (all of them unless kEdge).
    const Mask last_lanes = static_cast<Mask>((uint32_t{1} << (cols - (kVectors - 1) * kLanes)) - 1);
    auto load = [&](const Scalar* p, int v) MLN_LAMBDA_ALWAYS_INLINE {
        if constexpr (kEdge) {
            if (v == kVectors - 1) return Isa::load(p + v * kLanes, last_lanes);
        }
        return Isa::load(p + v * kLanes);
    };
    auto row_in_tile = [&](int i) MLN_LAMBDA_ALWAYS_INLINE { return !kEdge || i < rows; };
    // Offset of A's row i, clamped to the tile's last row at an edge: worked out before the loop
    // (left in it, GCC tested the row count at every broadcast).
    int64_t clamped_row_offsets[MR];
    MLN_UNROLL(16)
    for (int i = 0; i < MR; ++i) clamped_row_offsets[i] = (i < rows ? i : rows - 1) * a_row_stride;
    auto a_row = [&](int i) MLN_LAMBDA_ALWAYS_INLINE { return kEdge ? clamped_row_offsets[i] : i * a_row_stride; };
    // C is read only at the end (beta != 0); start bringing it in now (a row of the tile is 128
    // bytes). With beta 0 C is only written, and the store buffer takes the misses: there the
    // prefetches only competed with the first A and B loads. Zen 5, one thread, beta 0, CPU time,
    // min of 21-41 batches, without / with: 64^3 +2.5%, 32^3 +4%, 1024x1024x64 (C 4 MiB) +3.5%,
    // 2048x512x32 +5%, 256^3 to 1024^3 +0.3-0.9%.
    if (beta != Scalar(0)) {
        for (int i = 0; i < MR; ++i) {
            _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kVectors * kLanes - 1), _MM_HINT_T0);
        }
    }
    // Fully unrolled loops over constant indices: GCC keeps the whole array in registers.
    Vector acc[MR][kVectors];
    MLN_UNROLL(16)
    for (int i = 0; i < MR; ++i) {
        for (int v = 0; v < kVectors; ++v) acc[i][v] = Isa::zero();
    }
    auto update = [&](const Scalar* a_step, const Vector (&b_step)[kVectors]) MLN_LAMBDA_ALWAYS_INLINE {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            const Vector x = Isa::broadcast(a_step + a_row(i));
            for (int v = 0; v < kVectors; ++v) acc[i][v] = Isa::fmadd(x, b_step[v], acc[i][v]);
        }
    };
    // One depth step per iteration: unrolled by two, GCC 12 interleaves the steps and runs out
    // of registers (spills and copies in the loop); the loop overhead is 3 scalar instructions.
    // Unrolled by 4 with MLN_UNROLL (no spills in the full tiles' loops; the edge forms then
    // reload row offsets from the stack) it measured about 0.995x the time, within this machine's
    // noise (Zen 5, one thread, gemm_vs_openblas --baseline, fastest / median of 301 batches,
    // 2 runs each way round: 64^3 NN 0.98-1.00, 64^3 to 784x256x128 all transposes 0.98-1.02).
    // B is prefetched 8 steps ahead, one line a step. Not faster (Zen 5, one thread, loops of
    // this kernel over a product's tiles, same-process A/B, median of 41 batches): both lines of
    // each step, or 4, 16 or 32 steps ahead (784x256x128 in row tile order, B from L2: 0.99-1.02x
    // time, plain and fused); A's rows 16-64 steps ahead as well (256^3 panel by panel, A from
    // L2: 1.00-1.01x). Nor was leaving it out where the panel stays in L1 (256^3, --baseline, 61
    // batches: 0.99-1.02x, swapped 0.99-1.01; 2026-12-07).
    if constexpr (kCopyB) {
        // The copy's end bounds the loop: no counter register (the strided form uses every other
        // general register already). B from L3 stalls this loop on its loads (256^3: the first row
        // tile per panel, 5-7% of the samples), yet prefetching both lines of B 16 steps ahead, or
        // the copy's lines 8 steps ahead, measured even (256^3 and 784x256x128, --baseline, 61
        // batches, 2 runs each way round, 0.98-1.02x; 2026-12-07).
        for (Scalar* const end = b_copy + kc * 2 * kLanes; b_copy != end; b_copy += 2 * kLanes) {
            _mm_prefetch(reinterpret_cast<const char*>(b + 8 * b_row_stride), _MM_HINT_T0);
            const Vector b_step[2] = {Isa::load(b), Isa::load(b + kLanes)};
            Isa::store(b_copy, b_step[0]);
            Isa::store(b_copy + kLanes, b_step[1]);
            update(a, b_step);
            a += a_col_stride;
            b += b_row_stride;
        }
    } else {
        for (int64_t p = 0; p < kc; ++p) {
            _mm_prefetch(reinterpret_cast<const char*>(b + 8 * b_row_stride), _MM_HINT_T0);
            Vector b_step[kVectors];
            for (int v = 0; v < kVectors; ++v) b_step[v] = load(b, v);
            update(a, b_step);
            a += a_col_stride;
            b += b_row_stride;
        }
    }

    // The epilogue in passes over the whole tile, each behind one branch, every load (C for
    // beta, the residual) before the first store, and the extras read once (a vector store may
    // alias them, so per element they were reloaded and retested: 60-odd branches a tile).
    // Zen 5, one thread, 784x256x128, CPU time per call, median of 7 runs under load, against
    // the plain product (264 us): bias + ReLU +4.0% before, +3.2% after; with the residual
    // +17.5% before, +14.5% after. The rest of the residual's cost is memory traffic: a
    // residual that stays in L1 (row stride 0) cost 1-2%, prefetching the residual tile at the
    // kernel start or one tile ahead changed nothing measurable at this shape (deeper tiles:
    // kPrefetchResidualMinDepth in gemm_driver.cpp), and the tile order did
    // (kStripTiles in gemm_driver.cpp). Nor did prefetching from the driver (same shape, one
    // thread under load, min of 41 batches per run, fused / plain, median and range of 3-11
    // runs; none: 1.036, 1.024-1.088): the residual tile just before its kernel call,
    // non-temporal, 1.047 (1.040-1.064); the next row tile, non-temporal 1.062 (1.052-1.073),
    // into L1 1.066 (1.059-1.076); the tile one strip ahead into L2 1.060 (1.042-1.071), with
    // C as well (prefetchw) 1.095 (1.076-1.113).
    // The rest is not the epilogue's instruction count either. Zen 5, one thread, a loop of this
    // kernel over the tiles of 64^3, 128x128x256, 256^3 and 784x256x128 (A in place, the driver's
    // tile orders), bias + ReLU + residual, fastest / median of 201 alternating batches, 2-3 runs,
    // time against this epilogue: accumulators started from the bias (alpha 1; 16 adds fewer)
    // 0.97-1.04 / 0.98-1.01; from residual + bias (beta 0) 0.99-1.04 / 0.99-1.02 (residual alone in
    // the library, 784x256x128: 0.98-1.02 / 0.99-1.01); C + (residual + bias), one add fewer on the
    // tile's last chain, 0.98-1.01 / 0.98-1.01. At 784x256x128, the residual from memory against
    // one 8-row tile of it read over and over cost 1.05 / 1.01, bias + ReLU against all three
    // 1.06 / 1.04 (64^3, all in L1: 1.04 / 1.01). Nor did spreading the residual tile's
    // prefetches over the first 16 depth steps, one line a step (784x256x128, one thread, fused /
    // plain, min of 41 batches, 3 runs: 1.038-1.050 against 1.030-1.050 without; 2026-12-07).
    // Against reading C (784x256x128, one thread, time over the plain call, median / fastest of 61
    // batches, 3 runs): beta 1 1.016-1.021 / 1.00-1.02 and a residual that is C itself 1.02-1.03 /
    // 1.02-1.03 (C's lines, which the store reads for ownership anyway), a separate residual
    // 1.04-1.05 / 1.03-1.04 (bias + ReLU + residual 1.04-1.06; one residual row, in L1,
    // 1.01-1.02): ~2% of it is its own 800 KiB stream from L3. Adding it in a pass over each
    // 8-row strip after the strip's tiles (R one sequential 8 KiB run, C still in L1) lost:
    // --baseline, 41 batches, 1.03-1.05x main's time, swapped 0.95-0.98 (2026-12-07). So did
    // loading its first 4 rows into registers 16 depth steps before the end (bias + ReLU +
    // residual, 784x256x128 1.01-1.06x, swapped 0.98-1.01; 2026-12-07). perf (cycles, 784x256x128
    // fused): 6% of this kernel's samples fall on the residual's adds, 1% on the bias's, 1.5% on
    // the stores, though no prefetch of the residual moved the time (2026-12-07).
    if (alpha != Scalar(1)) {  // x * 1 is x exactly (NaN, infinities and signed zeros included)
        const Vector alpha_vector = Isa::set1(alpha);
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            for (int v = 0; v < kVectors; ++v) acc[i][v] = Isa::mul(alpha_vector, acc[i][v]);
        }
    }
    if (beta != Scalar(0)) {
        const Vector beta_vector = Isa::set1(beta);
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            if (!row_in_tile(i)) continue;
            for (int v = 0; v < kVectors; ++v) acc[i][v] = Isa::fmadd(beta_vector, load(c + i * ldc, v), acc[i][v]);
        }
    }
    if (extras != nullptr) {
        const Scalar* const bias = extras->bias;
        const Scalar* const residual = extras->residual;
        const int64_t residual_row_stride = extras->residual_row_stride;
        const bool relu = extras->relu;
        if (bias != nullptr) {
            Vector bias_vector[kVectors];
            for (int v = 0; v < kVectors; ++v) bias_vector[v] = load(bias, v);
            MLN_UNROLL(16)
            for (int i = 0; i < MR; ++i) {
                for (int v = 0; v < kVectors; ++v) acc[i][v] = Isa::add(acc[i][v], bias_vector[v]);
            }
        }
        if (residual != nullptr) {
            MLN_UNROLL(16)
            for (int i = 0; i < MR; ++i) {
                if (!row_in_tile(i)) continue;
                for (int v = 0; v < kVectors; ++v) {
                    acc[i][v] = Isa::add(acc[i][v], load(residual + i * residual_row_stride, v));
                }
            }
        }
        if (relu) {
            MLN_UNROLL(16)
            for (int i = 0; i < MR; ++i) {
                for (int v = 0; v < kVectors; ++v) acc[i][v] = Isa::relu(acc[i][v]);
            }
        }
    }
    MLN_UNROLL(16)
    for (int i = 0; i < MR; ++i) {
        if (!row_in_tile(i)) continue;
        for (int v = 0; v < kVectors; ++v) {
            if (kEdge && v == kVectors - 1) {
                Isa::store(c + i * ldc + v * kLanes, acc[i][v], last_lanes);
            } else {
                Isa::store(c + i * ldc + v * kLanes, acc[i][v]);
            }
        }
    }
}

// The kernel's epilogue for one element of C (i, j) whose product sum is `value`.
template <class Scalar>
MLN_ALWAYS_INLINE void store_edge_element(Scalar value, int i, int j, Scalar* c, int64_t ldc, Scalar alpha,
                                          Scalar beta, const GemmTileExtras<Scalar>* extras) {
    if (alpha != Scalar(1)) value *= alpha;
    Scalar* const target = c + i * ldc + j;
    if (beta != Scalar(0)) value = scalar_fmadd(beta, *target, value);
    if (extras != nullptr) {
        if (extras->bias != nullptr) value += extras->bias[j];
        if (extras->residual != nullptr) value += extras->residual[i * extras->residual_row_stride + j];
        if (extras->relu && Scalar(0) > value) value = Scalar(0);  // max(0, x): NaN comes through
    }
    *target = value;
}

// `kCols` columns of an edge tile of `rows` rows whose A rows are contiguous (a_col_stride 1),
// as dot products along the depth: kLanes depth steps a vector (B's columns gathered, or loaded
// and transposed: Isa::load_columns), so a column costs MR FMAs per kLanes steps instead of MR
// per step in a vector of masked-off lanes.
// Sums are reduced across lanes at the end; the epilogue is the kernel's, one element at a time.
// The 16 sums of a float pair reduced together by a tree of shuffles (45 instructions, not 128)
// measured even: one 8-row tile, 2 columns at depth 16, 137 / 134 cycles (2026-12-07).
template <class Isa, int kCols>
void gemm_avx512_dot_columns(int rows, int64_t kc, const typename Isa::Scalar* a, int64_t a_row_stride,
                             const typename Isa::Scalar* b, int64_t b_row_stride, typename Isa::Scalar* c,
                             int64_t ldc, typename Isa::Scalar alpha, typename Isa::Scalar beta,
                             const GemmTileExtras<typename Isa::Scalar>* extras,
                             const typename Isa::Index& b_index) {
    using Vector = typename Isa::Vector;
    using Mask = typename Isa::Mask;
    constexpr int kLanes = Isa::kLanes;
    int64_t clamped_row_offsets[kRows];  // rows from `rows` on repeat the last (their sums are dropped)
    MLN_UNROLL(16)
    for (int i = 0; i < kRows; ++i) clamped_row_offsets[i] = (i < rows ? i : rows - 1) * a_row_stride;
    Vector acc[kRows][kCols];
    MLN_UNROLL(16)
    for (int i = 0; i < kRows; ++i) {
        for (int j = 0; j < kCols; ++j) acc[i][j] = Isa::zero();
    }
    // `steps` depth steps from p (kLanes but at the end: a constant there, so the masks fold).
    auto step = [&](int64_t p, int steps) MLN_LAMBDA_ALWAYS_INLINE {
        const auto step_lanes = static_cast<Mask>(steps >= kLanes ? ~0u : (1u << steps) - 1);
        Vector column[kCols];
        Isa::template load_columns<kCols>(b + p * b_row_stride, b_row_stride, b_index, steps, column);
        MLN_UNROLL(16)
        for (int i = 0; i < kRows; ++i) {
            const Vector x = Isa::load(a + clamped_row_offsets[i] + p, step_lanes);
            for (int j = 0; j < kCols; ++j) acc[i][j] = Isa::fmadd(x, column[j], acc[i][j]);
        }
    };
    int64_t p = 0;
    for (; p + kLanes <= kc; p += kLanes) step(p, kLanes);
    if (p < kc) step(p, static_cast<int>(kc - p));
    MLN_UNROLL(16)
    for (int i = 0; i < kRows; ++i) {
        if (i >= rows) continue;
        for (int j = 0; j < kCols; ++j) store_edge_element(Isa::sum(acc[i][j]), i, j, c, ldc, alpha, beta, extras);
    }
}

// `kCols` columns of an edge tile whose A columns are contiguous (a_row_stride 1: A packed or
// transposed): vectors along the rows, kLanes / kRows depth steps a vector (float: step p in lanes
// 0-7, p + 1 in lanes 8-15), B broadcast per step, kChains independent sums per column to hide
// the FMA latency. A column costs one FMA per kLanes / kRows steps instead of kRows per step.
template <class Isa, int kCols>
void gemm_avx512_row_vector_columns(int rows, int64_t kc, const typename Isa::Scalar* a, int64_t a_col_stride,
                                    const typename Isa::Scalar* b, int64_t b_row_stride, typename Isa::Scalar* c,
                                    int64_t ldc, typename Isa::Scalar alpha, typename Isa::Scalar beta,
                                    const GemmTileExtras<typename Isa::Scalar>* extras) {
    using Scalar = typename Isa::Scalar;
    using Vector = typename Isa::Vector;
    using Mask = typename Isa::Mask;
    constexpr int kLanes = Isa::kLanes;
    constexpr int kSteps = kLanes / kRows;
    constexpr int kChains = 4;
    const uint32_t row_bits = (uint32_t{1} << rows) - 1;
    const Mask row_lanes = static_cast<Mask>(kSteps == 2 ? row_bits | row_bits << kRows : row_bits);
    Vector acc[kChains][kCols];
    for (int chain = 0; chain < kChains; ++chain) {
        for (int j = 0; j < kCols; ++j) acc[chain][j] = Isa::zero();
    }
    int64_t p = 0;
    for (; p + kChains * kSteps <= kc; p += kChains * kSteps) {
        MLN_UNROLL(4)
        for (int chain = 0; chain < kChains; ++chain) {
            const int64_t step = p + chain * kSteps;
            const Vector x = Isa::load_steps(a + step * a_col_stride, a_col_stride, row_lanes);
            for (int j = 0; j < kCols; ++j) {
                const Vector b_steps = Isa::broadcast_steps(b + step * b_row_stride + j, b_row_stride, kSteps);
                acc[chain][j] = Isa::fmadd(x, b_steps, acc[chain][j]);
            }
        }
    }
    for (; p < kc; p += kSteps) {
        const int steps = kc - p < kSteps ? static_cast<int>(kc - p) : kSteps;
        const Mask lanes = static_cast<Mask>(row_lanes & ((uint32_t{1} << (steps * kRows)) - 1));
        const Vector x = Isa::load_steps(a + p * a_col_stride, a_col_stride, lanes);
        for (int j = 0; j < kCols; ++j) {
            const Vector b_steps = Isa::broadcast_steps(b + p * b_row_stride + j, b_row_stride, steps);
            acc[0][j] = Isa::fmadd(x, b_steps, acc[0][j]);
        }
    }
    for (int j = 0; j < kCols; ++j) {
        Vector total = acc[0][j];
        for (int chain = 1; chain < kChains; ++chain) total = Isa::add(total, acc[chain][j]);
        alignas(64) Scalar lanes[kLanes];
        Isa::store(lanes, total);
        for (int i = 0; i < rows; ++i) {
            Scalar value = lanes[i];
            for (int s = 1; s < kSteps; ++s) value += lanes[s * kRows + i];
            store_edge_element(value, i, j, c, ldc, alpha, beta, extras);
        }
    }
}

// Edge tiles of at most this many columns take a narrow form (gemm_avx512_narrow_edge).
constexpr int kDotMaxCols = 4;

// An edge tile of 1..kDotMaxCols columns: dot products along the depth, two columns at a time,
// where A's rows are contiguous; vectors along the rows, all columns in one pass over A, where
// its columns are (A packed or transposed; in pairs, A was loaded twice: one 8-row tile at depth
// 100, A packed, 4 columns 553 -> 442 cycles, 3 columns 408 -> 353). Not inlined: inlined into
// the edge dispatcher, it made the other edge forms 2-3% slower (48^3, NN and TN).
template <class Isa>
MLN_NOINLINE void gemm_avx512_narrow_edge(int rows, int cols, int64_t kc, const typename Isa::Scalar* a,
                                          int64_t a_row_stride, int64_t a_col_stride, const typename Isa::Scalar* b,
                                          int64_t b_row_stride, typename Isa::Scalar* c, int64_t ldc,
                                          typename Isa::Scalar alpha, typename Isa::Scalar beta,
                                          const GemmTileExtras<typename Isa::Scalar>* extras,
                                          bool a_columns_contiguous) {
    if (a_columns_contiguous) {  // every column in one pass over A
        switch (cols) {
            case 1:
                return gemm_avx512_row_vector_columns<Isa, 1>(rows, kc, a, a_col_stride, b, b_row_stride, c, ldc,
                                                              alpha, beta, extras);
            case 2:
                return gemm_avx512_row_vector_columns<Isa, 2>(rows, kc, a, a_col_stride, b, b_row_stride, c, ldc,
                                                              alpha, beta, extras);
            case 3:
                return gemm_avx512_row_vector_columns<Isa, 3>(rows, kc, a, a_col_stride, b, b_row_stride, c, ldc,
                                                              alpha, beta, extras);
            default:
                return gemm_avx512_row_vector_columns<Isa, 4>(rows, kc, a, a_col_stride, b, b_row_stride, c, ldc,
                                                              alpha, beta, extras);
        }
    }
    const typename Isa::Index b_index = Isa::strided_index(b_row_stride);
    for (int j = 0; j < cols; j += 2) {
        GemmTileExtras<typename Isa::Scalar> shifted{};  // the extras of columns j..
        if (extras != nullptr) {
            shifted = *extras;
            if (shifted.bias != nullptr) shifted.bias += j;
            if (shifted.residual != nullptr) shifted.residual += j;
        }
        const auto* const column_extras = extras != nullptr ? &shifted : nullptr;
        if (cols - j >= 2) {
            gemm_avx512_dot_columns<Isa, 2>(rows, kc, a, a_row_stride, b + j, b_row_stride, c + j, ldc, alpha,
                                            beta, column_extras, b_index);
        } else {
            gemm_avx512_dot_columns<Isa, 1>(rows, kc, a, a_row_stride, b + j, b_row_stride, c + j, ldc, alpha,
                                            beta, column_extras, b_index);
        }
    }
}

// An edge tile (kEdge above) with one vector per row where its columns fit in one, and two
// vectors of half the rows where its rows fit in those: 8 accumulators still keep both FMA pipes
// busy, so the rows dropped from a full-height tile cost time. One vector of half the rows would
// have 4 accumulators, too few to hide the FMA latency: no faster than the full height. Past two
// vectors (a full panel and a partial one as one tile: GemmMicroKernelInfo::edge_extra_cols),
// three vectors, of half the rows too where those suffice.
template <class Isa>
void gemm_avx512_edge_microkernel(int rows, int cols, int64_t kc, const typename Isa::Scalar* a,
                                  int64_t a_row_stride, int64_t a_col_stride, const typename Isa::Scalar* b,
                                  int64_t b_row_stride, typename Isa::Scalar* c, int64_t ldc,
                                  typename Isa::Scalar alpha, typename Isa::Scalar beta,
                                  const GemmTileExtras<typename Isa::Scalar>* extras) {
    const bool a_columns_contiguous = a_row_stride == 1;
    const bool a_rows_contiguous = a_col_stride == 1 && b_row_stride <= INT32_MAX / Isa::kLanes;
    if (cols <= kDotMaxCols && (a_columns_contiguous || a_rows_contiguous)) {
        gemm_avx512_narrow_edge<Isa>(rows, cols, kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha,
                                     beta, extras, a_columns_contiguous);
    } else if (cols <= Isa::kLanes) {
        gemm_avx512_microkernel<Isa, false, false, 1, true>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c,
                                                            ldc, alpha, beta, extras, nullptr, rows, cols);
    } else if (cols > 2 * Isa::kLanes) {  // a full panel and a partial one (edge_extra_cols)
        if (rows <= kRows / 2) {
            gemm_avx512_microkernel<Isa, false, false, 3, true, kRows / 2>(kc, a, a_row_stride, a_col_stride, b,
                                                                           b_row_stride, c, ldc, alpha, beta, extras,
                                                                           nullptr, rows, cols);
        } else {
            gemm_avx512_microkernel<Isa, false, false, 3, true>(kc, a, a_row_stride, a_col_stride, b, b_row_stride,
                                                                c, ldc, alpha, beta, extras, nullptr, rows, cols);
        }
    } else if (rows <= kRows / 2) {
        gemm_avx512_microkernel<Isa, false, false, 2, true, kRows / 2>(kc, a, a_row_stride, a_col_stride, b,
                                                                       b_row_stride, c, ldc, alpha, beta, extras,
                                                                       nullptr, rows, cols);
    } else {
        gemm_avx512_microkernel<Isa, false, false, 2, true>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c,
                                                            ldc, alpha, beta, extras, nullptr, rows, cols);
    }
}


}  // namespace

void sgemm_avx512_8x32_packed(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride,
                               const float* b, int64_t b_row_stride, float* c, int64_t ldc, float alpha, float beta,
                               const GemmTileExtras<float>* extras) {
    gemm_avx512_microkernel<Avx512Float, true>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha,
                                               beta, extras);
}

void sgemm_avx512_8x32_strided(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride,
                                const float* b, int64_t b_row_stride, float* c, int64_t ldc, float alpha, float beta,
                                const GemmTileExtras<float>* extras) {
    gemm_avx512_microkernel<Avx512Float, false>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha,
                                                beta, extras);
}

void sgemm_avx512_8x32_strided_copying_b(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride,
                                          const float* b, int64_t b_row_stride, float* b_copy, float* c, int64_t ldc,
                                          float alpha, float beta, const GemmTileExtras<float>* extras) {
    gemm_avx512_microkernel<Avx512Float, false, true>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc,
                                                      alpha, beta, extras, b_copy);
}

void sgemm_avx512_8x32_edge(int rows, int cols, int64_t kc, const float* a, int64_t a_row_stride,
                            int64_t a_col_stride, const float* b, int64_t b_row_stride, float* c, int64_t ldc,
                            float alpha, float beta, const GemmTileExtras<float>* extras) {
    gemm_avx512_edge_microkernel<Avx512Float>(rows, cols, kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc,
                                              alpha, beta, extras);
}

void dgemm_avx512_8x16_packed(int64_t kc, const double* a, int64_t a_row_stride, int64_t a_col_stride,
                               const double* b, int64_t b_row_stride, double* c, int64_t ldc, double alpha,
                               double beta, const GemmTileExtras<double>* extras) {
    gemm_avx512_microkernel<Avx512Double, true>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha,
                                                beta, extras);
}

void dgemm_avx512_8x16_strided(int64_t kc, const double* a, int64_t a_row_stride, int64_t a_col_stride,
                                const double* b, int64_t b_row_stride, double* c, int64_t ldc, double alpha,
                                double beta, const GemmTileExtras<double>* extras) {
    gemm_avx512_microkernel<Avx512Double, false>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha,
                                                 beta, extras);
}

void dgemm_avx512_8x16_edge(int rows, int cols, int64_t kc, const double* a, int64_t a_row_stride,
                             int64_t a_col_stride, const double* b, int64_t b_row_stride, double* c, int64_t ldc,
                             double alpha, double beta, const GemmTileExtras<double>* extras) {
    gemm_avx512_edge_microkernel<Avx512Double>(rows, cols, kc, a, a_row_stride, a_col_stride, b, b_row_stride, c,
                                               ldc, alpha, beta, extras);
}

}  // namespace mln::kernels
