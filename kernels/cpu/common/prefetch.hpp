// A software prefetch hint that compiles everywhere: kernels whose access pattern the hardware
// prefetchers do not follow (strided rows, jumps between images) ask for lines ahead of use.
#pragma once

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

}  // namespace mln::kernels
