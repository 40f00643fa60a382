#include <algorithm>
#include <bit>
#include <cmath>
#include <type_traits>
#include <limits>
#include <vector>

#include "kernel_test_support.hpp"
#include "core/names.hpp"
#include "kernels/cpu/elementwise/binary_ops.hpp"
#include "kernels/cpu/elementwise/unary_ops.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::test {
namespace {

class ElementwiseTest : public CpuDeviceTest {};

// Parameters of the parameterized ops that differ from their defaults, so the test sees
// them honoured.
double unary_alpha(mln_unary_op op) { return op == MLN_UNARY_OP_HARD_SIGMOID ? 0.3 : op == MLN_UNARY_OP_SELU ? 1.9 : 0.37; }
double unary_beta(mln_unary_op op) {
    switch (op) {
        case MLN_UNARY_OP_HARD_SIGMOID: return 0.4;
        case MLN_UNARY_OP_SHRINK: return 0.25;
        case MLN_UNARY_OP_SELU: return 1.3;
        default: return 0.0;
    }
}

// f32 results may come from the vector transcendentals (<= 3 ulp, see common/vector_math.hpp);
// everything else is the very same scalar code as the reference, so it must match exactly.
template <class T>
::testing::AssertionResult close_to_reference(HostTensor<T>& got, HostTensor<T>& want) {
    for (int64_t i = 0; i < want.count(); ++i) {
        const T g = got.at(i);
        const T w = want.at(i);
        if (same_element(g, w)) continue;
        const double tolerance = std::is_same_v<T, float> ? 4e-6 * std::fabs(static_cast<double>(w)) + 1e-6 : 0.0;
        if (!(std::fabs(static_cast<double>(g) - static_cast<double>(w)) <= tolerance)) {
            return ::testing::AssertionFailure() << "element " << i << ": got " << g << ", want " << w;
        }
    }
    return ::testing::AssertionSuccess();
}

template <class T>
void check_unary_against_reference(mln_device* device, mln_unary_op op, const std::vector<int64_t>& shape,
                                   bool contiguous = false) {
    HostTensor<T> x(shape, contiguous ? contiguous_strides(shape) : random_strides(shape));
    HostTensor<T> y(shape, contiguous ? contiguous_strides(shape) : random_strides(shape));
    HostTensor<T> want(shape);
    fill_random(x);
    const double alpha = unary_alpha(op);
    const double beta = unary_beta(op);
    ASSERT_EQ(mln_unary(device, op, alpha, beta, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::unary(op, alpha, beta, x.view(), want.view());
    if constexpr (std::is_floating_point_v<T>) {
        EXPECT_TRUE(close_to_reference(y, want)) << "op " << unary_op_name(op) << " shape rank " << shape.size();
    } else {
        EXPECT_TRUE(same_elements(y, want)) << "op " << unary_op_name(op) << " shape rank " << shape.size();
    }
}

TEST_F(ElementwiseTest, UnaryFloatOpsMatchReference) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (int op = MLN_UNARY_OP_IDENTITY; op <= kernels::kLastUnaryOp; ++op) {
            const auto code = static_cast<mln_unary_op>(op);
            for (int trial = 0; trial < 4; ++trial) {
                const auto shape = random_shape(4, 9);
                check_unary_against_reference<float>(device_, code, shape);
                check_unary_against_reference<double>(device_, code, shape);
            }
            // Contiguous runs of edge lengths around the vector width.
            for (int64_t n : {0, 1, 7, 8, 9, 17, 31, 101}) {
                check_unary_against_reference<float>(device_, code, {n}, true);
                check_unary_against_reference<double>(device_, code, {n}, true);
            }
        }
        // Large enough to be split across the thread pool.
        check_unary_against_reference<float>(device_, MLN_UNARY_OP_SIGMOID, {301, 457}, true);
        check_unary_against_reference<float>(device_, MLN_UNARY_OP_GELU, {301, 457});
        // Above kStreamingStoreBytes: non-temporal stores with an unaligned head, each thread's run
        // ending inside a 1 KiB group (run_vectors prefetches y once a group).
        check_unary_against_reference<float>(device_, MLN_UNARY_OP_TANH, {4200007}, true);
    }
}

TEST_F(ElementwiseTest, UnaryActivationValues) {
    // Spot values from the definitions (computed independently in double here).
    const double xs[] = {-3.5, -1.0, -0.25, 0.0, 0.5, 2.0, 7.0};
    struct Case {
        mln_unary_op op;
        double alpha, beta;
        double (*f)(double x, double alpha, double beta);
    };
    const Case cases[] = {
        {MLN_UNARY_OP_LEAKY_RELU, 0.1, 0, [](double x, double a, double) { return x < 0 ? a * x : x; }},
        {MLN_UNARY_OP_ELU, 0.5, 0, [](double x, double a, double) { return x < 0 ? a * (std::exp(x) - 1) : x; }},
        {MLN_UNARY_OP_SELU, 1.6732632423543772, 1.0507009873554805,
         [](double x, double, double) {
             return 1.0507009873554805 * (x < 0 ? 1.6732632423543772 * (std::exp(x) - 1) : x);
         }},
        {MLN_UNARY_OP_SELU, 2.0, 3.0, [](double x, double a, double g) { return g * (x < 0 ? a * (std::exp(x) - 1) : x); }},
        {MLN_UNARY_OP_SHRINK, 1.5, 0.5,
         [](double x, double l, double b) { return x < -l ? x + b : (x > l ? x - b : 0.0); }},
        {MLN_UNARY_OP_THRESHOLDED_RELU, 0.5, 0, [](double x, double a, double) { return x > a ? x : 0.0; }},
        {MLN_UNARY_OP_ATAN, 0, 0, [](double x, double, double) { return std::atan2(x, 1.0); }},
        {MLN_UNARY_OP_SINH, 0, 0, [](double x, double, double) { return (std::exp(x) - std::exp(-x)) / 2; }},
        {MLN_UNARY_OP_COSH, 0, 0, [](double x, double, double) { return (std::exp(x) + std::exp(-x)) / 2; }},
        {MLN_UNARY_OP_ASINH, 0, 0, [](double x, double, double) { return std::log(x + std::sqrt(x * x + 1)); }},
        {MLN_UNARY_OP_TAN, 0, 0, [](double x, double, double) { return std::sin(x) / std::cos(x); }},
        {MLN_UNARY_OP_CELU, 2.0, 0, [](double x, double a, double) { return std::max(0.0, x) + std::min(0.0, a * (std::exp(x / a) - 1)); }},
        {MLN_UNARY_OP_GELU, 0, 0, [](double x, double, double) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }},
        {MLN_UNARY_OP_GELU_TANH, 0, 0,
         [](double x, double, double) {
             return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
         }},
        {MLN_UNARY_OP_SILU, 0, 0, [](double x, double, double) { return x / (1 + std::exp(-x)); }},
        {MLN_UNARY_OP_MISH, 0, 0, [](double x, double, double) { return x * std::tanh(std::log(1 + std::exp(x))); }},
        {MLN_UNARY_OP_SOFTPLUS, 0, 0, [](double x, double, double) { return std::log(1 + std::exp(x)); }},
        {MLN_UNARY_OP_SOFTSIGN, 0, 0, [](double x, double, double) { return x / (1 + std::fabs(x)); }},
        {MLN_UNARY_OP_HARD_SIGMOID, 0.2, 0.5, [](double x, double a, double b) { return std::clamp(a * x + b, 0.0, 1.0); }},
        {MLN_UNARY_OP_HARD_SWISH, 0, 0, [](double x, double, double) { return x * std::clamp(x / 6 + 0.5, 0.0, 1.0); }},
        {MLN_UNARY_OP_RECIPROCAL, 0, 0, [](double x, double, double) { return 1 / x; }},
        {MLN_UNARY_OP_SQUARE, 0, 0, [](double x, double, double) { return x * x; }},
        {MLN_UNARY_OP_ERF, 0, 0, [](double x, double, double) { return std::erf(x); }},
    };
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const Case& c : cases) {
            HostTensor<float> x({7});
            HostTensor<float> y({7});
            HostTensor<double> xd({7});
            HostTensor<double> yd({7});
            for (int i = 0; i < 7; ++i) x.at(i) = static_cast<float>(xs[i]), xd.at(i) = xs[i];
            ASSERT_EQ(mln_unary(device_, c.op, c.alpha, c.beta, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
            ASSERT_EQ(mln_unary(device_, c.op, c.alpha, c.beta, xd.desc(), yd.desc()), MLN_STATUS_OK) << mln_last_error();
            for (int i = 0; i < 7; ++i) {
                const double want = c.f(xs[i], c.alpha, c.beta);
                if (std::isinf(want)) {
                    EXPECT_EQ(y.at(i), want);
                    EXPECT_EQ(yd.at(i), want);
                    continue;
                }
                EXPECT_NEAR(y.at(i), want, 2e-6 * (1 + std::fabs(want))) << unary_op_name(c.op) << " at " << xs[i];
                EXPECT_NEAR(yd.at(i), want, 1e-13 * (1 + std::fabs(want))) << unary_op_name(c.op) << " at " << xs[i];
            }
        }
    }
}

