// The softmax row kernels (softmax_vector_loops.hpp) instantiated for Avx512.
#include "kernels/cpu/common/vector_math_avx512.hpp"
#include "kernels/cpu/softmax/softmax_vector_loops.hpp"

namespace mln::kernels {

SoftmaxKernelsF32 softmax_avx512_f32() { return softmax_loops::kernels<Avx512F32>(); }

}  // namespace mln::kernels
