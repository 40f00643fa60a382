// Compiled with AVX2: the forward of the NCHW 3 x 3 depthwise kernel at stride 2 x 2
// (conv_depthwise_3x3.hpp), the AVX2 twin of the AVX-512 forward's stride-2 loops. A register of
// 8 outputs of a row reads the 16 source columns from base + 1 (base = 2 first - pad) in two
// 256-bit loads: tap 1 is their even columns, tap 2 the odd ones, each taken by one in-lane
// shuffle (vshufps), which leaves the outputs in the order 0 1 4 5 2 3 6 7 (kSplitOrder): the
// sums stay in that order and one cross-lane permute a register puts them back before the
// store, not one a tap (the split into natural order costs two vpermpd a source row). Tap 0 of
// output i reads tap 2's column of output i - 1: those columns' products with the tap-0 weights
// are summed over the source rows and moved up an output once an output row (output_rows).
// Against tap 0 from two loads of its own (at base and base + 8) and a shuffle: 1.17-1.27x
// faster on dw96/2, dw144/2 and dw192/2 at batch 1 (one thread, same-process A/B, min times),
// 1.02x on dw576/2 @ 14; the loads at base + 1 and base + 9 start 32-byte aligned at pad 1 on
// rows of a multiple of 16 columns (tap 2 from loads at base + 2 and base + 10, which crossed
// cache lines twice as often, ran those layers 1.04-1.16x slower). Two output rows a step where
// their five source rows lie in the plane, the source row they share split once (one output
// row a step: 1.2-1.4x slower at batch 1).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kTaps = 9;

// Lane j of a split holds output kSplitOrder[j] of its register.
constexpr int64_t kSplitOrder[8] = {0, 1, 4, 5, 2, 3, 6, 7};

// The loads of a register's columns base + 1 to base + 16.
constexpr int64_t kLoadOffsets[2] = {1, 9};

// Up to 8 outputs of a row, columns first..first + 8. load[r]: the lanes of load r whose column
// lies in the row (the others read as 0, never past the row); tap[kw]: the split-order lanes
// whose tap-kw column lies in the row, all ones, the filter's weights masked with them so that
// a padding tap adds nothing (0 x a NaN or Inf weight would add a NaN); count: the outputs.
struct Stride2Register {
    int64_t first, base, count;
    __m256i load[2];
    __m256 tap[3];
    bool whole;  // plain loads and weights: see stride2_registers
    bool spill;  // all 8 lanes stored: see stride2_registers
};

// The registers of a row. whole: the outputs' tap-1 and tap-2 columns lie in the row and so, if
// !past_row_end, do all the loads' columns (past_row_end: the loads may read on past the row's
// end, into the lanes of no output, as far as the next plane's end: not from the last plane's
// last row, where nothing of the caller's follows it). Plain loads on the last register of 7-wide rows (14 x 14
// planes) ran dw576/2 @ 14 1.1x faster than masked ones at batch 1. spill: on rows of < 8 outputs (one register a
// row, stored in increasing order) past_row_end also lets the store write all 8 lanes, those past the row's end
// overwritten by the next row's store (the caller passes past_row_end where 8 floats past the plane's end are
// the tensor's): against pieces of 4, 2 and 1, dw576/2 @ 14 0.91x the time at batch 1.
std::vector<Stride2Register> stride2_registers(const WindowGeometry& g, bool past_row_end) {
    const int64_t out_width = g.out[2], in_width = g.in[2];
    std::vector<Stride2Register> registers;
    for (int64_t first = 0; first < out_width; first += 8) {
        Stride2Register r;
        r.first = first;
        r.base = 2 * first - g.pad_begin[2];
        r.count = std::min<int64_t>(8, out_width - first);
        alignas(32) int32_t lanes[8];
        auto in_row = [&](int64_t column) { return column >= 0 && column < in_width; };
        // Columns base + 1 to base + 2 count, and the first of the loads.
        bool whole = in_row(r.base + 1) && in_row(r.base + 2 * r.count);
        const bool may_overrun = past_row_end && r.base + 17 - in_width <= g.in_size();
        for (int64_t l = 0; l < 2; ++l) {
            for (int64_t j = 0; j < 8; ++j) {
                const bool inside = in_row(r.base + kLoadOffsets[l] + j);
                lanes[j] = inside ? -1 : 0;
                whole = whole && (inside || may_overrun);
            }
            r.load[l] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
        }
        for (int64_t kw = 0; kw < 3; ++kw) {
            for (int64_t j = 0; j < 8; ++j) lanes[j] = in_row(r.base + 2 * kSplitOrder[j] + kw) ? -1 : 0;
            r.tap[kw] = _mm256_castsi256_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(lanes)));
        }
        r.whole = whole;
        r.spill = past_row_end && out_width < 8;
        registers.push_back(r);
    }
    return registers;
}

