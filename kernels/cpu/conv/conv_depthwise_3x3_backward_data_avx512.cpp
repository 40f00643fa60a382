// Compiled with AVX-512: backward data of the NCHW 3 x 3 depthwise kernels (conv_depthwise_3x3.hpp;
// the pieces the passes share in conv_depthwise_3x3_avx512.hpp, which says why each pass is a file).
// GCC 12 warns inside its own AVX-512 intrinsics (a self-initialized undefined operand, GCC bug
// 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3_avx512.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3_stride2_data.hpp"

namespace mln::kernels {
namespace {

// prefetch_ahead for a range about to be written (prefetchw: the lines come in owned). Stride-2
// backward data writes two dx rows a step, block by block, back and forth between them, which
// the hardware prefetchers did not follow from DRAM: MobileNet-v2 dw144/2 at batch 32, one
// thread, 1.15x slower than writing one row after the other, 1.1x faster with this.
MLN_ALWAYS_INLINE void prefetch_write_ahead(float* from, int64_t floats) {
    char* at = reinterpret_cast<char*>(from) + kPrefetchBytes;
    for (int64_t b = 0; b < floats * static_cast<int64_t>(sizeof(float)); b += 64) _m_prefetchw(at + b);
}

// transposed: the forward geometry of the stride-1 backward data (dy the source, dx the output).
MLN_NOINLINE void rows_backward_data(const float* dy, const float* w, const WindowGeometry& transposed,
                                                  int64_t channels, float* dx) {
    const int64_t dy_size = transposed.in_size(), dx_size = transposed.out_size();
    const RowColumns columns(transposed);
    auto planes = [&](auto pad_one) {
        float flipped[kTaps];
        for (int64_t c = 0; c < channels; ++c) {
            for (int64_t t = 0; t < kTaps; ++t) flipped[t] = w[c * kTaps + kTaps - 1 - t];
            row_window_sums_stride1<decltype(pad_one)::value>(dy + c * dy_size, flipped, 0.0f, transposed, columns,
                                                              dx + c * dx_size);
        }
    };
    if (transposed.pad_begin[2] == 1) return planes(std::true_type{});
    planes(std::false_type{});
}

// Backward data at stride 2 x 2, blocks of 32 dx columns: two shifted loads of a dy row serve
// all three taps (conv_depthwise_3x3_stride2_data.hpp); the even and odd registers are then
// interleaved. Rows likewise: dx row i takes tap row kh from dy row (i + pad - kh) / 2 where
// whole and inside: one or two dy rows (none past the bottom).
//
// One block of 32 dx columns: near/far the lanes whose dy column (o0 + base + i, + far) lies
// in the row, low/high the dx columns of the two stored registers; interior: all four full.
struct Stride2DataColumns {
    int64_t o0;
    __mmask16 near, far, low, high;
    bool interior;
};

// A vector of each call's own, not a thread_local one reused: GCC re-derived the address of a
// thread_local from __tls_get_addr inside the channel and row loops (23 calls in the kernel;
// MobileNet-v2 dw192/2 at 28 x 28, one thread, batch 1: 5-7% of the samples).
std::vector<Stride2DataColumns> stride2_data_columns(const WindowGeometry& g, int64_t base, int64_t far) {
    std::vector<Stride2DataColumns> columns;
    columns.reserve(static_cast<size_t>((g.in[2] + 31) / 32));
    const int64_t dy_width = g.out[2], dx_width = g.in[2];
    for (int64_t j0 = 0; j0 < dx_width; j0 += 32) {
        Stride2DataColumns c;
        c.o0 = j0 / 2 + base;
        c.near = lanes_between(-c.o0, dy_width - c.o0);
        c.far = lanes_between(-(c.o0 + far), dy_width - (c.o0 + far));
        c.low = lanes_below(dx_width - j0);
        c.high = lanes_below(dx_width - j0 - 16);
        c.interior = c.near == 0xFFFF && c.far == 0xFFFF && c.low == 0xFFFF && c.high == 0xFFFF;
        columns.push_back(c);
    }
    return columns;
}

// A filter row's three weights, each in every lane.
struct RowWeights {
    __m512 w[3];
};

// A dy row's two loads for a block (row: the dy row at the block's column o0 + base); Masked:
// only the lanes whose dy column lies in the row.
struct DyLoads {
    __m512 near_v, far_v;
};

template <bool OddPad, bool Masked>
inline DyLoads stride2_data_loads(const float* row, const Stride2DataColumns& c) {
    constexpr int64_t far = OddPad ? 1 : -1;
    if constexpr (Masked) return {_mm512_maskz_loadu_ps(c.near, row), _mm512_maskz_loadu_ps(c.far, row + far)};
    return {_mm512_loadu_ps(row), _mm512_loadu_ps(row + far)};
}

// even/odd += a dy row's taps (filter row rw) for a block; Masked: the products only on the
// lanes whose dy column lies in the row (a padding tap left out, not multiplied by a zero).
template <bool OddPad, bool Masked>
inline void stride2_data_taps(const DyLoads& v, const RowWeights& rw, const Stride2DataColumns& c, __m512& even,
                              __m512& odd) {
    auto fma_on = [](__mmask16 m) {
        return [m](__m512 x, __m512 wk, __m512 acc) {
            return Masked ? _mm512_mask3_fmadd_ps(x, wk, acc, m) : _mm512_fmadd_ps(x, wk, acc);
        };
    };
    stride2_data_taps_of<OddPad>(v.near_v, v.far_v, rw.w, even, odd, fma_on(c.near), fma_on(c.far));
}

// dx[0..31] = the even and odd columns interleaved; Masked: only the block's dx columns.
template <bool Masked>
inline void stride2_data_store(__m512 even, __m512 odd, const Stride2DataColumns& c, float* dx) {
    const __m512i interleave_low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i interleave_high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 low = _mm512_permutex2var_ps(even, interleave_low, odd);
    const __m512 high = _mm512_permutex2var_ps(even, interleave_high, odd);
    if constexpr (Masked) {
        _mm512_mask_storeu_ps(dx, c.low, low);
        _mm512_mask_storeu_ps(dx + 16, c.high, high);
    } else {
        _mm512_storeu_ps(dx, low);
        _mm512_storeu_ps(dx + 16, high);
    }
}

// block(c, std::true_type) on the column blocks that need lane masks, block(c, std::false_type)
// on the interior ones.
template <class Block>
inline void for_each_column_block(const std::vector<Stride2DataColumns>& columns, Block&& block) {
    for (const Stride2DataColumns& c : columns) {
        if (c.interior) {
            block(c, std::false_type{});
        } else {
            block(c, std::true_type{});
        }
    }
}

// One dx row from the dy rows a (filter row wa) and, when Two, b (wb), block after block, the
// weights in registers. With the rows and weights indexed through lists inside the block loop
// and every block's masks recomputed there, the plane ran 2.3x slower than oneDNN (MobileNet-v2
// dw96/2 at 112, one thread).
template <bool OddPad, bool Two>
inline void stride2_data_row(const float* a, const RowWeights& wa, const float* b, const RowWeights& wb,
                             const std::vector<Stride2DataColumns>& columns, int64_t base, float* dx_row) {
    auto block = [&](const Stride2DataColumns& c, auto masked) {
        constexpr bool Masked = decltype(masked)::value;
        __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
        stride2_data_taps<OddPad, Masked>(stride2_data_loads<OddPad, Masked>(a + c.o0, c), wa, c, even, odd);
        if constexpr (Two) {
            stride2_data_taps<OddPad, Masked>(stride2_data_loads<OddPad, Masked>(b + c.o0, c), wb, c, even, odd);
        }
        stride2_data_store<Masked>(even, odd, c, dx_row + 2 * (c.o0 - base));
    };
    for_each_column_block(columns, block);
}

// Two dx rows at once: row i takes filter row 1 from dy row m alone, row i + 1 filter rows 2
// (dy row m) and 0 (dy row m + 1); each dy row loaded once for both: 4 loads per block for two
// rows instead of 6, one pass of the block loop instead of two.
template <bool OddPad>
inline void stride2_data_row_pair(const float* m, const RowWeights* w, int64_t dy_width,
                                  const std::vector<Stride2DataColumns>& columns, int64_t base, int64_t dx_width,
                                  float* dx_row) {
    auto block = [&](const Stride2DataColumns& c, auto masked) {
        constexpr bool Masked = decltype(masked)::value;
        const DyLoads upper = stride2_data_loads<OddPad, Masked>(m + c.o0, c);
        const DyLoads lower = stride2_data_loads<OddPad, Masked>(m + dy_width + c.o0, c);
        __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
        stride2_data_taps<OddPad, Masked>(upper, w[1], c, even, odd);
        float* dx = dx_row + 2 * (c.o0 - base);
        stride2_data_store<Masked>(even, odd, c, dx);
        even = _mm512_setzero_ps();
        odd = _mm512_setzero_ps();
        stride2_data_taps<OddPad, Masked>(upper, w[2], c, even, odd);
        stride2_data_taps<OddPad, Masked>(lower, w[0], c, even, odd);
        stride2_data_store<Masked>(even, odd, c, dx + dx_width);
    };
    for_each_column_block(columns, block);
}

template <bool OddPad>
void stride2_backward_data_plane(const float* dy, const float* taps, const WindowGeometry& g,
                                 const std::vector<Stride2DataColumns>& columns, int64_t base, float* dx) {
    RowWeights w[3];
    for (int64_t t = 0; t < kTaps; ++t) w[t / 3].w[t % 3] = _mm512_set1_ps(taps[t]);
    const int64_t dy_width = g.out[2], dx_width = g.in[2], dy_rows = g.out[1], dx_rows = g.in[1];
    auto dy_row = [&](int64_t i, int64_t kh) { return stride2_dy_row(dy, g, i, kh); };
    for (int64_t i = 0; i < dx_rows;) {
        float* dx_row = dx + i * dx_width;
        prefetch_ahead(dy + i / 2 * dy_width, dy_width);
        // Filter rows 0 and 2 share a parity, row 1 has the other; each branch names its rows
        // so the weights stay in registers.
        const float* top = dy_row(i, 0);
        const float* middle = dy_row(i, 1);
        const float* bottom = dy_row(i, 2);
        if (middle != nullptr && i + 1 < dx_rows && middle + dy_width == dy_row(i + 1, 0)) {
            // Pairs follow each other while both rows exist and the lower dy row does: dx rows
            // i + 2 k and i + 2 k + 1 from dy rows m + k and m + k + 1, in a loop of counted
            // steps (the row tests once per run, not per pair: 1.03-1.08x at batch 1).
            const int64_t m = (middle - dy) / dy_width;
            const int64_t pairs = std::min((dx_rows - i) / 2, dy_rows - 1 - m);
            for (int64_t k = 0; k < pairs; ++k, i += 2) {
                prefetch_ahead(dy + (m + k) * dy_width, dy_width);
                prefetch_write_ahead(dx + i * dx_width, 2 * dx_width);
                stride2_data_row_pair<OddPad>(middle + k * dy_width, w, dy_width, columns, base, dx_width,
                                              dx + i * dx_width);
            }
            continue;
        }
        if (middle != nullptr) {
            stride2_data_row<OddPad, false>(middle, w[1], middle, w[1], columns, base, dx_row);
        } else if (top != nullptr && bottom != nullptr) {
            stride2_data_row<OddPad, true>(top, w[0], bottom, w[2], columns, base, dx_row);
        } else if (top != nullptr) {
            stride2_data_row<OddPad, false>(top, w[0], top, w[0], columns, base, dx_row);
        } else if (bottom != nullptr) {
            stride2_data_row<OddPad, false>(bottom, w[2], bottom, w[2], columns, base, dx_row);
        } else {
            std::fill(dx_row, dx_row + dx_width, 0.0f);
        }
        ++i;
    }
}

// Backward data at stride 2 x 2 on dy rows of <= 8 columns and dx rows of <= 16: two channels a
// register, as the forward's pairs (lanes 0-7 channel a, 8-15 channel b). Lane i of a half makes
// dx columns 2 i (even) and 2 i + 1 (odd) from dy columns i + base and i + base + far
// (stride2_data_taps), picked from the two channels' dy rows by permutes; each dx row is then
// picked back from the even and odd registers.
struct PairDataColumns {
    __m512i near_index, far_index;  // the dy columns of the lanes, from the two rows' loads
    __m512i store_index[2];         // channel h's dx row from the even (0-15) and odd (16-31) lanes
    Stride2DataColumns masks;       // near, far: the lanes whose dy column lies in the row
    __mmask16 dy_load, dx_store;
    int64_t dy_width, dx_width;

