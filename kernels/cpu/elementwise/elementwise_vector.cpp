#include "kernels/cpu/elementwise/elementwise_vector.hpp"

namespace mln::kernels {

UnaryKernelF32 vector_unary_f32(mln_isa isa, mln_unary_op op) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return unary_avx512_f32(op);
    if (isa == MLN_ISA_AVX2) return unary_avx2_f32(op);
#endif
    (void)isa, (void)op;
    return nullptr;
}

UnaryBackwardKernelF32 vector_unary_backward_f32(mln_isa isa, mln_unary_op op) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return unary_backward_avx512_f32(op);
    if (isa == MLN_ISA_AVX2) return unary_backward_avx2_f32(op);
#endif
    (void)isa, (void)op;
    return nullptr;
}

BinaryKernel<float> vector_binary_f32(mln_isa isa, mln_binary_op op) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return binary_avx512_f32(op);
    if (isa == MLN_ISA_AVX2) return binary_avx2_f32(op);
#endif
    (void)isa, (void)op;
    return nullptr;
}

BinaryKernel<double> vector_binary_f64(mln_isa isa, mln_binary_op op) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return binary_avx512_f64(op);
    if (isa == MLN_ISA_AVX2) return binary_avx2_f64(op);
#endif
    (void)isa, (void)op;
    return nullptr;
}

}  // namespace mln::kernels
