// Compiled with AVX-512: the NCHW 3 x 3 depthwise kernels (conv_depthwise_3x3.hpp).
// GCC 12 warns inside its own AVX-512 intrinsics (a self-initialized undefined operand, GCC bug
// 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"
#include "kernels/cpu/conv/conv_depthwise_filter_avx512.hpp"

namespace mln::kernels {
namespace {

using depthwise_filter::filter_sums_by_channel_groups;
using depthwise_filter::FilterSumsLayout;
using depthwise_filter::sum_across_lanes16;
using depthwise_filter::store_tap_sums;

constexpr int64_t kTaps = 9;

__mmask16 lanes_below(int64_t n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : n <= 0 ? 0u : (1u << n) - 1u); }
// Lanes i with begin <= i < end.
__mmask16 lanes_between(int64_t begin, int64_t end) {
    return static_cast<__mmask16>(lanes_below(end) & ~lanes_below(begin));
}

// Prefetches into L1 the `floats` floats kPrefetchBytes past `from`. The stride-2 loops read
// three rows at a time and advance two a step, which the hardware prefetchers did not follow:
// fed from DRAM (MobileNet-v2 dw96/2 at 112, batch 32, one thread) the forward waited on its
// rows and ran 3.9x slower than with this (prefetching 1.8 KiB ahead: 1.8x slower than 7 KiB;
// 3.6, 7 and 14 KiB within noise), from L3 (batch 1) 1.25x slower; backward data at batch 32
// 1.5x, backward filter at batch 1 1.4x. The stride-1 flat loops read one stream, which the
// hardware follows (prefetching there measured within noise). Past a plane this fetches the
// next channel's, read next; a prefetch past the tensor does not fault.
// Inlined by force: out of line, GCC 12's mod-ref analysis finds the loop free of side effects
// (a prefetch touches no memory it models) and deletes calls to it as dead code.
constexpr int64_t kPrefetchBytes = int64_t{8} << 10;

MLN_ALWAYS_INLINE void prefetch_ahead(const float* from, int64_t floats) {
    const char* at = reinterpret_cast<const char*>(from) + kPrefetchBytes;
    for (int64_t b = 0; b < floats * static_cast<int64_t>(sizeof(float)); b += 64) _mm_prefetch(at + b, _MM_HINT_T0);
}

// prefetch_ahead for a range about to be written (prefetchw: the lines come in owned). Stride-2
// backward data writes two dx rows a step, block by block, back and forth between them, which
// the hardware prefetchers did not follow from DRAM: MobileNet-v2 dw144/2 at batch 32, one
// thread, 1.15x slower than writing one row after the other, 1.1x faster with this.
MLN_ALWAYS_INLINE void prefetch_write_ahead(float* from, int64_t floats) {
    char* at = reinterpret_cast<char*>(from) + kPrefetchBytes;
    for (int64_t b = 0; b < floats * static_cast<int64_t>(sizeof(float)); b += 64) _m_prefetchw(at + b);
}

// ---- Stride 1, rows as wide as the source's: the plane as one flat row. ----

// Output p = (oh, ow) reads source (oh + kh - pad_h, ow + kw - pad_w), which is flat position
// p + first_tap + kh width + kw when both planes have `width` columns; masks[v * 9 + tap] holds
// the lanes of register v (positions 16 v + lane) whose tap lies in the source (and whose
// position in the output). Registers [interior_begin, interior_end) have every tap row in the
// source for all 16 lanes and read 32 floats from p + first_tap + kh width inside the source;
// their column taps' masks repeat every `period` registers (width / gcd(width, 16)):
// column_masks[r * 3 + kw] for register r (mod period).
struct FlatPlane {
    int64_t width, src_rows, out_rows, size;  // size: out_rows * width
    int64_t first_tap;
    int64_t interior_begin, interior_end, period, interior_phase;  // interior_phase: interior_begin % period
    const __mmask16* masks;
    const __mmask16* column_masks;

    // The masks of the last plane a thread built, kept for its next call: a 112 x 112 plane's
    // took about as long as 8 of its channels' sums (784 registers), and a layer calls once per
    // block of channels.
    struct Cache {
        int64_t key[5] = {-1, -1, -1, -1, -1};
        std::vector<__mmask16> masks, column_masks;
    };

    FlatPlane(int64_t width_, int64_t src_rows_, int64_t out_rows_, int64_t pad_h, int64_t pad_w, Cache& cache)
        : width(width_), src_rows(src_rows_), out_rows(out_rows_), size(width_ * out_rows_),
          first_tap(-pad_h * width_ - pad_w), period(width_ / std::gcd(width_, int64_t{16})) {
        const int64_t registers = (size + 15) / 16, in_size = src_rows * width;
        int64_t begin = 0, end = size;
        for (int64_t kh = 0; kh < 3; ++kh) {
            // Tap row kh lies in the source for the outputs of rows [pad_h - kh, src_rows + pad_h - kh).
            begin = std::max(begin, std::clamp(pad_h - kh, int64_t{0}, out_rows) * width);
            end = std::min(end, std::clamp(src_rows + pad_h - kh, int64_t{0}, out_rows) * width);
            // Loads from p + offset to 32 floats past it inside [0, in_size).
            const int64_t offset = first_tap + kh * width;
            begin = std::max(begin, -offset);
            end = std::min(end, in_size - offset - 16);
        }
        interior_begin = std::min(registers, (begin + 15) / 16);
        interior_end = std::clamp(end >= 16 ? (end - 16) / 16 + 1 : int64_t{0}, interior_begin, registers);
        interior_phase = interior_begin % period;
        const int64_t key[5] = {width, src_rows, out_rows, pad_h, pad_w};
        if (!std::equal(key, key + 5, cache.key)) {
            build(pad_h, pad_w, cache.masks);
            build_flat_column_masks(width, period, pad_w, cache.column_masks);
            std::copy(key, key + 5, cache.key);
        }
        masks = cache.masks.data();
        column_masks = cache.column_masks.data();
    }

private:
    void build(int64_t pad_h, int64_t pad_w, std::vector<__mmask16>& storage) const {
        const int64_t vectors = (size + 15) / 16;
        storage.resize(static_cast<size_t>(vectors * kTaps));
        // Each lane's (row, column), advanced 16 positions a register: one wrap at most when
        // 16 % width < width.
        alignas(64) int32_t row0[16], col0[16];
        for (int32_t i = 0; i < 16; ++i) {
            row0[i] = static_cast<int32_t>(i / width);
            col0[i] = static_cast<int32_t>(i % width);
        }
        __m512i row = _mm512_load_si512(row0), col = _mm512_load_si512(col0);
        const __m512i col_step = _mm512_set1_epi32(static_cast<int32_t>(16 % width));
        const __m512i row_step = _mm512_set1_epi32(static_cast<int32_t>(16 / width));
        const __m512i widths = _mm512_set1_epi32(static_cast<int32_t>(width)), one = _mm512_set1_epi32(1);
        auto within = [](__m512i v, int64_t lo, int64_t hi) {
            return static_cast<__mmask16>(_mm512_cmpge_epi32_mask(v, _mm512_set1_epi32(static_cast<int32_t>(lo))) &
                                          _mm512_cmplt_epi32_mask(v, _mm512_set1_epi32(static_cast<int32_t>(hi))));
        };
        for (int64_t v = 0; v < vectors; ++v) {
            __mmask16 row_ok[3], col_ok[3];
            for (int64_t k = 0; k < 3; ++k) {
                // Source row oh + k - pad_h in [0, src_rows), and oh an output row.
                row_ok[k] = static_cast<__mmask16>(within(row, pad_h - k, src_rows + pad_h - k) &
                                                   within(row, 0, out_rows));
                col_ok[k] = within(col, pad_w - k, width + pad_w - k);
            }
            for (int64_t kh = 0; kh < 3; ++kh) {
                for (int64_t kw = 0; kw < 3; ++kw) {
                    storage[static_cast<size_t>(v * kTaps + kh * 3 + kw)] =
                        static_cast<__mmask16>(row_ok[kh] & col_ok[kw]);
                }
            }
            col = _mm512_add_epi32(col, col_step);
            row = _mm512_add_epi32(row, row_step);
            const __mmask16 wrapped = _mm512_cmpge_epi32_mask(col, widths);
            col = _mm512_mask_sub_epi32(col, wrapped, col, widths);
            row = _mm512_mask_add_epi32(row, wrapped, row, one);
        }
    }
};

// sum = bias + the nine taps of register p, each load and FMA on the lanes of its mask m[tap].
// One sum per filter row, added to the total: a chain of nine dependent FMAs per register kept
// too few registers in flight.
inline __m512 flat_border_sum(const float* src, int64_t width, const __m512* w, __m512 bias, const __mmask16* m) {
    __m512 sum = bias;
    const float* row = src;
    for (int64_t kh = 0; kh < 3; ++kh, row += width) {
        __m512 row_sum = _mm512_setzero_ps();
        for (int64_t kw = 0; kw < 3; ++kw) {
            const __mmask16 k = m[kh * 3 + kw];
            row_sum = _mm512_mask3_fmadd_ps(_mm512_maskz_loadu_ps(k, row + kw), w[kh * 3 + kw], row_sum, k);
        }
        sum = _mm512_add_ps(sum, row_sum);
    }
    return sum;
}

// The sum over one source row's taps (filter row w[0..2]) for a register of outputs, the row
// read as the pair (low, high) of 16 floats from its first tap: tap kw is the pair shifted by kw
// lanes (valignd), on the lanes of m[kw] (a tap outside the source is left out, not multiplied
// by a zero).
inline __m512 pair_row_sum(__m512 low, __m512 high, const __m512* w, const __mmask16* m) {
    const __m512i lo = _mm512_castps_si512(low), hi = _mm512_castps_si512(high);
    __m512 sum = _mm512_maskz_mul_ps(m[0], low, w[0]);
    sum = _mm512_mask3_fmadd_ps(_mm512_castsi512_ps(_mm512_alignr_epi32(hi, lo, 1)), w[1], sum, m[1]);
    return _mm512_mask3_fmadd_ps(_mm512_castsi512_ps(_mm512_alignr_epi32(hi, lo, 2)), w[2], sum, m[2]);
}

// out[p] for register p of the plane near its borders: every tap its mask from the table (loads
// of each tap masked: 1.1x faster on 14-wide planes than the row pairs below with masked loads).
inline void flat_border_register(const float* at, int64_t p, const FlatPlane& f, const __m512* w, __m512 b,
                                 float* out) {
    const __m512 sum = flat_border_sum(at + p, f.width, w, b, f.masks + (p / 16) * kTaps);
    if (p + 16 <= f.size) {
        _mm512_storeu_ps(out + p, sum);
    } else {
        _mm512_mask_storeu_ps(out + p, lanes_below(f.size - p), sum);
    }
}

// out (size) = bias + sum over taps of taps[tap] * the source at the tap. Interior registers load
// each source row once (16 floats, the next 16 carried to the next register) and build the
// other column taps by valignd: 3 loads a register instead of 9 unaligned ones, and 3 column
// masks from a table of `period` registers instead of 9 from the plane's (MobileNet-v2, one
// thread, batch 1, same-process min CPU time: 112-, 56- and 28-wide planes 1.4-1.8x faster,
// 14-wide 1.05-1.1x).
void flat_window_sums(const float* src, const float* taps, float bias, const FlatPlane& f, float* out) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = _mm512_set1_ps(taps[t]);
    const __m512 b = _mm512_set1_ps(bias);
    const int64_t size = f.size, width = f.width;
    const float* at = src + f.first_tap;
    const int64_t interior_begin = f.interior_begin * 16, interior_end = f.interior_end * 16;
    int64_t p = 0;
    for (; p < interior_begin; p += 16) flat_border_register(at, p, f, w, b, out);
    if (p < interior_end) {
        // Locals: GCC re-read them from f after each store to out.
        const int64_t period = f.period;
        const __mmask16* column_masks = f.column_masks;
        int64_t r = f.interior_phase;
        const float* rows[3];
        __m512 low[3];
        for (int64_t kh = 0; kh < 3; ++kh) {
            rows[kh] = at + kh * width;
            low[kh] = _mm512_loadu_ps(rows[kh] + p);
        }
        for (; p < interior_end; p += 16, r = r + 1 == period ? 0 : r + 1) {
            const __mmask16* m = column_masks + r * 3;
            __m512 sum = b;
            for (int64_t kh = 0; kh < 3; ++kh) {
                const __m512 high = _mm512_loadu_ps(rows[kh] + p + 16);
                sum = _mm512_add_ps(sum, pair_row_sum(low[kh], high, w + kh * 3, m));
                low[kh] = high;
            }
            _mm512_storeu_ps(out + p, sum);
        }
    }
    for (; p < size; p += 16) flat_border_register(at, p, f, w, b, out);
}

