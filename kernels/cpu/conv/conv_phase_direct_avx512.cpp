// The polyphase direct convolution's tile kernel and weight packer (conv_phase_direct.hpp),
// compiled with AVX-512.
// GCC 12 warns inside its own AVX-512 intrinsics (a self-initialized undefined operand, GCC bug
// 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/transpose_avx512.hpp"
#include "kernels/cpu/conv/conv_phase_direct.hpp"

namespace mln::kernels::phase_direct {

namespace {

// An MR x 32 tile: MR is the panel's height, so no row of the FMAs is wasted on padding.
// kPrefetch: each step prefetches the lines of the columns kPrefetchSteps ahead (phase_direct_tile_avx512).
template <int MR, bool kAccumulate, bool kPrefetch>
MLN_ALWAYS_INLINE void tile(int64_t depth, const float* a, const float* source, const int32_t* offsets, const uint8_t* mask_index,
          const uint32_t* masks, const float* bias, const float* residual, int64_t ldc, float* c, uint32_t columns,
          bool relu, bool stream) {
    const __mmask16 low = static_cast<__mmask16>(columns), high = static_cast<__mmask16>(columns >> 16);
    // Fully unrolled loops over constant indices: GCC keeps the whole array in registers.
    __m512 acc[MR][2];
    if constexpr (kAccumulate) {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            acc[i][0] = _mm512_maskz_loadu_ps(low, c + i * ldc);
            acc[i][1] = _mm512_maskz_loadu_ps(high, c + i * ldc + 16);
        }
    } else {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = bias != nullptr ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < depth; ++p) {
        const float* s = source + offsets[p];
        if constexpr (kPrefetch) {
            // The 32 columns span three lines at most: their first, middle and last element's.
            const float* ahead = source + offsets[p + kPrefetchSteps];
            _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(ahead + 16), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(ahead + 31), _MM_HINT_T0);
        }
        const uint32_t m = masks[mask_index[p]];
        const __m512 b0 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(m), s);
        const __m512 b1 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(m >> 16), s + 16);
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            const __m512 x = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
        }
        a += MR;
    }
    if (residual != nullptr) {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(low, residual + i * ldc));
            acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_maskz_loadu_ps(high, residual + i * ldc + 16));
        }
    }
    if (relu) {
        // max(0, x) with x second: NaN in x comes through, as ReluOp defines.
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            acc[i][0] = _mm512_maskz_max_ps(__mmask16(0xFFFF), _mm512_setzero_ps(), acc[i][0]);
            acc[i][1] = _mm512_maskz_max_ps(__mmask16(0xFFFF), _mm512_setzero_ps(), acc[i][1]);
        }
    }
    if (columns == ~uint32_t{0} && stream) {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            _mm512_stream_ps(c + i * ldc, acc[i][0]);
            _mm512_stream_ps(c + i * ldc + 16, acc[i][1]);
        }
        return;
    }
    if (columns == ~uint32_t{0}) {
        MLN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            _mm512_storeu_ps(c + i * ldc, acc[i][0]);
            _mm512_storeu_ps(c + i * ldc + 16, acc[i][1]);
        }
        return;
    }
    MLN_UNROLL(16)
    for (int i = 0; i < MR; ++i) {
        _mm512_mask_storeu_ps(c + i * ldc, low, acc[i][0]);
        _mm512_mask_storeu_ps(c + i * ldc + 16, high, acc[i][1]);
    }
}

// One tile per call, as its own instantiation: where the driver calls tile after tile (the next
// block's input prefetched per call), the loop of `tiles` around it is dead weight.
template <int MR, bool kAccumulate, bool kPrefetch>
void one_tile(int64_t, int64_t, int64_t depth, const float* a, const float* source, const int32_t* offsets,
              const uint8_t* mask_index, const uint32_t* masks, const float* bias, const float* residual, int64_t ldc,
              float* c, uint32_t columns, bool relu, bool stream) {
    tile<MR, kAccumulate, kPrefetch>(depth, a, source, offsets, mask_index, masks, bias, residual, ldc, c, columns,
                                     relu, stream);
}

