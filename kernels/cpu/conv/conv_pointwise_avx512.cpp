// AVX-512 pointwise strip kernels: 8 rows x 3 zmm registers (f32 8 x 48, f64 8 x 24): 24
// accumulators, 3 B registers and a broadcast take 28 of the 32, and 8 rows divide the channel
// counts the networks use. Three registers rather than the GEMM micro-kernel's two: a 7x7
// image's 48 full columns are then one tile, not a 32-column one and a 16-column one that spends
// 8 broadcasts on 8 FMAs per depth step (MobileNet-v2's 7x7 layers 10-20% faster, 1 thread).
#include <immintrin.h>

#include "kernels/cpu/common/transpose_avx512.hpp"
#include "kernels/cpu/common/vector_math_avx512.hpp"
#include "kernels/cpu/conv/conv_pointwise_body.hpp"

namespace mln::kernels {
namespace {

// The vector traits' arithmetic plus the masks, broadcast, ReLU and sum the bodies need.
struct Avx512FloatLanes : Avx512F32 {
    using Scalar = float;
    using Reg = V;
    static constexpr int64_t width = kLanes;
    using Avx512F32::load;
    using Avx512F32::store;
    static Mask first(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }
    static Reg load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
    static void store(float* p, Reg v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
    static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
    // The zero-masked form with every lane selected: GCC 12's plain _mm512_max_ps warns about
    // its own uninitialised pass-through operand. x second: NaN in x comes through.
    static Reg relu(Reg x) { return _mm512_maskz_max_ps(__mmask16(0xFFFF), _mm512_setzero_ps(), x); }
    // Halves by the zero-masked extracts, for the same GCC 12 warning.
    static void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T1); }
    static void prefetch_l1(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
    // PREFETCHW by hand: this file is not compiled with -mprfchw (every AVX-512 CPU has it).
    static void prefetch_store(float* p) { asm volatile("prefetchw %0" : : "m"(*p)); }
    static float sum(Reg v) {
        const __m256 h = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xFF, v, 0), _mm512_maskz_extractf32x8_ps(0xFF, v, 1));
        __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        q = _mm_add_ps(q, _mm_movehl_ps(q, q));
        return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
    }
    // out[k] = the sum of v[k]'s lanes, four registers reduced together: 15 instructions where
    // four sum() calls take 36, adding in the same order (same bits); MobileNet-v2 28x28 layers
    // at batch 1, 1 thread: 0.96-0.98x the time.
    static void sum4(const Reg (&v)[4], float* out) {
        // 128-bit quarters q: [v0 q0+q2, v0 q1+q3, v1 q0+q2, v1 q1+q3], likewise v2, v3.
        const __m512 v01 = _mm512_add_ps(_mm512_shuffle_f32x4(v[0], v[1], 0x44), _mm512_shuffle_f32x4(v[0], v[1], 0xEE));
        const __m512 v23 = _mm512_add_ps(_mm512_shuffle_f32x4(v[2], v[3], 0x44), _mm512_shuffle_f32x4(v[2], v[3], 0xEE));
        // One quarter per register: [v0, v1, v2, v3], four partial sums each.
        __m512 s = _mm512_add_ps(_mm512_shuffle_f32x4(v01, v23, 0x88), _mm512_shuffle_f32x4(v01, v23, 0xDD));
        s = _mm512_add_ps(s, _mm512_permute_ps(s, 0x4E));
        s = _mm512_add_ps(s, _mm512_permute_ps(s, 0xB1));
        _mm_storeu_ps(out, _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), s)));
    }
    // PointwiseStripBody's 8 x 4 tail passes (kHasHalves): lanes [0, 8) from low, [8, 16) from
    // high; masked, the first n of each half (n < 8), nothing else read.
    static Reg load_halves(const float* low, const float* high) {
        return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(low)), _mm256_loadu_ps(high), 1);
    }
    static Reg load_halves(const float* low, const float* high, int64_t n) {
        const __mmask8 m = static_cast<__mmask8>((1u << n) - 1u);
        return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_maskz_loadu_ps(m, low)), _mm256_maskz_loadu_ps(m, high), 1);
    }
    static Reg broadcast_half(const float* p) { return _mm512_broadcast_f32x8(_mm256_loadu_ps(p)); }
    static Reg broadcast_half(const float* p, int64_t n) {
        return _mm512_broadcast_f32x8(_mm256_maskz_loadu_ps(static_cast<__mmask8>((1u << n) - 1u), p));
    }
    // acc[p][j]: column j's partial sums of row 2 p (lanes [0, 8)) and 2 p + 1 (lanes [8, 16)).
    // out[h] quarter r: row 4 h + r's four column sums. Per pair the columns' lanes are summed
    // within each 128-bit quarter (unpacked 32-bit, then 64-bit), then two pairs' quarters.
    static void sum_halves(const Reg (&acc)[4][4], Reg (&out)[2]) {
        __m512 u[4];
        for (int p = 0; p < 4; ++p) {
            const __m512 t01 = _mm512_add_ps(_mm512_unpacklo_ps(acc[p][0], acc[p][1]), _mm512_unpackhi_ps(acc[p][0], acc[p][1]));
            const __m512 t23 = _mm512_add_ps(_mm512_unpacklo_ps(acc[p][2], acc[p][3]), _mm512_unpackhi_ps(acc[p][2], acc[p][3]));
            const __m512d d01 = _mm512_castps_pd(t01), d23 = _mm512_castps_pd(t23);
            // Quarter q: the four columns' sums over lanes 4 q .. 4 q + 3.
            u[p] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(d01, d23)), _mm512_castpd_ps(_mm512_unpackhi_pd(d01, d23)));
        }
        for (int h = 0; h < 2; ++h) {
            out[h] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * h], u[2 * h + 1], 0x88), _mm512_shuffle_f32x4(u[2 * h], u[2 * h + 1], 0xDD));
        }
    }
    // Quarter r (r < n <= 4): p[r] in every lane; p[r * ld .. r * ld + 3]; stored there.
    static Reg broadcast_quarters(const float* p, int64_t n) {
        const __m512 v = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
        return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3), v);
    }
    static Reg load_quarters(const float* p, int64_t ld, int64_t n) {
        __m512 v = _mm512_zextps128_ps512(_mm_loadu_ps(p));
        if (n > 1) v = _mm512_insertf32x4(v, _mm_loadu_ps(p + ld), 1);
        if (n > 2) v = _mm512_insertf32x4(v, _mm_loadu_ps(p + 2 * ld), 2);
        if (n > 3) v = _mm512_insertf32x4(v, _mm_loadu_ps(p + 3 * ld), 3);
        return v;
    }
    static void store_quarters(float* p, int64_t ld, int64_t n, Reg v) {
        _mm_storeu_ps(p, _mm512_castps512_ps128(v));
        if (n > 1) _mm_storeu_ps(p + ld, _mm512_maskz_extractf32x4_ps(0xF, v, 1));
        if (n > 2) _mm_storeu_ps(p + 2 * ld, _mm512_maskz_extractf32x4_ps(0xF, v, 2));
        if (n > 3) _mm_storeu_ps(p + 3 * ld, _mm512_maskz_extractf32x4_ps(0xF, v, 3));
    }
    // PointwiseStripBody's tail rows: c[i * ldc + j] = v[j][i] for i < rows, j < 4, a row's four
    // columns in one store (by 4 x 4 transposes in each 128-bit quarter).
    static void store_rows4(const Reg (&v)[4], float* c, int64_t ldc, int64_t rows) {
        // Row 4 q + m in quarter q of u[m].
        __m512 u[4];
        transpose4x4_in_quarters(v, u);
        auto quarter = [&]<int Q>() {
            for (int m = 0; m < 4; ++m) {
                if (4 * Q + m < rows) _mm_storeu_ps(c + (4 * Q + m) * ldc, _mm512_maskz_extractf32x4_ps(0xF, u[m], Q));
            }
        };
        quarter.template operator()<0>();
        quarter.template operator()<1>();
        quarter.template operator()<2>();
        quarter.template operator()<3>();
    }
    // PointwiseSpreadBody's permutes: v's first or last eight lanes at the even lanes, zeros
    // between (by the zero-masked single-source permute).
    static Reg spread_low(Reg v) {
        return _mm512_maskz_permutexvar_ps(0x5555, _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7), v);
    }
    static Reg spread_high(Reg v) {
        return _mm512_maskz_permutexvar_ps(0x5555, _mm512_setr_epi32(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15), v);
    }
    // PointwiseSpreadBody's planes: v's first lanes, in order, into the lanes m picks, zeros between.
    static Reg expand(Reg v, Mask m) { return _mm512_maskz_expand_ps(m, v); }
    // PointwiseStripBody's spread stores: lane l takes lane index[l] of (low, high), 0 outside keep.
    static Reg spread2(Mask keep, const uint8_t* index, Reg low, Reg high) {
        const __m512i lanes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(index)));
        return _mm512_maskz_permutex2var_ps(keep, low, lanes, high);
    }
};

