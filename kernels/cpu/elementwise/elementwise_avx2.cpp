// AVX2 versions of the elementwise ops for contiguous runs. Each vector op mirrors the scalar
// op struct of the same name (unary_ops.hpp, binary_ops.hpp); the tail of a run goes through
// the same vector code on a padded copy, so an element's result never depends on where a
// run starts or how the work was split across threads.
#include "kernels/cpu/elementwise/elementwise_avx2.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/common/vector_math_avx2.hpp"

namespace mln::kernels {
namespace {

using namespace avx2;

struct Params {
    __m256 alpha;
    __m256 beta;
};

inline __m256 clamp01(__m256 v) { return _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(1.0f)); }

// NaN-preserving max(0, x) style selects use compares that are false for NaN.
struct VecIdentity { static __m256 apply(const Params&, __m256 x) { return x; } };
struct VecNeg { static __m256 apply(const Params&, __m256 x) { return _mm256_xor_ps(x, _mm256_set1_ps(-0.0f)); } };
struct VecAbs { static __m256 apply(const Params&, __m256 x) { return abs_avx2(x); } };
struct VecSqrt { static __m256 apply(const Params&, __m256 x) { return _mm256_sqrt_ps(x); } };
struct VecExp { static __m256 apply(const Params&, __m256 x) { return exp_avx2(x); } };
struct VecLog { static __m256 apply(const Params&, __m256 x) { return log_avx2(x); } };
struct VecRelu {
    static __m256 apply(const Params&, __m256 x) {
        return _mm256_blendv_ps(x, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    }
};
struct VecSigmoid { static __m256 apply(const Params&, __m256 x) { return sigmoid_avx2(x); } };
struct VecTanh { static __m256 apply(const Params&, __m256 x) { return tanh_avx2(x); } };
struct VecErf { static __m256 apply(const Params&, __m256 x) { return erf_avx2(x); } };
struct VecLeakyRelu {
    static __m256 apply(const Params& p, __m256 x) {
        return _mm256_blendv_ps(x, _mm256_mul_ps(p.alpha, x), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    }
};
struct VecGelu {
    static __m256 apply(const Params&, __m256 x) {
        const __m256 e = erf_avx2(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)));
        return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    }
};
struct VecGeluTanh {
    static __m256 apply(const Params&, __m256 x) {
        const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
        const __m256 inner =
            _mm256_mul_ps(_mm256_set1_ps(0.79788456080286536f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
        return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), tanh_avx2(inner)));
    }
};
struct VecSilu { static __m256 apply(const Params&, __m256 x) { return _mm256_mul_ps(x, sigmoid_avx2(x)); } };
struct VecSoftsign {
    static __m256 apply(const Params&, __m256 x) {
        return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), abs_avx2(x)));
    }
};
struct VecHardSigmoid {
    static __m256 apply(const Params& p, __m256 x) {
        return nan_passthrough(x, clamp01(_mm256_fmadd_ps(p.alpha, x, p.beta)));
    }
};
struct VecHardSwish {
    static __m256 apply(const Params&, __m256 x) {
        const __m256 v = _mm256_add_ps(_mm256_div_ps(x, _mm256_set1_ps(6.0f)), _mm256_set1_ps(0.5f));
        return nan_passthrough(x, _mm256_mul_ps(x, clamp01(v)));
    }
};
struct VecReciprocal { static __m256 apply(const Params&, __m256 x) { return _mm256_div_ps(_mm256_set1_ps(1.0f), x); } };
struct VecSquare { static __m256 apply(const Params&, __m256 x) { return _mm256_mul_ps(x, x); } };
struct VecFloor { static __m256 apply(const Params&, __m256 x) { return _mm256_floor_ps(x); } };
struct VecCeil { static __m256 apply(const Params&, __m256 x) { return _mm256_ceil_ps(x); } };
struct VecRound {
    static __m256 apply(const Params&, __m256 x) {
        return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
};

// Elements before y + result is 32-byte aligned (all of n if y is not float-aligned).
inline int64_t misaligned_head(const void* y, size_t element_size, int64_t n) {
    const auto address = reinterpret_cast<uintptr_t>(y);
    if (address % element_size != 0) return n;
    return std::min<int64_t>(n, static_cast<int64_t>(((32 - address % 32) % 32) / element_size));
}

// Up to 8 elements through the vector op on a padded copy.
template <class Op>
void unary_partial(const Params& params, const float* x, float* y, int64_t count) {
    alignas(32) float buffer[8] = {};
    const auto bytes = static_cast<size_t>(count) * sizeof(float);
    std::memcpy(buffer, x, bytes);
    _mm256_store_ps(buffer, Op::apply(params, _mm256_load_ps(buffer)));
    std::memcpy(y, buffer, bytes);
}

template <class Op>
void unary_run(double alpha, double beta, const float* x, float* y, int64_t n, bool stream) {
    const Params params{_mm256_set1_ps(static_cast<float>(alpha)), _mm256_set1_ps(static_cast<float>(beta))};
    int64_t i = 0;
    if (stream) {
        const int64_t head = misaligned_head(y, sizeof(float), n);
        if (head > 0 && head < 8) unary_partial<Op>(params, x, y, head), i = head;
        if (head < 8) {
            for (; i + 8 <= n; i += 8) _mm256_stream_ps(y + i, Op::apply(params, _mm256_loadu_ps(x + i)));
            _mm_sfence();
        }
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, Op::apply(params, _mm256_loadu_ps(x + i)));
    if (i < n) unary_partial<Op>(params, x + i, y + i, n - i);
}

// Binary ops over both vector widths: V is the vector traits of the element type.
struct F32 {
    using T = float;
    using V = __m256;
    static constexpr int kLanes = 8;
    static V load(const T* p) { return _mm256_loadu_ps(p); }
    static V broadcast(T v) { return _mm256_set1_ps(v); }
    static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
    static void stream(T* p, V v) { _mm256_stream_ps(p, v); }
    static V add(V a, V b) { return _mm256_add_ps(a, b); }
    static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    static V div(V a, V b) { return _mm256_div_ps(a, b); }
    static V max(V a, V b) { return _mm256_max_ps(a, b); }
    static V min(V a, V b) { return _mm256_min_ps(a, b); }
    static V unordered(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
    static V blend(V a, V b, V mask) { return _mm256_blendv_ps(a, b, mask); }
};
struct F64 {
    using T = double;
    using V = __m256d;
    static constexpr int kLanes = 4;
    static V load(const T* p) { return _mm256_loadu_pd(p); }
    static V broadcast(T v) { return _mm256_set1_pd(v); }
    static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
    static void stream(T* p, V v) { _mm256_stream_pd(p, v); }
    static V add(V a, V b) { return _mm256_add_pd(a, b); }
    static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
    static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
    static V div(V a, V b) { return _mm256_div_pd(a, b); }
    static V max(V a, V b) { return _mm256_max_pd(a, b); }
    static V min(V a, V b) { return _mm256_min_pd(a, b); }
    static V unordered(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_UNORD_Q); }
    static V blend(V a, V b, V mask) { return _mm256_blendv_pd(a, b, mask); }
};

struct VecAdd { template <class W> static typename W::V apply(typename W::V a, typename W::V b) { return W::add(a, b); } };
struct VecSub { template <class W> static typename W::V apply(typename W::V a, typename W::V b) { return W::sub(a, b); } };
struct VecMul { template <class W> static typename W::V apply(typename W::V a, typename W::V b) { return W::mul(a, b); } };
struct VecDiv { template <class W> static typename W::V apply(typename W::V a, typename W::V b) { return W::div(a, b); } };
// max/min propagate NaN from either side, like MaxOp/MinOp (a + b is NaN there).
struct VecMax {
    template <class W>
    static typename W::V apply(typename W::V a, typename W::V b) {
        return W::blend(W::max(a, b), W::add(a, b), W::unordered(a, b));
    }
};
struct VecMin {
    template <class W>
    static typename W::V apply(typename W::V a, typename W::V b) {
        return W::blend(W::min(a, b), W::add(a, b), W::unordered(a, b));
    }
};

// Up to one vector of elements on padded copies.
template <class Op, class W>
void binary_partial(const typename W::T* a, int64_t a_step, const typename W::T* b, int64_t b_step, typename W::T* y,
                    int64_t count) {
    using T = typename W::T;
    alignas(32) T lhs[W::kLanes] = {};
    alignas(32) T rhs[W::kLanes] = {};
    alignas(32) T out[W::kLanes] = {};
    for (int64_t k = 0; k < count; ++k) {
        lhs[k] = a[k * a_step];
        rhs[k] = b[k * b_step];
    }
    W::store(out, Op::template apply<W>(W::load(lhs), W::load(rhs)));
    std::memcpy(y, out, static_cast<size_t>(count) * sizeof(T));
}

template <class Op, class W>
void binary_run(const typename W::T* a, int64_t a_step, const typename W::T* b, int64_t b_step, typename W::T* y,
                int64_t n, bool stream) {
    constexpr int lanes = W::kLanes;
    // A zero step is a scalar operand: broadcast once instead of loading.
    const auto va = W::broadcast(*a);
    const auto vb = W::broadcast(*b);
    const auto at = [&](int64_t i) {
        return Op::template apply<W>(a_step != 0 ? W::load(a + i) : va, b_step != 0 ? W::load(b + i) : vb);
    };
    int64_t i = 0;
    if (stream) {
        const int64_t head = misaligned_head(y, sizeof(typename W::T), n);
        if (head > 0 && head < lanes) binary_partial<Op, W>(a, a_step, b, b_step, y, head), i = head;
        if (head < lanes) {
            for (; i + lanes <= n; i += lanes) W::stream(y + i, at(i));
            _mm_sfence();
        }
    }
    for (; i + lanes <= n; i += lanes) W::store(y + i, at(i));
    if (i < n) binary_partial<Op, W>(a + i * a_step, a_step, b + i * b_step, b_step, y + i, n - i);
}

template <class W>
BinaryKernel<typename W::T> binary_lookup(mln_binary_op op) {
    switch (op) {
        case MLN_BINARY_OP_ADD: return &binary_run<VecAdd, W>;
        case MLN_BINARY_OP_SUB: return &binary_run<VecSub, W>;
        case MLN_BINARY_OP_MUL: return &binary_run<VecMul, W>;
        case MLN_BINARY_OP_DIV: return &binary_run<VecDiv, W>;
        case MLN_BINARY_OP_MAX: return &binary_run<VecMax, W>;
        case MLN_BINARY_OP_MIN: return &binary_run<VecMin, W>;
        default: return nullptr;
    }
}

template <__m256 (*F)(__m256)>
void transcendental_run(const float* x, float* y, int64_t n) {
    struct Op {
        static __m256 apply(const Params&, __m256 v) { return F(v); }
    };
    unary_run<Op>(0.0, 0.0, x, y, n, false);
}

}  // namespace

