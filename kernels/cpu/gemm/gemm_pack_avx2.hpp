// AVX2 packers for full float panels (gemm_pack_avx2.cpp); call only when the ISA allows.
// Layouts as in gemm_pack.hpp: B panels of 16 columns, A panels of 6 rows.
#pragma once

#include <cstdint>

namespace mln::kernels {

// B(p, j) = b[p * row_stride + j] (rows contiguous): `panels` panels of 16 columns x depth rows.
void sgemm_avx2_pack_b16_rows(const float* b, int64_t row_stride, int64_t depth, int64_t panels, float* packed);
// B(p, j) = b[j * col_stride + p] (columns contiguous, b transposed): `columns` (1..16) columns,
// zeros after them.
void sgemm_avx2_pack_b16_columns(const float* b, int64_t col_stride, int64_t depth, int columns, float* packed);
// A(i, p) = a[i * row_stride + p] (rows contiguous): 6 rows x depth columns.
void sgemm_avx2_pack_a6_rows(const float* a, int64_t row_stride, int64_t depth, float* packed);
// A(i, p) = a[p * col_stride + i] (columns contiguous, a transposed): `panels` panels of 6 rows.
void sgemm_avx2_pack_a6_columns(const float* a, int64_t col_stride, int64_t depth, int64_t panels, float* packed);

}  // namespace mln::kernels
