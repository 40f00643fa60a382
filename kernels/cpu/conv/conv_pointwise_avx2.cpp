// AVX2 + FMA pointwise strip kernels: 6 rows x 2 ymm registers (f32 6 x 16, f64 6 x 8), the
// shape of the GEMM's AVX2 micro-kernel: 12 accumulators, 2 B registers and a broadcast fill
// 15 of the 16 registers. Lost on MobileNet-v2's 14x14 and 7x7 layers (Zen 3, batch 1, A/B in one
// process): 4 x 24 tiles (3 loads and 4 broadcasts per 12 FMAs) forward even, backward data
// 1.03-1.18x the time; AVX-512's fused dot-product tail (one column at 7x7) forward 1.04-1.10x,
// prepared 1.09-1.24x.
#include <immintrin.h>

#include "kernels/cpu/common/vector_math_avx2.hpp"
#include "kernels/cpu/conv/conv_pointwise_body.hpp"

namespace mln::kernels {
namespace {

// The vector traits' arithmetic plus the masks (integer ones, for maskload/maskstore),
// broadcast, ReLU and sum the bodies need.
struct Avx2FloatLanes : Avx2F32 {
    using Scalar = float;
    using Reg = V;
    using Mask = __m256i;
    static constexpr int64_t width = kLanes;
    using Avx2F32::load;
    using Avx2F32::store;
    static Mask first(int64_t n) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    static Reg load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
    static void store(float* p, Reg v, Mask m) { _mm256_maskstore_ps(p, m, v); }
    static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
    // max returns its second operand when either is NaN: NaN in x comes through.
    static Reg relu(Reg x) { return _mm256_max_ps(_mm256_setzero_ps(), x); }
    static void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T1); }
    static float sum(Reg v) {
        __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        q = _mm_add_ps(q, _mm_movehl_ps(q, q));
        return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
    }
};

struct Avx2DoubleLanes : Avx2F64 {
    using Scalar = double;
    using Reg = V;
    using Mask = __m256i;
    static constexpr int64_t width = kLanes;
    using Avx2F64::load;
    using Avx2F64::store;
    static Mask first(int64_t n) { return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)); }
    static Reg load(const double* p, Mask m) { return _mm256_maskload_pd(p, m); }
    static void store(double* p, Reg v, Mask m) { _mm256_maskstore_pd(p, m, v); }
    static Reg broadcast(const double* p) { return _mm256_broadcast_sd(p); }
    static Reg relu(Reg x) { return _mm256_max_pd(_mm256_setzero_pd(), x); }
    static void prefetch(const double* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T1); }
    static double sum(Reg v) {
        const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
        return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
    }
};

// Short panels of 4 rows (8 accumulators) where the channels leave 4 or 2 x 4 rows past the last
// 6-row panel (PointwiseKernelInfo::short_rows): a zero-padded 6-row edge panel spent 2 or 4 of
// its 6 rows' FMAs on nothing (MobileNet-v2's 16, 32, 64 and 160 channels).
// f32 fuses backward data's one tail column (7x7 images) into a tile, rows across one register's
// lanes (its 6 or 4 rows of W^T: the line the tile's broadcasts read), instead of the tail kernel's
// pass over all of W^T per task (Zen 3, batch 1, 1 thread, min of 3000 calls, vs main: MobileNet-v2
// 960->160 0.96-1.01x the time, 960->320 0.87-0.91x, ResNet-18's layer4 1x1/2 0.92-0.98x); f64's 4
// lanes hold too few rows.
using FloatBody = PointwiseStripBody<Avx2FloatLanes, 6, 2, 0, 1, 4>;
using DoubleBody = PointwiseStripBody<Avx2DoubleLanes, 6, 2, 0, 0, 4>;

// Dot kernel: 3 x 3 accumulators + 3 A registers + 1 B register = 13 of the 16.
using FloatDot = PointwiseDotBody<Avx2FloatLanes, 3, 3>;
using DoubleDot = PointwiseDotBody<Avx2DoubleLanes, 3, 3>;

void strip_f32(const PointwiseStrip<float>& s) { FloatBody::strip(s); }
void strip_f64(const PointwiseStrip<double>& s) { DoubleBody::strip(s); }
void tail_f32(const PointwiseStrip<float>& s) { FloatBody::tail(s); }
void tail_f64(const PointwiseStrip<double>& s) { DoubleBody::tail(s); }
void dot_f32(const PointwiseDot<float>& d) { FloatDot::dot(d); }
void dot_f64(const PointwiseDot<double>& d) { DoubleDot::dot(d); }

using FloatSpread = PointwiseSpreadBody<Avx2FloatLanes>;
using DoubleSpread = PointwiseSpreadBody<Avx2DoubleLanes>;

}  // namespace

PointwiseKernelInfo<float> pointwise_kernel_avx2(float) {
    return {strip_f32, 6, FloatBody::kColumns, tail_f32, dot_f32, 3, 3, Avx2FloatLanes::width, 0, 1,
            FloatSpread::spread_columns, 4};
}
PointwiseKernelInfo<double> pointwise_kernel_avx2(double) {
    return {strip_f64, 6, DoubleBody::kColumns, tail_f64, dot_f64, 3, 3, Avx2DoubleLanes::width, 0, 0,
            DoubleSpread::spread_columns, 4};
}

}  // namespace mln::kernels
