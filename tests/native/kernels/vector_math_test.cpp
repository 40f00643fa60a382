// Accuracy of the vector float transcendentals at every vector ISA (AVX2, AVX-512): maximum
// ulp error against the double-precision std:: functions over a dense sweep of every finite
// float (every 61st bit pattern, both signs, denormals included), plus NaN/Inf/zero handling.
// The bound asserted is the one elementwise_vector.hpp states. Both ISAs run the same code
// (common/vector_math.hpp), so they must also agree bit for bit, erf's intervals and log's table
// excepted.
#include <gtest/gtest.h>
#include <myelin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <functional>
#include <vector>

#include "test_support.hpp"
#include "kernels/cpu/common/vector_math.hpp"
#include "kernels/cpu/elementwise/elementwise_vector.hpp"

namespace mln::test {
namespace {

using Kernel = std::function<void(const float*, float*, int64_t)>;

// The ISAs with vector kernels on this machine and build.
std::vector<mln_isa> vector_isas() {
    std::vector<mln_isa> isas;
    for (mln_isa isa : available_isas()) {
        if (kernels::vector_unary_f32(isa, MLN_UNARY_OP_EXP) != nullptr) isas.push_back(isa);
    }
    return isas;
}

// The unary kernel of op at isa, which for exp, log, tanh, sigmoid and erf is the bare
// transcendental.
Kernel vector_function(mln_isa isa, mln_unary_op op) {
    const kernels::UnaryKernelF32 kernel = kernels::vector_unary_f32(isa, op);
    return [kernel](const float* x, float* y, int64_t n) { kernel(0.0, 0.0, x, y, n, false); };
}

float from_bits(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return f;
}

// Error of `got` in units of the spacing of floats at the exact value `want`; an infinite
// result counts as 2^128 (one step past FLT_MAX).
double ulp_error(float got, double want) {
    if (std::isnan(want)) return std::isnan(got) ? 0.0 : std::numeric_limits<double>::infinity();
    if (std::isnan(got)) return std::numeric_limits<double>::infinity();
    // Exact values beyond the float rounding threshold round to infinity: count both as 2^128.
    const double g = std::isinf(got) ? std::copysign(0x1p128, static_cast<double>(got)) : got;
    const double w = std::fabs(want) >= 0x1p128 - 0x1p103 ? std::copysign(0x1p128, want) : want;
    if (g == w) return 0.0;
    const int exponent = std::max(std::ilogb(std::max(std::fabs(w), 0x1p-149)), -126);
    return std::fabs(g - w) / std::ldexp(1.0, exponent - 23);
}

struct Sweep {
    double max_ulp = 0.0;
    float worst_x = 0.0f;
};

template <class Exact>
Sweep sweep(const Kernel& kernel, Exact exact, bool positive_only, float lowest = -INFINITY) {
    constexpr uint32_t kStride = 61;
    constexpr size_t kBatch = 1 << 16;
    std::vector<float> x;
    std::vector<float> y(kBatch);
    x.reserve(kBatch);
    Sweep result;
    const auto flush = [&] {
        kernel(x.data(), y.data(), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < x.size(); ++i) {
            const double error = ulp_error(y[i], exact(static_cast<double>(x[i])));
            if (error > result.max_ulp) result.max_ulp = error, result.worst_x = x[i];
        }
        x.clear();
    };
    for (int sign = 0; sign < (positive_only ? 1 : 2); ++sign) {
        for (uint64_t bits = 0; bits < 0x7f800000u; bits += kStride) {
            const float v = from_bits(static_cast<uint32_t>(bits) | (sign != 0 ? 0x80000000u : 0u));
            if (v >= lowest) x.push_back(v);
            if (x.size() == kBatch) flush();
        }
        // The largest finite and smallest denormal, which the stride may step over.
        for (uint32_t bits : {0x7f7fffffu, 0x00000001u}) {
            const float v = from_bits(bits | (sign != 0 ? 0x80000000u : 0u));
            if (v >= lowest) x.push_back(v);
        }
    }
    flush();
    return result;
}

float apply(const Kernel& kernel, float x) {
    float y = 0.0f;
    kernel(&x, &y, 1);
    return y;
}

// One op against its exact function (NaN where undefined) and stated bound.
struct UlpCase {
    mln_unary_op op;
    const char* name;
    double (*exact)(double);
    double bound;
};

// The op's kernel at isa, after its sweep of both signs is checked against the bound.
Kernel expect_sweep_within_bound(mln_isa isa, const UlpCase& c) {
    const Kernel f = vector_function(isa, c.op);
    const Sweep s = sweep(f, c.exact, false);
    std::printf("%s at isa %d: max %.3f ulp at x = %.9g\n", c.name, static_cast<int>(isa), s.max_ulp, s.worst_x);
    EXPECT_LE(s.max_ulp, c.bound) << c.name << " at isa " << isa << ", worst x " << s.worst_x;
    return f;
}

class VectorMathTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (vector_isas().empty()) GTEST_SKIP() << "no vector ISA on this machine or build";
    }
};

