// Compiled with AVX-512: the channel-lane loops of the blocked forward body run as one 16 (f32)
// or 8 (f64) wide vector; f32 blocks transpose by register tiles and sum in explicit registers
// (conv_depthwise_lanes_rows.hpp).
// The tile header comes first: it silences a GCC warning inside the intrinsics headers.
#include "kernels/cpu/conv/conv_depthwise_avx512_tile.hpp"
#include "kernels/cpu/conv/conv_depthwise.hpp"
#include "kernels/cpu/conv/conv_depthwise_lanes_rows.hpp"
#include "kernels/cpu/conv/conv_depthwise_strips.hpp"

namespace mln::kernels {

void conv_depthwise_forward_block_avx512(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                         int64_t channels, float* y) {
    depthwise_forward_block_body<Avx512Tile, LanesRows<Avx512Lanes>>(x, w, bias, g, channels, y);
}
void conv_depthwise_forward_block_avx512(const double* x, const double* w, const double* bias,
                                         const WindowGeometry& g, int64_t channels, double* y) {
    depthwise_forward_block_body<Avx512Tile, PortableRows>(x, w, bias, g, channels, y);
}

}  // namespace mln::kernels
