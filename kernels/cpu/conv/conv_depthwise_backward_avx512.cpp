// Compiled with AVX-512: the channel-lane loops of the shared bodies run as one 16 (f32) or 8 (f64) wide vector.
// The tile header comes first: it silences a GCC warning inside the intrinsics headers.
#include "kernels/cpu/conv/conv_depthwise_avx512_tile.hpp"
#include "kernels/cpu/conv/conv_depthwise_backward.hpp"
#include "kernels/cpu/conv/conv_depthwise_lanes_rows.hpp"
#include "kernels/cpu/conv/conv_depthwise_strips.hpp"

namespace mln::kernels {

void conv_depthwise_backward_data_avx512(const float* dy, const float* w, const WindowGeometry& g, int64_t channels,
                                           float* dx) {
    depthwise_backward_data_body<Avx512Tile, LanesRows<Avx512Lanes>>(dy, w, g, channels, dx);
}
void conv_depthwise_backward_data_avx512(const double* dy, const double* w, const WindowGeometry& g, int64_t channels,
                                           double* dx) {
    depthwise_backward_data_body<Avx512Tile, PortableRows>(dy, w, g, channels, dx);
}
void conv_depthwise_backward_filter_avx512(const float* x, const float* dy, const WindowGeometry& g, int64_t channels,
                                             int64_t images, int64_t x_image_stride, int64_t dy_image_stride, float* dw) {
    depthwise_backward_filter_body<Avx512Tile, LanesRows<Avx512Lanes>>(x, dy, g, channels, images, x_image_stride, dy_image_stride, dw);
}
void conv_depthwise_backward_filter_avx512(const double* x, const double* dy, const WindowGeometry& g, int64_t channels,
                                             int64_t images, int64_t x_image_stride, int64_t dy_image_stride, double* dw) {
    depthwise_backward_filter_body<Avx512Tile, PortableRows>(x, dy, g, channels, images, x_image_stride, dy_image_stride, dw);
}

}  // namespace mln::kernels