TEST_F(ElementwiseTest, InverseFunctionsInTheirDomains) {
    // Written through atan2 and log, independently of the kernels' std::asin and friends; out of
    // the domain the result is NaN.
    struct Case {
        mln_unary_op op;
        std::vector<double> xs;
        double (*f)(double x);
        double outside;
    };
    const Case cases[] = {
        {MLN_UNARY_OP_ASIN, {-0.99, -0.5, 0.0, 0.3, 0.9}, [](double x) { return std::atan2(x, std::sqrt(1 - x * x)); }, 1.5},
        {MLN_UNARY_OP_ACOS, {-0.99, -0.5, 0.0, 0.3, 0.9}, [](double x) { return std::atan2(std::sqrt(1 - x * x), x); }, -1.5},
        {MLN_UNARY_OP_ATANH, {-0.99, -0.5, 0.0, 0.3, 0.9}, [](double x) { return 0.5 * std::log((1 + x) / (1 - x)); }, 2.0},
        {MLN_UNARY_OP_ACOSH, {1.0, 1.5, 3.0, 10.0, 1e3}, [](double x) { return std::log(x + std::sqrt(x * x - 1)); }, 0.5},
    };
    for (const Case& c : cases) {
        const auto n = static_cast<int64_t>(c.xs.size());
        HostTensor<double> x({n + 1});
        HostTensor<double> y({n + 1});
        for (int64_t i = 0; i < n; ++i) x.at(i) = c.xs[static_cast<size_t>(i)];
        x.at(n) = c.outside;
        ASSERT_EQ(mln_unary(device_, c.op, 0, 0, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
        for (int64_t i = 0; i < n; ++i) {
            const double want = c.f(x.at(i));
            EXPECT_NEAR(y.at(i), want, 1e-12 * (1 + std::fabs(want))) << unary_op_name(c.op) << " at " << x.at(i);
        }
        EXPECT_TRUE(std::isnan(y.at(n))) << unary_op_name(c.op) << " at " << c.outside;
    }
}

TEST_F(ElementwiseTest, RoundingOpsAndSign) {
    HostTensor<float> x({8});
    HostTensor<float> y({8});
    const float values[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.7f, NAN, -0.0f};
    for (int i = 0; i < 8; ++i) x.at(i) = values[i];
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_ROUND, 0, 0, x.desc(), y.desc()), MLN_STATUS_OK);
        const float rounded[] = {0.0f, 2.0f, 2.0f, -0.0f, -2.0f, -3.0f};
        for (int i = 0; i < 6; ++i) EXPECT_EQ(y.at(i), rounded[i]) << "half to even at " << values[i];
        EXPECT_TRUE(std::isnan(y.at(6)));
        ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_FLOOR, 0, 0, x.desc(), y.desc()), MLN_STATUS_OK);
        EXPECT_EQ(y.at(5), -3.0f);
        ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_CEIL, 0, 0, x.desc(), y.desc()), MLN_STATUS_OK);
        EXPECT_EQ(y.at(5), -2.0f);
    }
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_SIGN, 0, 0, x.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), 1.0f);
    EXPECT_EQ(y.at(5), -1.0f);
    EXPECT_TRUE(std::isnan(y.at(6)));
    EXPECT_TRUE(std::signbit(y.at(7)) && y.at(7) == 0.0f);
    HostTensor<int32_t> i({3});
    i.at(0) = -7, i.at(1) = 0, i.at(2) = 9;
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_SIGN, 0, 0, i.desc(), i.desc()), MLN_STATUS_OK);
    EXPECT_EQ(i.at(0), -1);
    EXPECT_EQ(i.at(1), 0);
    EXPECT_EQ(i.at(2), 1);
}

