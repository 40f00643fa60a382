// A software prefetch hint that compiles everywhere: kernels whose access pattern the hardware
// prefetchers do not follow (strided rows, jumps between images) ask for lines ahead of use.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/common/force_inline.hpp"

namespace mln::kernels {

// Asks for the cache line at p to be loaded for reading (a no-op where the compiler has no
// prefetch builtin).
inline void prefetch_for_read(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

// Prefetches for reading every cache line of the `bytes` bytes at p. Inlined by force: out of
// line, GCC 12's mod-ref analysis finds the loop free of side effects (a prefetch touches no memory
// it models) and deletes calls to it as dead code.
MLN_ALWAYS_INLINE void prefetch_lines(const void* p, int64_t bytes) {
    const char* at = static_cast<const char*>(p);
#if defined(__GNUC__) || defined(__clang__)
    for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(at + b);
#else
    (void)at;
    (void)bytes;
#endif
}

// Prefetches `rows` rows of `bytes` bytes, `stride` bytes apart, a few cache lines per step(),
// spread over `steps` steps: the next block's inputs while a block is computed, where they come
// from memory as more short streams (or rows in pages of their own) than the hardware
// prefetcher follows (the backward filter's next position block of dy: ResNet-18's 7x7/2 stem,
// 64 rows of 1 KiB).
class RowsPrefetch {
public:
    RowsPrefetch(const void* data, int64_t rows, int64_t bytes, int64_t stride, int64_t steps)
        : row_(static_cast<const char*>(data)), rows_(rows), lines_per_row_((bytes + kLine - 1) / kLine),
          stride_(stride), per_step_((rows * lines_per_row_ + steps - 1) / std::max<int64_t>(steps, 1)) {}
    void step() {
        for (int64_t i = 0; i < per_step_ && rows_ > 0; ++i) {
            prefetch_for_read(row_ + line_ * kLine);
            if (++line_ == lines_per_row_) {
                line_ = 0;
                row_ += stride_;
                --rows_;
            }
        }
    }

private:
    static constexpr int64_t kLine = 64;
    const char* row_;
    int64_t rows_, lines_per_row_, stride_, per_step_, line_ = 0;
};

}  // namespace mln::kernels
