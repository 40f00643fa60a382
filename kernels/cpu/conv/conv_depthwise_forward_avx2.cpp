// Compiled with AVX2 + FMA: the channel-lane loops of the blocked forward body run as two 8 (f32)
// or 4 (f64) wide vectors; f32 rows sum in explicit registers (GCC kept the portable row's sums
// on the stack, a store and reload per FMA, as objdump of this file showed).
#include <immintrin.h>

#include "kernels/cpu/conv/conv_depthwise.hpp"
#include "kernels/cpu/conv/conv_depthwise_forward_body.hpp"

namespace mln::kernels {
namespace {

// A 16-channel block is two 8-lane halves; 4 positions make 8 sums, with the tap's two halves
// 10 of the 16 registers.
struct Avx2Row {
    template <int64_t Width>
    static void run(const float* window_row, const float* taps, const float* bias_lanes, const WindowGeometry& g,
                    const int64_t tap_step[3], float* y_row) {
        const int64_t width = Width != 0 ? Width : g.kernel[2];
        const int64_t step_d = tap_step[0], step_h = tap_step[1], step_w = tap_step[2];
        const int64_t position_step = g.stride[2] * 16;
        const __m256 bias_lo = _mm256_loadu_ps(bias_lanes), bias_hi = _mm256_loadu_ps(bias_lanes + 8);
        int64_t ow = 0;
        for (; ow + 4 <= g.out[2]; ow += 4) {
            const float* window = window_row + ow * position_step;
            __m256 lo[4] = {bias_lo, bias_lo, bias_lo, bias_lo}, hi[4] = {bias_hi, bias_hi, bias_hi, bias_hi};
            const float* tap = taps;
            for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const float* at = window + kd * step_d + kh * step_h;
                    for (int64_t kw = 0; kw < width; ++kw, tap += 16, at += step_w) {
                        const __m256 t_lo = _mm256_loadu_ps(tap), t_hi = _mm256_loadu_ps(tap + 8);
                        for (int u = 0; u < 4; ++u) {
                            lo[u] = _mm256_fmadd_ps(t_lo, _mm256_loadu_ps(at + u * position_step), lo[u]);
                            hi[u] = _mm256_fmadd_ps(t_hi, _mm256_loadu_ps(at + u * position_step + 8), hi[u]);
                        }
                    }
                }
            }
            for (int u = 0; u < 4; ++u) {
                _mm256_storeu_ps(y_row + (ow + u) * 16, lo[u]);
                _mm256_storeu_ps(y_row + (ow + u) * 16 + 8, hi[u]);
            }
        }
        for (; ow < g.out[2]; ++ow) {
            const float* window = window_row + ow * position_step;
            __m256 lo = bias_lo, hi = bias_hi;
            const float* tap = taps;
            for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const float* at = window + kd * step_d + kh * step_h;
                    for (int64_t kw = 0; kw < width; ++kw, tap += 16, at += step_w) {
                        lo = _mm256_fmadd_ps(_mm256_loadu_ps(tap), _mm256_loadu_ps(at), lo);
                        hi = _mm256_fmadd_ps(_mm256_loadu_ps(tap + 8), _mm256_loadu_ps(at + 8), hi);
                    }
                }
            }
            _mm256_storeu_ps(y_row + ow * 16, lo);
            _mm256_storeu_ps(y_row + ow * 16 + 8, hi);
        }
    }
};

}  // namespace

void conv_depthwise_forward_block_avx2(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                       int64_t channels, float* y) {
    depthwise_forward_block_body<PortableTile, Avx2Row>(x, w, bias, g, channels, y);
}
void conv_depthwise_forward_block_avx2(const double* x, const double* w, const double* bias, const WindowGeometry& g,
                                       int64_t channels, double* y) {
    depthwise_forward_block_body<PortableTile, PortableRow>(x, w, bias, g, channels, y);
}

}  // namespace mln::kernels
