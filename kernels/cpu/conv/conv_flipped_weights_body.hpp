// The body of the flipped-filter packers (pack_flipped_weights_avx512, pack_flipped_weights_avx2):
// w^T panels for backward data as the forward of dy, read straight from the backward pass's
// filters. Compiled once per ISA file with that file's block of channels; internal linkage keeps
// the differently compiled copies apart.
#pragma once

#include <cstdint>

namespace mln::kernels {
namespace {

// panel[i * Width + j] = w[m * m_stride + j * K + K - 1 - k] for p = pc + i = m * K + k, i < kc,
// j < rows <= Width (zero from rows on): each tap's row at its reversed place. Blocks of
// Lanes::channels channels at a time over all m (each m's taps through Lanes::block_taps(channels,
// K, row_of), row_of(t) the row of tap t + the block's first lane or nullptr where the tap is
// outside [pc, pc + kc)); the channels past the last whole block one at a time.
template <class Lanes>
void pack_flipped_weights_body(const float* w, int64_t m_stride, int64_t kernel_size, int64_t rows, int64_t pc,
                               int64_t kc, float* panel) {
    constexpr int64_t kWidth = Lanes::panel_width;
    const int64_t K = kernel_size;
    auto row_of = [&](int64_t m, int64_t t) {
        const int64_t row = m * K + K - 1 - t;
        return row >= pc && row < pc + kc ? panel + (row - pc) * kWidth : nullptr;
    };
    int64_t j0 = 0;
    for (; K <= Lanes::max_gathered_stride && j0 + Lanes::channels <= rows; j0 += Lanes::channels) {
        for (int64_t m = pc / K; m * K < pc + kc; ++m) {
            Lanes::block_taps(w + m * m_stride + j0 * K, K, [&](int64_t t) {
                float* const row = row_of(m, t);
                return row != nullptr ? row + j0 : nullptr;
            });
        }
    }
    if (j0 == kWidth) return;
    for (int64_t m = pc / K; m * K < pc + kc; ++m) {
        for (int64_t t = 0; t < K; ++t) {
            float* const row = row_of(m, t);
            if (row == nullptr) continue;
            const float* const channels = w + m * m_stride;
            for (int64_t j = j0; j < rows; ++j) row[j] = channels[j * K + t];
            for (int64_t j = rows; j < kWidth; ++j) row[j] = 0.0f;
        }
    }
}

}  // namespace
}  // namespace mln::kernels
