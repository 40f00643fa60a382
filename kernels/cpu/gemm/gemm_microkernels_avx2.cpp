// AVX2 + FMA GEMM micro-kernels. This file is compiled with -mavx2 -mfma -mf16c, so it must
// not define inline functions or templates with external linkage that other files also use
// (the linker could pick this file's AVX2 copy for them): everything but the exported kernels
// lives in an anonymous namespace, and only intrinsics headers are included.
//
// Register budget (16 ymm): MR x 2 accumulators (12), two B vectors, one A broadcast.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"

namespace mln::kernels {
namespace {

struct Avx2Float {
    using Scalar = float;
    using Vector = __m256;
    static constexpr int kLanes = 8;
    static Vector zero() { return _mm256_setzero_ps(); }
    static Vector load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, Vector v) { _mm256_storeu_ps(p, v); }
    static Vector broadcast(const float* p) { return _mm256_broadcast_ss(p); }
    static Vector set1(float x) { return _mm256_set1_ps(x); }
    static Vector fmadd(Vector a, Vector b, Vector c) { return _mm256_fmadd_ps(a, b, c); }
    static Vector add(Vector a, Vector b) { return _mm256_add_ps(a, b); }
    static Vector mul(Vector a, Vector b) { return _mm256_mul_ps(a, b); }
    // max(floor, x) with x second: NaN in x comes through, as ReluOp defines.
    static Vector max(Vector floor, Vector x) { return _mm256_max_ps(floor, x); }
    static Vector minus_infinity() { return _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0xff800000u))); }
    // The first `count` (0..8) lanes of a vector, as the mask of maskload / maskstore.
    static __m256i first_lanes(int count) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    static Vector load(const float* p, __m256i lanes) { return _mm256_maskload_ps(p, lanes); }
    static void store(float* p, __m256i lanes, Vector v) { _mm256_maskstore_ps(p, lanes, v); }
};

struct Avx2Double {
    using Scalar = double;
    using Vector = __m256d;
    static constexpr int kLanes = 4;
    static Vector zero() { return _mm256_setzero_pd(); }
    static Vector load(const double* p) { return _mm256_loadu_pd(p); }
    static void store(double* p, Vector v) { _mm256_storeu_pd(p, v); }
    static Vector broadcast(const double* p) { return _mm256_broadcast_sd(p); }
    static Vector set1(double x) { return _mm256_set1_pd(x); }
    static Vector fmadd(Vector a, Vector b, Vector c) { return _mm256_fmadd_pd(a, b, c); }
    static Vector add(Vector a, Vector b) { return _mm256_add_pd(a, b); }
    static Vector mul(Vector a, Vector b) { return _mm256_mul_pd(a, b); }
    static Vector max(Vector floor, Vector x) { return _mm256_max_pd(floor, x); }
    static Vector minus_infinity() {
        return _mm256_castsi256_pd(_mm256_set1_epi64x(static_cast<long long>(0xfff0000000000000ull)));
    }
};

// Lane masks of an edge tile's two column vectors (maskload / maskstore).
struct EdgeLanes {
    __m256i vector[2];
};

// The 6 x (2 vectors) accumulators as named variables: GCC keeps these in registers, where an
// array of vectors gets spilled to the stack inside the unrolled loop.
template <class Isa>
struct Accumulators6x2 {
    using Vector = typename Isa::Vector;
    Vector c00 = Isa::zero(), c01 = Isa::zero(), c10 = Isa::zero(), c11 = Isa::zero(), c20 = Isa::zero(),
           c21 = Isa::zero(), c30 = Isa::zero(), c31 = Isa::zero(), c40 = Isa::zero(), c41 = Isa::zero(),
           c50 = Isa::zero(), c51 = Isa::zero();

