// Direct depthwise convolution (groups == channels == out_channels): one filter per channel,
// so a GEMM would have a single row. The kernel walks output rows and adds one shifted input
// row per filter tap, which vectorizes along the row when the stride is 1. f32 on AVX2 sums a
// register of outputs over all taps instead where rows hold one (conv_depthwise_lanes_body.hpp);
// f32 on AVX-512 does so on every row with masked lanes (conv_depthwise_avx512.cpp). MobileNet's
// 3 x 3 f32 at AVX-512 has its own NCHW kernels (conv_depthwise_3x3.hpp), selected below, and
// so has its forward at stride 2 x 2 on AVX2.
#pragma once

#include <myelin.h>

#include <cstdint>
#include <type_traits>

#include "core/nn_args.hpp"
#include "cpu/isa.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"

namespace mln::kernels {

// Channels per block of the channel-blocked kernels (conv_depthwise_blocked.hpp): 64 bytes, one
// AVX-512 register (two AVX2 ones).
template <class T>
constexpr int64_t kDepthwiseBlock = 64 / static_cast<int64_t>(sizeof(T));

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

// y (channels x out, overwritten) = sum over taps of w[tap] * x (channels x in) + bias, for
// `channels` <= kDepthwiseBlock consecutive channels of one image (w: channels x taps, bias:
// `channels` values or nullptr), computed in the channel-blocked layout: every tap is one
// full-width FMA over the block whatever the row width (conv_depthwise_strips.hpp).
template <class T>
using DepthwiseForwardBlockKernel = void (*)(const T* x, const T* w, const T* bias, const WindowGeometry& g,
                                             int64_t channels, T* y);

void conv_depthwise_forward_block_scalar(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                         int64_t channels, float* y);
void conv_depthwise_forward_block_scalar(const double* x, const double* w, const double* bias,
                                         const WindowGeometry& g, int64_t channels, double* y);
#if defined(MYELIN_X86_64_KERNELS)
void conv_depthwise_forward_block_avx2(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                       int64_t channels, float* y);
void conv_depthwise_forward_block_avx2(const double* x, const double* w, const double* bias, const WindowGeometry& g,
                                       int64_t channels, double* y);
void conv_depthwise_forward_block_avx512(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                         int64_t channels, float* y);
void conv_depthwise_forward_block_avx512(const double* x, const double* w, const double* bias,
                                         const WindowGeometry& g, int64_t channels, double* y);
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

template <class T>
DepthwiseForwardBlockKernel<T> conv_depthwise_forward_block_kernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return static_cast<DepthwiseForwardBlockKernel<T>>(conv_depthwise_forward_block_avx512);
    if (cpu::runs_avx2(isa)) return static_cast<DepthwiseForwardBlockKernel<T>>(conv_depthwise_forward_block_avx2);
#endif
    (void)isa;
    return static_cast<DepthwiseForwardBlockKernel<T>>(conv_depthwise_forward_block_scalar);
}

// The NCHW 3 x 3 kernel (conv_depthwise_3x3.hpp) where it runs: f32, AVX-512 and its geometry,
// or AVX2 at stride 1 with rows as wide as the input's or at stride 2 x 2; else nullptr. It takes
// any number of channels.
template <class T>
DepthwiseForwardBlockKernel<T> conv_depthwise_3x3_forward_kernel(mln_isa isa, const WindowGeometry& g) {
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (std::is_same_v<T, float>) {
        if (isa == MLN_ISA_AVX512 && depthwise_3x3_nchw_forward_applies(g)) return conv_depthwise_3x3_forward_avx512;
        if (isa == MLN_ISA_AVX2 && depthwise_3x3_nchw_applies_avx2(g)) return conv_depthwise_3x3_forward_avx2;
    }
#endif
    (void)isa;
    (void)g;
    return nullptr;
}

}  // namespace mln::kernels
