#include "cpu/aligned_allocator.hpp"

#include <cstdint>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "test_support.hpp"

namespace mln::test {
namespace {

TEST(AlignedAllocator, AlignmentAndStats) {
    cpu::AlignedAllocator allocator;  // a private instance: exact counts
    std::vector<void*> blocks;
    for (size_t bytes : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{1000}, size_t{1} << 20}) {
        void* p = allocator.allocate(bytes);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u) << bytes;
        blocks.push_back(p);
    }
    const int64_t total = 0 + 1 + 63 + 64 + 1000 + (1 << 20);
    mln_memory_stats s = allocator.stats();
    EXPECT_EQ(s.live_bytes, total);
    EXPECT_EQ(s.peak_bytes, total);
    EXPECT_EQ(s.live_allocations, 6);
    EXPECT_EQ(s.allocation_count, 6);
    allocator.deallocate(blocks.back());
    blocks.pop_back();
    s = allocator.stats();
    EXPECT_EQ(s.live_bytes, total - (1 << 20));
    EXPECT_EQ(s.peak_bytes, total);
    EXPECT_EQ(s.free_count, 1);
    for (void* p : blocks) allocator.deallocate(p);
    s = allocator.stats();
    EXPECT_EQ(s.live_bytes, 0);
    EXPECT_EQ(s.live_allocations, 0);
    EXPECT_EQ(s.free_count, 6);
}

TEST(AlignedAllocator, CountsStayExactUnderConcurrency) {
    cpu::AlignedAllocator allocator;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) allocator.deallocate(allocator.allocate(static_cast<size_t>(i % 97)));
        });
    }
    for (auto& thread : threads) thread.join();
    const mln_memory_stats s = allocator.stats();
    EXPECT_EQ(s.live_bytes, 0);
    EXPECT_EQ(s.allocation_count, 8000);
    EXPECT_EQ(s.free_count, 8000);
    EXPECT_LE(s.peak_bytes, 4 * 96);
}

TEST(AlignedAllocator, RejectsForeignAndMisalignedPointers) {
    cpu::AlignedAllocator allocator;
    alignas(64) unsigned char foreign[192] = {};
    EXPECT_THROW(allocator.deallocate(foreign + 64), Error);
    EXPECT_THROW(allocator.deallocate(foreign + 3), Error);
    EXPECT_EQ(allocator.stats().free_count, 0);
}

TEST(AlignedAllocator, HugeRequestThrowsOutOfMemory) {
    cpu::AlignedAllocator allocator;
    try {
        allocator.allocate(SIZE_MAX);
        FAIL();
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), MLN_STATUS_OUT_OF_MEMORY);
        EXPECT_NE(std::string(error.what()).find(std::to_string(SIZE_MAX)), std::string::npos);
    }
    EXPECT_EQ(allocator.stats().allocation_count, 0);
}

}  // namespace
}  // namespace mln::test
