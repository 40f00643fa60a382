// Pieces every side-by-side benchmark needs: contiguous tensor descriptors for myelin.h, and
// timing in alternating batches (per-call time of a batch, median over batches).
#pragma once

#include <myelin.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <thread>
#include <vector>

namespace peer_bench {

// Tensors placed as a runtime places its own: on a cache-line boundary. Myelin's allocator and a
// peer's reordered copies both start there; a large std::vector from malloc starts 16 bytes past
// a page, which splits every other vector load across two lines.
template <class T>
struct CacheLineAllocator {
    using value_type = T;
    static constexpr std::align_val_t kAlignment{64};
    CacheLineAllocator() = default;
    template <class U>
    CacheLineAllocator(const CacheLineAllocator<U>&) {}
    T* allocate(size_t count) { return static_cast<T*>(::operator new(count * sizeof(T), kAlignment)); }
    void deallocate(T* p, size_t) { ::operator delete(p, kAlignment); }
    template <class U>
    bool operator==(const CacheLineAllocator<U>&) const {
        return true;
    }
};
template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

// A row-major contiguous descriptor of `shape` over `data`.
inline mln_tensor_desc contiguous(void* data, mln_dtype dtype, const std::vector<int64_t>& shape) {
    mln_tensor_desc desc{};
    desc.data = data;
    desc.dtype = dtype;
    desc.rank = static_cast<int32_t>(shape.size());
    int64_t stride = 1;
    for (int d = desc.rank - 1; d >= 0; --d) {
        desc.shape[d] = shape[static_cast<size_t>(d)];
        desc.strides[d] = stride;
        stride *= shape[static_cast<size_t>(d)];
    }
    return desc;
}

// Seconds per call of `run`, timed over a batch of at least `min_seconds`. `pause` first lets
// the other library's threads stop spinning, so neither pool is timed against the other's.
template <class Run>
double seconds_per_call(Run&& run, double min_seconds, std::chrono::milliseconds pause = std::chrono::milliseconds(0)) {
    using clock = std::chrono::steady_clock;
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
    int calls = 0;
    const auto start = clock::now();
    double elapsed = 0.0;
    do {
        run();
        ++calls;
        elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < min_seconds);
    return elapsed / calls;
}

inline double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}  // namespace peer_bench
