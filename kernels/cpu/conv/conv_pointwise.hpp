// Pointwise (1x1) convolution: with a 1x1 kernel and no padding the NCHW image already is the
// GEMM's column matrix, so every pass is a GEMM per (image, group) whose operands are read in
// place, never lowered or packed:
//   forward        y_g  (Mg x P) = W_g   (Mg x Cg) * x_g  (Cg x P)  + bias, residual, activation
//   backward data  dx_g (Cg x P) = W_g^T (Cg x Mg) * dy_g (Mg x P)
// A strip kernel computes MR rows of C across a block of columns: each MR x NR tile sums the
// whole depth in registers (one store per output, the bias in the accumulators' start value,
// residual and ReLU at the store), reading B (the image's rows) with row stride P and A (the
// weights, tiny next to the images) through any strides, so W^T needs no copy either. The last
// tile of a strip is masked instead of going through a scratch tile. Stride-s 1x1 layers
// (ResNet's shortcut) gather the strided positions into a compact image first (forward) or
// spread a compact dx with zeros between (backward data). See conv_pointwise.cpp for the
// blocking and threading.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/nn_args.hpp"
#include "cpu/isa.hpp"

namespace mln::kernels {

// A strided backward data pass's outputs spread into dx by the strip kernel's own stores (where
// the kernel takes it: PointwiseKernelInfo::spreads_in_stores), one geometry's map from the compact
// grid of the outputs (q < positions) to the input grid (in_size positions per channel, its
// registers of `lanes` positions w counted from each plane's start). Output q owns the input
// positions [input[q], input[q + 1]) (to in_size for the last): its value, then the zeros up to
// the next output's. Register w takes its values from the two registers of outputs from
// lanes * r(w) on, r(w) the register of the first output at or after w's first position: its
// lane l holds output lanes * r(w) + index[w * lanes + l] where keep[w] has bit l, else 0;
// first_register[r] is the first w with r(w) >= r, for r <= ceil(positions / lanes).
struct PointwiseSpreadPlan {
    int64_t positions = 0, in_size = 0;
    const int32_t* input = nullptr;
    const int32_t* first_register = nullptr;
    const uint16_t* keep = nullptr;
    const uint8_t* index = nullptr;
};

// One strip: C(i, j) for rows i < rows (at most the kernel's MR) and columns j < cols:
//   C(i, j) = (accumulate ? C(i, j) : 0) + bias[i] + sum_{k < depth} A(i, k) * B(k, j) + residual(i, j)
// then ReLU if relu; A(i, k) = a[i * a_row_stride + k * a_col_stride], B(k, j) =
// b[k * b_row_stride + j], C(i, j) = c[i * ldc + j], residual(i, j) = residual[i * ldc + j];
// bias and residual may be nullptr. C is read only when accumulating, so NaN in an output
// that is overwritten does not propagate. Nothing outside depth x cols of B or rows x cols of C
// and the residual is read or written; A must have all MR rows readable (the kernel computes
// them all and drops those past `rows`: the driver passes a zero-padded panel for a last one).
template <class T>
struct PointwiseStrip {
    int64_t depth = 0;
    const T* a = nullptr;
    int64_t a_row_stride = 0, a_col_stride = 0;
    const T* b = nullptr;
    int64_t b_row_stride = 0;
    T* c = nullptr;
    int64_t ldc = 0;
    int64_t rows = 0, cols = 0;
    const T* bias = nullptr;
    const T* residual = nullptr;
    bool relu = false;
    bool accumulate = false;
    // Full tiles prefetch the next tile's columns of B (into L2) as they step along the depth:
    // B comes from memory in as many rows as the depth, more streams than the hardware
    // prefetchers follow.
    bool prefetch_b = false;
    // Full tiles prefetch the next tile's columns of B into L1 instead (where the kernel can):
    // a shallow depth, whose next tile's rows fit L1 beside the current one's.
    bool prefetch_b_l1 = false;
    // Each tile first fetches its lines of C for writing (where the kernel's lanes can): C then
    // comes from memory.
    bool prefetch_c = false;
    // Where stream_lines > 0: the strip's tiles without fused tail columns also prefetch into L2
    // the stream_lines cache lines from `stream` on (64 bytes apart), one per depth step, tile t
    // of the strip (from column t * NR) the lines from t * depth on: the next task's images,
    // which its first panel would otherwise fetch from memory alone.
    const T* stream = nullptr;
    int64_t stream_lines = 0;
    // Where tail_cols > 0 (PointwiseKernelInfo's fused_tail_columns, fused_row_tail_columns):
    // the strip's first full tile also computes C's columns cols .. cols + tail_cols - 1, as
    // the tail kernel would (same sums, same order: dot products along the depth where A's
    // columns are adjacent, a_col_stride 1, else rows across the lanes), B's column j
    // depth-contiguous at tail_b + j * tail_b_stride. The tile reads A's lines for its
    // broadcasts just before, so the tail finds them in L1.
    const T* tail_b = nullptr;
    int64_t tail_b_stride = 0;
    int64_t tail_cols = 0;
    // Where set (backward data only: no bias, residual, ReLU or accumulation), the strip's full
    // and masked tiles store their outputs spread into x by the plan instead of into C: row i's
    // plane at spread_to + i * spread->in_size, column j being output spread_q + j (spread_q a
    // multiple of the lanes); each tile writes the input positions its outputs own. C is then
    // written only by the fused tail columns (tail_cols).
    const PointwiseSpreadPlan* spread = nullptr;
    T* spread_to = nullptr;
    int64_t spread_q = 0;
};

template <class T>
using PointwiseStripKernel = void (*)(const PointwiseStrip<T>& strip);

// The same outputs for a strip's last few columns (cols fewer than a register's lanes), which
// the strip kernel would compute in a masked register: a whole vector of FMAs per row and depth
// step for them (49 positions at 7x7 are 3 full registers and one lane: a quarter of the work).
// Any number of rows; B comes transposed, each column depth-contiguous: B(k, j) = b[j *
// b_row_stride + k]. Where A's columns are adjacent (a_col_stride 1: the forward pass's W)
// they are dot products along the depth, otherwise A's rows must be (a_row_stride 1: backward
// data's W^T) and the rows go across the lanes. Only the `rows` rows of A are read.
template <class T>
using PointwiseTailKernel = void (*)(const PointwiseStrip<T>& tail);

// Backward filter, dW_g (Mg x Cg) = sum over images n of dy_ng (Mg x P) * x_ng^T, as dot
// products along the positions, which both operands hold contiguously: a block of rows of dy and
// of x is read in place, lanes run along the positions and each accumulator is one (row, row)
// pair's vector of partial sums. One call:
//   S(i, j) (+)= sum_{n < images} sum_{p < positions} A_n(i, p) * B_n(j, p)
// for i < rows (at most the kernel's dot_rows), j < cols (at most dot_cols), A_n(i, p) =
// a[n * a_image_stride + i * a_row_stride + p], B likewise. S lives in `partial` (dot_rows x
// dot_cols vectors of the kernel's lanes) between calls: resume starts from it, else from 0;
// with c set the sums are then reduced and written to C(i, j) = c[i * c_row_stride + j *
// c_col_stride] (a transposed C: dW with x as A), else left in
// partial. Nothing outside rows x positions of A or cols x positions of B is read.
template <class T>
struct PointwiseDot {
    const T* a = nullptr;
    int64_t a_row_stride = 0, a_image_stride = 0, rows = 0;
    const T* b = nullptr;
    int64_t b_row_stride = 0, b_image_stride = 0, cols = 0;
    int64_t positions = 0, images = 0;
    T* partial = nullptr;
    bool resume = false;
    T* c = nullptr;
    int64_t c_row_stride = 0, c_col_stride = 1;
    // When nonzero: while reading A's rows, prefetch into L2 the lines this many elements further
    // on (the caller's next rows of A).
    int64_t a_prefetch = 0;
    // Likewise for B's rows (the caller's next tile's, while its first row of tiles brings B in).
    int64_t b_prefetch = 0;
};

template <class T>
using PointwiseDotKernel = void (*)(const PointwiseDot<T>& dot);

// A strided 1x1 layer's outputs (all axes stride s, no padding: output position q at input
// position input_position(q)) spread from the compact grid of the outputs into x's grid, zeros
// between: x(k, i) for input positions i in [i_begin, i_end) and k < depth, x's channels
// g.in_size() apart, x(k, input_position(q)) = from(k, q - q0) for q in [q0, q_end) (from's rows
// from_row_stride apart), 0 at the positions between the strided ones.
template <class T>
using PointwiseSpreadColumns = void (*)(const WindowGeometry& g, const T* from, int64_t from_row_stride,
                                        int64_t depth, int64_t q0, int64_t q_end, int64_t i_begin, int64_t i_end,
                                        T* x);

// Whether PointwiseSpreadColumns spreads whole planes of g (a block of every output position)
// in registers, one stream over the channels.
using PointwiseSpreadsPlanes = bool (*)(const WindowGeometry& g);

// How run_pointwise_gemm feeds a strip kernel, each plan measured on the ISA that takes it.
// kPackedTiles (AVX2 and scalar; Zen 3, 32 KiB L1): depth blocks of kDepthBlockBytes, a task's
// tiles of B packed where it has enough panels (14x14 images read in place in blocks of
// kInPlaceDepthBlockBytes instead), large images prefetching on every panel. kInPlace (AVX-512;
// Zen 5, 48 KiB L1): depth blocks of kDepthBlockBytesAvx512 read in place, in L1 column chunks,
// the next task's images streamed into L2 at batch 32, the forward's tail columns once per task.
enum class PointwiseFeed { kPackedTiles, kInPlace };

template <class T>
struct PointwiseKernelInfo {
    PointwiseStripKernel<T> strip;
    int mr;  // rows per strip
    int nr;  // columns per full tile
    PointwiseTailKernel<T> tail;
    PointwiseDotKernel<T> dot;
    int dot_rows, dot_cols;
    int lanes;  // elements per partial-sum vector
    // Most PointwiseStrip::tail_cols the strip kernel takes (0: none), with A's columns adjacent
    // (forward: W read in place) and with A's rows adjacent (backward data: W^T in place, or a
    // packed edge panel).
    int fused_tail_columns = 0;
    int fused_row_tail_columns = 0;
    PointwiseSpreadColumns<T> spread_columns = nullptr;
    // Rows of a short panel the strip kernel computes in tiles of its own (0: none): the driver
    // then ends the rows on one such panel where mr leaves that many over, or on two where it
    // leaves 2 * short_rows - mr (PanelRows); other remainders go to a zero-padded mr-row panel.
    int short_rows = 0;
    PointwiseSpreadsPlanes spreads_planes = nullptr;
    // Whether the strip kernel takes PointwiseStrip::spread.
    bool spreads_in_stores = false;
    PointwiseFeed feed = PointwiseFeed::kPackedTiles;
};

PointwiseKernelInfo<float> pointwise_kernel_scalar(float);
PointwiseKernelInfo<double> pointwise_kernel_scalar(double);
#if defined(MYELIN_X86_64_KERNELS)
PointwiseKernelInfo<float> pointwise_kernel_avx2(float);
PointwiseKernelInfo<double> pointwise_kernel_avx2(double);
PointwiseKernelInfo<float> pointwise_kernel_avx512(float);
PointwiseKernelInfo<double> pointwise_kernel_avx512(double);
#endif

// The strip kernel that runs at `isa`.
template <class T>
PointwiseKernelInfo<T> pointwise_kernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return pointwise_kernel_avx512(T{});
    if (cpu::runs_avx2(isa)) return pointwise_kernel_avx2(T{});
#endif
    (void)isa;
    return pointwise_kernel_scalar(T{});
}

// Whether the pointwise drivers take this geometry: every kernel axis 1, no padding, any
// stride (dilation does not matter with one tap).
bool is_pointwise_geometry(const WindowGeometry& g);

// x's positions of a strided pointwise geometry, `channels` channels of g.in_size() each,
// gathered into `compact` (channels x g.out_size()); over the pool.
template <class T>
void gather_strided_positions(const WindowGeometry& g, int64_t channels, const T* x, T* compact);

// The passes of a pointwise convolution (is_pointwise_geometry), any groups; f32 and f64.
template <class T>
void conv_pointwise_forward(const ConvArgs& a);
template <class T>
void conv_pointwise_backward_data(const ConvArgs& a);
// dW only (the bias gradient is the caller's). By the dot kernel, or by GEMMs over chunks of
// images (conv_pointwise_filter.hpp) where those serve better: few positions per image, or
// partial sums that would not fit in L2.
template <class T>
void conv_pointwise_backward_filter(const ConvArgs& a);

}  // namespace mln::kernels
