// The pointwise strip kernel (conv_pointwise.hpp's PointwiseStrip contract), written once as a
// template on a lane type L and compiled per ISA file (conv_pointwise{,_avx2,_avx512}.cpp), with
// L providing: Scalar, Reg, Mask, width, first(n) (lanes [0, n)), load/store whole or masked
// (masked loads read nothing outside the mask and give 0 there), broadcast, set1, zero, add,
// fmadd, relu (max(0, x) that lets NaN in x through, as ReluOp), sum (of the lanes), prefetch
// (a line into L2), and optionally prefetch_store (a line fetched for writing: PointwiseStrip::
// prefetch_c, else ignored) and prefetch_l1 (a line into L1: PointwiseStrip::prefetch_b_l1, else
// ignored). Internal linkage: the copies
// compiled with different flags must never be merged by the linker.
//
// A tile is MR rows x V <= NV registers; its accumulators start at bias (plus C when
// accumulating), take every depth step as V loads of B, MR broadcasts of A and MR * V FMAs, and
// are stored once with residual and ReLU applied. The strip's last tile uses as many registers
// as its columns need, the last one masked. The tail kernel (PointwiseTailKernel) computes a few
// last columns as dot products along the depth instead.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <numeric>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_pointwise.hpp"

namespace mln::kernels {
namespace {

template <class L, bool kMasked>
typename L::Reg load_lanes(const typename L::Scalar* p, typename L::Mask mask) {
    if constexpr (kMasked) {
        return L::load(p, mask);
    } else {
        return L::load(p);
    }
}

template <class L, bool kMasked>
void store_lanes(typename L::Scalar* p, typename L::Reg v, typename L::Mask mask) {
    if constexpr (kMasked) {
        L::store(p, v, mask);
    } else {
        L::store(p, v);
    }
}

// kFusedTail, kFusedRowTail: the most tail columns a strip fuses (PointwiseStrip::tail_cols)
// with A's columns adjacent (dot products along the depth), and with A's rows adjacent (rows
// across the lanes, MR at most a register's lanes); 0: none. kShortRows (0: none): a strip of
// exactly that many rows runs tiles of that many (PointwiseKernelInfo::short_rows), reading
// only those rows of A.
template <class L, int MR, int NV, int kFusedTail = 0, int kFusedRowTail = 0, int kShortRows = 0>
struct PointwiseStripBody {
    using T = typename L::Scalar;
    using Reg = typename L::Reg;
    using Mask = typename L::Mask;
    static constexpr int64_t kWidth = L::width;
    static constexpr int64_t kColumns = NV * kWidth;

    // The fused tail columns' dot products (PointwiseStrip::tail_cols) over the depth steps [k,
    // k + width), masked when kMasked: sums[i * kTailSumRow + j * width ...] += A(i, k ...) *
    // B_tail(k ..., j) lane by lane, a: A's row 0 at step k. The sums stay in memory (L1): the
    // tile's accumulators and B registers leave no room for them, and a load and store per row
    // cost less than keeping them in registers would. They start at 0 (the FMA adds 0: the bits
    // of the tail kernel's). Whole blocks of 2 * width steps take a row's sum between the tile's
    // steps instead (tile); this takes the width steps and the masked ones after them.
    // perf, 160->960 @7 forward, batch 1 (2026-12-07): as one step of 2 registers per row after
    // every 32 depth steps (two against one: MobileNet-v2's 7x7 forward 0.97-0.99x the time, four
    // the same as two) these took 14% of the tile's samples for 1 of 49 columns, mostly at A's row
    // loads after the sums' stores; skipping all but the first (wrong sums) ran the 7x7 forward
    // layers 0.88-0.89x the time. 4K aliasing not borne out: the sums 64 bytes or 2 KiB further on
    // measured 0.99-1.01x; all MR loads first, then the FMAs and stores: 0.98-1.0x, one way round
    // only, not kept. ResNet-18's 256->512 1x1/2 forward (batch 1, 1 thread, 2026-12-07): ~10% of
    // the tile's samples; the 32 steps between them unrolled measured 1.12x the time.
    template <bool kMasked>
    static void tail_step(const PointwiseStrip<T>& s, const T* a, int64_t a_row_stride, int64_t k, Mask mask, T* sums) {
        for (int64_t j = 0; j < s.tail_cols; ++j) {
            const Reg bv = load_lanes<L, kMasked>(s.tail_b + j * s.tail_b_stride + k, mask);
            MLN_UNROLL(16)
            for (int i = 0; i < MR; ++i) {
                T* const sum = sums + i * kTailSumRow + j * kWidth;
                L::store(sum, L::fmadd(load_lanes<L, kMasked>(a + i * a_row_stride, mask), bv, L::load(sum)));
            }
        }
    }

    // Elements from one row's fused dot-product sums to the next's: four registers, though the
    // sums take kFusedTail: rows one register apart (64 bytes at AVX-512) measured 5-7% slower
    // on MobileNet-v2's 7x7 forward layers (1 thread, same-process A/B, twice; cause not found).
    static constexpr int64_t kTailSumRow = 4 * kWidth;

    // Row i's fused dot-product sums reduced across their lanes and finished (bias, C, residual,
    // ReLU as the tile's epilogue).
    static void finish_tail_sums(const PointwiseStrip<T>& s, const T* sums) {
        // Fields as locals: the stores through c could alias s (as in tile).
        const int64_t tail_cols = s.tail_cols;
        const int64_t rows = std::min<int64_t>(s.rows, MR);
        T* const c = s.c + s.cols;
        const int64_t ldc = s.ldc;
        const T* const bias = s.bias;
        const T* const residual = s.residual != nullptr ? s.residual + s.cols : nullptr;
        const bool accumulate = s.accumulate;
        const bool relu = s.relu;
        for (int64_t i = 0; i < rows; ++i) {
            const T* const row = sums + i * kTailSumRow;
            // As finish: (bias + C) + sum + residual, then ReLU (NaN comes through).
            for (int64_t j = 0; j < tail_cols; ++j) {
                T* const out = c + i * ldc + j;
                T value = bias != nullptr ? bias[i] : T(0);
                if (accumulate) value += *out;
                value += L::sum(L::load(row + j * kWidth));
                if (residual != nullptr) value += residual[i * ldc + j];
                if (relu && T(0) > value) value = T(0);
                *out = value;
            }
        }
    }