// The vector kernels of the piecewise ops give the scalar definitions' values at their edges:
// the thresholds themselves, signed zeros, infinities and NaN (runs of 23: a vector body and tail).
TEST_F(ElementwiseTest, PiecewiseOpsAtTheirEdgesMatchScalar) {
    const float edges[] = {-INFINITY, -1.5f, -0.5f, -0.4999f, -0.0f, 0.0f, 0.5f, 0.5001f, 2.0f, INFINITY, NAN};
    HostTensor<float> x({23});
    for (int64_t i = 0; i < x.count(); ++i) x.at(i) = edges[static_cast<size_t>(i) % std::size(edges)];
    for (mln_unary_op op : {MLN_UNARY_OP_SIGN, MLN_UNARY_OP_SHRINK, MLN_UNARY_OP_THRESHOLDED_RELU}) {
        HostTensor<float> want({23});
        {
            ScopedIsa scalar(MLN_ISA_SCALAR);
            ASSERT_EQ(mln_unary(device_, op, 0.5, 0.25, x.desc(), want.desc()), MLN_STATUS_OK) << mln_last_error();
        }
        for (mln_isa isa : available_isas()) {
            ScopedIsa scoped(isa);
            HostTensor<float> y({23});
            ASSERT_EQ(mln_unary(device_, op, 0.5, 0.25, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
            for (int64_t i = 0; i < y.count(); ++i) {
                if (std::isnan(want.at(i))) {
                    EXPECT_TRUE(std::isnan(y.at(i))) << unary_op_name(op) << " isa " << isa << " at " << x.at(i);
                } else {
                    EXPECT_EQ(std::bit_cast<uint32_t>(y.at(i)), std::bit_cast<uint32_t>(want.at(i)))
                        << unary_op_name(op) << " isa " << isa << " at " << x.at(i) << ": " << y.at(i) << " vs " << want.at(i);
                }
            }
        }
    }
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
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_RELU, 0.0, 0.0, x.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y.at(0), 0.0f);
    EXPECT_EQ(y.at(3), 4.0f);
    EXPECT_TRUE(std::isnan(y.at(4))) << "relu keeps NaN";
    EXPECT_EQ(y.at(5), INFINITY);
    EXPECT_EQ(y.at(6), 0.0f);
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_SIGMOID, 0.0, 0.0, x.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_FLOAT_EQ(y.at(3), 1.0f / (1.0f + std::exp(-4.0f)));
    EXPECT_EQ(y.at(5), 1.0f);
    EXPECT_EQ(y.at(6), 0.0f) << "no overflow to NaN at -inf";
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_SQRT, 0.0, 0.0, x.desc(), y.desc()), MLN_STATUS_OK);
    EXPECT_TRUE(std::isnan(y.at(0)));
    EXPECT_EQ(y.at(3), 2.0f);

    HostTensor<int32_t> i({2});
    i.at(0) = std::numeric_limits<int32_t>::min();
    i.at(1) = -5;
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_ABS, 0.0, 0.0, i.desc(), i.desc()), MLN_STATUS_OK);
    EXPECT_EQ(i.at(0), std::numeric_limits<int32_t>::min()) << "abs(MIN) wraps";
    EXPECT_EQ(i.at(1), 5);
}