    // One depth step: two B vectors (with kMaskedB only the lanes in `lanes`), six A broadcasts
    // (the first kRows: an edge tile's rows), twelve FMAs.
    template <bool kPackedA, int kRows = 6, bool kMaskedB = false>
    MLN_ALWAYS_INLINE void update(const typename Isa::Scalar* a, int64_t a_row_stride,
                                               const typename Isa::Scalar* b, const EdgeLanes& lanes = {}) {
        if constexpr (kMaskedB) {
            update<kPackedA, kRows>(a, a_row_stride, Isa::load(b, lanes.vector[0]),
                                    Isa::load(b + Isa::kLanes, lanes.vector[1]));
        } else {
            update<kPackedA, kRows>(a, a_row_stride, Isa::load(b), Isa::load(b + Isa::kLanes));
        }
    }

    // The same with the step's B vectors loaded.
    template <bool kPackedA, int kRows = 6>
    MLN_ALWAYS_INLINE void update(const typename Isa::Scalar* a, int64_t a_row_stride, Vector b0, Vector b1) {
        const int64_t rs = kPackedA ? 1 : a_row_stride;
        // Row i of the tile (constant once inlined, so rows past kRows vanish).
        auto row = [&](int i, Vector& sum0, Vector& sum1) MLN_LAMBDA_ALWAYS_INLINE {
            if (i >= kRows) return;
            const Vector x = Isa::broadcast(a + i * rs);
            sum0 = Isa::fmadd(x, b0, sum0);
            sum1 = Isa::fmadd(x, b1, sum1);
        };
        row(0, c00, c01);
        row(1, c10, c11);
        row(2, c20, c21);
        row(3, c30, c31);
        row(4, c40, c41);
        row(5, c50, c51);
    }
};

// The first kRows rows of the tile's sums to C as straight-line code: alpha * sum, + beta * C
// with kReadC, then with kFused + bias (zeros where there is none), + residual with kResidual,
// and max(floor, value) (floor 0 for ReLU, -inf otherwise: the value unchanged, NaN included);
// with kMaskedColumns only the lanes in `lanes`. One variant per case rather than a test of
// extras per vector: GCC kept those tests (a store may alias the extras) and spilled the
// accumulators to index them. Bias + ReLU over plain at 784x256x128 (Zen 3, one thread, min /
// 10th percentile of 150-200 alternating calls): 1.024-1.041 / 1.021-1.035 before, 1.004-1.020 /
// 1.008-1.016 after.
template <class Isa, int kRows, bool kMaskedColumns, bool kReadC, bool kFused, bool kResidual>
MLN_ALWAYS_INLINE void store_rows(const Accumulators6x2<Isa>& acc, typename Isa::Scalar* c, int64_t ldc,
                                  typename Isa::Scalar alpha, typename Isa::Scalar beta,
                                  const typename Isa::Vector (&bias)[2], typename Isa::Vector floor,
                                  const typename Isa::Scalar* residual, int64_t residual_row_stride,
                                  const EdgeLanes& lanes) {
    using Scalar = typename Isa::Scalar;
    using Vector = typename Isa::Vector;
    constexpr int kLanes = Isa::kLanes;
    auto load = [&](const Scalar* p, int v) MLN_LAMBDA_ALWAYS_INLINE {
        if constexpr (kMaskedColumns) return Isa::load(p, lanes.vector[v]);
        return Isa::load(p);
    };
    const Vector alpha_vector = Isa::set1(alpha);
    const Vector beta_vector = Isa::set1(beta);
    auto row = [&](int i, Vector sum0, Vector sum1) MLN_LAMBDA_ALWAYS_INLINE {
        if (i >= kRows) return;
        const Vector sums[2] = {sum0, sum1};
        for (int v = 0; v < 2; ++v) {
            Scalar* target = c + i * ldc + v * kLanes;
            Vector value = Isa::mul(alpha_vector, sums[v]);
            if constexpr (kReadC) value = Isa::fmadd(beta_vector, load(target, v), value);
            if constexpr (kFused) {
                value = Isa::add(value, bias[v]);
                if constexpr (kResidual) value = Isa::add(value, load(residual + i * residual_row_stride + v * kLanes, v));
                value = Isa::max(floor, value);
            }
            if constexpr (kMaskedColumns) {
                Isa::store(target, lanes.vector[v], value);
            } else {
                Isa::store(target, value);
            }
        }
    };
    row(0, acc.c00, acc.c01);
    row(1, acc.c10, acc.c11);
    row(2, acc.c20, acc.c21);
    row(3, acc.c30, acc.c31);
    row(4, acc.c40, acc.c41);
    row(5, acc.c50, acc.c51);
}