    // The R x (V * width) tile at column col (R: MR, or kShortRows without fused tails).
    // kUnitRowStride: A's rows are adjacent (a_row_stride 1: W^T read in place, or a packed
    // panel), so the R broadcasts of a step use constant offsets from one pointer. kTail: the
    // fused tail columns too, kDotTail as dot products (tail_step), or a positive count of
    // columns, rows across the lanes.
    static constexpr int kDotTail = -1;
    // kPrefetch: the next tile's columns of B into L2 (PointwiseStrip::prefetch_b) or L1 (prefetch_b_l1).
    static constexpr int kNoPrefetch = 0, kPrefetchL2 = 1, kPrefetchL1 = 2;
    static constexpr bool kPrefetchesStores = requires(T* p) { L::prefetch_store(p); };
    static constexpr bool kPrefetchesL1 = requires(const T* p) { L::prefetch_l1(p); };
    // On a 64-byte boundary: the 8 x 4 tail passes' code moved the fused-dot-tail tile's start
    // by 32 bytes mod 64 and ResNet-18's layer4 1x1/2 forward (its code and bits unchanged) took
    // 1.013-1.025x main's time (swapped 0.973-0.982x); aligned 0.988-1.007x (swapped 0.986-1.021x),
    // MobileNet-v2's pointwise forward and backward data even (Zen 5, batch 1, 1 thread).
    template <int R, int V, bool kMasked, bool kUnitRowStride, int kPrefetch = kNoPrefetch, int kTail = 0>
    MLN_CODE_ALIGNED(64) static void tile(const PointwiseStrip<T>& s, int64_t col, const Mask (&mask)[NV]) {
        static_assert(R == MR || kTail != kDotTail);
        // Fields as locals first: the stores through c could alias s for all the compiler knows,
        // and would make it reload every flag after each store (a quarter of the instructions
        // of a depth-16 tile, measured in the disassembly).
        T* const c = s.c + col;
        const int64_t ldc = s.ldc;
        const int64_t rows = s.rows;
        const T* const bias = s.bias;
        const T* const residual = s.residual != nullptr ? s.residual + col : nullptr;
        const bool accumulate = s.accumulate;
        const bool prefetch_c = s.prefetch_c;
        const int64_t depth = s.depth;
        const int64_t a_row_stride = kUnitRowStride ? 1 : s.a_row_stride;
        // The fused dot tail runs only where A's columns are adjacent (run): a constant stride
        // keeps the compiler from versioning the step loop on it (two copies of each).
        const int64_t a_col_stride = kTail == kDotTail ? 1 : s.a_col_stride;
        const int64_t b_row_stride = s.b_row_stride;
        Reg acc[R][V];
        MLN_UNROLL(16)
        for (int i = 0; i < R; ++i) {
            const Reg start = bias != nullptr ? L::set1(bias[std::min<int64_t>(i, rows - 1)]) : L::zero();
            MLN_UNROLL(4)
            for (int v = 0; v < V; ++v) acc[i][v] = start;
            if (accumulate && i < rows) {
                MLN_UNROLL(4)
                for (int v = 0; v < V; ++v) {
                    acc[i][v] = L::add(acc[i][v], load_lanes<L, kMasked>(c + i * ldc + v * kWidth, mask[v]));
                }
            }
        }
        if constexpr (kPrefetchesStores) {
            if (prefetch_c) {
                MLN_UNROLL(16)
                for (int i = 0; i < R; ++i) {
                    if (i < rows) {
                        MLN_UNROLL(4)
                        for (int v = 0; v < V; ++v) L::prefetch_store(c + i * ldc + v * kWidth);
                    }
                }
            }
        }
        const T* a = s.a;
        const T* b = s.b + col;
        auto step = [&] {
            Reg bv[V];
            MLN_UNROLL(4)
            for (int v = 0; v < V; ++v) bv[v] = load_lanes<L, kMasked>(b + v * kWidth, mask[v]);
            if constexpr (kPrefetch == kPrefetchL2) {
                MLN_UNROLL(4)
                for (int v = 0; v < V; ++v) L::prefetch(b + kColumns + v * kWidth);
            } else if constexpr (kPrefetch == kPrefetchL1) {
                MLN_UNROLL(4)
                for (int v = 0; v < V; ++v) L::prefetch_l1(b + kColumns + v * kWidth);
            }
            MLN_UNROLL(16)
            for (int i = 0; i < R; ++i) {
                const Reg x = L::broadcast(a + i * a_row_stride);
                MLN_UNROLL(4)
                for (int v = 0; v < V; ++v) acc[i][v] = L::fmadd(x, bv[v], acc[i][v]);
            }
            a += a_col_stride;
            b += b_row_stride;
        };
        if constexpr (kTail > 0) {
            // Per depth step one load of A's R adjacent rows (the line the broadcasts read) and
            // a broadcast of B_tail per column: kTail accumulators, the lanes past R zero.
            static_assert(R <= kWidth);
            Reg tail_acc[kTail];
            for (int j = 0; j < kTail; ++j) tail_acc[j] = L::zero();
            const Mask rows_mask = L::first(R);
            const T* tb = s.tail_b;
            const int64_t tail_b_stride = s.tail_b_stride;
            for (int64_t k = 0; k < depth; ++k) {
                const Reg av = load_lanes<L, (R < kWidth)>(a, rows_mask);
                step();
                MLN_UNROLL(4)
                for (int j = 0; j < kTail; ++j) tail_acc[j] = L::fmadd(av, L::broadcast(tb + j * tail_b_stride), tail_acc[j]);
                ++tb;
            }
            store_tile<R, V, kMasked>(s, c, residual, acc, mask);
            T sums[kWidth];
            for (int j = 0; j < kTail; ++j) {
                L::store(sums, tail_acc[j]);
                for (int64_t i = 0; i < rows; ++i) finish(s, i, s.cols + j, sums[i]);
            }
            return;
        }
        if constexpr (kTail == kDotTail) {
            static_assert(kFusedTail <= 4);
            alignas(64) T sums[MR * kTailSumRow];
            for (int i = 0; i < MR; ++i) {
                for (int j = 0; j < kFusedTail; ++j) L::store(sums + i * kTailSumRow + j * kWidth, L::zero());
            }
            // Each block of 2 * width depth steps takes one row's sum (2 registers of depth) after
            // every 2 * width / MR of its steps, so the tail's loads and stores spread among the
            // FMAs rather than stall the pipe in one burst after the block (the same FMAs in the
            // same order: same bits). Zen 5, same-process A/B both ways round against wip/integ
            // (2026-12-07), batch 1, 1 thread: ResNet-18's 256->512 1x1/2 forward 0.97-0.99x the
            // time (swapped 1.00-1.01x), MobileNet-v2's 7x7 forward layers 0.98-0.99x (swapped
            // 1.01-1.04x); batch 32, 2 threads: 0.92-0.99x (swapped 1.03-1.05x) and 1.00x (swapped
            // 1.01-1.03x).
            // Even alone, 2026-12-07: a constant A column stride (the step loop had been versioned
            // on it, two copies of each), the sums zeroed first (no first-block copy) and the tail
            // steps on the step loop's own A pointer (no spilled row pointers), with the whole
            // block's tail step after it as before: 0.99-1.01x. Lost: with B_tail's lines
            // prefetched a block ahead: 0.99-1.0x; B_tail loaded per row rather than held in 2
            // registers (the zmm pressure spills two accumulators per block): 1.00-1.02x.
            int64_t k = 0;
            static_assert(2 * kWidth % MR == 0);
            constexpr int64_t kRowSteps = 2 * kWidth / MR;
            for (; k + 2 * kWidth <= depth; k += 2 * kWidth) {
                Reg tb[kFusedTail][2];
                for (int64_t j = 0; j < s.tail_cols; ++j) {
                    tb[j][0] = L::load(s.tail_b + j * s.tail_b_stride + k);
                    tb[j][1] = L::load(s.tail_b + j * s.tail_b_stride + k + kWidth);
                }
                const T* a_row = a;
                T* sum_row = sums;
                for (int i = 0; i < MR; ++i) {
                    for (int64_t q = 0; q < kRowSteps; ++q) step();
                    for (int64_t j = 0; j < s.tail_cols; ++j) {
                        Reg value = L::load(sum_row + j * kWidth);
                        value = L::fmadd(L::load(a_row), tb[j][0], value);
                        value = L::fmadd(L::load(a_row + kWidth), tb[j][1], value);
                        L::store(sum_row + j * kWidth, value);
                    }
                    a_row += a_row_stride;
                    sum_row += kTailSumRow;
                }
            }
            if (k + kWidth <= depth) {
                for (int64_t q = 0; q < kWidth; ++q) step();
                tail_step<false>(s, a - kWidth, a_row_stride, k, Mask{}, sums);
                k += kWidth;
            }
            if (k < depth) {
                const T* const a_k = a;
                for (int64_t q = k; q < depth; ++q) step();
                tail_step<true>(s, a_k, a_row_stride, k, L::first(depth - k), sums);
            }
            store_tile<R, V, kMasked>(s, c, residual, acc, mask);
            finish_tail_sums(s, sums);
            return;
        }
        int64_t k = 0;
        // PointwiseStrip::stream: this tile's share of the lines, one per step.
        const int64_t stream_first = col / kColumns * depth;
        if (s.stream_lines > stream_first) {
            const int64_t lines = std::min(depth, s.stream_lines - stream_first);
            const T* line = s.stream + stream_first * kLineElements;
            for (; k < lines; ++k, line += kLineElements) {
                L::prefetch(line);
                step();
            }
        }
        for (; k < depth; ++k) step();
        store_tile<R, V, kMasked>(s, c, residual, acc, mask);
    }
    static constexpr int64_t kLineElements = 64 / static_cast<int64_t>(sizeof(T));