thread_local FlatPlane::Cache t_flat_masks;

// ---- Stride 2 along rows. ----

// One register of up to 16 outputs of a row (columns first..first + count): its three taps read
// source columns base + 2 i + kw (base = 2 first - pad), taken from the 33 columns from base,
// loaded in three registers (load[r]: the columns that lie in the row; the third needs only its
// lane 0); tap[kw]: the lanes whose column lies in the row.
struct Stride2Columns {
    int64_t base;
    __mmask16 load[3], tap[3];
    bool interior;  // every mask full (load[2]: its lane 0)
};

std::vector<Stride2Columns>& stride2_columns(int64_t out_width, int64_t in_width, int64_t pad) {
    thread_local std::vector<Stride2Columns> columns;
    columns.clear();
    for (int64_t first = 0; first < out_width; first += 16) {
        Stride2Columns c;
        const int64_t count = std::min<int64_t>(16, out_width - first);
        c.base = 2 * first - pad;
        for (int64_t r = 0; r < 3; ++r) {
            c.load[r] = lanes_between(-(c.base + 16 * r), in_width - (c.base + 16 * r));
        }
        c.load[2] = static_cast<__mmask16>(c.load[2] & 1u);
        for (int64_t kw = 0; kw < 3; ++kw) {
            __mmask16 valid = 0;
            for (int64_t i = 0; i < count; ++i) {
                const int64_t column = c.base + 2 * i + kw;
                if (column >= 0 && column < in_width) valid = static_cast<__mmask16>(valid | (1u << i));
            }
            c.tap[kw] = valid;
        }
        c.interior = c.load[0] == 0xFFFF && c.load[1] == 0xFFFF && c.load[2] == 1 && c.tap[0] == 0xFFFF &&
                     c.tap[1] == 0xFFFF && c.tap[2] == 0xFFFF;
        columns.push_back(c);
    }
    return columns;
}

// The three taps of a source row for a register of outputs: tap kw lane i = row[base + 2 i + kw]
// (0 outside the row).
struct RowTaps {
    __m512 t[3];
};

// The taps from the 33 columns from base: a0, a1 the first 32, a2 the last in lane 0.
inline RowTaps stride2_split(__m512 a0, __m512 a1, __m512 a2) {
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    RowTaps r;
    r.t[0] = _mm512_permutex2var_ps(a0, evens, a1);
    r.t[1] = _mm512_permutex2var_ps(a0, odds, a1);
    // Columns base + 2 i + 2: tap 0 moved down a lane, column base + 32 in lane 15.
    r.t[2] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(a2), _mm512_castps_si512(r.t[0]), 1));
    return r;
}

// The even and odd columns of the 32 from base of a source row (taps 0 and 1; 0 outside the row
// where Masked).
template <bool Masked>
inline void stride2_even_odd(const float* row, const Stride2Columns& c, __m512& even, __m512& odd) {
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const float* at = row + c.base;
    __m512 a0, a1;
    if constexpr (Masked) {
        a0 = _mm512_maskz_loadu_ps(c.load[0], at);
        a1 = _mm512_maskz_loadu_ps(c.load[1], at + 16);
    } else {
        a0 = _mm512_loadu_ps(at);
        a1 = _mm512_loadu_ps(at + 16);
    }
    even = _mm512_permutex2var_ps(a0, evens, a1);
    odd = _mm512_permutex2var_ps(a0, odds, a1);
}

// The backward filter's taps: the even and odd columns of the 32 from base (stride2_even_odd's,
// t[0], t[1]); t[2] is the even columns again, lane j column base + 2 j, which is tap 2 of output
// j - 1: its products take dy loaded a column earlier (Stride2Dy::shifted), so no source row is
// shifted a lane (the 33rd column is the next register's lane 0; stride2_filter_sums adds the
// last output's where the row's last register is full). Against stride2_forward_taps (a valignd
// a source row for t[2], the 33rd column loaded alone): MobileNet-v2 batch 1, one thread,
// same-process A/B both ways round, dw96/2 @ 112 0.96-0.99x the time, dw144/2 @ 56 0.93-0.97x,
// dw192/2 @ 28 0.92-0.96x; batch 32 within noise (0.96-1.04x). Masked: loads masked to the row.
template <bool Masked>
inline RowTaps stride2_filter_taps(const float* row, const Stride2Columns& c) {
    RowTaps r;
    stride2_even_odd<Masked>(row, c, r.t[0], r.t[1]);
    r.t[2] = r.t[0];
    return r;
}

// The lanes of a register of outputs first..first + 15 for the filter: tap[kw] those whose
// product with stride2_filter_taps's t[kw] counts (tap in the row, output existing; tap 2's lane
// j is output j - 1), d the outputs', shifted the lanes of outputs j - 1; plain: every lane of
// each (the first register never: its lane 0 would be output -1).
struct Stride2FilterLanes {
    __mmask16 tap[3], d, shifted;
    bool plain;
};

std::vector<Stride2FilterLanes>& stride2_filter_lanes(const std::vector<Stride2Columns>& columns,
                                                      int64_t out_width, int64_t in_width) {
    thread_local std::vector<Stride2FilterLanes> lanes;
    lanes.clear();
    for (size_t v = 0; v < columns.size(); ++v) {
        const Stride2Columns& c = columns[v];
        const int64_t first = static_cast<int64_t>(v) * 16;
        Stride2FilterLanes l;
        l.tap[0] = c.tap[0];
        l.tap[1] = c.tap[1];
        l.d = lanes_below(out_width - first);
        l.shifted = lanes_between(1 - first, out_width - first + 1);
        __mmask16 in_row = 0;
        for (int64_t j = 0; j < 16; ++j) {
            const int64_t column = c.base + 2 * j;
            if (column >= 0 && column < in_width) in_row = static_cast<__mmask16>(in_row | (1u << j));
        }
        l.tap[2] = static_cast<__mmask16>(in_row & l.shifted);
        l.plain = c.interior && first > 0;
        lanes.push_back(l);
    }
    return lanes;
}

// A register of dy and the same loaded a column earlier (lane j output j - 1).
struct Stride2Dy {
    __m512 d, shifted;
};

template <bool Masked>
inline Stride2Dy stride2_filter_dy(const float* dy_row, const Stride2FilterLanes& lanes) {
    if constexpr (Masked) {
        return {_mm512_maskz_loadu_ps(lanes.d, dy_row), _mm512_maskz_loadu_ps(lanes.shifted, dy_row - 1)};
    }
    return {_mm512_loadu_ps(dy_row), _mm512_loadu_ps(dy_row - 1)};
}

// The forward's taps: stride2_even_odd's loads but the lone 33rd column a scalar load where it
// lies in the row, not a one-lane masked vector load: MobileNet-v2 dw96/2 at 112, dw144/2 at 56
// and dw192/2 at 28, one thread, same-process min times, 1.05-1.1x faster at batch 1, 1.1x at
// batch 32 (dw192/2 the same). Unmasked border loads where the columns lie in the plane (the
// sums' masks leaving the other rows' out) gained a little more at batch 1 but ran dw96/2 1.13x
// slower at batch 32. Row pairs take stride2_row_pair_sums.
template <bool Masked>
inline RowTaps stride2_forward_taps(const float* row, const Stride2Columns& c) {
    const float* at = row + c.base;
    __m512 a0, a1;
    if constexpr (Masked) {
        a0 = _mm512_maskz_loadu_ps(c.load[0], at);
        a1 = _mm512_maskz_loadu_ps(c.load[1], at + 16);
    } else {
        a0 = _mm512_loadu_ps(at);
        a1 = _mm512_loadu_ps(at + 16);
    }
    const __m512 a2 = !Masked || c.load[2] != 0 ? _mm512_castps128_ps512(_mm_load_ss(at + 32)) : _mm512_setzero_ps();
    return stride2_split(a0, a1, a2);
}

// The sum over one source row's taps t (filter row w[0..2]) for a register of outputs; Masked:
// lanes whose tap lies outside the row left out.
template <bool Masked>
inline __m512 stride2_taps_sum(const RowTaps& t, const __m512* w, const Stride2Columns& c) {
    if constexpr (Masked) {
        __m512 sum = _mm512_maskz_mul_ps(c.tap[0], t.t[0], w[0]);
        sum = _mm512_mask3_fmadd_ps(t.t[1], w[1], sum, c.tap[1]);
        return _mm512_mask3_fmadd_ps(t.t[2], w[2], sum, c.tap[2]);
    }
    return _mm512_fmadd_ps(t.t[2], w[2], _mm512_fmadd_ps(t.t[1], w[1], _mm512_mul_ps(t.t[0], w[0])));
}

