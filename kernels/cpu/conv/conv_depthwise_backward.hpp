// Direct depthwise convolution backward (groups == channels == out_channels): one filter per
// channel, so the GEMM formulation would have a single row per group and spend its time in
// packing. NCHW rows are short in the deep layers (7 or 14 wide), too short to vectorize along,
// so the kernels work on blocks of kDepthwiseBlock channels transposed to position-major order
// (position x channel lane, as oneDNN's nChw16c): every tap is then one vector operation over
// the block's channels, whatever the row width. The bodies are compiled once per ISA.
#pragma once

#include <myelin.h>

#include <cstdint>
#include <type_traits>

#include "core/nn_args.hpp"
#include "cpu/isa.hpp"
#include "kernels/cpu/conv/conv_depthwise.hpp"

namespace mln::kernels {

// dx (channels x in, overwritten) = the adjoint of the forward window sum applied to dy
// (channels x out), for `channels` <= kDepthwiseBlock consecutive channels of one image; w holds
// their filters (channels x kernel taps).
template <class T>
using DepthwiseBackwardDataKernel = void (*)(const T* dy, const T* w, const WindowGeometry& g, int64_t channels,
                                             T* dx);
// dw (channels x kernel taps, overwritten) = sum over `images` images of dy (channels x out)
// times the x (channels x in) elements each tap reads, for `channels` <= kDepthwiseBlock
// consecutive channels; image i of x starts at x + i * x_image_stride, of dy likewise.
template <class T>
using DepthwiseBackwardFilterKernel = void (*)(const T* x, const T* dy, const WindowGeometry& g, int64_t channels,
                                               int64_t images, int64_t x_image_stride, int64_t dy_image_stride,
                                               T* dw);

void conv_depthwise_backward_data_scalar(const float* dy, const float* w, const WindowGeometry& g, int64_t channels,
                                           float* dx);
void conv_depthwise_backward_filter_scalar(const float* x, const float* dy, const WindowGeometry& g, int64_t channels,
                                             int64_t images, int64_t x_image_stride, int64_t dy_image_stride, float* dw);
void conv_depthwise_backward_data_scalar(const double* dy, const double* w, const WindowGeometry& g, int64_t channels,
                                           double* dx);
void conv_depthwise_backward_filter_scalar(const double* x, const double* dy, const WindowGeometry& g, int64_t channels,
                                             int64_t images, int64_t x_image_stride, int64_t dy_image_stride, double* dw);
#if defined(MYELIN_X86_64_KERNELS)
void conv_depthwise_backward_data_avx2(const float* dy, const float* w, const WindowGeometry& g, int64_t channels,
                                         float* dx);
void conv_depthwise_backward_filter_avx2(const float* x, const float* dy, const WindowGeometry& g, int64_t channels,
                                           int64_t images, int64_t x_image_stride, int64_t dy_image_stride, float* dw);
void conv_depthwise_backward_data_avx2(const double* dy, const double* w, const WindowGeometry& g, int64_t channels,
                                         double* dx);
void conv_depthwise_backward_filter_avx2(const double* x, const double* dy, const WindowGeometry& g, int64_t channels,
                                           int64_t images, int64_t x_image_stride, int64_t dy_image_stride, double* dw);
void conv_depthwise_backward_data_avx512(const float* dy, const float* w, const WindowGeometry& g, int64_t channels,
                                           float* dx);
void conv_depthwise_backward_filter_avx512(const float* x, const float* dy, const WindowGeometry& g, int64_t channels,
                                             int64_t images, int64_t x_image_stride, int64_t dy_image_stride, float* dw);
void conv_depthwise_backward_data_avx512(const double* dy, const double* w, const WindowGeometry& g, int64_t channels,
                                           double* dx);
void conv_depthwise_backward_filter_avx512(const double* x, const double* dy, const WindowGeometry& g, int64_t channels,
                                             int64_t images, int64_t x_image_stride, int64_t dy_image_stride, double* dw);
#endif

template <class T>
DepthwiseBackwardDataKernel<T> conv_depthwise_backward_data_kernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return static_cast<DepthwiseBackwardDataKernel<T>>(conv_depthwise_backward_data_avx512);
    if (cpu::runs_avx2(isa)) return static_cast<DepthwiseBackwardDataKernel<T>>(conv_depthwise_backward_data_avx2);
#endif
    (void)isa;
    return static_cast<DepthwiseBackwardDataKernel<T>>(conv_depthwise_backward_data_scalar);
}

template <class T>
DepthwiseBackwardFilterKernel<T> conv_depthwise_backward_filter_kernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) {
        return static_cast<DepthwiseBackwardFilterKernel<T>>(conv_depthwise_backward_filter_avx512);
    }
    if (cpu::runs_avx2(isa)) return static_cast<DepthwiseBackwardFilterKernel<T>>(conv_depthwise_backward_filter_avx2);
#endif
    (void)isa;
    return static_cast<DepthwiseBackwardFilterKernel<T>>(conv_depthwise_backward_filter_scalar);
}

// The NCHW 3 x 3 kernels (conv_depthwise_3x3.hpp) where they run: AVX-512 (backward filter at
// AVX2 too), f32, their geometry; else nullptr. They take any number of channels.
template <class T>
DepthwiseBackwardDataKernel<T> conv_depthwise_3x3_backward_data_kernel(mln_isa isa, const WindowGeometry& g) {
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (std::is_same_v<T, float>) {
        if (isa == MLN_ISA_AVX512 && depthwise_3x3_nchw_backward_data_applies(g)) {
            return conv_depthwise_3x3_backward_data_avx512;
        }
        if (isa == MLN_ISA_AVX2 && depthwise_3x3_nchw_applies_avx2(g)) {
            return conv_depthwise_3x3_backward_data_avx2;
        }
    }
#endif
    (void)isa;
    (void)g;
    return nullptr;
}

template <class T>
DepthwiseBackwardFilterKernel<T> conv_depthwise_3x3_backward_filter_kernel(mln_isa isa, const WindowGeometry& g) {
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (std::is_same_v<T, float>) {
        if (isa == MLN_ISA_AVX512 && depthwise_3x3_nchw_backward_filter_applies(g)) {
            return conv_depthwise_3x3_backward_filter_avx512;
        }
        if (isa == MLN_ISA_AVX2 && depthwise_3x3_nchw_backward_filter_applies(g)) {
            return conv_depthwise_3x3_backward_filter_avx2;
        }
    }
#endif
    (void)isa;
    (void)g;
    return nullptr;
}

}  // namespace mln::kernels