    // The tile's epilogue: residual, ReLU, one store per output. Lost, 2026-12-07: whole tiles
    // without residual through a loop with ReLU decided once and no per-row tests, the start
    // without clamps (half of the ~300 instructions around an 8 x 48 tile's loop): batch 1, 1
    // thread, MobileNet-v2's pointwise sums 0.99-1.01x main's time both ways round, 32->16 @112
    // backward data (16 deep) 1.00x and 1.03x; the loop's FMAs hide them.
    template <int R, int V, bool kMasked>
    static void store_tile(const PointwiseStrip<T>& s, T* c, const T* residual, const Reg (&acc)[R][V],
                           const Mask (&mask)[NV]) {
        if constexpr (kSpreadsStores) {
            if (s.spread != nullptr) {
                alignas(64) T values[R * (V + 2) * kWidth];
                MLN_UNROLL(16)
                for (int i = 0; i < R; ++i) {
                    T* const row = values + i * (V + 2) * kWidth;
                    L::store(row, L::zero());
                    MLN_UNROLL(4)
                    for (int v = 0; v < V; ++v) L::store(row + (v + 1) * kWidth, acc[i][v]);
                    L::store(row + (V + 1) * kWidth, L::zero());
                }
                const int64_t col = c - s.c;
                return spread_tile(s, col, kMasked ? s.cols - col : V * kWidth, values, V);
            }
        }
        const int64_t rows = s.rows;
        const int64_t ldc = s.ldc;
        const bool relu = s.relu;
        MLN_UNROLL(16)
        for (int i = 0; i < R; ++i) {
            if (i >= rows) break;
            MLN_UNROLL(4)
            for (int v = 0; v < V; ++v) {
                const int64_t at = i * ldc + v * kWidth;
                Reg value = acc[i][v];
                if (residual != nullptr) value = L::add(value, load_lanes<L, kMasked>(residual + at, mask[v]));
                if (relu) value = L::relu(value);
                store_lanes<L, kMasked>(c + at, value, mask[v]);
            }
        }
    }

