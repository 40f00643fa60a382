// f16/bf16 gemm, unary and binary (f32 compute, kernels/cpu/half_kernels.hpp) at every ISA:
// gemm against a reference computed in double from the widened values, elementwise ops
// against the f32 reference twin on the widened inputs; both within the one rounding to the
// 16-bit format (plus the f32 kernels' own error).
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/kernel_validation.hpp"
#include "core/names.hpp"
#include "core/text.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/elementwise/binary_ops.hpp"
#include "kernels/cpu/elementwise/unary_ops.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::test {
namespace {

using kernels::BFloat16;
using kernels::Half;

template <class H>
double widen(H value) {
    return kernels::ElementConvert<H>::to_wide(value);
}

template <class H>
H narrow(double value) {
    return kernels::ElementConvert<H>::from_double(value);
}

// Relative rounding error of the 16-bit format (half an ulp) and its smallest subnormal.
template <class H>
constexpr double kUnitRoundoff = std::is_same_v<H, Half> ? 0x1p-11 : 0x1p-8;
template <class H>
constexpr double kSmallest = std::is_same_v<H, Half> ? 0x1p-24 : 0x1p-133;

// An elementwise kernel's 16-bit result against the f32 reference on the widened inputs: within
// the one rounding to the format (the f32 kernels' own error is far below it), and exactly the
// reference's rounding where that is not finite (a result past the format's range is an infinity
// of its sign: 1 / 3.5e-6 in f16) or the reference is NaN.
template <class H>
::testing::AssertionResult within_one_rounding(double got, double want) {
    const double rounded = widen(narrow<H>(want));
    if (got == rounded || (std::isnan(want) && std::isnan(got))) return ::testing::AssertionSuccess();
    if (std::isfinite(rounded) && std::fabs(got - want) <= (kUnitRoundoff<H> + 1e-5) * std::fabs(want) + kSmallest<H>) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (rounded to the format " << rounded
                                         << ")";
}

template <class H>
H random_small() {
    return narrow<H>(uniform(-2.0, 2.0));
}

class HalfComputeTest : public CpuDeviceTest {};

struct HalfGemmCase {
    int64_t m, n, k;
    bool transpose_a, transpose_b;
    double alpha, beta;
    bool bias, residual;
    mln_unary_op activation;
    bool strided;
};

template <class H>
void check_gemm(mln_device* device, const HalfGemmCase& g) {
    const std::vector<int64_t> a_shape = g.transpose_a ? std::vector<int64_t>{g.k, g.m} : std::vector<int64_t>{g.m, g.k};
    const std::vector<int64_t> b_shape = g.transpose_b ? std::vector<int64_t>{g.n, g.k} : std::vector<int64_t>{g.k, g.n};
    const std::vector<int64_t> c_shape = {g.m, g.n};
    auto layout = [&](const std::vector<int64_t>& shape) {
        return g.strided ? random_strides(shape) : contiguous_strides(shape);
    };
    HostTensor<H> a(a_shape, layout(a_shape)), b(b_shape, layout(b_shape)), c(c_shape, layout(c_shape));
    HostTensor<H> bias({g.n}), residual(c_shape, layout(c_shape));
    for (int64_t i = 0; i < a.count(); ++i) a.at(i) = random_small<H>();
    for (int64_t i = 0; i < b.count(); ++i) b.at(i) = random_small<H>();
    for (int64_t i = 0; i < bias.count(); ++i) bias.at(i) = random_small<H>();
    for (int64_t i = 0; i < residual.count(); ++i) residual.at(i) = random_small<H>();
    // With beta == 0, c must not be read: NaN there must not reach the result.
    for (int64_t i = 0; i < c.count(); ++i) c.at(i) = g.beta == 0.0 ? narrow<H>(NAN) : random_small<H>();
    std::vector<double> want(static_cast<size_t>(g.m * g.n)), magnitude(want.size());
    for (int64_t i = 0; i < g.m; ++i) {
        for (int64_t j = 0; j < g.n; ++j) {
            double sum = 0.0, size = 0.0;
            for (int64_t p = 0; p < g.k; ++p) {
                const double x = widen(a.at(g.transpose_a ? p * g.m + i : i * g.k + p));
                const double y = widen(b.at(g.transpose_b ? j * g.k + p : p * g.n + j));
                sum += x * y;
                size += std::fabs(x * y);
            }
            double value = g.alpha * sum;
            size *= std::fabs(g.alpha);
            const auto add = [&](double term) {
                value += term;
                size += std::fabs(term);
            };
            if (g.beta != 0.0) add(g.beta * widen(c.at(i * g.n + j)));
            if (g.bias) add(widen(bias.at(j)));
            if (g.residual) add(widen(residual.at(i * g.n + j)));
            if (g.activation == MLN_UNARY_OP_RELU) value = std::max(value, 0.0);
            want[static_cast<size_t>(i * g.n + j)] = value;
            magnitude[static_cast<size_t>(i * g.n + j)] = size;
        }
    }
    ASSERT_EQ(mln_gemm(device, a.desc(), g.transpose_a, b.desc(), g.transpose_b, c.desc(), g.alpha, g.beta,
                       g.bias ? bias.desc() : nullptr, g.activation, g.residual ? residual.desc() : nullptr),
              MLN_STATUS_OK)
        << mln_last_error();
    for (int64_t i = 0; i < g.m * g.n; ++i) {
        const double got = widen(c.at(i));
        const double w = want[static_cast<size_t>(i)];
        // One rounding to the format, plus f32 accumulation over k terms and the epilogue.
        const double tolerance = kUnitRoundoff<H> * std::fabs(w) +
                                 static_cast<double>(g.k + 8) * 0x1p-23 * magnitude[static_cast<size_t>(i)] +
                                 kSmallest<H>;
        ASSERT_LE(std::fabs(got - w), tolerance)
            << "element " << i << ": got " << got << ", want " << w << " (m=" << g.m << " n=" << g.n << " k=" << g.k
            << " ta=" << g.transpose_a << " tb=" << g.transpose_b << " strided=" << g.strided << ")";
    }
}

const HalfGemmCase kGemmCases[] = {
    {0, 5, 3, false, false, 1.0, 0.0, false, false, MLN_UNARY_OP_IDENTITY, false},
    {4, 0, 3, false, false, 1.0, 0.0, false, false, MLN_UNARY_OP_IDENTITY, false},
    {3, 4, 0, false, false, 1.0, 0.5, true, true, MLN_UNARY_OP_IDENTITY, false},
    {1, 1, 1, false, false, 1.0, 0.0, false, false, MLN_UNARY_OP_IDENTITY, false},
    {7, 13, 5, true, false, -1.5, 0.0, true, false, MLN_UNARY_OP_RELU, true},
    {7, 13, 5, false, true, 1.0, 1.0, false, true, MLN_UNARY_OP_IDENTITY, true},
    {37, 41, 29, true, true, 0.5, -2.0, true, true, MLN_UNARY_OP_RELU, true},
    {130, 67, 257, false, false, 1.0, 0.0, true, false, MLN_UNARY_OP_IDENTITY, false},
    // Several column blocks (the widened block of B holds 128 columns at k = 16384).
    {2, 300, 16384, false, false, 1.0, 0.25, true, true, MLN_UNARY_OP_IDENTITY, true},
    {5, 300, 4096, true, true, 1.0, 0.0, false, false, MLN_UNARY_OP_IDENTITY, false},
    // Enough work for the threaded, packed f32 path.
    {211, 150, 97, false, true, 1.0, 0.0, true, false, MLN_UNARY_OP_RELU, false},
};

TEST_F(HalfComputeTest, GemmMatchesDoubleReferenceAtEveryIsa) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const HalfGemmCase& g : kGemmCases) {
            SCOPED_TRACE(cat("isa ", isa));
            check_gemm<Half>(device_, g);
            check_gemm<BFloat16>(device_, g);
        }
    }
}

