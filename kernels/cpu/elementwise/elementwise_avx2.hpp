// AVX2 kernels for contiguous runs of elementwise ops (elementwise_avx2.cpp, compiled with
// AVX2/FMA flags). The lookups return nullptr for ops without a vector version; callers use
// them only when the active ISA is AVX2 and keep the scalar loop otherwise.
#pragma once

#include <myelin.h>

#include <cstdint>

namespace mln::kernels {

// Outputs at least this large are written with non-temporal stores: they would not stay in
// cache anyway, and streaming skips the read-for-ownership of every output line.
constexpr int64_t kStreamingStoreBytes = int64_t{16} << 20;

// y[i] = op(x[i]) for i < n; `stream` selects non-temporal stores (see kStreamingStoreBytes).
using UnaryKernelF32 = void (*)(double alpha, double beta, const float* x, float* y, int64_t n, bool stream);
UnaryKernelF32 unary_avx2_f32(mln_unary_op op);

// y[i] = op(a[i * a_step], b[i * b_step]) for i < n; a_step and b_step are 0 or 1.
template <class T>
using BinaryKernel = void (*)(const T* a, int64_t a_step, const T* b, int64_t b_step, T* y, int64_t n, bool stream);
BinaryKernel<float> binary_avx2_f32(mln_binary_op op);
BinaryKernel<double> binary_avx2_f64(mln_binary_op op);

// The vector transcendentals themselves over n contiguous floats, for the accuracy tests,
// with their maximum error in ulp (see common/vector_math_avx2.hpp).
constexpr double kExpAvx2MaxUlp = 1.5;
constexpr double kLogAvx2MaxUlp = 1.0;
constexpr double kTanhAvx2MaxUlp = 1.5;
constexpr double kSigmoidAvx2MaxUlp = 3.0;
constexpr double kErfAvx2MaxUlp = 3.0;
void exp_avx2_f32(const float* x, float* y, int64_t n);
void log_avx2_f32(const float* x, float* y, int64_t n);
void tanh_avx2_f32(const float* x, float* y, int64_t n);
void sigmoid_avx2_f32(const float* x, float* y, int64_t n);
void erf_avx2_f32(const float* x, float* y, int64_t n);

}  // namespace mln::kernels
