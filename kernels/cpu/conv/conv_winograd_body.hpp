// The Winograd F(4x4, 3x3) transforms (conv_winograd.hpp), written once on a lane type
// (float_lanes.hpp) and compiled per ISA file. Internal linkage keeps the differently compiled
// copies apart.
//
// Matrices (Lavin and Gray, points 0, 1, -1, 2, -2, infinity), each applied as a 1-d transform
// along one axis, then along the other:
//   B^T = [4  0 -5  0 1 0; 0 -4 -4  1 1 0; 0  4 -4 -1 1 0; 0 -2 -1  2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/conv/conv_winograd.hpp"

namespace mln::kernels {
namespace {

// Longest run of tiles a transform takes (the driver cuts longer rows): its phase buffers
// live on the stack.
constexpr int64_t kWinogradMaxRun = 64;
// How far ahead (in channels) the input transform prefetches its rows.
constexpr int64_t kPrefetchChannels = 4;

template <class V>
struct WinogradMath {
    using Reg = typename V::Reg;

    // out = B^T d (6 -> 6).
    static void input_1d(const Reg (&d)[6], Reg (&out)[6]) {
        const Reg four = V::set1(4.0f), minus_four = V::set1(-4.0f), five = V::set1(-5.0f);
        const Reg two = V::set1(2.0f), minus_two = V::set1(-2.0f);
        out[0] = V::fmadd(four, d[0], V::fmadd(five, d[2], d[4]));
        out[1] = V::fmadd(minus_four, V::add(d[1], d[2]), V::add(d[3], d[4]));
        out[2] = V::fmadd(four, V::sub(d[1], d[2]), V::sub(d[4], d[3]));
        const Reg odd = V::sub(d[3], d[1]), even = V::sub(d[4], d[2]);
        out[3] = V::fmadd(two, odd, even);
        out[4] = V::fmadd(minus_two, odd, even);
        out[5] = V::fmadd(four, d[1], V::fmadd(five, d[3], d[5]));
    }

    // out = A^T m (6 -> 4).
    static void output_1d(const Reg (&m)[6], Reg (&out)[4]) {
        const Reg sum12 = V::add(m[1], m[2]), diff12 = V::sub(m[1], m[2]);
        const Reg sum34 = V::add(m[3], m[4]), diff34 = V::sub(m[3], m[4]);
        out[0] = V::add(V::add(m[0], sum12), sum34);
        out[1] = V::fmadd(V::set1(2.0f), diff34, diff12);
        out[2] = V::fmadd(V::set1(4.0f), sum34, sum12);
        out[3] = V::add(V::fmadd(V::set1(8.0f), diff34, diff12), m[5]);
    }