// Batch dimensions broadcast as in NumPy matmul: a [2,1,5,7] x b [3,7,4] -> c [2,3,5,4].
template <class H>
void check_batched_gemm(mln_device* device) {
    HostTensor<H> a({2, 1, 5, 7}), b({3, 7, 4}), c({2, 3, 5, 4});
    for (int64_t i = 0; i < a.count(); ++i) a.at(i) = random_small<H>();
    for (int64_t i = 0; i < b.count(); ++i) b.at(i) = random_small<H>();
    ASSERT_EQ(mln_gemm(device, a.desc(), 0, b.desc(), 0, c.desc(), 1.0, 0.0, nullptr, MLN_UNARY_OP_IDENTITY, nullptr),
              MLN_STATUS_OK)
        << mln_last_error();
    for (int64_t p = 0; p < 2; ++p) {
        for (int64_t q = 0; q < 3; ++q) {
            for (int64_t i = 0; i < 5; ++i) {
                for (int64_t j = 0; j < 4; ++j) {
                    double sum = 0.0, size = 0.0;
                    for (int64_t r = 0; r < 7; ++r) {
                        const double term = widen(a.at((p * 5 + i) * 7 + r)) * widen(b.at((q * 7 + r) * 4 + j));
                        sum += term;
                        size += std::fabs(term);
                    }
                    const double got = widen(c.at(((p * 3 + q) * 5 + i) * 4 + j));
                    EXPECT_LE(std::fabs(got - sum), kUnitRoundoff<H> * std::fabs(sum) + 15 * 0x1p-23 * size + kSmallest<H>);
                }
            }
        }
    }
}

