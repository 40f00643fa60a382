// Compiled with AVX2 + FMA: the row loops of the shared body vectorize 8 (f32) or 4 (f64) wide.
#include "kernels/cpu/conv/conv_depthwise.hpp"

#include "kernels/cpu/conv/conv_depthwise_body.hpp"

namespace mln::kernels {

void conv_depthwise_channel_avx2(const float* x, const float* w, float bias, const WindowGeometry& g, float* y) {
    depthwise_channel_body(x, w, bias, g, y);
}
void conv_depthwise_channel_avx2(const double* x, const double* w, double bias, const WindowGeometry& g, double* y) {
    depthwise_channel_body(x, w, bias, g, y);
}

}  // namespace mln::kernels