TEST_F(ElementwiseTest, UnaryInPlace) {
    HostTensor<double> x({5, 6}, {-1, -5});
    fill_random(x);
    std::vector<double> before;
    for (int64_t i = 0; i < x.count(); ++i) before.push_back(x.at(i));
    ASSERT_EQ(mln_unary(device_, MLN_UNARY_OP_NEG, 0.0, 0.0, x.desc(), x.desc()), MLN_STATUS_OK);
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
    if constexpr (std::is_same_v<T, float>) {
        // The vector pow rounds a double result once (kPowMaxUlp); std::pow(float) is within 0.82
        // ulp (glibc): the two may differ by one step.
        if (op == MLN_BINARY_OP_POW) {
            for (int64_t i = 0; i < y.count(); ++i) {
                const float got = y.at(i), expected = want.at(i);
                if (!same_element(got, expected)) {
                    EXPECT_NEAR(got, expected, std::fabs(expected) * 0x1p-22f) << i;
                }
            }
            return;
        }
    }
    EXPECT_TRUE(same_elements(y, want)) << "op " << op;
}

// Every op the kernel defines for T (arithmetic, remainders, shifts), against the reference.
template <class T>
void check_binary_ops_for(mln_device* device, const std::vector<int64_t>& shape) {
    for (int op = MLN_BINARY_OP_ADD; op <= kernels::kLastBinaryOp; ++op) {
        const auto code = static_cast<mln_binary_op>(op);
        if (binary_op_gives_bool(op) || !kernels::binary_op_supports(code, dtype_of<T>())) continue;
        check_binary_against_reference<T>(device, code, shape);
    }
}

