// 64-byte aligned host memory with usage counters.
//
// Each block carries a 64-byte header in front of it that records the block's size (for the
// live-bytes counter) and a magic value that detects pointers this allocator did not hand out
// or already took back. The header keeps the user pointer 64-byte aligned.
#pragma once

#include <myelin.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace mln::cpu {

class AlignedAllocator {
public:
    static constexpr std::size_t kAlignment = 64;

    // Returns a unique 64-byte aligned pointer, also for 0 bytes. Throws
    // Error(OUT_OF_MEMORY) with the byte count when the request cannot be served.
    void* allocate(std::size_t bytes);
    // Accepts nullptr. Throws Error(INVALID_ARGUMENT) for a pointer without a live header
    // (and leaves it alone).
    void deallocate(void* pointer);

    mln_memory_stats stats() const noexcept;

private:
    std::atomic<int64_t> live_bytes_{0};
    std::atomic<int64_t> peak_bytes_{0};
    std::atomic<int64_t> live_allocations_{0};
    std::atomic<int64_t> allocation_count_{0};
    std::atomic<int64_t> free_count_{0};
};

// The allocator shared by every CPU device handle.
AlignedAllocator& host_allocator();

// A block of host_allocator() memory freed with its owner: what the library keeps for itself
// (prepared weights) is then counted by the CPU device's mln_memory_get_stats like a tensor.
class HostBlock {
public:
    HostBlock() = default;
    explicit HostBlock(std::size_t bytes) : data_(host_allocator().allocate(bytes)), bytes_(bytes) {}
    HostBlock(HostBlock&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
    HostBlock& operator=(HostBlock&& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(bytes_, other.bytes_);
        return *this;
    }
    ~HostBlock() { host_allocator().deallocate(data_); }

    void* data() const { return data_; }
    std::size_t bytes() const { return bytes_; }

private:
    void* data_ = nullptr;
    std::size_t bytes_ = 0;
};

}  // namespace mln::cpu
