// Philox4x32-10 known answers, dropout against its sequential reference twin, invariance to
// thread count and strides, keep-rate statistics and 1/(1-p) scaling.
#include <cmath>
#include <vector>

#include "kernel_test_support.hpp"
#include "kernels/cpu/random/philox.hpp"
#include "kernels/cpu/reference/reference_elementwise.hpp"

namespace mln::test {
namespace {

class DropoutTest : public CpuDeviceTest {};

TEST(PhiloxTest, KnownAnswers) {
    // Known-answer vectors of the Random123 distribution (kat_vectors, philox4x32 10 rounds).
    using kernels::philox4x32_10;
    EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (kernels::PhiloxBlock{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
    EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
              (kernels::PhiloxBlock{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
    EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
              (kernels::PhiloxBlock{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST_F(DropoutTest, MatchesReferenceAndIgnoresThreadsAndStrides) {
    const std::vector<int64_t> shape = {67, 129, 5};
    HostTensor<float> x(shape);
    for (int64_t i = 0; i < x.count(); ++i) x.at(i) = static_cast<float>(uniform(-3, 3));
    HostTensor<float> want(shape);
    HostTensor<kernels::Bool8> want_mask(shape);
    reference::dropout(0.3, 1234, 77, x.view(), want.view(), want_mask.view());

    at_thread_counts(device_, {1, 2, 3, 7}, [&] {
        HostTensor<float> y(shape, random_strides(shape));
        HostTensor<kernels::Bool8> mask(shape, random_strides(shape));
        ASSERT_EQ(mln_dropout(device_, 0.3, 1234, 77, x.desc(), y.desc(), mask.desc()), MLN_STATUS_OK) << mln_last_error();
        for (int64_t i = 0; i < x.count(); ++i) {
            ASSERT_EQ(mask.at(i).value, want_mask.at(i).value) << "element " << i;
            ASSERT_NEAR(y.at(i), want.at(i), 1e-6f * std::fabs(want.at(i))) << "element " << i;
        }
    });
}

TEST_F(DropoutTest, KeepRateScalingAndOffset) {
    const int64_t n = 1 << 20;
    HostTensor<double> x({n});
    HostTensor<double> y({n});
    HostTensor<kernels::Bool8> mask({n});
    for (int64_t i = 0; i < n; ++i) x.at(i) = 1.0 + static_cast<double>(i % 3);
    for (double p : {0.1, 0.5, 0.9}) {
        ASSERT_EQ(mln_dropout(device_, p, 42, 0, x.desc(), y.desc(), mask.desc()), MLN_STATUS_OK);
        int64_t kept = 0;
        for (int64_t i = 0; i < n; ++i) {
            if (mask.at(i).value != 0) {
                ++kept;
                ASSERT_DOUBLE_EQ(y.at(i), x.at(i) / (1 - p));
            } else {
                ASSERT_EQ(y.at(i), 0.0);
            }
        }
        // Binomial: 6 standard deviations.
        const double expected = static_cast<double>(n) * (1 - p);
        EXPECT_NEAR(static_cast<double>(kept), expected, 6 * std::sqrt(expected * p)) << "p " << p;
    }
    // The offset shifts the stream: element i with offset k decides like element i + k with offset 0.
    HostTensor<double> shifted({n - 5});
    HostTensor<kernels::Bool8> shifted_mask({n - 5});
    HostTensor<double> xs({n - 5});
    for (int64_t i = 0; i < n - 5; ++i) xs.at(i) = 1.0;
    ASSERT_EQ(mln_dropout(device_, 0.5, 42, 0, x.desc(), y.desc(), mask.desc()), MLN_STATUS_OK);
    ASSERT_EQ(mln_dropout(device_, 0.5, 42, 5, xs.desc(), shifted.desc(), shifted_mask.desc()), MLN_STATUS_OK);
    for (int64_t i = 0; i < n - 5; ++i) ASSERT_EQ(shifted_mask.at(i).value, mask.at(i + 5).value) << i;
    // p = 0 copies; a different seed gives a different mask.
    ASSERT_EQ(mln_dropout(device_, 0.0, 42, 0, x.desc(), y.desc(), nullptr), MLN_STATUS_OK);
    for (int64_t i = 0; i < n; i += 997) ASSERT_EQ(y.at(i), x.at(i));
    HostTensor<kernels::Bool8> other({n});
    ASSERT_EQ(mln_dropout(device_, 0.5, 43, 0, x.desc(), y.desc(), other.desc()), MLN_STATUS_OK);
    int64_t same = 0;
    for (int64_t i = 0; i < n; ++i) same += other.at(i).value == mask.at(i).value ? 1 : 0;
    EXPECT_LT(same, n * 6 / 10);
}

TEST_F(DropoutTest, Validation) {
    HostTensor<float> x({4});
    HostTensor<float> y({4});
    HostTensor<float> float_mask({4});
    EXPECT_TRUE(failed_with(mln_dropout(device_, 1.0, 0, 0, x.desc(), y.desc(), nullptr), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_dropout", "p is 1"}));
    EXPECT_TRUE(failed_with(mln_dropout(device_, -0.1, 0, 0, x.desc(), y.desc(), nullptr), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_dropout", "p is -0.1"}));
    EXPECT_TRUE(failed_with(mln_dropout(device_, 0.5, 0, 0, x.desc(), y.desc(), float_mask.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_dropout", "mask is f32"}));
}

}  // namespace
}  // namespace mln::test
