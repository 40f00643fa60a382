#include "cpu/isa.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"

#if defined(MYELIN_X86_64_KERNELS)
#include "kernels/cpu/gemm/gemm_pack_avx2.hpp"
#include "kernels/cpu/gemm/gemm_pack_avx512.hpp"
#endif

namespace mln::kernels {

template <class T, int MR, int NR, bool kPackedA>
void gemm_scalar_microkernel(int64_t kc, const T* a, int64_t a_row_stride, int64_t a_col_stride, const T* b,
                             int64_t b_row_stride, T* c, int64_t ldc, T alpha, T beta,
                             const GemmTileExtras<T>* extras) {
    if constexpr (kPackedA) {
        a_row_stride = 1;
        a_col_stride = MR;
    }
    T accumulator[MR][NR] = {};
    for (int64_t p = 0; p < kc; ++p) {
        for (int i = 0; i < MR; ++i) {
            const T a_value = a[i * a_row_stride + p * a_col_stride];
            for (int j = 0; j < NR; ++j) accumulator[i][j] += a_value * b[p * b_row_stride + j];
        }
    }
    for (int i = 0; i < MR; ++i) {
        T* row = c + i * ldc;
        for (int j = 0; j < NR; ++j) {
            T value = beta == T(0) ? alpha * accumulator[i][j] : alpha * accumulator[i][j] + beta * row[j];
            if (extras != nullptr) {
                if (extras->bias != nullptr) value += extras->bias[j];
                if (extras->residual != nullptr) value += extras->residual[i * extras->residual_row_stride + j];
                if (extras->relu && value < T(0)) value = T(0);  // NaN stays NaN
            }
            row[j] = value;
        }
    }
}

template void gemm_scalar_microkernel<float, 4, 8, true>(int64_t, const float*, int64_t, int64_t, const float*,
                                                         int64_t, float*, int64_t, float, float,
                                                         const GemmTileExtras<float>*);
template void gemm_scalar_microkernel<float, 4, 8, false>(int64_t, const float*, int64_t, int64_t, const float*,
                                                          int64_t, float*, int64_t, float, float,
                                                          const GemmTileExtras<float>*);
template void gemm_scalar_microkernel<double, 4, 4, true>(int64_t, const double*, int64_t, int64_t, const double*,
                                                          int64_t, double*, int64_t, double, double,
                                                          const GemmTileExtras<double>*);
template void gemm_scalar_microkernel<double, 4, 4, false>(int64_t, const double*, int64_t, int64_t, const double*,
                                                           int64_t, double*, int64_t, double, double,
                                                           const GemmTileExtras<double>*);

GemmMicroKernelInfo<float> sgemm_microkernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) {
        // Unblocked up to 512^3 (and 2 MiB packed, gemm_driver.cpp): on Zen 5 (one thread,
        // min of batches, against the blocked path) 128x256x784 1.07x, 256^3 with A transposed
        // 1.1x, 512^3 1.0-1.03x; at 768^3 and 1024^3 the blocked path was ahead with A
        // transposed (A packed whole then outgrows L2).
        // A second thread from 2 M multiply-adds (128^3 and up). The blocked team path paid
        // off only from 20 M on Zen 5 (median GFLOP/s, 1 thread / 2 threads: 128^3 191 / 93,
        // 128x128x256 197 / 117, 256^3 200 / 199); the unblocked team syncs once, after
        // packing. Zen 5, two threads, same-process A/B (median time, 2 M against the former
        // 4 M, the other core free): 128^3 0.54-0.66, 128x128x192 0.52, 96x96x256 0.70,
        // 64x256x128 0.54, 256x64x128 0.63; with that core busy the team runs on one thread
        // (1.00-1.03). Lower thresholds are not settled: teams on 64^3 to 128x128x96 measured
        // 0.99-1.08 in a busier spell, when 128^3's team did not gain either; from 200 K under
        // load 10 (2026-12-07, min / median against 2 M): 64^3 1.21-1.46 / 1.26-1.56, 80^3
        // 1.02-1.12 / 1.09-1.16, 96^3 0.86-0.96 / 0.91-1.03.
        // B packed on the packed path by the first row tile against each panel, as the AVX2 set
        // does (packed_path_copy_b_bytes 1 MiB), measured even, so it packs in a pass: Zen 5, one
        // thread, gemm_vs_openblas --baseline (time with / without, fastest / median of 41
        // batches), NN and TN: 1536x512x256 1.02-1.04 / 1.01, 4096x256x256 1.00-1.01 / 0.99-1.00,
        // 8192x128x256 1.00 / 1.00, 2048x384x256 0.99-1.01 / 0.99-1.01 (NT and TT, unchanged: 0.99-1.01).
        GemmMicroKernelInfo<float> set{"sgemm_avx512_8x32", 8, 32, sgemm_avx512_8x32_packed,
                                       sgemm_avx512_8x32_strided,
                                       {sgemm_avx512_pack_a8_rows, sgemm_avx512_pack_b32_rows,
                                        sgemm_avx512_pack_b32_columns, sgemm_avx512_pack_a8_columns},
                                       512 * 512 * 512, 2'000'000, true, sgemm_avx512_8x32_strided_copying_b,
                                       sgemm_avx512_8x32_edge};
        // A last panel of up to 16 columns joins the full one before it (8 x 48 and narrower
        // tiles, 24 accumulators).
        set.edge_extra_cols = 16;
        return set;
    }
    if (cpu::runs_avx2(isa)) {
        // Unblocked up to the default 96^3: on Zen 3 (one thread, same-process A/B, median time of
        // 151 batches) unblocked up to 128x128x256 lost to the blocked path, 112^3 1.03-1.06x,
        // 128^3 1.04-1.12x, 128x128x256 1.03-1.12x (A transposed read in place the worst).
        GemmMicroKernelInfo<float> set{"sgemm_avx2_6x16", 6, 16, sgemm_avx2_6x16_packed, sgemm_avx2_6x16_strided,
                                       {sgemm_avx2_pack_a6_rows, sgemm_avx2_pack_b16_rows, sgemm_avx2_pack_b16_columns,
                                        sgemm_avx2_pack_a6_columns}};
        set.edge = sgemm_avx2_6x16_edge;
        // B packed by the first row tile against each panel on the unblocked path: Zen 3, one
        // thread, same-process A/B (min of 201 alternating batches, both ways round, time copying /
        // packing first): 24x512x64 0.91-0.98, 32x384x64 0.94-0.95, 48x256x64 0.95-0.96,
        // 65x129x97 0.98.
        set.strided_copying_b = sgemm_avx2_6x16_strided_copying_b;
        // Zen 3, one thread, same-process A/B (min of 201 alternating batches, 2 runs each way
        // round, time copying / packing first): 128x256x784 NN 0.97-0.99, TN 0.97-1.02,
        // 128x128x256 0.97-0.99, 256^3 0.97-1.00, 256x512x256 0.96-0.99; B of 1 MiB and more
        // lost (512^3 1.03-1.07, 1024^3 1.00-1.04: its strided rows come from L3).
        set.packed_path_copy_b_bytes = 1 << 20;
        set.prefetches_residual = true;
        // Zen 3's L2 (512 KiB). Two threads, same-process A/B (min of 100-300 alternating calls,
        // time split / row blocks): 128x256x784 NN 0.84-0.87, TN 0.83, TT 0.89; 96x1024x512
        // 0.80; 64x2048x256 0.80.
        set.team_column_split_b_bytes = 512 << 10;
        return set;
    }
#endif
    (void)isa;
    return {"sgemm_scalar_4x8", 4, 8, gemm_scalar_microkernel<float, 4, 8, true>,
            gemm_scalar_microkernel<float, 4, 8, false>};
}

GemmMicroKernelInfo<double> dgemm_microkernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) {
        GemmMicroKernelInfo<double> set{"dgemm_avx512_8x16", 8, 16, dgemm_avx512_8x16_packed,
                                        dgemm_avx512_8x16_strided};
        set.edge = dgemm_avx512_8x16_edge;
        set.edge_extra_cols = 8;  // 8 x 24 tiles, as the float set's 8 x 48
        return set;
    }
    if (cpu::runs_avx2(isa)) {
        GemmMicroKernelInfo<double> set{"dgemm_avx2_6x8", 6, 8, dgemm_avx2_6x8_packed, dgemm_avx2_6x8_strided};
        set.prefetches_residual = true;
        return set;
    }
#endif
    (void)isa;
    return {"dgemm_scalar_4x4", 4, 4, gemm_scalar_microkernel<double, 4, 4, true>,
            gemm_scalar_microkernel<double, 4, 4, false>};
}

}  // namespace mln::kernels
