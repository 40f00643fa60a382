// Vector kernels for one contiguous f32 softmax row, per vector ISA (softmax_avx2.cpp,
// softmax_avx512.cpp: softmax_vector_loops.hpp over that ISA's vector traits).
#pragma once

#include <myelin.h>

#include <cstdint>

namespace mln::kernels {

// y = softmax or log-softmax of x[0..n), n >= 1. Returns false, having written nothing, when
// the row holds NaN or an infinity: the scalar row code defines those cases.
using SoftmaxRowF32 = bool (*)(bool log, const float* x, float* y, int64_t n);
// dx from y and dy over one row of n.
using SoftmaxBackwardRowF32 = void (*)(bool log, const float* y, const float* dy, float* dx, int64_t n);

struct SoftmaxKernelsF32 {
    SoftmaxRowF32 forward = nullptr;
    SoftmaxBackwardRowF32 backward = nullptr;
};

#if defined(MYELIN_X86_64_KERNELS)
SoftmaxKernelsF32 softmax_avx2_f32();
SoftmaxKernelsF32 softmax_avx512_f32();
#endif

}  // namespace mln::kernels
