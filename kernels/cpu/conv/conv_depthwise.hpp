// Direct depthwise convolution (groups == channels == out_channels): one filter per channel,
// so a GEMM would have a single row. The kernel walks output rows and adds one shifted input
// row per filter tap, which vectorizes along the row when the stride is 1. f32 on AVX2 sums a
// register of outputs over all taps instead where rows hold one (conv_depthwise_lanes_body.hpp);
// f32 on AVX-512 does so on every row with masked lanes (conv_depthwise_avx512.cpp).
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/nn_args.hpp"
#include "cpu/isa.hpp"

namespace mln::kernels {

// y (out) = sum over taps of w[tap] * x (in) + bias, for one channel.
template <class T>
using DepthwiseChannelKernel = void (*)(const T* x, const T* w, T bias, const WindowGeometry& g, T* y);

void conv_depthwise_channel_scalar(const float* x, const float* w, float bias, const WindowGeometry& g, float* y);
void conv_depthwise_channel_scalar(const double* x, const double* w, double bias, const WindowGeometry& g, double* y);
#if defined(MYELIN_X86_64_KERNELS)
void conv_depthwise_channel_avx2(const float* x, const float* w, float bias, const WindowGeometry& g, float* y);
void conv_depthwise_channel_avx2(const double* x, const double* w, double bias, const WindowGeometry& g, double* y);
void conv_depthwise_channel_avx512(const float* x, const float* w, float bias, const WindowGeometry& g, float* y);
void conv_depthwise_channel_avx512(const double* x, const double* w, double bias, const WindowGeometry& g,
                                   double* y);
#endif

template <class T>
DepthwiseChannelKernel<T> conv_depthwise_channel_kernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return static_cast<DepthwiseChannelKernel<T>>(conv_depthwise_channel_avx512);
    if (cpu::runs_avx2(isa)) return static_cast<DepthwiseChannelKernel<T>>(conv_depthwise_channel_avx2);
#endif
    (void)isa;
    return static_cast<DepthwiseChannelKernel<T>>(conv_depthwise_channel_scalar);
}

}  // namespace mln::kernels
