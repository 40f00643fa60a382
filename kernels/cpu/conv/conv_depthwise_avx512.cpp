// Compiled with AVX-512. f32: each output row is built 16 outputs at a time in a register over
// all taps and stored once. Adding tap after tap into the row in memory (the shared body) makes
// every pass wait for the previous pass's masked store, which Zen 5 does not forward to a masked
// load (the stall was most of the kernel's time on MobileNet-v2's 7- and 14-wide rows). A tap's
// lanes whose input lies in the padding are masked off. Stride 1 loads, stride 2 (MobileNet's
// downsampling) is two masked loads and a permute, larger strides gather. f64 and kernels wider
// than 16 taps use the shared body, vectorized at this ISA.
#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/conv/conv_depthwise.hpp"
#include "kernels/cpu/conv/conv_depthwise_body.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kMaxTapsWide = 16;

using Lanes = Avx512Lanes;

void depthwise_channel_f32(const float* x, const float* w, float bias, const WindowGeometry& g, float* y) {
    int64_t valid_lo[kMaxTapsWide], valid_hi[kMaxTapsWide];
    for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
        valid_output_range(kw * g.dilation[2] - g.pad_begin[2], g.stride[2], g.in[2], g.out[2], &valid_lo[kw],
                           &valid_hi[kw]);
    }
    const int64_t stride = g.stride[2];
    const __m512i gather_index = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(static_cast<int32_t>(stride)));
    for (int64_t od = 0; od < g.out[0]; ++od) {
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
            float* y_row = y + (od * g.out[1] + oh) * g.out[2];
            for (int64_t first = 0; first < g.out[2]; first += 16) {
                const int64_t count = g.out[2] - first < 16 ? g.out[2] - first : 16;
                Lanes::Reg sum = Lanes::set1(bias);
                for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                    const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
                    if (id < 0 || id >= g.in[0]) continue;
                    for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                        const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
                        if (ih < 0 || ih >= g.in[1]) continue;
                        const float* x_row = x + (id * g.in[1] + ih) * g.in[2];
                        const float* taps = w + (kd * g.kernel[1] + kh) * g.kernel[2];
                        for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                            const int64_t lo = valid_lo[kw] > first ? valid_lo[kw] : first;
                            const int64_t hi = valid_hi[kw] < first + count ? valid_hi[kw] : first + count;
                            if (lo >= hi) continue;
                            const Lanes::Mask mask = Lanes::range(lo - first, hi - first);
                            // Lane i reads x_row[(first + i) * stride + offset]; masked lanes are not read.
                            const float* src = x_row + first * stride + kw * g.dilation[2] - g.pad_begin[2];
                            Lanes::Reg values;
                            if (stride == 1) {
                                values = Lanes::load(src, mask);
                            } else if (stride == 2) {
                                values = Lanes::load_even(src, mask);
                            } else {
                                values = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, gather_index, src, 4);
                            }
                            sum = Lanes::fmadd(Lanes::set1(taps[kw]), values, sum);
                        }
                    }
                }
                Lanes::store(y_row + first, sum, Lanes::first(count));
            }
        }
    }
}

}  // namespace

void conv_depthwise_channel_avx512(const float* x, const float* w, float bias, const WindowGeometry& g, float* y) {
    if (g.kernel[2] > kMaxTapsWide || g.in[2] * g.stride[2] >= (int64_t{1} << 30)) {
        return depthwise_channel_body(x, w, bias, g, y);
    }
    depthwise_channel_f32(x, w, bias, g, y);
}
void conv_depthwise_channel_avx512(const double* x, const double* w, double bias, const WindowGeometry& g,
                                   double* y) {
    depthwise_channel_body(x, w, bias, g, y);
}

}  // namespace mln::kernels
