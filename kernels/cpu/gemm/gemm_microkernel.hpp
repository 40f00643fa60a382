// The GEMM micro-kernel contract (BLIS style) and the registry of micro-kernels.
//
// A micro-kernel computes one full MR x NR tile of C:
//   C[i][j] = alpha * sum_p A(i, p) * B(p, j) + beta * C[i][j]            (0 <= p < kc)
// then, when `extras` is given, adds bias[j] and residual[i][j] and applies ReLU before the
// single store (the fused epilogue: the tile is still in registers). A(i, p) is
// a[i * a_row_stride + p * a_col_stride] (a packed panel: strides 1 and MR); B(p, j) is
// b[p * b_row_stride + j] (a packed panel: row stride NR; unpacked B with unit column stride
// also works). C is row-major with row stride ldc and unit column stride. With beta == 0 C is
// only written, never read. kc may be 0. Edge tiles go through the set's edge micro-kernel where
// it has one, else (and strided C always) through a scratch tile.
#pragma once

#include <myelin.h>

#include <cstdint>
#include <type_traits>

namespace mln::kernels {

template <class T>
struct GemmTileExtras {
    const T* bias;                // NR contiguous values, or nullptr
    const T* residual;            // MR x NR at residual[i * residual_row_stride + j], or nullptr
    int64_t residual_row_stride;
    bool relu;
};

template <class T>
using GemmMicroKernel = void (*)(int64_t kc, const T* a, int64_t a_row_stride, int64_t a_col_stride, const T* b,
                                 int64_t b_row_stride, T* c, int64_t ldc, T alpha, T beta,
                                 const GemmTileExtras<T>* extras);

// A micro-kernel (any A strides, like `strided`) that also stores the B rows it reads (unit
// column stride, any row stride) to b_copy as a packed panel (kc rows of NR, row stride NR):
// the first row tile run against a column panel packs it on the way, so no packing pass over
// B comes before the products.
template <class T>
using GemmCopyingMicroKernel = void (*)(int64_t kc, const T* a, int64_t a_row_stride, int64_t a_col_stride,
                                        const T* b, int64_t b_row_stride, T* b_copy, T* c, int64_t ldc, T alpha,
                                        T beta, const GemmTileExtras<T>* extras);

// A micro-kernel for an edge tile: the first `rows` x `cols` (1..MR, 1..NR + the set's
// edge_extra_cols) of a tile, as GemmMicroKernel computes it, with any A strides. It reads no A
// row, B column, bias or residual element and reads or writes no C element outside those:
// operands are read in place, unpadded.
template <class T>
using GemmEdgeMicroKernel = void (*)(int rows, int cols, int64_t kc, const T* a, int64_t a_row_stride,
                                     int64_t a_col_stride, const T* b, int64_t b_row_stride, T* c, int64_t ldc,
                                     T alpha, T beta, const GemmTileExtras<T>* extras);

// Vector packers for one full panel (MR rows of A or NR columns of B) in a common layout;
// nullptr where the kernel set has none (gemm_pack.hpp's loops do the rest).
template <class T>
struct GemmPanelPackers {
    using Packer = void (*)(const T* source, int64_t stride, int64_t depth, T* packed);
    // `panels` consecutive full panels at once (packed one after the other).
    using PanelsPacker = void (*)(const T* source, int64_t stride, int64_t depth, int64_t panels, T* packed);
    // The first `columns` (1..NR) columns of a panel, zeros after them (edge panels too).
    using ColumnsPacker = void (*)(const T* source, int64_t stride, int64_t depth, int columns, T* packed);
    Packer a_rows = nullptr;        // A(i, p) = source[i * stride + p]
    PanelsPacker b_rows = nullptr;  // B(p, j) = source[p * stride + j]
    ColumnsPacker b_columns = nullptr;  // B(p, j) = source[j * stride + p]
    PanelsPacker a_columns = nullptr;  // A(i, p) = source[p * stride + i] (a transposed)
};

template <class T>
struct GemmMicroKernelInfo {
    const char* name;
    int mr;
    int nr;
    GemmMicroKernel<T> packed;   // any contract-conforming call whose A is a packed panel (strides 1, MR)
    GemmMicroKernel<T> strided;  // any A strides (the unpacked small-matrix path)
    GemmPanelPackers<T> packers{};
    // Multiply-adds up to which GEMM on one thread may take the unblocked path (no depth or
    // row blocking; A read in place through `strided` when its rows are contiguous). Measured
    // per kernel: blocking pays off sooner for the 6 x 16 AVX2 kernel on Zen 3 than for 8 x 32
    // on Zen 5.
    int64_t unblocked_max_work = 96 * 96 * 96;
    // Multiply-adds from which a second thread pays for its start and the hand-offs (a faster
    // kernel finishes small products before a team would).
    int64_t parallel_min_work = 80 * 80 * 80;
    // Whether the unblocked path may run shallow products row tile by row tile (gemm_driver.cpp,
    // kRowTileL1Bytes): measured faster with a residual for the AVX-512 float kernel only (the
    // double one ran 1-5% slower, the AVX2 one the same).
    bool row_tile_order = false;
    // Optional (nullptr: the driver packs B first): see GemmCopyingMicroKernel.
    GemmCopyingMicroKernel<T> strided_copying_b = nullptr;
    // Optional (nullptr: edge tiles run the full kernel on padded operands into a scratch tile).
    GemmEdgeMicroKernel<T> edge = nullptr;
    // Columns past NR that `edge` also takes: the unblocked path runs a last partial panel of at
    // most this many columns with the full panel before it as one tile (gemm_driver.cpp,
    // UnblockedSchedule::wide_col), which spares a thin tile's start, stores and FMA latency.
    int edge_extra_cols = 0;
    // Whether `packed` and `strided` prefetch a residual tile themselves as they start (the
    // driver's prefetch of deep tiles, kPrefetchResidualMinDepth, is then left out).
    bool prefetches_residual = false;
    // B (K x N, bytes) above which a team on the packed path whose rows fit one row block splits
    // the columns, one block of all rows per member against its own columns of B (its packed
    // panels stay in its L2; each member packs A), rather than thin row blocks that each read
    // all of B from L3. 0: never (not measured for the AVX-512 kernels, whose unblocked path
    // takes most such products).
    int64_t team_column_split_b_bytes = 0;
    // B (K x N, bytes) below which the packed path on one thread packs B through
    // strided_copying_b too (gemm_driver.cpp, PackedSchedule::copy_b) rather than in a pass
    // before each column block's products. 0: never (the AVX-512 float kernel measured even:
    // gemm_microkernels.cpp).
    int64_t packed_path_copy_b_bytes = 0;
};

// Largest MR * NR of any micro-kernel (scratch tiles are sized by it).
constexpr int kMaxMicroTile = 8 * 32;

// Portable micro-kernels.
template <class T, int MR, int NR, bool kPackedA>
void gemm_scalar_microkernel(int64_t kc, const T* a, int64_t a_row_stride, int64_t a_col_stride, const T* b,
                             int64_t b_row_stride, T* c, int64_t ldc, T alpha, T beta,
                             const GemmTileExtras<T>* extras);

#if defined(MYELIN_X86_64_KERNELS)
// AVX2 + FMA micro-kernels (gemm_microkernels_avx2.cpp); call only when the ISA allows.
void sgemm_avx2_6x16_packed(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride, const float* b,
                            int64_t b_row_stride, float* c, int64_t ldc, float alpha, float beta,
                            const GemmTileExtras<float>* extras);
void sgemm_avx2_6x16_strided(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride, const float* b,
                             int64_t b_row_stride, float* c, int64_t ldc, float alpha, float beta,
                             const GemmTileExtras<float>* extras);
void sgemm_avx2_6x16_strided_copying_b(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride,
                                       const float* b, int64_t b_row_stride, float* b_copy, float* c, int64_t ldc,
                                       float alpha, float beta, const GemmTileExtras<float>* extras);
void sgemm_avx2_6x16_edge(int rows, int cols, int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride,
                          const float* b, int64_t b_row_stride, float* c, int64_t ldc, float alpha, float beta,
                          const GemmTileExtras<float>* extras);
void dgemm_avx2_6x8_packed(int64_t kc, const double* a, int64_t a_row_stride, int64_t a_col_stride, const double* b,
                           int64_t b_row_stride, double* c, int64_t ldc, double alpha, double beta,
                           const GemmTileExtras<double>* extras);
void dgemm_avx2_6x8_strided(int64_t kc, const double* a, int64_t a_row_stride, int64_t a_col_stride,
                            const double* b, int64_t b_row_stride, double* c, int64_t ldc, double alpha, double beta,
                            const GemmTileExtras<double>* extras);
// AVX-512 micro-kernels (gemm_microkernels_avx512.cpp); call only when the ISA allows.
void sgemm_avx512_8x32_packed(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride,
                               const float* b, int64_t b_row_stride, float* c, int64_t ldc, float alpha, float beta,
                               const GemmTileExtras<float>* extras);
void sgemm_avx512_8x32_strided(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride,
                                const float* b, int64_t b_row_stride, float* c, int64_t ldc, float alpha, float beta,
                                const GemmTileExtras<float>* extras);
void sgemm_avx512_8x32_strided_copying_b(int64_t kc, const float* a, int64_t a_row_stride, int64_t a_col_stride,
                                          const float* b, int64_t b_row_stride, float* b_copy, float* c, int64_t ldc,
                                          float alpha, float beta, const GemmTileExtras<float>* extras);
void sgemm_avx512_8x32_edge(int rows, int cols, int64_t kc, const float* a, int64_t a_row_stride,
                            int64_t a_col_stride, const float* b, int64_t b_row_stride, float* c, int64_t ldc,
                            float alpha, float beta, const GemmTileExtras<float>* extras);
void dgemm_avx512_8x16_packed(int64_t kc, const double* a, int64_t a_row_stride, int64_t a_col_stride,
                               const double* b, int64_t b_row_stride, double* c, int64_t ldc, double alpha,
                               double beta, const GemmTileExtras<double>* extras);
void dgemm_avx512_8x16_strided(int64_t kc, const double* a, int64_t a_row_stride, int64_t a_col_stride,
                                const double* b, int64_t b_row_stride, double* c, int64_t ldc, double alpha,
                                double beta, const GemmTileExtras<double>* extras);
void dgemm_avx512_8x16_edge(int rows, int cols, int64_t kc, const double* a, int64_t a_row_stride,
                             int64_t a_col_stride, const double* b, int64_t b_row_stride, double* c, int64_t ldc,
                             double alpha, double beta, const GemmTileExtras<double>* extras);
#endif

// The micro-kernels GEMM uses at `isa` (falls back to scalar for ISAs without one).
GemmMicroKernelInfo<float> sgemm_microkernel(mln_isa isa);
GemmMicroKernelInfo<double> dgemm_microkernel(mln_isa isa);

// The micro-kernels of T's GEMM at `isa`, for drivers templated on the element type.
template <class T>
GemmMicroKernelInfo<T> gemm_microkernel(mln_isa isa) {
    if constexpr (std::is_same_v<T, float>) {
        return sgemm_microkernel(isa);
    } else {
        return dgemm_microkernel(isa);
    }
}

}  // namespace mln::kernels
