// Portable build of the depthwise backward bodies (the baseline ISA of the target).
#include "kernels/cpu/conv/conv_depthwise_backward.hpp"

#include "kernels/cpu/conv/conv_depthwise_strips.hpp"

namespace mln::kernels {

void conv_depthwise_backward_data_scalar(const float* dy, const float* w, const WindowGeometry& g, int64_t channels,
                                           float* dx) {
    depthwise_backward_data_body<PortableTile, PortableRows>(dy, w, g, channels, dx);
}
void conv_depthwise_backward_data_scalar(const double* dy, const double* w, const WindowGeometry& g, int64_t channels,
                                           double* dx) {
    depthwise_backward_data_body<PortableTile, PortableRows>(dy, w, g, channels, dx);
}
void conv_depthwise_backward_filter_scalar(const float* x, const float* dy, const WindowGeometry& g, int64_t channels,
                                             int64_t images, int64_t x_image_stride, int64_t dy_image_stride, float* dw) {
    depthwise_backward_filter_body<PortableTile, PortableRows>(x, dy, g, channels, images, x_image_stride, dy_image_stride, dw);
}
void conv_depthwise_backward_filter_scalar(const double* x, const double* dy, const WindowGeometry& g, int64_t channels,
                                             int64_t images, int64_t x_image_stride, int64_t dy_image_stride, double* dw) {
    depthwise_backward_filter_body<PortableTile, PortableRows>(x, dy, g, channels, images, x_image_stride, dy_image_stride, dw);
}

}  // namespace mln::kernels