TEST_F(HalfComputeTest, BatchedGemmBroadcasts) {
    check_batched_gemm<Half>(device_);
    check_batched_gemm<BFloat16>(device_);
}

TEST_F(HalfComputeTest, GemmRefusesMixedDtypes) {
    HostTensor<Half> a({2, 3}), c({2, 4});
    HostTensor<float> b({3, 4});
    HostTensor<BFloat16> bias({4});
    EXPECT_TRUE(failed_with(mln_gemm(device_, a.desc(), 0, b.desc(), 0, c.desc(), 1.0, 0.0, nullptr,
                                     MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"dtypes differ", "a is f16", "b is f32"}));
    HostTensor<Half> b16({3, 4});
    EXPECT_FALSE(mln_gemm(device_, a.desc(), 0, b16.desc(), 0, c.desc(), 1.0, 0.0, bias.desc(),
                          MLN_UNARY_OP_IDENTITY, nullptr) == MLN_STATUS_OK);
    EXPECT_NE(std::string(mln_last_error()).find("bias"), std::string::npos) << mln_last_error();
}

// Every f32 unary op on f16/bf16 tensors with random strides, against the f32 reference twin
// on the widened input rounded once.
template <class H>
void check_unary_ops(mln_device* device) {
    for (int code = MLN_UNARY_OP_IDENTITY; code <= kernels::kLastUnaryOp; ++code) {
        const auto op = static_cast<mln_unary_op>(code);
      // Strided (gathered and scattered blocks) and contiguous over two parallel chunks.
      for (const bool strided : {true, false}) {
        const std::vector<int64_t> shape = strided ? std::vector<int64_t>{3, 7, 131} : std::vector<int64_t>{40000};
        HostTensor<H> x(shape, strided ? random_strides(shape) : contiguous_strides(shape));
        HostTensor<H> y(shape, strided ? random_strides(shape) : contiguous_strides(shape));
        HostTensor<float> wide_x(shape), want(shape);
        for (int64_t i = 0; i < x.count(); ++i) {
            x.at(i) = narrow<H>(uniform(-4.0, 4.0));
            wide_x.at(i) = static_cast<float>(widen(x.at(i)));
        }
        x.at(5) = narrow<H>(NAN);
        wide_x.at(5) = NAN;
        x.at(6) = narrow<H>(INFINITY);
        wide_x.at(6) = INFINITY;
        const mln_status status = mln_unary(device, op, 0.3, 0.6, x.desc(), y.desc());
        if (!kernels::unary_op_supports(op, MLN_DTYPE_F32)) {
            ASSERT_TRUE(failed_with(status, MLN_STATUS_NOT_SUPPORTED, {unary_op_name(op), dtype_name(dtype_of<H>())}));
            break;
        }
        ASSERT_EQ(status, MLN_STATUS_OK) << mln_last_error();
        reference::unary(op, 0.3, 0.6, wide_x.view(), want.view());
        for (int64_t i = 0; i < x.count(); ++i) {
            ASSERT_TRUE(within_one_rounding<H>(widen(y.at(i)), want.at(i)))
                << "op " << code << " element " << i << " x " << wide_x.at(i);
        }
      }
    }
}

