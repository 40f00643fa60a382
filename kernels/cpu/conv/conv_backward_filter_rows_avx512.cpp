// AVX-512 micro-kernel of the direct backward filter (conv_backward_filter_rows.hpp): 8 rows x
// 2 registers of C, the loop of the AVX-512 GEMM micro-kernel (gemm_microkernels_avx512.cpp)
// with an outer loop over output rows. Only intrinsics headers are included (AVX-512 flags).
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/conv/conv_backward_filter_rows.hpp"

namespace mln::kernels {
namespace {

struct Avx512Float {
    using Scalar = float;
    using Vector = __m512;
    static constexpr int kLanes = 16;
    static Vector zero() { return _mm512_setzero_ps(); }
    static Vector load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, Vector v) { _mm512_storeu_ps(p, v); }
    static Vector broadcast(const float* p) { return _mm512_set1_ps(*p); }
    static Vector fmadd(Vector a, Vector b, Vector c) { return _mm512_fmadd_ps(a, b, c); }
    static Vector add(Vector a, Vector b) { return _mm512_add_ps(a, b); }
};

struct Avx512Double {
    using Scalar = double;
    using Vector = __m512d;
    static constexpr int kLanes = 8;
    static Vector zero() { return _mm512_setzero_pd(); }
    static Vector load(const double* p) { return _mm512_loadu_pd(p); }
    static void store(double* p, Vector v) { _mm512_storeu_pd(p, v); }
    static Vector broadcast(const double* p) { return _mm512_set1_pd(*p); }
    static Vector fmadd(Vector a, Vector b, Vector c) { return _mm512_fmadd_pd(a, b, c); }
    static Vector add(Vector a, Vector b) { return _mm512_add_pd(a, b); }
};

template <class Isa>
void rows_kernel(int64_t rows, int64_t length, const typename Isa::Scalar* a, int64_t a_row_stride, int64_t a_pitch,
                 const typename Isa::Scalar* b, typename Isa::Scalar* c, int64_t ldc, bool first) {
    using Vector = typename Isa::Vector;
    constexpr int MR = 8;
    constexpr int kLanes = Isa::kLanes;
    constexpr int NR = 2 * kLanes;
    for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    Vector acc[MR][2];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = Isa::zero();
    for (int64_t r = 0; r < rows; ++r) {
        const typename Isa::Scalar* a_row = a + r * a_pitch;
        for (int64_t q = 0; q < length; ++q) {
            _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR), _MM_HINT_T0);
            const Vector b0 = Isa::load(b);
            const Vector b1 = Isa::load(b + kLanes);
#pragma GCC unroll 16
            for (int i = 0; i < MR; ++i) {
                const Vector x = Isa::broadcast(a_row + i * a_row_stride + q);
                acc[i][0] = Isa::fmadd(x, b0, acc[i][0]);
                acc[i][1] = Isa::fmadd(x, b1, acc[i][1]);
            }
            b += NR;
        }
    }
    if (!first) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            acc[i][0] = Isa::add(Isa::load(c + i * ldc), acc[i][0]);
            acc[i][1] = Isa::add(Isa::load(c + i * ldc + kLanes), acc[i][1]);
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
        Isa::store(c + i * ldc, acc[i][0]);
        Isa::store(c + i * ldc + kLanes, acc[i][1]);
    }
}

}  // namespace

void backward_filter_rows_avx512(int64_t rows, int64_t length, const float* a, int64_t a_row_stride, int64_t a_pitch,
                                 const float* b, float* c, int64_t ldc, bool first) {
    rows_kernel<Avx512Float>(rows, length, a, a_row_stride, a_pitch, b, c, ldc, first);
}

void backward_filter_rows_avx512(int64_t rows, int64_t length, const double* a, int64_t a_row_stride,
                                 int64_t a_pitch, const double* b, double* c, int64_t ldc, bool first) {
    rows_kernel<Avx512Double>(rows, length, a, a_row_stride, a_pitch, b, c, ldc, first);
}

}  // namespace mln::kernels