UnaryKernelF32 unary_avx2_f32(mln_unary_op op) {
    switch (op) {
        case MLN_UNARY_OP_IDENTITY: return &unary_run<VecIdentity>;
        case MLN_UNARY_OP_NEG: return &unary_run<VecNeg>;
        case MLN_UNARY_OP_ABS: return &unary_run<VecAbs>;
        case MLN_UNARY_OP_SQRT: return &unary_run<VecSqrt>;
        case MLN_UNARY_OP_EXP: return &unary_run<VecExp>;
        case MLN_UNARY_OP_LOG: return &unary_run<VecLog>;
        case MLN_UNARY_OP_RELU: return &unary_run<VecRelu>;
        case MLN_UNARY_OP_SIGMOID: return &unary_run<VecSigmoid>;
        case MLN_UNARY_OP_TANH: return &unary_run<VecTanh>;
        case MLN_UNARY_OP_LEAKY_RELU: return &unary_run<VecLeakyRelu>;
        case MLN_UNARY_OP_GELU: return &unary_run<VecGelu>;
        case MLN_UNARY_OP_GELU_TANH: return &unary_run<VecGeluTanh>;
        case MLN_UNARY_OP_SILU: return &unary_run<VecSilu>;
        case MLN_UNARY_OP_SOFTSIGN: return &unary_run<VecSoftsign>;
        case MLN_UNARY_OP_HARD_SIGMOID: return &unary_run<VecHardSigmoid>;
        case MLN_UNARY_OP_HARD_SWISH: return &unary_run<VecHardSwish>;
        case MLN_UNARY_OP_RECIPROCAL: return &unary_run<VecReciprocal>;
        case MLN_UNARY_OP_SQUARE: return &unary_run<VecSquare>;
        case MLN_UNARY_OP_ERF: return &unary_run<VecErf>;
        case MLN_UNARY_OP_FLOOR: return &unary_run<VecFloor>;
        case MLN_UNARY_OP_CEIL: return &unary_run<VecCeil>;
        case MLN_UNARY_OP_ROUND: return &unary_run<VecRound>;
        default: return nullptr;
    }
}

BinaryKernel<float> binary_avx2_f32(mln_binary_op op) { return binary_lookup<F32>(op); }
BinaryKernel<double> binary_avx2_f64(mln_binary_op op) { return binary_lookup<F64>(op); }

void exp_avx2_f32(const float* x, float* y, int64_t n) { transcendental_run<exp_avx2>(x, y, n); }
void log_avx2_f32(const float* x, float* y, int64_t n) { transcendental_run<log_avx2>(x, y, n); }
void tanh_avx2_f32(const float* x, float* y, int64_t n) { transcendental_run<tanh_avx2>(x, y, n); }
void sigmoid_avx2_f32(const float* x, float* y, int64_t n) { transcendental_run<sigmoid_avx2>(x, y, n); }
void erf_avx2_f32(const float* x, float* y, int64_t n) { transcendental_run<erf_avx2>(x, y, n); }

}  // namespace mln::kernels
