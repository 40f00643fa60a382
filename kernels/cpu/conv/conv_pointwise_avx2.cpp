// AVX2 + FMA pointwise strip kernels: 6 rows x 2 ymm registers (f32 6 x 16, f64 6 x 8), the
// shape of the GEMM's AVX2 micro-kernel: 12 accumulators, 2 B registers and a broadcast fill
// 15 of the 16 registers.
#include <immintrin.h>

#include "kernels/cpu/conv/conv_pointwise_body.hpp"

namespace mln::kernels {
namespace {

struct Avx2FloatLanes {
    using Scalar = float;
    using Reg = __m256;
    using Mask = __m256i;
    static constexpr int64_t width = 8;
    static Mask first(int64_t n) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    static Reg load(const float* p) { return _mm256_loadu_ps(p); }
    static Reg load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
    static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
    static void store(float* p, Reg v, Mask m) { _mm256_maskstore_ps(p, m, v); }
    static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
    static Reg set1(float v) { return _mm256_set1_ps(v); }
    static Reg zero() { return _mm256_setzero_ps(); }
    static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
    static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
    // max returns its second operand when either is NaN: NaN in x comes through.
    static Reg relu(Reg x) { return _mm256_max_ps(_mm256_setzero_ps(), x); }
};

struct Avx2DoubleLanes {
    using Scalar = double;
    using Reg = __m256d;
    using Mask = __m256i;
    static constexpr int64_t width = 4;
    static Mask first(int64_t n) { return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)); }
    static Reg load(const double* p) { return _mm256_loadu_pd(p); }
    static Reg load(const double* p, Mask m) { return _mm256_maskload_pd(p, m); }
    static void store(double* p, Reg v) { _mm256_storeu_pd(p, v); }
    static void store(double* p, Reg v, Mask m) { _mm256_maskstore_pd(p, m, v); }
    static Reg broadcast(const double* p) { return _mm256_broadcast_sd(p); }
    static Reg set1(double v) { return _mm256_set1_pd(v); }
    static Reg zero() { return _mm256_setzero_pd(); }
    static Reg add(Reg a, Reg b) { return _mm256_add_pd(a, b); }
    static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_pd(a, b, c); }
    static Reg relu(Reg x) { return _mm256_max_pd(_mm256_setzero_pd(), x); }
};

using FloatBody = PointwiseStripBody<Avx2FloatLanes, 6, 2>;
using DoubleBody = PointwiseStripBody<Avx2DoubleLanes, 6, 2>;

void strip_f32(const PointwiseStrip<float>& s) { FloatBody::strip(s); }
void strip_f64(const PointwiseStrip<double>& s) { DoubleBody::strip(s); }

}  // namespace

PointwiseKernelInfo<float> pointwise_kernel_avx2(float) { return {strip_f32, 6, FloatBody::kColumns}; }
PointwiseKernelInfo<double> pointwise_kernel_avx2(double) { return {strip_f64, 6, DoubleBody::kColumns}; }

}  // namespace mln::kernels