struct Avx512DoubleLanes : Avx512F64 {
    using Scalar = double;
    using Reg = V;
    static constexpr int64_t width = kLanes;
    using Avx512F64::load;
    using Avx512F64::store;
    static Mask first(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }
    static Reg load(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
    static void store(double* p, Reg v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
    static Reg broadcast(const double* p) { return _mm512_set1_pd(*p); }
    static Reg relu(Reg x) { return _mm512_maskz_max_pd(__mmask8(0xFF), _mm512_setzero_pd(), x); }
    static void prefetch(const double* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T1); }
    static void prefetch_l1(const double* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
    static void prefetch_store(double* p) { asm volatile("prefetchw %0" : : "m"(*p)); }
    static double sum(Reg v) {
        const __m256d h = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xF, v, 0), _mm512_maskz_extractf64x4_pd(0xF, v, 1));
        const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
        return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
    }
    // As the f32 lanes' sum4.
    static void sum4(const Reg (&v)[4], double* out) {
        const __m512d v01 = _mm512_add_pd(_mm512_shuffle_f64x2(v[0], v[1], 0x44), _mm512_shuffle_f64x2(v[0], v[1], 0xEE));
        const __m512d v23 = _mm512_add_pd(_mm512_shuffle_f64x2(v[2], v[3], 0x44), _mm512_shuffle_f64x2(v[2], v[3], 0xEE));
        __m512d s = _mm512_add_pd(_mm512_shuffle_f64x2(v01, v23, 0x88), _mm512_shuffle_f64x2(v01, v23, 0xDD));
        s = _mm512_add_pd(s, _mm512_permute_pd(s, 0x55));
        _mm256_storeu_pd(out, _mm512_castpd512_pd256(_mm512_permutexvar_pd(_mm512_setr_epi64(0, 2, 4, 6, 0, 0, 0, 0), s)));
    }
    // As the f32 lanes'.
    static Reg spread_low(Reg v) { return _mm512_maskz_permutexvar_pd(0x55, _mm512_setr_epi64(0, 0, 1, 1, 2, 2, 3, 3), v); }
    static Reg spread_high(Reg v) { return _mm512_maskz_permutexvar_pd(0x55, _mm512_setr_epi64(4, 4, 5, 5, 6, 6, 7, 7), v); }
    static Reg expand(Reg v, Mask m) { return _mm512_maskz_expand_pd(m, v); }
    static Reg spread2(Mask keep, const uint8_t* index, Reg low, Reg high) {
        const __m512i lanes = _mm512_cvtepu8_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(index)));
        return _mm512_maskz_permutex2var_pd(keep, low, lanes, high);
    }
};

