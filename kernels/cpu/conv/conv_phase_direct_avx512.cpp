// The polyphase direct convolution's tile kernel and weight packer (conv_phase_direct.hpp),
// compiled with AVX-512.
// GCC 12 warns inside its own AVX-512 intrinsics (a self-initialized undefined operand, GCC bug
// 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#include <xmmintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "kernels/cpu/common/transpose_avx512.hpp"
#include "kernels/cpu/conv/conv_phase_direct.hpp"
#include "kernels/cpu/conv/conv_phase_direct_tile.hpp"

namespace mln::kernels::phase_direct {

namespace {

// 32 positions a tile row, two registers.
struct Avx512TileColumns : TileColumnsOf<Avx512Lanes, kAvx512Tile> {
    static __mmask16 lanes(uint32_t bits, int v) { return static_cast<__mmask16>(bits >> (16 * v)); }
    static __m512 load_columns(const float* p, uint32_t bits, int v) {
        return _mm512_maskz_loadu_ps(lanes(bits, v), p);
    }
};

// An MR x 32 tile of a 3-wide kernel at stride 2 with one column of padding before, its columns
// read from x's rows in place (XRowTiles): each register is 16 outputs of one output row, taps kw
// = 1 and 2 x's even and odd columns from two loads and two permutes, kw = 0 the odd ones a lane
// later (valignd, lane 0 from the element before the register's first pair, 0 at the row's
// start); rows outside the image load nothing (zeros). The tile of the first panel splits the
// columns and stores them (kXRowColumns floats a channel and tap row); the other panels' tiles
// load them (kStored). The sums run in the depth order of the planes' tiles: the same bits.
constexpr int64_t kXRowColumns = kXRowKernel * 32;
template <int MR, bool kStored>
MLN_ALWAYS_INLINE void x_row_tile(const XRowTiles& t, int64_t q, const float* a, const float* bias,
                                  const float* residual, int64_t ldc, float* c, uint32_t columns, bool relu,
                                  bool stream, float* stored) {
    using C = Avx512TileColumns;
    using V = Avx512Lanes;
    constexpr int NV = C::kVectors;
    constexpr int W = static_cast<int>(V::width);
    __mmask16 kept[NV];
    const float* row[NV];  // channel 0's input rows at the register's first pair
    int64_t row_top[NV];   // the image row of tap row 0
    int64_t left[NV];      // elements from the first pair to the row's end; 0 where no lane is kept
    __mmask16 before[NV];  // lane 15 of the load 16 before: the element left of the first pair
    for (int v = 0; v < NV; ++v) {
        kept[v] = C::lanes(columns, v);
        if constexpr (!kStored) {
            const int64_t qv = q + v * W, oh = qv / t.out_w, ow = qv - oh * t.out_w;
            row_top[v] = 2 * oh - t.pad_top;
            row[v] = t.x + 2 * ow;
            left[v] = kept[v] != 0 ? t.in_w - 2 * ow : 0;
            before[v] = kept[v] != 0 && ow > 0 ? __mmask16(0x8000) : __mmask16(0);
        }
    }
    __m512 acc[MR][NV];
    start_tile<C, MR>(bias, acc);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int64_t ch = 0; ch < t.channels; ++ch) {
        for (int kh = 0; kh < kXRowKernel; ++kh) {
            __m512 col[kXRowKernel][NV];
            for (int v = 0; v < NV; ++v) {
                if constexpr (kStored) {
                    for (int kw = 0; kw < kXRowKernel; ++kw) col[kw][v] = _mm512_load_ps(stored + kw * 32 + v * W);
                } else {
                    const int64_t ih = row_top[v] + kh;
                    const bool inside = ih >= 0 && ih < t.in_h;
                    const float* p = inside ? row[v] + ch * t.plane + ih * t.in_w : t.x;
                    const int64_t n = inside ? left[v] : 0;
                    const __m512 low = _mm512_maskz_loadu_ps(V::first(n), p);
                    const __m512 high = _mm512_maskz_loadu_ps(V::first(n - W), p + W);
                    col[1][v] = _mm512_permutex2var_ps(low, even, high);
                    col[2][v] = _mm512_permutex2var_ps(low, odd, high);
                    const __m512 prior = _mm512_maskz_loadu_ps(inside ? before[v] : __mmask16(0), p - W);
                    col[0][v] = _mm512_castsi512_ps(
                        _mm512_alignr_epi32(_mm512_castps_si512(col[2][v]), _mm512_castps_si512(prior), 15));
                    for (int kw = 0; kw < kXRowKernel; ++kw) _mm512_store_ps(stored + kw * 32 + v * W, col[kw][v]);
                }
            }
            for (int kw = 0; kw < kXRowKernel; ++kw) {
                MLN_UNROLL(16)
                for (int i = 0; i < MR; ++i) {
                    const __m512 w = _mm512_set1_ps(a[i]);
                    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(w, col[kw][v], acc[i][v]);
                }
                a += MR;
            }
            stored += kXRowColumns;
        }
    }
    finish_tile<C, MR>(acc, kept, residual, ldc, c, columns, relu, stream);
}

// phase_direct_x_row_tiles_avx512 where the panels are MR or MR + 1 rows high (balanced
// heights), tile by tile, all panels of a tile while its split columns stay in L1.
template <int MR>
void x_row_tiles(int64_t count, const XRowTiles& t, const XRowPanels& panels, const float* bias,
                 const float* residual, int64_t ldc, float* c, uint32_t columns, bool relu, bool stream) {
    constexpr int MR2 = MR < kXRowTileRows ? MR + 1 : MR;
    constexpr int64_t kColumns = Avx512TileColumns::kVectors * Avx512Lanes::width;
    alignas(64) float stored[kXRowMaxChannels * kXRowKernel * kXRowColumns];
    for (int64_t k = 0; k < count; ++k) {
        const int64_t q = t.q0 + k * kColumns;
        const uint32_t tile_columns = k + 1 == count ? columns : ~uint32_t{0};
        for (int64_t panel = 0; panel < panels.count; ++panel) {
            const int64_t m0 = panels.begin[panel];
            const int rows = static_cast<int>(panels.begin[panel + 1] - m0);
            const float* a = panels.packed + m0 * panels.depth;
            const float* b = bias != nullptr ? bias + m0 : nullptr;
            const float* r = residual != nullptr ? residual + m0 * ldc + k * kColumns : nullptr;
            float* y = c + m0 * ldc + k * kColumns;
            if (panel == 0) {
                if (rows == MR) {
                    x_row_tile<MR, false>(t, q, a, b, r, ldc, y, tile_columns, relu, stream, stored);
                } else {
                    x_row_tile<MR2, false>(t, q, a, b, r, ldc, y, tile_columns, relu, stream, stored);
                }
            } else if (rows == MR) {
                x_row_tile<MR, true>(t, q, a, b, r, ldc, y, tile_columns, relu, stream, stored);
            } else {
                x_row_tile<MR2, true>(t, q, a, b, r, ldc, y, tile_columns, relu, stream, stored);
            }
        }
    }
}

using XRowKernel = void (*)(int64_t, const XRowTiles&, const XRowPanels&, const float*, const float*, int64_t,
                            float*, uint32_t, bool, bool);

template <int... I>
constexpr std::array<XRowKernel, sizeof...(I)> x_row_kernels(std::integer_sequence<int, I...>) {
    return {{x_row_tiles<I + 1>...}};
}

void run_x_row_tiles(int64_t count, const XRowTiles& t, const XRowPanels& panels, const float* bias,
                     const float* residual, int64_t ldc, float* c, uint32_t columns, bool relu, bool stream) {
    static constexpr auto kernels = x_row_kernels(std::make_integer_sequence<int, kXRowTileRows>());
    // The first panel is the lowest (balanced heights).
    const int64_t lowest = panels.begin[1] - panels.begin[0];
    kernels[static_cast<size_t>(lowest - 1)](count, t, panels, bias, residual, ldc, c, columns, relu, stream);
}

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

const PhaseDirectTiles phase_direct_tiles_avx512 = run_tiles<Avx512TileColumns>;
const PhaseDirectXRowTiles phase_direct_x_row_tiles_avx512 = run_x_row_tiles;

}  // namespace mln::kernels::phase_direct