template <bool Masked>
inline __m512 stride2_row_sum(const float* row, const __m512* w, const Stride2Columns& c) {
    return stride2_taps_sum<Masked>(stride2_forward_taps<Masked>(row, c), w, c);
}

// Output rows oh and oh + 1 of one register of outputs, rows[0..4] from source row 2 oh - pad
// (row 2 the bottom of the first and the top of the second, split once for both): sum the sums
// over taps 0 and 1 with the bias, evens the sums over tap 2 of the even columns, lane j output
// j - 1's tap 2 (the same trick as the filter's stride2_filter_taps): the three rows' tap 2
// summed first and shifted a lane once (stride2_pair_store), not each source row shifted.
struct Stride2PairSums {
    __m512 sum[2], evens[2];
};

template <bool Masked>
inline Stride2PairSums stride2_row_pair_sums(const float* const* rows, const __m512* w, __m512 b,
                                             const Stride2Columns& c) {
    __m512 even[5], odd[5];
    for (int64_t r = 0; r < 5; ++r) stride2_even_odd<Masked>(rows[r], c, even[r], odd[r]);
    Stride2PairSums s;
    for (int64_t o = 0; o < 2; ++o) {
        const __m512* e = even + 2 * o;
        const __m512* d = odd + 2 * o;
        // Two chains, not one, for the FMA latency.
        const __m512 left = _mm512_fmadd_ps(e[1], w[3], _mm512_fmadd_ps(d[0], w[1], _mm512_fmadd_ps(e[0], w[0], b)));
        const __m512 right = _mm512_fmadd_ps(d[2], w[7], _mm512_fmadd_ps(e[2], w[6], _mm512_mul_ps(d[1], w[4])));
        s.sum[o] = _mm512_add_ps(left, right);
        s.evens[o] = _mm512_fmadd_ps(e[2], w[8], _mm512_fmadd_ps(e[1], w[5], _mm512_mul_ps(e[0], w[2])));
    }
    return s;
}

// The tap-2 sums of a row pair's last register's 33rd column (lane 0; zero where it lies
// outside the row), in place of the next register's evens.
inline Stride2PairSums stride2_last_column_sums(const float* const* rows, const __m512* w, const Stride2Columns& c) {
    Stride2PairSums s{};
    if (c.load[2] == 0) return s;
    __m512 column[5];
    for (int64_t r = 0; r < 5; ++r) column[r] = _mm512_castps128_ps512(_mm_load_ss(rows[r] + c.base + 32));
    for (int64_t o = 0; o < 2; ++o) {
        const __m512* k = column + 2 * o;
        s.evens[o] = _mm512_fmadd_ps(k[2], w[8], _mm512_fmadd_ps(k[1], w[5], _mm512_mul_ps(k[0], w[2])));
    }
    return s;
}

// Stores a row pair's register: its sums plus its evens moved down a lane, lane 15 from the next
// register's (or the 33rd column's) lane 0.
inline void stride2_pair_store(const Stride2PairSums& s, const Stride2PairSums& next, __mmask16 out, float* upper,
                               int64_t out_width) {
    for (int64_t o = 0; o < 2; ++o) {
        const __m512 tap2 = _mm512_castsi512_ps(
            _mm512_alignr_epi32(_mm512_castps_si512(next.evens[o]), _mm512_castps_si512(s.evens[o]), 1));
        _mm512_mask_storeu_ps(upper + o * out_width, out, _mm512_add_ps(s.sum[o], tap2));
    }
}

// The source rows output row oh reads (oh * stride - pad + kh inside the plane): rows[r] from
// filter row kh[r], r < count.
struct SourceRows {
    const float* rows[3];
    int64_t kh[3];
    int64_t count = 0;

    SourceRows(const float* plane, const WindowGeometry& g, int64_t oh) {
        for (int64_t k = 0; k < 3; ++k) {
            const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + k;
            if (ih < 0 || ih >= g.in[1]) continue;
            rows[count] = plane + ih * g.in[2];
            kh[count++] = k;
        }
    }
};

// Forward at row stride 1 (or above 2) and column stride 2, row by row; row stride 2 goes through
// the plane loops below.
void stride2_window_sums(const float* x, const float* taps, float bias, const WindowGeometry& g,
                         const std::vector<Stride2Columns>& columns, float* y) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = _mm512_set1_ps(taps[t]);
    const __m512 b = _mm512_set1_ps(bias);
    const int64_t out_width = g.out[2], out_rows = g.out[1];
    const Stride2Columns* column_begin = columns.data();
    const int64_t column_count = static_cast<int64_t>(columns.size());
    const int64_t row_step = g.stride[1] * g.in[2];
    for (int64_t oh = 0; oh < out_rows; ++oh) {
        const SourceRows source(x, g, oh);
        float* y_row = y + oh * out_width;
        prefetch_ahead(x + oh * row_step, row_step);
        if (source.count == 3) {
            // Every filter row in the plane (all rows but the borders'): the taps' row indices
            // constant, so the nine weights stay in registers and the three sums unroll; the
            // loop below over a counted list of rows ran 1.15-1.25x slower on 112-wide planes.
            for (int64_t v = 0; v < column_count; ++v) {
                const Stride2Columns& c = column_begin[v];
                __m512 top, middle, bottom;
                if (c.interior) {
                    top = stride2_row_sum<false>(source.rows[0], w, c);
                    middle = stride2_row_sum<false>(source.rows[1], w + 3, c);
                    bottom = stride2_row_sum<false>(source.rows[2], w + 6, c);
                } else {
                    top = stride2_row_sum<true>(source.rows[0], w, c);
                    middle = stride2_row_sum<true>(source.rows[1], w + 3, c);
                    bottom = stride2_row_sum<true>(source.rows[2], w + 6, c);
                }
                const __m512 sum = _mm512_add_ps(_mm512_add_ps(b, top), _mm512_add_ps(middle, bottom));
                _mm512_mask_storeu_ps(y_row + v * 16, lanes_below(out_width - v * 16), sum);
            }
            continue;
        }
        for (int64_t v = 0; v < column_count; ++v) {
            const Stride2Columns& c = column_begin[v];
            // One sum per source row (shorter FMA chains), added to the total.
            __m512 sum = b;
            if (c.interior) {
                for (int64_t r = 0; r < source.count; ++r) {
                    sum = _mm512_add_ps(sum, stride2_row_sum<false>(source.rows[r], w + source.kh[r] * 3, c));
                }
            } else {
                for (int64_t r = 0; r < source.count; ++r) {
                    sum = _mm512_add_ps(sum, stride2_row_sum<true>(source.rows[r], w + source.kh[r] * 3, c));
                }
            }
            _mm512_mask_storeu_ps(y_row + v * 16, lanes_below(out_width - v * 16), sum);
        }
    }
}

// The output rows [first, last) of a stride-2 3 x 3 plane whose three source rows all lie inside
// it (the rows before and after read padding).
struct OutputRows {
    int64_t first, last;
};
inline OutputRows stride2_inner_rows(const WindowGeometry& g) {
    const int64_t pad = g.pad_begin[1], out_rows = g.out[1];
    const int64_t first = std::min(out_rows, (pad + 1) / 2);
    return {first, std::clamp((g.in[1] + pad - 3) / 2 + 1, first, out_rows)};
}

// stride2_window_sums at stride 2 x 2 on rows of one register of outputs (<= 16: 14 x 14 from
// 28 x 28, or from 27 x 27): the plane's rows in one loop of counted row pairs between its
// border rows, no list of source rows built per output row, and the plane prefetched at once
// (a 28 x 28 plane is 49 lines). Masked: c's lanes are not all full.
template <bool Masked>
void stride2_narrow_window_sums(const float* x, const float* taps, float bias, const WindowGeometry& g,
                                const Stride2Columns& c, float* y) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = _mm512_set1_ps(taps[t]);
    const __m512 b = _mm512_set1_ps(bias);
    const int64_t out_width = g.out[2], out_rows = g.out[1], in_width = g.in[2], in_rows = g.in[1];
    const int64_t pad = g.pad_begin[1];
    const __mmask16 out = lanes_below(out_width);
    prefetch_ahead(x, g.in_size());
    const OutputRows inner = stride2_inner_rows(g);
    const int64_t first = inner.first, last = inner.last;
    auto border_row = [&](int64_t oh) {
        __m512 sum = b;
        for (int64_t kh = 0; kh < 3; ++kh) {
            const int64_t ih = 2 * oh - pad + kh;
            if (ih >= 0 && ih < in_rows) sum = _mm512_add_ps(sum, stride2_row_sum<true>(x + ih * in_width, w + kh * 3, c));
        }
        _mm512_mask_storeu_ps(y + oh * out_width, out, sum);
    };
    for (int64_t oh = 0; oh < first; ++oh) border_row(oh);
    int64_t oh = first;
    for (; oh + 1 < last; oh += 2) {
        const float* rows[5];
        rows[0] = x + (2 * oh - pad) * in_width;
        for (int64_t r = 1; r < 5; ++r) rows[r] = rows[r - 1] + in_width;
        stride2_pair_store(stride2_row_pair_sums<Masked>(rows, w, b, c), stride2_last_column_sums(rows, w, c), out,
                           y + oh * out_width, out_width);
    }
    for (; oh < out_rows; ++oh) border_row(oh);
}

// The forward's loop over channels on rows of one register of outputs, out of line: inlined
// into the forward beside the other loops it ran 1.09x slower once the pair loops left the
// forward (dw192/2 @ 28, one thread).
template <bool Masked>
MLN_NOINLINE void stride2_narrow_forward(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                         const Stride2Columns& columns, int64_t channels, float* y) {
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    for (int64_t c = 0; c < channels; ++c) {
        stride2_narrow_window_sums<Masked>(x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, g,
                                           columns, y + c * out_size);
    }
}

