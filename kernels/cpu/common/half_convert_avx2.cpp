// f32 <-> f16 with F16C, f32 <-> bf16 with AVX2 integer arithmetic; 8 elements a step. A tail
// shorter than a step goes through the same code via a small zero-padded buffer, so every
// element takes the one path the tests check against the scalar twins.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/common/half_convert.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kStep = 8;

// Runs step(source, destination) on every full step, then on the zero-padded tail.
template <class From, class To, class Step>
void convert_in_steps(const From* source, To* destination, int64_t count, Step step) {
    int64_t i = 0;
    for (; i + kStep <= count; i += kStep) step(source + i, destination + i);
    if (i < count) {
        From padded_source[kStep] = {};
        To padded_destination[kStep];
        const auto rest = static_cast<size_t>(count - i);
        std::memcpy(padded_source, source + i, rest * sizeof(From));
        step(padded_source, padded_destination);
        std::memcpy(destination + i, padded_destination, rest * sizeof(To));
    }
}

void widen_f16(const uint16_t* source, float* destination, int64_t count) {
    const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
    const __m256 quiet_nan = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fc00000));
    convert_in_steps(source, destination, count, [&](const uint16_t* s, float* d) {
        const __m256 value = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
        // F16C keeps NaN payloads; the scalar twin gives the canonical quiet NaN.
        const __m256 nan = _mm256_cmp_ps(value, value, _CMP_UNORD_Q);
        _mm256_storeu_ps(d, _mm256_blendv_ps(value, _mm256_or_ps(_mm256_and_ps(value, sign), quiet_nan), nan));
    });
}

void narrow_f16(const float* source, uint16_t* destination, int64_t count) {
    const __m128i magnitude = _mm_set1_epi16(0x7fff);
    const __m128i infinity = _mm_set1_epi16(0x7c00);
    const __m128i sign = _mm_set1_epi16(static_cast<short>(0x8000));
    const __m128i quiet_nan = _mm_set1_epi16(0x7e00);
    convert_in_steps(source, destination, count, [&](const float* s, uint16_t* d) {
        // The immediate rounding mode makes the result independent of MXCSR.
        const __m128i half = _mm256_cvtps_ph(_mm256_loadu_ps(s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        // Only a NaN input gives a NaN output; F16C keeps its top payload bits, the twin does not.
        const __m128i nan = _mm_cmpgt_epi16(_mm_and_si128(half, magnitude), infinity);
        const __m128i canonical = _mm_or_si128(_mm_and_si128(half, sign), quiet_nan);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_blendv_epi8(half, canonical, nan));
    });
}

void widen_bf16(const uint16_t* source, float* destination, int64_t count) {
    convert_in_steps(source, destination, count, [](const uint16_t* s, float* d) {
        const __m256i bits = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), _mm256_slli_epi32(bits, 16));
    });
}

void narrow_bf16(const float* source, uint16_t* destination, int64_t count) {
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i below_half = _mm256_set1_epi32(0x7fff);
    const __m256i sign = _mm256_set1_epi32(0x8000);
    const __m256i quiet_nan = _mm256_set1_epi32(0x7fc0);
    convert_in_steps(source, destination, count, [&](const float* s, uint16_t* d) {
        const __m256 value = _mm256_loadu_ps(s);
        const __m256i bits = _mm256_castps_si256(value);
        const __m256i upper = _mm256_srli_epi32(bits, 16);
        // Round to nearest even on the integer: adding 0x7fff (+1 when the kept part is odd)
        // carries into the upper half exactly when the dropped half is above (or at) the tie;
        // a carry out of the largest finite value gives infinity, as it should.
        const __m256i rounded =
            _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(below_half, _mm256_and_si256(upper, one))), 16);
        const __m256i canonical = _mm256_or_si256(_mm256_and_si256(upper, sign), quiet_nan);
        const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(value, value, _CMP_UNORD_Q));
        const __m256i result = _mm256_blendv_epi8(rounded, canonical, nan);
        // Lanes hold 0..0xffff, so the unsigned saturating pack only narrows.
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d),
                         _mm_packus_epi32(_mm256_castsi256_si128(result), _mm256_extracti128_si256(result, 1)));
    });
}

}  // namespace

HalfConverter f16_converter_avx2() { return {widen_f16, narrow_f16}; }
HalfConverter bf16_converter_avx2() { return {widen_bf16, narrow_bf16}; }

}  // namespace mln::kernels