// The first kRows rows of the tile's sums to C: alpha * sum (+ beta * C, read only where beta != 0), then the
// fused epilogue (bias, residual, ReLU); with kMaskedColumns only the lanes in `lanes`.
template <class Isa, int kRows, bool kMaskedColumns>
MLN_ALWAYS_INLINE void store_tile(const Accumulators6x2<Isa>& acc, typename Isa::Scalar* c,
                                  int64_t ldc, typename Isa::Scalar alpha, typename Isa::Scalar beta,
                                  const GemmTileExtras<typename Isa::Scalar>* extras, const EdgeLanes& lanes) {
    using Scalar = typename Isa::Scalar;
    using Vector = typename Isa::Vector;
    constexpr int kLanes = Isa::kLanes;
    const bool read_c = beta != Scalar(0);
    Vector bias[2] = {Isa::zero(), Isa::zero()};
    if (extras == nullptr) {
        if (read_c) {
            store_rows<Isa, kRows, kMaskedColumns, true, false, false>(acc, c, ldc, alpha, beta, bias, bias[0],
                                                                       nullptr, 0, lanes);
        } else {
            store_rows<Isa, kRows, kMaskedColumns, false, false, false>(acc, c, ldc, alpha, beta, bias, bias[0],
                                                                        nullptr, 0, lanes);
        }
        return;
    }
    if (extras->bias != nullptr) {
        if constexpr (kMaskedColumns) {
            bias[0] = Isa::load(extras->bias, lanes.vector[0]);
            bias[1] = Isa::load(extras->bias + kLanes, lanes.vector[1]);
        } else {
            bias[0] = Isa::load(extras->bias);
            bias[1] = Isa::load(extras->bias + kLanes);
        }
    }
    const Vector floor = extras->relu ? Isa::zero() : Isa::minus_infinity();
    const Scalar* const residual = extras->residual;
    const int64_t residual_row_stride = extras->residual_row_stride;
    if (residual != nullptr) {
        if (read_c) {
            store_rows<Isa, kRows, kMaskedColumns, true, true, true>(acc, c, ldc, alpha, beta, bias, floor, residual,
                                                                     residual_row_stride, lanes);
        } else {
            store_rows<Isa, kRows, kMaskedColumns, false, true, true>(acc, c, ldc, alpha, beta, bias, floor,
                                                                      residual, residual_row_stride, lanes);
        }
    } else if (read_c) {
        store_rows<Isa, kRows, kMaskedColumns, true, true, false>(acc, c, ldc, alpha, beta, bias, floor, nullptr, 0,
                                                                  lanes);
    } else {
        store_rows<Isa, kRows, kMaskedColumns, false, true, false>(acc, c, ldc, alpha, beta, bias, floor, nullptr, 0,
                                                                   lanes);
    }
}

