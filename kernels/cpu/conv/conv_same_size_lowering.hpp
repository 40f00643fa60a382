// The same-size lowering: for stride 1 with the output the input's size (2-d), column q of tap
// (kh, kw)'s row of the column matrix is the channel's element q + shift(kh, kw) where the window
// is inside the image, zero elsewhere, so a row is one masked load per register of columns. The
// masks depend on the tap and the column only: made once per call for each tap (at most
// kMaxSameSizeTaps) instead of per row from the columns' coordinates. Written once over a lane
// type and compiled in each ISA file (internal linkage keeps the copies apart). A lane type has
//   width; Bits (a register's lane mask as bits);
//   inside(rows, columns, dh, dw, height, width): bit i set where 0 <= rows[i] + dh < height
//     and 0 <= columns[i] + dw < width;
//   copy(src, bits, dst): dst[i] = src[i] where bit i is set, else 0, for a whole register
//     (reading nothing at the clear bits).
// Measured on Zen 5 (AVX-512, one thread, contended machine, same-process A/B, min per call):
// ResNet-18's 3x3 at 14x14 forward and backward data 1.5% faster than per-row masks from the
// columns' coordinates (0.983-0.990x over 3 runs each), the lowering's share of the layer 5.2% ->
// 2.8% (perf); at 7x7 about 1%. On Zen 3 (AVX2, 8 lanes, NR 16) against the piece copier of
// conv_lowering_body.hpp: see lower_column_panels_avx2 (conv_lowering_avx2.cpp).
#pragma once

#include <climits>
#include <cstdint>

#include "core/nn_args.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kMaxSameSizeTaps = 49;
constexpr int64_t kMaxSameSizeColumns = 1024;

// Whether the lowering takes this geometry and block (`lanes` the register's width).
inline bool same_size_lowering_fits(const WindowGeometry& g, int64_t cols, int64_t nr, int64_t lanes) {
    return g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1 &&
           g.out[1] == g.in[1] && g.out[2] == g.in[2] && g.kernel[1] * g.kernel[2] <= kMaxSameSizeTaps &&
           nr % lanes == 0 && (cols + nr - 1) / nr * nr <= kMaxSameSizeColumns && g.in_size() < (int64_t{1} << 30);
}

// As ColumnPanelLowering (conv_lowering.hpp), where same_size_lowering_fits(g, cols, nr, width).
template <class Lanes>
void lower_same_size_body(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0, int64_t cols,
                          int64_t nr, float* packed) {
    constexpr int64_t kWidth = Lanes::width;
    const int64_t height = g.in[1], width = g.in[2], kw_count = g.kernel[2];
    const int64_t taps = g.kernel[1] * kw_count;
    const int64_t vectors = (cols + nr - 1) / nr * nr / kWidth;
    // Each column's output row and column; padding columns get a row no tap brings inside.
    alignas(64) int32_t rows_of[kMaxSameSizeColumns], columns_of[kMaxSameSizeColumns];
    int64_t oh = q0 / width, ow = q0 % width;
    for (int64_t j = 0; j < kWidth * vectors; ++j) {
        rows_of[j] = static_cast<int32_t>(j < cols ? oh : INT32_MIN / 2);
        columns_of[j] = static_cast<int32_t>(ow);
        if (++ow == width) {
            ow = 0;
            ++oh;
        }
    }
    typename Lanes::Bits masks[kMaxSameSizeTaps][kMaxSameSizeColumns / kWidth];
    int64_t shifts[kMaxSameSizeTaps];
    for (int64_t t = 0; t < taps; ++t) {
        const int64_t dh = t / kw_count * g.dilation[1] - g.pad_begin[1];
        const int64_t dw = t % kw_count * g.dilation[2] - g.pad_begin[2];
        shifts[t] = dh * width + dw;
        for (int64_t v = 0; v < vectors; ++v) {
            masks[t][v] = Lanes::inside(rows_of + kWidth * v, columns_of + kWidth * v, static_cast<int32_t>(dh),
                                        static_cast<int32_t>(dw), static_cast<int32_t>(height),
                                        static_cast<int32_t>(width));
        }
    }
    int64_t channel = pc / taps, t = pc % taps;
    for (int64_t p = 0; p < kc; ++p) {
        const float* source = x + channel * g.in_size() + q0 + shifts[t];
        const typename Lanes::Bits* row_masks = masks[t];
        float* row = packed + p * nr;
        for (int64_t v = 0, lane = 0; v < vectors; ++v, lane += kWidth) {
            if (lane == nr) {
                lane = 0;
                row += nr * kc;
            }
            Lanes::copy(source + kWidth * v, row_masks[v], row + lane);
        }
        if (++t == taps) {
            t = 0;
            ++channel;
        }
    }
}

}  // namespace
}  // namespace mln::kernels
