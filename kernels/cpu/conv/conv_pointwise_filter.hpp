// Pointwise (1x1) backward filter as GEMMs over chunks of images, for the shapes the dot kernel
// (conv_pointwise.hpp) serves worse: images of few positions, and many images whose vector
// partial sums would not fit in L2. See conv_pointwise_filter.cpp.
#pragma once

#include "core/nn_args.hpp"

namespace mln::kernels {

// dW_g = sum over images n of dy_ng (Mg x P) * x_ng^T (P x Cg), written to a.w (the bias
// gradient is the caller's). x is batch x channels x P with P = a.geometry.out_size(): a.x
// itself at stride 1, a strided layer's positions gathered into a compact copy otherwise.
template <class T>
void conv_pointwise_backward_filter_gemm(const ConvArgs& a, const T* x);

}  // namespace mln::kernels