// stride2_narrow_window_sums on rows of two or more registers of outputs, two source rows
// prefetched a pair as stride2_window_sums (dw96/2 @ 112 1.07-1.08x, dw144/2 @ 56 1.09-1.1x
// faster than stride2_window_sums at batch 1, one thread; for rows of one register this ran
// 1.2x slower than stride2_narrow_window_sums, whose masking is fixed at compile time).
void stride2_plane_window_sums(const float* x, const float* taps, float bias, const WindowGeometry& g,
                               const std::vector<Stride2Columns>& columns, float* y) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = _mm512_set1_ps(taps[t]);
    const __m512 b = _mm512_set1_ps(bias);
    const int64_t out_width = g.out[2], out_rows = g.out[1], in_width = g.in[2], in_rows = g.in[1];
    const int64_t pad = g.pad_begin[1];
    const Stride2Columns* column_begin = columns.data();
    const int64_t column_count = static_cast<int64_t>(columns.size());
    const OutputRows inner = stride2_inner_rows(g);
    const int64_t first = inner.first, last = inner.last;
    auto border_row = [&](int64_t oh) {
        for (int64_t v = 0; v < column_count; ++v) {
            __m512 sum = b;
            for (int64_t kh = 0; kh < 3; ++kh) {
                const int64_t ih = 2 * oh - pad + kh;
                if (ih < 0 || ih >= in_rows) continue;
                sum = _mm512_add_ps(sum, stride2_row_sum<true>(x + ih * in_width, w + kh * 3, column_begin[v]));
            }
            _mm512_mask_storeu_ps(y + oh * out_width + v * 16, lanes_below(out_width - v * 16), sum);
        }
    };
    for (int64_t oh = 0; oh < first; ++oh) border_row(oh);
    int64_t oh = first;
    for (; oh + 1 < last; oh += 2) {
        const float* rows[5];
        rows[0] = x + (2 * oh - pad) * in_width;
        for (int64_t r = 1; r < 5; ++r) rows[r] = rows[r - 1] + in_width;
        prefetch_ahead(x + 2 * oh * in_width, 4 * in_width);
        float* y_row = y + oh * out_width;
        auto pair_sums = [&](int64_t v) {
            const Stride2Columns& c = column_begin[v];
            // Each source row's line of the next register's second load fetched a register early:
            // without it dw96/2 @ 112 ran 1.15x slower at batch 1 and 32 (the 33rd column no
            // longer loaded from every row, which had touched the next register's first line).
            for (int64_t r = 0; r < 5; ++r) {
                _mm_prefetch(reinterpret_cast<const char*>(rows[r] + c.base + 48), _MM_HINT_T0);
            }
            if (c.interior) return stride2_row_pair_sums<false>(rows, w, b, c);
            return stride2_row_pair_sums<true>(rows, w, b, c);
        };
        // Register v stored once v + 1's evens are summed (its lane 0 is v's last tap 2).
        Stride2PairSums current = pair_sums(0);
        for (int64_t v = 1; v < column_count; ++v) {
            const Stride2PairSums next = pair_sums(v);
            stride2_pair_store(current, next, 0xFFFF, y_row + (v - 1) * 16, out_width);
            current = next;
        }
        const int64_t last = column_count - 1;
        stride2_pair_store(current, stride2_last_column_sums(rows, w, column_begin[last]),
                           lanes_below(out_width - last * 16), y_row + last * 16, out_width);
    }
    for (; oh < out_rows; ++oh) border_row(oh);
}

// acc[tap] += dy . taps (one source row's stride2_filter_taps, filter row acc[0..2]) for a
// register of dy; Masked: each product only on the lanes of `lanes` (a padding tap is left out,
// not multiplied by a zero).
template <bool Masked>
inline void stride2_tap_products(const RowTaps& t, const Stride2Dy& dy, const Stride2FilterLanes& lanes,
                                 __m512* acc) {
    for (int64_t kw = 0; kw < 3; ++kw) {
        const __m512 d = kw == 2 ? dy.shifted : dy.d;
        acc[kw] = Masked ? _mm512_mask3_fmadd_ps(t.t[kw], d, acc[kw], lanes.tap[kw]) : _mm512_fmadd_ps(t.t[kw], d, acc[kw]);
    }
}

// acc[tap] += dy . the source at the tap over one plane at stride 2 x 2, output rows outermost:
// the forward's even/odd split of 32 source columns per register of dy. Filter rows go in a
// loop of constant bounds (a missing one skipped), so the nine sums stay in registers: indexed
// by a row list's entries they went through memory and ran slower than the channel-blocked
// kernel. Splitting each source row once into even and odd columns (a per-thread buffer in L1,
// shared by the two output rows reading it; the taps then plain loads and one valignd) ran
// 1.35-1.5x slower (dw96/2 @ 112, one thread, batch 1, also with 4 channels in L2).
void stride2_filter_sums_by_rows(const float* x, const float* dy, const WindowGeometry& g,
                                 const std::vector<Stride2Columns>& columns,
                                 const std::vector<Stride2FilterLanes>& lanes, __m512* acc) {
    __m512 a[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) a[t] = acc[t];
    const int64_t out_width = g.out[2], out_rows = g.out[1];
    const int64_t column_count = static_cast<int64_t>(columns.size());
    for (int64_t oh = 0; oh < out_rows; ++oh) {
        const float* rows[3];
        for (int64_t kh = 0; kh < 3; ++kh) {
            const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh;
            rows[kh] = ih >= 0 && ih < g.in[1] ? x + ih * g.in[2] : nullptr;
        }
        const float* dy_row = dy + oh * out_width;
        prefetch_ahead(x + oh * g.stride[1] * g.in[2], g.stride[1] * g.in[2]);
        prefetch_ahead(dy_row, out_width);
        // dy a column earlier from this register and the previous one: one valignd (dw96/2 @ 112,
        // batch 32, from DRAM: within noise of the old taps), where a second load of dy as the
        // strips' ran 1.02-1.05x slower.
        __m512 previous = _mm512_setzero_ps();
        for (int64_t v = 0; v < column_count; ++v) {
            const Stride2Columns& c = columns[v];
            const Stride2FilterLanes& l = lanes[v];
            const float* d_at = dy_row + v * 16;
            Stride2Dy d;
            d.d = l.plain ? _mm512_loadu_ps(d_at) : _mm512_maskz_loadu_ps(l.d, d_at);
            d.shifted = _mm512_castsi512_ps(
                _mm512_alignr_epi32(_mm512_castps_si512(d.d), _mm512_castps_si512(previous), 15));
            previous = d.d;
            for (int64_t kh = 0; kh < 3; ++kh) {
                if (rows[kh] == nullptr) continue;
                if (l.plain) {
                    stride2_tap_products<false>(stride2_filter_taps<false>(rows[kh], c), d, l, a + kh * 3);
                } else {
                    stride2_tap_products<true>(stride2_filter_taps<true>(rows[kh], c), d, l, a + kh * 3);
                }
            }
        }
    }
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = a[t];
}

// Prefetches kPrefetchBytes ahead (about the same strip a band later) the lines a strip reads
// of the next two source rows (33 columns from column `base` of `row`, rows `width` apart) and
// its register of dy. Against the first strip of a band prefetching whole rows for the others (MobileNet-v2,
// one thread, same-process A/B both ways round): batch 1 dw96/2 @ 112 1.2-1.3x, dw144/2 @ 56
// 1.06-1.08x, dw192/2 @ 28 1.07-1.12x faster; batch 4 1.14-1.23x, 1.07x, 1.04x; batch 32 (56-
// and 28-wide) within 4%. Two lines a row (the ends of the 33 columns, missing a middle line)
// ran dw96/2 1.5x slower at batch 4.
inline void prefetch_strip_ahead(const float* row, int64_t base, int64_t width, const float* dy_row) {
    const int64_t row_bytes = width * static_cast<int64_t>(sizeof(float));
    // The offset added whole: base may be -1 (pad), row + base then before the tensor.
    const char* at = reinterpret_cast<const char*>(row) + (kPrefetchBytes + base * static_cast<int64_t>(sizeof(float)));
    // 33 columns (132 bytes) touch up to three lines, 16 dy floats up to two.
    for (int64_t r = 0; r < 2; ++r) {
        for (int64_t b = 0; b <= 128; b += 64) _mm_prefetch(at + r * row_bytes + b, _MM_HINT_T0);
    }
    const char* d = reinterpret_cast<const char*>(dy_row) + kPrefetchBytes;
    _mm_prefetch(d, _MM_HINT_T0);
    _mm_prefetch(d + 63, _MM_HINT_T0);
}

// acc[tap] += dy . the source at the tap over one column strip (register c of dy rows
// [oh_begin, oh_end)) at stride 2 x 2. Output row oh reads source rows 2 oh - pad + kh: its
// bottom row (kh 2) is the next output row's top (kh 0), so those taps are kept for it, and each
// source row is loaded and split once, not 1.5 times as when each output row loaded its three
// (stride2_filter_sums_by_rows):
// MobileNet-v2 shapes, one thread, batch 1, min CPU time per call, 1.25x faster from 28-wide
// planes, 1.15x from 56-wide.
//
// The masks and sums are local copies: taken through the references (a store through __m512*
// may alias anything, so the compiler could not keep them in registers) the masked strips ran
// 1.5-1.7x slower (MobileNet-v2 56- and 28-wide planes at stride 2, one thread, batch 1).
template <bool Masked>
void stride2_filter_strip(const float* x, const float* dy, const WindowGeometry& g, const Stride2Columns& columns,
                          const Stride2FilterLanes& filter_lanes, int64_t first_column, int64_t oh_begin,
                          int64_t oh_end, __m512* acc) {
    const Stride2Columns c = columns;
    const Stride2FilterLanes lanes = filter_lanes;
    __m512 a[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) a[t] = acc[t];
    const int64_t out_width = g.out[2], in_width = g.in[2], in_rows = g.in[1];
    const int64_t pad = g.pad_begin[1];
    RowTaps carried;
    bool have_carried = false;  // carried holds the taps of source row 2 oh - pad
    for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
        const int64_t top = 2 * oh - pad;
        const float* dy_row = dy + oh * out_width + first_column;
        prefetch_strip_ahead(x + (top + 1) * in_width, c.base, in_width, dy_row);
        const Stride2Dy d = stride2_filter_dy<Masked>(dy_row, lanes);
        if (top >= 0 && top < in_rows) {
            if (!have_carried) carried = stride2_filter_taps<Masked>(x + top * in_width, c);
            stride2_tap_products<Masked>(carried, d, lanes, a);
        }
        if (top + 1 >= 0 && top + 1 < in_rows) {
            stride2_tap_products<Masked>(stride2_filter_taps<Masked>(x + (top + 1) * in_width, c), d, lanes, a + 3);
        }
        have_carried = top + 2 >= 0 && top + 2 < in_rows;
        if (have_carried) {
            carried = stride2_filter_taps<Masked>(x + (top + 2) * in_width, c);
            stride2_tap_products<Masked>(carried, d, lanes, a + 6);
        }
    }
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = a[t];
}