// Tail columns fused into a strip's first full tile: one as dot products (its sums in memory;
// 14x14's four measured 0-2% slower fused than by the tail kernel: the dot products' fixed
// costs, reductions and epilogue, then weigh on a 4-tile strip), up to 2 with rows across the
// lanes (an accumulator each, with A's and B's registers: 28 + 4 of the 32).
// Lost again, 2026-12-07 (Zen 5, batch 1, 1 thread, 64->384 @14 forward): the four fused in the
// row-by-row spread of the 7x7 column (B_tail from L1, sum4 in the finish), all of a row's at once
// or one column every step: CPU samples in one process even with main's (44.8-45.9 against
// 45.0-46.3; the fused tile cost 1.6-1.7x a plain one, more than the tail kernel's 4-5%).
// Lost too, 2026-12-07 (batch 32, 2 threads, MobileNet-v2's 7x7 forward): the 49th column with
// rows across the lanes (the backward data form) instead of dot products, A's 8 rows at a depth
// step by a masked vgatherdps (stride a_row_stride): 1.56-1.84x the time, the gather binding the
// step loop (61% of the tile's samples on the FMA after it); by each panel of W packed
// transposed first (pack_edge_panel, once per panel for a task's images): 160->960 1.02x,
// 576->160, 960->160 and 960->320 1.7-1.8x, 320->1280 1.2x.
using FloatBody = PointwiseStripBody<Avx512FloatLanes, 8, 3, 1, 2>;
using DoubleBody = PointwiseStripBody<Avx512DoubleLanes, 8, 3, 1, 2>;
// Dot kernel: 6 x 4 accumulators + 6 A registers + 1 B register = 31 of the 32.
using FloatDot = PointwiseDotBody<Avx512FloatLanes, 6, 4>;
using DoubleDot = PointwiseDotBody<Avx512DoubleLanes, 6, 4>;

void strip_f32(const PointwiseStrip<float>& s) { FloatBody::strip(s); }
void strip_f64(const PointwiseStrip<double>& s) { DoubleBody::strip(s); }
void tail_f32(const PointwiseStrip<float>& s) { FloatBody::tail(s); }
void tail_f64(const PointwiseStrip<double>& s) { DoubleBody::tail(s); }
void dot_f32(const PointwiseDot<float>& d) { FloatDot::dot(d); }
void dot_f64(const PointwiseDot<double>& d) { DoubleDot::dot(d); }

using FloatSpread = PointwiseSpreadBody<Avx512FloatLanes>;
using DoubleSpread = PointwiseSpreadBody<Avx512DoubleLanes>;

}  // namespace

PointwiseKernelInfo<float> pointwise_kernel_avx512(float) {
    return {strip_f32, 8, FloatBody::kColumns, tail_f32, dot_f32, 6, 4, Avx512FloatLanes::width, 1, 2,
            FloatSpread::spread_columns, 0, FloatSpread::spreads_planes, true, PointwiseFeed::kInPlace};
}
PointwiseKernelInfo<double> pointwise_kernel_avx512(double) {
    return {strip_f64, 8, DoubleBody::kColumns, tail_f64, dot_f64, 6, 4, Avx512DoubleLanes::width, 1, 2,
            DoubleSpread::spread_columns, 0, DoubleSpread::spreads_planes, true, PointwiseFeed::kInPlace};
}

}  // namespace mln::kernels
