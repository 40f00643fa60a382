// Comparisons, logic ops and where, against plain loops written here.
#include <cmath>
#include <vector>

#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_elementwise.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::test {
namespace {

class CompareWhereTest : public CpuDeviceTest {};

template <class T>
bool expected_comparison(mln_binary_op op, T a, T b) {
    switch (op) {
        case MLN_BINARY_OP_EQ: return a == b;
        case MLN_BINARY_OP_NE: return a != b;
        case MLN_BINARY_OP_LT: return a < b;
        case MLN_BINARY_OP_LE: return a <= b;
        case MLN_BINARY_OP_GT: return a > b;
        case MLN_BINARY_OP_GE: return a >= b;
        default: return false;
    }
}

// a is [rows, cols] with random strides, b is a row [cols] broadcast over it.
template <class T>
void check_comparisons(mln_device* device, int64_t rows, int64_t cols) {
    const std::vector<int64_t> shape = {rows, cols};
    HostTensor<T> a(shape, random_strides(shape));
    HostTensor<T> b({cols});
    HostTensor<kernels::Bool8> y(shape, random_strides(shape));
    fill_random(a);
    fill_random(b);
    // Force some equal elements and NaN for floats.
    for (int64_t i = 0; i < a.count(); i += 3) a.at(i) = b.at(i % cols);
    if constexpr (std::is_floating_point_v<T>) {
        if (a.count() > 1) a.at(1) = static_cast<T>(NAN);
    }
    for (int op = MLN_BINARY_OP_EQ; op <= MLN_BINARY_OP_GE; ++op) {
        const auto code = static_cast<mln_binary_op>(op);
        ASSERT_EQ(mln_binary(device, code, a.desc(), b.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
        for (int64_t i = 0; i < a.count(); ++i) {
            ASSERT_EQ(y.at(i).value, expected_comparison(code, a.at(i), b.at(i % cols)) ? 1 : 0)
                << "op " << op << " element " << i;
        }
    }
}

TEST_F(CompareWhereTest, ComparisonsGiveBoolForEveryNumericDtype) {
    for (int64_t cols : {1, 7, 8, 33}) {
        check_comparisons<float>(device_, 5, cols);
        check_comparisons<double>(device_, 3, cols);
        check_comparisons<int32_t>(device_, 4, cols);
        check_comparisons<int64_t>(device_, 2, cols);
        check_comparisons<int8_t>(device_, 3, cols);
        check_comparisons<uint8_t>(device_, 3, cols);
    }
    check_comparisons<float>(device_, 300, 257);  // threads
}

TEST_F(CompareWhereTest, ComparisonWithNaNIsFalseExceptNe) {
    HostTensor<float> a({2});
    HostTensor<float> b({2});
    HostTensor<kernels::Bool8> y({2});
    a.at(0) = NAN, b.at(0) = 1.0f;
    a.at(1) = NAN, b.at(1) = NAN;
    for (int op = MLN_BINARY_OP_EQ; op <= MLN_BINARY_OP_GE; ++op) {
        ASSERT_EQ(mln_binary(device_, static_cast<mln_binary_op>(op), a.desc(), b.desc(), y.desc()), MLN_STATUS_OK);
        const uint8_t want = op == MLN_BINARY_OP_NE ? 1 : 0;
        EXPECT_EQ(y.at(0).value, want) << op;
        EXPECT_EQ(y.at(1).value, want) << op;
    }
}

TEST_F(CompareWhereTest, LogicOpsOnBool) {
    HostTensor<kernels::Bool8> a({4, 1});
    HostTensor<kernels::Bool8> b({3});
    HostTensor<kernels::Bool8> y({4, 3});
    const uint8_t as[] = {0, 1, 2, 0};  // 2 is also true
    const uint8_t bs[] = {0, 1, 5};
    for (int i = 0; i < 4; ++i) a.at(i).value = as[i];
    for (int j = 0; j < 3; ++j) b.at(j).value = bs[j];
    const struct {
        mln_binary_op op;
        bool (*f)(bool, bool);
    } cases[] = {{MLN_BINARY_OP_LOGICAL_AND, [](bool p, bool q) { return p && q; }},
                 {MLN_BINARY_OP_LOGICAL_OR, [](bool p, bool q) { return p || q; }},
                 {MLN_BINARY_OP_LOGICAL_XOR, [](bool p, bool q) { return p != q; }},
                 {MLN_BINARY_OP_EQ, [](bool p, bool q) { return p == q; }}};
    for (const auto& c : cases) {
        ASSERT_EQ(mln_binary(device_, c.op, a.desc(), b.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
        for (int i = 0; i < 4; ++i) {
            for (int j = 0; j < 3; ++j) EXPECT_EQ(y.at(i * 3 + j).value, c.f(as[i] != 0, bs[j] != 0) ? 1 : 0);
        }
    }
}

TEST_F(CompareWhereTest, BadDtypesAreRejected) {
    HostTensor<float> a({3});
    HostTensor<float> b({3});
    HostTensor<float> yf({3});
    HostTensor<kernels::Bool8> yb({3});
    EXPECT_TRUE(failed_with(mln_binary(device_, MLN_BINARY_OP_LT, a.desc(), b.desc(), yf.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_binary", "y is f32", "lt gives bool"}));
    EXPECT_TRUE(failed_with(mln_binary(device_, MLN_BINARY_OP_ADD, a.desc(), b.desc(), yb.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_binary", "dtypes differ"}));
    EXPECT_TRUE(failed_with(mln_binary(device_, MLN_BINARY_OP_LOGICAL_AND, a.desc(), b.desc(), yb.desc()),
                            MLN_STATUS_NOT_SUPPORTED, {"logical_and", "f32"}));
}

template <class T>
void check_where(mln_device* device, const std::vector<int64_t>& cond_shape, const std::vector<int64_t>& a_shape,
                 const std::vector<int64_t>& b_shape, const std::vector<int64_t>& y_shape) {
    HostTensor<kernels::Bool8> cond(cond_shape, random_strides(cond_shape));
    HostTensor<T> a(a_shape, random_strides(a_shape));
    HostTensor<T> b(b_shape, random_strides(b_shape));
    HostTensor<T> y(y_shape, random_strides(y_shape));
    HostTensor<T> want(y_shape);
    fill_random(cond);
    fill_random(a);
    fill_random(b);
    ASSERT_EQ(mln_where(device, cond.desc(), a.desc(), b.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::where(cond.view(), a.view(), b.view(), want.view());
    EXPECT_TRUE(same_elements(y, want));
}

TEST_F(CompareWhereTest, WhereBroadcastsAllThree) {
    check_where<float>(device_, {4, 1, 5}, {3, 1}, {5}, {4, 3, 5});
    check_where<double>(device_, {1}, {2, 7}, {2, 1}, {2, 7});
    check_where<int8_t>(device_, {6, 5}, {}, {6, 5}, {6, 5});
    check_where<kernels::Half>(device_, {3, 1}, {1, 4}, {3, 4}, {3, 4});
    check_where<int64_t>(device_, {0, 3}, {3}, {1}, {0, 3});
    check_where<float>(device_, {257, 1}, {1, 301}, {257, 301}, {257, 301});  // threads
    // A hand-checked case.
    HostTensor<kernels::Bool8> cond({3});
    HostTensor<float> a({3});
    HostTensor<float> b({});
    HostTensor<float> y({3});
    cond.at(0).value = 1, cond.at(1).value = 0, cond.at(2).value = 1;
    a.at(0) = 1, a.at(1) = 2, a.at(2) = 3;
    b.at(0) = -1;
    ASSERT_EQ(mln_where(device_, cond.desc(), a.desc(), b.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), 1.0f);
    EXPECT_EQ(y.at(1), -1.0f);
    EXPECT_EQ(y.at(2), 3.0f);
    HostTensor<float> bad_cond({3});
    EXPECT_TRUE(failed_with(mln_where(device_, bad_cond.desc(), a.desc(), b.desc(), y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_where", "cond is f32"}));
    HostTensor<float> wrong_y({2, 3});
    EXPECT_TRUE(failed_with(mln_where(device_, cond.desc(), a.desc(), b.desc(), wrong_y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_where", "y is 2x3"}));
}

}  // namespace
}  // namespace mln::test
