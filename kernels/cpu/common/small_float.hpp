// Software conversions for the 16-bit float formats (IEEE binary16 and bfloat16).
//
// Encoding works from a double, the widest source: rounding once, directly from the source
// value, avoids the double rounding that double -> float -> half would cause. Round to nearest,
// ties to even, independent of the floating-point environment; overflow gives infinity; NaN
// stays NaN (quiet, sign kept). Decoding is exact.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace mln::kernels {

template <int ExponentBits, int MantissaBits>
struct SmallFloatFormat {
    static constexpr int kExponentBits = ExponentBits;
    static constexpr int kMantissaBits = MantissaBits;
    static constexpr int kBias = (1 << (ExponentBits - 1)) - 1;
    static constexpr int kMinExponent = 1 - kBias;  // exponent of the smallest normal number
    static constexpr uint32_t kExponentMask = (1u << ExponentBits) - 1;
    static constexpr uint16_t kSignBit = static_cast<uint16_t>(1u << (ExponentBits + MantissaBits));
    static constexpr uint16_t kInfinity = static_cast<uint16_t>(kExponentMask << MantissaBits);
    static constexpr uint16_t kQuietNaN = static_cast<uint16_t>(kInfinity | (1u << (MantissaBits - 1)));
};

using HalfFormat = SmallFloatFormat<5, 10>;
using BFloat16Format = SmallFloatFormat<8, 7>;

template <class Format>
uint16_t encode_small_float(double value) noexcept {
    constexpr int M = Format::kMantissaBits;
    const uint16_t sign = std::signbit(value) ? Format::kSignBit : 0;
    if (std::isnan(value)) return sign | Format::kQuietNaN;
    const double magnitude = std::fabs(value);
    if (std::isinf(magnitude)) return sign | Format::kInfinity;
    if (magnitude == 0.0) return sign;

    int exponent = 0;
    std::frexp(magnitude, &exponent);  // magnitude is in [2^(exponent-1), 2^exponent)
    exponent -= 1;
    // Subnormals share the smallest normal exponent: their spacing is fixed.
    if (exponent < Format::kMinExponent) exponent = Format::kMinExponent;

    // Significand scaled to an integer with M fraction bits; the scaling by a power of two is
    // exact, so integer part and remainder are exact too.
    const double scaled = std::ldexp(magnitude, M - exponent);  // below 2^(M+1)
    uint64_t significand = static_cast<uint64_t>(scaled);
    const double remainder = scaled - static_cast<double>(significand);
    if (remainder > 0.5 || (remainder == 0.5 && (significand & 1u) != 0)) ++significand;

    if (significand >= (uint64_t{2} << M)) {  // rounding carried into the next binade
        significand >>= 1;
        ++exponent;
    }
    if (significand < (uint64_t{1} << M)) {  // subnormal (or rounded to zero)
        return sign | static_cast<uint16_t>(significand);
    }
    const int biased = exponent + Format::kBias;
    if (biased >= static_cast<int>(Format::kExponentMask)) return sign | Format::kInfinity;
    return sign | static_cast<uint16_t>((static_cast<uint32_t>(biased) << M) |
                                        static_cast<uint32_t>(significand - (uint64_t{1} << M)));
}

template <class Format>
float decode_small_float(uint16_t bits) noexcept {
    constexpr int M = Format::kMantissaBits;
    const bool negative = (bits & Format::kSignBit) != 0;
    const uint32_t biased = (bits >> M) & Format::kExponentMask;
    const uint32_t mantissa = bits & ((1u << M) - 1);
    float magnitude;
    if (biased == Format::kExponentMask) {
        magnitude = mantissa == 0 ? INFINITY : NAN;
    } else if (biased == 0) {
        magnitude = std::ldexp(static_cast<float>(mantissa), Format::kMinExponent - M);
    } else {
        magnitude = std::ldexp(static_cast<float>(mantissa | (1u << M)), static_cast<int>(biased) - Format::kBias - M);
    }
    return negative ? -magnitude : magnitude;
}

// Storage types of the 16-bit formats and of bool: distinct types so that templates over the
// element type tell them apart from uint16_t/uint8_t.
struct Half {
    uint16_t bits;
};
struct BFloat16 {
    uint16_t bits;
};
// A bool stored as one byte; any nonzero byte reads as true.
struct Bool8 {
    uint8_t value;
};

inline Half half_from_double(double value) noexcept { return Half{encode_small_float<HalfFormat>(value)}; }
inline float half_to_float(Half value) noexcept { return decode_small_float<HalfFormat>(value.bits); }
inline BFloat16 bfloat16_from_double(double value) noexcept {
    return BFloat16{encode_small_float<BFloat16Format>(value)};
}
inline float bfloat16_to_float(BFloat16 value) noexcept {
    // bfloat16 is the upper half of a float: decoding is a shift (NaN payloads survive).
    const uint32_t bits = static_cast<uint32_t>(value.bits) << 16;
    float result;
    std::memcpy(&result, &bits, sizeof(result));
    return result;
}

}  // namespace mln::kernels
