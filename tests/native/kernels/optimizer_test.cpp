// Fused optimizer steps against the reference twin (plain per-kind update rules in double)
// over several steps, and hand-computed first steps.
#include <cmath>
#include <vector>

#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_elementwise.hpp"

namespace mln::test {
namespace {

class OptimizerTest : public CpuDeviceTest {};

mln_optimizer_params params_for(mln_optimizer_kind kind) {
    mln_optimizer_params p{};
    p.kind = kind;
    p.lr = 0.01;
    p.momentum = kind == MLN_OPTIMIZER_KIND_MOMENTUM || kind == MLN_OPTIMIZER_KIND_NESTEROV ? 0.9 : 0.0;
    p.dampening = kind == MLN_OPTIMIZER_KIND_MOMENTUM ? 0.1 : 0.0;
    p.weight_decay = 0.05;
    p.alpha = 0.99;
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.eps = 1e-8;
    return p;
}

bool uses_state0(const mln_optimizer_params& p) { return p.kind != MLN_OPTIMIZER_KIND_SGD; }
bool uses_state1(const mln_optimizer_params& p) {
    return p.kind == MLN_OPTIMIZER_KIND_ADAM || p.kind == MLN_OPTIMIZER_KIND_ADAMW ||
           (p.kind == MLN_OPTIMIZER_KIND_RMSPROP && p.centered != 0);
}

template <class T>
void check_steps(mln_device* device, mln_optimizer_params p, const std::vector<int64_t>& shape) {
    HostTensor<T> param(shape, random_strides(shape));
    HostTensor<T> grad(shape, random_strides(shape));
    HostTensor<T> s0(shape, random_strides(shape));
    HostTensor<T> s1(shape);
    HostTensor<T> want(shape);
    HostTensor<T> want_s0(shape);
    HostTensor<T> want_s1(shape);
    for (int64_t i = 0; i < param.count(); ++i) {
        param.at(i) = want.at(i) = static_cast<T>(uniform(-1, 1));
        s0.at(i) = s1.at(i) = want_s0.at(i) = want_s1.at(i) = T(0);
    }
    for (int64_t step = 1; step <= 5; ++step) {
        p.step = step;
        for (int64_t i = 0; i < grad.count(); ++i) grad.at(i) = static_cast<T>(uniform(-1, 1));
        ASSERT_EQ(mln_optimizer_step(device, &p, param.desc(), grad.desc(), uses_state0(p) ? s0.desc() : nullptr,
                                     uses_state1(p) ? s1.desc() : nullptr),
                  MLN_STATUS_OK)
            << mln_last_error();
        reference::optimizer_step(p, want.view(), grad.view(), want_s0.view(), want_s1.view());
    }
    const double tolerance = std::is_same_v<T, float> ? 2e-6 : 1e-12;
    for (int64_t i = 0; i < param.count(); ++i) {
        ASSERT_NEAR(param.at(i), want.at(i), tolerance * (1 + std::fabs(want.at(i)))) << "kind " << p.kind << " i " << i;
        ASSERT_NEAR(s0.at(i), want_s0.at(i), tolerance * (1 + std::fabs(want_s0.at(i)))) << "kind " << p.kind;
        ASSERT_NEAR(s1.at(i), want_s1.at(i), tolerance * (1 + std::fabs(want_s1.at(i)))) << "kind " << p.kind;
    }
}

TEST_F(OptimizerTest, EveryKindMatchesReferenceOverSeveralSteps) {
    for (int kind = MLN_OPTIMIZER_KIND_SGD; kind <= MLN_OPTIMIZER_KIND_ADAMW; ++kind) {
        for (int centered = 0; centered < (kind == MLN_OPTIMIZER_KIND_RMSPROP ? 2 : 1); ++centered) {
            mln_optimizer_params p = params_for(static_cast<mln_optimizer_kind>(kind));
            p.centered = centered;
            check_steps<float>(device_, p, {7, 5});
            check_steps<double>(device_, p, {3, 1, 11});
            check_steps<float>(device_, p, {0});
            check_steps<float>(device_, p, {257, 129});  // threads
        }
    }
}

TEST_F(OptimizerTest, HandComputedFirstSteps) {
    HostTensor<double> param({1});
    HostTensor<double> grad({1});
    HostTensor<double> m({1});
    HostTensor<double> v({1});
    // Adam, step 1: m_hat = g and v_hat = g^2, so the update is lr * g / (|g| + eps).
    mln_optimizer_params p = params_for(MLN_OPTIMIZER_KIND_ADAM);
    p.weight_decay = 0.0;
    p.step = 1;
    param.at(0) = 1.0, grad.at(0) = 0.5, m.at(0) = v.at(0) = 0.0;
    ASSERT_EQ(mln_optimizer_step(device_, &p, param.desc(), grad.desc(), m.desc(), v.desc()), MLN_STATUS_OK);
    EXPECT_NEAR(param.at(0), 1.0 - 0.01 * 0.5 / (0.5 + 1e-8), 1e-15);
    // AdamW decays param before the update: p (1 - lr wd).
    p.kind = MLN_OPTIMIZER_KIND_ADAMW;
    p.weight_decay = 0.1;
    param.at(0) = 2.0, m.at(0) = v.at(0) = 0.0;
    ASSERT_EQ(mln_optimizer_step(device_, &p, param.desc(), grad.desc(), m.desc(), v.desc()), MLN_STATUS_OK);
    EXPECT_NEAR(param.at(0), 2.0 * (1 - 0.01 * 0.1) - 0.01 * 0.5 / (0.5 + 1e-8), 1e-15);
    // Momentum: the first step's buffer is g itself (no dampening), then mu buf + (1 - d) g.
    HostTensor<double> buf({1});
    p = params_for(MLN_OPTIMIZER_KIND_MOMENTUM);
    p.weight_decay = 0.0;
    p.step = 1;
    param.at(0) = 0.0, buf.at(0) = 123.0;
    ASSERT_EQ(mln_optimizer_step(device_, &p, param.desc(), grad.desc(), buf.desc(), nullptr), MLN_STATUS_OK);
    EXPECT_DOUBLE_EQ(buf.at(0), 0.5);
    p.step = 2;
    ASSERT_EQ(mln_optimizer_step(device_, &p, param.desc(), grad.desc(), buf.desc(), nullptr), MLN_STATUS_OK);
    EXPECT_DOUBLE_EQ(buf.at(0), 0.9 * 0.5 + 0.9 * 0.5);
    EXPECT_DOUBLE_EQ(param.at(0), -0.01 * 0.5 - 0.01 * 0.9);
}

TEST_F(OptimizerTest, Validation) {
    HostTensor<float> param({4});
    HostTensor<float> grad({4});
    HostTensor<float> state({4});
    HostTensor<float> wrong({5});
    mln_optimizer_params p = params_for(MLN_OPTIMIZER_KIND_ADAM);
    p.step = 1;
    EXPECT_TRUE(failed_with(mln_optimizer_step(device_, nullptr, param.desc(), grad.desc(), state.desc(), state.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_optimizer_step", "params is null"}));
    EXPECT_TRUE(failed_with(mln_optimizer_step(device_, &p, param.desc(), grad.desc(), state.desc(), nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_optimizer_step", "state1 is null"}));
    EXPECT_TRUE(failed_with(mln_optimizer_step(device_, &p, param.desc(), wrong.desc(), state.desc(), state.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_optimizer_step", "grad"}));
    p.step = 0;
    EXPECT_TRUE(failed_with(mln_optimizer_step(device_, &p, param.desc(), grad.desc(), state.desc(), state.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_optimizer_step", "step is 0"}));
    p.step = 1;
    p.beta1 = 1.0;
    EXPECT_TRUE(failed_with(mln_optimizer_step(device_, &p, param.desc(), grad.desc(), state.desc(), state.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_optimizer_step", "beta1 is 1"}));
    p = params_for(MLN_OPTIMIZER_KIND_RMSPROP);
    p.step = 1;
    p.momentum = 0.9;
    EXPECT_TRUE(failed_with(mln_optimizer_step(device_, &p, param.desc(), grad.desc(), state.desc(), nullptr),
                            MLN_STATUS_NOT_SUPPORTED, {"mln_optimizer_step", "momentum is 0.9"}));
    p = params_for(MLN_OPTIMIZER_KIND_SGD);
    p.step = 1;
    EXPECT_TRUE(failed_with(mln_optimizer_step(device_, &p, param.desc(), grad.desc(), state.desc(), nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_optimizer_step", "state0 is given"}));
    p.kind = static_cast<mln_optimizer_kind>(42);
    EXPECT_TRUE(failed_with(mln_optimizer_step(device_, &p, param.desc(), grad.desc(), nullptr, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_optimizer_step", "kind 42"}));
}

}  // namespace
}  // namespace mln::test