    // PointwiseStrip::spread: the tile's outputs [q, q + columns) own the input positions [lo, hi);
    // each register w of x over them is two registers of outputs permuted (spread2), the lanes
    // outside [lo, hi) left to the neighbouring tiles. Registers w whose outputs begin in register
    // r0 + v of the image take registers v and v + 1 of the tile's row, v from -1 (w begins in the
    // previous tile's outputs) to `registers` (w's positions owned here are zeros before the next
    // tile's first output): values holds each row's registers with a zero one either side. Out of
    // line, from memory: the tile's accumulators passed by reference to it kept them out of
    // registers through the whole depth loop (2.3-2.6x the time).
    static constexpr bool kSpreadsStores = requires(Mask m, const uint8_t* index, Reg v) { L::spread2(m, index, v, v); };
    MLN_NOINLINE static void spread_tile(const PointwiseStrip<T>& s, int64_t col, int64_t columns, const T* values,
                                         int64_t registers) {
        const PointwiseSpreadPlan& plan = *s.spread;
        const int64_t q = s.spread_q + col;
        const int64_t r0 = q / kWidth;
        const int64_t lo = plan.input[q];
        const int64_t hi = q + columns == plan.positions ? plan.in_size : plan.input[q + columns];
        const int64_t w_lo = lo / kWidth;
        const int64_t w_hi = (hi + kWidth - 1) / kWidth;
        const int64_t rows = std::min<int64_t>(s.rows, MR);
        const int64_t plane = plan.in_size;
        const int64_t row_values = (registers + 2) * kWidth;
        T* const x = s.spread_to;
        for (int64_t v = -1; v <= registers; ++v) {
            const int64_t w_begin = v < 0 ? w_lo : std::max<int64_t>(w_lo, plan.first_register[r0 + v]);
            const int64_t w_end = v == registers ? w_hi : std::min<int64_t>(w_hi, plan.first_register[r0 + v + 1]);
            const T* const pair = values + (v + 1) * kWidth;
            for (int64_t w = w_begin; w < w_end; ++w) {
                const int64_t at = w * kWidth;
                const Mask keep = static_cast<Mask>(plan.keep[w]);
                const uint8_t* const index = plan.index + at;
                T* const to = x + at;
                if (at >= lo && at + kWidth <= hi) {
                    for (int64_t i = 0; i < rows; ++i) {
                        const T* const row = pair + i * row_values;
                        L::store(to + i * plane, L::spread2(keep, index, L::load(row), L::load(row + kWidth)));
                    }
                } else {
                    const Mask owned = static_cast<Mask>(L::first(std::clamp<int64_t>(hi - at, 0, kWidth)) &
                                                         ~L::first(std::clamp<int64_t>(lo - at, 0, kWidth)));
                    for (int64_t i = 0; i < rows; ++i) {
                        const T* const row = pair + i * row_values;
                        L::store(to + i * plane, L::spread2(keep, index, L::load(row), L::load(row + kWidth)), owned);
                    }
                }
            }
        }
    }

    // The first full tile of R rows with J <= kFusedRowTail tail columns, rows across the lanes.
    template <int R, int J>
    static void row_tail_tile(const PointwiseStrip<T>& s, int64_t columns) {
        if constexpr (J > 1) {
            if (columns < J) return row_tail_tile<R, J - 1>(s, columns);
        }
        const Mask all[NV] = {};
        if (s.prefetch_b) return tile<R, NV, false, true, kPrefetchL2, J>(s, 0, all);
        tile<R, NV, false, true, kNoPrefetch, J>(s, 0, all);
    }

    // The strip's last tile: V registers for `cols` < kColumns columns, the last one masked.
    template <int R, int V, bool kUnitRowStride>
    static void last_tile(const PointwiseStrip<T>& s, int64_t col, int64_t cols) {
        if constexpr (V > 1) {
            if (cols <= (V - 1) * kWidth) return last_tile<R, V - 1, kUnitRowStride>(s, col, cols);
        }
        Mask mask[NV];
        for (int v = 0; v < NV; ++v) mask[v] = L::first(std::clamp<int64_t>(cols - v * kWidth, 1, kWidth));
        tile<R, V, true, kUnitRowStride>(s, col, mask);
    }

    // Full tiles of R rows, then the last one; the fused dot tail only at R = MR.
    template <int R, bool kUnitRowStride>
    static void run(const PointwiseStrip<T>& s) {
        const Mask all[NV] = {};
        int64_t col = 0;
        // The driver fuses the tail only into a strip of at least one full tile.
        if constexpr (kFusedTail > 0 && R == MR) {
            if (s.tail_cols > 0 && s.a_col_stride == 1) {
                if (s.prefetch_b) {
                    tile<MR, NV, false, kUnitRowStride, kPrefetchL2, kDotTail>(s, col, all);
                } else {
                    tile<MR, NV, false, kUnitRowStride, kNoPrefetch, kDotTail>(s, col, all);
                }
                col += kColumns;
            }
        }
        if constexpr (kFusedRowTail > 0 && kUnitRowStride) {
            if (s.tail_cols > 0 && s.a_col_stride != 1) {
                row_tail_tile<R, kFusedRowTail>(s, s.tail_cols);
                col += kColumns;
            }
        }
        if constexpr (kPrefetchesL1) {
            if (s.prefetch_b_l1) {
                for (; col + kColumns <= s.cols; col += kColumns) {
                    tile<R, NV, false, kUnitRowStride, kPrefetchL1>(s, col, all);
                }
            }
        }
        if (s.prefetch_b) {
            for (; col + kColumns <= s.cols; col += kColumns) {
                tile<R, NV, false, kUnitRowStride, kPrefetchL2>(s, col, all);
            }
        } else {
            for (; col + kColumns <= s.cols; col += kColumns) tile<R, NV, false, kUnitRowStride>(s, col, all);
        }
        if (col < s.cols) last_tile<R, NV, kUnitRowStride>(s, col, s.cols - col);
    }

    template <int R>
    static void strip_rows(const PointwiseStrip<T>& s) {
        if (s.a_row_stride == 1) return run<R, true>(s);
        run<R, false>(s);
    }

    static void strip(const PointwiseStrip<T>& s) {
        if constexpr (kShortRows > 0) {
            if (s.rows == kShortRows) return strip_rows<kShortRows>(s);
        }
        strip_rows<MR>(s);
    }

    // The tail kernel (PointwiseTailKernel): MR rows of A times J columns of B per pass, MR * J
    // accumulators summed across their lanes at the end, the depth's last step masked. Rows
    // past `rows` repeat the last one and are not written.
    template <bool kMasked, int R, int J>
    static void dot_step(const T* const (&a)[R], const T* const (&b)[J], int64_t k, Mask mask, Reg (&acc)[R][J]) {
        Reg bv[J];
        for (int j = 0; j < J; ++j) bv[j] = load_lanes<L, kMasked>(b[j] + k, mask);
        MLN_UNROLL(16)
        for (int i = 0; i < R; ++i) {
            const Reg av = load_lanes<L, kMasked>(a[i] + k, mask);
            for (int j = 0; j < J; ++j) acc[i][j] = L::fmadd(av, bv[j], acc[i][j]);
        }
    }

    // C(i, col) = (bias + C) + sum + residual, then ReLU: the tile's epilogue, one output.
    static void finish(const PointwiseStrip<T>& s, int64_t i, int64_t col, T sum) {
        T* const out = s.c + i * s.ldc + col;
        T value = s.bias != nullptr ? s.bias[i] : T(0);
        if (s.accumulate) value += *out;
        value += sum;
        if (s.residual != nullptr) value += s.residual[i * s.ldc + col];
        if (s.relu && T(0) > value) value = T(0);  // as L::relu: NaN comes through
        *out = value;
    }