TEST_F(ElementwiseTest, BinaryMatchesReferenceWithBroadcasting) {
    for (mln_isa isa : available_isas()) {
    ScopedIsa scoped(isa);
    for (int trial = 0; trial < 8; ++trial) {
        const auto shape = random_shape(4, 12);
        check_binary_ops_for<float>(device_, shape);
        check_binary_ops_for<double>(device_, shape);
        check_binary_ops_for<kernels::Half>(device_, shape);
        check_binary_ops_for<int8_t>(device_, shape);
        check_binary_ops_for<uint8_t>(device_, shape);
        check_binary_ops_for<int32_t>(device_, shape);
        check_binary_ops_for<int64_t>(device_, shape);
    }
    check_binary_against_reference<float>(device_, MLN_BINARY_OP_MUL, {64, 33, 40});
    check_binary_against_reference<double>(device_, MLN_BINARY_OP_MAX, {64, 33, 40});
    // Above kStreamingStoreBytes, with a row broadcast.
    HostTensor<double> a({1001, 2003});
    HostTensor<double> row({2003});
    HostTensor<double> y({1001, 2003});
    HostTensor<double> want({1001, 2003});
    fill_random(a);
    fill_random(row);
    ASSERT_EQ(mln_binary(device_, MLN_BINARY_OP_SUB, a.desc(), row.desc(), y.desc()), MLN_STATUS_OK);
    reference::binary(MLN_BINARY_OP_SUB, a.view(), row.view(), want.view());
    EXPECT_TRUE(same_elements(y, want));
    }
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

// y = op(a, b) for six element pairs, each written out by hand.
template <class T>
std::vector<T> binary_values(mln_device* device, mln_binary_op op, const std::vector<T>& as, const std::vector<T>& bs) {
    const auto n = static_cast<int64_t>(as.size());
    HostTensor<T> a({n});
    HostTensor<T> b({n});
    HostTensor<T> y({n});
    for (int64_t i = 0; i < n; ++i) {
        a.at(i) = as[static_cast<size_t>(i)];
        b.at(i) = bs[static_cast<size_t>(i)];
    }
    EXPECT_EQ(mln_binary(device, op, a.desc(), b.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    std::vector<T> result;
    for (int64_t i = 0; i < n; ++i) result.push_back(y.at(i));
    return result;
}

TEST_F(ElementwiseTest, RemaindersTakeTheDivisorsOrTheDividendsSign) {
    const std::vector<int32_t> a = {-4, 7, 5, 4, -7, 8, 9, std::numeric_limits<int32_t>::min()};
    const std::vector<int32_t> b = {2, -3, 8, -2, 3, 5, 0, -1};
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_MOD, a, b), (std::vector<int32_t>{0, -2, 5, 0, 2, 3, 0, 0}));
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_FMOD, a, b), (std::vector<int32_t>{0, 1, 5, 0, -1, 3, 0, 0}));
    const std::vector<int8_t> a8 = {-128, 127, -5, 5};
    const std::vector<int8_t> b8 = {3, -128, 3, -3};
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_MOD, a8, b8), (std::vector<int8_t>{1, -1, 1, -1}));
    const std::vector<double> af = {-4.3, 7.2, 5.0, 4.3, -7.2, 8.0};
    const std::vector<double> bf = {2.1, -3.4, 8.0, -2.1, 3.4, 5.0};
    const std::vector<double> fmods = binary_values(device_, MLN_BINARY_OP_FMOD, af, bf);
    for (size_t i = 0; i < af.size(); ++i) {
        const double quotient = std::trunc(af[i] / bf[i]);
        EXPECT_NEAR(fmods[i], af[i] - quotient * bf[i], 1e-12) << af[i] << " fmod " << bf[i];
    }
    HostTensor<double> x({2});
    HostTensor<double> y({2});
    EXPECT_EQ(mln_binary(device_, MLN_BINARY_OP_MOD, x.desc(), x.desc(), y.desc()), MLN_STATUS_NOT_SUPPORTED)
        << "mod with the divisor's sign is integer-only";
}

