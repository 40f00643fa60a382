// The f32 rows of the channel-blocked depthwise bodies (conv_depthwise_strips.hpp) on FloatLanes
// registers, for the AVX2 (a block of 16 channels is two registers) and AVX-512 (one register)
// files. The sums stay in registers: GCC kept the portable rows' sums on the stack, every FMA a
// store and a reload (perf annotate), a latency chain through memory.
#pragma once

#include <cstdint>

#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/conv/conv_depthwise_strips.hpp"

namespace mln::kernels {
namespace {

template <class V>
struct LanesRows {
    static constexpr int64_t L = kLanes<float>;
    static constexpr int64_t R = L / V::width;  // registers per position
    using Reg = typename V::Reg;

    // tile[u] = bias + sum over taps of tap . window u: four positions at a time, each tap's
    // lanes loaded once for the four.
    template <bool Is3x3>
    static void sums(const float* const* windows, int64_t n, const float* taps, const float* bias_lanes,
                     const PaddedWindows& p, const int64_t tap_step[3], float* tile) {
        Reg bias[R];
        for (int64_t r = 0; r < R; ++r) bias[r] = V::load(bias_lanes + r * V::width, AllLanes{});
        int64_t u = 0;
        for (; u + 4 <= n; u += 4) positions<Is3x3, 4>(windows + u, taps, bias, p, tap_step, tile + u * L);
        for (; u < n; ++u) positions<Is3x3, 1>(windows + u, taps, bias, p, tap_step, tile + u * L);
    }

    // acc[tap] += dy[u] . window u's tap element. 3 x 3: the nine sums of one register of lanes
    // stay in registers over every position, then the next register's.
    template <bool Is3x3>
    static void filter_sums(const float* const* windows, int64_t n, const float* dy_tile, const PaddedWindows& p,
                            const int64_t tap_step[3], float* acc) {
        if constexpr (!Is3x3) {
            PortableRows::filter_sums<false>(windows, n, dy_tile, p, tap_step, acc);
        } else {
            // Three row pointers and constant column offsets: nine offsets in registers did not
            // fit, GCC reloaded them from the stack for every FMA (perf annotate).
            const int64_t sh = tap_step[1];
            for (int64_t r = 0; r < R; ++r) {
                const int64_t lane = r * V::width;
                Reg a[9];
                for (int k = 0; k < 9; ++k) a[k] = V::load(acc + k * L + lane, AllLanes{});
                for (int64_t u = 0; u < n; ++u) {
                    const Reg d = V::load(dy_tile + u * L + lane, AllLanes{});
                    const float* row = windows[u] + lane;
                    for (int kh = 0; kh < 3; ++kh, row += sh) {
                        for (int kw = 0; kw < 3; ++kw) {
                            a[kh * 3 + kw] = V::fmadd(d, V::load(row + kw * L, AllLanes{}), a[kh * 3 + kw]);
                        }
                    }
                }
                for (int k = 0; k < 9; ++k) V::store(acc + k * L + lane, a[k], AllLanes{});
            }
        }
    }

private:
    template <bool Is3x3, int G>
    static void positions(const float* const* windows, const float* taps, const Reg* bias, const PaddedWindows& p,
                          const int64_t tap_step[3], float* tile) {
        const int64_t depth = Is3x3 ? 1 : p.kernel[0], height = Is3x3 ? 3 : p.kernel[1], width = Is3x3 ? 3 : p.kernel[2];
        Reg s[G][R];
        for (int g = 0; g < G; ++g) {
            for (int64_t r = 0; r < R; ++r) s[g][r] = bias[r];
        }
        const float* tap = taps;
        const int64_t column_step = Is3x3 ? L : tap_step[2];  // constant offsets for 3 x 3 (is_3x3)
        for (int64_t kd = 0; kd < depth; ++kd) {
            for (int64_t kh = 0; kh < height; ++kh) {
                int64_t offset = kd * tap_step[0] + kh * tap_step[1];
                for (int64_t kw = 0; kw < width; ++kw, tap += L, offset += column_step) {
                    for (int64_t r = 0; r < R; ++r) {
                        const Reg t = V::load(tap + r * V::width, AllLanes{});
                        for (int g = 0; g < G; ++g) {
                            s[g][r] = V::fmadd(t, V::load(windows[g] + offset + r * V::width, AllLanes{}), s[g][r]);
                        }
                    }
                }
            }
        }
        for (int g = 0; g < G; ++g) {
            for (int64_t r = 0; r < R; ++r) V::store(tile + g * L + r * V::width, s[g][r], AllLanes{});
        }
    }
};

}  // namespace
}  // namespace mln::kernels
