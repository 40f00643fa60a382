// The polyphase direct convolution's tile kernel and weight packer (conv_phase_direct.hpp),
// compiled with AVX-512.
// GCC 12 warns inside its own AVX-512 intrinsics (a self-initialized undefined operand, GCC bug
// 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

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

}  // namespace mln::kernels::phase_direct