// Planes up to this size go in bands of column strips (stride2_filter_strip), larger ones by
// rows when summed over more than kStride2FilterBandsMaxImages images: on 112-wide planes (50
// KiB) strips over the whole plane ran 1.2x slower than rows outermost; bands of 8 KiB of
// source rows 1.15-1.2x faster at batch 1 but 1.0-1.5x slower at batch 32 (from DRAM; one
// thread, interleaved min times, a loaded machine). Re-measured (dw96/2 @ 112, one thread,
// same-process A/B both ways round, a loaded machine where the same code differed by up to 20%
// between runs): bands 1.25-1.4x faster at batch 1, 0.97-1.17x at 4, 0.84-1.14x at 8.
constexpr int64_t kStride2FilterStripPlaneBytes = 16 << 10;
constexpr int64_t kStride2FilterBandsMaxImages = 4;
// Output rows a band of column strips covers: its source rows about 8 KiB, in L1 while every
// strip of the band reads them. Against strips over the whole plane on 56-wide planes (12.5
// KiB): 1.2-1.4x faster at batch 32, within noise at batch 1 (0.85-1.08x).
constexpr int64_t kStride2FilterBandBytes = 8 << 10;

// acc[2], acc[5], acc[8] (lane 0) += the last output column's tap 2 where the row's last register
// of outputs is full: its source column is the 33rd from that register's base, which
// stride2_filter_taps leaves to a next register.
void stride2_last_column_tap_sums(const float* x, const float* dy, const WindowGeometry& g, __m512* acc) {
    const int64_t out_width = g.out[2], in_width = g.in[2], column = 2 * out_width - g.pad_begin[2];
    if (out_width % 16 != 0 || column >= in_width) return;
    for (int64_t kh = 0; kh < 3; ++kh) {
        float sum = 0.0f;
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
            const int64_t ih = 2 * oh - g.pad_begin[1] + kh;
            if (ih >= 0 && ih < g.in[1]) sum += x[ih * in_width + column] * dy[oh * out_width + out_width - 1];
        }
        acc[kh * 3 + 2] = _mm512_add_ps(acc[kh * 3 + 2], _mm512_castps128_ps512(_mm_set_ss(sum)));
    }
}

// acc[tap] += dy . the source at the tap over one plane at stride 2 x 2: the forward's even/odd
// split of 32 source columns per register of dy, in bands of output rows, each band one column
// strip after another.
void stride2_filter_sums(const float* x, const float* dy, const WindowGeometry& g,
                         const std::vector<Stride2Columns>& columns, const std::vector<Stride2FilterLanes>& lanes,
                         int64_t images, __m512* acc) {
    stride2_last_column_tap_sums(x, dy, g, acc);
    if (images > kStride2FilterBandsMaxImages &&
        g.in_size() * static_cast<int64_t>(sizeof(float)) > kStride2FilterStripPlaneBytes) {
        return stride2_filter_sums_by_rows(x, dy, g, columns, lanes, acc);
    }
    const int64_t out_rows = g.out[1];
    const int64_t band =
        std::max<int64_t>(1, kStride2FilterBandBytes / (2 * g.in[2] * static_cast<int64_t>(sizeof(float))));
    // The nine sums stay in registers.
    __m512 a[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) a[t] = acc[t];
    const int64_t column_count = static_cast<int64_t>(columns.size());
    for (int64_t oh0 = 0; oh0 < out_rows; oh0 += band) {
        const int64_t oh1 = std::min(out_rows, oh0 + band);
        for (int64_t v = 0; v < column_count; ++v) {
            if (lanes[v].plain) {
                stride2_filter_strip<false>(x, dy, g, columns[v], lanes[v], v * 16, oh0, oh1, a);
            } else {
                stride2_filter_strip<true>(x, dy, g, columns[v], lanes[v], v * 16, oh0, oh1, a);
            }
        }
    }
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = a[t];
}

// ---- Rows of up to 16 source columns and 8 outputs (stride 1 or 2): two channels a register. ----

// A row of up to 8 outputs left half a register or more idle; two channels' rows share one:
// lanes 0-7 channel a, 8-15 channel b. A source row of each (<= 16 columns) loads whole into
// one register; tap kw of output lane i (half h) is source column stride i - pad + kw of the
// half's channel: index[kw] picks it from the two loads, tap[kw] holds the lanes where it lies
// in the row and i is an output. Against the flat plane at stride 1 on 7 x 7 planes (one thread,
// min CPU time): forward 1.12x, filter 1.17x faster at batch 1, filter 3x at batch 32.
struct PairColumns {
    __m512i index[3];
    __mmask16 tap[3];
    __mmask16 load;  // the source row's columns
    __mmask16 out;   // a row's outputs, lanes 0-7
    int64_t in_width, out_width;
    bool narrow;  // source rows of <= 8 columns
    // The first rows whose whole-vector load (source) or store (output) ends inside the plane.
    int64_t whole_load_rows, whole_store_rows;

    explicit PairColumns(const WindowGeometry& g) : in_width(g.in[2]), out_width(g.out[2]), narrow(g.in[2] <= 8) {
        load = lanes_below(in_width);
        out = lanes_below(out_width);
        whole_load_rows = rows_within(g.in_size(), in_width, narrow ? 8 : 16);
        whole_store_rows = rows_within(g.out_size(), out_width, 8);
        for (int64_t kw = 0; kw < 3; ++kw) {
            alignas(64) int32_t lanes[16];
            __mmask16 valid = 0;
            for (int64_t lane = 0; lane < 16; ++lane) {
                const int64_t half = lane / 8, i = lane % 8, column = g.stride[2] * i - g.pad_begin[2] + kw;
                const bool inside = i < out_width && column >= 0 && column < in_width;
                lanes[lane] = static_cast<int32_t>(inside ? half * 16 + column : 0);
                if (inside) valid = static_cast<__mmask16>(valid | (1u << lane));
            }
            index[kw] = _mm512_load_si512(lanes);
            tap[kw] = valid;
        }
    }

    // The rows r of a plane of `size` floats in rows of `width` where r * width + access <= size.
    static int64_t rows_within(int64_t size, int64_t width, int64_t access) {
        return size < access ? 0 : (size - access) / width + 1;
    }

    // A source row, a 256-bit load where it fits: on Zen 5 a 512-bit access spans two cache
    // lines wherever it does not start on one, whatever its mask (dw960 at 7 x 7: 1.05x faster).
    __m512 load_row(const float* row) const {
        if (narrow) return _mm512_zextps256_ps512(_mm256_maskz_loadu_ps(static_cast<__mmask8>(load), row));
        return _mm512_maskz_loadu_ps(load, row);
    }

    // A row's outputs of channel a (lanes 0-7) to ya and, when store_b, of b (8-15) to yb: two
    // 256-bit masked stores (against 512-bit ones, which always split across cache lines here:
    // dw960 at 7 x 7, one thread, 1.15x faster).
    void store_row(__m512 sum, float* ya, float* yb, bool store_b) const {
        _mm256_mask_storeu_ps(ya, static_cast<__mmask8>(out), _mm512_castps512_ps256(sum));
        if (store_b) _mm256_mask_storeu_ps(yb, static_cast<__mmask8>(out), _mm512_extractf32x8_ps(sum, 1));
    }

    // Whole-vector forms for accesses that end inside the plane (see row_window_sums_stride1:
    // masked accesses waited on lines from DRAM): the load reads the start of the next row,
    // which no tap picks; the stores run into the next row, stored after. At row stride 1
    // (dw960 @ 7, one thread, same-process A/B both ways round): batch 32 forward 1.3-1.65x,
    // backward data 1.5-1.7x faster; batch 1 forward 1.03x slower, backward data 1.1x faster.
    __m512 load_whole_row(const float* row) const {
        if (narrow) return _mm512_zextps256_ps512(_mm256_loadu_ps(row));
        return _mm512_loadu_ps(row);
    }
    void store_whole_row(__m512 sum, float* ya, float* yb, bool store_b) const {
        _mm256_storeu_ps(ya, _mm512_castps512_ps256(sum));
        if (store_b) _mm256_storeu_ps(yb, _mm512_extractf32x8_ps(sum, 1));
    }
    // Output row oh of the planes at ya and yb: whole where the store ends inside the plane.
    void store_output_row(__m512 sum, int64_t oh, float* ya, float* yb, bool store_b) const {
        if (oh < whole_store_rows) {
            store_whole_row(sum, ya + oh * out_width, yb + oh * out_width, store_b);
        } else {
            store_row(sum, ya + oh * out_width, yb + oh * out_width, store_b);
        }
    }
};

// prefetch_ahead of Lines lines from xa and from xb, one prefetch a line written out: the pair
// kernels' prefetch_ahead calls over a plane were deleted by GCC 12 as dead code while it was
// not inlined by force (no prefetch left in the binary); with these, dw576/2 @ 14 at batch 32
// (one thread, from DRAM) took 0.66-0.75x the time, batch 1 the same.
template <int Lines>
MLN_ALWAYS_INLINE void prefetch_pair_lines(const float* xa, const float* xb) {
    for (const float* x : {xa, xb}) {
        const char* ahead = reinterpret_cast<const char*>(x) + kPrefetchBytes;
        for (int line = 0; line < Lines; ++line) _mm_prefetch(ahead + 64 * line, _MM_HINT_T0);
    }
}

// A channel's value in lanes 0-7, the other's in 8-15.
inline __m512 pair_of(float a, float b) { return _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(a), _mm512_set1_ps(b)); }

// w[t] = pair_of(wa[t], wb[t]) for the nine taps, picked from one load of each filter.
MLN_ALWAYS_INLINE void pair_weights(const float* wa, const float* wb, __m512* w) {
    const __m512 a = _mm512_maskz_loadu_ps(0x01FF, wa), b = _mm512_maskz_loadu_ps(0x01FF, wb);
    __m512i pick = _mm512_set_epi32(16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int64_t t = 0; t < kTaps; ++t) {
        w[t] = _mm512_permutex2var_ps(a, pick, b);
        pick = _mm512_add_epi32(pick, _mm512_set1_epi32(1));
    }
}

// The source row of output row oh at filter row kh, or -1 outside the plane.
inline int64_t source_row(const WindowGeometry& g, int64_t oh, int64_t kh) {
    const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh;
    return ih >= 0 && ih < g.in[1] ? ih : -1;
}

// The three taps of a source row (of one channel, or of channels a and b in lanes 0-7, 8-15);
// valid: the row lies in the plane (else the taps are not read).
struct PlaneRowTaps {
    __m512 t[3];
    bool valid;
};

