// Portable build of the channel-blocked depthwise forward body (the baseline ISA of the target).
#include "kernels/cpu/conv/conv_depthwise.hpp"
#include "kernels/cpu/conv/conv_depthwise_strips.hpp"

namespace mln::kernels {

void conv_depthwise_forward_block_scalar(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                         int64_t channels, float* y) {
    depthwise_forward_block_body<PortableTile, PortableRows>(x, w, bias, g, channels, y);
}
void conv_depthwise_forward_block_scalar(const double* x, const double* w, const double* bias,
                                         const WindowGeometry& g, int64_t channels, double* y) {
    depthwise_forward_block_body<PortableTile, PortableRows>(x, w, bias, g, channels, y);
}

}  // namespace mln::kernels