TEST_F(VectorMathTest, ExpWithinStatedUlp) {
    for (mln_isa isa : vector_isas()) {
        const Kernel f = vector_function(isa, MLN_UNARY_OP_EXP);
        const Sweep s = sweep(f, [](double x) { return std::exp(x); }, false);
        std::printf("exp at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        EXPECT_LE(s.max_ulp, kernels::kExpMaxUlp) << "isa " << isa << ", worst x " << s.worst_x;
        EXPECT_EQ(apply(f, -INFINITY), 0.0f);
        EXPECT_EQ(apply(f, INFINITY), INFINITY);
        EXPECT_EQ(apply(f, 100.0f), INFINITY);
        EXPECT_EQ(apply(f, -200.0f), 0.0f);
        EXPECT_EQ(apply(f, 0.0f), 1.0f);
        EXPECT_TRUE(std::isnan(apply(f, NAN)));
    }
}

// AVX2's exp takes a shorter path where every lane of a vector is within [-87, 87]
// (vmath::exp_of_normal): each x there must give the bits it gives in a vector that one lane
// beyond the range sends through the full scaling. Each group of 16 has its lanes 7 and 15 set
// to 100 (beyond 87 for exp, -100 as sigmoid's and softplus's -|x|), so every vector of 8 or
// 16 lanes holds one.
TEST_F(VectorMathTest, ExpNormalPathGivesTheFullScalingsBits) {
    std::vector<float> x;
    for (float v = -87.0f; v <= 87.0f; v += 0.00731f) x.push_back(v);
    x.resize(x.size() / 16 * 16);
    std::vector<float> beyond = x;
    for (size_t i = 0; i < beyond.size(); i += 16) beyond[i + 7] = beyond[i + 15] = 100.0f;
    for (mln_isa isa : vector_isas()) {
        for (mln_unary_op op : {MLN_UNARY_OP_EXP, MLN_UNARY_OP_SIGMOID, MLN_UNARY_OP_SOFTPLUS}) {
            const Kernel f = vector_function(isa, op);
            std::vector<float> normal_path(x.size()), full_path(x.size());
            f(x.data(), normal_path.data(), static_cast<int64_t>(x.size()));
            f(beyond.data(), full_path.data(), static_cast<int64_t>(x.size()));
            for (size_t i = 0; i < x.size(); ++i) {
                if (i % 8 == 7) continue;
                ASSERT_EQ(std::memcmp(&normal_path[i], &full_path[i], sizeof(float)), 0)
                    << "isa " << isa << ", op " << op << ", x " << x[i];
            }
        }
    }
}

TEST_F(VectorMathTest, LogWithinStatedUlp) {
    for (mln_isa isa : vector_isas()) {
        const Kernel f = vector_function(isa, MLN_UNARY_OP_LOG);
        const Sweep s = sweep(f, [](double x) { return std::log(x); }, true);
        std::printf("log at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        EXPECT_LE(s.max_ulp, kernels::kLogMaxUlp) << "isa " << isa << ", worst x " << s.worst_x;
        EXPECT_EQ(apply(f, 0.0f), -INFINITY);
        EXPECT_EQ(apply(f, -0.0f), -INFINITY);
        EXPECT_EQ(apply(f, INFINITY), INFINITY);
        EXPECT_EQ(apply(f, 1.0f), 0.0f);
        EXPECT_TRUE(std::isnan(apply(f, -1.0f)));
        EXPECT_TRUE(std::isnan(apply(f, -INFINITY)));
        EXPECT_TRUE(std::isnan(apply(f, NAN)));
    }
}

TEST_F(VectorMathTest, TanhWithinStatedUlp) {
    for (mln_isa isa : vector_isas()) {
        const Kernel f = vector_function(isa, MLN_UNARY_OP_TANH);
        const Sweep s = sweep(f, [](double x) { return std::tanh(x); }, false);
        std::printf("tanh at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        const double bound = isa == MLN_ISA_AVX512 ? kernels::kTanhIntervalsMaxUlp : kernels::kTanhMaxUlp;
        EXPECT_LE(s.max_ulp, bound) << "isa " << isa << ", worst x " << s.worst_x;
        EXPECT_EQ(apply(f, INFINITY), 1.0f);
        EXPECT_EQ(apply(f, -INFINITY), -1.0f);
        EXPECT_TRUE(std::signbit(apply(f, -0.0f)));
        EXPECT_TRUE(std::isnan(apply(f, NAN)));
    }
}

TEST_F(VectorMathTest, SigmoidWithinStatedUlp) {
    for (mln_isa isa : vector_isas()) {
        const Kernel f = vector_function(isa, MLN_UNARY_OP_SIGMOID);
        const Sweep s = sweep(f, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, false);
        std::printf("sigmoid at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        EXPECT_LE(s.max_ulp, kernels::kSigmoidMaxUlp) << "isa " << isa << ", worst x " << s.worst_x;
        EXPECT_EQ(apply(f, INFINITY), 1.0f);
        EXPECT_EQ(apply(f, -INFINITY), 0.0f);
        EXPECT_EQ(apply(f, 0.0f), 0.5f);
        EXPECT_TRUE(std::isnan(apply(f, NAN)));
    }
}

TEST_F(VectorMathTest, ErfWithinStatedUlp) {
    for (mln_isa isa : vector_isas()) {
        const Kernel f = vector_function(isa, MLN_UNARY_OP_ERF);
        const Sweep s = sweep(f, [](double x) { return std::erf(x); }, false);
        std::printf("erf at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        EXPECT_LE(s.max_ulp, kernels::kErfMaxUlp) << "isa " << isa << ", worst x " << s.worst_x;
        EXPECT_EQ(apply(f, INFINITY), 1.0f);
        EXPECT_EQ(apply(f, -INFINITY), -1.0f);
        EXPECT_TRUE(std::signbit(apply(f, -0.0f)));
        EXPECT_TRUE(std::isnan(apply(f, NAN)));
    }
}


TEST_F(VectorMathTest, Expm1WithinStatedUlp) {
    for (mln_isa isa : vector_isas()) {
        const Kernel f = vector_function(isa, MLN_UNARY_OP_EXPM1);
        const Sweep s = sweep(f, [](double x) { return std::expm1(x); }, false);
        std::printf("expm1 at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        EXPECT_LE(s.max_ulp, kernels::kExpm1MaxUlp) << "isa " << isa << ", worst x " << s.worst_x;
        EXPECT_EQ(apply(f, -INFINITY), -1.0f);
        EXPECT_EQ(apply(f, INFINITY), INFINITY);
        EXPECT_TRUE(std::signbit(apply(f, -0.0f)));
        EXPECT_TRUE(std::isnan(apply(f, NAN)));
    }
}

TEST_F(VectorMathTest, Log1pWithinStatedUlp) {
    for (mln_isa isa : vector_isas()) {
        const Kernel f = vector_function(isa, MLN_UNARY_OP_LOG1P);
        // Every float from -1 up (both signs of the sweep; below -1 the result is NaN).
        const Sweep s = sweep(f, [](double x) { return x < -1 ? std::nan("") : std::log1p(x); }, false);
        std::printf("log1p at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        EXPECT_LE(s.max_ulp, kernels::kLog1pMaxUlp) << "isa " << isa << ", worst x " << s.worst_x;
        EXPECT_EQ(apply(f, -1.0f), -INFINITY);
        EXPECT_EQ(apply(f, INFINITY), INFINITY);
        EXPECT_TRUE(std::signbit(apply(f, -0.0f)));
        EXPECT_TRUE(std::isnan(apply(f, -2.0f)));
        EXPECT_TRUE(std::isnan(apply(f, NAN)));
    }
}

// Softplus is exp and log1p_of_fraction (log(1 + n) for n = e^-|x| in [0, 1]), not log1p; at
// AVX-512 within [-7.75, 7.75] a table of intervals (vmath::SoftplusIntervals).
TEST_F(VectorMathTest, SoftplusWithinStatedUlp) {
    for (mln_isa isa : vector_isas()) {
        const Kernel f = vector_function(isa, MLN_UNARY_OP_SOFTPLUS);
        const auto exact = [](double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); };
        const Sweep s = sweep(f, exact, false);
        std::printf("softplus at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        EXPECT_LE(s.max_ulp, kernels::kSoftplusMaxUlp) << "isa " << isa << ", worst x " << s.worst_x;
        EXPECT_EQ(apply(f, INFINITY), INFINITY);
        EXPECT_EQ(apply(f, -INFINITY), 0.0f);
        EXPECT_EQ(apply(f, 0.0f), static_cast<float>(std::log(2.0)));
        EXPECT_TRUE(std::isnan(apply(f, NAN)));
    }
}

// GELU and its derivative at AVX-512 come straight from tables of intervals (vmath::GeluIntervals,
// vmath::GeluDerivativeIntervals); AVX2's erf form (1 + erf) loses relative accuracy for x < 0
// and is checked against the reference in elementwise_test.cpp only. Below x = -3 GELU's result,
// and below 0 the derivative's, are checked in absolute terms.
TEST_F(VectorMathTest, GeluAndItsDerivativeFromIntervalsWithinStatedError) {
    for (mln_isa isa : vector_isas()) {
        if (isa != MLN_ISA_AVX512) continue;
        const Kernel gelu = vector_function(isa, MLN_UNARY_OP_GELU);
        const auto exact = [](double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); };
        const Sweep s = sweep(gelu, exact, false, -3.0f);
        std::printf("gelu at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        EXPECT_LE(s.max_ulp, 2.0) << "worst x " << s.worst_x;
        const kernels::UnaryBackwardKernelF32 backward = kernels::vector_unary_backward_f32(isa, MLN_UNARY_OP_GELU);
        const Kernel derivative = [backward](const float* x, float* y, int64_t n) {
            const std::vector<float> ones(static_cast<size_t>(n), 1.0f);
            backward(0.0, 0.0, x, false, ones.data(), y, n, false);
        };
        const auto exact_derivative = [](double x) {
            return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * 0.39894228040143267794 * std::exp(-0.5 * x * x);
        };
        const Sweep d = sweep(derivative, exact_derivative, true);
        std::printf("gelu derivative at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), d.max_ulp, d.worst_x);
        EXPECT_LE(d.max_ulp, 1.5) << "worst x " << d.worst_x;
        std::vector<float> x;
        for (float v = -12.0f; v < 0.0f; v += 0.000731f) x.push_back(v);
        std::vector<float> y(x.size()), dy(x.size());
        gelu(x.data(), y.data(), static_cast<int64_t>(x.size()));
        derivative(x.data(), dy.data(), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < x.size(); ++i) {
            if (x[i] < -3.0f) {
                ASSERT_NEAR(y[i], exact(x[i]), 1.2e-8) << x[i];
            }
            ASSERT_NEAR(dy[i], exact_derivative(x[i]), 3e-8) << x[i];
        }
        EXPECT_EQ(apply(gelu, INFINITY), INFINITY);
        EXPECT_TRUE(std::signbit(apply(gelu, -0.0f)));
        EXPECT_TRUE(std::isnan(apply(gelu, NAN)));
    }
}

// GELU's tanh form as x / (1 + e^-2u) (VecGeluTanh). For x < -1 the rounding of 2u in float,
// multiplied by |2u| in e^-2u, dominates: 2.33 (|2u| + 1) ulp measured down to x = -10 (194 ulp
// there; the tanh form before it lost every digit by x = -6). Below x = -10.06 e^-2u overflows
// and the result is -0, where the exact one lies in (-3e-38, 0).
TEST_F(VectorMathTest, GeluTanhWithinStatedUlp) {
    for (mln_isa isa : vector_isas()) {
        const Kernel f = vector_function(isa, MLN_UNARY_OP_GELU_TANH);
        const auto twice_inner = [](double x) { return 2 * std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x); };
        // 0.5 x (1 + tanh(u)) as x / (1 + e^-2u): 1 + tanh(u) loses its digits in double too for x < -7.
        const auto exact = [&](double x) { return x / (1 + std::exp(-twice_inner(x))); };
        const Sweep s = sweep(f, exact, false, -1.0f);
        std::printf("gelu_tanh at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        EXPECT_LE(s.max_ulp, kernels::kGeluTanhMaxUlp) << "isa " << isa << ", worst x " << s.worst_x;
        for (float x = -10.0f; x < -1.0f; x += 0.00073f) {
            EXPECT_LE(ulp_error(apply(f, x), exact(x)), kernels::kGeluTanhPerTwiceInnerMaxUlp * (std::fabs(twice_inner(x)) + 1)) << x;
        }
        for (float x = -20.0f; x < -10.0f; x += 0.01f) EXPECT_NEAR(apply(f, x), exact(x), 3e-38) << x;
        EXPECT_EQ(apply(f, INFINITY), INFINITY);
        EXPECT_TRUE(std::isnan(apply(f, -INFINITY)));  // as the scalar op's -inf (1 + tanh(-inf))
        EXPECT_TRUE(std::signbit(apply(f, -0.0f)));
        EXPECT_TRUE(std::signbit(apply(f, -1e30f)));
        EXPECT_TRUE(std::isnan(apply(f, NAN)));
    }
}

// Mish's vector form is not composed from the functions above (one exp, see VecMish). Below
// x = -87 its result is denormal (e^x is denormal first), where the absolute error stays below
// 1e-42.
TEST_F(VectorMathTest, MishWithinStatedUlp) {
    for (mln_isa isa : vector_isas()) {
        const Kernel f = vector_function(isa, MLN_UNARY_OP_MISH);
        const auto exact = [](double x) { return x * std::tanh(std::log1p(std::exp(x))); };
        const Sweep s = sweep(f, exact, false, -87.0f);
        std::printf("mish at isa %d: max %.3f ulp at x = %.9g\n", static_cast<int>(isa), s.max_ulp, s.worst_x);
        EXPECT_LE(s.max_ulp, kernels::kMishMaxUlp) << "isa " << isa << ", worst x " << s.worst_x;
        for (float x = -104.0f; x < -87.0f; x += 0.01f) EXPECT_NEAR(apply(f, x), exact(x), 1e-42) << x;
    }
}

// sin, cos and tan reduce by pi/2 in three parts within |x| <= vmath::kTrigLimit and take the
// scalar std:: functions beyond (and for NaN and infinities): the sweep covers both.
TEST_F(VectorMathTest, SinCosTanWithinStatedUlp) {
    const UlpCase cases[] = {
        {MLN_UNARY_OP_SIN, "sin", [](double x) { return std::sin(x); }, kernels::kSinMaxUlp},
        {MLN_UNARY_OP_COS, "cos", [](double x) { return std::cos(x); }, kernels::kCosMaxUlp},
        {MLN_UNARY_OP_TAN, "tan", [](double x) { return std::tan(x); }, kernels::kTanMaxUlp},
    };
    for (mln_isa isa : vector_isas()) {
        for (const UlpCase& c : cases) {
            const Kernel f = expect_sweep_within_bound(isa, c);
            // Every float of [kTrigLimit / 2, kTrigLimit], where the reduction's error is largest.
            std::vector<float> x;
            for (float v = kernels::vmath::kTrigLimit / 2; v <= kernels::vmath::kTrigLimit; v = std::nextafter(v, INFINITY)) {
                x.push_back(v);
            }
            std::vector<float> y(x.size());
            f(x.data(), y.data(), static_cast<int64_t>(x.size()));
            for (size_t i = 0; i < x.size(); ++i) {
                ASSERT_LE(ulp_error(y[i], c.exact(x[i])), c.bound) << c.name << " isa " << isa << " at " << x[i];
            }
            for (float v : {INFINITY, -INFINITY, NAN}) EXPECT_TRUE(std::isnan(apply(f, v))) << c.name << " at " << v;
        }
        const Kernel sin = vector_function(isa, MLN_UNARY_OP_SIN);
        const Kernel cos = vector_function(isa, MLN_UNARY_OP_COS);
        const Kernel tan = vector_function(isa, MLN_UNARY_OP_TAN);
        EXPECT_TRUE(std::signbit(apply(sin, -0.0f)));
        EXPECT_TRUE(std::signbit(apply(tan, -0.0f)));
        EXPECT_EQ(apply(sin, 1e-40f), 1e-40f);
        EXPECT_EQ(apply(tan, -1e-40f), -1e-40f);
        EXPECT_EQ(apply(cos, -0.0f), 1.0f);
        EXPECT_EQ(apply(cos, 1e-40f), 1.0f);
    }
}

// Lanes beyond vmath::kTrigLimit take the scalar op's own function (the very bits of std::sin in
// float), and leave the other lanes of their vector with the bits they have alone.
TEST_F(VectorMathTest, TrigBeyondLimitTakesTheScalarFunctionsLaneByLane) {
    std::vector<float> x;
    for (float v = -20.0f; v <= 20.0f; v += 0.00731f) x.push_back(v);
    x.resize(x.size() / 16 * 16);
    std::vector<float> beyond = x;
    for (size_t i = 0; i < beyond.size(); i += 16) {
        beyond[i + 3] = 1e5f + static_cast<float>(i);
        beyond[i + 12] = -3e9f - static_cast<float>(i);
        beyond[i + 13] = i % 32 == 0 ? NAN : -INFINITY;
    }
    for (mln_isa isa : vector_isas()) {
        for (mln_unary_op op : {MLN_UNARY_OP_SIN, MLN_UNARY_OP_COS, MLN_UNARY_OP_TAN}) {
            const Kernel f = vector_function(isa, op);
            std::vector<float> alone(x.size()), mixed(x.size());
            f(x.data(), alone.data(), static_cast<int64_t>(x.size()));
            f(beyond.data(), mixed.data(), static_cast<int64_t>(x.size()));
            for (size_t i = 0; i < x.size(); ++i) {
                const float v = beyond[i];
                const float scalar = op == MLN_UNARY_OP_SIN ? std::sin(v) : op == MLN_UNARY_OP_COS ? std::cos(v) : std::tan(v);
                const float want = i % 16 == 3 || i % 16 == 12 || i % 16 == 13 ? scalar : alone[i];
                if (std::isnan(want)) {
                    ASSERT_TRUE(std::isnan(mixed[i])) << "isa " << isa << ", op " << op << ", x " << v;
                } else {
                    ASSERT_EQ(std::memcmp(&mixed[i], &want, sizeof(float)), 0) << "isa " << isa << ", op " << op << ", x " << v;
                }
            }
        }
    }
}

TEST_F(VectorMathTest, AsinAcosAtanWithinStatedUlp) {
    // The whole range: NaN (counted exact) for |x| > 1 at asin and acos.
    const UlpCase cases[] = {
        {MLN_UNARY_OP_ASIN, "asin", [](double x) { return std::asin(x); }, kernels::kAsinMaxUlp},
        {MLN_UNARY_OP_ACOS, "acos", [](double x) { return std::acos(x); }, kernels::kAcosMaxUlp},
        {MLN_UNARY_OP_ATAN, "atan", [](double x) { return std::atan(x); }, kernels::kAtanMaxUlp},
    };
    for (mln_isa isa : vector_isas()) {
        for (const UlpCase& c : cases) {
            const Kernel f = expect_sweep_within_bound(isa, c);
            EXPECT_TRUE(std::isnan(apply(f, NAN))) << c.name;
        }
        const Kernel asin = vector_function(isa, MLN_UNARY_OP_ASIN);
        const Kernel acos = vector_function(isa, MLN_UNARY_OP_ACOS);
        const Kernel atan = vector_function(isa, MLN_UNARY_OP_ATAN);
        for (float v : {1.0000001f, -1.0000001f, 2.0f, INFINITY, -INFINITY}) {
            EXPECT_TRUE(std::isnan(apply(asin, v))) << v;
            EXPECT_TRUE(std::isnan(apply(acos, v))) << v;
        }
        EXPECT_TRUE(std::signbit(apply(asin, -0.0f)));
        EXPECT_TRUE(std::signbit(apply(atan, -0.0f)));
        EXPECT_EQ(apply(asin, -1e-40f), -1e-40f);
        EXPECT_EQ(apply(atan, 1e-40f), 1e-40f);
        EXPECT_EQ(apply(asin, 1.0f), static_cast<float>(M_PI / 2));
        EXPECT_EQ(apply(acos, 1.0f), 0.0f);
        EXPECT_EQ(apply(acos, -1.0f), static_cast<float>(M_PI));
        EXPECT_EQ(apply(acos, -0.0f), static_cast<float>(M_PI / 2));
        EXPECT_EQ(apply(atan, INFINITY), static_cast<float>(M_PI / 2));
        EXPECT_EQ(apply(atan, -INFINITY), static_cast<float>(-M_PI / 2));
    }
}

// The hyperbolic functions and their inverses (vmath::sinh ...), over every 61st float of both
// signs (acosh and atanh NaN outside their domains), with the overflow edges of sinh and cosh
// (finite up to 89.4159, where e^x overflows beyond 88.72) and the branch points of each form.
TEST_F(VectorMathTest, HyperbolicFunctionsWithinStatedUlp) {
    const UlpCase cases[] = {
        {MLN_UNARY_OP_SINH, "sinh", [](double x) { return std::sinh(x); }, kernels::kSinhMaxUlp},
        {MLN_UNARY_OP_COSH, "cosh", [](double x) { return std::cosh(x); }, kernels::kCoshMaxUlp},
        {MLN_UNARY_OP_ASINH, "asinh", [](double x) { return std::asinh(x); }, kernels::kAsinhMaxUlp},
        {MLN_UNARY_OP_ACOSH, "acosh", [](double x) { return x < 1 ? std::nan("") : std::acosh(x); }, kernels::kAcoshMaxUlp},
        {MLN_UNARY_OP_ATANH, "atanh", [](double x) { return std::fabs(x) > 1 ? std::nan("") : std::atanh(x); },
         kernels::kAtanhMaxUlp},
    };
    std::vector<float> edges;
    for (float v : {1.0f, 4096.0f, 87.0f, 88.72f, 89.41f, 89.42f, 89.5f, 1.0f - 0x1p-24f, 1.0f + 0x1p-23f}) {
        // The 1024 floats either side of v, both signs.
        float w = v;
        for (int k = 0; k < 1024; ++k) w = std::nextafter(w, 0.0f);
        for (int k = 0; k < 2048; ++k, w = std::nextafter(w, INFINITY)) edges.push_back(w), edges.push_back(-w);
    }
    for (float v = 85.0f; v < 90.0f; v += 0.000731f) edges.push_back(v), edges.push_back(-v);
    for (mln_isa isa : vector_isas()) {
        for (const UlpCase& c : cases) {
            const Kernel f = expect_sweep_within_bound(isa, c);
            std::vector<float> y(edges.size());
            f(edges.data(), y.data(), static_cast<int64_t>(edges.size()));
            double edge_max = 0.0;
            for (size_t i = 0; i < edges.size(); ++i) {
                const double error = ulp_error(y[i], c.exact(edges[i]));
                EXPECT_LE(error, c.bound) << c.name << " at isa " << isa << ", x " << edges[i];
                edge_max = std::max(edge_max, error);
            }
            std::printf("%s at isa %d: max %.3f ulp at the edges\n", c.name, static_cast<int>(isa), edge_max);
            EXPECT_TRUE(std::isnan(apply(f, NAN))) << c.name;
        }
        const Kernel sinh = vector_function(isa, MLN_UNARY_OP_SINH);
        EXPECT_EQ(apply(sinh, INFINITY), INFINITY);
        EXPECT_EQ(apply(sinh, -INFINITY), -INFINITY);
        EXPECT_EQ(apply(sinh, 89.5f), INFINITY);
        EXPECT_TRUE(std::signbit(apply(sinh, -0.0f)));
        const Kernel cosh = vector_function(isa, MLN_UNARY_OP_COSH);
        EXPECT_EQ(apply(cosh, INFINITY), INFINITY);
        EXPECT_EQ(apply(cosh, -INFINITY), INFINITY);
        EXPECT_EQ(apply(cosh, -89.5f), INFINITY);
        EXPECT_EQ(apply(cosh, -0.0f), 1.0f);
        const Kernel asinh = vector_function(isa, MLN_UNARY_OP_ASINH);
        EXPECT_EQ(apply(asinh, INFINITY), INFINITY);
        EXPECT_EQ(apply(asinh, -INFINITY), -INFINITY);
        EXPECT_TRUE(std::signbit(apply(asinh, -0.0f)));
        const Kernel acosh = vector_function(isa, MLN_UNARY_OP_ACOSH);
        EXPECT_EQ(apply(acosh, 1.0f), 0.0f);
        EXPECT_FALSE(std::signbit(apply(acosh, 1.0f)));
        EXPECT_EQ(apply(acosh, INFINITY), INFINITY);
        for (float v : {0.999f, 0.0f, -0.0f, -1.0f, -3.0f, -1e30f, -INFINITY}) EXPECT_TRUE(std::isnan(apply(acosh, v))) << v;
        const Kernel atanh = vector_function(isa, MLN_UNARY_OP_ATANH);
        EXPECT_EQ(apply(atanh, 1.0f), INFINITY);
        EXPECT_EQ(apply(atanh, -1.0f), -INFINITY);
        EXPECT_TRUE(std::signbit(apply(atanh, -0.0f)));
        for (float v : {1.0f + 0x1p-23f, -1.5f, 2.0f, 1e30f, INFINITY, -INFINITY}) EXPECT_TRUE(std::isnan(apply(atanh, v))) << v;
    }
}

// The vector ISAs run one template over different widths: every unary vector kernel must give
// the same bits at each, whatever the run length (tails go through padded copies). The
// exceptions: erf (AVX2 evaluates erf on 8 intervals, AVX-512 on 32: vmath::ErfIntervals), GELU
// (AVX-512 by its own intervals: vmath::GeluIntervals), log and log1p (AVX-512 by a table of
// intervals: vmath::log_interval), tanh (AVX-512 by intervals: vmath::TanhIntervals), softplus
// (AVX-512 by intervals within [-7.75, 7.75]: vmath::SoftplusIntervals), asinh, acosh and atanh
// (log1p's table at AVX-512), each ISA checked against the stated bounds above and GELU against
// its double reference (elementwise_test.cpp).
TEST_F(VectorMathTest, VectorIsasAgreeBitForBit) {
    const std::vector<mln_isa> isas = vector_isas();
    std::vector<float> x;
    for (uint32_t bits = 0; bits < 0xff800000u; bits += 999983u) x.push_back(from_bits(bits));
    for (float v : {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, -1e-45f, 88.7f, -103.9f, 0.625f, 0.875f, 4.0f}) {
        x.push_back(v);
    }
    // Where exp's result is denormal or overflows (the ISAs scale by 2^n differently).
    for (float v = -105.0f; v < -85.0f; v += 0.0137f) x.push_back(v);
    for (float v = 87.0f; v < 90.0f; v += 0.0137f) x.push_back(v);
    const auto n = static_cast<int64_t>(x.size());
    for (int op = MLN_UNARY_OP_IDENTITY; op <= MLN_UNARY_OP_THRESHOLDED_RELU; ++op) {
        const auto code = static_cast<mln_unary_op>(op);
        if (code == MLN_UNARY_OP_ERF || code == MLN_UNARY_OP_GELU || code == MLN_UNARY_OP_LOG ||
            code == MLN_UNARY_OP_LOG1P || code == MLN_UNARY_OP_TANH ||
            code == MLN_UNARY_OP_SOFTPLUS || code == MLN_UNARY_OP_ASINH || code == MLN_UNARY_OP_ACOSH ||
            code == MLN_UNARY_OP_ATANH) {
            continue;
        }
        std::vector<std::vector<float>> results;
        for (mln_isa isa : isas) {
            const kernels::UnaryKernelF32 kernel = kernels::vector_unary_f32(isa, code);
            if (kernel == nullptr) continue;
            std::vector<float> y(x.size());
            kernel(0.3, 0.4, x.data(), y.data(), n, false);
            results.push_back(std::move(y));
        }
        for (size_t k = 1; k < results.size(); ++k) {
            EXPECT_EQ(std::memcmp(results[0].data(), results[k].data(), x.size() * sizeof(float)), 0) << "op " << op;
        }
    }
}

// pow (VecPow, binary): x^y in double rounded once. Where the exact result is a normal float,
// within kPowMaxUlp of std::pow in double over a sweep of x with exponents that ONNX models use
// (2, 0.5, 3, ...) and others, y a vector and a broadcast scalar, x of both signs; denormal
// results within half the smallest denormal plus a tiny error. The special cases of C's pow
// (zeros, x or y not finite, x < 0 with y not an integer: NaN) are std::pow's. Both ISAs give
// the same bits.
std::vector<float> pow_kernel(mln_isa isa, const std::vector<float>& a, const std::vector<float>& b) {
    const kernels::BinaryKernel<float> kernel = kernels::vector_binary_f32(isa, MLN_BINARY_OP_POW);
    std::vector<float> y(a.size());
    const bool scalar_b = b.size() == 1;
    kernel(a.data(), 1, b.data(), scalar_b ? 0 : 1, y.data(), static_cast<int64_t>(a.size()), false);
    return y;
}

TEST_F(VectorMathTest, PowWithinStatedUlp) {
    std::vector<float> x;
    for (uint32_t bits = 0x00000001u; bits < 0x7f800000u; bits += 16411u) x.push_back(from_bits(bits));
    for (float v : {1.0f, 0x1.000002p0f, 0x1.fffffep-1f, 2.0f, 0x1p-149f, 0x1p-126f, 0x1.fffffep127f}) x.push_back(v);
    // x < 0: the same magnitudes with y's parity as sign (NaN for y not an integer).
    for (size_t i = 0, n = x.size(); i < n; i += 3) x.push_back(-x[i]);
    const std::vector<float> exponents = {2.0f, 0.5f, 3.0f, -1.0f, -2.0f, -0.5f, 1.0f / 3.0f, 1.0f, 0.0f, -0.0f, 1.5f,
                                          4.0f, 7.0f, -3.25f, 0.123456f, 100.7f, -37.3f, 1e6f, -1e6f, 3e9f, 1e-7f};
    std::vector<std::vector<float>> results;
    for (mln_isa isa : vector_isas()) {
        double max_ulp = 0.0;
        float worst_x = 0.0f, worst_y = 0.0f;
        size_t differ_from_powf = 0, compared = 0;
        std::vector<float> all;
        for (float e : exponents) {
            const std::vector<float> vector_y(x.size(), e);
            for (const auto& y : {pow_kernel(isa, x, {e}), pow_kernel(isa, x, vector_y)}) {
                for (size_t i = 0; i < x.size(); ++i) {
                    const double want = std::pow(static_cast<double>(x[i]), static_cast<double>(e));
                    if (std::isnan(want)) {
                        EXPECT_TRUE(std::isnan(y[i])) << "x " << x[i] << ", y " << e;
                        continue;
                    }
                    if (std::fabs(want) < 0x1p-126) {
                        EXPECT_NEAR(y[i], want, 0x1p-150 * (1 + 1e-6)) << "x " << x[i] << ", y " << e;
                        continue;
                    }
                    const double error = ulp_error(y[i], want);
                    if (error > max_ulp) max_ulp = error, worst_x = x[i], worst_y = e;
                    ++compared;
                    if (y[i] != std::pow(x[i], e)) ++differ_from_powf;
                }
                all.insert(all.end(), y.begin(), y.end());
            }
        }
        std::printf("pow at isa %d: max %.6f ulp at x = %.9g, y = %.9g; %zu of %zu differ from std::pow(float)\n",
                    static_cast<int>(isa), max_ulp, worst_x, worst_y, differ_from_powf, compared);
        EXPECT_LE(max_ulp, kernels::kPowMaxUlp) << "isa " << isa << ", worst x " << worst_x << ", y " << worst_y;
        results.push_back(std::move(all));
    }
    for (size_t k = 1; k < results.size(); ++k) {
        EXPECT_EQ(std::memcmp(results[0].data(), results[k].data(), results[0].size() * sizeof(float)), 0);
    }
}

TEST_F(VectorMathTest, PowSpecialCasesAreStdPows) {
    const float values[] = {0.0f, -0.0f, 1.0f, -1.0f, INFINITY, -INFINITY, NAN, -NAN, 2.0f, -2.0f, 0.5f, -0.5f,
                            3.0f, -3.0f, 2.5f, -2.5f, 1e-45f, -1e-45f, 0x1.fffffep127f, -0x1.fffffep127f, 1e30f, -1e30f,
                            0x1p24f, -0x1p24f, 0x1.000002p24f, 1.0f / 3.0f, -7.0f, 0x1.000002p0f, 0x1.fffffep-1f};
    std::vector<float> a, b;
    for (float x : values) {
        for (float y : values) a.push_back(x), b.push_back(y);
    }
    for (mln_isa isa : vector_isas()) {
        const std::vector<float> got = pow_kernel(isa, a, b);
        for (size_t i = 0; i < a.size(); ++i) {
            const float want = std::pow(a[i], b[i]);
            if (a[i] != 0.0f && std::isfinite(a[i]) && std::isfinite(b[i]) && !std::isnan(want)) {
                EXPECT_LE(ulp_error(got[i], std::pow(static_cast<double>(a[i]), static_cast<double>(b[i]))), kernels::kPowMaxUlp)
                    << "isa " << isa << ", x " << a[i] << ", y " << b[i];
            } else {
                EXPECT_TRUE(std::memcmp(&got[i], &want, sizeof(float)) == 0 || (std::isnan(got[i]) && std::isnan(want)))
                    << "isa " << isa << ", x " << a[i] << ", y " << b[i] << ": " << got[i] << ", want " << want;
            }
        }
        // A run's every start and length (tails through padded copies) gives the full run's bits.
        for (size_t begin = 0; begin < 40; ++begin) {
            for (size_t count = 1; begin + count <= 80; count += 7) {
                const std::vector<float> part = pow_kernel(isa, std::vector<float>(a.begin() + begin, a.begin() + begin + count),
                                                           std::vector<float>(b.begin() + begin, b.begin() + begin + count));
                EXPECT_EQ(std::memcmp(part.data(), got.data() + begin, count * sizeof(float)), 0) << begin << " " << count;
            }
        }
    }
}

}  // namespace
}  // namespace mln::test
