// Bulk conversions between f32 and the 16-bit float storage formats (f16, bf16), the one place
// that turns their arrays into f32 for compute and back.
//
// Every ISA variant gives the bits of the scalar twins in small_float.hpp, so results never
// depend on the ISA:
//  - widening is exact; an f16 NaN becomes the canonical quiet NaN with its sign (as
//    half_to_float), a bf16 NaN keeps its payload (widening bf16 is a shift, as
//    bfloat16_to_float);
//  - narrowing rounds to nearest, ties to even (whatever the MXCSR rounding mode), overflows
//    to infinity, keeps subnormals, and turns NaN into the format's canonical quiet NaN with
//    its sign (as encode_small_float).
#pragma once

#include <myelin.h>

#include <cstdint>

namespace mln::kernels {

using WidenToF32 = void (*)(const uint16_t* source, float* destination, int64_t count);
using NarrowFromF32 = void (*)(const float* source, uint16_t* destination, int64_t count);

struct HalfConverter {
    WidenToF32 widen;
    NarrowFromF32 narrow;
};

// Whether dtype is f16 or bf16.
constexpr bool is_half_dtype(mln_dtype dtype) noexcept { return dtype == MLN_DTYPE_F16 || dtype == MLN_DTYPE_BF16; }

// The converters of `dtype` (f16 or bf16) for `isa` (the best variant that ISA runs).
HalfConverter half_converter(mln_dtype dtype, mln_isa isa);

// Per-ISA variants (kernels/cpu/common/half_convert_{avx2,avx512}.cpp); the scalar twins are
// half_converter(dtype, MLN_ISA_SCALAR).
HalfConverter f16_converter_avx2();
HalfConverter bf16_converter_avx2();
HalfConverter f16_converter_avx512();
HalfConverter bf16_converter_avx512();

}  // namespace mln::kernels
