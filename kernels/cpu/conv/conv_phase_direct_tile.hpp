// The polyphase direct convolution's tile kernels (conv_phase_direct.hpp), written once over the
// tile columns of the ISA file that includes this (conv_phase_direct_avx2.cpp, _avx512.cpp):
// C::Lanes, the lane type (float_lanes.hpp); C::kRows, the panel heights up to which tiles are
// instantiated; C::kVectors registers of C::Lanes::width positions per tile row; C::lanes(bits,
// v), the Mask of register v's lanes from bits [v * width, (v + 1) * width) of a tile's 32-bit
// column set; C::load_columns(p, bits, v), register v of a tile's columns at p, 0 in the lanes
// outside `bits` (which may read them). Internal linkage, as float_lanes.hpp: the copies compiled with different flags
// must never be merged by the linker.
#pragma once

#include <xmmintrin.h>

#include <array>
#include <cstdint>
#include <utility>

#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/streaming_stores.hpp"
#include "kernels/cpu/conv/conv_phase_direct.hpp"

namespace mln::kernels::phase_direct {
namespace {

// C's lane type and counts, from the ISA's TileShape.
template <class L, TileShape kShape>
struct TileColumnsOf {
    using Lanes = L;
    static constexpr int kRows = kShape.rows;
    static constexpr int kVectors = kShape.columns / static_cast<int>(L::width);
};

// A tile's sums from the bias (0 without one).
template <class C, int MR>
MLN_ALWAYS_INLINE void start_tile(const float* bias, typename C::Lanes::Reg (&acc)[MR][C::kVectors]) {
    using V = typename C::Lanes;
    MLN_UNROLL(16)
    for (int i = 0; i < MR; ++i) {
        for (int v = 0; v < C::kVectors; ++v) acc[i][v] = bias != nullptr ? V::set1(bias[i]) : V::zero();
    }
}

// A tile's sums (+ residual, then max(0, .) for relu) stored into the columns `columns` of c's
// MR rows (kept: their lanes per register); whole tiles streamed where `stream`, with the
// streams' prefetch (streaming_stores.hpp): MobileNet-v2's stem forward at batch 32, 2 threads,
// same process both ways round against main, 0.95-0.97x the time; ResNet-18's 7x7/2 0.98-0.99x.
template <class C, int MR>
MLN_ALWAYS_INLINE void finish_tile(typename C::Lanes::Reg (&acc)[MR][C::kVectors],
                                   const typename C::Lanes::Mask (&kept)[C::kVectors], const float* residual,
                                   int64_t ldc, float* c, uint32_t columns, bool relu, bool stream) {
    using V = typename C::Lanes;
    constexpr int NV = C::kVectors;
    constexpr int W = static_cast<int>(V::width);
    if (residual != nullptr) {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            for (int v = 0; v < NV; ++v) acc[i][v] = V::add(acc[i][v], V::load(residual + i * ldc + v * W, kept[v]));
        }
    }
    if (relu) {
        // max(0, x) with x second: NaN in x comes through, as ReluOp defines.
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            for (int v = 0; v < NV; ++v) acc[i][v] = V::max(V::zero(), acc[i][v]);
        }
    }
    if (columns == ~uint32_t{0} && stream) {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            for (int v = 0; v < NV; ++v) {
                prefetch_stream_ahead_at_block(c + i * ldc + v * W);
                V::stream(c + i * ldc + v * W, acc[i][v]);
            }
        }
        return;
    }
    if (columns == ~uint32_t{0}) {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            for (int v = 0; v < NV; ++v) V::store(c + i * ldc + v * W, acc[i][v], AllLanes{});
        }
        return;
    }
    MLN_UNROLL(16)
    for (int i = 0; i < MR; ++i) {
        for (int v = 0; v < NV; ++v) V::store(c + i * ldc + v * W, acc[i][v], kept[v]);
    }
}

