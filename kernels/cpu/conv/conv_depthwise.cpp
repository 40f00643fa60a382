#include "kernels/cpu/conv/conv_depthwise.hpp"

#include "kernels/cpu/conv/conv_depthwise_body.hpp"

namespace mln::kernels {

void conv_depthwise_channel_scalar(const float* x, const float* w, float bias, const WindowGeometry& g, float* y) {
    depthwise_channel_body(x, w, bias, g, y);
}
void conv_depthwise_channel_scalar(const double* x, const double* w, double bias, const WindowGeometry& g, double* y) {
    depthwise_channel_body(x, w, bias, g, y);
}

}  // namespace mln::kernels
