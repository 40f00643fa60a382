// The Winograd F(4x4, 3x3) transforms (conv_winograd.hpp), written once on a lane type
// (float_lanes.hpp) and compiled per ISA file. Internal linkage keeps the differently compiled
// copies apart.
//
// Matrices (Lavin and Gray, points 0, 1, -1, 2, -2, infinity), each applied as a 1-d transform
// along one axis, then along the other:
//   B^T = [4  0 -5  0 1 0; 0 -4 -4  1 1 0; 0  4 -4 -1 1 0; 0 -2 -1  2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/conv/conv_winograd.hpp"

namespace mln::kernels {
namespace {

// Longest run of tiles a transform takes (the driver cuts longer rows): its phase buffers
// live on the stack.
constexpr int64_t kWinogradMaxRun = 64;

template <class V>
struct WinogradMath {
    using Reg = typename V::Reg;

    // out = B^T d (6 -> 6).
    static void input_1d(const Reg (&d)[6], Reg (&out)[6]) {
        const Reg four = V::set1(4.0f), minus_four = V::set1(-4.0f), five = V::set1(-5.0f);
        const Reg two = V::set1(2.0f), minus_two = V::set1(-2.0f);
        out[0] = V::fmadd(four, d[0], V::fmadd(five, d[2], d[4]));
        out[1] = V::fmadd(minus_four, V::add(d[1], d[2]), V::add(d[3], d[4]));
        out[2] = V::fmadd(four, V::sub(d[1], d[2]), V::sub(d[4], d[3]));
        const Reg odd = V::sub(d[3], d[1]), even = V::sub(d[4], d[2]);
        out[3] = V::fmadd(two, odd, even);
        out[4] = V::fmadd(minus_two, odd, even);
        out[5] = V::fmadd(four, d[1], V::fmadd(five, d[3], d[5]));
    }

    // out = A^T m (6 -> 4).
    static void output_1d(const Reg (&m)[6], Reg (&out)[4]) {
        const Reg sum12 = V::add(m[1], m[2]), diff12 = V::sub(m[1], m[2]);
        const Reg sum34 = V::add(m[3], m[4]), diff34 = V::sub(m[3], m[4]);
        out[0] = V::add(V::add(m[0], sum12), sum34);
        out[1] = V::fmadd(V::set1(2.0f), diff34, diff12);
        out[2] = V::fmadd(V::set1(4.0f), sum34, sum12);
        out[3] = V::add(V::fmadd(V::set1(8.0f), diff34, diff12), m[5]);
    }

