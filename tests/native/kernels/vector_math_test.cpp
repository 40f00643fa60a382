// Accuracy of the AVX2 float transcendentals: maximum ulp error against the double-precision
// std:: functions over a dense sweep of every finite float (every 61st bit pattern, both
// signs, denormals included), plus NaN/Inf/zero handling. The bound asserted is the one
// elementwise_avx2.hpp states.
#include <gtest/gtest.h>
#include <myelin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "test_support.hpp"
#include "kernels/cpu/elementwise/elementwise_avx2.hpp"

namespace mln::test {
namespace {

bool have_avx2() {
    for (mln_isa isa : available_isas()) {
        if (isa == MLN_ISA_AVX2) return true;
    }
    return false;
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
Sweep sweep(void (*kernel)(const float*, float*, int64_t), Exact exact, bool positive_only) {
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
            x.push_back(from_bits(static_cast<uint32_t>(bits) | (sign != 0 ? 0x80000000u : 0u)));
            if (x.size() == kBatch) flush();
        }
        // The largest finite and smallest denormal, which the stride may step over.
        x.push_back(from_bits(0x7f7fffffu | (sign != 0 ? 0x80000000u : 0u)));
        x.push_back(from_bits(0x00000001u | (sign != 0 ? 0x80000000u : 0u)));
    }
    flush();
    return result;
}

float apply(void (*kernel)(const float*, float*, int64_t), float x) {
    float y = 0.0f;
    kernel(&x, &y, 1);
    return y;
}

class VectorMathTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have_avx2()) GTEST_SKIP() << "no AVX2 on this machine or build";
    }
};

TEST_F(VectorMathTest, ExpWithinStatedUlp) {
    const Sweep s = sweep(kernels::exp_avx2_f32, [](double x) { return std::exp(x); }, false);
    std::printf("exp_avx2: max %.3f ulp at x = %.9g\n", s.max_ulp, s.worst_x);
    EXPECT_LE(s.max_ulp, kernels::kExpAvx2MaxUlp) << "worst x " << s.worst_x;
    EXPECT_EQ(apply(kernels::exp_avx2_f32, -INFINITY), 0.0f);
    EXPECT_EQ(apply(kernels::exp_avx2_f32, INFINITY), INFINITY);
    EXPECT_EQ(apply(kernels::exp_avx2_f32, 100.0f), INFINITY);
    EXPECT_EQ(apply(kernels::exp_avx2_f32, -200.0f), 0.0f);
    EXPECT_EQ(apply(kernels::exp_avx2_f32, 0.0f), 1.0f);
    EXPECT_TRUE(std::isnan(apply(kernels::exp_avx2_f32, NAN)));
}

TEST_F(VectorMathTest, LogWithinStatedUlp) {
    const Sweep s = sweep(kernels::log_avx2_f32, [](double x) { return std::log(x); }, true);
    std::printf("log_avx2: max %.3f ulp at x = %.9g\n", s.max_ulp, s.worst_x);
    EXPECT_LE(s.max_ulp, kernels::kLogAvx2MaxUlp) << "worst x " << s.worst_x;
    EXPECT_EQ(apply(kernels::log_avx2_f32, 0.0f), -INFINITY);
    EXPECT_EQ(apply(kernels::log_avx2_f32, -0.0f), -INFINITY);
    EXPECT_EQ(apply(kernels::log_avx2_f32, INFINITY), INFINITY);
    EXPECT_EQ(apply(kernels::log_avx2_f32, 1.0f), 0.0f);
    EXPECT_TRUE(std::isnan(apply(kernels::log_avx2_f32, -1.0f)));
    EXPECT_TRUE(std::isnan(apply(kernels::log_avx2_f32, -INFINITY)));
    EXPECT_TRUE(std::isnan(apply(kernels::log_avx2_f32, NAN)));
}

TEST_F(VectorMathTest, TanhWithinStatedUlp) {
    const Sweep s = sweep(kernels::tanh_avx2_f32, [](double x) { return std::tanh(x); }, false);
    std::printf("tanh_avx2: max %.3f ulp at x = %.9g\n", s.max_ulp, s.worst_x);
    EXPECT_LE(s.max_ulp, kernels::kTanhAvx2MaxUlp) << "worst x " << s.worst_x;
    EXPECT_EQ(apply(kernels::tanh_avx2_f32, INFINITY), 1.0f);
    EXPECT_EQ(apply(kernels::tanh_avx2_f32, -INFINITY), -1.0f);
    EXPECT_TRUE(std::signbit(apply(kernels::tanh_avx2_f32, -0.0f)));
    EXPECT_TRUE(std::isnan(apply(kernels::tanh_avx2_f32, NAN)));
}

TEST_F(VectorMathTest, SigmoidWithinStatedUlp) {
    const Sweep s = sweep(kernels::sigmoid_avx2_f32, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, false);
    std::printf("sigmoid_avx2: max %.3f ulp at x = %.9g\n", s.max_ulp, s.worst_x);
    EXPECT_LE(s.max_ulp, kernels::kSigmoidAvx2MaxUlp) << "worst x " << s.worst_x;
    EXPECT_EQ(apply(kernels::sigmoid_avx2_f32, INFINITY), 1.0f);
    EXPECT_EQ(apply(kernels::sigmoid_avx2_f32, -INFINITY), 0.0f);
    EXPECT_EQ(apply(kernels::sigmoid_avx2_f32, 0.0f), 0.5f);
    EXPECT_TRUE(std::isnan(apply(kernels::sigmoid_avx2_f32, NAN)));
}

TEST_F(VectorMathTest, ErfWithinStatedUlp) {
    const Sweep s = sweep(kernels::erf_avx2_f32, [](double x) { return std::erf(x); }, false);
    std::printf("erf_avx2: max %.3f ulp at x = %.9g\n", s.max_ulp, s.worst_x);
    EXPECT_LE(s.max_ulp, kernels::kErfAvx2MaxUlp) << "worst x " << s.worst_x;
    EXPECT_EQ(apply(kernels::erf_avx2_f32, INFINITY), 1.0f);
    EXPECT_EQ(apply(kernels::erf_avx2_f32, -INFINITY), -1.0f);
    EXPECT_TRUE(std::signbit(apply(kernels::erf_avx2_f32, -0.0f)));
    EXPECT_TRUE(std::isnan(apply(kernels::erf_avx2_f32, NAN)));
}

}  // namespace
}  // namespace mln::test