// Taps 1 and 2 of a source row for a register of outputs, in split order.
struct RowTaps {
    __m256 t1, t2;
};

template <bool Whole>
MLN_ALWAYS_INLINE RowTaps row_taps(const float* row, const Stride2Register& r) {
    const float* at = row + r.base;
    __m256 a[2];
    for (int64_t l = 0; l < 2; ++l) {
        a[l] = Whole ? _mm256_loadu_ps(at + kLoadOffsets[l]) : _mm256_maskload_ps(at + kLoadOffsets[l], r.load[l]);
    }
    return {_mm256_shuffle_ps(a[0], a[1], 0x88), _mm256_shuffle_ps(a[0], a[1], 0xDD)};
}

// Stores the register's outputs in natural order; a register of fewer than 8 in pieces of 4, 2
// and 1: masked stores (vmaskmovps, slow on Zen 3) ran dw192/2 @ 28 and dw144/2 @ 56 1.35x and
// 1.25x slower at batch 1.
MLN_ALWAYS_INLINE void store(float* y_row, const Stride2Register& r, __m256 sum) {
    const __m256 natural = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(sum), 0xD8));
    float* at = y_row + r.first;
    if (r.count == 8 || r.spill) return _mm256_storeu_ps(at, natural);
    __m128 part = _mm256_castps256_ps128(natural);
    int64_t left = r.count;
    if (left >= 4) {
        _mm_storeu_ps(at, part);
        part = _mm256_extractf128_ps(natural, 1);
        at += 4;
        left -= 4;
    }
    if (left >= 2) {
        _mm_storel_pi(reinterpret_cast<__m64*>(at), part);
        part = _mm_movehl_ps(part, part);
        at += 2;
        left -= 2;
    }
    if (left == 1) _mm_store_ss(at, part);
}

// Output rows oh to oh + Rows - 1 (Rows 1 or 2) of every register; rows[k]: source row
// 2 oh - pad + k (nullptr outside the plane, its taps left out; Inside: none is). Tap 0 of
// output i is the column of tap 2 of output i - 1: the sums of the tap-2 columns times the
// tap-0 weights (next) are moved up an output, by one permute an output row, lane 0 from the
// previous register's (carry; before the first register the column at its base).
template <int64_t Rows, bool Inside>
MLN_ALWAYS_INLINE void output_rows(const float* const* rows, const float* taps, const __m256* filter, __m256 bias,
                                   const std::vector<Stride2Register>& registers, int64_t in_width, float* y,
                                   int64_t out_width) {
    // Lane j (output kSplitOrder[j]) takes the lane of output kSplitOrder[j] - 1.
    const __m256i previous_output = _mm256_setr_epi32(7, 0, 5, 2, 1, 4, 3, 6);
    __m256 carry[Rows];
    const int64_t edge = registers.front().base;
    for (int64_t o = 0; o < Rows; ++o) {
        float column = 0.0f;
        for (int64_t kh = 0; kh < 3; ++kh) {
            const float* row = rows[2 * o + kh];
            if ((Inside || row != nullptr) && edge >= 0 && edge < in_width) column += row[edge] * taps[kh * 3];
        }
        carry[o] = _mm256_set1_ps(column);
    }
    auto step = [&](const Stride2Register& r, auto whole) {
        constexpr bool kWhole = decltype(whole)::value;
        __m256 w[kTaps];
        for (int64_t t = 0; t < kTaps; ++t) {
            // Tap 0's weights multiply the tap-2 columns.
            w[t] = kWhole ? filter[t] : _mm256_and_ps(filter[t], r.tap[t % 3 == 0 ? 2 : t % 3]);
        }
        __m256 sum[Rows], next[Rows];
        for (int64_t o = 0; o < Rows; ++o) {
            sum[o] = bias;
            next[o] = _mm256_setzero_ps();
        }
        for (int64_t k = 0; k < 2 * Rows + 1; ++k) {
            if (!Inside && rows[k] == nullptr) continue;
            const RowTaps t = row_taps<kWhole>(rows[k], r);
            for (int64_t o = 0; o < Rows; ++o) {
                const int64_t kh = k - 2 * o;
                if (kh < 0 || kh > 2) continue;
                sum[o] = _mm256_fmadd_ps(t.t2, w[kh * 3 + 2], _mm256_fmadd_ps(t.t1, w[kh * 3 + 1], sum[o]));
                next[o] = _mm256_fmadd_ps(t.t2, w[kh * 3], next[o]);
            }
        }
        for (int64_t o = 0; o < Rows; ++o) {
            const __m256 moved = _mm256_permutevar8x32_ps(next[o], previous_output);
            store(y + o * out_width, r, _mm256_add_ps(sum[o], _mm256_blend_ps(moved, carry[o], 0x01)));
            carry[o] = moved;
        }
    };
    for (const Stride2Register& r : registers) {
        if (r.whole) {
            step(r, std::true_type{});
        } else {
            step(r, std::false_type{});
        }
    }
}