    // out = G g (3 -> 6).
    static void weight_1d(Reg g0, Reg g1, Reg g2, Reg (&out)[6]) {
        const Reg outer = V::add(g0, g2);
        const Reg quarter_outer = V::fmadd(V::set1(4.0f), g2, g0);  // g0 + 4 g2
        out[0] = V::mul(V::set1(0.25f), g0);
        out[1] = V::mul(V::set1(-1.0f / 6.0f), V::add(outer, g1));
        out[2] = V::mul(V::set1(-1.0f / 6.0f), V::sub(outer, g1));
        out[3] = V::mul(V::set1(1.0f / 24.0f), V::fmadd(V::set1(2.0f), g1, quarter_outer));
        out[4] = V::mul(V::set1(1.0f / 24.0f), V::fmadd(V::set1(-2.0f), g1, quarter_outer));
        out[5] = g2;
    }
};

// U for filters [m_begin, m_end): each (panel, c) gathers the panel's 3x3 filters into a
// 9 x mr staging block (scalar), then transforms mr filters per register and stores U[xi][panel][c]
// as one mr-wide store per xi.
template <class V>
void winograd_weights(const float* w, int64_t out_channels, int64_t channels, int64_t mr, int64_t m_begin,
                      int64_t m_end, int64_t xi_stride, float* u) {
    using Math = WinogradMath<V>;
    using Reg = typename V::Reg;
    constexpr int64_t kStage = 32;  // >= any mr, a multiple of every lane width
    alignas(64) float stage[9][kStage];
    const int64_t panel_size = channels * mr;
    for (int64_t m0 = m_begin; m0 < m_end; m0 += mr) {
        float* u_panel = u + m0 / mr * panel_size;
        for (int64_t c = 0; c < channels; ++c) {
            for (int64_t i = 0; i < mr; ++i) {
                const int64_t m = m0 + i;
                if (m < out_channels) {
                    const float* g = w + (m * channels + c) * 9;
                    for (int k = 0; k < 9; ++k) stage[k][i] = g[k];
                } else {
                    for (int k = 0; k < 9; ++k) stage[k][i] = 0.0f;
                }
            }
            float* u_c = u_panel + c * mr;
            for_lanes<V>(mr, [&](int64_t i, auto mask) {
                Reg columns[3][6];  // (G g)[.][b] for each filter column b
                for (int b = 0; b < 3; ++b) {
                    Math::weight_1d(V::load(&stage[b][i], mask), V::load(&stage[3 + b][i], mask),
                                    V::load(&stage[6 + b][i], mask), columns[b]);
                }
                for (int k = 0; k < 6; ++k) {
                    Reg row[6];
                    Math::weight_1d(columns[0][k], columns[1][k], columns[2][k], row);
                    for (int l = 0; l < 6; ++l) V::store(u_c + (k * 6 + l) * xi_stride + i, row[l], mask);
                }
            });
        }
    }
}

// Phase split of the six input rows a run of tiles reads: phases[i][p][t] = x[row0 + i][col0 +
// 4t + p], zero outside the image, for t in [0, length).
template <class V>
void split_tile_rows(const float* plane, const WindowGeometry& g, int64_t row0, int64_t col0, int64_t length,
                     float* phases) {
    const int64_t height = g.in[1], width = g.in[2];
    const int64_t positions = 4 * length;
    const int64_t first = std::clamp<int64_t>(-col0, 0, positions);
    const int64_t last = std::clamp<int64_t>(width - col0, first, positions);
    for (int64_t i = 0; i < 6; ++i) {
        float* row_phases = phases + i * 4 * length;
        const int64_t r = row0 + i;
        if (r < 0 || r >= height) {
            std::memset(row_phases, 0, static_cast<size_t>(positions) * sizeof(float));
            continue;
        }
        const float* src = plane + r * width + col0;
        int64_t q = 0;
        for (; q < first; ++q) row_phases[(q & 3) * length + (q >> 2)] = 0.0f;
        for (; q < last; ++q) row_phases[(q & 3) * length + (q >> 2)] = src[q];
        for (; q < positions; ++q) row_phases[(q & 3) * length + (q >> 2)] = 0.0f;
    }
}

template <class V>
void winograd_input(const float* x, const WindowGeometry& g, int64_t channels, const WinogradTileRun& run, float* v,
                    int64_t xi_stride, int64_t ldv) {
    using Math = WinogradMath<V>;
    using Reg = typename V::Reg;
    // Tiles [0, count) read phases at t and t + 1; whole registers past count read zeros.
    const int64_t length = (run.count + V::width - 1) / V::width * V::width + V::width;
    alignas(64) float phases[6 * 4 * (kWinogradMaxRun + 2 * 16)];
    const int64_t row0 = run.tile_row * 4 - g.pad_begin[1];
    const int64_t col0 = run.tile0 * 4 - g.pad_begin[2];
    const int64_t plane_size = g.in[1] * g.in[2];
    for (int64_t c = 0; c < channels; ++c) {
        split_tile_rows<V>(x + c * plane_size, g, row0, col0, length, phases);
        float* v_c = v + c * ldv;
        for_lanes<V>(run.count, [&](int64_t t, auto mask) {
            Reg columns[6][6];  // columns[j][k] = (B^T d)[k][j]: the rows transformed, per tile column j
            for (int j = 0; j < 6; ++j) {
                Reg d[6];
                for (int i = 0; i < 6; ++i) d[i] = V::load(phases + (i * 4 + (j & 3)) * length + t + (j >> 2), AllLanes{});
                Math::input_1d(d, columns[j]);
            }
            for (int k = 0; k < 6; ++k) {
                const Reg row[6] = {columns[0][k], columns[1][k], columns[2][k],
                                    columns[3][k], columns[4][k], columns[5][k]};
                Reg out[6];
                Math::input_1d(row, out);
                for (int l = 0; l < 6; ++l) V::store(v_c + (k * 6 + l) * xi_stride + t, out[l], mask);
            }
        });
    }
}

template <class V>
void winograd_output(const float* m, int64_t xi_stride, const WindowGeometry& g, const WinogradTileRun& run,
                     float bias, const float* residual, bool relu, float* y) {
    using Math = WinogradMath<V>;
    using Reg = typename V::Reg;
    const int64_t length = (run.count + V::width - 1) / V::width * V::width;
    alignas(64) float phases[4 * 4 * (kWinogradMaxRun + 16)];  // [row i][phase j][tile]
    const Reg bias_lanes = V::set1(bias);
    for_lanes<V>(run.count, [&](int64_t t, auto mask) {
        Reg columns[6][4];  // columns[l][i] = (A^T M)[i][l]
        for (int l = 0; l < 6; ++l) {
            Reg column[6];
            for (int k = 0; k < 6; ++k) column[k] = V::load(m + (k * 6 + l) * xi_stride + t, mask);
            Math::output_1d(column, columns[l]);
        }
        for (int i = 0; i < 4; ++i) {
            const Reg row[6] = {columns[0][i], columns[1][i], columns[2][i], columns[3][i], columns[4][i], columns[5][i]};
            Reg out[4];
            Math::output_1d(row, out);
            for (int j = 0; j < 4; ++j) V::store(phases + (i * 4 + j) * length + t, V::add(out[j], bias_lanes), AllLanes{});
        }
    });
    const int64_t out_width = g.out[2];
    const int64_t row0 = run.tile_row * 4;
    const int64_t col0 = run.tile0 * 4;
    const int64_t rows = std::min<int64_t>(4, g.out[1] - row0);
    const int64_t cols = std::min<int64_t>(4 * run.count, out_width - col0);
    for (int64_t i = 0; i < rows; ++i) {
        const float* row_phases = phases + i * 4 * length;
        const int64_t offset = (row0 + i) * out_width + col0;
        float* target = y + offset;
        const float* addend = residual != nullptr ? residual + offset : nullptr;
        for (int64_t q = 0; q < cols; ++q) {
            float value = row_phases[(q & 3) * length + (q >> 2)];
            if (addend != nullptr) value += addend[q];
            if (relu) value = value < 0.0f ? 0.0f : value;  // NaN stays NaN, as ReluOp
            target[q] = value;
        }
    }
}

template <class V>
WinogradTransforms winograd_transforms_of() {
    return {&winograd_weights<V>, &winograd_input<V>, &winograd_output<V>};
}

}  // namespace
}  // namespace mln::kernels
