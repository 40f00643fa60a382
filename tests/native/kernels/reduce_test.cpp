#include <cmath>
#include <limits>
#include <vector>

#include "core/text.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/reduce/reduce_ops.hpp"
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
        for (int raw = MLN_REDUCE_OP_SUM; raw <= kernels::kLastReduceOp; ++raw) {
            const auto op = static_cast<mln_reduce_op>(raw);
            check_reduce<float>(device_, op, shape, axes, keepdims);
            check_reduce<double>(device_, op, shape, axes, keepdims);
            if (kernels::reduce_op_supports(op, MLN_DTYPE_I32)) {
                check_reduce<int32_t>(device_, op, shape, axes, keepdims);
                check_reduce<int64_t>(device_, op, shape, axes, keepdims);
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

// Outer axes reduced into contiguous innermost columns (a bias gradient's sum over the rows of
// [N, H]) stream rows through strips of column accumulators. Each output still takes its values in
// the reference's row-major order, so sums, means, maxima and minima agree bit for bit; the
// other ops within rounding. Row and column counts: 1, primes, and either side of the 128-column
// strip; x contiguous (the streamed layout) and y with random strides; NaN and infinities spread
// through x when `specials` is set.
template <class T>
void check_columns(mln_device* device, mln_reduce_op op, const std::vector<int64_t>& shape, const std::vector<int32_t>& axes,
                   bool specials) {
    uint32_t mask = 0;
    for (int32_t axis : axes) mask |= 1u << axis;
    const auto out_shape = reduced_shape(shape, mask, false);
    HostTensor<T> x(shape);
    HostTensor<T> y(out_shape, random_strides(out_shape));
    HostTensor<T> want(out_shape);
    fill_random(x);
    if constexpr (std::is_floating_point_v<T>) {
        if (specials) {
            const T values[] = {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                                -std::numeric_limits<T>::infinity()};
            for (int64_t i = 0; i < x.count(); ++i) {
                if (uniform_int(0, 30) == 0) x.at(i) = values[uniform_int(0, 2)];
            }
        }
    }
    ASSERT_EQ(mln_reduce(device, op, x.desc(), axes.data(), static_cast<int32_t>(axes.size()), 0, y.desc()), MLN_STATUS_OK)
        << mln_last_error();
    reference::reduce(op, x.view(), mask, false, want.view());
    const bool exact = op == MLN_REDUCE_OP_SUM || op == MLN_REDUCE_OP_MEAN || op == MLN_REDUCE_OP_MAX || op == MLN_REDUCE_OP_MIN;
    for (int64_t i = 0; i < want.count(); ++i) {
        const T got = y.at(i), expected = want.at(i);
        if constexpr (std::is_floating_point_v<T>) {
            if (exact || std::isnan(expected) || std::isinf(expected)) {
                ASSERT_TRUE(same_element(got, expected)) << "op " << op << " element " << i << ": " << got << " vs " << expected;
            } else {
                ASSERT_NEAR(got, expected, 1e-5 * (1.0 + std::fabs(expected))) << "op " << op << " element " << i;
            }
        } else {
            ASSERT_EQ(got, expected) << "op " << op << " element " << i;
        }
    }
}

TEST_F(ReduceTest, LeadingAxesIntoContiguousColumnsMatchReference) {
    for (int64_t rows : {0, 1, 2, 7, 131}) {
        for (int64_t columns : {1, 2, 17, 127, 128, 129, 257, 389}) {
            for (int raw = MLN_REDUCE_OP_SUM; raw <= kernels::kLastReduceOp; ++raw) {
                const auto op = static_cast<mln_reduce_op>(raw);
                // Max and min of an empty set are refused, not computed.
                if (rows == 0 && (op == MLN_REDUCE_OP_MAX || op == MLN_REDUCE_OP_MIN)) continue;
                SCOPED_TRACE(testing::Message() << rows << " x " << columns);
                check_columns<float>(device_, op, {rows, columns}, {0}, false);
                check_columns<float>(device_, op, {rows, columns}, {0}, true);
                check_columns<double>(device_, op, {rows, columns}, {0}, true);
                if (kernels::reduce_op_supports(op, MLN_DTYPE_I32)) check_columns<int32_t>(device_, op, {rows, columns}, {0}, false);
            }
        }
    }
}

TEST_F(ReduceTest, OuterAxesAroundKeptOnesIntoContiguousColumnsMatchReference) {
    for (int raw = MLN_REDUCE_OP_SUM; raw <= kernels::kLastReduceOp; ++raw) {
        const auto op = static_cast<mln_reduce_op>(raw);
        check_columns<float>(device_, op, {5, 13, 131}, {1}, true);      // kept outer axis, reduced middle
        check_columns<float>(device_, op, {5, 13, 131}, {0, 1}, true);   // merged reduced axes
        check_columns<double>(device_, op, {3, 4, 7, 130}, {0, 2}, true);  // reduced axes on both sides of a kept one
        check_columns<float>(device_, op, {11, 1, 3, 129}, {0, 1}, false);  // a reduced axis of size 1
    }
}

TEST_F(ReduceTest, LeadingAxisSumIsTheSameBitsWithOneTwoAndThreeThreads) {
    HostTensor<float> x({999, 300});
    fill_random(x);
    std::vector<std::vector<float>> results;
    at_thread_counts(device_, {1, 2, 3}, [&] {
        HostTensor<float> y({300});
        const int32_t axis0[] = {0};
        ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_SUM, x.desc(), axis0, 1, 0, y.desc()), MLN_STATUS_OK) << mln_last_error();
        results.emplace_back();
        for (int64_t i = 0; i < y.count(); ++i) results.back().push_back(y.at(i));
    });
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0], results[1]);
    EXPECT_EQ(results[0], results[2]);
}

