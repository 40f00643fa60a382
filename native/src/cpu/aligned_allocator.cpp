#include "cpu/aligned_allocator.hpp"

#include <cstdint>
#include <limits>
#include <new>

#include "core/error.hpp"
#include "core/text.hpp"

namespace mln::cpu {
namespace {

constexpr uint64_t kLiveMagic = 0x4d4c4e414c4c4f43ull;  // "MLNALLOC"
constexpr uint64_t kFreedMagic = 0x4d4c4e4652454544ull;  // "MLNFREED"

struct alignas(AlignedAllocator::kAlignment) BlockHeader {
    uint64_t magic;
    std::size_t bytes;
};
static_assert(sizeof(BlockHeader) == AlignedAllocator::kAlignment);

// Largest request served: the block plus its header must fit in ptrdiff_t.
constexpr std::size_t kMaxBytes =
    static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()) - sizeof(BlockHeader);

}  // namespace

void* AlignedAllocator::allocate(std::size_t bytes) {
    void* raw = nullptr;
    if (bytes <= kMaxBytes) {
        raw = ::operator new(sizeof(BlockHeader) + bytes, std::align_val_t{kAlignment}, std::nothrow);
    }
    if (raw == nullptr) {
        throw Error(MLN_STATUS_OUT_OF_MEMORY, cat("cannot allocate ", bytes, " bytes"));
    }
    auto* header = static_cast<BlockHeader*>(raw);
    header->magic = kLiveMagic;
    header->bytes = bytes;

    const auto size = static_cast<int64_t>(bytes);
    const int64_t live = live_bytes_.fetch_add(size, std::memory_order_relaxed) + size;
    int64_t peak = peak_bytes_.load(std::memory_order_relaxed);
    while (live > peak && !peak_bytes_.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
    }
    live_allocations_.fetch_add(1, std::memory_order_relaxed);
    allocation_count_.fetch_add(1, std::memory_order_relaxed);
    return header + 1;
}

void AlignedAllocator::deallocate(void* pointer) {
    if (pointer == nullptr) return;
    if (reinterpret_cast<std::uintptr_t>(pointer) % kAlignment != 0) {
        throw Error(MLN_STATUS_INVALID_ARGUMENT,
                    cat("pointer ", pointer, " was not returned by mln_memory_alloc (misaligned)"));
    }
    auto* header = static_cast<BlockHeader*>(pointer) - 1;
    if (header->magic != kLiveMagic) {
        throw Error(MLN_STATUS_INVALID_ARGUMENT,
                    cat("pointer ", pointer, header->magic == kFreedMagic ? " was already freed"
                                                                           : " was not returned by mln_memory_alloc"));
    }
    header->magic = kFreedMagic;
    live_bytes_.fetch_sub(static_cast<int64_t>(header->bytes), std::memory_order_relaxed);
    live_allocations_.fetch_sub(1, std::memory_order_relaxed);
    free_count_.fetch_add(1, std::memory_order_relaxed);
    ::operator delete(header, std::align_val_t{kAlignment});
}

mln_memory_stats AlignedAllocator::stats() const noexcept {
    mln_memory_stats stats{};
    stats.live_bytes = live_bytes_.load(std::memory_order_relaxed);
    stats.peak_bytes = peak_bytes_.load(std::memory_order_relaxed);
    stats.live_allocations = live_allocations_.load(std::memory_order_relaxed);
    stats.allocation_count = allocation_count_.load(std::memory_order_relaxed);
    stats.free_count = free_count_.load(std::memory_order_relaxed);
    return stats;
}

AlignedAllocator& host_allocator() {
    static AlignedAllocator allocator;
    return allocator;
}

}  // namespace mln::cpu