// kCopyB: also store each B row read (2 vectors) to b_copy, a packed panel (row stride NR).
template <class Isa, bool kPackedA, bool kCopyB = false>
void gemm_avx2_microkernel(int64_t kc, const typename Isa::Scalar* a, int64_t a_row_stride, int64_t a_col_stride,
                           const typename Isa::Scalar* b, int64_t b_row_stride, typename Isa::Scalar* c,
                           int64_t ldc, typename Isa::Scalar alpha, typename Isa::Scalar beta,
                           const GemmTileExtras<typename Isa::Scalar>* extras,
                           typename Isa::Scalar* b_copy = nullptr) {
    constexpr int MR = 6;
    constexpr int kLanes = Isa::kLanes;
    if constexpr (kPackedA) {
        a_row_stride = 1;
        a_col_stride = MR;
    }
    // C is read only at the end (beta != 0); start bringing it in now. With beta 0 it is only
    // written and the store buffer takes the misses (as in the AVX-512 kernel; this kernel on
    // Zen 5, one thread, CPU time: 32^3 and 64^3 +1-2%, 96^3 to 1024x1024x64 within 1%).
    if (beta != typename Isa::Scalar(0)) {
        for (int i = 0; i < MR; ++i) {
            _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 2 * kLanes - 1), _MM_HINT_T0);
        }
    }
    // The residual too is read only at the end; asked for here, so its lines (from L3 where the
    // residual is larger than L2) come in under the products. Zen 3, one thread, 784x256x128
    // (depth 128, below the driver's kPrefetchResidualMinDepth), bias + ReLU + residual over
    // plain, min / 10th percentile: without it 1.06-1.13 / 1.10-1.20 (the faster store left the
    // misses exposed), with it 1.047-1.071 / 1.047-1.057; the driver's prefetch at every depth
    // instead 1.061-1.067 / 1.055-1.073 (its loop costs more: residual of one row, in L1,
    // 1.05 / 1.05 against 1.02-1.04 / 1.02-1.04 here); the next row tile's rows 1.053-1.070.
    if (extras != nullptr && extras->residual != nullptr) {
        for (int i = 0; i < MR; ++i) {
            const typename Isa::Scalar* row = extras->residual + i * extras->residual_row_stride;
            _mm_prefetch(reinterpret_cast<const char*>(row), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(row + 2 * kLanes - 1), _MM_HINT_T0);
        }
    }
    Accumulators6x2<Isa> acc;
    if constexpr (kCopyB) {
        // One depth step per iteration, bounded by the copy's end (no counter register). B 32
        // rows ahead rather than 8 did not help the 1 MiB B that the packed path leaves to its
        // packing pass (Zen 3, one thread, 512^3 and 1024^3 still 1.02-1.05x its time).
        for (typename Isa::Scalar* const end = b_copy + kc * 2 * kLanes; b_copy != end; b_copy += 2 * kLanes) {
            _mm_prefetch(reinterpret_cast<const char*>(b + 8 * b_row_stride), _MM_HINT_T0);
            const typename Isa::Vector b0 = Isa::load(b);
            const typename Isa::Vector b1 = Isa::load(b + kLanes);
            Isa::store(b_copy, b0);
            Isa::store(b_copy + kLanes, b1);
            acc.template update<kPackedA>(a, a_row_stride, b0, b1);
            a += a_col_stride;
            b += b_row_stride;
        }
        store_tile<Isa, MR, false>(acc, c, ldc, alpha, beta, extras, {});
        return;
    }
    int64_t p = 0;
    for (; p + 2 <= kc; p += 2) {
        _mm_prefetch(reinterpret_cast<const char*>(b + 8 * b_row_stride), _MM_HINT_T0);
        if constexpr (kPackedA) _mm_prefetch(reinterpret_cast<const char*>(a + 16 * MR), _MM_HINT_T0);
        acc.template update<kPackedA>(a, a_row_stride, b);
        acc.template update<kPackedA>(a + a_col_stride, a_row_stride, b + b_row_stride);
        a += 2 * a_col_stride;
        b += 2 * b_row_stride;
    }
    for (; p < kc; ++p) {
        acc.template update<kPackedA>(a, a_row_stride, b);
        a += a_col_stride;
        b += b_row_stride;
    }
    store_tile<Isa, MR, false>(acc, c, ldc, alpha, beta, extras, {});
}