// An MR x (kVectors * width) tile: MR is the panel's height, so no row of the FMAs is wasted on
// padding. kPrefetch: each step prefetches the lines of the columns kPrefetchSteps ahead.
// kMasked: some column shift's mask leaves out lanes (a tile at a row's edge); a tile inside the
// rows loads its columns whole.
template <class C, int MR, bool kAccumulate, bool kPrefetch, bool kMasked>
MLN_ALWAYS_INLINE void tile(int64_t depth, const float* a, const float* source, const int32_t* offsets,
                            const uint8_t* mask_index, const uint32_t* masks, const float* bias, const float* residual,
                            int64_t ldc, float* c, uint32_t columns, bool relu, bool stream) {
    using V = typename C::Lanes;
    using Reg = typename V::Reg;
    constexpr int NV = C::kVectors;
    constexpr int W = static_cast<int>(V::width);
    typename V::Mask kept[NV];
    for (int v = 0; v < NV; ++v) kept[v] = C::lanes(columns, v);
    // Fully unrolled loops over constant indices: GCC keeps the whole array in registers.
    Reg acc[MR][NV];
    if constexpr (kAccumulate) {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            for (int v = 0; v < NV; ++v) acc[i][v] = V::load(c + i * ldc + v * W, kept[v]);
        }
    } else {
        start_tile<C, MR>(bias, acc);
    }
    for (int64_t p = 0; p < depth; ++p) {
        const float* s = source + offsets[p];
        if constexpr (kPrefetch) {
            // The columns span a line more than their 64-byte pieces at most: each piece's first
            // element's, and the last element's.
            const float* ahead = source + offsets[p + kPrefetchSteps];
            for (int j = 0; j < NV * W; j += 16) _mm_prefetch(reinterpret_cast<const char*>(ahead + j), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(ahead + NV * W - 1), _MM_HINT_T0);
        }
        Reg b[NV];
        if constexpr (kMasked) {
            const uint32_t m = masks[mask_index[p]];
            for (int v = 0; v < NV; ++v) b[v] = C::load_columns(s + v * W, m, v);
        } else {
            for (int v = 0; v < NV; ++v) b[v] = V::load(s + v * W, AllLanes{});
        }
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            const Reg x = V::set1(a[i]);
            for (int v = 0; v < NV; ++v) acc[i][v] = V::fmadd(x, b[v], acc[i][v]);
        }
        a += MR;
    }
    finish_tile<C, MR>(acc, kept, residual, ldc, c, columns, relu, stream);
}

// A tile, masked where one of its `shifts` masks leaves out a lane. On AVX2 (Zen 3) a masked
// step is 37 instructions for 12 multiply-adds, an unmasked one 24: the front end, not the FMA
// pipes, set the pace.
template <class C, int MR, bool kAccumulate, bool kPrefetch>
MLN_ALWAYS_INLINE void any_tile(int64_t shifts, int64_t depth, const float* a, const float* source,
                                const int32_t* offsets, const uint8_t* mask_index, const uint32_t* masks,
                                const float* bias, const float* residual, int64_t ldc, float* c, uint32_t columns,
                                bool relu, bool stream) {
    constexpr int64_t kColumns = C::kVectors * C::Lanes::width;
    constexpr uint32_t kAll = kColumns >= 32 ? ~uint32_t{0} : (uint32_t{1} << kColumns) - 1;
    bool whole = true;
    for (int64_t s = 0; s < shifts; ++s) whole = whole && (masks[s] & kAll) == kAll;
    if (whole) {
        tile<C, MR, kAccumulate, kPrefetch, false>(depth, a, source, offsets, mask_index, masks, bias, residual, ldc,
                                                    c, columns, relu, stream);
    } else {
        tile<C, MR, kAccumulate, kPrefetch, true>(depth, a, source, offsets, mask_index, masks, bias, residual, ldc, c,
                                                   columns, relu, stream);
    }
}

