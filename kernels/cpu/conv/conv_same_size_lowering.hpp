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

// A tap's source: its row of the column matrix is column q's element at offset + q of the
// channel's planes where 0 <= oh + dh < height and 0 <= ow + dw < width ((oh, ow) the column's
// output position), zero elsewhere.
struct ShiftedTap {
    int64_t offset;
    int32_t dh, dw;
};

// As ColumnPanelLowering (conv_lowering.hpp) for taps that each read one plane of their channel
// (channel_size apart) at a fixed shift, planes `width` wide and `height` tall as the output:
// the same-size lowering and the stride-2 lowering from polyphase planes (one plane per tap
// parity). `taps` at most kMaxSameSizeTaps, round_up(cols, nr) at most kMaxSameSizeColumns.
template <class Lanes>
void lower_shifted_taps_body(const float* x, int64_t channel_size, int64_t height, int64_t width,
                             const ShiftedTap* tap_of, int64_t taps, int64_t pc, int64_t kc, int64_t q0,
                             int64_t cols, int64_t nr, float* packed) {
    constexpr int64_t kWidth = Lanes::width;
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
    for (int64_t t = 0; t < taps; ++t) {
        for (int64_t v = 0; v < vectors; ++v) {
            masks[t][v] = Lanes::inside(rows_of + kWidth * v, columns_of + kWidth * v, tap_of[t].dh, tap_of[t].dw,
                                        static_cast<int32_t>(height), static_cast<int32_t>(width));
        }
    }
    int64_t channel = pc / taps, t = pc % taps;
    for (int64_t p = 0; p < kc; ++p) {
        const float* source = x + channel * channel_size + q0 + tap_of[t].offset;
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

// As ColumnPanelLowering (conv_lowering.hpp), where same_size_lowering_fits(g, cols, nr, width).
template <class Lanes>
void lower_same_size_body(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0, int64_t cols,
                          int64_t nr, float* packed) {
    const int64_t width = g.in[2], kw_count = g.kernel[2];
    const int64_t taps = g.kernel[1] * kw_count;
    ShiftedTap tap_of[kMaxSameSizeTaps];
    for (int64_t t = 0; t < taps; ++t) {
        const int64_t dh = t / kw_count * g.dilation[1] - g.pad_begin[1];
        const int64_t dw = t % kw_count * g.dilation[2] - g.pad_begin[2];
        tap_of[t] = {dh * width + dw, static_cast<int32_t>(dh), static_cast<int32_t>(dw)};
    }
    lower_shifted_taps_body<Lanes>(x, g.in_size(), g.in[1], width, tap_of, taps, pc, kc, q0, cols, nr, packed);
}

// As ColumnPanelLowering, reading the polyphase planes of split_phase_planes_rows_body
// (conv_lowering.hpp) instead of the image: tap (kh, kw) reads plane ((kh - pad_h) mod 2,
// (kw - pad_w) mod 2) of its channel at row oh + floor((kh - pad_h) / 2), column
// ow + floor((kw - pad_w) / 2): input row 2 (oh + shift_h) + ph = 2 oh - pad_h + kh.
template <class Lanes>
void lower_phase_planes_body(const float* planes, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                             int64_t cols, int64_t nr, float* packed) {
    const int64_t height = g.out[1], width = g.out[2], plane = height * width, kw_count = g.kernel[2];
    const int64_t taps = g.kernel[1] * kw_count;
    ShiftedTap tap_of[kMaxSameSizeTaps];
    for (int64_t t = 0; t < taps; ++t) {
        const int64_t th = t / kw_count - g.pad_begin[1], tw = t % kw_count - g.pad_begin[2];
        // Floor division by 2 and the parity, for negative offsets too.
        const int64_t sh = th >> 1, sw = tw >> 1;
        tap_of[t] = {((th & 1) * 2 + (tw & 1)) * plane + sh * width + sw, static_cast<int32_t>(sh),
                     static_cast<int32_t>(sw)};
    }
    lower_shifted_taps_body<Lanes>(planes, 4 * plane, height, width, tap_of, taps, pc, kc, q0, cols, nr, packed);
}

}  // namespace
}  // namespace mln::kernels
