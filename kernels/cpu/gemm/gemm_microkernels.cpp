#include "kernels/cpu/gemm/gemm_microkernel.hpp"

namespace mln::kernels {
namespace {

template <class T, int MR, int NR>
void gemm_scalar_microkernel(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, T alpha, T beta) {
    T accumulator[MR][NR] = {};
    for (int64_t p = 0; p < kc; ++p) {
        for (int i = 0; i < MR; ++i) {
            const T a_value = a[p * MR + i];
            for (int j = 0; j < NR; ++j) accumulator[i][j] += a_value * b[p * NR + j];
        }
    }
    for (int i = 0; i < MR; ++i) {
        T* row = c + i * ldc;
        for (int j = 0; j < NR; ++j) {
            row[j] = beta == T(0) ? alpha * accumulator[i][j] : alpha * accumulator[i][j] + beta * row[j];
        }
    }
}

}  // namespace

void sgemm_scalar_4x8(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
    gemm_scalar_microkernel<float, 4, 8>(kc, a, b, c, ldc, alpha, beta);
}

void dgemm_scalar_4x4(int64_t kc, const double* a, const double* b, double* c, int64_t ldc, double alpha,
                      double beta) {
    gemm_scalar_microkernel<double, 4, 4>(kc, a, b, c, ldc, alpha, beta);
}

GemmMicroKernelInfo<float> sgemm_microkernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX2 || isa == MLN_ISA_AVX512) return {"sgemm_avx2_6x16", 6, 16, sgemm_avx2_6x16};
#endif
    (void)isa;
    return {"sgemm_scalar_4x8", 4, 8, sgemm_scalar_4x8};
}

GemmMicroKernelInfo<double> dgemm_microkernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX2 || isa == MLN_ISA_AVX512) return {"dgemm_avx2_6x8", 6, 8, dgemm_avx2_6x8};
#endif
    (void)isa;
    return {"dgemm_scalar_4x4", 4, 4, dgemm_scalar_4x4};
}

}  // namespace mln::kernels