    // Rows [row, row + R) of the strip (those past `rows` repeat the last one and are not
    // written) times J columns from col on.
    template <int R, int J>
    static void tail_columns(const PointwiseStrip<T>& s, int64_t row, int64_t col) {
        Reg acc[R][J];
        const T* a[R];
        for (int i = 0; i < R; ++i) {
            a[i] = s.a + std::min<int64_t>(row + i, s.rows - 1) * s.a_row_stride;
            for (int j = 0; j < J; ++j) acc[i][j] = L::zero();
        }
        const T* b[J];
        for (int j = 0; j < J; ++j) b[j] = s.b + (col + j) * s.b_row_stride;
        const int64_t depth = s.depth;
        const int64_t full = depth / kWidth * kWidth;
        const Mask last = full < depth ? L::first(depth - full) : Mask{};
        for (int64_t k = 0; k < full; k += kWidth) dot_step<false, R, J>(a, b, k, last, acc);
        if (full < depth) dot_step<true, R, J>(a, b, full, last, acc);
        for (int64_t i = 0; i < R && row + i < s.rows; ++i) {
            T sums[J];
            if constexpr (J == 4 && kHasSum4) {
                L::sum4(acc[i], sums);
            } else {
                for (int j = 0; j < J; ++j) sums[j] = L::sum(acc[i][j]);
            }
            for (int j = 0; j < J; ++j) finish(s, row + i, col + j, sums[j]);
        }
    }

    // Where L sums four registers' lanes together (sum4, the same bits as four sum() calls in a
    // third of the instructions), four columns per pass over kSum4Rows rows at a time (16
    // accumulators): 14x14's four tail columns' 32 reductions per panel were half the tail
    // kernel's time (MobileNet-v2 64->384 and 96->576 at batch 1). Otherwise two columns per
    // pass over all MR rows: 2 * MR accumulators, MR + 2 loads per 2 * MR FMAs. Lost (Zen 5,
    // 2026-12-07): AVX-512's 4 x 4 sums reduced as one register (16 vectors transposed as they are
    // added) and finished as one (masked loads and stores per row): 14x14 forward at batch 1, 1
    // thread, 0.99-1.00x main's time both ways round; the tail's fixed costs per call remain.
    static constexpr bool kHasSum4 = requires(const Reg (&v)[4], T* out) { L::sum4(v, out); };

    // Where L has the half-register ops (load_halves: two rows' width / 2 depth steps in one
    // register, broadcast_half, sum_halves; and the quarter ops of the epilogue), the MR = 8 rows x
    // 4 columns of a pass go as 4 pairs of rows x 4 columns: 16 accumulators, per width / 2 depth
    // steps 4 broadcasts of B's halves, 4 registers of A's pairs and 16 FMAs, then 42 shuffles and
    // adds leave each row's 4 sums in a 128-bit quarter, finished (bias, C, residual, ReLU as
    // finish) and stored a row at a time. The sum4 passes took ~7% of MobileNet-v2's 64->384 @14
    // forward at batch 1 (1 thread, Zen 5) for 2% of its FMAs: the loop 3.5%, reductions and the
    // scalar finish 2.5%.
    static constexpr bool kHasHalves = requires(const T* p, const Reg (&acc)[4][4], Reg (&out)[2], Reg v) {
        L::load_halves(p, p);
        L::load_halves(p, p, int64_t{});
        L::broadcast_half(p);
        L::broadcast_half(p, int64_t{});
        L::sum_halves(acc, out);
        L::broadcast_quarters(p, int64_t{});
        L::load_quarters(p, int64_t{}, int64_t{});
        L::store_quarters(static_cast<T*>(nullptr), int64_t{}, int64_t{}, v);
    };

    // Columns [col, col + 4) of the strip's rows (at most MR = 8; rows past `rows` repeat the last
    // one and are not written), as kHasHalves says.
    static void tail_columns_halves(const PointwiseStrip<T>& s, int64_t col) {
        static_assert(MR == 8);
        constexpr int64_t kHalf = kWidth / 2;
        const int64_t rows = s.rows;
        const T* a[MR];
        MLN_UNROLL(8)
        for (int i = 0; i < MR; ++i) a[i] = s.a + std::min<int64_t>(i, rows - 1) * s.a_row_stride;
        const T* b[4];
        MLN_UNROLL(4)
        for (int j = 0; j < 4; ++j) b[j] = s.b + (col + j) * s.b_row_stride;
        Reg acc[4][4];
        MLN_UNROLL(4)
        for (int p = 0; p < 4; ++p) {
            MLN_UNROLL(4)
            for (int j = 0; j < 4; ++j) acc[p][j] = L::zero();
        }
        auto step = [&]<bool kMasked>(int64_t k, int64_t n) {
            Reg bv[4];
            MLN_UNROLL(4)
            for (int j = 0; j < 4; ++j) bv[j] = kMasked ? L::broadcast_half(b[j] + k, n) : L::broadcast_half(b[j] + k);
            MLN_UNROLL(4)
            for (int p = 0; p < 4; ++p) {
                const Reg av = kMasked ? L::load_halves(a[2 * p] + k, a[2 * p + 1] + k, n)
                                       : L::load_halves(a[2 * p] + k, a[2 * p + 1] + k);
                MLN_UNROLL(4)
                for (int j = 0; j < 4; ++j) acc[p][j] = L::fmadd(av, bv[j], acc[p][j]);
            }
        };
        const int64_t depth = s.depth;
        int64_t k = 0;
        for (; k + kHalf <= depth; k += kHalf) step.template operator()<false>(k, kHalf);
        if (k < depth) step.template operator()<true>(k, depth - k);
        Reg sums[2];
        L::sum_halves(acc, sums);
        // Fields as locals: the stores through c could alias s (as in tile).
        T* const c = s.c + col;
        const int64_t ldc = s.ldc;
        const T* const bias = s.bias;
        const T* const residual = s.residual != nullptr ? s.residual + col : nullptr;
        const bool accumulate = s.accumulate;
        const bool relu = s.relu;
        MLN_UNROLL(2)
        for (int h = 0; h < 2; ++h) {
            const int64_t n = std::min<int64_t>(4, rows - 4 * h);
            if (n <= 0) break;
            // As finish: (bias + C) + sum + residual, then ReLU (NaN comes through).
            Reg value = bias != nullptr ? L::broadcast_quarters(bias + 4 * h, n) : L::zero();
            if (accumulate) value = L::add(value, L::load_quarters(c + 4 * h * ldc, ldc, n));
            value = L::add(value, sums[h]);
            if (residual != nullptr) value = L::add(value, L::load_quarters(residual + 4 * h * ldc, ldc, n));
            if (relu) value = L::relu(value);
            L::store_quarters(c + 4 * h * ldc, ldc, n, value);
        }
    }
    static constexpr int kSum4Rows = 4;
    static constexpr int kTailColumns = 2;

