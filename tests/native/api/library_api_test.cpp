#include <algorithm>
#include <cstring>
#include <string>
#include <thread>

#include "test_support.hpp"

namespace mln::test {
namespace {

TEST(LibraryApi, VersionAndAbi) {
    const std::string version = mln_version();
    EXPECT_EQ(std::count(version.begin(), version.end(), '.'), 2) << version;
    EXPECT_EQ(mln_abi_version(), MLN_ABI_VERSION);
}

TEST(LibraryApi, DtypeSizes) {
    EXPECT_EQ(mln_dtype_size(MLN_DTYPE_F32), 4u);
    EXPECT_EQ(mln_dtype_size(MLN_DTYPE_U8), 1u);
    EXPECT_EQ(mln_dtype_size(MLN_DTYPE_I8), 1u);
    EXPECT_EQ(mln_dtype_size(MLN_DTYPE_I32), 4u);
    EXPECT_EQ(mln_dtype_size(MLN_DTYPE_I64), 8u);
    EXPECT_EQ(mln_dtype_size(MLN_DTYPE_BOOL), 1u);
    EXPECT_EQ(mln_dtype_size(MLN_DTYPE_F16), 2u);
    EXPECT_EQ(mln_dtype_size(MLN_DTYPE_F64), 8u);
    EXPECT_EQ(mln_dtype_size(MLN_DTYPE_BF16), 2u);
    EXPECT_EQ(mln_dtype_size(static_cast<mln_dtype>(0)), 0u);
    EXPECT_EQ(mln_dtype_size(static_cast<mln_dtype>(4)), 0u);
    EXPECT_EQ(mln_dtype_size(static_cast<mln_dtype>(-1)), 0u);
}

TEST(LibraryApi, LastErrorIsSetOnFailureAndClearedBySuccess) {
    int32_t count = -7;
    EXPECT_TRUE(failed_with(mln_device_count(static_cast<mln_device_kind>(9), &count), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_device_count: ", "kind 9"}));
    EXPECT_EQ(count, -7) << "out-parameter must be untouched on failure";
    EXPECT_EQ(mln_device_count(MLN_DEVICE_KIND_CPU, &count), MLN_STATUS_OK);
    EXPECT_EQ(count, 1);
    EXPECT_STREQ(mln_last_error(), "");
}

TEST(LibraryApi, LastErrorIsPerThread) {
    EXPECT_NE(mln_device_count(MLN_DEVICE_KIND_CPU, nullptr), MLN_STATUS_OK);
    const std::string mine = mln_last_error();
    EXPECT_NE(mine.find("out_count is null"), std::string::npos) << mine;
    std::string other;
    std::thread([&] {
        other = mln_last_error();  // a fresh thread has no error
        mln_cpu_set_isa(static_cast<mln_isa>(77));
    }).join();
    EXPECT_EQ(other, "");
    EXPECT_EQ(mine, mln_last_error()) << "another thread's failure must not change this thread's message";
}

}  // namespace
}  // namespace mln::test
