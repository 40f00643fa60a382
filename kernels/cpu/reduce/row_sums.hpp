// Sums of contiguous f32 rows, one kernel per ISA: the contiguous-axis part of ReduceSum and
// ReduceMean (a conv bias gradient sums the H*W planes of NCHW) and global average pooling
// (row sums of an [N*C, H*W] matrix). Each f32 is widened to double and added in double lanes
// (four registers, then a fixed tree), so a sum is within a few ulp of a sequential double
// sum, and its bits do not depend on how rows are split between calls or threads.
#pragma once

#include <myelin.h>

#include <cstdint>

namespace mln::kernels {

// sums[r] = the sum of x[r * stride + i] over i in [0, length), for r in [0, rows).
using RowSumsKernel = void (*)(const float* x, int64_t rows, int64_t length, int64_t stride, double* sums);

void row_sums_scalar(const float* x, int64_t rows, int64_t length, int64_t stride, double* sums);
#if defined(MYELIN_X86_64_KERNELS)
void row_sums_avx2(const float* x, int64_t rows, int64_t length, int64_t stride, double* sums);
void row_sums_avx512(const float* x, int64_t rows, int64_t length, int64_t stride, double* sums);
#endif

RowSumsKernel row_sums_kernel(mln_isa isa);

}  // namespace mln::kernels
