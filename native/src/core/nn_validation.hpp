// Validation of the neural-network kernel calls (convolution, pooling, normalization,
// indexing). Each checks every descriptor and parameter, their agreement and device support,
// and returns the arguments in the form the device table takes. Messages name the argument,
// the shapes and the parameters involved.
#pragma once

#include <myelin.h>

#include "core/device.hpp"
#include "core/nn_args.hpp"

namespace mln {

// `activation` is already checked (validate_unary_op).
ConvArgs validate_conv_forward(const mln_device& device, const mln_conv_params* params, const mln_tensor_desc* x,
                               const mln_tensor_desc* w, const mln_tensor_desc* bias, mln_unary_op activation,
                               const mln_tensor_desc* residual, const mln_tensor_desc* y);
// mln_conv_weights_create: params, x (shape and dtype) and w; returns args without y.
ConvArgs validate_conv_weights(const mln_device& device, const mln_conv_params* params, const mln_tensor_desc* x,
                               const mln_tensor_desc* w);
// mln_conv_forward_prepared: validate_conv_forward with the prepared weights' params and w
// (w.data may be null), and x exactly of the shape and dtype they were prepared for.
ConvArgs validate_conv_forward_prepared(const mln_device& device, const mln_conv_params& params,
                                        const TensorView& prepared_x, const TensorView& w, const mln_tensor_desc* x,
                                        const mln_tensor_desc* bias, mln_unary_op activation,
                                        const mln_tensor_desc* residual, const mln_tensor_desc* y);
// Returns args with x = dx and y = dy.
ConvArgs validate_conv_backward_data(const mln_device& device, const mln_conv_params* params,
                                     const mln_tensor_desc* dy, const mln_tensor_desc* w, const mln_tensor_desc* dx);
// Returns args with w = dw, y = dy and bias = dbias.
ConvArgs validate_conv_backward_filter(const mln_device& device, const mln_conv_params* params,
                                       const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                       const mln_tensor_desc* dw, const mln_tensor_desc* dbias);

// `mode` is the raw mln_pool_mode. indices: i64, y's shape; max pooling only (optional forward,
// required backward).
PoolArgs validate_pool_forward(const mln_device& device, int32_t mode, const mln_pool_params* params,
                               const mln_tensor_desc* x, const mln_tensor_desc* y, const mln_tensor_desc* indices);
// Returns args with x = dx and y = dy.
PoolArgs validate_pool_backward(const mln_device& device, int32_t mode, const mln_pool_params* params,
                                const mln_tensor_desc* dy, const mln_tensor_desc* indices, const mln_tensor_desc* dx);

// Normalization. Layer norm returns group-norm arguments (one group, x as outer x inner x 1).
NormArgs validate_batch_norm_training(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* scale,
                                      const mln_tensor_desc* bias, double epsilon, double momentum,
                                      const mln_tensor_desc* running_mean, const mln_tensor_desc* running_var,
                                      const mln_tensor_desc* y, const mln_tensor_desc* saved_mean,
                                      const mln_tensor_desc* saved_invstd);
NormArgs validate_batch_norm_inference(const mln_device& device, const mln_tensor_desc* x,
                                       const mln_tensor_desc* scale, const mln_tensor_desc* bias,
                                       const mln_tensor_desc* running_mean, const mln_tensor_desc* running_var,
                                       double epsilon, const mln_tensor_desc* y);
NormArgs validate_batch_norm_backward(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                      const mln_tensor_desc* scale, const mln_tensor_desc* saved_mean,
                                      const mln_tensor_desc* saved_invstd, const mln_tensor_desc* dx,
                                      const mln_tensor_desc* dscale, const mln_tensor_desc* dbias);
NormArgs validate_layer_norm_forward(const mln_device& device, const mln_tensor_desc* x, int32_t normalized_rank,
                                     const mln_tensor_desc* scale, const mln_tensor_desc* bias, double epsilon,
                                     const mln_tensor_desc* y, const mln_tensor_desc* saved_mean,
                                     const mln_tensor_desc* saved_invstd);
NormArgs validate_layer_norm_backward(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                      int32_t normalized_rank, const mln_tensor_desc* scale,
                                      const mln_tensor_desc* saved_mean, const mln_tensor_desc* saved_invstd,
                                      const mln_tensor_desc* dx, const mln_tensor_desc* dscale,
                                      const mln_tensor_desc* dbias);
NormArgs validate_group_norm_forward(const mln_device& device, const mln_tensor_desc* x, int64_t groups,
                                     const mln_tensor_desc* scale, const mln_tensor_desc* bias, double epsilon,
                                     const mln_tensor_desc* y, const mln_tensor_desc* saved_mean,
                                     const mln_tensor_desc* saved_invstd);
NormArgs validate_group_norm_backward(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                      int64_t groups, const mln_tensor_desc* scale, const mln_tensor_desc* saved_mean,
                                      const mln_tensor_desc* saved_invstd, const mln_tensor_desc* dx,
                                      const mln_tensor_desc* dscale, const mln_tensor_desc* dbias);

// Indexing. scatter_add returns args with table = y and rows = updates.
GatherArgs validate_gather(const mln_device& device, const mln_tensor_desc* x, int32_t axis,
                           const mln_tensor_desc* indices, const mln_tensor_desc* y);
GatherArgs validate_scatter_add(const mln_device& device, const mln_tensor_desc* updates, int32_t axis,
                                const mln_tensor_desc* indices, const mln_tensor_desc* y);
// `mode` is the raw mln_pad_mode.
PadArgs validate_pad(const mln_device& device, int32_t mode, const mln_tensor_desc* x, const int64_t* pads_begin,
                     const int64_t* pads_end, double value, const mln_tensor_desc* y);

// Resize: forward takes (x, y), backward (dy, dx); the args' x is the input-sized tensor.
ResizeArgs validate_resize(const mln_device& device, const mln_resize_params* params, const mln_tensor_desc* x,
                           const mln_tensor_desc* y, bool backward);

// Shared pieces, also used by the tests.
void require_contiguous(const char* name, const TensorView& view);
void require_float(const char* name, const TensorView& view);

}  // namespace mln
