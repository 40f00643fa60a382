#include <cmath>
#include <limits>
#include <vector>

#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::test {
namespace {

class ElementwiseTest : public CpuDeviceTest {};

template <class T>
void check_unary_against_reference(mln_device* device, mln_unary_op op, const std::vector<int64_t>& shape) {
    HostTensor<T> x(shape, random_strides(shape));
    HostTensor<T> y(shape, random_strides(shape));
    HostTensor<T> want(shape);
    fill_random(x);
    ASSERT_EQ(mln_unary(device, op, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::unary(op, x.view(), want.view());
    EXPECT_TRUE(same_elements(y, want)) << "op " << op << " shape rank " << shape.size();
}

TEST_F(ElementwiseTest, UnaryFloatOpsMatchReference) {
    for (int op = MLN_UNARY_OP_IDENTITY; op <= MLN_UNARY_OP_TANH; ++op) {
        for (int trial = 0; trial < 6; ++trial) {
            const auto shape = random_shape(4, 9);
            check_unary_against_reference<float>(device_, static_cast<mln_unary_op>(op), shape);
            check_unary_against_reference<double>(device_, static_cast<mln_unary_op>(op), shape);
        }
    }
    // Large enough to be split across the thread pool.
    check_unary_against_reference<float>(device_, MLN_UNARY_OP_SIGMOID, {301, 457});
}

TEST_F(ElementwiseTest, UnaryIntegerOpsMatchReference) {
    for (mln_unary_op op : {MLN_UNARY_OP_IDENTITY, MLN_UNARY_OP_NEG, MLN_UNARY_OP_ABS}) {
        for (int trial = 0; trial < 4; ++trial) {
            const auto shape = random_shape(3, 7);
            check_unary_against_reference<int8_t>(device_, op, shape);
            check_unary_against_reference<int32_t>(device_, op, shape);
            check_unary_against_reference<int64_t>(device_, op, shape);
        }
    }
}

TEST_F(ElementwiseTest, UnaryValues) {
    HostTensor<float> x({7});
    const float values[] = {-2.0f, -0.0f, 0.0f, 4.0f, NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 7; ++i) x.at(i) = values[i];
    HostTensor<float> y({7});
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_RELU, x.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), 0.0f);
    EXPECT_EQ(y.at(3), 4.0f);
    EXPECT_TRUE(std::isnan(y.at(4))) << "relu keeps NaN";
    EXPECT_EQ(y.at(5), INFINITY);
    EXPECT_EQ(y.at(6), 0.0f);
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_SIGMOID, x.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_FLOAT_EQ(y.at(3), 1.0f / (1.0f + std::exp(-4.0f)));
    EXPECT_EQ(y.at(5), 1.0f);
    EXPECT_EQ(y.at(6), 0.0f) << "no overflow to NaN at -inf";
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_SQRT, x.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_TRUE(std::isnan(y.at(0)));
    EXPECT_EQ(y.at(3), 2.0f);

    HostTensor<int32_t> i({2});
    i.at(0) = std::numeric_limits<int32_t>::min();
    i.at(1) = -5;
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_ABS, i.desc(), i.desc()), MLN_STATUS_OK);
    EXPECT_EQ(i.at(0), std::numeric_limits<int32_t>::min()) << "abs(MIN) wraps";
    EXPECT_EQ(i.at(1), 5);
}

TEST_F(ElementwiseTest, UnaryInPlace) {
    HostTensor<double> x({5, 6}, {-1, -5});
    fill_random(x);
    std::vector<double> before;
    for (int64_t i = 0; i < x.count(); ++i) before.push_back(x.at(i));
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_NEG, x.desc(), x.desc()), MLN_STATUS_OK);
    for (int64_t i = 0; i < x.count(); ++i) EXPECT_EQ(x.at(i), -before[static_cast<size_t>(i)]);
}

// A random broadcast pair for an output shape: each input drops some leading dims and has
// size 1 on random others.
std::vector<int64_t> broadcast_input_shape(const std::vector<int64_t>& out) {
    const auto drop = static_cast<size_t>(uniform_int(0, static_cast<int64_t>(out.size())));
    std::vector<int64_t> shape(out.begin() + static_cast<std::ptrdiff_t>(drop), out.end());
    for (auto& d : shape) {
        if (uniform_int(0, 2) == 0) d = 1;
    }
    return shape;
}

