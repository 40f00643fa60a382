#include <cmath>
#include <limits>
#include <vector>

#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::test {
namespace {

class ReduceTest : public CpuDeviceTest {};

std::vector<int64_t> reduced_shape(const std::vector<int64_t>& shape, uint32_t mask, bool keepdims) {
    std::vector<int64_t> out;
    for (size_t d = 0; d < shape.size(); ++d) {
        if (((mask >> d) & 1u) == 0) out.push_back(shape[d]);
        else if (keepdims) out.push_back(1);
    }
    return out;
}

// Compares with the reference; float sums may differ in the last bits (different order).
template <class T>
void check_reduce(mln_device* device, mln_reduce_op op, const std::vector<int64_t>& shape,
                  const std::vector<int32_t>& axes, bool keepdims) {
    const auto rank = static_cast<int32_t>(shape.size());
    uint32_t mask = 0;
    for (int32_t axis : axes) mask |= 1u << (axis < 0 ? axis + rank : axis);
    if (axes.empty()) mask = (1u << rank) - 1u;
    const auto out_shape = reduced_shape(shape, mask, keepdims);
    HostTensor<T> x(shape, random_strides(shape));
    HostTensor<T> y(out_shape, random_strides(out_shape));
    HostTensor<T> want(out_shape);
    fill_random(x);
    ASSERT_EQ(mln_reduce(device, op, x.desc(), axes.data(), static_cast<int32_t>(axes.size()), keepdims ? 1 : 0,
                         y.desc()),
              MLN_STATUS_OK)
        << mln_last_error();
    reference::reduce(op, x.view(), mask, keepdims, want.view());
    for (int64_t i = 0; i < want.count(); ++i) {
        if constexpr (std::is_floating_point_v<T>) {
            EXPECT_NEAR(y.at(i), want.at(i), 1e-5 * (1.0 + std::fabs(want.at(i)))) << "op " << op << " element " << i;
        } else {
            EXPECT_EQ(y.at(i), want.at(i)) << "op " << op << " element " << i;
        }
    }
}

std::vector<int32_t> random_axes(int rank) {
    std::vector<int32_t> axes;
    for (int d = 0; d < rank; ++d) {
        if (uniform_int(0, 1) == 1) axes.push_back(uniform_int(0, 1) == 1 ? d : d - rank);
    }
    return axes;
}

TEST_F(ReduceTest, MatchesReferenceOverRandomAxes) {
    for (int trial = 0; trial < 25; ++trial) {
        const auto shape = random_shape(5, 6);
        const auto axes = random_axes(static_cast<int>(shape.size()));
        const bool keepdims = uniform_int(0, 1) == 1;
        for (int op = MLN_REDUCE_OP_SUM; op <= MLN_REDUCE_OP_MIN; ++op) {
            check_reduce<float>(device_, static_cast<mln_reduce_op>(op), shape, axes, keepdims);
            check_reduce<double>(device_, static_cast<mln_reduce_op>(op), shape, axes, keepdims);
            if (op != MLN_REDUCE_OP_MEAN) {
                check_reduce<int32_t>(device_, static_cast<mln_reduce_op>(op), shape, axes, keepdims);
                check_reduce<int64_t>(device_, static_cast<mln_reduce_op>(op), shape, axes, keepdims);
            }
        }
    }
}

TEST_F(ReduceTest, LargeAndAllAxes) {
    check_reduce<float>(device_, MLN_REDUCE_OP_SUM, {300, 200}, {1}, false);
    check_reduce<float>(device_, MLN_REDUCE_OP_MEAN, {300, 200}, {0}, true);
    check_reduce<double>(device_, MLN_REDUCE_OP_MAX, {20, 30, 40}, {}, false);
    check_reduce<float>(device_, MLN_REDUCE_OP_MIN, {20, 30, 40}, {0, 2}, true);
}

TEST_F(ReduceTest, FloatSumAccumulatesAccurately) {
    // 2^24 + 1 + 1 + ... loses every 1 in float accumulation.
    HostTensor<float> x({1001});
    x.at(0) = 16777216.0f;
    for (int i = 1; i < 1001; ++i) x.at(i) = 1.0f;
    HostTensor<float> y({});
    ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_SUM, x.desc(), nullptr, 0, 0, y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), 16778216.0f);
}

TEST_F(ReduceTest, EmptySets) {
    HostTensor<float> x({3, 0});
    HostTensor<float> y({3});
    const int32_t axis1[] = {1};
    ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_SUM, x.desc(), axis1, 1, 0, y.desc()), MLN_STATUS_OK);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(y.at(i), 0.0f);
    ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_MEAN, x.desc(), axis1, 1, 0, y.desc()), MLN_STATUS_OK);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(y.at(i)));
    EXPECT_EQ(mln_reduce(device_, MLN_REDUCE_OP_MAX, x.desc(), axis1, 1, 0, y.desc()), MLN_STATUS_INVALID_ARGUMENT);
    // Reducing the non-empty axis of an empty tensor gives an empty output: nothing to fail.
    HostTensor<float> empty_out({0});
    const int32_t axis0[] = {0};
    EXPECT_EQ(mln_reduce(device_, MLN_REDUCE_OP_MAX, x.desc(), axis0, 1, 0, empty_out.desc()), MLN_STATUS_OK)
        << mln_last_error();
}

TEST_F(ReduceTest, ScalarAndNoAxes) {
    HostTensor<double> x({});
    x.at(0) = 2.5;
    HostTensor<double> y({});
    ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_MEAN, x.desc(), nullptr, 0, 1, y.desc()), MLN_STATUS_OK)
        << mln_last_error();
    EXPECT_EQ(y.at(0), 2.5);
}

TEST_F(ReduceTest, MaxMinPropagateNaNAndIntSumWraps) {
    HostTensor<float> x({4});
    x.at(0) = 1.0f, x.at(1) = NAN, x.at(2) = 5.0f, x.at(3) = -INFINITY;
    HostTensor<float> y({});
    ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_MAX, x.desc(), nullptr, 0, 0, y.desc()), MLN_STATUS_OK);
    EXPECT_TRUE(std::isnan(y.at(0)));
    ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_MIN, x.desc(), nullptr, 0, 0, y.desc()), MLN_STATUS_OK);
    EXPECT_TRUE(std::isnan(y.at(0)));
    HostTensor<int32_t> i({2});
    i.at(0) = std::numeric_limits<int32_t>::max();
    i.at(1) = 1;
    HostTensor<int32_t> s({});
    ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_SUM, i.desc(), nullptr, 0, 0, s.desc()), MLN_STATUS_OK);
    EXPECT_EQ(s.at(0), std::numeric_limits<int32_t>::min());
}

}  // namespace
}  // namespace mln::test