// An edge tile of kRows (1..6) rows and `cols` (1..16) columns straight into C: A rows from
// kRows on are not read, nor (with kMaskedColumns) B, bias, residual or C lanes from `cols` on
// (masked loads and stores), so operands are read in place, unpadded, and no scratch tile is
// merged. Where all 16 columns are in the tile (a row edge: M % 6 of every network shape but
// 6-row multiples) B is read with plain loads.
template <class Isa, int kRows, bool kMaskedColumns>
void gemm_avx2_edge_rows(int cols, int64_t kc, const typename Isa::Scalar* a, int64_t a_row_stride,
                         int64_t a_col_stride, const typename Isa::Scalar* b, int64_t b_row_stride,
                         typename Isa::Scalar* c, int64_t ldc, typename Isa::Scalar alpha, typename Isa::Scalar beta,
                         const GemmTileExtras<typename Isa::Scalar>* extras) {
    constexpr int kLanes = Isa::kLanes;
    const EdgeLanes lanes{Isa::first_lanes(cols < kLanes ? cols : kLanes),
                          Isa::first_lanes(cols > kLanes ? cols - kLanes : 0)};
    Accumulators6x2<Isa> acc;
    for (int64_t p = 0; p < kc; ++p) {
        acc.template update<false, kRows, kMaskedColumns>(a, a_row_stride, b, lanes);
        a += a_col_stride;
        b += b_row_stride;
    }
    store_tile<Isa, kRows, kMaskedColumns>(acc, c, ldc, alpha, beta, extras, lanes);
}

template <class Isa>
using EdgeRowsKernel = void (*)(int cols, int64_t kc, const typename Isa::Scalar* a, int64_t a_row_stride,
                                int64_t a_col_stride, const typename Isa::Scalar* b, int64_t b_row_stride,
                                typename Isa::Scalar* c, int64_t ldc, typename Isa::Scalar alpha,
                                typename Isa::Scalar beta, const GemmTileExtras<typename Isa::Scalar>* extras);

// gemm_avx2_edge_rows by row count: element rows - 1 of edge_rows_kernels<Isa, masked, 0, ..., 5>.
template <class Isa, bool kMaskedColumns, int... kRowsLess1>
constexpr EdgeRowsKernel<Isa> edge_rows_kernels[] = {gemm_avx2_edge_rows<Isa, kRowsLess1 + 1, kMaskedColumns>...};

}  // namespace

void sgemm_avx2_6x16_packed(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride, const float* b,
                            int64_t b_row_stride, float* c, int64_t ldc, float alpha, float beta,
                            const GemmTileExtras<float>* extras) {
    gemm_avx2_microkernel<Avx2Float, true>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha,
                                              beta, extras);
}

void sgemm_avx2_6x16_strided(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride, const float* b,
                             int64_t b_row_stride, float* c, int64_t ldc, float alpha, float beta,
                             const GemmTileExtras<float>* extras) {
    gemm_avx2_microkernel<Avx2Float, false>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha,
                                               beta, extras);
}

void sgemm_avx2_6x16_strided_copying_b(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride,
                                       const float* b, int64_t b_row_stride, float* b_copy, float* c, int64_t ldc,
                                       float alpha, float beta, const GemmTileExtras<float>* extras) {
    gemm_avx2_microkernel<Avx2Float, false, true>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha,
                                                  beta, extras, b_copy);
}

void sgemm_avx2_6x16_edge(int rows, int cols, int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride,
                          const float* b, int64_t b_row_stride, float* c, int64_t ldc, float alpha, float beta,
                          const GemmTileExtras<float>* extras) {
    const EdgeRowsKernel<Avx2Float> kernel = cols == 16
                                                 ? edge_rows_kernels<Avx2Float, false, 0, 1, 2, 3, 4, 5>[rows - 1]
                                                 : edge_rows_kernels<Avx2Float, true, 0, 1, 2, 3, 4, 5>[rows - 1];
    kernel(cols, kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha, beta, extras);
}

void dgemm_avx2_6x8_packed(int64_t kc, const double* a, int64_t a_row_stride, int64_t a_col_stride, const double* b,
                           int64_t b_row_stride, double* c, int64_t ldc, double alpha, double beta,
                           const GemmTileExtras<double>* extras) {
    gemm_avx2_microkernel<Avx2Double, true>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha,
                                               beta, extras);
}

void dgemm_avx2_6x8_strided(int64_t kc, const double* a, int64_t a_row_stride, int64_t a_col_stride,
                            const double* b, int64_t b_row_stride, double* c, int64_t ldc, double alpha, double beta,
                            const GemmTileExtras<double>* extras) {
    gemm_avx2_microkernel<Avx2Double, false>(kc, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, alpha,
                                                beta, extras);
}

}  // namespace mln::kernels
