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

// A kLanes x kLanes transpose, dst[i][j] = src[j][i] with row strides in elements: the
// portable one. An ISA file may pass its own (the Tile parameter of the bodies below).
struct PortableTile {
    template <class T>
    static void transpose(const T* src, int64_t src_stride, T* dst, int64_t dst_stride) {
        for (int64_t i = 0; i < kLanes<T>; ++i) {
            for (int64_t j = 0; j < kLanes<T>; ++j) dst[i * dst_stride + j] = src[j * src_stride + i];
        }
    }
};

// blocked[p][j] = src[j * channel_stride + p] for j < channels, 0 for the other lanes. A full
// block goes by whole tiles.
template <class Tile, class T>
void to_blocked(const T* src, int64_t channels, int64_t channel_stride, int64_t size, T* blocked) {
    constexpr int64_t L = kLanes<T>;
    int64_t p = 0;
    if (channels == L) {
        for (; p + L <= size; p += L) Tile::transpose(src + p, channel_stride, blocked + p * L, L);
    } else {
        std::fill(blocked, blocked + size * L, T(0));
    }
    for (int64_t j = 0; j < channels; ++j) {
        const T* row = src + j * channel_stride;
        for (int64_t q = p; q < size; ++q) blocked[q * L + j] = row[q];
    }
}

template <class Tile, class T>
void from_blocked(const T* blocked, int64_t channels, int64_t channel_stride, int64_t size, T* dst) {
    constexpr int64_t L = kLanes<T>;
    int64_t p = 0;
    if (channels == L) {
        for (; p + L <= size; p += L) Tile::transpose(blocked + p * L, L, dst + p, channel_stride);
    }
    for (int64_t j = 0; j < channels; ++j) {
        T* row = dst + j * channel_stride;
        for (int64_t q = p; q < size; ++q) row[q] = blocked[q * L + j];
    }
}

// taps[k][j] = w[j * kernel_size + k]: the block's filters, lane-major per tap.
template <class T>
void taps_blocked(const T* w, int64_t channels, int64_t kernel_size, T* taps) {
    std::fill(taps, taps + kernel_size * kLanes<T>, T(0));
    for (int64_t j = 0; j < channels; ++j) {
        for (int64_t k = 0; k < kernel_size; ++k) taps[k * kLanes<T> + j] = w[j * kernel_size + k];
    }
}

// dst[j] += a[j] * b[j] over the lanes: one vector FMA.
template <class T>
inline void lanes_multiply_add(T* __restrict dst, const T* __restrict a, const T* __restrict b) {
    for (int64_t j = 0; j < kLanes<T>; ++j) dst[j] += a[j] * b[j];
}

}  // namespace
}  // namespace mln::kernels
