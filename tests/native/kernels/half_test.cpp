#include "kernels/cpu/common/small_float.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

#include "test_support.hpp"

namespace mln::test {
namespace {

using kernels::BFloat16Format;
using kernels::decode_small_float;
using kernels::encode_small_float;
using kernels::HalfFormat;

template <class Format>
void expect_all_patterns_round_trip() {
    for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
        const float value = decode_small_float<Format>(static_cast<uint16_t>(bits));
        const uint16_t back = encode_small_float<Format>(value);
        if (std::isnan(value)) {
            EXPECT_TRUE(std::isnan(decode_small_float<Format>(back))) << bits;
        } else {
            ASSERT_EQ(back, bits) << "value " << value;
        }
    }
}

TEST(Half, EveryPatternRoundTrips) { expect_all_patterns_round_trip<HalfFormat>(); }
TEST(BFloat16, EveryPatternRoundTrips) { expect_all_patterns_round_trip<BFloat16Format>(); }

TEST(Half, SpecialValuesAndRounding) {
    EXPECT_EQ(encode_small_float<HalfFormat>(0.0), 0x0000);
    EXPECT_EQ(encode_small_float<HalfFormat>(-0.0), 0x8000);
    EXPECT_EQ(encode_small_float<HalfFormat>(1.0), 0x3c00);
    EXPECT_EQ(encode_small_float<HalfFormat>(-2.0), 0xc000);
    EXPECT_EQ(encode_small_float<HalfFormat>(INFINITY), 0x7c00);
    EXPECT_EQ(encode_small_float<HalfFormat>(-INFINITY), 0xfc00);
    const uint16_t nan = encode_small_float<HalfFormat>(std::nan(""));
    EXPECT_EQ(nan & 0x7c00, 0x7c00);
    EXPECT_NE(nan & 0x03ff, 0);
    EXPECT_EQ(encode_small_float<HalfFormat>(65504.0), 0x7bff);
    EXPECT_EQ(encode_small_float<HalfFormat>(65519.99), 0x7bff);
    EXPECT_EQ(encode_small_float<HalfFormat>(65520.0), 0x7c00) << "the tie above the maximum goes to infinity";
    EXPECT_EQ(encode_small_float<HalfFormat>(1e10), 0x7c00);
    // Ties to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
    EXPECT_EQ(encode_small_float<HalfFormat>(1.0 + std::ldexp(1.0, -11)), 0x3c00);
    EXPECT_EQ(encode_small_float<HalfFormat>(1.0 + 3 * std::ldexp(1.0, -11)), 0x3c02);
    // Subnormals: 2^-24 is the smallest; 2^-25 is a tie with zero.
    EXPECT_EQ(encode_small_float<HalfFormat>(std::ldexp(1.0, -24)), 0x0001);
    EXPECT_EQ(encode_small_float<HalfFormat>(std::ldexp(1.0, -25)), 0x0000);
    EXPECT_EQ(encode_small_float<HalfFormat>(3 * std::ldexp(1.0, -26)), 0x0001);
    EXPECT_EQ(encode_small_float<HalfFormat>(std::ldexp(1023.5, -24)), 0x0400) << "rounds up into the normals";
    // One rounding from double: via float this would first round to the tie and then to even.
    EXPECT_EQ(encode_small_float<HalfFormat>(1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)), 0x3c01);
}

TEST(BFloat16, SpecialValuesAndRounding) {
    EXPECT_EQ(encode_small_float<BFloat16Format>(1.0), 0x3f80);
    EXPECT_EQ(encode_small_float<BFloat16Format>(1.0 + std::ldexp(1.0, -8)), 0x3f80);
    EXPECT_EQ(encode_small_float<BFloat16Format>(1.0 + 3 * std::ldexp(1.0, -8)), 0x3f82);
    EXPECT_EQ(encode_small_float<BFloat16Format>(std::numeric_limits<float>::max()), 0x7f80);
    EXPECT_EQ(encode_small_float<BFloat16Format>(-INFINITY), 0xff80);
    EXPECT_EQ(encode_small_float<BFloat16Format>(std::ldexp(1.0, -133)), 0x0001);
    EXPECT_TRUE(std::isnan(decode_small_float<BFloat16Format>(encode_small_float<BFloat16Format>(NAN))));
    EXPECT_EQ(kernels::bfloat16_to_float(kernels::BFloat16{0x4049}), 3.140625f);
}

// For random doubles the result must be a nearest representable value, even on ties.
template <class Format>
void expect_nearest(double low_exponent, double high_exponent) {
    for (int i = 0; i < 20000; ++i) {
        const double x = std::ldexp(uniform(1.0, 2.0), static_cast<int>(uniform(low_exponent, high_exponent)));
        const uint16_t bits = encode_small_float<Format>(x);
        const double v = decode_small_float<Format>(bits);
        if (std::isinf(v)) continue;
        const double up = decode_small_float<Format>(static_cast<uint16_t>(bits + 1));
        const double error = std::fabs(x - v);
        EXPECT_LE(error, std::fabs(up - x)) << x;
        if (bits > 0) {
            const double down = decode_small_float<Format>(static_cast<uint16_t>(bits - 1));
            EXPECT_LE(error, std::fabs(x - down)) << x;
            if (error == std::fabs(x - down)) {
                EXPECT_EQ(bits % 2, 0) << "tie must go to even: " << x;
            }
        }
        if (error == std::fabs(up - x)) {
            EXPECT_EQ(bits % 2, 0) << "tie must go to even: " << x;
        }
    }
}

TEST(Half, RandomValuesRoundToNearest) { expect_nearest<HalfFormat>(-26, 16); }
TEST(BFloat16, RandomValuesRoundToNearest) { expect_nearest<BFloat16Format>(-135, 127); }

}  // namespace
}  // namespace mln::test
