// The GEMM micro-kernel contract (BLIS style) and the registry of micro-kernels.
//
// A micro-kernel computes one MR x NR tile of C from packed panels:
//   C[i][j] = alpha * sum_p A[p*MR + i] * B[p*NR + j] + beta * C[i][j]   (0 <= p < kc)
// where A holds kc columns of MR values and B holds kc rows of NR values (see gemm_pack.hpp),
// and C is row-major with row stride ldc (elements) and unit column stride. With beta == 0
// C is only written, never read. kc may be 0. The tile is always full: the driver passes a
// scratch tile for edges and strided C.
#pragma once

#include <myelin.h>

#include <cstdint>

namespace mln::kernels {

template <class T>
using GemmMicroKernel = void (*)(int64_t kc, const T* a_panel, const T* b_panel, T* c, int64_t ldc, T alpha, T beta);

template <class T>
struct GemmMicroKernelInfo {
    const char* name;
    int mr;
    int nr;
    GemmMicroKernel<T> kernel;
};

// Largest MR * NR of any micro-kernel (scratch tiles are sized by it).
constexpr int kMaxMicroTile = 6 * 16;

// Portable micro-kernels.
void sgemm_scalar_4x8(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta);
void dgemm_scalar_4x4(int64_t kc, const double* a, const double* b, double* c, int64_t ldc, double alpha,
                      double beta);

#if defined(MYELIN_X86_64_KERNELS)
// AVX2 + FMA micro-kernels (gemm_microkernels_avx2.cpp); call only when the ISA allows.
void sgemm_avx2_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta);
void dgemm_avx2_6x8(int64_t kc, const double* a, const double* b, double* c, int64_t ldc, double alpha,
                    double beta);
#endif

// The micro-kernel GEMM uses at `isa` (falls back to scalar for ISAs without one).
GemmMicroKernelInfo<float> sgemm_microkernel(mln_isa isa);
GemmMicroKernelInfo<double> dgemm_microkernel(mln_isa isa);

}  // namespace mln::kernels
