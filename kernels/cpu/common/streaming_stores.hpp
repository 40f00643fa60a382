// When kernels write their outputs with non-temporal stores, and the prefetch that goes with them.
#pragma once

#include <cstdint>

#include "kernels/cpu/common/force_inline.hpp"

namespace mln::kernels {

// Outputs of at least this many bytes are written with non-temporal stores: they would not stay
// in cache anyway, and a plain store first reads each line it writes (read-for-ownership), the
// elementwise kernels' bound. Measured per kernel family: elementwise, norm, pooling and the
// polyphase direct convolution (MobileNet-v2's stem at batch 32, 51 MB of y, same-run A/B on a
// loaded machine: one thread 0.90 of the time, two 0.63-0.86).
constexpr int64_t kStreamingStoreBytes = int64_t{16} << 20;

// A streamed store stream asks for its own line kStreamPrefetchAhead bytes ahead once every
// kStreamPrefetchEvery bytes it stores: with only streaming stores the Zen 5 VM overlapped almost
// none of a loop's arithmetic with memory, and even a copy ran below its best; the stream passing
// through the caches every 1 KiB lets it (figures at the elementwise run_vectors).
constexpr int64_t kStreamPrefetchEvery = 1024;
constexpr int64_t kStreamPrefetchAhead = 4096;

// The prefetch for the block of the stream that starts at `at` (a read hint: it never faults, so
// past the output's end it is harmless).
MLN_ALWAYS_INLINE void prefetch_stream_ahead(const void* at) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(static_cast<const char*>(at) + kStreamPrefetchAhead);
#else
    (void)at;
#endif
}

// For streams stored a register at a time, called before each register's store: the prefetch
// where `at` begins a kStreamPrefetchEvery-byte block.
MLN_ALWAYS_INLINE void prefetch_stream_ahead_at_block(const void* at) {
    if (reinterpret_cast<uintptr_t>(at) % kStreamPrefetchEvery == 0) prefetch_stream_ahead(at);
}

}  // namespace mln::kernels
