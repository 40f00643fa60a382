// AVX2 + FMA GEMM micro-kernels. This file is compiled with -mavx2 -mfma -mf16c, so it must
// not define inline functions or templates with external linkage that other files also use
// (the linker could pick this file's AVX2 copy for them): everything but the exported kernels
// lives in an anonymous namespace, and only intrinsics headers are included.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/gemm/gemm_microkernel.hpp"

namespace mln::kernels {
namespace {

struct Avx2Float {
    using Scalar = float;
    using Vector = __m256;
    static constexpr int kLanes = 8;
    static Vector zero() { return _mm256_setzero_ps(); }
    static Vector load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, Vector v) { _mm256_storeu_ps(p, v); }
    static Vector broadcast(float x) { return _mm256_set1_ps(x); }
    static Vector fmadd(Vector a, Vector b, Vector c) { return _mm256_fmadd_ps(a, b, c); }
    static Vector mul(Vector a, Vector b) { return _mm256_mul_ps(a, b); }
};

struct Avx2Double {
    using Scalar = double;
    using Vector = __m256d;
    static constexpr int kLanes = 4;
    static Vector zero() { return _mm256_setzero_pd(); }
    static Vector load(const double* p) { return _mm256_loadu_pd(p); }
    static void store(double* p, Vector v) { _mm256_storeu_pd(p, v); }
    static Vector broadcast(double x) { return _mm256_set1_pd(x); }
    static Vector fmadd(Vector a, Vector b, Vector c) { return _mm256_fmadd_pd(a, b, c); }
    static Vector mul(Vector a, Vector b) { return _mm256_mul_pd(a, b); }
};

// MR rows x (VECTORS * lanes) columns, accumulators held in MR * VECTORS registers.
template <class Isa, int MR, int VECTORS>
void gemm_avx2_microkernel(int64_t kc, const typename Isa::Scalar* a, const typename Isa::Scalar* b,
                           typename Isa::Scalar* c, int64_t ldc, typename Isa::Scalar alpha,
                           typename Isa::Scalar beta) {
    using Vector = typename Isa::Vector;
    constexpr int NR = VECTORS * Isa::kLanes;
    Vector accumulator[MR][VECTORS];
    for (int i = 0; i < MR; ++i) {
        for (int v = 0; v < VECTORS; ++v) accumulator[i][v] = Isa::zero();
    }
    for (int64_t p = 0; p < kc; ++p) {
        Vector b_row[VECTORS];
        for (int v = 0; v < VECTORS; ++v) b_row[v] = Isa::load(b + v * Isa::kLanes);
        for (int i = 0; i < MR; ++i) {
            const Vector a_value = Isa::broadcast(a[i]);
            for (int v = 0; v < VECTORS; ++v) accumulator[i][v] = Isa::fmadd(a_value, b_row[v], accumulator[i][v]);
        }
        a += MR;
        b += NR;
    }
    const Vector alpha_vector = Isa::broadcast(alpha);
    if (beta == typename Isa::Scalar(0)) {
        for (int i = 0; i < MR; ++i) {
            for (int v = 0; v < VECTORS; ++v) {
                Isa::store(c + i * ldc + v * Isa::kLanes, Isa::mul(alpha_vector, accumulator[i][v]));
            }
        }
    } else {
        const Vector beta_vector = Isa::broadcast(beta);
        for (int i = 0; i < MR; ++i) {
            for (int v = 0; v < VECTORS; ++v) {
                typename Isa::Scalar* target = c + i * ldc + v * Isa::kLanes;
                Isa::store(target, Isa::fmadd(beta_vector, Isa::load(target), Isa::mul(alpha_vector, accumulator[i][v])));
            }
        }
    }
}

}  // namespace

void sgemm_avx2_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
    gemm_avx2_microkernel<Avx2Float, 6, 2>(kc, a, b, c, ldc, alpha, beta);
}

void dgemm_avx2_6x8(int64_t kc, const double* a, const double* b, double* c, int64_t ldc, double alpha,
                    double beta) {
    gemm_avx2_microkernel<Avx2Double, 6, 2>(kc, a, b, c, ldc, alpha, beta);
}

}  // namespace mln::kernels
