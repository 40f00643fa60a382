// Copies into channel-minor order (a position a register of eight floats, a channel a lane) for
// the AVX2 depthwise 3 x 3 kernels that sum eight channels at a time: the backward filter's and
// the forward's on small planes. Included only by files compiled with AVX2 flags; the anonymous
// namespace gives each file its own copy.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemm/gemm_transpose_x86.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kChannelMinorLanes = 8;

// target[q * 8 + c] = source[c * channel_stride + q] for q < count and c < channels (<= 8); lanes
// of channels past `channels` zero.
void copy_channel_minor(const float* source, int64_t channel_stride, int64_t channels, int64_t count, float* target) {
    if (channels == kChannelMinorLanes && count >= kChannelMinorLanes) {
        for (int64_t q = 0; q < count; q += kChannelMinorLanes) {
            const int64_t first = std::min(q, count - kChannelMinorLanes);  // the last block overlaps the one before
            transpose8x8_copy(source + first, channel_stride, target + first * kChannelMinorLanes, kChannelMinorLanes);
        }
        return;
    }
    for (int64_t q = 0; q < count; ++q) {
        for (int64_t c = 0; c < kChannelMinorLanes; ++c) {
            target[q * kChannelMinorLanes + c] = c < channels ? source[c * channel_stride + q] : 0.0f;
        }
    }
}

}  // namespace
}  // namespace mln::kernels