// The three source rows of output row oh at stride 1 (top: its first): the previous output
// row's last two move up and one row is loaded (all three for the first output row).
template <class LoadRow>
MLN_ALWAYS_INLINE void slide_source_rows(PlaneRowTaps (&rows)[3], int64_t oh, int64_t top, LoadRow&& load_row) {
    if (oh > 0) {
        rows[0] = rows[1];
        rows[1] = rows[2];
    } else {
        rows[0] = load_row(top);
        rows[1] = load_row(top + 1);
    }
    rows[2] = load_row(top + 2);
}

// sum + the products of the three filter rows w with their source rows' taps (rows outside the
// plane add nothing), each tap column masked to the outputs whose source column lies inside.
MLN_ALWAYS_INLINE __m512 add_filter_rows(const PlaneRowTaps (&rows)[3], const __m512* w,
                                                             const __mmask16* tap, __m512 sum) {
    for (int64_t kh = 0; kh < 3; ++kh) {
        if (!rows[kh].valid) continue;
        const __m512* t = rows[kh].t;
        __m512 row_sum = _mm512_maskz_mul_ps(tap[0], t[0], w[kh * 3]);
        row_sum = _mm512_mask3_fmadd_ps(t[1], w[kh * 3 + 1], row_sum, tap[1]);
        row_sum = _mm512_mask3_fmadd_ps(t[2], w[kh * 3 + 2], row_sum, tap[2]);
        sum = _mm512_add_ps(sum, row_sum);
    }
    return sum;
}

inline PlaneRowTaps pair_row_taps(const float* xa, const float* xb, const WindowGeometry& g, const PairColumns& c,
                                 int64_t ih) {
    PlaneRowTaps r;
    r.valid = ih >= 0 && ih < g.in[1];
    if (!r.valid) {
        for (int64_t kw = 0; kw < 3; ++kw) r.t[kw] = _mm512_setzero_ps();
        return r;
    }
    const bool whole = ih < c.whole_load_rows;
    const __m512 a = whole ? c.load_whole_row(xa + ih * c.in_width) : c.load_row(xa + ih * c.in_width);
    const __m512 b = whole ? c.load_whole_row(xb + ih * c.in_width) : c.load_row(xb + ih * c.in_width);
    for (int64_t kw = 0; kw < 3; ++kw) r.t[kw] = _mm512_permutex2var_ps(a, c.index[kw], b);
    return r;
}

// y of channels a and b (planes xa, xb; filters wa, wb): their window sums, two rows a register.
// store_b false: b is a stand-in (an odd last channel), its outputs not stored. At row stride 2
// two output rows a step where their five source rows lie inside, the one they share split
// once (dw576/2 at 14 x 14, one thread, min CPU time: 1.1x faster at batches 1 and 32).
void pair_window_sums(const float* xa, const float* xb, const float* wa, const float* wb, float bias_a, float bias_b,
                      const WindowGeometry& g, const PairColumns& c, float* ya, float* yb, bool store_b) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = pair_of(wa[t], wb[t]);
    const __m512 bias = pair_of(bias_a, bias_b);
    const int64_t row_step = g.stride[1] * c.in_width;
    // The taps of source row ih of both channels, and their sum with filter row kh.
    auto taps = [&](int64_t ih, __m512* t) {
        const __m512 a = c.load_row(xa + ih * c.in_width);
        const __m512 b = c.load_row(xb + ih * c.in_width);
        for (int64_t kw = 0; kw < 3; ++kw) t[kw] = _mm512_permutex2var_ps(a, c.index[kw], b);
    };
    auto row_sum = [&](const __m512* t, int64_t kh) {
        const __m512 sum = _mm512_maskz_mul_ps(c.tap[0], t[0], w[kh * 3]);
        return _mm512_mask3_fmadd_ps(t[2], w[kh * 3 + 2], _mm512_mask3_fmadd_ps(t[1], w[kh * 3 + 1], sum, c.tap[1]),
                                     c.tap[2]);
    };
    auto store = [&](int64_t oh, __m512 sum) { c.store_row(sum, ya + oh * c.out_width, yb + oh * c.out_width, store_b); };
    for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        const int64_t top = oh * g.stride[1] - g.pad_begin[1];
        if (g.stride[1] == 2 && top >= 0 && oh + 1 < g.out[1] && top + 4 < g.in[1]) {
            // Two output rows, all five source rows inside: the shared one (top + 2) split once.
            prefetch_ahead(xa + oh * row_step, 2 * row_step);
            prefetch_ahead(xb + oh * row_step, 2 * row_step);
            __m512 t[3], shared[3];
            taps(top + 2, shared);
            taps(top, t);
            __m512 first = _mm512_add_ps(bias, row_sum(t, 0));
            taps(top + 1, t);
            first = _mm512_add_ps(first, _mm512_add_ps(row_sum(t, 1), row_sum(shared, 2)));
            store(oh, first);
            taps(top + 3, t);
            __m512 second = _mm512_add_ps(_mm512_add_ps(bias, row_sum(shared, 0)), row_sum(t, 1));
            taps(top + 4, t);
            store(oh + 1, _mm512_add_ps(second, row_sum(t, 2)));
            ++oh;
            continue;
        }
        prefetch_ahead(xa + oh * row_step, row_step);
        prefetch_ahead(xb + oh * row_step, row_step);
        __m512 sum = bias;
        for (int64_t kh = 0; kh < 3; ++kh) {
            const int64_t ih = source_row(g, oh, kh);
            if (ih < 0) continue;
            const __m512 a = c.load_row(xa + ih * c.in_width);
            const __m512 b = c.load_row(xb + ih * c.in_width);
            __m512 row_sum = _mm512_maskz_mul_ps(c.tap[0], _mm512_permutex2var_ps(a, c.index[0], b), w[kh * 3]);
            row_sum = _mm512_mask3_fmadd_ps(_mm512_permutex2var_ps(a, c.index[1], b), w[kh * 3 + 1], row_sum, c.tap[1]);
            row_sum = _mm512_mask3_fmadd_ps(_mm512_permutex2var_ps(a, c.index[2], b), w[kh * 3 + 2], row_sum, c.tap[2]);
            sum = _mm512_add_ps(sum, row_sum);
        }
        c.store_row(sum, ya + oh * c.out_width, yb + oh * c.out_width, store_b);
    }
}

// pair_window_sums at row stride 1: an output row shares two source rows with the previous one,
// which keep their taps from it, so each row is loaded and permuted once, not three times
// (MobileNet-v2 dw960 at 7 x 7, one thread, min CPU time: 1.2x faster at batch 1, 1.05-1.25x
// at 32). At stride 2 carrying the one shared row ran 1.1x slower than pair_window_sums
// (dw576/2 at 14 x 14). Inlined into each caller (forward and backward data): called out of
// line from both, it ran 1.2-1.4x slower on dw960.
MLN_ALWAYS_INLINE void pair_window_sums_stride1(const float* xa, const float* xb, const float* wa, const float* wb, float bias_a,
                              float bias_b, const WindowGeometry& g, const PairColumns& c, float* ya, float* yb,
                              bool store_b) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = pair_of(wa[t], wb[t]);
    const __m512 bias = pair_of(bias_a, bias_b);
    PlaneRowTaps rows[3];
    // No prefetch: the planes' prefetched at once (a loop GCC 12 had deleted here as dead code
    // until prefetch_ahead was inlined by force) ran 1.02-1.05x slower on backward data dw960
    // at 7 x 7 (batches 1 and 32, one thread; 2 threads within noise), a prefetch a source row
    // 1.08x slower.
    for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        const int64_t top = oh - g.pad_begin[1];
        slide_source_rows(rows, oh, top, [&](int64_t ih) { return pair_row_taps(xa, xb, g, c, ih); });
        const __m512 sum = add_filter_rows(rows, w, c.tap, bias);
        c.store_output_row(sum, oh, ya, yb, store_b);
    }
}

// pair_window_sums_stride1 on source rows of <= 8 columns with pad 1 before them: channel a's
// source row loads as lanes 0-7 and b's as 8-15, which are the outputs' tap 1 as they stand;
// taps 0 and 2 (columns i - 1 and i + 1) are the same rows a lane over, so an output row sums
// the three rows' tap-0 and tap-2 products unshifted and shifts the two sums a lane: 2
// permutes an output row and an insert a source row (7 x 7: 14 permutes and 7 inserts a pair
// of planes, not 21 permutes).
MLN_ALWAYS_INLINE void pair_window_sums_stride1_narrow(const float* xa, const float* xb, const float* wa,
                                                       const float* wb, float bias_a, float bias_b,
                                                       const WindowGeometry& g, const PairColumns& c, float* ya,
                                                       float* yb, bool store_b) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = pair_of(wa[t], wb[t]);
    const __m512 bias = pair_of(bias_a, bias_b);
    // Lane i takes lane i - 1, and lane i + 1 (the lanes that cross a half are masked out).
    const __m512i previous_lane = _mm512_set_epi32(14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0);
    const __m512i next_lane = _mm512_set_epi32(15, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    const __mmask8 load = static_cast<__mmask8>(c.load);
    auto source_row = [&](int64_t ih) {
        PlaneRowTaps r{};
        r.valid = ih >= 0 && ih < g.in[1];
        if (!r.valid) return r;
        const float* at_a = xa + ih * c.in_width;
        const float* at_b = xb + ih * c.in_width;
        const bool whole = ih < c.whole_load_rows;
        const __m256 a = whole ? _mm256_loadu_ps(at_a) : _mm256_maskz_loadu_ps(load, at_a);
        const __m256 b = whole ? _mm256_loadu_ps(at_b) : _mm256_maskz_loadu_ps(load, at_b);
        r.t[1] = _mm512_insertf32x8(_mm512_castps256_ps512(a), b, 1);
        return r;
    };
    PlaneRowTaps rows[3];
    for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        const int64_t top = oh - g.pad_begin[1];
        slide_source_rows(rows, oh, top, source_row);
        __m512 sum = bias, first = _mm512_setzero_ps(), last = _mm512_setzero_ps();
        for (int64_t kh = 0; kh < 3; ++kh) {
            if (!rows[kh].valid) continue;
            sum = _mm512_mask3_fmadd_ps(rows[kh].t[1], w[kh * 3 + 1], sum, c.tap[1]);
            first = _mm512_fmadd_ps(rows[kh].t[1], w[kh * 3], first);
            last = _mm512_fmadd_ps(rows[kh].t[1], w[kh * 3 + 2], last);
        }
        sum = _mm512_mask_add_ps(sum, c.tap[0], sum, _mm512_permutexvar_ps(previous_lane, first));
        sum = _mm512_mask_add_ps(sum, c.tap[2], sum, _mm512_permutexvar_ps(next_lane, last));
        c.store_output_row(sum, oh, ya, yb, store_b);
    }
}

