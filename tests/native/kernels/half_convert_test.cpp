// The bulk f32 <-> f16/bf16 converters of every available ISA against the scalar twins
// (decode_small_float / encode_small_float), bit for bit.
#include "kernels/cpu/common/half_convert.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "kernels/cpu/common/small_float.hpp"
#include "test_support.hpp"

namespace mln::test {
namespace {

using kernels::half_converter;
using kernels::HalfConverter;

uint32_t bits_of(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return bits;
}

float float_of(uint32_t bits) {
    float value;
    std::memcpy(&value, &bits, sizeof(value));
    return value;
}

// Widening each of the 65536 patterns, through the vector body and masked/padded tails.
void expect_widening_matches_twin(mln_dtype dtype) {
    std::vector<uint16_t> all(65536);
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
    const HalfConverter twin = half_converter(dtype, MLN_ISA_SCALAR);
    std::vector<float> want(all.size());
    twin.widen(all.data(), want.data(), static_cast<int64_t>(all.size()));
    for (mln_isa isa : available_isas()) {
        const HalfConverter converter = half_converter(dtype, isa);
        // Offsets and lengths that are not multiples of 8 or 16 exercise the tails.
        for (const int64_t offset : {0, 1, 7, 13}) {
            for (const int64_t count : {0, 1, 5, 8, 15, 16, 17, 31, 33, 65536 - 13}) {
                std::vector<float> got(static_cast<size_t>(count) + 1, -7.0f);
                converter.widen(all.data() + offset, got.data(), count);
                for (int64_t i = 0; i < count; ++i) {
                    ASSERT_EQ(bits_of(got[i]), bits_of(want[offset + i]))
                        << "isa " << isa << " pattern 0x" << std::hex << (offset + i);
                }
                ASSERT_EQ(got[count], -7.0f) << "wrote past the end, isa " << isa;
            }
        }
    }
}

TEST(HalfConvert, WideningEveryF16PatternMatchesTwin) { expect_widening_matches_twin(MLN_DTYPE_F16); }
TEST(HalfConvert, WideningEveryBf16PatternMatchesTwin) { expect_widening_matches_twin(MLN_DTYPE_BF16); }

// f32 inputs for narrowing: every special class, the neighbours of every tie and boundary of
// both formats, and random bit patterns (NaNs with payloads and f32 subnormals included).
std::vector<float> narrowing_inputs() {
    std::vector<float> values = {0.0f, -0.0f, INFINITY, -INFINITY, std::numeric_limits<float>::max(),
                                 -std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
                                 -std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(),
                                 65504.0f, 65519.99f, 65520.0f, -65520.0f, 1e10f, std::ldexp(1.0f, -24),
                                 std::ldexp(1.0f, -25), 3 * std::ldexp(1.0f, -26), std::ldexp(1023.5f, -24)};
    for (uint32_t nan : {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800001u, 0x7fbfffffu, 0x7fffffffu, 0x7f802000u})
        values.push_back(float_of(nan));
    // Around the midpoint between consecutive 16-bit values of each format: the tie and its
    // f32 neighbours (f16 ties sit 13 bits down, bf16 ties 16 bits down in the f32 pattern).
    for (uint32_t h = 0; h < 0x7c00; h += 37) {
        const float low = kernels::decode_small_float<kernels::HalfFormat>(static_cast<uint16_t>(h));
        const float high = kernels::decode_small_float<kernels::HalfFormat>(static_cast<uint16_t>(h + 1));
        const float tie = low + (high - low) / 2;
        for (float v : {tie, std::nextafter(tie, 0.0f), std::nextafter(tie, INFINITY)}) {
            values.push_back(v);
            values.push_back(-v);
        }
    }
    for (uint32_t upper = 0; upper < 0x7f80; upper += 29) {
        const uint32_t tie = (upper << 16) | 0x8000u;
        for (uint32_t bits : {tie, tie - 1, tie + 1, (upper << 16) | 0xffffu}) {
            values.push_back(float_of(bits));
            values.push_back(float_of(bits | 0x80000000u));
        }
    }
    for (int i = 0; i < 200000; ++i) values.push_back(float_of(static_cast<uint32_t>(rng()())));
    // Values in f16's range, where random bit patterns rarely land.
    for (int i = 0; i < 50000; ++i) values.push_back(static_cast<float>(uniform(-70000.0, 70000.0) * std::pow(2.0, -uniform_int(0, 30))));
    return values;
}

void expect_narrowing_matches_twin(mln_dtype dtype) {
    const std::vector<float> inputs = narrowing_inputs();
    const auto n = static_cast<int64_t>(inputs.size());
    const HalfConverter twin = half_converter(dtype, MLN_ISA_SCALAR);
    std::vector<uint16_t> want(inputs.size());
    twin.narrow(inputs.data(), want.data(), n);
    for (mln_isa isa : available_isas()) {
        const HalfConverter converter = half_converter(dtype, isa);
        for (const int64_t offset : {0, 3}) {
            for (const int64_t count : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{9}, int64_t{16}, int64_t{23}, n - offset}) {
                std::vector<uint16_t> got(static_cast<size_t>(count) + 1, 0xabcd);
                converter.narrow(inputs.data() + offset, got.data(), count);
                for (int64_t i = 0; i < count; ++i) {
                    ASSERT_EQ(got[i], want[offset + i]) << "isa " << isa << " input " << inputs[offset + i]
                                                        << " (0x" << std::hex << bits_of(inputs[offset + i]) << ")";
                }
                ASSERT_EQ(got[count], 0xabcd) << "wrote past the end, isa " << isa;
            }
        }
    }
}

TEST(HalfConvert, NarrowingToF16MatchesTwin) { expect_narrowing_matches_twin(MLN_DTYPE_F16); }
TEST(HalfConvert, NarrowingToBf16MatchesTwin) { expect_narrowing_matches_twin(MLN_DTYPE_BF16); }

// The twins themselves: NaN stays NaN with its sign, and the documented canonical patterns.
TEST(HalfConvert, TwinsCanonicalizeNaNAndKeepSign) {
    const float nans[] = {float_of(0x7f800001u), float_of(0xffc01234u)};
    uint16_t out[2];
    half_converter(MLN_DTYPE_F16, MLN_ISA_SCALAR).narrow(nans, out, 2);
    EXPECT_EQ(out[0], 0x7e00);
    EXPECT_EQ(out[1], 0xfe00);
    half_converter(MLN_DTYPE_BF16, MLN_ISA_SCALAR).narrow(nans, out, 2);
    EXPECT_EQ(out[0], 0x7fc0);
    EXPECT_EQ(out[1], 0xffc0);
    const uint16_t half_nans[] = {0x7c01, 0xfe55};
    float widened[2];
    half_converter(MLN_DTYPE_F16, MLN_ISA_SCALAR).widen(half_nans, widened, 2);
    EXPECT_EQ(bits_of(widened[0]), 0x7fc00000u);
    EXPECT_EQ(bits_of(widened[1]), 0xffc00000u);
}

TEST(HalfConvert, RejectsOtherDtypes) {
    EXPECT_THROW(half_converter(MLN_DTYPE_F32, MLN_ISA_SCALAR), Error);
}

}  // namespace
}  // namespace mln::test
