// Pointwise (1x1) backward filter as GEMMs over chunks of images, for the shapes the dot kernel
// (conv_pointwise.hpp) serves worse: images of few positions, and many images whose vector
// partial sums would not fit in L2. See conv_pointwise_filter.cpp.
#pragma once

#include <cstdint>

#include "core/nn_args.hpp"

namespace mln::kernels {

// dW_g = sum over images n of dy_ng (Mg x P) * x_ng^T (P x Cg), P = a.geometry.out_size(),
// written to a.w (the bias gradient is the caller's); a strided layer's positions of x are
// gathered chunk by chunk.
template <class T>
void conv_pointwise_backward_filter_gemm(const ConvArgs& a);

// Runs the broadcast kernel (conv_pointwise_filter_avx512.cpp and _avx2.cpp: f32, one group, stride
// 1, large images, one operand of 9 to 32 channels (AVX2: 9 or more) against 2 times as many rows
// of the other per lane) where it serves the call; false where not.
bool conv_pointwise_backward_filter_broadcast(const ConvArgs& a);
// Whether it transposes x (else dy: at most one of them qualifies).
bool pointwise_filter_broadcast_takes_x(const ConvArgs& a);
// One block of positions of the broadcast kernel: bt (positions x width, width 16 or 32) = B's
// b_rows rows (b[j * ldb + p]) transposed, zero past b_rows; then acc[r * width + j] += sum over
// p of a[r * lda + p] * bt[p * width + j] for r < a_rows.
void pointwise_filter_broadcast_block_avx512(const float* b, int64_t ldb, int64_t b_rows, int64_t width,
                                             const float* a, int64_t lda, int64_t a_rows, int64_t positions,
                                             float* bt, float* acc);
// The same at AVX2 (conv_pointwise_filter_avx2.cpp), width a multiple of 8 lanes, with bt's
// columns in groups of 32 (each group's positions contiguous: bt[32 c * positions + p * w + j]
// for column 32 c + j, w the group's width).
void pointwise_filter_broadcast_block_avx2(const float* b, int64_t ldb, int64_t b_rows, int64_t width,
                                           const float* a, int64_t lda, int64_t a_rows, int64_t positions,
                                           float* bt, float* acc);

// The rows and columns of a tile of pointwise_filter_images_tile_avx512 at most.
constexpr int64_t kImagesTileMaxRows = 8;
constexpr int64_t kImagesTileMaxCols = 32;
// c[i * ldc + j] = (first ? 0 : c[i * ldc + j]) + the sum over images n < images, then positions
// p < positions, of a[n * a_image_stride + i * lda + p] * b[(n * positions + p) * 32 + j] for
// i < rows (1 to 8), j < cols (1 to 32): one tile of dW summed over several images in registers,
// A's rows read in place image after image, B a panel of 32 columns packed across the images
// (AVX-512 f32). Where next_a is not null, the next tile's 8 rows of A (at next_a, A's strides)
// are fetched into cache at the pace this tile reads its own.
void pointwise_filter_images_tile_avx512(const float* a, int64_t lda, int64_t a_image_stride, int64_t rows,
                                         const float* b, int64_t images, int64_t positions, float* c, int64_t ldc,
                                         int64_t cols, bool first, const float* next_a);

// panel[p * 32 + j] = b[j * ldb + p] for p < positions, j < cols (1 to 32), 0 for cols <= j < 32:
// a panel of B for pointwise_filter_images_tile_avx512, in 16 x 16 register transposes (AVX-512 f32).
void pointwise_filter_images_panel_avx512(const float* b, int64_t ldb, int64_t cols, int64_t positions,
                                          float* panel);

// panel[(o * count + w) * 32 + j] = x[j * channel_stride + o * row_step + 2 w] for o < rows, w <
// count, j < cols (1 to 32), 0 for cols <= j < 32: the panel of pointwise_filter_images_panel_avx512
// gathered straight from a strided layer's rows of stride 2, a piece of up to 16 outputs of 16
// channels at a time (AVX-512 f32). Reads x only below x_floats (the end of the image's channels).
void pointwise_filter_images_panel_stride2_avx512(const float* x, int64_t channel_stride, int64_t cols, int64_t rows,
                                                  int64_t row_step, int64_t count, int64_t x_floats, float* panel);

// compact[(c * rows + o) * count + j] = x[c * channel_stride + o * row_step + 2 j] for c <
// channels, o < rows, j < count: rows of x at stride 2, a register of 16 outputs from two of
// inputs (AVX-512 f32). Reads x only inside its channels (from each row the inputs up to
// 2 (count - 1) and past them at most to the end of x).
void gather_stride2_rows_avx512(const float* x, int64_t channels, int64_t channel_stride, int64_t rows,
                                int64_t row_step, int64_t count, float* compact);

// to[k * to_stride + j] = x[k * channel_stride + (q / count) * row_step + 2 (q % count)] for k <
// depth, j < n, q = q0 + j: a block of a stride-2 layer's output positions (count a row) gathered
// from x's channels, pieces of up to 16 outputs a row (AVX-512 f32). Reads x only inside its
// depth channels.
void gather_stride2_columns_avx512(const float* x, int64_t depth, int64_t channel_stride, int64_t row_step,
                                   int64_t count, int64_t q0, int64_t n, float* to, int64_t to_stride);

// Whether gather_stride2_rows_avx512 serves a strided layer's rows (f32, the callers' part):
// AVX-512 active, stride 2 along the rows, no plane axis (2-d and 1-d layers).
bool gathers_stride2_rows(const WindowGeometry& g);

// to[i * to_stride + j] = from[j * from_stride + i] for i < rows, j < cols (1 to 16 each): one
// tile of a transpose in AVX-512 registers (f32).
void transpose_tile_avx512(const float* from, int64_t from_stride, int64_t rows, int64_t cols, float* to,
                           int64_t to_stride);

// Whether the GEMM path's products (dW's columns, or dW^T's where the GEMM runs transposed) fill
// at least 4/5 of their tiles of `nr` columns: the in-place tiles mask a partial last tile, whose
// idle lanes cost what the dot kernel saves below that.
bool pointwise_filter_gemm_fills_columns(const ConvArgs& a, int64_t nr);

// Both drivers cut the sum over the images into slices: runs of consecutive images (of `units`
// runs), each summed into its own copy of dW (slice 0's is dW itself), the copies then added in
// slice order, so every element of dW is summed in one order whatever the thread count. The
// count follows from the shape alone: at most 8 (enough to occupy the threads), fewer where the
// copies of dW (filter_size elements each) would weigh against the inputs (input_elements).
int64_t pointwise_filter_slices(int64_t units, int64_t input_elements, int64_t filter_size);

// dw[i] += copies[(s - 1) * size + i] for s = 1 .. slices - 1 in order, over the pool.
template <class T>
void add_slice_sums(T* dw, const T* copies, int64_t slices, int64_t size);

// dw_g (rows x cols) = the sum over s = 0 .. slices - 1, in order, of copy s of dw_g^T
// (copies[s * groups * rows * cols + g * rows * cols + j * rows + i] for dw_g(i, j)), over the
// pool; the first copy is overwritten with the sum.
template <class T>
void add_transposed_slice_sums(T* dw, T* copies, int64_t slices, int64_t groups, int64_t rows, int64_t cols);

}  // namespace mln::kernels
