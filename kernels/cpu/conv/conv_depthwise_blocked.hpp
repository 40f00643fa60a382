// Channel-blocked layout shared by the direct depthwise kernels (forward and backward), included
// by their bodies, which are compiled once per ISA file; internal linkage keeps the differently
// compiled copies apart. "Blocked": element [p][j] is position p of the block's channel j
// (position-major, as oneDNN's nChw16c), lanes past the block's channels zero, so one tap over a
// block of kDepthwiseBlock channels is one full-width vector operation whatever the row width.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/conv/conv_depthwise.hpp"

namespace mln::kernels {
namespace {

template <class T>
constexpr int64_t kLanes = kDepthwiseBlock<T>;

template <class T>
std::vector<T>& depthwise_scratch(int which) {
    thread_local std::vector<T> buffers[2];
    return buffers[which];
}

// A kLanes x kLanes transpose: row i of the result (position i's channels) is
// dst_rows[i][j] = src[j * src_stride + i], each row to its own place (a padded row, a tile); the
// portable one. An ISA file may pass its own (the Tile parameter of the bodies).
struct PortableTile {
    template <class T>
    static void transpose_rows(const T* src, int64_t src_stride, T* const* dst_rows) {
        for (int64_t i = 0; i < kLanes<T>; ++i) {
            for (int64_t j = 0; j < kLanes<T>; ++j) dst_rows[i][j] = src[j * src_stride + i];
        }
    }
};

// dst[i * dst_stride + j] = src[j * src_stride + i] for i, j < kLanes: the tile's rows at a fixed stride.
template <class Tile, class T>
void transpose_tile(const T* src, int64_t src_stride, T* dst, int64_t dst_stride) {
    T* rows[kLanes<T>];
    for (int64_t i = 0; i < kLanes<T>; ++i) rows[i] = dst + i * dst_stride;
    Tile::transpose_rows(src, src_stride, rows);
}

// taps[k][j] = w[j * kernel_size + k]: the block's filters, lane-major per tap; flipped, tap k
// takes w's tap kernel_size - 1 - k (every spatial axis reversed, for backward data).
template <class T>
void taps_blocked(const T* w, int64_t channels, int64_t kernel_size, bool flipped, T* taps) {
    std::fill(taps, taps + kernel_size * kLanes<T>, T(0));
    for (int64_t j = 0; j < channels; ++j) {
        for (int64_t k = 0; k < kernel_size; ++k) {
            taps[k * kLanes<T> + j] = w[j * kernel_size + (flipped ? kernel_size - 1 - k : k)];
        }
    }
}

// dst[j] += a[j] * b[j] over the lanes: one vector FMA.
template <class T>
inline void lanes_multiply_add(T* __restrict dst, const T* __restrict a, const T* __restrict b) {
    for (int64_t j = 0; j < kLanes<T>; ++j) dst[j] += a[j] * b[j];
}

}  // namespace
}  // namespace mln::kernels
