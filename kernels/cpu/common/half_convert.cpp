#include "kernels/cpu/common/half_convert.hpp"

#include "core/error.hpp"
#include "core/dtype.hpp"
#include "core/text.hpp"
#include "kernels/cpu/common/small_float.hpp"

namespace mln::kernels {
namespace {

void widen_f16_scalar(const uint16_t* source, float* destination, int64_t count) {
    for (int64_t i = 0; i < count; ++i) destination[i] = half_to_float(Half{source[i]});
}

void widen_bf16_scalar(const uint16_t* source, float* destination, int64_t count) {
    for (int64_t i = 0; i < count; ++i) destination[i] = bfloat16_to_float(BFloat16{source[i]});
}

template <class Format>
void narrow_scalar(const float* source, uint16_t* destination, int64_t count) {
    for (int64_t i = 0; i < count; ++i) destination[i] = encode_small_float<Format>(source[i]);
}

}  // namespace

HalfConverter half_converter(mln_dtype dtype, mln_isa isa) {
    const bool half = dtype == MLN_DTYPE_F16;
    if (!half && dtype != MLN_DTYPE_BF16) {
        throw Error(MLN_STATUS_INTERNAL, cat("half_converter called for dtype ", dtype_name(dtype)));
    }
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return half ? f16_converter_avx512() : bf16_converter_avx512();
    if (isa == MLN_ISA_AVX2) return half ? f16_converter_avx2() : bf16_converter_avx2();
#endif
    (void)isa;
    if (half) return {widen_f16_scalar, narrow_scalar<HalfFormat>};
    return {widen_bf16_scalar, narrow_scalar<BFloat16Format>};
}

}  // namespace mln::kernels
