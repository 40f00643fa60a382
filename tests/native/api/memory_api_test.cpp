#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace mln::test {
namespace {

class MemoryApiTest : public CpuDeviceTest {
protected:
    mln_memory_stats stats() {
        mln_memory_stats s{};
        EXPECT_EQ(mln_memory_get_stats(device_, &s), MLN_STATUS_OK);
        return s;
    }
};

TEST_F(MemoryApiTest, AllocIsAlignedAndCounted) {
    const mln_memory_stats before = stats();
    void* p = nullptr;
    ASSERT_EQ(mln_memory_alloc(device_, 1000, &p), MLN_STATUS_OK);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u);
    std::memset(p, 0xab, 1000);  // the whole block is usable
    const mln_memory_stats during = stats();
    EXPECT_EQ(during.live_bytes - before.live_bytes, 1000);
    EXPECT_EQ(during.live_allocations - before.live_allocations, 1);
    EXPECT_EQ(during.allocation_count - before.allocation_count, 1);
    EXPECT_GE(during.peak_bytes, during.live_bytes);
    mln_memory_free(device_, p);
    const mln_memory_stats after = stats();
    EXPECT_EQ(after.live_bytes, before.live_bytes);
    EXPECT_EQ(after.live_allocations, before.live_allocations);
    EXPECT_EQ(after.free_count - before.free_count, 1);
}

TEST_F(MemoryApiTest, ZeroBytesGivesUniquePointers) {
    std::set<void*> seen;
    std::vector<void*> blocks;
    for (int i = 0; i < 8; ++i) {
        void* p = nullptr;
        ASSERT_EQ(mln_memory_alloc(device_, 0, &p), MLN_STATUS_OK);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u);
        EXPECT_TRUE(seen.insert(p).second);
        blocks.push_back(p);
    }
    for (void* p : blocks) mln_memory_free(device_, p);
    EXPECT_STREQ(mln_last_error(), "");
}

TEST_F(MemoryApiTest, HugeRequestFailsWithByteCount) {
    void* p = reinterpret_cast<void*>(0x40);
    const size_t huge = SIZE_MAX - 10;
    EXPECT_TRUE(failed_with(mln_memory_alloc(device_, huge, &p), MLN_STATUS_OUT_OF_MEMORY,
                            {"mln_memory_alloc", std::to_string(huge) + " bytes"}));
    EXPECT_EQ(p, reinterpret_cast<void*>(0x40));
    const size_t large = size_t{1} << 52;  // 4 PiB: fits the size type, not the machine
    EXPECT_TRUE(failed_with(mln_memory_alloc(device_, large, &p), MLN_STATUS_OUT_OF_MEMORY,
                            {std::to_string(large) + " bytes"}));
}

TEST_F(MemoryApiTest, FreeIgnoresNullAndReportsForeignPointers) {
    mln_memory_free(device_, nullptr);
    EXPECT_STREQ(mln_last_error(), "");
    alignas(64) unsigned char foreign[256] = {};
    const mln_memory_stats before = stats();
    mln_memory_free(device_, foreign + 128);
    EXPECT_NE(std::string(mln_last_error()).find("was not returned by mln_memory_alloc"), std::string::npos)
        << mln_last_error();
    EXPECT_EQ(stats().free_count, before.free_count);
}

TEST_F(MemoryApiTest, Copy) {
    void* a = nullptr;
    void* b = nullptr;
    ASSERT_EQ(mln_memory_alloc(device_, 64, &a), MLN_STATUS_OK);
    ASSERT_EQ(mln_memory_alloc(device_, 64, &b), MLN_STATUS_OK);
    for (int i = 0; i < 64; ++i) static_cast<unsigned char*>(a)[i] = static_cast<unsigned char>(i);
    ASSERT_EQ(mln_memory_copy(device_, b, device_, a, 64), MLN_STATUS_OK);
    EXPECT_EQ(std::memcmp(a, b, 64), 0);
    EXPECT_EQ(mln_memory_copy(device_, nullptr, device_, nullptr, 0), MLN_STATUS_OK);
    EXPECT_TRUE(failed_with(mln_memory_copy(device_, nullptr, device_, a, 4), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_memory_copy: dst is null but bytes is 4"}));
    EXPECT_TRUE(failed_with(mln_memory_copy(device_, b, nullptr, a, 4), MLN_STATUS_INVALID_ARGUMENT,
                            {"src_device is null"}));
    EXPECT_TRUE(failed_with(mln_memory_copy(device_, static_cast<char*>(a) + 8, device_, a, 16),
                            MLN_STATUS_INVALID_ARGUMENT, {"overlap for 16 bytes"}));
    mln_memory_free(device_, a);
    mln_memory_free(device_, b);
}

TEST_F(MemoryApiTest, StatsNeedsOutPointer) {
    EXPECT_TRUE(failed_with(mln_memory_get_stats(device_, nullptr), MLN_STATUS_INVALID_ARGUMENT, {"out_stats is null"}));
}

}  // namespace
}  // namespace mln::test