// Prefetches into L1 the `floats` floats kPrefetchBytes past `from`: the loop reads five rows
// and advances four, which the hardware prefetchers do not follow: without, MobileNet-v2's
// stride-2 layers ran 1.3-2.7x slower at batch 32 (two threads; at batch 1 from L3 up to 1.15x
// faster); into L2 (_MM_HINT_T1) 16 KiB ahead 1.0-1.08x slower. Past a plane this fetches the
// next channel's.
constexpr int64_t kPrefetchBytes = int64_t{8} << 10;

MLN_ALWAYS_INLINE void prefetch_rows(const float* from, int64_t floats) {
    prefetch_lines(reinterpret_cast<const char*>(from) + kPrefetchBytes, floats * static_cast<int64_t>(sizeof(float)));
}

void plane_window_sums(const float* x, const float* taps, float bias, const WindowGeometry& g,
                       const std::vector<Stride2Register>& registers, float* y) {
    const int64_t out_width = g.out[2], out_rows = g.out[1], in_width = g.in[2], in_rows = g.in[1];
    const int64_t pad = g.pad_begin[1];
    const __m256 b = _mm256_set1_ps(bias);
    __m256 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = _mm256_set1_ps(taps[t]);
    auto row = [&](int64_t oh) {
        prefetch_rows(x + 2 * oh * in_width, 2 * in_width);
        const float* rows[3];
        for (int64_t kh = 0; kh < 3; ++kh) {
            const int64_t ih = 2 * oh - pad + kh;
            rows[kh] = ih >= 0 && ih < in_rows ? x + ih * in_width : nullptr;
        }
        output_rows<1, false>(rows, taps, w, b, registers, in_width, y + oh * out_width, out_width);
    };
    int64_t oh = 0;
    for (; oh < out_rows && 2 * oh < pad; ++oh) row(oh);
    // Pairs of rows whose five source rows lie in the plane.
    for (; oh + 1 < out_rows && 2 * oh - pad + 4 < in_rows; oh += 2) {
        const float* top = x + (2 * oh - pad) * in_width;
        prefetch_rows(top, 4 * in_width);
        const float* rows[5];
        for (int64_t k = 0; k < 5; ++k) rows[k] = top + k * in_width;
        output_rows<2, true>(rows, taps, w, b, registers, in_width, y + oh * out_width, out_width);
    }
    for (; oh < out_rows; ++oh) row(oh);
}

}  // namespace

void conv_depthwise_3x3_forward_stride2_avx2(const float* x, const float* w, const float* bias,
                                             const WindowGeometry& g, int64_t channels, float* y) {
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    if (out_size == 0) return;
    // Rows of the last channels read and write nothing past their ends: nothing of the caller's follows.
    const std::vector<Stride2Register> registers = stride2_registers(g, true);
    const std::vector<Stride2Register> last_registers = stride2_registers(g, false);
    for (int64_t c = 0; c < channels; ++c) {
        const bool past_row_end = c + 1 < channels && (c + 1) * out_size + 8 <= channels * out_size;
        plane_window_sums(x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, g,
                          past_row_end ? registers : last_registers, y + c * out_size);
    }
}

}  // namespace mln::kernels
