// The elementwise vector kernels (elementwise_vector_loops.hpp) instantiated for Avx512.
#include "kernels/cpu/common/vector_math_avx512.hpp"
#include "kernels/cpu/elementwise/elementwise_vector_loops.hpp"

namespace mln::kernels {

UnaryKernelF32 unary_avx512_f32(mln_unary_op op) { return vector_loops::unary_kernels<Avx512F32>(op).forward; }
UnaryBackwardKernelF32 unary_backward_avx512_f32(mln_unary_op op) {
    return vector_loops::unary_kernels<Avx512F32>(op).backward;
}
BinaryKernel<float> binary_avx512_f32(mln_binary_op op) { return vector_loops::binary_kernel<Avx512F32>(op); }
BinaryKernel<double> binary_avx512_f64(mln_binary_op op) { return vector_loops::binary_kernel<Avx512F64>(op); }

}  // namespace mln::kernels