// Consecutive tiles of one panel in one call (conv_forward's per_call says why).
template <int MR, bool kAccumulate, bool kPrefetch>
void tiles(int64_t count, int64_t shifts, int64_t depth, const float* a, const float* source, const int32_t* offsets,
           const uint8_t* mask_index, const uint32_t* masks, const float* bias, const float* residual, int64_t ldc,
           float* c, uint32_t columns, bool relu, bool stream) {
    for (int64_t t = 0; t < count; ++t) {
        tile<MR, kAccumulate, kPrefetch>(depth, a, source + t * kTileColumns, offsets, mask_index, masks + t * shifts,
                                         bias, residual != nullptr ? residual + t * kTileColumns : nullptr, ldc,
                                         c + t * kTileColumns, t + 1 == count ? columns : ~uint32_t{0}, relu, stream);
    }
}

using TileKernel = void (*)(int64_t, int64_t, int64_t, const float*, const float*, const int32_t*, const uint8_t*,
                            const uint32_t*, const float*, const float*, int64_t, float*, uint32_t, bool, bool);

// kernels[several][accumulate][prefetch][rows - 1]: one instantiation per panel height.
template <int... I>
constexpr std::array<std::array<std::array<std::array<TileKernel, sizeof...(I)>, 2>, 2>, 2> tile_kernels(
    std::integer_sequence<int, I...>) {
    return {{{{{{{one_tile<I + 1, false, false>...}, {one_tile<I + 1, false, true>...}}},
               {{{one_tile<I + 1, true, false>...}, {one_tile<I + 1, true, true>...}}}}},
             {{{{{tiles<I + 1, false, false>...}, {tiles<I + 1, false, true>...}}},
               {{{tiles<I + 1, true, false>...}, {tiles<I + 1, true, true>...}}}}}}};
}
constexpr auto kTileKernels = tile_kernels(std::make_integer_sequence<int, kMaxTileRows>());

}  // namespace

void pack_phase_direct_panel_avx512(const float* w, int64_t depth, int64_t rows, float* panel) {
    const __mmask16 row_lanes = static_cast<__mmask16>((1u << rows) - 1);
    for (int64_t p0 = 0; p0 < depth; p0 += 16) {
        const int64_t steps = std::min<int64_t>(16, depth - p0);
        const __mmask16 step_lanes = static_cast<__mmask16>((1u << steps) - 1);
        __m512 r[16];
        MLN_UNROLL(16)
        for (int i = 0; i < 16; ++i) {
            r[i] = i < rows ? _mm512_maskz_loadu_ps(step_lanes, w + i * depth + p0) : _mm512_setzero_ps();
        }
        transpose16x16(r);
        for (int64_t k = 0; k < steps; ++k) _mm512_mask_storeu_ps(panel + (p0 + k) * rows, row_lanes, r[k]);
    }
}

// The start from c is a separate instantiation: it costs the first depth block (and every stem)
// nothing.
void phase_direct_tiles_avx512(int64_t count, int64_t shifts, int64_t depth, const float* a, const float* source,
                               const int32_t* offsets, const uint8_t* mask_index, const uint32_t* masks,
                               const float* bias, const float* residual, int64_t ldc, float* c, int rows,
                               uint32_t columns, bool relu, bool accumulate, bool stream, bool prefetch) {
    const TileKernel kernel = kTileKernels[count > 1 ? 1 : 0][accumulate ? 1 : 0][prefetch ? 1 : 0][static_cast<size_t>(rows - 1)];
    kernel(count, shifts, depth, a, source, offsets, mask_index, masks, bias, residual, ldc, c, columns, relu, stream);
}

}  // namespace mln::kernels::phase_direct