    // out = G g (3 -> 6).
    static void weight_1d(Reg g0, Reg g1, Reg g2, Reg (&out)[6]) {
        const Reg outer = V::add(g0, g2);
        const Reg quarter_outer = V::fmadd(V::set1(4.0f), g2, g0);  // g0 + 4 g2
        out[0] = V::mul(V::set1(0.25f), g0);
        out[1] = V::mul(V::set1(-1.0f / 6.0f), V::add(outer, g1));
        out[2] = V::mul(V::set1(-1.0f / 6.0f), V::sub(outer, g1));
        out[3] = V::mul(V::set1(1.0f / 24.0f), V::fmadd(V::set1(2.0f), g1, quarter_outer));
        out[4] = V::mul(V::set1(1.0f / 24.0f), V::fmadd(V::set1(-2.0f), g1, quarter_outer));
        out[5] = g2;
    }
};

// U for filters [m_begin, m_end). Per panel and block of kWeightChannels channels: the
// panel's 3x3 filters gathered into a 9 x mr staging block (scalar), mr filters transformed per
// register into a local [xi][c][i] block, then copied out as one contiguous run per xi. Stores
// straight into the 36 planes of U, a plane apart (1 MiB at 512 x 512), cost 20x more: every
// store its own page and the same cache sets.
constexpr int64_t kWeightChannels = 16;
constexpr int64_t kMaxWeightPanel = 8;  // largest mr of any micro-kernel (kMaxMicroTile)

template <class V>
void winograd_weights(const float* w, int64_t out_channels, int64_t channels, int64_t mr, int64_t m_begin,
                      int64_t m_end, int64_t xi_stride, float* u) {
    using Math = WinogradMath<V>;
    using Reg = typename V::Reg;
    constexpr int64_t kStage = 32;  // >= any mr + one register of lanes
    alignas(64) float stage[9][kStage] = {};
    alignas(64) float block[kWinogradPoints][kWeightChannels * kMaxWeightPanel];
    const int64_t panel_size = channels * mr;
    for (int64_t m0 = m_begin; m0 < m_end; m0 += mr) {
        float* u_panel = u + m0 / mr * panel_size;
        for (int64_t c0 = 0; c0 < channels; c0 += kWeightChannels) {
            const int64_t block_channels = std::min(kWeightChannels, channels - c0);
            for (int64_t c = 0; c < block_channels; ++c) {
                for (int64_t i = 0; i < mr; ++i) {
                    const int64_t m = m0 + i;
                    if (m < out_channels) {
                        const float* g = w + (m * channels + c0 + c) * 9;
                        for (int k = 0; k < 9; ++k) stage[k][i] = g[k];
                    } else {
                        for (int k = 0; k < 9; ++k) stage[k][i] = 0.0f;
                    }
                }
                for_lanes<V>(mr, [&](int64_t i, auto mask) {
                    Reg columns[3][6];  // (G g)[.][b] for each filter column b
                    for (int b = 0; b < 3; ++b) {
                        Math::weight_1d(V::load(&stage[b][i], mask), V::load(&stage[3 + b][i], mask),
                                        V::load(&stage[6 + b][i], mask), columns[b]);
                    }
                    for (int k = 0; k < 6; ++k) {
                        Reg row[6];
                        Math::weight_1d(columns[0][k], columns[1][k], columns[2][k], row);
                        for (int l = 0; l < 6; ++l) V::store(&block[k * 6 + l][c * mr + i], row[l], mask);
                    }
                });
            }
            for (int64_t xi = 0; xi < kWinogradPoints; ++xi) {
                std::memcpy(u_panel + xi * xi_stride + c0 * mr, block[xi],
                            static_cast<size_t>(block_channels * mr) * sizeof(float));
            }
        }
    }
}

// Moving between a row of positions and its four phases (phase p, index t: position 4t + p),
// a chunk of 4 registers of positions (W phase indices) at a time:
//   split(src, lo, hi, phases, length): phases[p * length + t] = src[4t + p] for 4t + p in
//     [lo, hi), zero elsewhere (positions outside are not read), t in [0, W);
//   merge(phases, length, cols, addend, relu, dst): dst[q] = relu?(phases[(q & 3) * length +
//     (q >> 2)] + addend[q]) for q in [0, min(cols, 4W)) (addend may be nullptr).
// The plain loops are the scalar twin; the AVX2 and AVX-512 ones are shuffles. Scalar moves
// cost 70% of the whole layer at 64 channels (56 x 56, AVX-512).
template <class V>
struct PhaseShuffle {
    static void prefetch(const float*) {}
    static void split(const float* src, int64_t lo, int64_t hi, float* phases, int64_t length) {
        for (int64_t q = 0; q < 4 * V::width; ++q) {
            phases[(q & 3) * length + (q >> 2)] = q >= lo && q < hi ? src[q] : 0.0f;
        }
    }
    static void merge(const float* phases, int64_t length, int64_t cols, const float* addend, bool relu, float* dst) {
        const int64_t n = std::min<int64_t>(cols, 4 * V::width);
        for (int64_t q = 0; q < n; ++q) {
            float value = phases[(q & 3) * length + (q >> 2)];
            if (addend != nullptr) value += addend[q];
            if (relu) value = value < 0.0f ? 0.0f : value;  // NaN stays NaN, as ReluOp
            dst[q] = value;
        }
    }
};

#if defined(__AVX2__) && defined(__FMA__)
template <>
struct PhaseShuffle<Avx2Lanes> {
    static void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
    // Lanes l in [lo, hi).
    static __m256i lanes(int64_t lo, int64_t hi) {
        const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i below = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::clamp<int64_t>(hi, 0, 8))), iota);
        const __m256i above = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::clamp<int64_t>(lo, 0, 8))), iota);
        return _mm256_andnot_si256(above, below);
    }
    static __m256 load(const float* p, int64_t lo, int64_t hi) {
        if (lo <= 0 && hi >= 8) return _mm256_loadu_ps(p);
        return _mm256_maskload_ps(p, lanes(lo, hi));
    }
    // Each register [x0..x7] -> [x0 x4 x1 x5 x2 x6 x3 x7] (64-bit pairs by phase), then a 4 x 4
    // transpose of the pairs.
    static void split(const float* src, int64_t lo, int64_t hi, float* phases, int64_t length) {
        const __m256i pairs = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        __m256d r[4];
        for (int k = 0; k < 4; ++k) {
            r[k] = _mm256_castps_pd(_mm256_permutevar8x32_ps(load(src + 8 * k, lo - 8 * k, hi - 8 * k), pairs));
        }
        const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
        const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
        _mm256_storeu_ps(phases, _mm256_castpd_ps(_mm256_permute2f128_pd(t0, t2, 0x20)));
        _mm256_storeu_ps(phases + length, _mm256_castpd_ps(_mm256_permute2f128_pd(t1, t3, 0x20)));
        _mm256_storeu_ps(phases + 2 * length, _mm256_castpd_ps(_mm256_permute2f128_pd(t0, t2, 0x31)));
        _mm256_storeu_ps(phases + 3 * length, _mm256_castpd_ps(_mm256_permute2f128_pd(t1, t3, 0x31)));
    }
    // The inverse of split.
    static void merge(const float* phases, int64_t length, int64_t cols, const float* addend, bool relu, float* dst) {
        const __m256d p0 = _mm256_castps_pd(_mm256_loadu_ps(phases)), p1 = _mm256_castps_pd(_mm256_loadu_ps(phases + length));
        const __m256d p2 = _mm256_castps_pd(_mm256_loadu_ps(phases + 2 * length));
        const __m256d p3 = _mm256_castps_pd(_mm256_loadu_ps(phases + 3 * length));
        const __m256d t0 = _mm256_permute2f128_pd(p0, p2, 0x20), t2 = _mm256_permute2f128_pd(p0, p2, 0x31);
        const __m256d t1 = _mm256_permute2f128_pd(p1, p3, 0x20), t3 = _mm256_permute2f128_pd(p1, p3, 0x31);
        const __m256d r[4] = {_mm256_unpacklo_pd(t0, t1), _mm256_unpackhi_pd(t0, t1), _mm256_unpacklo_pd(t2, t3),
                              _mm256_unpackhi_pd(t2, t3)};
        const __m256i positions = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
        for (int k = 0; k < 4 && 8 * k < cols; ++k) {
            __m256 value = _mm256_permutevar8x32_ps(_mm256_castpd_ps(r[k]), positions);
            const bool whole = cols >= 8 * (k + 1);
            const __m256i mask = whole ? _mm256_set1_epi32(-1) : lanes(0, cols - 8 * k);
            if (addend != nullptr) {
                value = _mm256_add_ps(value, whole ? _mm256_loadu_ps(addend + 8 * k) : _mm256_maskload_ps(addend + 8 * k, mask));
            }
            if (relu) value = _mm256_max_ps(_mm256_setzero_ps(), value);  // NaN (the second operand) passes
            if (whole) {
                _mm256_storeu_ps(dst + 8 * k, value);
            } else {
                _mm256_maskstore_ps(dst + 8 * k, mask, value);
            }
        }
    }
};
#endif

