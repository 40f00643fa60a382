// Compiled with AVX-512: f32 runs the register-blocked body on 16 lanes, or the plain body
// (vectorized 16 wide) where rows are too short for a register (f64 stays on AVX2).
#include "kernels/cpu/conv/conv_depthwise.hpp"

#include "kernels/cpu/conv/conv_depthwise_body.hpp"
#include "kernels/cpu/conv/conv_depthwise_lanes_body.hpp"

namespace mln::kernels {

void conv_depthwise_channel_avx512(const float* x, const float* w, float bias, const WindowGeometry& g, float* y) {
    if (!DepthwiseLanes<Avx512Lanes>::pays(g)) return depthwise_channel_body(x, w, bias, g, y);
    DepthwiseLanes<Avx512Lanes>::run(x, w, bias, g, y);
}

}  // namespace mln::kernels
