// The elementwise vector kernels (elementwise_vector_loops.hpp) instantiated for Avx2.
#include "kernels/cpu/common/vector_math_avx2.hpp"
#include "kernels/cpu/elementwise/elementwise_vector_loops.hpp"

namespace mln::kernels {

UnaryKernelF32 unary_avx2_f32(mln_unary_op op) { return vector_loops::unary_kernels<Avx2F32>(op).forward; }
UnaryBackwardKernelF32 unary_backward_avx2_f32(mln_unary_op op) {
    return vector_loops::unary_kernels<Avx2F32>(op).backward;
}
BinaryKernel<float> binary_avx2_f32(mln_binary_op op) { return vector_loops::binary_kernel<Avx2F32>(op); }
BinaryKernel<double> binary_avx2_f64(mln_binary_op op) { return vector_loops::binary_kernel<Avx2F64>(op); }

}  // namespace mln::kernels