    PairDataColumns(const WindowGeometry& g, int64_t base, int64_t far) : dy_width(g.out[2]), dx_width(g.in[2]) {
        alignas(64) int32_t near_lanes[16], far_lanes[16], store_lanes[2][16];
        masks = Stride2DataColumns{};
        for (int64_t lane = 0; lane < 16; ++lane) {
            const int64_t half = lane / 8, i = lane % 8;
            const int64_t near_column = i + base, far_column = i + base + far;
            const bool near_inside = near_column >= 0 && near_column < dy_width;
            const bool far_inside = far_column >= 0 && far_column < dy_width;
            near_lanes[lane] = static_cast<int32_t>(near_inside ? half * 16 + near_column : 0);
            far_lanes[lane] = static_cast<int32_t>(far_inside ? half * 16 + far_column : 0);
            if (near_inside) masks.near = static_cast<__mmask16>(masks.near | (1u << lane));
            if (far_inside) masks.far = static_cast<__mmask16>(masks.far | (1u << lane));
            for (int64_t h = 0; h < 2; ++h) {
                store_lanes[h][lane] = static_cast<int32_t>((lane % 2 != 0 ? 16 : 0) + h * 8 + lane / 2);
            }
        }
        near_index = _mm512_load_si512(near_lanes);
        far_index = _mm512_load_si512(far_lanes);
        for (int64_t h = 0; h < 2; ++h) store_index[h] = _mm512_load_si512(store_lanes[h]);
        dy_load = lanes_below(dy_width);
        dx_store = lanes_below(dx_width);
    }