#if defined(__AVX512F__)
template <>
struct PhaseShuffle<Avx512Lanes> {
    static void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
    static __mmask16 lanes(int64_t lo, int64_t hi) {
        const uint32_t below = (1u << std::clamp<int64_t>(hi, 0, 16)) - 1u;
        const uint32_t above = (1u << std::clamp<int64_t>(lo, 0, 16)) - 1u;
        return static_cast<__mmask16>(below & ~above);
    }
    // Phase p of 64 positions: lanes 0-7 picked from the first two registers, 8-15 from the
    // last two, one blend.
    static void split(const float* src, int64_t lo, int64_t hi, float* phases, int64_t length) {
        __m512 r[4];
        for (int k = 0; k < 4; ++k) r[k] = _mm512_maskz_loadu_ps(lanes(lo - 16 * k, hi - 16 * k), src + 16 * k);
        for (int p = 0; p < 4; ++p) {
            const __m512i index = _mm512_add_epi32(
                _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28), _mm512_set1_epi32(p));
            const __m512 low = _mm512_permutex2var_ps(r[0], index, r[1]);
            const __m512 high = _mm512_permutex2var_ps(r[2], index, r[3]);
            _mm512_storeu_ps(phases + p * length, _mm512_mask_blend_ps(0xFF00, low, high));
        }
    }
    // Register k of 16 positions holds tiles 4k..4k+3: phases 0 and 1 from one two-source
    // permute, 2 and 3 from another, one blend.
    static void merge(const float* phases, int64_t length, int64_t cols, const float* addend, bool relu, float* dst) {
        const __m512 p0 = _mm512_loadu_ps(phases), p1 = _mm512_loadu_ps(phases + length);
        const __m512 p2 = _mm512_loadu_ps(phases + 2 * length), p3 = _mm512_loadu_ps(phases + 3 * length);
        // Lane 4l + j takes tile l of phase j: lane l of the first source for even j, of the second for odd j.
        const __m512i base = _mm512_setr_epi32(0, 16, 0, 16, 1, 17, 1, 17, 2, 18, 2, 18, 3, 19, 3, 19);
        for (int k = 0; k < 4 && 16 * k < cols; ++k) {
            const __m512i index = _mm512_add_epi32(base, _mm512_set1_epi32(4 * k));
            __m512 value = _mm512_mask_blend_ps(0xCCCC, _mm512_permutex2var_ps(p0, index, p1),
                                                _mm512_permutex2var_ps(p2, index, p3));
            const __mmask16 mask = lanes(0, cols - 16 * k);
            if (addend != nullptr) value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, addend + 16 * k));
            if (relu) value = _mm512_maskz_max_ps(0xFFFF, _mm512_setzero_ps(), value);  // NaN (the second operand) passes
            _mm512_mask_storeu_ps(dst + 16 * k, mask, value);
        }
    }
};
#endif

