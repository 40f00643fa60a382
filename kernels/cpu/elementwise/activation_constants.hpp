// The constants in the activations' formulas, defined once for the scalar ops (unary_ops.hpp)
// and the vector loops (elementwise_vector_loops.hpp, which round them to float).
#pragma once

namespace mln::kernels::detail {

constexpr double kSqrt2OverPi = 0.79788456080286535588;   // sqrt(2 / pi)
constexpr double kInvSqrt2 = 0.70710678118654752440;       // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;     // 1 / sqrt(2 pi)
constexpr double kTwoOverSqrtPi = 1.12837916709551257390;  // 2 / sqrt(pi)
constexpr double kGeluTanhCubic = 0.044715;
constexpr double kSeluAlpha = 1.67326324235437728482;
constexpr double kSeluLambda = 1.05070098735548049342;

}  // namespace mln::kernels::detail
