// Compiled with AVX2 + FMA: f32 runs the register-blocked body on 8 lanes where rows hold a
// register of outputs; f64 and short f32 rows the plain body, whose row loops vectorize.
#include "kernels/cpu/conv/conv_depthwise.hpp"

#include "kernels/cpu/conv/conv_depthwise_body.hpp"
#include "kernels/cpu/conv/conv_depthwise_lanes_body.hpp"

namespace mln::kernels {

void conv_depthwise_channel_avx2(const float* x, const float* w, float bias, const WindowGeometry& g, float* y) {
    if (!DepthwiseLanes<Avx2Lanes>::pays(g)) return depthwise_channel_body(x, w, bias, g, y);
    DepthwiseLanes<Avx2Lanes>::run(x, w, bias, g, y);
}
void conv_depthwise_channel_avx2(const double* x, const double* w, double bias, const WindowGeometry& g, double* y) {
    depthwise_channel_body(x, w, bias, g, y);
}

}  // namespace mln::kernels