    // Rows across the lanes, for A's rows adjacent (backward data's W^T): R registers of rows
    // per pass (the last one masked when kMasked) and J columns: per depth step R loads of A, J
    // broadcasts of B and R * J FMAs. All of a strip's tail columns in one pass read W^T once
    // (a pass per column read it once per column from L2, a line per FMA: 11% of MobileNet-v2's
    // 576->96 backward data at 14x14 went to its 4 tail columns).
    static constexpr int kTailRowRegs = 4;
    static constexpr int kTailRowColumns = kWidth >= 4 ? kWidth / 4 : 1;

    static constexpr bool kStoresRows4 = requires(const Reg (&v)[4], T* c) { L::store_rows4(v, c, int64_t{}, int64_t{}); };

    template <int R, int J, bool kMasked>
    static void tail_rows_block(const PointwiseStrip<T>& s, int64_t row, int64_t col) {
        const int64_t rows = std::min<int64_t>(R * kWidth, s.rows - row);
        const Mask mask = L::first(rows - (R - 1) * kWidth);
        Reg acc[R][J];
        for (int r = 0; r < R; ++r) {
            for (int j = 0; j < J; ++j) acc[r][j] = L::zero();
        }
        const T* a = s.a + row;
        const T* b[J];
        for (int j = 0; j < J; ++j) b[j] = s.b + (col + j) * s.b_row_stride;
        const int64_t a_col_stride = s.a_col_stride;
        for (int64_t k = 0; k < s.depth; ++k, a += a_col_stride) {
            Reg av[R];
            MLN_UNROLL(4)
            for (int r = 0; r < R; ++r) av[r] = r + 1 == R ? load_lanes<L, kMasked>(a + r * kWidth, mask) : L::load(a + r * kWidth);
            MLN_UNROLL(4)
            for (int j = 0; j < J; ++j) {
                const Reg bv = L::broadcast(b[j] + k);
                MLN_UNROLL(4)
                for (int r = 0; r < R; ++r) acc[r][j] = L::fmadd(av[r], bv, acc[r][j]);
            }
        }
        if constexpr (J == 4 && kStoresRows4) {
            // Plain outputs (backward data over one depth block): each row's four in one store,
            // not four scalar ones a row apart (Zen 5, same-process A/B against main, both ways
            // round, min / median, 2026-12-07: batch 1, 1 thread, 384->96 @14 0.96-0.98x the time,
            // 576->96 0.98x, 384->64 0.97-0.99x; batch 32, 2 threads 0.98-1.01x).
            if (!s.accumulate && s.bias == nullptr && s.residual == nullptr && !s.relu) {
                for (int r = 0; r < R; ++r) {
                    const Reg columns[4] = {acc[r][0], acc[r][1], acc[r][2], acc[r][3]};
                    L::store_rows4(columns, s.c + (row + r * kWidth) * s.ldc + col, s.ldc,
                                   std::min<int64_t>(kWidth, rows - r * kWidth));
                }
                return;
            }
        }
        T sums[R * kWidth];
        for (int j = 0; j < J; ++j) {
            for (int r = 0; r < R; ++r) L::store(sums + r * kWidth, acc[r][j]);
            for (int64_t i = 0; i < rows; ++i) finish(s, row + i, col + j, sums[i]);
        }
    }

    // J columns from col on, every row: R registers of rows per pass, the last rows in as many
    // registers as they need, the last one masked.
    template <int J, int R = kTailRowRegs>
    static void tail_rows_last(const PointwiseStrip<T>& s, int64_t row, int64_t col) {
        if constexpr (R > 1) {
            if (s.rows - row <= (R - 1) * kWidth) return tail_rows_last<J, R - 1>(s, row, col);
        }
        tail_rows_block<R, J, true>(s, row, col);
    }

    template <int J>
    static void tail_rows(const PointwiseStrip<T>& s, int64_t col) {
        constexpr int64_t kRows = kTailRowRegs * kWidth;
        int64_t row = 0;
        for (; row + kRows <= s.rows; row += kRows) tail_rows_block<kTailRowRegs, J, false>(s, row, col);
        if (row < s.rows) tail_rows_last<J>(s, row, col);
    }

    // The last cols < J columns from col on.
    template <int J>
    static void tail_rows_rest(const PointwiseStrip<T>& s, int64_t col, int64_t cols) {
        if constexpr (J > 1) {
            if (cols < J) return tail_rows_rest<J - 1>(s, col, cols);
        }
        tail_rows<J>(s, col);
    }

    static void tail(const PointwiseStrip<T>& s) {
        if (s.a_col_stride != 1) {
            int64_t col = 0;
            for (; col + kTailRowColumns <= s.cols; col += kTailRowColumns) tail_rows<kTailRowColumns>(s, col);
            if constexpr (kTailRowColumns > 1) {
                if (col < s.cols) tail_rows_rest<kTailRowColumns - 1>(s, col, s.cols - col);
            }
            return;
        }
        for (int64_t row = 0; row < s.rows; row += MR) {
            PointwiseStrip<T> rows = s;
            rows.a = s.a + row * s.a_row_stride;
            rows.c = s.c + row * s.ldc;
            rows.bias = s.bias != nullptr ? s.bias + row : nullptr;
            rows.residual = s.residual != nullptr ? s.residual + row * s.ldc : nullptr;
            rows.rows = std::min<int64_t>(MR, s.rows - row);
            int64_t col = 0;
            if constexpr (kHasHalves) {
                for (; col + 4 <= s.cols; col += 4) tail_columns_halves(rows, col);
            } else if constexpr (kHasSum4) {
                for (; col + 4 <= s.cols; col += 4) {
                    for (int64_t r = 0; r < rows.rows; r += kSum4Rows) tail_columns<kSum4Rows, 4>(rows, r, col);
                }
            }
            for (; col + kTailColumns <= s.cols; col += kTailColumns) tail_columns<MR, kTailColumns>(rows, 0, col);
            for (; col < s.cols; ++col) tail_columns<MR, 1>(rows, 0, col);
        }
    }
};

// A strided layer's outputs spread into x's grid (PointwiseSpreadColumns), a row of the output
// grid at a time. Where L has the permutes (spread_low, spread_high: a register's first or last
// half of the lanes at the even lanes, zeros between), rows of stride 2 (ResNet's 1x1/2
// shortcuts) move in whole registers; otherwise element by element (the baseline build's code,
// four lanes at a time, took 17% of ResNet-18's 64->128 1x1/2 backward data on one thread).
template <class L>
struct PointwiseSpreadBody {
    using T = typename L::Scalar;
    using Reg = typename L::Reg;
    using Mask = typename L::Mask;
    static constexpr int64_t kWidth = L::width;
    static constexpr bool kPermutes = requires(Reg v) {
        L::spread_low(v);
        L::spread_high(v);
    };

