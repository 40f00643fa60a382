// Vector kernels for contiguous runs of elementwise ops, one set per vector ISA
// (elementwise_avx2.cpp, elementwise_avx512.cpp: the same loops of elementwise_vector_loops.hpp
// over that ISA's vector traits). The lookups return nullptr for ops without a vector version
// and for the scalar ISA; callers keep their scalar loop then.
#pragma once

#include <myelin.h>

#include <cstdint>
#include <type_traits>

#include "kernels/cpu/common/streaming_stores.hpp"

namespace mln::kernels {

// y[i] = op(x[i]) for i < n; `stream` selects non-temporal stores (see kStreamingStoreBytes).
using UnaryKernelF32 = void (*)(double alpha, double beta, const float* x, float* y, int64_t n, bool stream);
// dx[i] = dy[i] * op'(...) for i < n, from source[i], which is y where the op's derivative is
// taken from y (kGradFromY) and source_is_y, x otherwise (the op is then applied first).
using UnaryBackwardKernelF32 = void (*)(double alpha, double beta, const float* source, bool source_is_y,
                                        const float* dy, float* dx, int64_t n, bool stream);
// y[i] = op(a[i * a_step], b[i * b_step]) for i < n; a_step and b_step are 0 or 1.
template <class T>
using BinaryKernel = void (*)(const T* a, int64_t a_step, const T* b, int64_t b_step, T* y, int64_t n, bool stream);

// Maximum error in ulp of the f32 transcendentals that the unary kernels of exp, log, tanh,
// sigmoid, erf, expm1 and log1p are (common/vector_math.hpp), at every vector ISA.
constexpr double kExpMaxUlp = 1.5;
constexpr double kLogMaxUlp = 1.5;
constexpr double kTanhMaxUlp = 1.5;
// AVX-512's tanh by intervals (vmath::TanhIntervals): 2.79 measured.
constexpr double kTanhIntervalsMaxUlp = 3.0;
constexpr double kSigmoidMaxUlp = 3.5;
constexpr double kErfMaxUlp = 3.0;
constexpr double kExpm1MaxUlp = 2.0;
constexpr double kLog1pMaxUlp = 2.0;
// The softplus kernel (elementwise_vector_loops.hpp VecSoftplus: exp and log1p_of_fraction):
// 2.26 measured at AVX2; 1.62 at AVX-512 (vmath::SoftplusIntervals within [-7.75, 7.75]).
constexpr double kSoftplusMaxUlp = 2.5;
// The mish kernel (elementwise_vector_loops.hpp VecMish) where its result is normal (x >= -87):
// 4.12 measured.
constexpr double kMishMaxUlp = 4.5;
// The GELU tanh-form kernel (elementwise_vector_loops.hpp VecGeluTanh: x / (1 + e^-2u)): 2.49
// measured for x >= -1; below, where 2u's rounding is multiplied by |2u| in e^-2u, 2.33 (|2u| + 1)
// measured down to x = -10; below -10.06 the result is -0 where the exact one is above -3e-38.
constexpr double kGeluTanhMaxUlp = 3.0;
constexpr double kGeluTanhPerTwiceInnerMaxUlp = 2.5;
// The trigonometric kernels (vmath::sin ...): sin, cos and tan within |x| <= vmath::kTrigLimit,
// beyond it the scalar std:: functions. Measured over every float in range: sin 1.49, cos 1.49,
// tan 3.35, asin 2.06, acos 1.35, atan 1.89.
constexpr double kSinMaxUlp = 2.0;
constexpr double kCosMaxUlp = 2.0;
constexpr double kTanMaxUlp = 3.5;
constexpr double kAsinMaxUlp = 2.5;
constexpr double kAcosMaxUlp = 2.0;
constexpr double kAtanMaxUlp = 2.5;
// The hyperbolic functions and their inverses (common/vector_math.hpp vmath::sinh ...), over
// every 61st float at AVX2 and AVX-512 (asinh, acosh and atanh take log1p, whose AVX-512 table
// gives other bits than AVX2's): sinh 2.46 measured (at |x| = 1.41, just above the polynomial's
// range), cosh 1.45, asinh 1.70 (AVX2) and 2.04 (AVX-512), acosh 1.89 and 2.12, atanh 2.02 and 2.22.
constexpr double kSinhMaxUlp = 3.0;
constexpr double kCoshMaxUlp = 2.0;
constexpr double kAsinhMaxUlp = 2.5;
constexpr double kAcoshMaxUlp = 2.5;
constexpr double kAtanhMaxUlp = 2.5;
// pow (elementwise_vector_loops.hpp VecPow: in double, rounded to float once) where the exact
// result is a normal float: 0.500001 measured (0.5 plus the double result's error, below 1e-12
// relative); std::pow's results for its special cases. glibc's powf (0.82 ulp) differs in 3e-4 of
// the sweep's results.
constexpr double kPowMaxUlp = 1.0;

#if defined(MYELIN_X86_64_KERNELS)
UnaryKernelF32 unary_avx2_f32(mln_unary_op op);
UnaryKernelF32 unary_avx512_f32(mln_unary_op op);
UnaryBackwardKernelF32 unary_backward_avx2_f32(mln_unary_op op);
UnaryBackwardKernelF32 unary_backward_avx512_f32(mln_unary_op op);
BinaryKernel<float> binary_avx2_f32(mln_binary_op op);
BinaryKernel<float> binary_avx512_f32(mln_binary_op op);
BinaryKernel<double> binary_avx2_f64(mln_binary_op op);
BinaryKernel<double> binary_avx512_f64(mln_binary_op op);
#endif

// The kernels of `isa` (nullptr where it has none for op, and at the scalar ISA). Defined in
// elementwise_vector.cpp, compiled without ISA flags, since callers run on any CPU.
UnaryKernelF32 vector_unary_f32(mln_isa isa, mln_unary_op op);
UnaryBackwardKernelF32 vector_unary_backward_f32(mln_isa isa, mln_unary_op op);
BinaryKernel<float> vector_binary_f32(mln_isa isa, mln_binary_op op);
BinaryKernel<double> vector_binary_f64(mln_isa isa, mln_binary_op op);

// vector_binary_f32 or _f64 for T.
template <class T>
BinaryKernel<T> vector_binary(mln_isa isa, mln_binary_op op) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
    if constexpr (std::is_same_v<T, float>) return vector_binary_f32(isa, op);
    else return vector_binary_f64(isa, op);
}

}  // namespace mln::kernels