    DyLoads loads(const float* a, const float* b) const {
        const __m512 ra = _mm512_maskz_loadu_ps(dy_load, a), rb = _mm512_maskz_loadu_ps(dy_load, b);
        return {_mm512_permutex2var_ps(ra, near_index, rb), _mm512_permutex2var_ps(ra, far_index, rb)};
    }

    void store(__m512 even, __m512 odd, float* a, float* b, bool store_b) const {
        _mm512_mask_storeu_ps(a, dx_store, _mm512_permutex2var_ps(even, store_index[0], odd));
        if (store_b) _mm512_mask_storeu_ps(b, dx_store, _mm512_permutex2var_ps(even, store_index[1], odd));
    }
};

// dx of channels a and b (dy planes dya, dyb; filters wa, wb) at stride 2 x 2, rows as
// stride2_backward_data_plane: two dx rows a step where row i takes filter row 1 from dy row m
// and row i + 1 filter rows 2 (m) and 0 (m + 1). store_b false: b is a stand-in.
template <bool OddPad>
MLN_ALWAYS_INLINE void pair_stride2_backward_data(const float* dya, const float* dyb, const float* wa, const float* wb,
                                const WindowGeometry& g, const PairDataColumns& c, float* dxa, float* dxb,
                                bool store_b) {
    RowWeights w[3];
    for (int64_t t = 0; t < kTaps; ++t) w[t / 3].w[t % 3] = pair_of(wa[t], wb[t]);
    const int64_t pad_h = g.pad_begin[1], dy_rows = g.out[1], dx_rows = g.in[1];
    const int64_t dy_width = c.dy_width, dx_width = c.dx_width;
    // The dy row of dx row i at filter row kh, or -1.
    auto dy_row = [&](int64_t i, int64_t kh) -> int64_t {
        const int64_t t = i + pad_h - kh;
        return t >= 0 && t % 2 == 0 && t / 2 < dy_rows ? t / 2 : -1;
    };
    auto loads = [&](int64_t row) { return c.loads(dya + row * dy_width, dyb + row * dy_width); };
    // No prefetch: the dy planes' prefetched at once measured within noise (dw576/2 @ 14, batches
    // 1 and 32, 1 and 2 threads: 0.99-1.04x the time without).
    for (int64_t i = 0; i < dx_rows;) {
        const int64_t top = dy_row(i, 0), middle = dy_row(i, 1), bottom = dy_row(i, 2);
        __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
        if (middle >= 0 && i + 1 < dx_rows && dy_row(i + 1, 0) == middle + 1) {
            // Consecutive pairs in a counted loop, as stride2_backward_data_plane's; the lower
            // dy row's loads are the next pair's upper ones (dw576/2: 1.19x faster at batch 1,
            // 1.03-1.1x at 32).
            const int64_t pairs = std::min((dx_rows - i) / 2, dy_rows - 1 - middle);
            DyLoads upper = loads(middle);
            for (int64_t k = 0; k < pairs; ++k, i += 2) {
                const DyLoads lower = loads(middle + k + 1);
                stride2_data_taps<OddPad, true>(upper, w[1], c.masks, even, odd);
                c.store(even, odd, dxa + i * dx_width, dxb + i * dx_width, store_b);
                even = _mm512_setzero_ps();
                odd = _mm512_setzero_ps();
                stride2_data_taps<OddPad, true>(upper, w[2], c.masks, even, odd);
                stride2_data_taps<OddPad, true>(lower, w[0], c.masks, even, odd);
                c.store(even, odd, dxa + (i + 1) * dx_width, dxb + (i + 1) * dx_width, store_b);
                even = _mm512_setzero_ps();
                odd = _mm512_setzero_ps();
                upper = lower;
            }
            continue;
        }
        if (middle >= 0) stride2_data_taps<OddPad, true>(loads(middle), w[1], c.masks, even, odd);
        if (top >= 0) stride2_data_taps<OddPad, true>(loads(top), w[0], c.masks, even, odd);
        if (bottom >= 0) stride2_data_taps<OddPad, true>(loads(bottom), w[2], c.masks, even, odd);
        c.store(even, odd, dxa + i * dx_width, dxb + i * dx_width, store_b);
        ++i;
    }
}

}  // namespace

void conv_depthwise_3x3_backward_data_avx512(const float* dy, const float* w, const WindowGeometry& g,
                                             int64_t channels, float* dx) {
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    if (in_size == 0) return;
    if (is_flat(g)) {
        // The transposed convolution at stride 1: dx = window sums of dy with the flipped
        // filter, dy read from (i - (2 - pad)) in each axis.
        WindowGeometry transposed = g;
        for (int64_t d = 0; d < 3; ++d) {
            transposed.in[d] = g.out[d];
            transposed.out[d] = g.in[d];
            transposed.pad_begin[d] = g.kernel[d] - 1 - g.pad_begin[d];
            transposed.pad_end[d] = g.kernel[d] - 1 - g.pad_end[d];
        }
        if (depthwise_3x3_pairs_fit(transposed)) {
            // dx rows of <= 8: two channels a register, as the forward (dw960 at 7 x 7, one
            // thread, min CPU time: 1.7x faster than the flat plane at batch 1, 1.4x at 32).
            // Rows of <= 8 with pad 1 before them: pair_window_sums_stride1_narrow, as the forward.
            const PairColumns columns(transposed);
            auto pairs = [&](auto narrow) {
                float flipped[2][kTaps];
                for (int64_t a = 0; a < channels; a += 2) {
                    const int64_t b = std::min(a + 1, channels - 1);  // an odd last channel paired with itself
                    for (int64_t t = 0; t < kTaps; ++t) {
                        flipped[0][t] = w[a * kTaps + kTaps - 1 - t];
                        flipped[1][t] = w[b * kTaps + kTaps - 1 - t];
                    }
                    if constexpr (decltype(narrow)::value) {
                        pair_window_sums_stride1_narrow(dy + a * out_size, dy + b * out_size, flipped[0], flipped[1],
                                                        0.0f, 0.0f, transposed, columns, dx + a * in_size,
                                                        dx + b * in_size, b != a);
                    } else {
                        pair_window_sums_stride1(dy + a * out_size, dy + b * out_size, flipped[0], flipped[1], 0.0f,
                                                 0.0f, transposed, columns, dx + a * in_size, dx + b * in_size,
                                                 b != a);
                    }
                }
            };
            if (transposed.in[2] <= 8 && transposed.pad_begin[2] == 1) return pairs(std::true_type{});
            pairs(std::false_type{});
            return;
        }
        if (rows_fit(transposed)) return rows_backward_data(dy, w, transposed, channels, dx);
        float flipped[kTaps];
        const FlatPlane f(g.in[2], g.out[1], g.in[1], 2 - g.pad_begin[1], 2 - g.pad_begin[2], flat_plane_cache());
        for (int64_t c = 0; c < channels; ++c) {
            for (int64_t t = 0; t < kTaps; ++t) flipped[t] = w[c * kTaps + kTaps - 1 - t];
            flat_plane_window_sums(dy + c * out_size, flipped, 0.0f, f, dx + c * in_size);
        }
        return;
    }
    const int64_t pad_w = g.pad_begin[2];
    const int64_t base = pad_w % 2 != 0 ? (pad_w - 1) / 2 : pad_w / 2;
    if (depthwise_3x3_backward_data_pairs_fit(g)) {
        const PairDataColumns columns(g, base, pad_w % 2 != 0 ? 1 : -1);
        for (int64_t a = 0; a < channels; a += 2) {
            const int64_t b = std::min(a + 1, channels - 1);  // an odd last channel paired with itself
            const float *dya = dy + a * out_size, *dyb = dy + b * out_size;
            float *dxa = dx + a * in_size, *dxb = dx + b * in_size;
            if (pad_w % 2 != 0) {
                pair_stride2_backward_data<true>(dya, dyb, w + a * kTaps, w + b * kTaps, g, columns, dxa, dxb, b != a);
            } else {
                pair_stride2_backward_data<false>(dya, dyb, w + a * kTaps, w + b * kTaps, g, columns, dxa, dxb, b != a);
            }
        }
        return;
    }
    const std::vector<Stride2DataColumns> columns = stride2_data_columns(g, base, pad_w % 2 != 0 ? 1 : -1);
    for (int64_t c = 0; c < channels; ++c) {
        if (pad_w % 2 != 0) {
            stride2_backward_data_plane<true>(dy + c * out_size, w + c * kTaps, g, columns, base, dx + c * in_size);
        } else {
            stride2_backward_data_plane<false>(dy + c * out_size, w + c * kTaps, g, columns, base, dx + c * in_size);
        }
    }
}

}  // namespace mln::kernels
