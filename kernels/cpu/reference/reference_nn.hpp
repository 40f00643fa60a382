// Reference twins of the neural-network kernels (convolution, pooling, normalization,
// indexing): direct nested loops over the definitions, accumulating in double, no threads.
// They take the C API's parameter structs and read every tensor through its strides, so they
// share no index arithmetic with the optimized kernels.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/tensor_view.hpp"

namespace mln::reference {

// y[n][m][o] = activation(bias[m] + residual[n][m][o]
//                          + sum_{c in group(m), k} w[m][c][k] * x[n][g*C/G + c][o*stride - pad_begin + k*dilation]).
// bias and residual may be null.
void conv_forward(const mln_conv_params& p, const TensorView& x, const TensorView& w, const TensorView* bias,
                  mln_unary_op activation, const TensorView* residual, const TensorView& y);
// dx = the adjoint of conv_forward (without bias) applied to dy.
void conv_backward_data(const mln_conv_params& p, const TensorView& dy, const TensorView& w, const TensorView& dx);
// dw[m][c][k] = sum_{n,o} dy[n][m][o] * x[n][g*C/G + c][...]; dbias[m] = sum_{n,o} dy[n][m][o].
void conv_backward_filter(const mln_conv_params& p, const TensorView& x, const TensorView& dy, const TensorView& dw,
                          const TensorView* dbias);

// Max (with flat indices into x, -1 for an empty window, or with a u8/i32 workspace: the tap
// in row-major kernel order, 255/-1 for an empty window) or average over each window;
// count_include_pad counts taps inside the padded extent.
void pool_forward(mln_pool_mode mode, const mln_pool_params& p, const TensorView& x, const TensorView& y,
                  const TensorView* indices);
// Max: dx[indices] (or the workspace tap's element) += dy; average: each tap of a window gets dy / divisor.
void pool_backward(mln_pool_mode mode, const mln_pool_params& p, const TensorView& dy, const TensorView* indices,
                   const TensorView& dx);

// Normalization forward passes by definition (two-pass, in double); scale and bias may be null.
void batch_norm_training(const TensorView& x, const TensorView* scale, const TensorView* bias, double epsilon,
                         const TensorView& y, const TensorView& mean, const TensorView& invstd);
void layer_norm_forward(const TensorView& x, int32_t normalized_rank, const TensorView* scale,
                        const TensorView* bias, double epsilon, const TensorView& y, const TensorView& mean,
                        const TensorView& invstd);
void group_norm_forward(const TensorView& x, int64_t groups, const TensorView* scale, const TensorView* bias,
                        double epsilon, const TensorView& y, const TensorView& mean, const TensorView& invstd);

// Indexing by definition, one element at a time (T: float, double, int32_t, int64_t); indices
// must be in range. axis is non-negative.
template <class T>
void gather(const TensorView& x, int32_t axis, const TensorView& indices, const TensorView& y);
template <class T>
void scatter_add(const TensorView& updates, int32_t axis, const TensorView& indices, const TensorView& y);
template <class T>
void pad(mln_pad_mode mode, const TensorView& x, const int64_t* pads_begin, T value, const TensorView& y);
// ONNX GatherElements / ScatterElements (y updated in place), GatherND / ScatterND and Trilu by
// their definitions (T as above); indices in range, axis non-negative.
template <class T>
void gather_elements(const TensorView& x, int32_t axis, const TensorView& indices, const TensorView& y);
template <class T>
void scatter_elements(mln_scatter_reduction reduction, const TensorView& updates, int32_t axis,
                      const TensorView& indices, const TensorView& y);
template <class T>
void gather_nd(const TensorView& x, int32_t batch_dims, const TensorView& indices, const TensorView& y);
template <class T>
void scatter_nd(mln_scatter_reduction reduction, const TensorView& updates, int32_t batch_dims,
                const TensorView& indices, const TensorView& y);
template <class T>
void trilu(bool upper, int64_t k, const TensorView& x, const TensorView& y);

// Resize by definition (O(|x| * |y|)): y[o] = sum_i x[i] * prod_d w_d(o_d, i_d), or the
// extrapolation value where a coordinate falls outside the crop; backward is its transpose.
void resize_forward(const mln_resize_params& p, const TensorView& x, const TensorView& y);
void resize_backward(const mln_resize_params& p, const TensorView& dy, const TensorView& dx);

}  // namespace mln::reference
