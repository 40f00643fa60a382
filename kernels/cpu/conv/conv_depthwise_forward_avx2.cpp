// Compiled with AVX2 + FMA: the channel-lane loops of the blocked forward body run as two 8 (f32)
// or 4 (f64) wide vectors; f32 sums in explicit registers (conv_depthwise_lanes_rows.hpp).
#include "kernels/cpu/conv/conv_depthwise.hpp"
#include "kernels/cpu/conv/conv_depthwise_lanes_rows.hpp"
#include "kernels/cpu/conv/conv_depthwise_strips.hpp"

namespace mln::kernels {

void conv_depthwise_forward_block_avx2(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                       int64_t channels, float* y) {
    depthwise_forward_block_body<PortableTile, LanesRows<Avx2Lanes>>(x, w, bias, g, channels, y);
}
void conv_depthwise_forward_block_avx2(const double* x, const double* w, const double* bias, const WindowGeometry& g,
                                       int64_t channels, double* y) {
    depthwise_forward_block_body<PortableTile, PortableRows>(x, w, bias, g, channels, y);
}

}  // namespace mln::kernels