// pair_window_sums at stride 2 x 2 with an odd pad before the columns: output i's tap 0 is
// column 2i - pad, which tap 2 of output i - 1 picks, so the three source rows' tap-0 products
// come from their tap-2 picks, summed and shifted a lane once an output row; and an output row's
// last source row is the next one's first, whose picks it keeps: 2 permutes a source row and 1
// an output row (14 x 14 -> 7 x 7: 35 a pair of planes, not 51).
MLN_ALWAYS_INLINE void pair_stride2_window_sums(const float* xa, const float* xb, const float* wa, const float* wb,
                                                float bias_a, float bias_b, const WindowGeometry& g,
                                                const PairColumns& c, float* ya, float* yb, bool store_b) {
    __m512 w[kTaps];
    pair_weights(wa, wb, w);
    const __m512 bias = pair_of(bias_a, bias_b);
    // Lane i takes lane i - 1 (lanes 0 and 8, tap 0 at column -pad, are masked out).
    const __m512i previous_lane = _mm512_set_epi32(14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0);
    PlaneRowTaps rows[3];
    // Output row oh; Inside: its source rows lie in the plane and load whole, and its store is
    // whole (no checks in the loop over those rows: 1.1x faster on dw576/2 @ 14).
    auto output_row = [&](int64_t oh, auto inside) {
        constexpr bool kInside = decltype(inside)::value;
        auto taps = [&](int64_t ih) {
            if constexpr (!kInside) return pair_row_taps(xa, xb, g, c, ih);
            const __m512 a = c.load_whole_row(xa + ih * c.in_width), b = c.load_whole_row(xb + ih * c.in_width);
            const __m512 last = _mm512_permutex2var_ps(a, c.index[2], b);
            return PlaneRowTaps{{last, _mm512_permutex2var_ps(a, c.index[1], b), last}, true};
        };
        const int64_t top = 2 * oh - g.pad_begin[1];
        prefetch_pair_lines<2>(xa + top * c.in_width, xb + top * c.in_width);
        rows[0] = oh > 0 ? rows[2] : taps(top);
        rows[1] = taps(top + 1);
        rows[2] = taps(top + 2);
        __m512 middle = bias, last = _mm512_setzero_ps(), first = _mm512_setzero_ps();
        for (int64_t kh = 0; kh < 3; ++kh) {
            if (!kInside && !rows[kh].valid) continue;
            middle = _mm512_mask3_fmadd_ps(rows[kh].t[1], w[kh * 3 + 1], middle, c.tap[1]);
            last = _mm512_mask3_fmadd_ps(rows[kh].t[2], w[kh * 3 + 2], last, c.tap[2]);
            first = _mm512_fmadd_ps(rows[kh].t[2], w[kh * 3], first);
        }
        __m512 sum = _mm512_add_ps(middle, last);
        sum = _mm512_mask_add_ps(sum, c.tap[0], sum, _mm512_permutexvar_ps(previous_lane, first));
        if constexpr (kInside) {
            c.store_whole_row(sum, ya + oh * c.out_width, yb + oh * c.out_width, store_b);
        } else {
            c.store_output_row(sum, oh, ya, yb, store_b);
        }
    };
    // Output rows from inside_begin read from source row 0 on; to inside_end, rows that load
    // and store whole (top + 2 < whole_load_rows).
    const int64_t inside_begin = std::min(g.out[1], (g.pad_begin[1] + 1) / 2);
    const int64_t inside_end =
        std::max(inside_begin, std::min({g.out[1], c.whole_store_rows, (c.whole_load_rows + g.pad_begin[1] - 1) / 2}));
    int64_t oh = 0;
    for (; oh < inside_begin; ++oh) output_row(oh, std::false_type{});
    for (; oh < inside_end; ++oh) output_row(oh, std::true_type{});
    for (; oh < g.out[1]; ++oh) output_row(oh, std::false_type{});
}

// Stride 1 on rows of 9 to 16 source columns and outputs (14 x 14 planes): one output row a
// register, each source row loaded once and its three taps picked by permutes (index[kw]: lane
// i takes column i - pad + kw; tap[kw]: the lanes where that lies in the row and i is an
// output), kept for the next two output rows, as pair_window_sums_stride1 with one channel:
// a third of the flat plane's loads and a third of its shuffles (MobileNet-v2 dw384 and dw576
// at 14 x 14, one thread, same-process A/B both ways round: forward and backward data
// 1.4-1.55x faster at batch 1, 1.3-1.45x at batch 32).
struct RowColumns {
    __m512i index[3];
    __mmask16 tap[3];
    __mmask16 load, out;
    int64_t in_width, out_width;

    explicit RowColumns(const WindowGeometry& g) : in_width(g.in[2]), out_width(g.out[2]) {
        load = lanes_below(in_width);
        out = lanes_below(out_width);
        for (int64_t kw = 0; kw < 3; ++kw) {
            alignas(64) int32_t lanes[16];
            __mmask16 valid = 0;
            for (int64_t i = 0; i < 16; ++i) {
                const int64_t column = i - g.pad_begin[2] + kw;
                const bool inside = i < out_width && column >= 0 && column < in_width;
                lanes[i] = static_cast<int32_t>(inside ? column : 0);
                if (inside) valid = static_cast<__mmask16>(valid | (1u << i));
            }
            index[kw] = _mm512_load_si512(lanes);
            tap[kw] = valid;
        }
    }
};

bool rows_fit(const WindowGeometry& g) {
    return g.stride[1] == 1 && g.stride[2] == 1 && g.in[2] <= 16 && g.out[2] <= 16;
}

// y (out rows x out_width) = bias + the window sums of x with taps, one output row a register.
// Rows load and store 16 floats whole but the plane's last: a row's load reads the start of
// the next row (taps never pick those lanes), a row's store runs into the next row, whose own
// store follows. Masked loads and stores ran 2.3x slower at batch 32 (dw576 @ 14, one thread:
// from DRAM, the masked accesses waited on each line; prefetching the planes ahead, x for
// reading and y for writing, did not help and measured within noise with whole accesses).
MLN_ALWAYS_INLINE void row_window_sums_stride1(const float* x, const float* taps, float bias,
                                                                   const WindowGeometry& g, const RowColumns& c,
                                                                   float* y) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = _mm512_set1_ps(taps[t]);
    const __m512 b = _mm512_set1_ps(bias);
    const int64_t in_rows = g.in[1];
    auto row_taps = [&](int64_t ih) {
        PlaneRowTaps r;
        r.valid = ih >= 0 && ih < in_rows;
        if (!r.valid) {
            for (int64_t kw = 0; kw < 3; ++kw) r.t[kw] = _mm512_setzero_ps();
            return r;
        }
        const float* at = x + ih * c.in_width;
        const __m512 row = ih + 1 < in_rows ? _mm512_loadu_ps(at) : _mm512_maskz_loadu_ps(c.load, at);
        for (int64_t kw = 0; kw < 3; ++kw) r.t[kw] = _mm512_permutexvar_ps(c.index[kw], row);
        return r;
    };
    PlaneRowTaps rows[3];
    for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        const int64_t top = oh - g.pad_begin[1];
        slide_source_rows(rows, oh, top, row_taps);
        const __m512 sum = add_filter_rows(rows, w, c.tap, b);
        if (oh + 1 < g.out[1]) {
            _mm512_storeu_ps(y + oh * c.out_width, sum);
        } else {
            _mm512_mask_storeu_ps(y + oh * c.out_width, c.out, sum);
        }
    }
}

// A pair kernel (pair_window_sums and its forms) as a type, so that pairs_forward inlines it.
template <auto kernel>
struct PairKernel {
    MLN_ALWAYS_INLINE void operator()(const float* xa, const float* xb, const float* wa, const float* wb, float bias_a,
                                      float bias_b, const WindowGeometry& g, const PairColumns& c, float* ya,
                                      float* yb, bool store_b) const {
        kernel(xa, xb, wa, wb, bias_a, bias_b, g, c, ya, yb, store_b);
    }
};

// The forward's loop over pairs of channels (an odd last channel paired with itself, its
// stand-in's outputs not stored), one instance a pair kernel, none inlined into the forward:
// beside each other there, the stride-2 kernel's registers spilled the stride-1 one's masks and
// indices to the stack (dw960 @ 7, one thread: 1.4x slower).
template <typename Kernel>
MLN_NOINLINE void pairs_forward(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                int64_t channels, float* y, Kernel kernel) {
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    const PairColumns columns(g);
    for (int64_t a = 0; a < channels; a += 2) {
        const int64_t b = std::min(a + 1, channels - 1);
        const float bias_a = bias != nullptr ? bias[a] : 0.0f, bias_b = bias != nullptr ? bias[b] : 0.0f;
        kernel(x + a * in_size, x + b * in_size, w + a * kTaps, w + b * kTaps, bias_a, bias_b, g, columns,
               y + a * out_size, y + b * out_size, b != a);
    }
}

// The forward's and backward data's loops over channels, not inlined into their kernels:
// inlined there (beside the pairs' loops), dw384 and dw576 @ 14 ran 1.4-1.5x slower (register
// allocation: the backward data's depended on the pairs' code beside it).
MLN_NOINLINE void rows_forward(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                            int64_t channels, float* y) {
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    const RowColumns columns(g);
    for (int64_t c = 0; c < channels; ++c) {
        row_window_sums_stride1(x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, g, columns,
                                y + c * out_size);
    }
}

// transposed: the forward geometry of the stride-1 backward data (dy the source, dx the output).
MLN_NOINLINE void rows_backward_data(const float* dy, const float* w, const WindowGeometry& transposed,
                                                  int64_t channels, float* dx) {
    const int64_t dy_size = transposed.in_size(), dx_size = transposed.out_size();
    const RowColumns columns(transposed);
    float flipped[kTaps];
    for (int64_t c = 0; c < channels; ++c) {
        for (int64_t t = 0; t < kTaps; ++t) flipped[t] = w[c * kTaps + kTaps - 1 - t];
        row_window_sums_stride1(dy + c * dy_size, flipped, 0.0f, transposed, columns, dx + c * dx_size);
    }
}