// Sums and means over contiguous rows (a conv bias gradient: axes N, H*W of NCHW; the last axis
// alone) run the row-sum kernel: each ISA against the reference, rows of 0, 1, 7, 15, 16, 17,
// 49 and 196 elements and longer, NaN and infinities included.
TEST_F(ReduceTest, ContiguousRowSumsMatchReferenceAtEveryIsa) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (int64_t plane : {0, 1, 7, 15, 16, 17, 49, 196, 1031}) {
            for (bool special : {false, true}) {
                SCOPED_TRACE(cat("isa ", static_cast<int>(isa), " plane ", plane, " special ", special));
                HostTensor<float> x({3, 5, plane});
                fill_random(x);
                if (special && plane > 0) {
                    x.at(plane + 1 < x.count() ? plane + 1 : 0) = std::numeric_limits<float>::quiet_NaN();
                    x.at(x.count() - 1) = std::numeric_limits<float>::infinity();
                }
                for (mln_reduce_op op : {MLN_REDUCE_OP_SUM, MLN_REDUCE_OP_MEAN}) {
                    const int32_t bias_axes[] = {0, 2};
                    HostTensor<float> y({5}), want({5});
                    ASSERT_EQ(mln_reduce(device_, op, x.desc(), bias_axes, 2, 0, y.desc()), MLN_STATUS_OK) << mln_last_error();
                    reference::reduce(op, x.view(), 0b101u, false, want.view());
                    EXPECT_TRUE(near_all(y, want, 1e-6)) << "op " << op << " axes 0, 2";
                    const int32_t last_axis[] = {2};
                    HostTensor<float> rows({3, 5}), rows_want({3, 5});
                    ASSERT_EQ(mln_reduce(device_, op, x.desc(), last_axis, 1, 0, rows.desc()), MLN_STATUS_OK) << mln_last_error();
                    reference::reduce(op, x.view(), 0b100u, false, rows_want.view());
                    EXPECT_TRUE(near_all(rows, rows_want, 1e-6)) << "op " << op << " axis 2";
                }
            }
        }
        // Three reduced dimensions apart (the outer one walked around the row-sum batches),
        // more rows than a batch (64).
        for (int64_t plane : {7, 17, 49}) {
            SCOPED_TRACE(cat("isa ", static_cast<int>(isa), " plane ", plane));
            HostTensor<float> x({3, 2, 70, 2, plane});
            fill_random(x);
            const int32_t axes[] = {0, 2, 4};
            HostTensor<float> y({2, 2}), want({2, 2});
            ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_SUM, x.desc(), axes, 3, 0, y.desc()), MLN_STATUS_OK) << mln_last_error();
            reference::reduce(MLN_REDUCE_OP_SUM, x.view(), 0b10101u, false, want.view());
            EXPECT_TRUE(near_all(y, want, 1e-6));
        }
    }
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

