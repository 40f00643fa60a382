// f32 <-> f16 with AVX-512 F (vcvtph2ps/vcvtps2ph on 16 lanes), f32 <-> bf16 with AVX-512
// integer arithmetic; 16 elements a step, the tail under a lane mask (the masked forms
// throughout also keep GCC 12 from warning about the unmasked ones' undefined pass-through). The AVX-512 BF16
// instruction vcvtneps2bf16 is not used: it needs a separate CPUID bit (AVX512_BF16) and
// would save two integer operations on a loop bound by memory.
#include <immintrin.h>

#include "kernels/cpu/common/half_convert.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kStep = 16;

// Runs step(offset, lane mask) over [0, count) in steps of 16 lanes.
template <class Step>
void for_each_step(int64_t count, Step step) {
    int64_t i = 0;
    for (; i + kStep <= count; i += kStep) step(i, static_cast<__mmask16>(0xffff));
    if (i < count) step(i, static_cast<__mmask16>((1u << (count - i)) - 1));
}

void widen_f16(const uint16_t* source, float* destination, int64_t count) {
    const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    const __m512i quiet_nan = _mm512_set1_epi32(0x7fc00000);
    for_each_step(count, [&](int64_t i, __mmask16 lanes) {
        const __m512 value = _mm512_maskz_cvtph_ps(lanes, _mm256_maskz_loadu_epi16(lanes, source + i));
        // vcvtph2ps keeps NaN payloads; the scalar twin gives the canonical quiet NaN.
        const __mmask16 nan = _mm512_cmp_ps_mask(value, value, _CMP_UNORD_Q);
        const __m512i canonical = _mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(value), sign), quiet_nan);
        _mm512_mask_storeu_ps(destination + i, lanes, _mm512_mask_mov_ps(value, nan, _mm512_castsi512_ps(canonical)));
    });
}

void narrow_f16(const float* source, uint16_t* destination, int64_t count) {
    const __m256i sign = _mm256_set1_epi16(static_cast<short>(0x8000));
    const __m256i quiet_nan = _mm256_set1_epi16(0x7e00);
    for_each_step(count, [&](int64_t i, __mmask16 lanes) {
        const __m512 value = _mm512_maskz_loadu_ps(lanes, source + i);
        // The immediate rounding mode makes the result independent of MXCSR.
        const __m256i half = _mm512_maskz_cvtps_ph(lanes, value, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __mmask16 nan = _mm512_cmp_ps_mask(value, value, _CMP_UNORD_Q);
        const __m256i canonical = _mm256_or_si256(_mm256_and_si256(half, sign), quiet_nan);
        _mm256_mask_storeu_epi16(destination + i, lanes, _mm256_mask_blend_epi16(nan, half, canonical));
    });
}

void widen_bf16(const uint16_t* source, float* destination, int64_t count) {
    for_each_step(count, [&](int64_t i, __mmask16 lanes) {
        const __m512i bits = _mm512_maskz_cvtepu16_epi32(lanes, _mm256_maskz_loadu_epi16(lanes, source + i));
        _mm512_mask_storeu_epi32(destination + i, lanes, _mm512_maskz_slli_epi32(lanes, bits, 16));
    });
}

void narrow_bf16(const float* source, uint16_t* destination, int64_t count) {
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i below_half = _mm512_set1_epi32(0x7fff);
    const __m512i sign = _mm512_set1_epi32(0x8000);
    const __m512i quiet_nan = _mm512_set1_epi32(0x7fc0);
    for_each_step(count, [&](int64_t i, __mmask16 lanes) {
        const __m512 value = _mm512_maskz_loadu_ps(lanes, source + i);
        const __m512i bits = _mm512_castps_si512(value);
        const __m512i upper = _mm512_maskz_srli_epi32(lanes, bits, 16);
        // Round to nearest even on the integer (see the AVX2 twin).
        const __m512i rounded =
            _mm512_maskz_srli_epi32(lanes, _mm512_add_epi32(bits, _mm512_add_epi32(below_half, _mm512_and_si512(upper, one))), 16);
        const __m512i canonical = _mm512_or_si512(_mm512_and_si512(upper, sign), quiet_nan);
        const __mmask16 nan = _mm512_cmp_ps_mask(value, value, _CMP_UNORD_Q);
        _mm256_mask_storeu_epi16(destination + i, lanes, _mm512_maskz_cvtepi32_epi16(lanes, _mm512_mask_mov_epi32(rounded, nan, canonical)));
    });
}

}  // namespace

HalfConverter f16_converter_avx512() { return {widen_f16, narrow_f16}; }
HalfConverter bf16_converter_avx512() { return {widen_bf16, narrow_bf16}; }

}  // namespace mln::kernels
