// mln_gemm against the reference twin: the residual epilogue, adversarial sizes around every
// blocking constant, 1 and 2 threads, both ISAs, batched broadcasting matmul, and the
// validation of the new arguments.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/kernel_validation.hpp"
#include "core/text.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::test {
namespace {

enum class Residual { none, contiguous, strided, same_as_c };

struct Case {
    int64_t m, n, k;
    bool transpose_a, transpose_b;
    double alpha, beta;
    bool bias;
    mln_unary_op activation;
    Residual residual;
    bool strided;  // random strides (negative, gapped) on a, b and c
};

std::string describe(const Case& g) {
    return cat("m=", g.m, " n=", g.n, " k=", g.k, " ta=", g.transpose_a, " tb=", g.transpose_b, " alpha=", g.alpha,
               " beta=", g.beta, " bias=", g.bias, " act=", g.activation, " residual=", static_cast<int>(g.residual),
               " strided=", g.strided);
}

// Tolerance for a sum of k products of values in [-4, 4] accumulated in T (reference: double).
template <class T>
double tolerance(int64_t k, double alpha) {
    return std::numeric_limits<T>::epsilon() * (16.0 * static_cast<double>(k + 4) * std::fabs(alpha) + 64.0);
}

template <class T>
void check(mln_device* device, const Case& g) {
    SCOPED_TRACE(describe(g));
    const std::vector<int64_t> a_shape = g.transpose_a ? std::vector<int64_t>{g.k, g.m} : std::vector<int64_t>{g.m, g.k};
    const std::vector<int64_t> b_shape = g.transpose_b ? std::vector<int64_t>{g.n, g.k} : std::vector<int64_t>{g.k, g.n};
    const std::vector<int64_t> c_shape = {g.m, g.n};
    auto layout = [&](const std::vector<int64_t>& shape) {
        return g.strided ? random_strides(shape) : contiguous_strides(shape);
    };
    HostTensor<T> a(a_shape, layout(a_shape));
    HostTensor<T> b(b_shape, layout(b_shape));
    HostTensor<T> c(c_shape, layout(c_shape));
    HostTensor<T> want(c_shape);
    HostTensor<T> bias({g.n});
    // A residual with a non-unit column stride: column-major storage.
    HostTensor<T> residual(c_shape, g.residual == Residual::strided ? std::vector<int64_t>{1, std::max<int64_t>(g.m, 1)}
                                                                     : contiguous_strides(c_shape));
    fill_random(a);
    fill_random(b);
    fill_random(bias);
    fill_random(residual);
    const bool reads_c = g.beta != 0.0 || g.residual == Residual::same_as_c;
    for (int64_t i = 0; i < c.count(); ++i) {
        // c is not read unless beta != 0 or it is the residual: NaN there must not leak.
        c.at(i) = reads_c ? random_value<T>() : std::numeric_limits<T>::quiet_NaN();
        want.at(i) = c.at(i);
    }
    const mln_tensor_desc* residual_desc = nullptr;
    const mln_tensor_desc* want_residual_desc = nullptr;
    if (g.residual == Residual::contiguous || g.residual == Residual::strided) {
        residual_desc = want_residual_desc = residual.desc();
    } else if (g.residual == Residual::same_as_c) {
        residual_desc = c.desc();
        want_residual_desc = want.desc();
    }
    reference::gemm(validate_gemm(*device, a.desc(), g.transpose_a, b.desc(), g.transpose_b, want.desc(), g.alpha,
                                  g.beta, g.bias ? bias.desc() : nullptr, g.activation, want_residual_desc));
    ASSERT_EQ(mln_gemm(device, a.desc(), g.transpose_a, b.desc(), g.transpose_b, c.desc(), g.alpha, g.beta,
                       g.bias ? bias.desc() : nullptr, g.activation, residual_desc),
              MLN_STATUS_OK)
        << mln_last_error();
    const double tol = tolerance<T>(g.k, g.alpha);
    for (int64_t i = 0; i < want.count(); ++i) {
        ASSERT_FALSE(std::isnan(c.at(i))) << "element " << i;
        ASSERT_NEAR(c.at(i), want.at(i), tol * (1.0 + std::fabs(want.at(i)))) << "element " << i;
    }
}

class GemmResidualTest : public CpuDeviceTest {
protected:
    void TearDown() override {
        mln_device_set_thread_count(device_, 0);
        CpuDeviceTest::TearDown();
    }
};

TEST_F(GemmResidualTest, ResidualEpilogueEveryLayoutActivationIsaAndThreadCount) {
    const mln_unary_op activations[] = {MLN_UNARY_OP_IDENTITY, MLN_UNARY_OP_RELU, MLN_UNARY_OP_TANH};
    const Residual residuals[] = {Residual::contiguous, Residual::strided, Residual::same_as_c};
    for (int32_t threads : {1, 2}) {
        ASSERT_EQ(mln_device_set_thread_count(device_, threads), MLN_STATUS_OK);
        for (mln_isa isa : available_isas()) {
            ScopedIsa scoped(isa);
            for (int trial = 0; trial < 18; ++trial) {
                // Alternate small (unpacked path) and larger (packed, multi-block) shapes.
                const int64_t top = trial % 2 == 0 ? 40 : 300;
                const Case g{uniform_int(1, top), uniform_int(1, top), uniform_int(1, top), trial % 4 >= 2,
                             trial % 3 == 0, uniform(-2.0, 2.0), trial % 5 == 0 ? 0.0 : uniform(-1.0, 1.0),
                             trial % 2 == 1, activations[trial % 3], residuals[trial % 3], trial % 4 == 1};
                check<float>(device_, g);
                if (trial % 3 == 0) check<double>(device_, g);
            }
        }
    }
}

// Sizes just around MR (6, 4), NR (16, 8), the row block (240), depth block (256) and the
// column block (3072), primes, 1, and the small/packed and 1/2-thread switch points (80^3 and,
// for the AVX-512 kernel, 20 M multiply-adds: 271^3 below, 272^3 above), and the unblocked
// path's tile orders (8 x 32 floats: row tiles up to k = 153 with B within 512 KiB, 128 x 1024
// not 128 x 1025, strips of 4 row tiles up to k = 192; 6 x 16 floats: strips up to k = 307).
TEST_F(GemmResidualTest, AdversarialSizesAroundEveryBlockingConstant) {
    const int64_t sizes[][3] = {{1, 1, 257},    {5, 17, 255},   {7, 15, 256},  {6, 16, 257},   {239, 33, 31},
                                {241, 47, 513}, {487, 9, 3},    {13, 3075, 5}, {97, 89, 83},   {96, 96, 96},
                                {81, 80, 80},   {2, 1023, 129}, {31, 2, 600},  {1, 300, 300}, {300, 1, 300},
                                {271, 271, 271}, {272, 272, 272}, {17, 40, 153}, {17, 40, 154},
                                {17, 40, 192},  {17, 40, 193},  {13, 33, 307},   {13, 33, 308},
                                {41, 1024, 128}, {41, 1025, 128}};
    for (int32_t threads : {1, 2}) {
        ASSERT_EQ(mln_device_set_thread_count(device_, threads), MLN_STATUS_OK);
        for (mln_isa isa : available_isas()) {
            ScopedIsa scoped(isa);
            for (const auto& s : sizes) {
                for (int t = 0; t < 4; ++t) {
                    const Case g{s[0], s[1], s[2], (t & 2) != 0, (t & 1) != 0, 1.0, t == 3 ? 0.5 : 0.0,
                                 t == 1, t == 2 ? MLN_UNARY_OP_RELU : MLN_UNARY_OP_IDENTITY,
                                 t == 2 ? Residual::contiguous : Residual::none, t == 3};
                    check<float>(device_, g);
                }
            }
        }
    }
    // Large strides: every row of a, b, c lives in its own page.
    check<float>(device_, {37, 45, 70, false, false, 1.0, 0.0, true, MLN_UNARY_OP_IDENTITY, Residual::none, true});
}

TEST_F(GemmResidualTest, LargeStridesAndKZeroWithResidual) {
    // Row strides of 4099 elements.
    HostTensor<float> a({50, 40}, {4099, 1});
    HostTensor<float> b({40, 30}, {4099, 1});
    HostTensor<float> c({50, 30}, {4099, 1});
    HostTensor<float> want({50, 30});
    fill_random(a);
    fill_random(b);
    reference::gemm(
        validate_gemm(*device_, a.desc(), 0, b.desc(), 0, want.desc(), 1.0, 0.0, nullptr, MLN_UNARY_OP_IDENTITY));
    ASSERT_EQ(mln_gemm(device_, a.desc(), 0, b.desc(), 0, c.desc(), 1.0, 0.0, nullptr, MLN_UNARY_OP_IDENTITY, nullptr),
              MLN_STATUS_OK);
    for (int64_t i = 0; i < want.count(); ++i) ASSERT_NEAR(c.at(i), want.at(i), 1e-4 * (1 + std::fabs(want.at(i))));

    // K == 0: c = relu(2 c + residual).
    HostTensor<float> a0({2, 0});
    HostTensor<float> b0({0, 3});
    HostTensor<float> c0({2, 3});
    HostTensor<float> r0({2, 3});
    for (int i = 0; i < 6; ++i) {
        c0.at(i) = static_cast<float>(i) - 3.0f;
        r0.at(i) = 0.5f;
    }
    ASSERT_EQ(mln_gemm(device_, a0.desc(), 0, b0.desc(), 0, c0.desc(), 1.0, 2.0, nullptr, MLN_UNARY_OP_RELU, r0.desc()),
              MLN_STATUS_OK);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(c0.at(i), std::max(0.0f, 2.0f * (static_cast<float>(i) - 3.0f) + 0.5f));
}

TEST_F(GemmResidualTest, NonFiniteResidualAndInputsPropagate) {
    for (int32_t threads : {1, 2}) {
        ASSERT_EQ(mln_device_set_thread_count(device_, threads), MLN_STATUS_OK);
        HostTensor<float> a({130, 70});
        HostTensor<float> b({70, 90});
        HostTensor<float> r({130, 90});
        HostTensor<float> c({130, 90});
        HostTensor<float> want({130, 90});
        fill_random(a);
        fill_random(b);
        fill_random(r);
        a.at(7 * 70 + 3) = INFINITY;
        b.at(9 * 90 + 50) = NAN;
        r.at(100 * 90 + 2) = -INFINITY;
        reference::gemm(validate_gemm(*device_, a.desc(), 0, b.desc(), 0, want.desc(), 1.0, 0.0, nullptr,
                                      MLN_UNARY_OP_RELU, r.desc()));
        ASSERT_EQ(mln_gemm(device_, a.desc(), 0, b.desc(), 0, c.desc(), 1.0, 0.0, nullptr, MLN_UNARY_OP_RELU, r.desc()),
                  MLN_STATUS_OK);
        for (int64_t i = 0; i < want.count(); ++i) {
            if (std::isfinite(want.at(i))) {
                ASSERT_NEAR(c.at(i), want.at(i), 1e-4 * (1.0 + std::fabs(want.at(i)))) << "element " << i;
            } else {
                ASSERT_TRUE(same_element(c.at(i), want.at(i))) << "element " << i << ": " << c.at(i);
            }
        }
    }
}

// Batched matmul: a 2x1x5x7 times b 3x7x4 gives c 2x3x5x4; residual 5x4 broadcasts.
TEST_F(GemmResidualTest, BatchedBroadcastingMatchesPerMatrixProducts) {
    for (int32_t threads : {1, 2}) {
        ASSERT_EQ(mln_device_set_thread_count(device_, threads), MLN_STATUS_OK);
        for (int t = 0; t < 4; ++t) {
            const bool ta = (t & 2) != 0;
            const bool tb = (t & 1) != 0;
            HostTensor<float> a(ta ? std::vector<int64_t>{2, 1, 7, 5} : std::vector<int64_t>{2, 1, 5, 7});
            HostTensor<float> b(tb ? std::vector<int64_t>{3, 4, 7} : std::vector<int64_t>{3, 7, 4});
            HostTensor<float> residual({5, 4});
            HostTensor<float> bias({4});
            HostTensor<float> c({2, 3, 5, 4});
            fill_random(a);
            fill_random(b);
            fill_random(residual);
            fill_random(bias);
            ASSERT_EQ(mln_gemm(device_, a.desc(), ta, b.desc(), tb, c.desc(), 1.0, 0.0, bias.desc(), MLN_UNARY_OP_IDENTITY,
                               residual.desc()),
                      MLN_STATUS_OK)
                << mln_last_error();
            // Plain loops over the batch (independent of the library's batch strides).
            for (int64_t i0 = 0; i0 < 2; ++i0) {
                for (int64_t i1 = 0; i1 < 3; ++i1) {
                    for (int64_t m = 0; m < 5; ++m) {
                        for (int64_t n = 0; n < 4; ++n) {
                            double sum = 0;
                            for (int64_t k = 0; k < 7; ++k) {
                                const double av = a.at(i0 * 35 + (ta ? k * 5 + m : m * 7 + k));
                                const double bv = b.at(i1 * 28 + (tb ? n * 7 + k : k * 4 + n));
                                sum += av * bv;
                            }
                            sum += bias.at(n) + residual.at(m * 4 + n);
                            ASSERT_NEAR(c.at(((i0 * 3 + i1) * 5 + m) * 4 + n), sum, 1e-4)
                                << "batch " << i0 << "," << i1 << " element " << m << "," << n;
                        }
                    }
                }
            }
        }
        // Many larger matrices (one thread per matrix and whole-team paths) against the reference.
        for (int64_t size : {20, 130}) {
            HostTensor<float> a({6, size, size + 3});
            HostTensor<float> b({size + 3, size - 1});
            HostTensor<float> c({6, size, size - 1});
            HostTensor<float> want({6, size, size - 1});
            fill_random(a);
            fill_random(b);
            reference::gemm(
                validate_gemm(*device_, a.desc(), 0, b.desc(), 0, want.desc(), 1.0, 0.0, nullptr, MLN_UNARY_OP_RELU));
            ASSERT_EQ(mln_gemm(device_, a.desc(), 0, b.desc(), 0, c.desc(), 1.0, 0.0, nullptr, MLN_UNARY_OP_RELU, nullptr),
                      MLN_STATUS_OK);
            for (int64_t i = 0; i < want.count(); ++i) {
                ASSERT_NEAR(c.at(i), want.at(i), 1e-4 * (1 + std::fabs(want.at(i)))) << "element " << i;
            }
        }
    }
}

TEST_F(GemmResidualTest, InvalidResidualAndBatchShapesAreRejected) {
    HostTensor<float> a({4, 3});
    HostTensor<float> b({3, 5});
    HostTensor<float> c({4, 5});
    HostTensor<float> wrong({4, 6});
    EXPECT_TRUE(failed_with(mln_gemm(device_, a.desc(), 0, b.desc(), 0, c.desc(), 1, 0, nullptr, MLN_UNARY_OP_IDENTITY,
                                     wrong.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_gemm: residual is 4x6 but must broadcast to c's shape 4x5"}));
    HostTensor<double> f64({4, 5});
    EXPECT_TRUE(failed_with(mln_gemm(device_, a.desc(), 0, b.desc(), 0, c.desc(), 1, 0, nullptr, MLN_UNARY_OP_IDENTITY,
                                     f64.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"residual"}));
    // A residual that shares c's memory with other strides (c transposed) is rejected.
    HostTensor<float> square({5, 5});
    HostTensor<float> a5({5, 3});
    mln_tensor_desc transposed = *square.desc();
    std::swap(transposed.strides[0], transposed.strides[1]);
    EXPECT_TRUE(failed_with(mln_gemm(device_, a5.desc(), 0, b.desc(), 0, square.desc(), 1, 0, nullptr,
                                     MLN_UNARY_OP_IDENTITY, &transposed),
                            MLN_STATUS_INVALID_ARGUMENT, {"residual (5x5) overlaps c (5x5) without being the same view"}));
    HostTensor<float> a_batch({2, 4, 3});
    HostTensor<float> b_batch({3, 3, 5});
    HostTensor<float> c_batch({2, 4, 5});
    EXPECT_TRUE(failed_with(mln_gemm(device_, a_batch.desc(), 0, b_batch.desc(), 0, c_batch.desc(), 1, 0, nullptr,
                                     MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"batch dimensions of a (2x4x3) and b (3x3x5) do not broadcast"}));
    HostTensor<float> c_flat({4, 5});
    EXPECT_TRUE(failed_with(mln_gemm(device_, a_batch.desc(), 0, b.desc(), 0, c_flat.desc(), 1, 0, nullptr,
                                     MLN_UNARY_OP_IDENTITY, nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"c is 4x5 but its batch dimensions must be the broadcast"}));
}

}  // namespace
}  // namespace mln::test