TEST_F(ReduceTest, MaxOfMinusInfinitiesIsMinusInfinity) {
    HostTensor<float> x({2, 3});
    for (int64_t i = 0; i < x.count(); ++i) x.at(i) = -INFINITY;
    HostTensor<float> y({2});
    const int32_t axis1[] = {1};
    ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_MAX, x.desc(), axis1, 1, 0, y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), -INFINITY);
    for (int64_t i = 0; i < x.count(); ++i) x.at(i) = INFINITY;
    ASSERT_EQ(mln_reduce(device_, MLN_REDUCE_OP_MIN, x.desc(), axis1, 1, 0, y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(1), INFINITY);
}

TEST_F(ReduceTest, IntegerOnlyOpsRefuseIntegers) {
    HostTensor<int32_t> x({3});
    HostTensor<int32_t> y({});
    EXPECT_EQ(mln_reduce(device_, MLN_REDUCE_OP_L2, x.desc(), nullptr, 0, 0, y.desc()), MLN_STATUS_NOT_SUPPORTED);
    EXPECT_EQ(mln_reduce(device_, MLN_REDUCE_OP_LOG_SUM_EXP, x.desc(), nullptr, 0, 0, y.desc()),
              MLN_STATUS_NOT_SUPPORTED);
}

// Values the formulas give by hand: the newer ops on one small row each.
TEST_F(ReduceTest, NewOpsByHand) {
    HostTensor<double> x({4});
    x.at(0) = 1.0, x.at(1) = -2.0, x.at(2) = 3.0, x.at(3) = -4.0;
    HostTensor<double> y({});
    auto run = [&](mln_reduce_op op) {
        EXPECT_EQ(mln_reduce(device_, op, x.desc(), nullptr, 0, 0, y.desc()), MLN_STATUS_OK) << mln_last_error();
        return y.at(0);
    };
    EXPECT_EQ(run(MLN_REDUCE_OP_PROD), 24.0);
    EXPECT_EQ(run(MLN_REDUCE_OP_L1), 10.0);
    EXPECT_EQ(run(MLN_REDUCE_OP_SUM_SQUARE), 30.0);
    EXPECT_NEAR(run(MLN_REDUCE_OP_L2), std::sqrt(30.0), 1e-15);
    EXPECT_NEAR(run(MLN_REDUCE_OP_LOG_SUM_EXP), std::log(std::exp(1.0) + std::exp(-2.0) + std::exp(3.0) + std::exp(-4.0)),
                1e-14);
}

TEST_F(ReduceTest, LogSumExpIsStableAndHandlesInfinities) {
    HostTensor<float> x({3});
    HostTensor<float> y({});
    auto run = [&](float a, float b, float c) {
        x.at(0) = a, x.at(1) = b, x.at(2) = c;
        EXPECT_EQ(mln_reduce(device_, MLN_REDUCE_OP_LOG_SUM_EXP, x.desc(), nullptr, 0, 0, y.desc()), MLN_STATUS_OK);
        return y.at(0);
    };
    // e^1000 overflows float and double; the shift keeps it exact.
    EXPECT_NEAR(run(1000.0f, 1000.0f, -INFINITY), 1000.0f + std::log(2.0f), 1e-3);
    EXPECT_EQ(run(-INFINITY, -INFINITY, -INFINITY), -INFINITY);
    EXPECT_EQ(run(INFINITY, 1.0f, INFINITY), INFINITY);
    EXPECT_TRUE(std::isnan(run(1.0f, NAN, 2.0f)));
}

TEST_F(ReduceTest, EmptySetsOfTheNewOps) {
    HostTensor<float> x({2, 0});
    HostTensor<float> y({2});
    const int32_t axis1[] = {1};
    const std::pair<mln_reduce_op, float> expected[] = {{MLN_REDUCE_OP_PROD, 1.0f},
                                                        {MLN_REDUCE_OP_L1, 0.0f},
                                                        {MLN_REDUCE_OP_L2, 0.0f},
                                                        {MLN_REDUCE_OP_SUM_SQUARE, 0.0f},
                                                        {MLN_REDUCE_OP_LOG_SUM_EXP, -INFINITY}};
    for (const auto& [op, value] : expected) {
        ASSERT_EQ(mln_reduce(device_, op, x.desc(), axis1, 1, 0, y.desc()), MLN_STATUS_OK) << mln_last_error();
        EXPECT_EQ(y.at(0), value) << "op " << op;
        EXPECT_EQ(y.at(1), value) << "op " << op;
    }
}