    // to[2 o] = from[o] for o < count and zeros between, in registers.
    static void spread_row_even(const T* from, int64_t count, T* to) {
        for (int64_t o = 0; o < count; o += kWidth) {
            const int64_t n = std::min(kWidth, count - o);
            const Reg v = n == kWidth ? L::load(from + o) : L::load(from + o, L::first(n));
            T* const p = to + 2 * o;
            // No zero after the row's last element.
            const int64_t written = 2 * n - (o + n == count ? 1 : 0);
            if (written >= kWidth) {
                L::store(p, L::spread_low(v));
            } else {
                L::store(p, L::spread_low(v), L::first(written));
            }
            if (written >= 2 * kWidth) {
                L::store(p + kWidth, L::spread_high(v));
            } else if (written > kWidth) {
                L::store(p + kWidth, L::spread_high(v), L::first(written - kWidth));
            }
        }
    }

    // to[o * stride] = from[o] for o < count and zeros between (to[0 .. (count - 1) * stride]).
    template <int64_t kStride>
    static void spread_row(const T* from, int64_t count, int64_t stride, T* to) {
        if constexpr (kStride == 2 && kPermutes) return spread_row_even(from, count, to);
        const int64_t step = kStride != 0 ? kStride : stride;
        for (int64_t o = 0; o + 1 < count; ++o) {
            to[o * step] = from[o];
            for (int64_t j = 1; j < step; ++j) to[o * step + j] = T(0);
        }
        to[(count - 1) * step] = from[count - 1];
    }

    // Where L expands (lanes of a register, in order, into the lanes a mask picks, zeros
    // between), whole planes of a 2-d stride-2 layer whose input is twice its output on both axes
    // (ResNet's 1x1/2 shortcuts) go as one stream over their channels: each output row's values
    // at the even lanes of its input row, then a row of zeros, a pattern that repeats every
    // spread_period() registers of x, from's rows and x's planes both adjacent.
    static constexpr bool kExpands = requires(Reg v, Mask m) { L::expand(v, m); };
    // Rows of more outputs keep the row spread, two permutes a register of them: ResNet-18's
    // 64->128 1x1/2 (rows of 28) ran 1.02-1.05x its time by planes (Zen 5, batch 1, 1 and 2
    // threads, same-process A/B both ways round). Even, 2026-12-07: each whole row with the
    // skipped row below it in whole registers (7 stores, no fill call): 0.98-1.01x at batch 1 on
    // 1 and 2 threads, 0.98-0.99x at batch 32.
    static constexpr int64_t kMaxPlaneRow = 16;
    static constexpr int64_t kMaxPeriod = 32;
    static int64_t spread_period(const WindowGeometry& g) {
        const int64_t pair = 4 * g.out[2];  // an output row's input row and the zero row below it
        return pair / std::gcd(pair, kWidth);
    }
    static bool spreads_planes(const WindowGeometry& g) {
        if constexpr (!kExpands) return false;
        return g.in[0] == 1 && g.out[0] == 1 && g.stride[1] == 2 && g.stride[2] == 2 && g.in[1] == 2 * g.out[1] &&
               g.in[2] == 2 * g.out[2] && g.out[2] <= kMaxPlaneRow && spread_period(g) <= kMaxPeriod;
    }
    // x's planes [0, depth) from from's rows (out_size apart): every element written once, by
    // whole stores but the last.
    static void spread_planes(const WindowGeometry& g, const T* from, int64_t depth, T* x) {
        if constexpr (kExpands) {
            const int64_t pair = 4 * g.out[2];
            const int64_t period = spread_period(g);
            // Register j of a period takes counts[j] values into the lanes keep[j] picks.
            Mask keep[kMaxPeriod];
            int counts[kMaxPeriod];
            for (int64_t j = 0; j < period; ++j) {
                keep[j] = 0;
                counts[j] = 0;
                for (int64_t lane = 0; lane < kWidth; ++lane) {
                    const int64_t at = (j * kWidth + lane) % pair;
                    if (at < pair / 2 && at % 2 == 0) {
                        keep[j] = static_cast<Mask>(keep[j] | (Mask(1) << lane));
                        ++counts[j];
                    }
                }
            }
            const int64_t total = depth * g.in_size();
            const T* source = from;
            int64_t at = 0;
            // Lost, 2026-12-07: a prefetchw 16 registers ahead of each store (Zen 5, ResNet-18's
            // layer3 and layer4 1x1/2 backward data, batch 1, 1 thread: 1.00-1.01x main's time).
            for (; at + period * kWidth <= total; at += period * kWidth) {
                for (int64_t j = 0; j < period; ++j) {
                    L::store(x + at + j * kWidth, L::expand(L::load(source, L::first(counts[j])), keep[j]));
                    source += counts[j];
                }
            }
            // The last registers, within x: only the values they keep are read.
            for (int64_t j = 0; at < total; ++j, at += kWidth) {
                const int64_t n = std::min(kWidth, total - at);
                const Mask kept = static_cast<Mask>(keep[j] & L::first(n));
                const int count = std::popcount(static_cast<unsigned>(kept));
                L::store(x + at, L::expand(L::load(source, L::first(count)), kept), L::first(n));
                source += count;
            }
        }
    }

