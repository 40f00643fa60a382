// The direct backward filter's micro-kernel (conv_backward_filter.hpp, direct mode): one tile of
// dW^T, MR depth rows (channels of one tap) x NR output channels, over a rectangle of output
// positions, `rows` output rows of `length` each:
//   C(i, j) (+)= sum_{r < rows, q < length} a[i * a_row_stride + r * a_pitch + q] * b[(r * length + q) * NR + j]
// A is read in place from the padded image (a_pitch: the padded row), B is dy packed in NR-wide
// panels. The GEMM micro-kernel does one output row per call; this one keeps the tile in
// registers over the whole rectangle (ResNet-18's layer2 3x3, 28 wide, batch 1, one thread, CPU
// time: lowered path 1.43 ms, direct with the GEMM micro-kernel per row 1.94, with this 1.19).
// C is written with beta 0 when `first`.
// AVX-512 only (MR 8, NR two registers, as the AVX-512 GEMM micro-kernels); elsewhere the
// direct mode calls the GEMM micro-kernel once per row.
#pragma once

#include <myelin.h>

#include <cstdint>

namespace mln::kernels {

template <class T>
using DirectRowsKernel = void (*)(int64_t rows, int64_t length, const T* a, int64_t a_row_stride, int64_t a_pitch,
                                  const T* b, T* c, int64_t ldc, bool first);

#if defined(MYELIN_X86_64_KERNELS)
void backward_filter_rows_avx512(int64_t rows, int64_t length, const float* a, int64_t a_row_stride, int64_t a_pitch,
                                 const float* b, float* c, int64_t ldc, bool first);
void backward_filter_rows_avx512(int64_t rows, int64_t length, const double* a, int64_t a_row_stride,
                                 int64_t a_pitch, const double* b, double* c, int64_t ldc, bool first);
#endif

// The kernel for `isa` and the GEMM micro-kernel's tile (mr x nr), or nullptr where none fits.
template <class T>
DirectRowsKernel<T> direct_rows_kernel(mln_isa isa, int mr, int nr) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512 && mr == 8 && nr == 128 / static_cast<int>(sizeof(T))) {
        return static_cast<DirectRowsKernel<T>>(backward_filter_rows_avx512);
    }
#endif
    (void)isa;
    (void)mr;
    (void)nr;
    return nullptr;
}

}  // namespace mln::kernels