// Small integers, so ties are common.
template <class T>
void fill_with_ties(HostTensor<T>& x) {
    for (int64_t i = 0; i < x.count(); ++i) x.at(i) = static_cast<T>(uniform_int(-2, 2));
}

std::vector<int64_t> with_axis(std::vector<int64_t> shape, int32_t axis, int64_t size, bool keep) {
    if (keep) shape[static_cast<size_t>(axis)] = size;
    else shape.erase(shape.begin() + axis);
    return shape;
}

class ArgReduceTest : public CpuDeviceTest {};

template <class T>
void check_arg_reduce(mln_device* device, mln_reduce_op op, const std::vector<int64_t>& shape, int32_t axis,
                      bool keepdims, bool select_last) {
    const auto rank = static_cast<int32_t>(shape.size());
    const int32_t normalized = axis < 0 ? axis + rank : axis;
    HostTensor<T> x(shape);
    fill_with_ties(x);
    HostTensor<int64_t> y(with_axis(shape, normalized, 1, keepdims));
    HostTensor<int64_t> want(with_axis(shape, normalized, 1, true));
    ASSERT_EQ(mln_arg_reduce(device, op, x.desc(), axis, keepdims ? 1 : 0, select_last ? 1 : 0, y.desc()), MLN_STATUS_OK)
        << mln_last_error();
    reference::arg_reduce(op, x.view(), normalized, select_last, want.view());
    EXPECT_TRUE(same_elements(y, want)) << "op " << op << " axis " << axis << " select_last " << select_last;
}

TEST_F(ArgReduceTest, MatchesReference) {
    for (int trial = 0; trial < 40; ++trial) {
        auto shape = random_shape(4, 7);
        if (shape.empty()) shape.push_back(5);
        const auto rank = static_cast<int32_t>(shape.size());
        const auto axis = static_cast<int32_t>(uniform_int(-rank, rank - 1));
        const bool keepdims = uniform_int(0, 1) == 1;
        for (mln_reduce_op op : {MLN_REDUCE_OP_MAX, MLN_REDUCE_OP_MIN}) {
            for (bool last : {false, true}) {
                check_arg_reduce<float>(device_, op, shape, axis, keepdims, last);
                check_arg_reduce<double>(device_, op, shape, axis, keepdims, last);
                check_arg_reduce<int32_t>(device_, op, shape, axis, keepdims, last);
                check_arg_reduce<int64_t>(device_, op, shape, axis, keepdims, last);
            }
        }
    }
    // A wide inner extent spans several blocks of the strided path.
    check_arg_reduce<float>(device_, MLN_REDUCE_OP_MAX, {3, 9, 700}, 1, false, false);
    check_arg_reduce<float>(device_, MLN_REDUCE_OP_MIN, {3, 9, 700}, 1, true, true);
}

TEST_F(ArgReduceTest, TiesAndNaNByHand) {
    HostTensor<float> x({2, 4});
    const float values[] = {1, 3, 3, 2, 5, NAN, 7, NAN};
    for (int i = 0; i < 8; ++i) x.at(i) = values[i];
    HostTensor<int64_t> y({2});
    ASSERT_EQ(mln_arg_reduce(device_, MLN_REDUCE_OP_MAX, x.desc(), 1, 0, 0, y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), 1);
    EXPECT_EQ(y.at(1), 1);  // NaN is the extreme, as in mln_reduce's max
    ASSERT_EQ(mln_arg_reduce(device_, MLN_REDUCE_OP_MAX, x.desc(), -1, 0, 1, y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), 2);
    EXPECT_EQ(y.at(1), 3);
    ASSERT_EQ(mln_arg_reduce(device_, MLN_REDUCE_OP_MIN, x.desc(), 1, 0, 0, y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), 0);
    EXPECT_EQ(y.at(1), 1);
}