// Phase split of the six input rows a run of tiles reads: phases[i][p][t] = x[row0 + i][col0 +
// 4t + p], zero outside the image, for t in [0, chunks * W).
template <class V>
void split_tile_rows(const float* plane, const WindowGeometry& g, int64_t row0, int64_t col0, int64_t chunks,
                     int64_t length, float* phases) {
    const int64_t height = g.in[1], width = g.in[2];
    for (int64_t i = 0; i < 6; ++i) {
        float* row_phases = phases + i * 4 * length;
        const int64_t r = row0 + i;
        if (r < 0 || r >= height) {
            for (int64_t p = 0; p < 4; ++p) std::memset(row_phases + p * length, 0, static_cast<size_t>(chunks * V::width) * sizeof(float));
            continue;
        }
        const float* src = plane + r * width;
        for (int64_t chunk = 0; chunk < chunks; ++chunk) {
            const int64_t q = col0 + 4 * V::width * chunk;  // first column of the chunk
            // Columns outside the image are never read (masked), so the pointer may point before it.
            PhaseShuffle<V>::split(src + q, -q, width - q, row_phases + chunk * V::width, length);
        }
    }
}

template <class V>
void winograd_input(const float* x, const WindowGeometry& g, int64_t channels, const WinogradTileRun& run, float* v,
                    int64_t xi_stride, int64_t ldv) {
    using Math = WinogradMath<V>;
    using Reg = typename V::Reg;
    // Tiles [0, count) read phases at t and t + 1 (t + 1 up to count): chunks of W phase
    // indices to cover [0, count]; registers past count read whatever the last chunk left.
    const int64_t chunks = run.count / V::width + 1;
    const int64_t length = chunks * V::width;
    alignas(64) float phases[6 * 4 * (kWinogradMaxRun + 16)];
    const int64_t row0 = run.tile_row * 4 - g.pad_begin[1];
    const int64_t col0 = run.tile0 * 4 - g.pad_begin[2];
    const int64_t plane_size = g.in[1] * g.in[2];
    // The rows of a channel a few channels ahead are requested before they are needed: one
    // channel's six short rows are too few loads in flight to hide the memory's latency (at
    // batch 32, 64 channels at 56 x 56, the loads were most of the transform's time).
    const int64_t first_row = std::max<int64_t>(row0, 0), last_row = std::min<int64_t>(row0 + 6, g.in[1]);
    const int64_t first_col = std::max<int64_t>(col0, 0), last_col = std::min<int64_t>(col0 + 4 * run.count + 2, g.in[2]);
    for (int64_t c = 0; c < channels; ++c) {
        if (c + kPrefetchChannels < channels && first_col < last_col) {
            const float* ahead = x + (c + kPrefetchChannels) * plane_size;
            for (int64_t r = first_row; r < last_row; ++r) {
                for (int64_t q = first_col; q < last_col; q += 16) PhaseShuffle<V>::prefetch(ahead + r * g.in[2] + q);
                PhaseShuffle<V>::prefetch(ahead + r * g.in[2] + last_col - 1);
            }
        }
        split_tile_rows<V>(x + c * plane_size, g, row0, col0, chunks, length, phases);
        float* v_c = v + c * ldv;
        for_lanes<V>(run.count, [&](int64_t t, auto mask) {
            Reg columns[6][6];  // columns[j][k] = (B^T d)[k][j]: the rows transformed, per tile column j
            for (int j = 0; j < 6; ++j) {
                Reg d[6];
                for (int i = 0; i < 6; ++i) d[i] = V::load(phases + (i * 4 + (j & 3)) * length + t + (j >> 2), AllLanes{});
                Math::input_1d(d, columns[j]);
            }
            for (int k = 0; k < 6; ++k) {
                const Reg row[6] = {columns[0][k], columns[1][k], columns[2][k],
                                    columns[3][k], columns[4][k], columns[5][k]};
                Reg out[6];
                Math::input_1d(row, out);
                for (int l = 0; l < 6; ++l) V::store(v_c + (k * 6 + l) * xi_stride + t, out[l], mask);
            }
        });
    }
}

