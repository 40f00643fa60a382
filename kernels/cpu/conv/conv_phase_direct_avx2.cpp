// The polyphase direct convolution's tile kernel and weight packer (conv_phase_direct.hpp),
// compiled with AVX2.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/conv/conv_phase_direct.hpp"
#include "kernels/cpu/conv/conv_phase_direct_tile.hpp"

namespace mln::kernels::phase_direct {

namespace {

// 16 positions a tile row, two registers; a register's lanes are its 8 bits of the column set,
// spread to whole lanes by a compare (vmaskmovps takes a vector mask).
struct Avx2TileColumns : TileColumnsOf<Avx2Lanes, kAvx2Tile> {
    static __m256i lanes(uint32_t bits, int v) {
        const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        const __m256i spread = _mm256_set1_epi32(static_cast<int>(bits >> (8 * v)));
        return _mm256_cmpeq_epi32(_mm256_and_si256(spread, bit), bit);
    }
    // A plain load and an and: the lanes outside the mask read the planes' neighbouring
    // elements or their guard (conv_phase_direct.cpp's kGuard), never outside the buffer.
    static __m256 load_columns(const float* p, uint32_t bits, int v) {
        return _mm256_and_ps(_mm256_loadu_ps(p), _mm256_castsi256_ps(lanes(bits, v)));
    }
};

}  // namespace

void pack_phase_direct_panel_avx2(const float* w, int64_t depth, int64_t rows, float* panel) {
    for (int64_t p = 0; p < depth; ++p) {
        for (int64_t i = 0; i < rows; ++i) panel[p * rows + i] = w[i * depth + p];
    }
}

const PhaseDirectTiles phase_direct_tiles_avx2 = run_tiles<Avx2TileColumns>;

}  // namespace mln::kernels::phase_direct
