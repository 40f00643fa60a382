// Lowering of a block of the im2col column matrix (im2col.hpp) straight into the packed-B panel
// layout of the GEMM micro-kernels (gemm_microkernel.hpp), without an intermediate row:
// columns [pc, pc+kc) x [q0, q0+cols) go to NR-wide panels, panel s at packed + s*NR*kc, row p
// of it at + p*NR, the last panel padded with zeros. One variant per ISA; the AVX-512 one copies
// a panel's piece of an image row with masked loads and does stride 2 with a two-source permute,
// or, on images under 16 columns wide, gathers 16 columns at once, or, where a stride-1 output
// has the input's size, loads 16 columns at once under a mask of the padding.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/nn_args.hpp"
#include "cpu/isa.hpp"

namespace mln::kernels {

template <class T>
using ColumnPanelLowering = void (*)(const T* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                     int64_t cols, int64_t nr, T* packed);

void lower_column_panels_scalar(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, float* packed);
void lower_column_panels_scalar(const double* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, double* packed);
#if defined(MYELIN_X86_64_KERNELS)
void lower_column_panels_avx2(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                              int64_t cols, int64_t nr, float* packed);
void lower_column_panels_avx2(const double* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                              int64_t cols, int64_t nr, double* packed);
void lower_column_panels_avx512(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, float* packed);
void lower_column_panels_avx512(const double* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, double* packed);
#endif

template <class T>
ColumnPanelLowering<T> column_panel_lowering(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return static_cast<ColumnPanelLowering<T>>(lower_column_panels_avx512);
    if (cpu::runs_avx2(isa)) return static_cast<ColumnPanelLowering<T>>(lower_column_panels_avx2);
#endif
    (void)isa;
    return static_cast<ColumnPanelLowering<T>>(lower_column_panels_scalar);
}

}  // namespace mln::kernels
