#include <string>
#include <thread>

#include "test_support.hpp"

namespace mln::test {
namespace {

TEST(DeviceApi, Counts) {
    int32_t count = -1;
    ASSERT_EQ(mln_device_count(MLN_DEVICE_KIND_CPU, &count), MLN_STATUS_OK);
    EXPECT_EQ(count, 1);
    ASSERT_EQ(mln_device_count(MLN_DEVICE_KIND_CUDA, &count), MLN_STATUS_OK);
    EXPECT_EQ(count, 0);
}

TEST(DeviceApi, CreateCpuAndQuery) {
    mln_device* device = nullptr;
    ASSERT_EQ(mln_device_create(MLN_DEVICE_KIND_CPU, 0, &device), MLN_STATUS_OK);
    ASSERT_NE(device, nullptr);
    mln_device_kind kind = MLN_DEVICE_KIND_CUDA;
    EXPECT_EQ(mln_device_get_kind(device, &kind), MLN_STATUS_OK);
    EXPECT_EQ(kind, MLN_DEVICE_KIND_CPU);
    const char* name = nullptr;
    EXPECT_EQ(mln_device_get_name(device, &name), MLN_STATUS_OK);
    EXPECT_STREQ(name, "cpu:0");
    EXPECT_EQ(mln_device_synchronize(device), MLN_STATUS_OK);
    mln_device_destroy(device);
    mln_device_destroy(nullptr);
    EXPECT_STREQ(mln_last_error(), "");
}

TEST(DeviceApi, CreateFailures) {
    mln_device* device = reinterpret_cast<mln_device*>(0x1);
    EXPECT_TRUE(failed_with(mln_device_create(MLN_DEVICE_KIND_CUDA, 0, &device), MLN_STATUS_NOT_SUPPORTED,
                            {"mln_device_create", "CUDA"}));
    EXPECT_TRUE(failed_with(mln_device_create(MLN_DEVICE_KIND_CPU, 1, &device), MLN_STATUS_INVALID_ARGUMENT,
                            {"cpu ordinal 1 is out of range"}));
    EXPECT_TRUE(failed_with(mln_device_create(MLN_DEVICE_KIND_CPU, -1, &device), MLN_STATUS_INVALID_ARGUMENT,
                            {"ordinal -1"}));
    EXPECT_TRUE(failed_with(mln_device_create(static_cast<mln_device_kind>(5), 0, &device),
                            MLN_STATUS_INVALID_ARGUMENT, {"kind 5"}));
    EXPECT_TRUE(failed_with(mln_device_create(MLN_DEVICE_KIND_CPU, 0, nullptr), MLN_STATUS_INVALID_ARGUMENT,
                            {"out_device is null"}));
    EXPECT_EQ(device, reinterpret_cast<mln_device*>(0x1));
}

TEST(DeviceApi, NullDeviceIsRejectedEverywhere) {
    int32_t value = 0;
    const char* name = nullptr;
    EXPECT_TRUE(failed_with(mln_device_get_name(nullptr, &name), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_device_get_name: device is null"}));
    EXPECT_TRUE(failed_with(mln_device_get_thread_count(nullptr, &value), MLN_STATUS_INVALID_ARGUMENT,
                            {"device is null"}));
    EXPECT_TRUE(failed_with(mln_device_synchronize(nullptr), MLN_STATUS_INVALID_ARGUMENT, {"device is null"}));
    EXPECT_TRUE(failed_with(mln_fill(nullptr, nullptr, 0.0), MLN_STATUS_INVALID_ARGUMENT, {"mln_fill: device is null"}));
}

class DeviceApiTest : public CpuDeviceTest {};

TEST_F(DeviceApiTest, Supports) {
    auto supports = [&](mln_kernel kernel, mln_dtype dtype) {
        int32_t result = -1;
        EXPECT_EQ(mln_device_supports(device_, kernel, dtype, &result), MLN_STATUS_OK) << mln_last_error();
        return result;
    };
    for (mln_dtype dtype : {MLN_DTYPE_F32, MLN_DTYPE_U8, MLN_DTYPE_I8, MLN_DTYPE_I32, MLN_DTYPE_I64, MLN_DTYPE_BOOL,
                            MLN_DTYPE_F16, MLN_DTYPE_F64, MLN_DTYPE_BF16}) {
        EXPECT_EQ(supports(MLN_KERNEL_FILL, dtype), 1);
        EXPECT_EQ(supports(MLN_KERNEL_COPY, dtype), 1);
        EXPECT_EQ(supports(MLN_KERNEL_CAST, dtype), 1);
    }
    EXPECT_EQ(supports(MLN_KERNEL_UNARY, MLN_DTYPE_I8), 1);
    EXPECT_EQ(supports(MLN_KERNEL_UNARY, MLN_DTYPE_U8), 0);
    EXPECT_EQ(supports(MLN_KERNEL_BINARY, MLN_DTYPE_I64), 1);
    EXPECT_EQ(supports(MLN_KERNEL_BINARY, MLN_DTYPE_I8), 1);  // comparisons
    // f16/bf16 unary, binary and gemm compute in f32.
    for (mln_dtype dtype : {MLN_DTYPE_F16, MLN_DTYPE_BF16}) {
        EXPECT_EQ(supports(MLN_KERNEL_UNARY, dtype), 1);
        EXPECT_EQ(supports(MLN_KERNEL_BINARY, dtype), 1);
        EXPECT_EQ(supports(MLN_KERNEL_GEMM, dtype), 1);
    }
    EXPECT_EQ(supports(MLN_KERNEL_WHERE, MLN_DTYPE_F16), 1);
    EXPECT_EQ(supports(MLN_KERNEL_SOFTMAX, MLN_DTYPE_F64), 1);
    EXPECT_EQ(supports(MLN_KERNEL_OPTIMIZER, MLN_DTYPE_I32), 0);
    EXPECT_EQ(supports(MLN_KERNEL_DROPOUT, MLN_DTYPE_F32), 1);
    EXPECT_EQ(supports(MLN_KERNEL_REDUCE, MLN_DTYPE_I32), 1);
    EXPECT_EQ(supports(MLN_KERNEL_REDUCE, MLN_DTYPE_F16), 0);
    EXPECT_EQ(supports(MLN_KERNEL_GEMM, MLN_DTYPE_F64), 1);
    EXPECT_EQ(supports(MLN_KERNEL_GEMM, MLN_DTYPE_I32), 0);
    int32_t result = 0;
    EXPECT_TRUE(failed_with(mln_device_supports(device_, static_cast<mln_kernel>(99), MLN_DTYPE_F32, &result),
                            MLN_STATUS_INVALID_ARGUMENT, {"kernel 99"}));
    EXPECT_TRUE(failed_with(mln_device_supports(device_, MLN_KERNEL_GEMM, static_cast<mln_dtype>(5), &result),
                            MLN_STATUS_INVALID_ARGUMENT, {"dtype 5"}));
}

TEST_F(DeviceApiTest, ThreadCount) {
    int32_t cores = 0;
    ASSERT_EQ(mln_cpu_get_physical_core_count(&cores), MLN_STATUS_OK);
    ASSERT_GE(cores, 1);
    int32_t count = 0;
    ASSERT_EQ(mln_device_set_thread_count(device_, 3), MLN_STATUS_OK);
    ASSERT_EQ(mln_device_get_thread_count(device_, &count), MLN_STATUS_OK);
    EXPECT_EQ(count, 3);
    // All CPU handles share one pool.
    mln_device* other = nullptr;
    ASSERT_EQ(mln_device_create(MLN_DEVICE_KIND_CPU, 0, &other), MLN_STATUS_OK);
    ASSERT_EQ(mln_device_get_thread_count(other, &count), MLN_STATUS_OK);
    EXPECT_EQ(count, 3);
    mln_device_destroy(other);
    ASSERT_EQ(mln_device_set_thread_count(device_, 0), MLN_STATUS_OK);
    ASSERT_EQ(mln_device_get_thread_count(device_, &count), MLN_STATUS_OK);
    EXPECT_EQ(count, cores);
    EXPECT_TRUE(failed_with(mln_device_set_thread_count(device_, -2), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_device_set_thread_count", "count -2"}));
    EXPECT_TRUE(failed_with(mln_device_set_thread_count(device_, 100000), MLN_STATUS_INVALID_ARGUMENT,
                            {"count 100000"}));
}

}  // namespace
}  // namespace mln::test
