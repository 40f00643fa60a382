// The bodies of the direct depthwise backward kernels (conv_depthwise_backward.hpp), compiled
// once per ISA file (conv_depthwise_backward{,_avx2,_avx512}.cpp). Internal linkage keeps the
// differently compiled copies apart.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/nn_args.hpp"
#include "kernels/cpu/conv/im2col.hpp"

namespace mln::kernels {
namespace {

template <class T>
void depthwise_backward_data_body(const T* dy, const T* w, const WindowGeometry& g, T* dx) {
    std::fill(dx, dx + g.in_size(), T(0));
    for (int64_t od = 0; od < g.out[0]; ++od) {
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
            const T* dy_row = dy + (od * g.out[1] + oh) * g.out[2];
            for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
                    if (ih < 0 || ih >= g.in[1]) continue;
                    T* dx_row = dx + (id * g.in[1] + ih) * g.in[2];
                    const T* taps = w + (kd * g.kernel[1] + kh) * g.kernel[2];
                    for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                        const int64_t offset = kw * g.dilation[2] - g.pad_begin[2];
                        int64_t lo, hi;
                        valid_output_range(offset, g.stride[2], g.in[2], g.out[2], &lo, &hi);
                        const T tap = taps[kw];
                        T* dst = dx_row + offset;
                        if (g.stride[2] == 1) {
                            for (int64_t ow = lo; ow < hi; ++ow) dst[ow] += tap * dy_row[ow];
                        } else {
                            const int64_t s = g.stride[2];
                            for (int64_t ow = lo; ow < hi; ++ow) dst[ow * s] += tap * dy_row[ow];
                        }
                    }
                }
            }
        }
    }
}

// Partial sums kept in kLanes independent accumulators, so the compiler vectorizes the dot
// products without reassociating a single sum (no fast-math): 64 bytes, one AVX-512 register.
template <class T>
struct DotLanes {
    static constexpr int64_t kLanes = 64 / static_cast<int64_t>(sizeof(T));
    T lanes[kLanes] = {};
    T tail = T(0);

    // Adds sum over i in [0, n) of a[i] * b[i * stride].
    void add(const T* a, const T* b, int64_t stride, int64_t n) {
        int64_t i = 0;
        if (stride == 1) {
            for (; i + kLanes <= n; i += kLanes) {
                for (int64_t j = 0; j < kLanes; ++j) lanes[j] += a[i + j] * b[i + j];
            }
        } else {
            for (; i + kLanes <= n; i += kLanes) {
                for (int64_t j = 0; j < kLanes; ++j) lanes[j] += a[i + j] * b[(i + j) * stride];
            }
        }
        for (; i < n; ++i) tail += a[i] * b[i * stride];
    }
    T sum() const {
        T total = tail;
        for (int64_t j = 0; j < kLanes; ++j) total += lanes[j];
        return total;
    }
};

// One tap at a time over all images and rows, so each tap's sum is reduced once.
template <class T>
void depthwise_backward_filter_body(const T* x, const T* dy, const WindowGeometry& g, int64_t images,
                                    int64_t x_image_stride, int64_t dy_image_stride, T* dw) {
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
        for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
            for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                const int64_t offset = kw * g.dilation[2] - g.pad_begin[2];
                int64_t lo, hi;
                valid_output_range(offset, g.stride[2], g.in[2], g.out[2], &lo, &hi);
                DotLanes<T> dot;
                for (int64_t n = 0; n < images; ++n) {
                    const T* x_image = x + n * x_image_stride;
                    const T* dy_image = dy + n * dy_image_stride;
                    for (int64_t od = 0; od < g.out[0]; ++od) {
                        const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
                        if (id < 0 || id >= g.in[0]) continue;
                        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
                            const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
                            if (ih < 0 || ih >= g.in[1]) continue;
                            const T* dy_row = dy_image + (od * g.out[1] + oh) * g.out[2];
                            const T* x_row = x_image + (id * g.in[1] + ih) * g.in[2] + offset;
                            dot.add(dy_row + lo, x_row + lo * g.stride[2], g.stride[2], hi - lo);
                        }
                    }
                }
                dw[(kd * g.kernel[1] + kh) * g.kernel[2] + kw] = dot.sum();
            }
        }
    }
}

}  // namespace
}  // namespace mln::kernels