TEST_F(ArgReduceTest, RejectsBadArguments) {
    HostTensor<float> x({2, 3});
    HostTensor<int64_t> y({2});
    EXPECT_EQ(mln_arg_reduce(device_, MLN_REDUCE_OP_SUM, x.desc(), 1, 0, 0, y.desc()), MLN_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(mln_last_error()).find("MLN_REDUCE_OP_MAX"), std::string::npos) << mln_last_error();
    EXPECT_EQ(mln_arg_reduce(device_, MLN_REDUCE_OP_MAX, x.desc(), 2, 0, 0, y.desc()), MLN_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(mln_arg_reduce(device_, MLN_REDUCE_OP_MAX, x.desc(), 0, 0, 0, y.desc()), MLN_STATUS_INVALID_ARGUMENT);
    HostTensor<int32_t> y32({2});
    EXPECT_EQ(mln_arg_reduce(device_, MLN_REDUCE_OP_MAX, x.desc(), 1, 0, 0, y32.desc()), MLN_STATUS_INVALID_ARGUMENT);
    HostTensor<float> strided({2, 3}, {1, 2});
    EXPECT_EQ(mln_arg_reduce(device_, MLN_REDUCE_OP_MAX, strided.desc(), 1, 0, 0, y.desc()), MLN_STATUS_INVALID_ARGUMENT);
    HostTensor<float> empty({2, 0});
    EXPECT_EQ(mln_arg_reduce(device_, MLN_REDUCE_OP_MAX, empty.desc(), 1, 0, 0, y.desc()), MLN_STATUS_INVALID_ARGUMENT);
}

class TopKTest : public CpuDeviceTest {};

template <class T>
void check_top_k(mln_device* device, const std::vector<int64_t>& shape, int32_t axis, int64_t k, bool largest) {
    const auto rank = static_cast<int32_t>(shape.size());
    const int32_t normalized = axis < 0 ? axis + rank : axis;
    HostTensor<T> x(shape);
    fill_with_ties(x);
    const auto out_shape = with_axis(shape, normalized, k, true);
    HostTensor<T> values(out_shape);
    HostTensor<int64_t> indices(out_shape);
    HostTensor<T> want_values(out_shape);
    HostTensor<int64_t> want_indices(out_shape);
    ASSERT_EQ(mln_top_k(device, x.desc(), axis, k, largest ? 1 : 0, values.desc(), indices.desc()), MLN_STATUS_OK)
        << mln_last_error();
    reference::top_k(x.view(), normalized, k, largest, want_values.view(), want_indices.view());
    EXPECT_TRUE(same_elements(values, want_values)) << "axis " << axis << " k " << k << " largest " << largest;
    EXPECT_TRUE(same_elements(indices, want_indices)) << "axis " << axis << " k " << k << " largest " << largest;
}

TEST_F(TopKTest, MatchesReference) {
    for (int trial = 0; trial < 40; ++trial) {
        auto shape = random_shape(4, 7);
        if (shape.empty()) shape.push_back(6);
        const auto rank = static_cast<int32_t>(shape.size());
        const auto axis = static_cast<int32_t>(uniform_int(-rank, rank - 1));
        const int64_t k = uniform_int(0, shape[static_cast<size_t>(axis < 0 ? axis + rank : axis)]);
        for (bool largest : {true, false}) {
            check_top_k<float>(device_, shape, axis, k, largest);
            check_top_k<double>(device_, shape, axis, k, largest);
            check_top_k<int32_t>(device_, shape, axis, k, largest);
            check_top_k<int64_t>(device_, shape, axis, k, largest);
        }
    }
    check_top_k<float>(device_, {2, 300, 3}, 1, 40, true);
}

TEST_F(TopKTest, TiesKeepOrderAndNaNRanksFirst) {
    HostTensor<float> x({5});
    const float input[] = {3, 1, NAN, 3, 2};
    for (int i = 0; i < 5; ++i) x.at(i) = input[i];
    HostTensor<float> values({3});
    HostTensor<int64_t> indices({3});
    ASSERT_EQ(mln_top_k(device_, x.desc(), 0, 3, 1, values.desc(), indices.desc()), MLN_STATUS_OK) << mln_last_error();
    EXPECT_TRUE(std::isnan(values.at(0)));
    EXPECT_EQ(values.at(1), 3.0f);
    EXPECT_EQ(values.at(2), 3.0f);
    EXPECT_EQ(indices.at(0), 2);
    EXPECT_EQ(indices.at(1), 0);
    EXPECT_EQ(indices.at(2), 3);
    ASSERT_EQ(mln_top_k(device_, x.desc(), 0, 3, 0, values.desc(), indices.desc()), MLN_STATUS_OK) << mln_last_error();
    EXPECT_EQ(values.at(0), 1.0f);
    EXPECT_EQ(values.at(1), 2.0f);
    EXPECT_EQ(values.at(2), 3.0f);
    EXPECT_EQ(indices.at(0), 1);
    EXPECT_EQ(indices.at(1), 4);
    EXPECT_EQ(indices.at(2), 0);
}

TEST_F(TopKTest, RejectsBadArguments) {
    HostTensor<float> x({2, 3});
    HostTensor<float> values({2, 4});
    HostTensor<int64_t> indices({2, 4});
    EXPECT_EQ(mln_top_k(device_, x.desc(), 1, 4, 1, values.desc(), indices.desc()), MLN_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(mln_last_error()).find("k is 4"), std::string::npos) << mln_last_error();
    HostTensor<float> values2({2, 2});
    HostTensor<int64_t> indices3({2, 3});
    EXPECT_EQ(mln_top_k(device_, x.desc(), 1, 2, 1, values2.desc(), indices3.desc()), MLN_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(mln_top_k(device_, x.desc(), 1, -1, 1, values2.desc(), indices3.desc()), MLN_STATUS_INVALID_ARGUMENT);
}

class CumSumTest : public CpuDeviceTest {};

template <class T>
void check_cumsum(mln_device* device, const std::vector<int64_t>& shape, int32_t axis, bool exclusive, bool reverse) {
    const auto rank = static_cast<int32_t>(shape.size());
    HostTensor<T> x(shape);
    fill_random(x);
    HostTensor<T> y(shape);
    HostTensor<T> want(shape);
    ASSERT_EQ(mln_cumsum(device, x.desc(), axis, exclusive ? 1 : 0, reverse ? 1 : 0, y.desc()), MLN_STATUS_OK)
        << mln_last_error();
    reference::cumsum(x.view(), axis < 0 ? axis + rank : axis, exclusive, reverse, want.view());
    if constexpr (std::is_floating_point_v<T>) {
        EXPECT_TRUE(near_all(y, want, 1e-6)) << "axis " << axis << " exclusive " << exclusive << " reverse " << reverse;
    } else {
        EXPECT_TRUE(same_elements(y, want)) << "axis " << axis << " exclusive " << exclusive << " reverse " << reverse;
    }
}

TEST_F(CumSumTest, MatchesReference) {
    for (int trial = 0; trial < 30; ++trial) {
        auto shape = random_shape(4, 7);
        if (shape.empty()) shape.push_back(4);
        const auto rank = static_cast<int32_t>(shape.size());
        const auto axis = static_cast<int32_t>(uniform_int(-rank, rank - 1));
        for (bool exclusive : {false, true}) {
            for (bool reverse : {false, true}) {
                check_cumsum<float>(device_, shape, axis, exclusive, reverse);
                check_cumsum<double>(device_, shape, axis, exclusive, reverse);
                check_cumsum<int32_t>(device_, shape, axis, exclusive, reverse);
                check_cumsum<int64_t>(device_, shape, axis, exclusive, reverse);
            }
        }
    }
    check_cumsum<float>(device_, {2, 50, 600}, 1, false, true);
}

TEST_F(CumSumTest, ByHand) {
    HostTensor<double> x({5});
    for (int i = 0; i < 5; ++i) x.at(i) = i + 1;
    HostTensor<double> y({5});
    const double expected[4][5] = {{1, 3, 6, 10, 15}, {0, 1, 3, 6, 10}, {15, 14, 12, 9, 5}, {14, 12, 9, 5, 0}};
    for (int flags = 0; flags < 4; ++flags) {
        const int exclusive = flags & 1;
        const int reverse = flags >> 1;
        ASSERT_EQ(mln_cumsum(device_, x.desc(), 0, exclusive, reverse, y.desc()), MLN_STATUS_OK) << mln_last_error();
        for (int i = 0; i < 5; ++i) EXPECT_EQ(y.at(i), expected[flags][i]) << "flags " << flags << " element " << i;
    }
    HostTensor<float> wrong({5});
    EXPECT_EQ(mln_cumsum(device_, x.desc(), 0, 0, 0, wrong.desc()), MLN_STATUS_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace mln::test
