// Bad arguments to the kernel entry points: the status, a message naming the values, and no
// write to any output.
#include <cstdint>
#include <limits>
#include <string>

#include "test_support.hpp"

namespace mln::test {
namespace {

class KernelValidationTest : public CpuDeviceTest {};

TEST_F(KernelValidationTest, NullTensors) {
    HostTensor<float> y({2});
    EXPECT_TRUE(failed_with(mln_unary(device_, MLN_UNARY_OP_NEG, 0.0, 0.0, nullptr, y.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_unary: x is null"}));
    EXPECT_TRUE(failed_with(mln_fill(device_, nullptr, 1.0), MLN_STATUS_INVALID_ARGUMENT, {"mln_fill: y is null"}));
    EXPECT_TRUE(failed_with(mln_gemm(device_, y.desc(), 0, y.desc(), 0, nullptr, 1, 0, nullptr, MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_gemm: c is null"}));
}

TEST_F(KernelValidationTest, DescriptorChecks) {
    HostTensor<float> y({2, 3});
    mln_tensor_desc desc = *y.desc();
    desc.rank = 9;
    EXPECT_TRUE(failed_with(mln_fill(device_, &desc, 1.0), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_fill: y has rank 9 but at most 8 is supported"}));
    desc.rank = -1;
    EXPECT_TRUE(failed_with(mln_fill(device_, &desc, 1.0), MLN_STATUS_INVALID_ARGUMENT, {"negative rank -1"}));
    desc = *y.desc();
    desc.shape[1] = -3;
    EXPECT_TRUE(failed_with(mln_fill(device_, &desc, 1.0), MLN_STATUS_INVALID_ARGUMENT,
                            {"y has negative dimension 1 (-3) in shape 2x-3"}));
    desc = *y.desc();
    desc.dtype = static_cast<mln_dtype>(42);
    EXPECT_TRUE(failed_with(mln_fill(device_, &desc, 1.0), MLN_STATUS_INVALID_ARGUMENT, {"invalid dtype 42"}));
    desc = *y.desc();
    desc.shape[0] = int64_t{1} << 62;
    desc.shape[1] = 8;
    EXPECT_TRUE(failed_with(mln_fill(device_, &desc, 1.0), MLN_STATUS_INVALID_ARGUMENT,
                            {"element count overflows int64"}));
    desc = *y.desc();
    desc.strides[0] = int64_t{1} << 62;
    EXPECT_TRUE(failed_with(mln_fill(device_, &desc, 1.0), MLN_STATUS_INVALID_ARGUMENT,
                            {"spans more bytes than fit in int64"}));
    desc = *y.desc();
    desc.data = static_cast<char*>(desc.data) + 1;
    EXPECT_TRUE(failed_with(mln_fill(device_, &desc, 1.0), MLN_STATUS_INVALID_ARGUMENT,
                            {"is not aligned to its 4-byte element size (f32)"}));
    desc = *y.desc();
    desc.data = nullptr;
    EXPECT_TRUE(failed_with(mln_fill(device_, &desc, 1.0), MLN_STATUS_INVALID_ARGUMENT,
                            {"y data is null but it has 6 elements"}));
    desc = *y.desc();
    desc.strides[1] = 0;
    EXPECT_TRUE(failed_with(mln_fill(device_, &desc, 1.0), MLN_STATUS_INVALID_ARGUMENT,
                            {"y has stride 0 on dimension 1 of size 3; an output cannot broadcast"}));
    for (int i = 0; i < 6; ++i) EXPECT_EQ(y.at(i), 0.0f) << "a rejected call must not write";
}

TEST_F(KernelValidationTest, EmptyTensorMayHaveNullData) {
    mln_tensor_desc desc{};
    desc.data = nullptr;
    desc.dtype = MLN_DTYPE_F32;
    desc.rank = 2;
    desc.shape[0] = 0;
    desc.shape[1] = 5;
    EXPECT_EQ(mln_fill(device_, &desc, 1.0), MLN_STATUS_OK) << mln_last_error();
    EXPECT_EQ(mln_unary(device_, MLN_UNARY_OP_EXP, 0.0, 0.0, &desc, &desc), MLN_STATUS_OK) << mln_last_error();
}

TEST_F(KernelValidationTest, ShapeAndDtypeAgreement) {
    HostTensor<float> x({2, 3});
    HostTensor<float> y({3, 2});
    HostTensor<double> yd({2, 3});
    EXPECT_TRUE(failed_with(mln_unary(device_, MLN_UNARY_OP_NEG, 0.0, 0.0, x.desc(), y.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_unary: shapes differ: x is 2x3 but y is 3x2"}));
    EXPECT_TRUE(failed_with(mln_unary(device_, MLN_UNARY_OP_NEG, 0.0, 0.0, x.desc(), yd.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"dtypes differ: x is f32 but y is f64"}));
    EXPECT_TRUE(failed_with(mln_copy(device_, x.desc(), yd.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_copy: dtypes differ", "mln_cast converts"}));
    EXPECT_EQ(mln_cast(device_, x.desc(), yd.desc()), MLN_STATUS_OK) << mln_last_error();
}

TEST_F(KernelValidationTest, BinaryBroadcastMessages) {
    HostTensor<float> a({2, 3});
    HostTensor<float> b({4, 3});
    HostTensor<float> y({4, 3});
    EXPECT_TRUE(failed_with(mln_binary(device_, MLN_BINARY_OP_ADD, a.desc(), b.desc(), y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_binary: a is 2x3 and b is 4x3: dimension 0 (2 vs 4) cannot broadcast"}));
    HostTensor<float> row({3});
    HostTensor<float> wrong({2, 4});
    EXPECT_TRUE(failed_with(mln_binary(device_, MLN_BINARY_OP_ADD, a.desc(), row.desc(), wrong.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"y is 2x4 but a (2x3) and b (3) broadcast to 2x3"}));
    EXPECT_TRUE(failed_with(mln_binary(device_, static_cast<mln_binary_op>(99), a.desc(), a.desc(), a.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"op 99 is not a valid mln_binary_op"}));
}

TEST_F(KernelValidationTest, UnsupportedDtypesAndOps) {
    HostTensor<uint8_t> u8({4});
    EXPECT_TRUE(failed_with(mln_unary(device_, MLN_UNARY_OP_NEG, 0.0, 0.0, u8.desc(), u8.desc()), MLN_STATUS_NOT_SUPPORTED,
                            {"mln_unary: unary is not supported for dtype u8 on cpu:0"}));
    HostTensor<int32_t> i32({4});
    EXPECT_TRUE(failed_with(mln_unary(device_, MLN_UNARY_OP_SQRT, 0.0, 0.0, i32.desc(), i32.desc()), MLN_STATUS_NOT_SUPPORTED,
                            {"mln_unary: sqrt is not supported for dtype i32"}));
    EXPECT_TRUE(failed_with(mln_binary(device_, MLN_BINARY_OP_SHIFT_LEFT, i32.desc(), i32.desc(), i32.desc()),
                            MLN_STATUS_NOT_SUPPORTED, {"mln_binary: shift_left is not supported for dtype i32"}));
    HostTensor<int32_t> scalar({});
    EXPECT_TRUE(failed_with(mln_reduce(device_, MLN_REDUCE_OP_MEAN, i32.desc(), nullptr, 0, 0, scalar.desc()),
                            MLN_STATUS_NOT_SUPPORTED, {"mln_reduce: mean is not supported for dtype i32"}));
    HostTensor<int32_t> m({2, 2});
    EXPECT_TRUE(failed_with(mln_gemm(device_, m.desc(), 0, m.desc(), 0, m.desc(), 1, 0, nullptr, MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_NOT_SUPPORTED, {"mln_gemm: gemm is not supported for dtype i32"}));
    EXPECT_TRUE(failed_with(mln_unary(device_, static_cast<mln_unary_op>(-1), 0.0, 0.0, i32.desc(), i32.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"op -1 is not a valid mln_unary_op"}));
}

TEST_F(KernelValidationTest, ReduceAxes) {
    HostTensor<float> x({2, 3, 4});
    HostTensor<float> y({2, 4});
    const int32_t out_of_range[] = {3};
    EXPECT_TRUE(failed_with(mln_reduce(device_, MLN_REDUCE_OP_SUM, x.desc(), out_of_range, 1, 0, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"axes[0] is 3 but x has rank 3 (valid axes are -3..2)"}));
    const int32_t duplicate[] = {1, -2};
    EXPECT_TRUE(failed_with(mln_reduce(device_, MLN_REDUCE_OP_SUM, x.desc(), duplicate, 2, 0, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"axes[1] is -2, which repeats axis 1"}));
    EXPECT_TRUE(failed_with(mln_reduce(device_, MLN_REDUCE_OP_SUM, x.desc(), nullptr, 2, 0, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"axes is null but axis_count is 2"}));
    EXPECT_TRUE(failed_with(mln_reduce(device_, MLN_REDUCE_OP_SUM, x.desc(), nullptr, -1, 0, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"axis_count is -1"}));
    const int32_t axis2[] = {2};
    EXPECT_TRUE(failed_with(mln_reduce(device_, MLN_REDUCE_OP_SUM, x.desc(), axis2, 1, 0, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"y is 2x4 but reducing x (2x3x4) with keepdims=0 gives 2x3"}));
    HostTensor<float> empty({2, 0});
    HostTensor<float> out({2});
    const int32_t axis1[] = {1};
    EXPECT_TRUE(failed_with(mln_reduce(device_, MLN_REDUCE_OP_MAX, empty.desc(), axis1, 1, 0, out.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"max of an empty set: x is 2x0 and axis 1 has size 0"}));
}

TEST_F(KernelValidationTest, GemmShapes) {
    HostTensor<float> a({64, 128});
    HostTensor<float> b({100, 32});
    HostTensor<float> c({64, 32});
    EXPECT_TRUE(failed_with(mln_gemm(device_, a.desc(), 0, b.desc(), 0, c.desc(), 1, 0, nullptr, MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_gemm: k mismatch: op(a) is 64x128 but op(b) is 100x32 (transpose_a=0, transpose_b=0)"}));
    HostTensor<float> bt({32, 100});
    EXPECT_TRUE(failed_with(mln_gemm(device_, a.desc(), 0, bt.desc(), 1, c.desc(), 1, 0, nullptr, MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"op(a) is 64x128 but op(b) is 100x32 (transpose_a=0, transpose_b=1)"}));
    HostTensor<float> b_ok({128, 32});
    HostTensor<float> c_bad({64, 30});
    EXPECT_TRUE(failed_with(mln_gemm(device_, a.desc(), 0, b_ok.desc(), 0, c_bad.desc(), 1, 0, nullptr,
                                     MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"c is 64x30 but", "c must be 64x32"}));
    HostTensor<float> bias({30});
    EXPECT_TRUE(failed_with(mln_gemm(device_, a.desc(), 0, b_ok.desc(), 0, c.desc(), 1, 0, bias.desc(),
                                     MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"bias is 30 but must be a vector of length n = 32"}));
    HostTensor<float> rank1({128});
    EXPECT_TRUE(failed_with(mln_gemm(device_, rank1.desc(), 0, b_ok.desc(), 0, c.desc(), 1, 0, nullptr,
                                     MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"a has rank 1 but gemm needs rank >= 2"}));
    EXPECT_TRUE(failed_with(mln_gemm(device_, a.desc(), 0, b_ok.desc(), 0, c.desc(), 1, 0, nullptr,
                                     static_cast<mln_unary_op>(99), nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"activation 99 is not a valid mln_unary_op"}));
    HostTensor<double> cd({64, 32});
    EXPECT_TRUE(failed_with(mln_gemm(device_, a.desc(), 0, b_ok.desc(), 0, cd.desc(), 1, 0, nullptr,
                                     MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"dtypes differ: a is f32, b is f32, c is f64"}));
}

}  // namespace
}  // namespace mln::test
