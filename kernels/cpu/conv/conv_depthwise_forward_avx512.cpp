// Compiled with AVX-512: the channel-lane loops of the blocked forward body run as one 16 (f32)
// or 8 (f64) wide vector, and f32 blocks transpose by register tiles and sum their rows in
// explicit registers: GCC kept the portable row's sums on the stack, every FMA a store and a
// reload (perf annotate), a latency chain through memory.
// The tile header comes first: it silences a GCC warning inside the intrinsics headers.
#include "kernels/cpu/conv/conv_depthwise_avx512_tile.hpp"
#include "kernels/cpu/conv/conv_depthwise.hpp"
#include "kernels/cpu/conv/conv_depthwise_forward_body.hpp"

namespace mln::kernels {
namespace {

struct Avx512Row {
    template <int64_t Width>
    static void run(const float* window_row, const float* taps, const float* bias_lanes, const WindowGeometry& g,
                    const int64_t tap_step[3], float* y_row) {
        const int64_t width = Width != 0 ? Width : g.kernel[2];
        const int64_t step_d = tap_step[0], step_h = tap_step[1], step_w = tap_step[2];
        const int64_t position_step = g.stride[2] * 16;
        const __m512 bias = _mm512_loadu_ps(bias_lanes);
        int64_t ow = 0;
        for (; ow + 4 <= g.out[2]; ow += 4) {
            const float* window = window_row + ow * position_step;
            __m512 s0 = bias, s1 = bias, s2 = bias, s3 = bias;
            const float* tap = taps;
            for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const float* at = window + kd * step_d + kh * step_h;
                    for (int64_t kw = 0; kw < width; ++kw, tap += 16, at += step_w) {
                        const __m512 t = _mm512_loadu_ps(tap);
                        s0 = _mm512_fmadd_ps(t, _mm512_loadu_ps(at), s0);
                        s1 = _mm512_fmadd_ps(t, _mm512_loadu_ps(at + position_step), s1);
                        s2 = _mm512_fmadd_ps(t, _mm512_loadu_ps(at + 2 * position_step), s2);
                        s3 = _mm512_fmadd_ps(t, _mm512_loadu_ps(at + 3 * position_step), s3);
                    }
                }
            }
            _mm512_storeu_ps(y_row + ow * 16, s0);
            _mm512_storeu_ps(y_row + (ow + 1) * 16, s1);
            _mm512_storeu_ps(y_row + (ow + 2) * 16, s2);
            _mm512_storeu_ps(y_row + (ow + 3) * 16, s3);
        }
        for (; ow < g.out[2]; ++ow) {
            const float* window = window_row + ow * position_step;
            __m512 sum = bias;
            const float* tap = taps;
            for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const float* at = window + kd * step_d + kh * step_h;
                    for (int64_t kw = 0; kw < width; ++kw, tap += 16, at += step_w) {
                        sum = _mm512_fmadd_ps(_mm512_loadu_ps(tap), _mm512_loadu_ps(at), sum);
                    }
                }
            }
            _mm512_storeu_ps(y_row + ow * 16, sum);
        }
    }
};

}  // namespace

void conv_depthwise_forward_block_avx512(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                         int64_t channels, float* y) {
    depthwise_forward_block_body<Avx512Tile, Avx512Row>(x, w, bias, g, channels, y);
}
void conv_depthwise_forward_block_avx512(const double* x, const double* w, const double* bias,
                                         const WindowGeometry& g, int64_t channels, double* y) {
    depthwise_forward_block_body<Avx512Tile, PortableRow>(x, w, bias, g, channels, y);
}

}  // namespace mln::kernels