template <class V>
void winograd_output(const float* m, int64_t xi_stride, const WindowGeometry& g, const WinogradTileRun& run,
                     float bias, const float* residual, bool relu, float* y, int64_t ahead) {
    using Math = WinogradMath<V>;
    using Reg = typename V::Reg;
    const int64_t out_width = g.out[2];
    const int64_t row0 = run.tile_row * 4;
    const int64_t col0 = run.tile0 * 4;
    const int64_t rows = std::min<int64_t>(4, g.out[1] - row0);
    const int64_t cols = std::min<int64_t>(4 * run.count, out_width - col0);
    // The same rows of a later plane are requested now: stores to lines not in cache stalled
    // the store queue (batch 8, 64 channels at 56 x 56: most of this transform's time).
    if (ahead != 0) {
        for (int64_t i = 0; i < rows; ++i) {
            const int64_t offset = (row0 + i) * out_width + col0 + ahead;
            for (int64_t q = 0; q < cols; q += 16) {
                PhaseShuffle<V>::prefetch(y + offset + q);
                if (residual != nullptr) PhaseShuffle<V>::prefetch(residual + offset + q);
            }
            PhaseShuffle<V>::prefetch(y + offset + cols - 1);
        }
    }
    const int64_t chunks = (run.count + V::width - 1) / V::width;
    const int64_t length = chunks * V::width;
    alignas(64) float phases[4 * 4 * kWinogradMaxRun];  // [row i][phase j][tile]
    const Reg bias_lanes = V::set1(bias);
    for_lanes<V>(run.count, [&](int64_t t, auto mask) {
        Reg columns[6][4];  // columns[l][i] = (A^T M)[i][l]
        for (int l = 0; l < 6; ++l) {
            Reg column[6];
            for (int k = 0; k < 6; ++k) column[k] = V::load(m + (k * 6 + l) * xi_stride + t, mask);
            Math::output_1d(column, columns[l]);
        }
        for (int i = 0; i < 4; ++i) {
            const Reg row[6] = {columns[0][i], columns[1][i], columns[2][i], columns[3][i], columns[4][i], columns[5][i]};
            Reg out[4];
            Math::output_1d(row, out);
            for (int j = 0; j < 4; ++j) V::store(phases + (i * 4 + j) * length + t, V::add(out[j], bias_lanes), AllLanes{});
        }
    });
    for (int64_t i = 0; i < rows; ++i) {
        const int64_t offset = (row0 + i) * out_width + col0;
        for (int64_t chunk = 0; chunk < chunks; ++chunk) {
            const int64_t q = 4 * V::width * chunk;
            PhaseShuffle<V>::merge(phases + i * 4 * length + chunk * V::width, length, cols - q,
                                   residual != nullptr ? residual + offset + q : nullptr, relu, y + offset + q);
        }
    }
}

template <class V>
WinogradTransforms winograd_transforms_of() {
    return {&winograd_weights<V>, &winograd_input<V>, &winograd_output<V>};
}

}  // namespace
}  // namespace mln::kernels
