// Softmax/log-softmax against the double reference twin, backward against the twin and
// finite differences, stability and special values.
#include <cmath>
#include <vector>

#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_elementwise.hpp"

namespace mln::test {
namespace {

class SoftmaxTest : public CpuDeviceTest {};

template <class T>
::testing::AssertionResult near_elements(HostTensor<T>& got, HostTensor<T>& want, double tolerance) {
    for (int64_t i = 0; i < want.count(); ++i) {
        const double g = got.at(i);
        const double w = want.at(i);
        if ((std::isnan(w) && std::isnan(g)) || g == w) continue;
        if (!(std::fabs(g - w) <= tolerance * (1 + std::fabs(w)))) {
            return ::testing::AssertionFailure() << "element " << i << ": got " << g << ", want " << w;
        }
    }
    return ::testing::AssertionSuccess();
}

template <class T>
void check_softmax(mln_device* device, mln_softmax_op op, const std::vector<int64_t>& shape, int32_t axis) {
    HostTensor<T> x(shape, random_strides(shape));
    HostTensor<T> y(shape, random_strides(shape));
    HostTensor<T> want(shape);
    for (int64_t i = 0; i < x.count(); ++i) x.at(i) = static_cast<T>(uniform(-20.0, 20.0));
    ASSERT_EQ(mln_softmax(device, op, axis, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    const auto rank = static_cast<int32_t>(shape.size());
    reference::softmax(op, axis < 0 ? axis + rank : axis, x.view(), want.view());
    const double tolerance = std::is_same_v<T, float> ? 2e-6 : 1e-13;
    EXPECT_TRUE(near_elements(y, want, tolerance)) << "op " << op << " axis " << axis;

    HostTensor<T> dy(shape, random_strides(shape));
    HostTensor<T> dx(shape, random_strides(shape));
    HostTensor<T> want_dx(shape);
    fill_random(dy);
    ASSERT_EQ(mln_softmax_backward(device, op, axis, y.desc(), dy.desc(), dx.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::softmax_backward(op, axis < 0 ? axis + rank : axis, y.view(), dy.view(), want_dx.view());
    EXPECT_TRUE(near_elements(dx, want_dx, std::is_same_v<T, float> ? 1e-5 : 1e-12)) << "backward op " << op;
}

TEST_F(SoftmaxTest, MatchesReferenceOnEveryAxis) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (mln_softmax_op op : {MLN_SOFTMAX_OP_SOFTMAX, MLN_SOFTMAX_OP_LOG_SOFTMAX}) {
            for (int trial = 0; trial < 6; ++trial) {
                std::vector<int64_t> shape = random_shape(4, 9);
                if (shape.empty()) shape = {5};
                const auto rank = static_cast<int32_t>(shape.size());
                const auto axis = static_cast<int32_t>(uniform_int(-rank, rank - 1));
                check_softmax<float>(device_, op, shape, axis);
                check_softmax<double>(device_, op, shape, axis);
            }
            for (int64_t n : {1, 7, 8, 9, 31, 1000}) check_softmax<float>(device_, op, {3, n}, -1);
            check_softmax<float>(device_, op, {0, 4}, 1);
            check_softmax<float>(device_, op, {513, 130}, 1);  // threads
        }
    }
}

TEST_F(SoftmaxTest, BackwardMatchesFiniteDifferences) {
    // L = sum(w * softmax(x)); dL/dx from backward with dy = w vs central differences.
    for (mln_softmax_op op : {MLN_SOFTMAX_OP_SOFTMAX, MLN_SOFTMAX_OP_LOG_SOFTMAX}) {
        const std::vector<int64_t> shape = {3, 6};
        HostTensor<double> x(shape);
        HostTensor<double> y(shape);
        HostTensor<double> w(shape);
        HostTensor<double> dx(shape);
        for (int64_t i = 0; i < x.count(); ++i) x.at(i) = uniform(-3, 3), w.at(i) = uniform(-1, 1);
        ASSERT_EQ(mln_softmax(device_, op, 0, x.desc(), y.desc()), MLN_STATUS_OK);
        ASSERT_EQ(mln_softmax_backward(device_, op, 0, y.desc(), w.desc(), dx.desc()), MLN_STATUS_OK);
        const auto loss = [&] {
            HostTensor<double> out(shape);
            EXPECT_EQ(mln_softmax(device_, op, 0, x.desc(), out.desc()), MLN_STATUS_OK);
            double sum = 0;
            for (int64_t i = 0; i < out.count(); ++i) sum += w.at(i) * out.at(i);
            return sum;
        };
        for (int64_t i = 0; i < x.count(); ++i) {
            const double saved = x.at(i);
            x.at(i) = saved + 1e-6;
            const double up = loss();
            x.at(i) = saved - 1e-6;
            const double down = loss();
            x.at(i) = saved;
            EXPECT_NEAR(dx.at(i), (up - down) / 2e-6, 1e-7) << "op " << op << " element " << i;
        }
    }
}

TEST_F(SoftmaxTest, StableAndSpecialValues) {
  for (mln_isa isa : available_isas()) {
    ScopedIsa scoped(isa);
    HostTensor<float> x({4, 3});
    HostTensor<float> y({4, 3});
    const float values[] = {1000.0f, 1000.0f, -1000.0f,       // huge: no overflow
                            -INFINITY, 0.0f, 0.0f,            // -inf gets probability 0
                            1.0f, NAN, 2.0f,                  // NaN row
                            -INFINITY, -INFINITY, -INFINITY};  // all -inf: undefined
    for (int i = 0; i < 12; ++i) x.at(i) = values[i];
    ASSERT_EQ(mln_softmax(device_, MLN_SOFTMAX_OP_SOFTMAX, 1, x.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_FLOAT_EQ(y.at(0), 0.5f);
    EXPECT_FLOAT_EQ(y.at(1), 0.5f);
    EXPECT_EQ(y.at(2), 0.0f);
    EXPECT_EQ(y.at(3), 0.0f);
    EXPECT_FLOAT_EQ(y.at(4), 0.5f);
    for (int i = 6; i < 12; ++i) EXPECT_TRUE(std::isnan(y.at(i))) << i;
    ASSERT_EQ(mln_softmax(device_, MLN_SOFTMAX_OP_LOG_SOFTMAX, 1, x.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_FLOAT_EQ(y.at(0), -std::log(2.0f));
    EXPECT_EQ(y.at(3), -INFINITY);
    // In place.
    HostTensor<float> ones({3});
    for (int i = 0; i < 3; ++i) ones.at(i) = 1.0f;
    ASSERT_EQ(mln_softmax(device_, MLN_SOFTMAX_OP_SOFTMAX, 0, ones.desc(), ones.desc()), MLN_STATUS_OK);
    for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(ones.at(i), 1.0f / 3.0f);
  }
}

// Contiguous f32 rows take the vector row kernels: every row length around the vector widths,
// with NaN, +inf, some -inf and all -inf rows (specials in whole vectors and in tails), forward
// and backward against the reference twin at every ISA.
TEST_F(SoftmaxTest, ContiguousRowsWithSpecialValuesMatchReference) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (mln_softmax_op op : {MLN_SOFTMAX_OP_SOFTMAX, MLN_SOFTMAX_OP_LOG_SOFTMAX}) {
            for (int64_t n : {1, 2, 7, 8, 15, 16, 17, 31, 33, 64, 100, 1031}) {
                const int64_t rows = 10;
                HostTensor<float> x({rows, n});
                HostTensor<float> y({rows, n});
                HostTensor<float> want({rows, n});
                for (int64_t i = 0; i < x.count(); ++i) x.at(i) = static_cast<float>(uniform(-20.0, 20.0));
                const auto at = [&](int64_t row) { return row * n + uniform_int(0, n - 1); };
                x.at(at(1)) = NAN;
                x.at(at(2)) = INFINITY;
                x.at(at(3)) = -INFINITY;
                x.at(at(3)) = -INFINITY;
                for (int64_t i = 0; i < n; ++i) x.at(4 * n + i) = -INFINITY;
                x.at(5 * n + n - 1) = NAN;  // last element: in the tail where n is not a multiple of the width
                x.at(6 * n + n - 1) = 1e30f;
                ASSERT_EQ(mln_softmax(device_, op, 1, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
                reference::softmax(op, 1, x.view(), want.view());
                ASSERT_TRUE(near_elements(y, want, 2e-6)) << "op " << op << " isa " << isa << " n " << n;

                HostTensor<float> dy({rows, n});
                HostTensor<float> dx({rows, n});
                HostTensor<float> want_dx({rows, n});
                fill_random(dy);
                ASSERT_EQ(mln_softmax_backward(device_, op, 1, y.desc(), dy.desc(), dx.desc()), MLN_STATUS_OK);
                reference::softmax_backward(op, 1, y.view(), dy.view(), want_dx.view());
                ASSERT_TRUE(near_elements(dx, want_dx, 1e-5)) << "backward op " << op << " isa " << isa << " n " << n;
            }
        }
    }
}

TEST_F(SoftmaxTest, Validation) {
    HostTensor<float> x({2, 3});
    HostTensor<float> y({2, 3});
    HostTensor<float> z({3, 2});
    HostTensor<float> scalar({});
    HostTensor<int32_t> ints({2, 3});
    EXPECT_TRUE(failed_with(mln_softmax(device_, MLN_SOFTMAX_OP_SOFTMAX, 2, x.desc(), y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_softmax", "axis is 2", "rank 2"}));
    EXPECT_TRUE(failed_with(mln_softmax(device_, MLN_SOFTMAX_OP_SOFTMAX, 0, x.desc(), z.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_softmax"}));
    EXPECT_TRUE(failed_with(mln_softmax(device_, static_cast<mln_softmax_op>(5), 0, x.desc(), y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_softmax", "op 5"}));
    EXPECT_TRUE(failed_with(mln_softmax(device_, MLN_SOFTMAX_OP_SOFTMAX, 0, scalar.desc(), scalar.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_softmax", "scalar"}));
    EXPECT_TRUE(failed_with(mln_softmax(device_, MLN_SOFTMAX_OP_SOFTMAX, 0, ints.desc(), ints.desc()),
                            MLN_STATUS_NOT_SUPPORTED, {"mln_softmax", "i32"}));
    EXPECT_TRUE(failed_with(mln_softmax_backward(device_, MLN_SOFTMAX_OP_SOFTMAX, 0, x.desc(), nullptr, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_softmax_backward", "dy"}));
}

}  // namespace
}  // namespace mln::test