template <class T>
void check_binary_against_reference(mln_device* device, mln_binary_op op, const std::vector<int64_t>& out_shape) {
    const auto a_shape = broadcast_input_shape(out_shape);
    const auto b_shape = broadcast_input_shape(out_shape);
    // y must be the broadcast shape of a and b, which may be smaller than out_shape.
    std::vector<int64_t> y_shape(std::max(a_shape.size(), b_shape.size()));
    for (size_t d = 0; d < y_shape.size(); ++d) {
        const size_t from_end = y_shape.size() - d;
        const int64_t da = from_end <= a_shape.size() ? a_shape[a_shape.size() - from_end] : 1;
        const int64_t db = from_end <= b_shape.size() ? b_shape[b_shape.size() - from_end] : 1;
        y_shape[d] = std::max(da, db);
    }
    HostTensor<T> a(a_shape, random_strides(a_shape));
    HostTensor<T> b(b_shape, random_strides(b_shape));
    HostTensor<T> y(y_shape, random_strides(y_shape));
    HostTensor<T> want(y_shape);
    fill_random(a);
    fill_random(b);
    ASSERT_EQ(mln_binary(device, op, a.desc(), b.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::binary(op, a.view(), b.view(), want.view());
    EXPECT_TRUE(same_elements(y, want)) << "op " << op;
}

TEST_F(ElementwiseTest, BinaryMatchesReferenceWithBroadcasting) {
    for (int op = MLN_BINARY_OP_ADD; op <= MLN_BINARY_OP_POW; ++op) {
        for (int trial = 0; trial < 8; ++trial) {
            const auto shape = random_shape(4, 6);
            check_binary_against_reference<float>(device_, static_cast<mln_binary_op>(op), shape);
            check_binary_against_reference<double>(device_, static_cast<mln_binary_op>(op), shape);
            if (op != MLN_BINARY_OP_POW) {
                check_binary_against_reference<int32_t>(device_, static_cast<mln_binary_op>(op), shape);
                check_binary_against_reference<int64_t>(device_, static_cast<mln_binary_op>(op), shape);
            }
        }
    }
    check_binary_against_reference<float>(device_, MLN_BINARY_OP_MUL, {64, 33, 40});
}

TEST_F(ElementwiseTest, BinaryRowAndScalarBroadcast) {
    HostTensor<float> a({3, 4});
    HostTensor<float> row({4});
    HostTensor<float> scalar({});
    HostTensor<float> y({3, 4});
    for (int i = 0; i < 12; ++i) a.at(i) = static_cast<float>(i);
    for (int j = 0; j < 4; ++j) row.at(j) = static_cast<float>(100 * j);
    scalar.at(0) = 0.5f;
    ASSERT_EQ(mln_binary(device_, MLN_BINARY_OP_ADD, a.desc(), row.desc(), y.desc()), MLN_STATUS_OK);
    for (int i = 0; i < 12; ++i) EXPECT_EQ(y.at(i), static_cast<float>(i + 100 * (i % 4)));
    ASSERT_EQ(mln_binary(device_, MLN_BINARY_OP_MUL, scalar.desc(), a.desc(), y.desc()), MLN_STATUS_OK);
    for (int i = 0; i < 12; ++i) EXPECT_EQ(y.at(i), 0.5f * static_cast<float>(i));
}

TEST_F(ElementwiseTest, IntegerDivisionIsDefinedEverywhere) {
    HostTensor<int32_t> a({5});
    HostTensor<int32_t> b({5});
    HostTensor<int32_t> y({5});
    const int32_t as[] = {7, -7, 5, std::numeric_limits<int32_t>::min(), 0};
    const int32_t bs[] = {-2, 2, 0, -1, 0};
    for (int i = 0; i < 5; ++i) {
        a.at(i) = as[i];
        b.at(i) = bs[i];
    }
    ASSERT_EQ(mln_binary(device_, MLN_BINARY_OP_DIV, a.desc(), b.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), -3) << "truncates toward zero";
    EXPECT_EQ(y.at(1), -3);
    EXPECT_EQ(y.at(2), 0) << "x / 0 is 0";
    EXPECT_EQ(y.at(3), std::numeric_limits<int32_t>::min()) << "MIN / -1 wraps";
    EXPECT_EQ(y.at(4), 0);
}

TEST_F(ElementwiseTest, FloatMaxMinPropagateNaN) {
    HostTensor<double> a({3});
    HostTensor<double> b({3});
    HostTensor<double> y({3});
    a.at(0) = NAN, b.at(0) = 1.0;
    a.at(1) = 1.0, b.at(1) = NAN;
    a.at(2) = -INFINITY, b.at(2) = 3.0;
    ASSERT_EQ(mln_binary(device_, MLN_BINARY_OP_MAX, a.desc(), b.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_TRUE(std::isnan(y.at(0)));
    EXPECT_TRUE(std::isnan(y.at(1)));
    EXPECT_EQ(y.at(2), 3.0);
    ASSERT_EQ(mln_binary(device_, MLN_BINARY_OP_MIN, a.desc(), b.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_TRUE(std::isnan(y.at(0)));
    EXPECT_EQ(y.at(2), -INFINITY);
}

template <class T>
void check_fill(mln_device* device, double value) {
    const std::vector<int64_t> shape = {3, 5, 2};
    HostTensor<T> y(shape, random_strides(shape));
    HostTensor<T> want(shape);
    ASSERT_EQ(mln_fill(device, y.desc(), value), MLN_STATUS_OK) << mln_last_error();
    reference::fill(want.view(), value);
    EXPECT_TRUE(same_elements(y, want));
}

TEST_F(ElementwiseTest, FillEveryDtype) {
    for (double value : {0.0, -1.5, 3.75, 300.0, 1e20, std::nan("")}) {
        check_fill<float>(device_, value);
        check_fill<double>(device_, value);
        check_fill<kernels::Half>(device_, value);
        check_fill<kernels::BFloat16>(device_, value);
        check_fill<uint8_t>(device_, value);
        check_fill<int8_t>(device_, value);
        check_fill<int32_t>(device_, value);
        check_fill<int64_t>(device_, value);
        check_fill<kernels::Bool8>(device_, value);
    }
    HostTensor<int8_t> y({2});
    ASSERT_EQ(mln_fill(device_, y.desc(), -3.9), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), -3);
    ASSERT_EQ(mln_fill(device_, y.desc(), 1000.0), MLN_STATUS_OK);
    EXPECT_EQ(y.at(1), 127) << "saturates";
}

template <class T>
void check_copy(mln_device* device, const std::vector<int64_t>& shape, std::vector<int64_t> x_strides) {
    HostTensor<T> x(shape, x_strides);
    HostTensor<T> y(shape, random_strides(shape));
    HostTensor<T> want(shape);
    fill_random(x);
    ASSERT_EQ(mln_copy(device, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::copy(x.view(), want.view());
    EXPECT_TRUE(same_elements(y, want));
}

TEST_F(ElementwiseTest, CopyStridedNegativeAndBroadcast) {
    for (int trial = 0; trial < 10; ++trial) {
        const auto shape = random_shape(5, 6);
        check_copy<float>(device_, shape, random_strides(shape));
        check_copy<int8_t>(device_, shape, random_strides(shape));
        check_copy<kernels::Half>(device_, shape, random_strides(shape));
        check_copy<int64_t>(device_, shape, random_strides(shape));
    }
    check_copy<double>(device_, {4, 3}, {0, -1});  // x broadcasts along dimension 0, reversed
    check_copy<float>(device_, {200, 300}, {1, 200});  // transpose, large enough for threads
    HostTensor<float> x({2, 3}, {-3, -1});
    for (int i = 0; i < 6; ++i) x.at(i) = static_cast<float>(i);
    HostTensor<float> y({2, 3});
    ASSERT_EQ(mln_copy(device_, x.desc(), y.desc()), MLN_STATUS_OK);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(y.at(i), static_cast<float>(i));
    EXPECT_EQ(y.storage()[0], 0.0f);
    EXPECT_EQ(y.storage()[5], 5.0f);
}

}  // namespace
}  // namespace mln::test
