// mln_unary_backward against central finite differences of mln_unary in f64, and f32 against
// f64; the x-or-y input rules; validation.
#include <cmath>
#include <vector>

#include "core/names.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/elementwise/unary_ops.hpp"

namespace mln::test {
namespace {

class UnaryBackwardTest : public CpuDeviceTest {};

// Inputs kept away from each op's kinks and domain edges, where a finite difference is not
// the derivative.
std::vector<double> sample_points(mln_unary_op op) {
    std::vector<double> xs;
    for (int i = 0; i < 23; ++i) {
        double x = -3.0 + 6.0 * (i + 0.37) / 23.0;
        switch (op) {
            case MLN_UNARY_OP_SQRT:
            case MLN_UNARY_OP_LOG:
            case MLN_UNARY_OP_RECIPROCAL:
                x = 0.2 + std::fabs(x);
                break;
            case MLN_UNARY_OP_LOG1P:
                x = -0.8 + std::fabs(x);
                break;
            case MLN_UNARY_OP_ASIN:
            case MLN_UNARY_OP_ACOS:
            case MLN_UNARY_OP_ATANH:
                x /= 3.3;  // inside (-1, 1)
                break;
            case MLN_UNARY_OP_ACOSH:
                x = 1.2 + std::fabs(x);
                break;
            case MLN_UNARY_OP_TAN:
                x /= 2.2;  // inside (-pi/2, pi/2)
                break;
            default:
                break;
        }
        // hard_sigmoid's kinks (alpha 0.3, beta 0.4) at -4/3 and 2, hard_swish's at +-3.
        if (std::fabs(x) < 1e-3) x += 0.01;
        xs.push_back(x);
    }
    return xs;
}

double run_unary(mln_device* device, mln_unary_op op, double alpha, double beta, double x) {
    HostTensor<double> in({1});
    HostTensor<double> out({1});
    in.at(0) = x;
    EXPECT_EQ(mln_unary(device, op, alpha, beta, in.desc(), out.desc()), MLN_STATUS_OK) << mln_last_error();
    return out.at(0);
}

TEST_F(UnaryBackwardTest, MatchesFiniteDifferencesForEveryOp) {
    for (int op = MLN_UNARY_OP_IDENTITY; op <= kernels::kLastUnaryOp; ++op) {
        const auto code = static_cast<mln_unary_op>(op);
        const double alpha = code == MLN_UNARY_OP_HARD_SIGMOID ? 0.3 : 0.37;
        const double beta = code == MLN_UNARY_OP_HARD_SIGMOID ? 0.4 : code == MLN_UNARY_OP_SHRINK ? 0.25 : code == MLN_UNARY_OP_SELU ? 1.3 : 0.0;
        const auto xs = sample_points(code);
        const auto n = static_cast<int64_t>(xs.size());
        // x, dy and dx with different strides; y contiguous.
        HostTensor<double> x({n}, {2});
        HostTensor<double> y({n});
        HostTensor<double> dy({n}, {-1});
        HostTensor<double> dx({n}, {3});
        for (int64_t i = 0; i < n; ++i) {
            x.at(i) = xs[static_cast<size_t>(i)];
            dy.at(i) = uniform(-2.0, 2.0);
        }
        ASSERT_EQ(mln_unary(device_, code, alpha, beta, x.desc(), y.desc()), MLN_STATUS_OK);
        ASSERT_EQ(mln_unary_backward(device_, code, alpha, beta, x.desc(), y.desc(), dy.desc(), dx.desc()), MLN_STATUS_OK)
            << mln_last_error();
        for (int64_t i = 0; i < n; ++i) {
            const double xi = x.at(i);
            const double h = 1e-6 * std::max(1.0, std::fabs(xi));
            const double numeric = (run_unary(device_, code, alpha, beta, xi + h) -
                                    run_unary(device_, code, alpha, beta, xi - h)) / (2 * h);
            EXPECT_NEAR(dx.at(i), dy.at(i) * numeric, 1e-6 * (1 + std::fabs(dy.at(i) * numeric)))
                << unary_op_name(op) << " at x = " << xi;
        }
    }
}

TEST_F(UnaryBackwardTest, FromYOnlyAndFromXOnlyAgree) {
    // Ops whose derivative comes from y accept x = NULL; given x alone they compute y.
    for (mln_unary_op op : {MLN_UNARY_OP_SIGMOID, MLN_UNARY_OP_TANH, MLN_UNARY_OP_EXP, MLN_UNARY_OP_SQRT,
                            MLN_UNARY_OP_RELU, MLN_UNARY_OP_RECIPROCAL, MLN_UNARY_OP_EXPM1}) {
        const int64_t n = 37;
        HostTensor<float> x({n});
        HostTensor<float> y({n});
        HostTensor<float> dy({n});
        HostTensor<float> from_x({n});
        HostTensor<float> from_y({n});
        for (int64_t i = 0; i < n; ++i) {
            x.at(i) = static_cast<float>(0.1 + 0.1 * static_cast<double>(i));
            dy.at(i) = static_cast<float>(uniform(-1.0, 1.0));
        }
        ASSERT_EQ(mln_unary(device_, op, 0, 0, x.desc(), y.desc()), MLN_STATUS_OK);
        ASSERT_EQ(mln_unary_backward(device_, op, 0, 0, nullptr, y.desc(), dy.desc(), from_y.desc()), MLN_STATUS_OK)
            << mln_last_error();
        ASSERT_EQ(mln_unary_backward(device_, op, 0, 0, x.desc(), nullptr, dy.desc(), from_x.desc()), MLN_STATUS_OK)
            << mln_last_error();
        for (int64_t i = 0; i < n; ++i) {
            EXPECT_NEAR(from_x.at(i), from_y.at(i), 1e-6f * (1 + std::fabs(from_y.at(i)))) << unary_op_name(op);
        }
    }
}

TEST_F(UnaryBackwardTest, F32AgreesWithF64AndEdgeCases) {
    const std::vector<int64_t> shape = {7, 13};
    HostTensor<float> xf(shape, random_strides(shape));
    HostTensor<float> dyf(shape);
    HostTensor<float> dxf(shape, random_strides(shape));
    HostTensor<double> xd(shape);
    HostTensor<double> dyd(shape);
    HostTensor<double> dxd(shape);
    for (int64_t i = 0; i < xf.count(); ++i) {
        xf.at(i) = static_cast<float>(uniform(-4.0, 4.0));
        dyf.at(i) = static_cast<float>(uniform(-1.0, 1.0));
        xd.at(i) = xf.at(i);
        dyd.at(i) = dyf.at(i);
    }
    for (mln_unary_op op : {MLN_UNARY_OP_GELU, MLN_UNARY_OP_GELU_TANH, MLN_UNARY_OP_MISH, MLN_UNARY_OP_SILU,
                            MLN_UNARY_OP_SELU, MLN_UNARY_OP_SOFTPLUS, MLN_UNARY_OP_ERF, MLN_UNARY_OP_SIN}) {
        ASSERT_EQ(mln_unary_backward(device_, op, 0, 0, xf.desc(), nullptr, dyf.desc(), dxf.desc()), MLN_STATUS_OK);
        ASSERT_EQ(mln_unary_backward(device_, op, 0, 0, xd.desc(), nullptr, dyd.desc(), dxd.desc()), MLN_STATUS_OK);
        for (int64_t i = 0; i < xf.count(); ++i) EXPECT_NEAR(dxf.at(i), dxd.at(i), 1e-5 * (1 + std::fabs(dxd.at(i))));
    }
    // relu and abs have derivative 0 at 0; NaN propagates; empty tensors are fine.
    HostTensor<float> x({3});
    HostTensor<float> dy({3});
    HostTensor<float> dx({3});
    x.at(0) = 0.0f, x.at(1) = NAN, x.at(2) = -2.0f;
    dy.at(0) = dy.at(1) = dy.at(2) = 1.0f;
    ASSERT_EQ(mln_unary_backward(device_, MLN_UNARY_OP_ABS, 0, 0, x.desc(), nullptr, dy.desc(), dx.desc()), MLN_STATUS_OK);
    EXPECT_EQ(dx.at(0), 0.0f);
    EXPECT_TRUE(std::isnan(dx.at(1)));
    EXPECT_EQ(dx.at(2), -1.0f);
    ASSERT_EQ(mln_unary_backward(device_, MLN_UNARY_OP_RELU, 0, 0, x.desc(), nullptr, dy.desc(), dx.desc()), MLN_STATUS_OK);
    EXPECT_EQ(dx.at(0), 0.0f);
    EXPECT_EQ(dx.at(2), 0.0f);
    HostTensor<float> empty({0, 4});
    EXPECT_EQ(mln_unary_backward(device_, MLN_UNARY_OP_GELU, 0, 0, empty.desc(), nullptr, empty.desc(), empty.desc()),
              MLN_STATUS_OK);
}

// Contiguous f32 backward runs take the vector kernels of the active ISA (AVX2, AVX-512);
// they must agree with the scalar definitions (the scalar ISA) for every op, from x and from
// y, on run lengths around every vector width, with NaN, infinities, zeros and denormals in
// the input, and above the streaming-store size with a misaligned start.
TEST_F(UnaryBackwardTest, VectorIsasMatchScalarDefinitions) {
    const float specials[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, 1e-40f, -1e-40f, 3.0f, -3.0f, 1e30f, -1e30f};
    const auto fill = [&](HostTensor<float>& x, HostTensor<float>& dy, mln_unary_op op) {
        const std::vector<double> xs = sample_points(op);
        for (int64_t i = 0; i < x.count(); ++i) {
            x.at(i) = i % 13 == 5 ? specials[static_cast<size_t>(i / 13) % std::size(specials)]
                                  : static_cast<float>(xs[static_cast<size_t>(i) % xs.size()] * uniform(0.5, 1.5));
            if (i < dy.count()) dy.at(i) = static_cast<float>(uniform(-2.0, 2.0));
        }
    };
    const auto close = [](float got, float want, float g) {
        if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
        if (std::isinf(want) || std::isinf(got)) return got == want;
        return std::fabs(got - want) <= 1e-5f * std::fabs(want) + 1e-6f * (1.0f + std::fabs(g));
    };
    for (mln_isa isa : available_isas()) {
        if (isa == MLN_ISA_SCALAR) continue;
        for (int op = MLN_UNARY_OP_IDENTITY; op <= kernels::kLastUnaryOp; ++op) {
            const auto code = static_cast<mln_unary_op>(op);
            const double alpha = code == MLN_UNARY_OP_HARD_SIGMOID ? 0.3 : 0.37;
            const double beta = code == MLN_UNARY_OP_HARD_SIGMOID ? 0.4 : 0.0;
            for (int64_t n : {0, 1, 7, 8, 15, 16, 17, 31, 33, 101, 4200007}) {
                if (n > 1000 && code != MLN_UNARY_OP_GELU && code != MLN_UNARY_OP_SIGMOID) continue;
                // One element of padding in front: the run starts misaligned.
                HostTensor<float> x_storage({n + 1});
                HostTensor<float> y_storage({n + 1});
                HostTensor<float> dy({n});
                HostTensor<float> got({n});
                HostTensor<float> want({n});
                mln_tensor_desc x_desc = *dy.desc();
                mln_tensor_desc y_desc = *dy.desc();
                x_desc.data = static_cast<float*>(x_storage.mutable_desc().data) + 1;
                y_desc.data = static_cast<float*>(y_storage.mutable_desc().data) + 1;
                fill(x_storage, dy, code);
                ASSERT_EQ(mln_unary(device_, code, alpha, beta, &x_desc, &y_desc), MLN_STATUS_OK) << mln_last_error();
                for (const bool from_y : {false, true}) {
                    const mln_tensor_desc* x_arg = from_y ? nullptr : &x_desc;
                    const mln_tensor_desc* y_arg = from_y ? &y_desc : nullptr;
                    if (from_y && code != MLN_UNARY_OP_SIGMOID && code != MLN_UNARY_OP_TANH && code != MLN_UNARY_OP_EXP &&
                        code != MLN_UNARY_OP_SQRT && code != MLN_UNARY_OP_RELU && code != MLN_UNARY_OP_RECIPROCAL) {
                        continue;
                    }
                    {
                        ScopedIsa scalar(MLN_ISA_SCALAR);
                        ASSERT_EQ(mln_unary_backward(device_, code, alpha, beta, x_arg, y_arg, dy.desc(), want.desc()),
                                  MLN_STATUS_OK) << mln_last_error();
                    }
                    {
                        ScopedIsa vector(isa);
                        ASSERT_EQ(mln_unary_backward(device_, code, alpha, beta, x_arg, y_arg, dy.desc(), got.desc()),
                                  MLN_STATUS_OK) << mln_last_error();
                    }
                    for (int64_t i = 0; i < n; ++i) {
                        const float xi = static_cast<const float*>(x_desc.data)[i];
                        ASSERT_TRUE(close(got.at(i), want.at(i), dy.at(i)))
                            << unary_op_name(op) << " isa " << isa << " n " << n << (from_y ? " from y" : " from x")
                            << " at x = " << xi << ": got " << got.at(i) << ", want " << want.at(i);
                    }
                }
            }
        }
    }
}

TEST_F(UnaryBackwardTest, Validation) {
    HostTensor<float> x({4});
    HostTensor<float> dy({4});
    HostTensor<float> dx({4});
    HostTensor<float> short_dy({3});
    HostTensor<int32_t> ints({4});
    EXPECT_TRUE(failed_with(mln_unary_backward(device_, MLN_UNARY_OP_GELU, 0, 0, nullptr, x.desc(), dy.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_unary_backward", "x is null", "gelu needs x"}));
    EXPECT_TRUE(failed_with(mln_unary_backward(device_, MLN_UNARY_OP_TANH, 0, 0, nullptr, nullptr, dy.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_unary_backward", "x and y are both null"}));
    EXPECT_TRUE(failed_with(mln_unary_backward(device_, MLN_UNARY_OP_TANH, 0, 0, x.desc(), nullptr, short_dy.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_unary_backward", "dy"}));
    EXPECT_TRUE(failed_with(mln_unary_backward(device_, MLN_UNARY_OP_NEG, 0, 0, ints.desc(), nullptr, ints.desc(), ints.desc()),
                            MLN_STATUS_NOT_SUPPORTED, {"mln_unary_backward", "i32"}));
    EXPECT_TRUE(failed_with(mln_unary_backward(device_, MLN_UNARY_OP_CELU, 0, 0, x.desc(), nullptr, dy.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_unary_backward", "alpha is 0", "celu"}));
    EXPECT_TRUE(failed_with(mln_unary(device_, MLN_UNARY_OP_CELU, 0, 0, x.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_unary:", "alpha is 0"}));
    EXPECT_TRUE(failed_with(mln_unary_backward(device_, static_cast<mln_unary_op>(99), 0, 0, x.desc(), nullptr, dy.desc(),
                                               dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_unary_backward", "op 99"}));
}

}  // namespace
}  // namespace mln::test
