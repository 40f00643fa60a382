// Entry points of the CPU neural-network kernel families: convolution, pooling,
// normalization, indexing. Arguments are validated by the api layer (nn_validation).
#pragma once

#include <myelin.h>

#include <memory>

#include "core/nn_args.hpp"

namespace mln::kernels {

// y = activation(conv(x, w) + bias + residual).
void conv_forward(const ConvArgs& args);
// The filters args.w in the layout conv_forward_prepared reads (args without y), or a copy.
std::unique_ptr<PreparedConvFilters> conv_prepare_filters(const ConvArgs& args);
// conv_forward with prepared filters (args.w gives only the shape).
void conv_forward_prepared(const ConvArgs& args, const PreparedConvFilters& filters);
// x := gradient of the input (overwritten) from y = dy.
void conv_backward_data(const ConvArgs& args);
// w := gradient of the filter (overwritten) from x and y = dy; bias := sum of dy when has_bias.
void conv_backward_filter(const ConvArgs& args);

// y = max or average over each window; indices (max, optional) = flat position in x.
void pool_forward(const PoolArgs& args);
// x := gradient of the input (overwritten) from y = dy (and the indices, for max).
void pool_backward(const PoolArgs& args);

// Batch norm with batch statistics: y, mean, invstd, and the running statistics when present.
void batch_norm_training(const NormArgs& args);
// Batch norm with the running statistics.
void batch_norm_inference(const NormArgs& args);
// dx (overwritten), dscale and dbias when present, from x, dy, scale and the saved statistics.
void batch_norm_backward(const NormArgs& args);
// Group norm (and layer norm, as one group): y, mean, invstd per (image, group).
void group_norm_forward(const NormArgs& args);
void group_norm_backward(const NormArgs& args);

// rows = table[indices] along the axis; checks every index first (error names the first bad one).
void gather(const GatherArgs& args);
// table[indices] += rows along the axis (f32, f64, i32, i64); deterministic for any thread count.
void scatter_add(const GatherArgs& args);
// y = x padded or cropped; any dtype.
void pad(const PadArgs& args);
// rows[i] = table[i with i[axis] = indices[i]]; any dtype; checks every index first.
void gather_elements(const ElementIndexArgs& args);
// table[j with j[axis] = indices[j]] (reduction)= rows[j] in row-major order of j.
void scatter_elements(const ElementIndexArgs& args);
// rows = the slices of table addressed by the index tuples; any dtype; checks every tuple first.
void gather_nd(const GatherNdArgs& args);
// table's addressed slices (reduction)= the slices of rows, in order.
void scatter_nd(const GatherNdArgs& args);
// y = x kept on one side of diagonal k of the last two dimensions, 0 elsewhere; any dtype.
void trilu(const TriluArgs& args);

// y = separable interpolation of x (ONNX Resize); x := its adjoint applied to y (backward).
void resize_forward(const ResizeArgs& args);
void resize_backward(const ResizeArgs& args);

}  // namespace mln::kernels
