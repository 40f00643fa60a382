// The softmax row kernels (softmax_vector_loops.hpp) instantiated for Avx2.
#include "kernels/cpu/common/vector_math_avx2.hpp"
#include "kernels/cpu/softmax/softmax_vector_loops.hpp"

namespace mln::kernels {

SoftmaxKernelsF32 softmax_avx2_f32() { return softmax_loops::kernels<Avx2F32>(); }

}  // namespace mln::kernels