TEST_F(HalfComputeTest, UnaryOpsMatchF32ReferenceAtEveryIsa) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        SCOPED_TRACE(cat("isa ", isa));
        check_unary_ops<Half>(device_);
        check_unary_ops<BFloat16>(device_);
    }
}

// Every f32 binary op (comparisons give bool) on f16/bf16 with broadcasting and random strides,
// against the f32 reference twin on the widened inputs.
template <class H>
void check_binary_ops(mln_device* device) {
    for (int code = MLN_BINARY_OP_ADD; code <= kernels::kLastBinaryOp; ++code) {
        const auto op = static_cast<mln_binary_op>(code);
        const bool gives_bool = binary_op_gives_bool(op);
        // a [3,1,133] op b [4,133] -> y [3,4,133]; then a tensor op scalar.
        for (const bool scalar : {false, true}) {
            const std::vector<int64_t> a_shape = {3, 1, 133};
            const std::vector<int64_t> b_shape = scalar ? std::vector<int64_t>{} : std::vector<int64_t>{4, 133};
            const std::vector<int64_t> y_shape = scalar ? a_shape : std::vector<int64_t>{3, 4, 133};
            HostTensor<H> a(a_shape, random_strides(a_shape)), b(b_shape, random_strides(b_shape));
            HostTensor<float> wide_a(a_shape), wide_b(b_shape), want(y_shape);
            for (int64_t i = 0; i < a.count(); ++i) {
                a.at(i) = narrow<H>(uniform(-4.0, 4.0));
                wide_a.at(i) = static_cast<float>(widen(a.at(i)));
            }
            for (int64_t i = 0; i < b.count(); ++i) {
                b.at(i) = narrow<H>(i % 17 == 0 ? 0.0 : uniform(-4.0, 4.0));
                wide_b.at(i) = static_cast<float>(widen(b.at(i)));
            }
            a.at(1) = narrow<H>(NAN);
            wide_a.at(1) = NAN;
            HostTensor<H> y(y_shape, random_strides(y_shape));
            HostTensor<kernels::Bool8> y_bool(y_shape, random_strides(y_shape));
            HostTensor<kernels::Bool8> want_bool(y_shape);
            const mln_status status =
                mln_binary(device, op, a.desc(), b.desc(), gives_bool ? y_bool.desc() : y.desc());
            if (!kernels::binary_op_supports(op, MLN_DTYPE_F32)) {
                ASSERT_TRUE(failed_with(status, MLN_STATUS_NOT_SUPPORTED, {binary_op_name(op), dtype_name(dtype_of<H>())}));
                break;
            }
            ASSERT_EQ(status, MLN_STATUS_OK) << mln_last_error();
            if (gives_bool) {
                const BinaryViews views = validate_binary(*device, op, wide_a.desc(), wide_b.desc(), want_bool.desc());
                reference::binary(op, views.a, views.b, views.y);
                EXPECT_TRUE(same_elements(y_bool, want_bool)) << "op " << code;
                continue;
            }
            const BinaryViews views = validate_binary(*device, op, wide_a.desc(), wide_b.desc(), want.desc());
            reference::binary(op, views.a, views.b, views.y);
            for (int64_t i = 0; i < want.count(); ++i) {
                ASSERT_TRUE(within_one_rounding<H>(widen(y.at(i)), want.at(i))) << "op " << code << " element " << i;
            }
        }
    }
}

TEST_F(HalfComputeTest, BinaryOpsMatchF32ReferenceAtEveryIsa) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        SCOPED_TRACE(cat("isa ", isa));
        check_binary_ops<Half>(device_);
        check_binary_ops<BFloat16>(device_);
    }
}

}  // namespace
}  // namespace mln::test
