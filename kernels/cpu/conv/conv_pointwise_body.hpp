// The pointwise strip kernel (conv_pointwise.hpp's PointwiseStrip contract), written once as a
// template on a lane type L and compiled per ISA file (conv_pointwise{,_avx2,_avx512}.cpp), with
// L providing: Scalar, Reg, Mask, width, first(n) (lanes [0, n)), load/store whole or masked
// (masked loads read nothing outside the mask and give 0 there), broadcast, set1, zero, add,
// fmadd, relu (max(0, x) that lets NaN in x through, as ReluOp). Internal linkage: the copies
// compiled with different flags must never be merged by the linker.
//
// A tile is MR rows x V <= NV registers; its accumulators start at bias (plus C when
// accumulating), take every depth step as V loads of B, MR broadcasts of A and MR * V FMAs, and
// are stored once with residual and ReLU applied. The strip's last tile uses as many registers
// as its columns need, the last one masked.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/conv/conv_pointwise.hpp"

namespace mln::kernels {
namespace {

template <class L, int MR, int NV>
struct PointwiseStripBody {
    using T = typename L::Scalar;
    using Reg = typename L::Reg;
    using Mask = typename L::Mask;
    static constexpr int64_t kWidth = L::width;
    static constexpr int64_t kColumns = NV * kWidth;

    template <bool kMasked>
    static Reg load(const T* p, Mask mask) {
        if constexpr (kMasked) {
            return L::load(p, mask);
        } else {
            return L::load(p);
        }
    }
    template <bool kMasked>
    static void store(T* p, Reg v, Mask mask) {
        if constexpr (kMasked) {
            L::store(p, v, mask);
        } else {
            L::store(p, v);
        }
    }

    // The MR x (V * width) tile at column col. kUnitRowStride: A's rows are adjacent
    // (a_row_stride 1: W^T read in place, or a packed panel), so the MR broadcasts of a step use
    // constant offsets from one pointer.
    template <int V, bool kMasked, bool kUnitRowStride>
    static void tile(const PointwiseStrip<T>& s, int64_t col, const Mask (&mask)[NV]) {
        Reg acc[MR][V];
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            const Reg start = s.bias != nullptr ? L::set1(s.bias[std::min<int64_t>(i, s.rows - 1)]) : L::zero();
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) acc[i][v] = start;
            if (s.accumulate && i < s.rows) {
#pragma GCC unroll 4
                for (int v = 0; v < V; ++v) {
                    acc[i][v] = L::add(acc[i][v], load<kMasked>(s.c + i * s.ldc + col + v * kWidth, mask[v]));
                }
            }
        }
        const T* a = s.a;
        const T* b = s.b + col;
        const int64_t a_row_stride = kUnitRowStride ? 1 : s.a_row_stride;
        for (int64_t k = 0; k < s.depth; ++k) {
            Reg bv[V];
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) bv[v] = load<kMasked>(b + v * kWidth, mask[v]);
#pragma GCC unroll 16
            for (int i = 0; i < MR; ++i) {
                const Reg x = L::broadcast(a + i * a_row_stride);
#pragma GCC unroll 4
                for (int v = 0; v < V; ++v) acc[i][v] = L::fmadd(x, bv[v], acc[i][v]);
            }
            a += s.a_col_stride;
            b += s.b_row_stride;
        }
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            if (i >= s.rows) break;
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) {
                const int64_t at = i * s.ldc + col + v * kWidth;
                Reg value = acc[i][v];
                if (s.residual != nullptr) value = L::add(value, load<kMasked>(s.residual + at, mask[v]));
                if (s.relu) value = L::relu(value);
                store<kMasked>(s.c + at, value, mask[v]);
            }
        }
    }

    // The strip's last tile: V registers for `cols` < kColumns columns, the last one masked.
    template <int V, bool kUnitRowStride>
    static void last_tile(const PointwiseStrip<T>& s, int64_t col, int64_t cols) {
        if constexpr (V > 1) {
            if (cols <= (V - 1) * kWidth) return last_tile<V - 1, kUnitRowStride>(s, col, cols);
        }
        Mask mask[NV];
        for (int v = 0; v < NV; ++v) mask[v] = L::first(std::clamp<int64_t>(cols - v * kWidth, 1, kWidth));
        tile<V, true, kUnitRowStride>(s, col, mask);
    }

    template <bool kUnitRowStride>
    static void run(const PointwiseStrip<T>& s) {
        const Mask all[NV] = {};
        int64_t col = 0;
        for (; col + kColumns <= s.cols; col += kColumns) tile<NV, false, kUnitRowStride>(s, col, all);
        if (col < s.cols) last_tile<NV, kUnitRowStride>(s, col, s.cols - col);
    }

    static void strip(const PointwiseStrip<T>& s) {
        if (s.a_row_stride == 1) return run<true>(s);
        run<false>(s);
    }
};

}  // namespace
}  // namespace mln::kernels