    // One pass writing every element once (a memset of dx and a scatter wrote the strided ones
    // twice).
    template <int64_t kStride>
    static void spread_columns_at(const WindowGeometry& g, const T* from, int64_t from_row_stride, int64_t depth,
                                  int64_t q0, int64_t q_end, int64_t i_begin, int64_t i_end, T* x) {
        const int64_t in_size = g.in_size();
        if (spreads_planes(g) && q0 == 0 && q_end == g.out_size() && i_begin == 0 && i_end == in_size &&
            from_row_stride == g.out_size()) {
            return spread_planes(g, from, depth, x);
        }
        // q0's coordinates, divided out once rather than per channel.
        const int64_t first_o2 = q0 % g.out[2], first_o1 = q0 / g.out[2] % g.out[1], first_o0 = q0 / g.out[2] / g.out[1];
        for (int64_t k = 0; k < depth; ++k) {
            const T* row = from + k * from_row_stride;
            T* to = x + k * in_size;
            int64_t next = i_begin;
            int64_t o2 = first_o2, o1 = first_o1, o0 = first_o0;
            for (int64_t q = q0; q < q_end;) {
                const int64_t run = std::min(g.out[2] - o2, q_end - q);
                const int64_t at = (o0 * g.stride[0] * g.in[1] + o1 * g.stride[1]) * g.in[2] + o2 * g.stride[2];
                std::fill(to + next, to + at, T(0));
                spread_row<kStride>(row + (q - q0), run, g.stride[2], to + at);
                next = at + (run - 1) * g.stride[2] + 1;
                q += run;
                o2 = 0;
                if (++o1 == g.out[1]) {
                    o1 = 0;
                    ++o0;
                }
            }
            std::fill(to + next, to + i_end, T(0));
        }
    }

    static void spread_columns(const WindowGeometry& g, const T* from, int64_t from_row_stride, int64_t depth,
                               int64_t q0, int64_t q_end, int64_t i_begin, int64_t i_end, T* x) {
        if (g.stride[2] == 1) return spread_columns_at<1>(g, from, from_row_stride, depth, q0, q_end, i_begin, i_end, x);
        if (g.stride[2] == 2) return spread_columns_at<2>(g, from, from_row_stride, depth, q0, q_end, i_begin, i_end, x);
        spread_columns_at<0>(g, from, from_row_stride, depth, q0, q_end, i_begin, i_end, x);
    }
};

// The backward-filter dot kernel (PointwiseDot): DI rows of A and DJ rows of B per call, DI * DJ
// accumulators; a step loads DI + DJ registers (the DI of A first, then B one at a time) for
// DI * DJ FMAs; the tail of each image's positions is one masked step. Rows past `rows` or
// `cols` repeat the last one and are not written. Where L has sum4 (four registers' lanes summed
// together) and DJ is 4, each row's sums are reduced by it.
template <class L, int DI, int DJ>
struct PointwiseDotBody {
    using T = typename L::Scalar;
    using Reg = typename L::Reg;
    using Mask = typename L::Mask;
    static constexpr int64_t kWidth = L::width;

    template <bool kMasked>
    static void step(const T* const (&a)[DI], const T* const (&b)[DJ], int64_t p, Mask mask, Reg (&acc)[DI][DJ]) {
        Reg av[DI];
        MLN_UNROLL(8)
        for (int i = 0; i < DI; ++i) av[i] = load_lanes<L, kMasked>(a[i] + p, mask);
        MLN_UNROLL(8)
        for (int j = 0; j < DJ; ++j) {
            const Reg bv = load_lanes<L, kMasked>(b[j] + p, mask);
            MLN_UNROLL(8)
            for (int i = 0; i < DI; ++i) acc[i][j] = L::fmadd(av[i], bv, acc[i][j]);
        }
    }

    // On a 64-byte boundary: with the same instructions 32 bytes further on (another change to
    // the library before it), AVX2's inner loop spanned three fetch windows instead of two and
    // MobileNet-v2's 28x28 backward filter took 1.12-1.19x the time (Zen 3, 1 thread).
    MLN_CODE_ALIGNED(64) static void dot(const PointwiseDot<T>& d) {
        Reg acc[DI][DJ];
        MLN_UNROLL(8)
        for (int i = 0; i < DI; ++i) {
            MLN_UNROLL(8)
            for (int j = 0; j < DJ; ++j) acc[i][j] = d.resume ? L::load(d.partial + (i * DJ + j) * kWidth) : L::zero();
        }
        const int64_t full = d.positions / kWidth * kWidth;
        const Mask tail = full < d.positions ? L::first(d.positions - full) : Mask{};
        for (int64_t n = 0; n < d.images; ++n) {
            const T* a[DI];
            const T* b[DJ];
            MLN_UNROLL(8)
            for (int i = 0; i < DI; ++i) a[i] = d.a + n * d.a_image_stride + std::min<int64_t>(i, d.rows - 1) * d.a_row_stride;
            MLN_UNROLL(8)
            for (int j = 0; j < DJ; ++j) b[j] = d.b + n * d.b_image_stride + std::min<int64_t>(j, d.cols - 1) * d.b_row_stride;
            if (d.a_prefetch != 0 || d.b_prefetch != 0) {
                for (int64_t p = 0; p < full; p += kWidth) {
                    if (d.a_prefetch != 0) {
                        MLN_UNROLL(8)
                        for (int i = 0; i < DI; ++i) L::prefetch(a[i] + p + d.a_prefetch);
                    }
                    if (d.b_prefetch != 0) {
                        MLN_UNROLL(8)
                        for (int j = 0; j < DJ; ++j) L::prefetch(b[j] + p + d.b_prefetch);
                    }
                    step<false>(a, b, p, tail, acc);
                }
            } else {
                for (int64_t p = 0; p < full; p += kWidth) step<false>(a, b, p, tail, acc);
            }
            if (full < d.positions) step<true>(a, b, full, tail, acc);
        }
        if (d.c == nullptr) {
            MLN_UNROLL(8)
            for (int i = 0; i < DI; ++i) {
                MLN_UNROLL(8)
                for (int j = 0; j < DJ; ++j) L::store(d.partial + (i * DJ + j) * kWidth, acc[i][j]);
            }
            return;
        }
        for (int i = 0; i < DI && i < d.rows; ++i) {
            T sums[DJ];
            if constexpr (DJ == 4 && requires(T* out) { L::sum4(acc[i], out); }) {
                L::sum4(acc[i], sums);
            } else {
                for (int j = 0; j < DJ; ++j) sums[j] = L::sum(acc[i][j]);
            }
            for (int j = 0; j < DJ && j < d.cols; ++j) d.c[i * d.c_row_stride + j * d.c_col_stride] = sums[j];
        }
    }
};

}  // namespace
}  // namespace mln::kernels