// One tile per call, as its own instantiation: where the driver calls tile after tile (the next
// block's input prefetched per call), the loop of `tiles` around it is dead weight.
template <class C, int MR, bool kAccumulate, bool kPrefetch>
void one_tile(int64_t, TileRows, int64_t shifts, int64_t depth, const float* a, const float* source,
              const int32_t* offsets, const uint8_t* mask_index, const uint32_t* masks, const float* bias,
              const float* residual, int64_t ldc, float* c, uint32_t columns, bool relu, bool stream) {
    any_tile<C, MR, kAccumulate, kPrefetch>(shifts, depth, a, source, offsets, mask_index, masks, bias, residual, ldc,
                                            c, columns, relu, stream);
}

// Consecutive tiles of one panel in one call (conv_forward's per_call says why).
template <class C, int MR, bool kAccumulate, bool kPrefetch>
void tiles(int64_t count, TileRows tile_rows, int64_t shifts, int64_t depth, const float* a, const float* source,
           const int32_t* offsets, const uint8_t* mask_index, const uint32_t* masks, const float* bias,
           const float* residual, int64_t ldc, float* c, uint32_t columns, bool relu, bool stream) {
    constexpr int64_t kColumns = C::kVectors * C::Lanes::width;
    const float* row_source = source;
    for (int64_t t = 0, in_row = 0; t < count; ++t, ++in_row) {
        if (in_row == tile_rows.tiles) {
            row_source += tile_rows.skip;
            in_row = 0;
        }
        any_tile<C, MR, kAccumulate, kPrefetch>(shifts, depth, a, row_source + t * kColumns, offsets, mask_index,
                                                masks + t * shifts, bias,
                                                residual != nullptr ? residual + t * kColumns : nullptr, ldc,
                                                c + t * kColumns, t + 1 == count ? columns : ~uint32_t{0}, relu,
                                                stream);
    }
}

using TileKernel = void (*)(int64_t, TileRows, int64_t, int64_t, const float*, const float*, const int32_t*,
                            const uint8_t*, const uint32_t*, const float*, const float*, int64_t, float*, uint32_t,
                            bool, bool);

// kernels[several][accumulate][prefetch][rows - 1]: one instantiation per panel height.
template <class C, int... I>
constexpr std::array<std::array<std::array<std::array<TileKernel, sizeof...(I)>, 2>, 2>, 2> tile_kernels(
    std::integer_sequence<int, I...>) {
    return {{{{{{{one_tile<C, I + 1, false, false>...}, {one_tile<C, I + 1, false, true>...}}},
               {{{one_tile<C, I + 1, true, false>...}, {one_tile<C, I + 1, true, true>...}}}}},
             {{{{{tiles<C, I + 1, false, false>...}, {tiles<C, I + 1, false, true>...}}},
               {{{tiles<C, I + 1, true, false>...}, {tiles<C, I + 1, true, true>...}}}}}}};
}

// phase_direct_tiles_* (conv_phase_direct.hpp) over C's tiles. The start from c is a separate
// instantiation: it costs the first depth block (and every stem) nothing.
template <class C>
void run_tiles(int64_t count, TileRows tile_rows, int64_t shifts, int64_t depth, const float* a,
               const float* source, const int32_t* offsets, const uint8_t* mask_index, const uint32_t* masks,
               const float* bias, const float* residual, int64_t ldc, float* c, int rows, uint32_t columns, bool relu,
               bool accumulate, bool stream, bool prefetch) {
    static constexpr auto kernels = tile_kernels<C>(std::make_integer_sequence<int, C::kRows>());
    const TileKernel kernel =
        kernels[count > 1 ? 1 : 0][accumulate ? 1 : 0][prefetch ? 1 : 0][static_cast<size_t>(rows - 1)];
    kernel(count, tile_rows, shifts, depth, a, source, offsets, mask_index, masks, bias, residual, ldc, c, columns,
           relu, stream);
}

}  // namespace
}  // namespace mln::kernels::phase_direct
