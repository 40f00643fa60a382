// Direct depthwise convolution backward (groups == channels == out_channels): one filter per
// channel, so the GEMM formulation would have a single row per group and spend its time in
// packing. Both kernels walk output rows: backward data adds each dy row, scaled by a tap, into
// a shifted dx row; backward filter takes, per tap, the dot product of dy rows with shifted x
// rows. The row loops vectorize along the row (the bodies are compiled once per ISA).
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/nn_args.hpp"
#include "cpu/isa.hpp"

namespace mln::kernels {

// dx (in, overwritten) = the adjoint of one channel's forward window sum applied to dy (out).
template <class T>
using DepthwiseBackwardDataKernel = void (*)(const T* dy, const T* w, const WindowGeometry& g, T* dx);
// dw (kernel taps, overwritten) = sum over `images` images of one channel of dy (out) times the
// x (in) elements each tap reads; image i of x starts at x + i * x_image_stride, of dy likewise.
template <class T>
using DepthwiseBackwardFilterKernel = void (*)(const T* x, const T* dy, const WindowGeometry& g, int64_t images,
                                               int64_t x_image_stride, int64_t dy_image_stride, T* dw);

void conv_depthwise_backward_data_scalar(const float* dy, const float* w, const WindowGeometry& g, float* dx);
void conv_depthwise_backward_filter_scalar(const float* x, const float* dy, const WindowGeometry& g, int64_t images,
                                             int64_t x_image_stride, int64_t dy_image_stride, float* dw);
void conv_depthwise_backward_data_scalar(const double* dy, const double* w, const WindowGeometry& g, double* dx);
void conv_depthwise_backward_filter_scalar(const double* x, const double* dy, const WindowGeometry& g, int64_t images,
                                             int64_t x_image_stride, int64_t dy_image_stride, double* dw);
#if defined(MYELIN_X86_64_KERNELS)
void conv_depthwise_backward_data_avx2(const float* dy, const float* w, const WindowGeometry& g, float* dx);
void conv_depthwise_backward_filter_avx2(const float* x, const float* dy, const WindowGeometry& g, int64_t images,
                                           int64_t x_image_stride, int64_t dy_image_stride, float* dw);
void conv_depthwise_backward_data_avx2(const double* dy, const double* w, const WindowGeometry& g, double* dx);
void conv_depthwise_backward_filter_avx2(const double* x, const double* dy, const WindowGeometry& g, int64_t images,
                                           int64_t x_image_stride, int64_t dy_image_stride, double* dw);
void conv_depthwise_backward_data_avx512(const float* dy, const float* w, const WindowGeometry& g, float* dx);
void conv_depthwise_backward_filter_avx512(const float* x, const float* dy, const WindowGeometry& g, int64_t images,
                                             int64_t x_image_stride, int64_t dy_image_stride, float* dw);
void conv_depthwise_backward_data_avx512(const double* dy, const double* w, const WindowGeometry& g, double* dx);
void conv_depthwise_backward_filter_avx512(const double* x, const double* dy, const WindowGeometry& g, int64_t images,
                                             int64_t x_image_stride, int64_t dy_image_stride, double* dw);
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

}  // namespace mln::kernels