// acc[tap] += dy . the source at the tap over the planes of channels a (lanes 0-7) and b (8-15).
void pair_filter_sums(const float* xa, const float* xb, const float* dya, const float* dyb, const WindowGeometry& g,
                      const PairColumns& c, __m512* acc) {
    __m512 s[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) s[t] = acc[t];
    const __mmask8 out = static_cast<__mmask8>(c.out);
    const int64_t row_step = g.stride[1] * c.in_width;
    // At row stride 2 an output row's bottom source row is the next one's top: its taps are kept,
    // not loaded and permuted again (dw576/2 @ 14, one thread, same-process A/B: batch 2
    // 1.01-1.07x faster both ways round, batch 32 1.04-1.13x, batch 8 within noise; same bits).
    __m512 carried[3];
    int64_t carried_row = -1;
    for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        prefetch_ahead(xa + oh * row_step, row_step);
        prefetch_ahead(xb + oh * row_step, row_step);
        prefetch_ahead(dya + oh * c.out_width, c.out_width);
        const __m256 d_a = _mm256_maskz_loadu_ps(out, dya + oh * c.out_width);
        const __m256 d_b = _mm256_maskz_loadu_ps(out, dyb + oh * c.out_width);
        const __m512 d = _mm512_insertf32x8(_mm512_castps256_ps512(d_a), d_b, 1);
        for (int64_t kh = 0; kh < 3; ++kh) {
            const int64_t ih = source_row(g, oh, kh);
            if (ih < 0) continue;
            __m512 t[3];
            if (kh == 0 && ih == carried_row) {
                for (int64_t kw = 0; kw < 3; ++kw) t[kw] = carried[kw];
            } else {
                const __m512 a = _mm512_maskz_loadu_ps(c.load, xa + ih * c.in_width);
                const __m512 b = _mm512_maskz_loadu_ps(c.load, xb + ih * c.in_width);
                for (int64_t kw = 0; kw < 3; ++kw) t[kw] = _mm512_permutex2var_ps(a, c.index[kw], b);
            }
            for (int64_t kw = 0; kw < 3; ++kw) {
                s[kh * 3 + kw] = _mm512_mask3_fmadd_ps(t[kw], d, s[kh * 3 + kw], c.tap[kw]);
            }
            if (kh == 2) {
                for (int64_t kw = 0; kw < 3; ++kw) carried[kw] = t[kw];
                carried_row = ih;
            }
        }
    }
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = s[t];
}

// Backward data at stride 2 x 2: dx column j takes tap kw from dy column (j + pad - kw) / 2
// where that is whole. Of 32 dx columns from j0 (even), the even ones (lane i: j0 + 2 i) take
// the taps with kw = pad mod 2, the odd ones the others. Odd pad: kw 1 makes the even columns
// from dy column j0 / 2 + i + base (base = (pad - 1) / 2), kw 2 the odd ones from the same
// column and kw 0 from the next (far = +1). Even pad: kw 0 the even ones from j0 / 2 + i + base
// (base = pad / 2) and kw 2 from the previous (far = -1), kw 1 the odd ones from the same. So
// two shifted loads of a dy row serve all three taps; the even and odd registers are then
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
    auto fma = [](__m512 x, __m512 wk, __m512 acc, __mmask16 m) {
        return Masked ? _mm512_mask3_fmadd_ps(x, wk, acc, m) : _mm512_fmadd_ps(x, wk, acc);
    };
    if constexpr (OddPad) {
        even = fma(v.near_v, rw.w[1], even, c.near);
        odd = fma(v.far_v, rw.w[0], fma(v.near_v, rw.w[2], odd, c.near), c.far);
    } else {
        even = fma(v.far_v, rw.w[2], fma(v.near_v, rw.w[0], even, c.near), c.far);
        odd = fma(v.near_v, rw.w[1], odd, c.near);
    }
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
    const int64_t pad_h = g.pad_begin[1];
    const int64_t dy_width = g.out[2], dx_width = g.in[2], dy_rows = g.out[1], dx_rows = g.in[1];
    // The dy row of dx row i at filter row kh, or nullptr.
    auto dy_row = [&](int64_t i, int64_t kh) -> const float* {
        const int64_t t = i + pad_h - kh;
        return t >= 0 && t % 2 == 0 && t / 2 < dy_rows ? dy + t / 2 * dy_width : nullptr;
    };
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
void pair_stride2_backward_data(const float* dya, const float* dyb, const float* wa, const float* wb,
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

bool is_flat(const WindowGeometry& g) { return g.stride[1] == 1 && g.stride[2] == 1 && g.out[2] == g.in[2]; }

// filter_sums_by_channel_groups for pair_filter_sums: a group's 8 pairs summed over every
// image, then each pair's halves split into two channels' registers for the reduction.
void pair_filter_sums_by_channel_groups(const float* x, const float* dy, const FilterSumsLayout& l, int64_t channels,
                                        int64_t images, const WindowGeometry& g, float* dw) {
    constexpr int64_t kGroup = 16, kPairs = kGroup / 2;
    const PairColumns columns(g);
    alignas(64) __m512 acc[kPairs][kTaps];
    for (int64_t c0 = 0; c0 < channels; c0 += kGroup) {
        const int64_t group = std::min(kGroup, channels - c0);
        for (int64_t k = 0; k < kPairs; ++k) {
            for (int64_t t = 0; t < kTaps; ++t) acc[k][t] = _mm512_setzero_ps();
        }
        for (int64_t n = 0; n < images; ++n) {
            const float* x_image = x + n * l.x_image_stride + c0 * l.in_size;
            const float* dy_image = dy + n * l.dy_image_stride + c0 * l.out_size;
            for (int64_t k = 0; 2 * k < group; ++k) {
                const int64_t a = 2 * k, b = std::min(a + 1, group - 1);  // an odd last channel paired with itself
                pair_filter_sums(x_image + a * l.in_size, x_image + b * l.in_size, dy_image + a * l.out_size,
                                 dy_image + b * l.out_size, g, columns, acc[k]);
            }
        }
        __m512 sums[kTaps];
        for (int64_t t = 0; t < kTaps; ++t) {
            __m512 lanes[kGroup];
            for (int64_t k = 0; k < kPairs; ++k) {
                lanes[2 * k] = _mm512_maskz_mov_ps(0x00FF, acc[k][t]);
                lanes[2 * k + 1] = _mm512_maskz_mov_ps(0xFF00, acc[k][t]);
            }
            sums[t] = sum_across_lanes16(lanes);
        }
        store_tap_sums(sums, group, dw + c0 * kTaps);
    }
}

}  // namespace

void conv_depthwise_3x3_forward_avx512(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                       int64_t channels, float* y) {
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    if (out_size == 0) return;
    if (depthwise_3x3_pairs_fit(g)) {
        if (g.stride[1] == 1 && g.stride[2] == 1 && g.in[2] <= 8 && g.pad_begin[2] == 1) {
            return pairs_forward(x, w, bias, g, channels, y, PairKernel<pair_window_sums_stride1_narrow>{});
        }
        if (g.stride[1] == 1) return pairs_forward(x, w, bias, g, channels, y, PairKernel<pair_window_sums_stride1>{});
        if (g.stride[1] == 2 && g.stride[2] == 2 && g.pad_begin[2] % 2 == 1) {
            return pairs_forward(x, w, bias, g, channels, y, PairKernel<pair_stride2_window_sums>{});
        }
        return pairs_forward(x, w, bias, g, channels, y, PairKernel<pair_window_sums>{});
    }
    if (is_flat(g) && rows_fit(g)) return rows_forward(x, w, bias, g, channels, y);
    if (is_flat(g)) {
        const FlatPlane f(g.in[2], g.in[1], g.out[1], g.pad_begin[1], g.pad_begin[2], t_flat_masks);
        for (int64_t c = 0; c < channels; ++c) {
            flat_window_sums(x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, f, y + c * out_size);
        }
        return;
    }
    const std::vector<Stride2Columns>& columns = stride2_columns(g.out[2], g.in[2], g.pad_begin[2]);
    if (g.stride[1] == 2 && columns.size() == 1) {
        if (columns[0].interior) return stride2_narrow_forward<false>(x, w, bias, g, columns[0], channels, y);
        return stride2_narrow_forward<true>(x, w, bias, g, columns[0], channels, y);
    }
    if (g.stride[1] == 2) {
        for (int64_t c = 0; c < channels; ++c) {
            stride2_plane_window_sums(x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, g, columns,
                                      y + c * out_size);
        }
        return;
    }
    for (int64_t c = 0; c < channels; ++c) {
        stride2_window_sums(x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, g, columns,
                            y + c * out_size);
    }
}

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
            const PairColumns columns(transposed);
            float flipped[2][kTaps];
            for (int64_t a = 0; a < channels; a += 2) {
                const int64_t b = std::min(a + 1, channels - 1);  // an odd last channel paired with itself
                for (int64_t t = 0; t < kTaps; ++t) {
                    flipped[0][t] = w[a * kTaps + kTaps - 1 - t];
                    flipped[1][t] = w[b * kTaps + kTaps - 1 - t];
                }
                pair_window_sums_stride1(dy + a * out_size, dy + b * out_size, flipped[0], flipped[1], 0.0f, 0.0f,
                                         transposed, columns, dx + a * in_size, dx + b * in_size, b != a);
            }
            return;
        }
        if (rows_fit(transposed)) return rows_backward_data(dy, w, transposed, channels, dx);
        float flipped[kTaps];
        const FlatPlane f(g.in[2], g.out[1], g.in[1], 2 - g.pad_begin[1], 2 - g.pad_begin[2], t_flat_masks);
        for (int64_t c = 0; c < channels; ++c) {
            for (int64_t t = 0; t < kTaps; ++t) flipped[t] = w[c * kTaps + kTaps - 1 - t];
            flat_window_sums(dy + c * out_size, flipped, 0.0f, f, dx + c * in_size);
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

void conv_depthwise_3x3_backward_filter_avx512(const float* x, const float* dy, const WindowGeometry& g,
                                               int64_t channels, int64_t images, int64_t x_image_stride,
                                               int64_t dy_image_stride, float* dw) {
    const FilterSumsLayout layout{g.in_size(), g.out_size(), x_image_stride, dy_image_stride};
    if (depthwise_filter::channel_minor_filter_fits(g, images)) {
        return depthwise_filter::channel_minor_filter_sums_avx512(x, dy, g, layout, channels, images, dw);
    }
    if (depthwise_3x3_pairs_fit(g)) return pair_filter_sums_by_channel_groups(x, dy, layout, channels, images, g, dw);
    if (is_flat(g)) return depthwise_filter::flat_filter_sums_avx512(x, dy, g, layout, channels, images, dw);
    const std::vector<Stride2Columns>& columns = stride2_columns(g.out[2], g.in[2], g.pad_begin[2]);
    const std::vector<Stride2FilterLanes>& lanes = stride2_filter_lanes(columns, g.out[2], g.in[2]);
    filter_sums_by_channel_groups(x, dy, layout, channels, images, dw, [&](const float* xc, const float* dyc, __m512* acc) {
        stride2_filter_sums(xc, dyc, g, columns, lanes, images, acc);
    });
}

}  // namespace mln::kernels