TEST_F(ElementwiseTest, SmallIntegersShiftsAndIntegerPow) {
    const std::vector<uint8_t> a = {250, 16, 4, 1, 200, 3};
    const std::vector<uint8_t> b = {10, 1, 2, 3, 8, 7};
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_ADD, a, b), (std::vector<uint8_t>{4, 17, 6, 4, 208, 10})) << "wraps";
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_SUB, a, b), (std::vector<uint8_t>{240, 15, 2, 254, 192, 252}));
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_DIV, a, b), (std::vector<uint8_t>{25, 16, 2, 0, 25, 0}));
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_SHIFT_LEFT, a, b), (std::vector<uint8_t>{0, 32, 16, 8, 0, 128}));
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_SHIFT_RIGHT, a, b), (std::vector<uint8_t>{0, 8, 1, 0, 0, 0}));
    const std::vector<int64_t> base = {1, 2, 3, -2, 5, -1, 2};
    const std::vector<int64_t> exponent = {4, 5, 6, 3, 0, -3, -1};
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_POW, base, exponent), (std::vector<int64_t>{1, 32, 729, -8, 1, -1, 0}));
    const std::vector<int8_t> small = {-7, 100, -128};
    const std::vector<int8_t> other = {3, -100, 127};
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_MAX, small, other), (std::vector<int8_t>{3, 100, 127}));
    EXPECT_EQ(binary_values(device_, MLN_BINARY_OP_MIN, small, other), (std::vector<int8_t>{-7, -100, -128}));
}

TEST_F(ElementwiseTest, HalfMaxMinAndFmod) {
    const double as[] = {1.5, -2.0, 65504.0, -0.25, NAN};
    const double bs[] = {-3.0, -1.0, 2.0, -0.5, 1.0};
    std::vector<kernels::Half> a, b;
    for (int i = 0; i < 5; ++i) {
        a.push_back(kernels::half_from_double(as[i]));
        b.push_back(kernels::half_from_double(bs[i]));
    }
    const auto max = binary_values(device_, MLN_BINARY_OP_MAX, a, b);
    const auto min = binary_values(device_, MLN_BINARY_OP_MIN, a, b);
    const auto fmod = binary_values(device_, MLN_BINARY_OP_FMOD, a, b);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(kernels::half_to_float(max[static_cast<size_t>(i)]), std::max(as[i], bs[i]));
        EXPECT_EQ(kernels::half_to_float(min[static_cast<size_t>(i)]), std::min(as[i], bs[i]));
        EXPECT_EQ(kernels::half_to_float(fmod[static_cast<size_t>(i)]), std::fmod(as[i], bs[i]));
    }
    EXPECT_TRUE(std::isnan(kernels::half_to_float(max[4])));
    EXPECT_TRUE(std::isnan(kernels::half_to_float(min[4])));
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
