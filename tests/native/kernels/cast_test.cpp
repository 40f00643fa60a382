#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::test {
namespace {

using kernels::BFloat16;
using kernels::Bool8;
using kernels::Half;

class CastTest : public CpuDeviceTest {};

template <class From, class To>
void check_cast_pair(mln_device* device) {
    const auto shape = random_shape(3, 7);
    HostTensor<From> x(shape, random_strides(shape));
    HostTensor<To> y(shape, random_strides(shape));
    HostTensor<To> want(shape);
    fill_random(x);
    ASSERT_EQ(mln_cast(device, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::cast(x.view(), want.view());
    EXPECT_TRUE(same_elements(y, want)) << dtype_of<From>() << " -> " << dtype_of<To>();
}

template <class From>
void check_cast_from(mln_device* device) {
    check_cast_pair<From, float>(device);
    check_cast_pair<From, double>(device);
    check_cast_pair<From, Half>(device);
    check_cast_pair<From, BFloat16>(device);
    check_cast_pair<From, uint8_t>(device);
    check_cast_pair<From, int8_t>(device);
    check_cast_pair<From, int32_t>(device);
    check_cast_pair<From, int64_t>(device);
    check_cast_pair<From, Bool8>(device);
}

TEST_F(CastTest, AllPairsMatchReference) {
    for (int trial = 0; trial < 3; ++trial) {
        check_cast_from<float>(device_);
        check_cast_from<double>(device_);
        check_cast_from<Half>(device_);
        check_cast_from<BFloat16>(device_);
        check_cast_from<uint8_t>(device_);
        check_cast_from<int8_t>(device_);
        check_cast_from<int32_t>(device_);
        check_cast_from<int64_t>(device_);
        check_cast_from<Bool8>(device_);
    }
}

TEST_F(CastTest, FloatToIntegerTruncatesSaturatesAndMapsNaNToZero) {
    HostTensor<double> x({8});
    const double values[] = {2.9, -2.9, 1e30, -1e30, NAN, INFINITY, -0.5, 9.2233720368547758e18};
    for (int i = 0; i < 8; ++i) x.at(i) = values[i];
    HostTensor<int32_t> y32({8});
    ASSERT_EQ(mln_cast(device_, x.desc(), y32.desc()), MLN_STATUS_OK);
    const int32_t want32[] = {2, -2, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 0,
                              std::numeric_limits<int32_t>::max(), 0, std::numeric_limits<int32_t>::max()};
    for (int i = 0; i < 8; ++i) EXPECT_EQ(y32.at(i), want32[i]) << values[i];
    HostTensor<int64_t> y64({8});
    ASSERT_EQ(mln_cast(device_, x.desc(), y64.desc()), MLN_STATUS_OK);
    EXPECT_EQ(y64.at(7), std::numeric_limits<int64_t>::max()) << "2^63 saturates";
    HostTensor<uint8_t> u8({8});
    ASSERT_EQ(mln_cast(device_, x.desc(), u8.desc()), MLN_STATUS_OK);
    EXPECT_EQ(u8.at(1), 0) << "negative saturates at 0";
    EXPECT_EQ(u8.at(2), 255);
}

TEST_F(CastTest, BoolAndIntegerWrapping) {
    HostTensor<float> x({4});
    x.at(0) = 0.0f, x.at(1) = -0.0f, x.at(2) = NAN, x.at(3) = 0.25f;
    HostTensor<Bool8> b({4});
    ASSERT_EQ(mln_cast(device_, x.desc(), b.desc()), MLN_STATUS_OK);
    EXPECT_EQ(b.at(0).value, 0);
    EXPECT_EQ(b.at(1).value, 0);
    EXPECT_EQ(b.at(2).value, 1) << "NaN is nonzero";
    EXPECT_EQ(b.at(3).value, 1);

    HostTensor<int32_t> i({2});
    i.at(0) = 300, i.at(1) = -129;
    HostTensor<int8_t> narrow({2});
    ASSERT_EQ(mln_cast(device_, i.desc(), narrow.desc()), MLN_STATUS_OK);
    EXPECT_EQ(narrow.at(0), 44) << "wraps modulo 256";
    EXPECT_EQ(narrow.at(1), 127);

    HostTensor<Bool8> raw({1});
    raw.at(0).value = 7;  // any nonzero byte reads as true
    HostTensor<float> f({1});
    ASSERT_EQ(mln_cast(device_, raw.desc(), f.desc()), MLN_STATUS_OK);
    EXPECT_EQ(f.at(0), 1.0f);
}

TEST_F(CastTest, HalfFromDoubleRoundsOnce) {
    HostTensor<double> x({1});
    x.at(0) = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
    HostTensor<Half> h({1});
    ASSERT_EQ(mln_cast(device_, x.desc(), h.desc()), MLN_STATUS_OK);
    EXPECT_EQ(h.at(0).bits, 0x3c01);
}

// Contiguous f32 <-> f16/bf16 runs take the vector converters: at every ISA, over more
// elements than one parallel chunk, with random bit patterns (NaN, Inf, subnormals), the bits
// equal the reference's.
template <class Half16>
void check_contiguous_half_casts(mln_device* device) {
    const int64_t count = 100003;
    HostTensor<float> wide({count});
    for (int64_t i = 0; i < count; ++i) {
        const auto bits = static_cast<uint32_t>(rng()());
        std::memcpy(&wide.at(i), &bits, sizeof(bits));
        if (i % 3 == 0) wide.at(i) = static_cast<float>(uniform(-70000.0, 70000.0));
    }
    HostTensor<Half16> want_narrow({count});
    reference::cast(wide.view(), want_narrow.view());
    HostTensor<float> want_wide({count});
    reference::cast(want_narrow.view(), want_wide.view());
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        HostTensor<Half16> narrow({count});
        ASSERT_EQ(mln_cast(device, wide.desc(), narrow.desc()), MLN_STATUS_OK) << mln_last_error();
        EXPECT_EQ(std::memcmp(narrow.storage().data(), want_narrow.storage().data(), count * sizeof(Half16)), 0)
            << "narrowing, isa " << isa;
        HostTensor<float> back({count});
        ASSERT_EQ(mln_cast(device, narrow.desc(), back.desc()), MLN_STATUS_OK) << mln_last_error();
        EXPECT_EQ(std::memcmp(back.storage().data(), want_wide.storage().data(), count * sizeof(float)), 0)
            << "widening, isa " << isa;
    }
}

TEST_F(CastTest, ContiguousHalfRunsMatchReferenceAtEveryIsa) {
    check_contiguous_half_casts<Half>(device_);
    check_contiguous_half_casts<BFloat16>(device_);
}

}  // namespace
}  // namespace mln::test
