// Compiled with AVX-512: the forward of the NCHW 3 x 3 depthwise kernels (conv_depthwise_3x3.hpp;
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

namespace mln::kernels {
namespace {

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

// The forward's taps: stride2_window_loads's 32 columns, the lone 33rd a scalar load where it
// lies in the row, not a one-lane masked vector load: MobileNet-v2 dw96/2 at 112, dw144/2 at 56
// and dw192/2 at 28, one thread, same-process min times, 1.05-1.1x faster at batch 1, 1.1x at
// batch 32 (dw192/2 the same). Unmasked border loads where the columns lie in the plane (the
// sums' masks leaving the other rows' out) gained a little more at batch 1 but ran dw96/2 1.13x
// slower at batch 32. Row pairs take stride2_row_pair_sums.
template <bool Masked>
inline RowTaps stride2_forward_taps(const float* row, const Stride2Columns& c) {
    const float* at = row + c.base;
    __m512 a0, a1;
    stride2_window_loads<Masked>(at, c, a0, a1);
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

// A source row's 33 columns from c.base (its window) where the row lies outside the plane.
alignas(64) constexpr float kZeroWindow[48] = {};

// Output rows oh and oh + 1 of one register of outputs, windows[0..4] those of source rows
// 2 oh - pad on (window 2 the bottom of the first row and the top of the second, split once for
// both): sum the sums over taps 0 and 1 with the bias, evens the sums over tap 2 of the even
// columns, lane j output j - 1's tap 2 (the same trick as the filter's stride2_filter_taps): the
// three rows' tap 2 summed first and shifted a lane once (stride2_pair_store), not each source
// row shifted.
struct Stride2PairSums {
    __m512 sum[2], evens[2];
};

template <bool Masked>
inline Stride2PairSums stride2_row_pair_sums(const float* const* windows, const __m512* w, __m512 b,
                                             const Stride2Columns& c) {
    __m512 even[5], odd[5];
    for (int64_t r = 0; r < 5; ++r) stride2_window_even_odd<Masked>(windows[r], c, even[r], odd[r]);
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
inline Stride2PairSums stride2_last_column_sums(const float* const* windows, const __m512* w, const Stride2Columns& c) {
    Stride2PairSums s{};
    if (c.load[2] == 0) return s;
    __m512 column[5];
    for (int64_t r = 0; r < 5; ++r) column[r] = _mm512_castps128_ps512(_mm_load_ss(windows[r] + 32));
    for (int64_t o = 0; o < 2; ++o) {
        const __m512* k = column + 2 * o;
        s.evens[o] = _mm512_fmadd_ps(k[2], w[8], _mm512_fmadd_ps(k[1], w[5], _mm512_mul_ps(k[0], w[2])));
    }
    return s;
}

// Stores the first `rows` (1 or 2) of a row pair's register: its sums plus its evens moved down
// a lane, lane 15 from the next register's (or the 33rd column's) lane 0.
inline void stride2_pair_store(const Stride2PairSums& s, const Stride2PairSums& next, __mmask16 out, float* upper,
                               int64_t out_width, int64_t rows = 2) {
    for (int64_t o = 0; o < rows; ++o) {
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
// 28 x 28, or from 27 x 27): every output row in row pairs, the source rows outside the plane
// read as zeros (kZeroWindow), the four rows a pair advances prefetched with it. Against border
// rows summed a source row at a time, the rows between in pairs and the plane prefetched at
// once (49 prefetches in a row for 28 x 28): dw192/2 @ 28 0.70-0.87x the time at batch 1 (one
// thread, same-process A/B), the same at batch 32. Masked: c's lanes are not all full.
template <bool Masked>
void stride2_narrow_window_sums(const float* x, const float* taps, float bias, const WindowGeometry& g,
                                const Stride2Columns& c, float* y) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = _mm512_set1_ps(taps[t]);
    const __m512 b = _mm512_set1_ps(bias);
    const int64_t out_width = g.out[2], out_rows = g.out[1], in_width = g.in[2], in_rows = g.in[1];
    const int64_t pad = g.pad_begin[1];
    const __mmask16 out = lanes_below(out_width);
    // Output rows oh and oh + 1 (the first alone where oh + 1 is past the plane); Inside: their
    // five source rows lie in the plane. LastColumn: c reads a 33rd column (c.load[2]).
    auto row_pair = [&](int64_t oh, auto inside, auto last_column) {
        const int64_t top = 2 * oh - pad;
        prefetch_ahead(x + 2 * oh * in_width, 4 * in_width);
        const float* windows[5];
        for (int64_t r = 0; r < 5; ++r) {
            const int64_t ih = top + r;
            windows[r] = decltype(inside)::value || (ih >= 0 && ih < in_rows) ? x + ih * in_width + c.base : kZeroWindow;
        }
        Stride2PairSums next{};
        if constexpr (decltype(last_column)::value) next = stride2_last_column_sums(windows, w, c);
        stride2_pair_store(stride2_row_pair_sums<Masked>(windows, w, b, c), next, out, y + oh * out_width, out_width,
                           decltype(inside)::value ? 2 : std::min<int64_t>(2, out_rows - oh));
    };
    auto plane = [&](auto last_column) {
        int64_t oh = 0;
        for (; oh < out_rows && 2 * oh < pad; oh += 2) row_pair(oh, std::false_type{}, last_column);
        for (; oh + 1 < out_rows && 2 * oh - pad + 4 < in_rows; oh += 2) row_pair(oh, std::true_type{}, last_column);
        for (; oh < out_rows; oh += 2) row_pair(oh, std::false_type{}, last_column);
    };
    if (c.load[2] != 0) {
        plane(std::true_type{});
    } else {
        plane(std::false_type{});
    }
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
// Tried on Zen 5 (conv_vs_build against main both ways round, 2026-12-07): at pad 1, windows
// from column 32 v (tap 1 the even columns, tap 2 the odd ones, tap 0 the odd sums moved up a
// lane from the previous register's, no 33rd column): dw96/2 @ 112 batch 1 0.88-0.95x the time,
// batch 32 (one and two threads) 1.06-1.13x, dw144/2 even. Unmasked loads for the registers at
// the row's ends (tap 0 masked in the FMAs instead): 1.05-1.11x at batch 1 (a 512-bit load from
// 4 bytes before a line spans two; masked with lane 0 off it does not). y's two rows prefetched
// for writing 2 KiB ahead each pair: batch 32 0.95-0.97x, batch 1 1.03-1.05x. The border rows in
// pairs too, from kZeroWindow (as stride2_narrow_window_sums): within noise (0.96-1.02x).
// kRegisters: columns.size() where fixed at compile time, else 0.
template <int64_t kRegisters>
void stride2_plane_window_sums(const float* x, const float* taps, float bias, const WindowGeometry& g,
                               const std::vector<Stride2Columns>& columns, float* y) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = _mm512_set1_ps(taps[t]);
    const __m512 b = _mm512_set1_ps(bias);
    const int64_t out_width = g.out[2], out_rows = g.out[1], in_width = g.in[2], in_rows = g.in[1];
    const int64_t pad = g.pad_begin[1];
    const Stride2Columns* column_begin = columns.data();
    const int64_t column_count = kRegisters > 0 ? kRegisters : static_cast<int64_t>(columns.size());
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
        auto windows_of = [&](const Stride2Columns& c, const float** windows) {
            for (int64_t r = 0; r < 5; ++r) windows[r] = rows[r] + c.base;
        };
        auto pair_sums = [&](int64_t v) {
            const Stride2Columns& c = column_begin[v];
            const float* windows[5];
            windows_of(c, windows);
            // Each source row's line of the next register's second load fetched a register early:
            // without it dw96/2 @ 112 ran 1.15x slower at batch 1 and 32 (the 33rd column no
            // longer loaded from every row, which had touched the next register's first line);
            // on Zen 5 its removal measured within noise (0.95-1.07x, batches 1 and 32).
            for (int64_t r = 0; r < 5; ++r) {
                _mm_prefetch(reinterpret_cast<const char*>(rows[r] + c.base + 48), _MM_HINT_T0);
            }
            if (c.interior) return stride2_row_pair_sums<false>(windows, w, b, c);
            return stride2_row_pair_sums<true>(windows, w, b, c);
        };
        // Register v stored once v + 1's evens are summed (its lane 0 is v's last tap 2).
        Stride2PairSums current = pair_sums(0);
        for (int64_t v = 1; v < column_count; ++v) {
            const Stride2PairSums next = pair_sums(v);
            stride2_pair_store(current, next, 0xFFFF, y_row + (v - 1) * 16, out_width);
            current = next;
        }
        const int64_t last = column_count - 1;
        const float* windows[5];
        windows_of(column_begin[last], windows);
        stride2_pair_store(current, stride2_last_column_sums(windows, w, column_begin[last]),
                           lanes_below(out_width - last * 16), y_row + last * 16, out_width);
    }
    for (; oh < out_rows; ++oh) border_row(oh);
}

// prefetch_ahead of Lines lines from xa and from xb, one prefetch a line written out: the pair
// kernels' prefetch_ahead calls over a plane were deleted by GCC 12 as dead code while it was
// not inlined by force (no prefetch left in the binary); with these, dw576/2 @ 14 at batch 32
// (one thread, from DRAM) took 0.66-0.75x the time, batch 1 the same. At two threads (Zen 5,
// conv_vs_build against main, 2026-12-07) none cost 1.42-1.57x; 4 or 6 KiB ahead in place of
// kPrefetchBytes measured within noise (0.97-1.02x), 16 KiB 1.03-1.09x, prefetcht1 1.06-1.16x
// (batch 1 1.23x).
template <int Lines>
MLN_ALWAYS_INLINE void prefetch_pair_lines(const float* xa, const float* xb) {
    for (const float* x : {xa, xb}) {
        const char* ahead = reinterpret_cast<const char*>(x) + kPrefetchBytes;
        for (int line = 0; line < Lines; ++line) _mm_prefetch(ahead + 64 * line, _MM_HINT_T0);
    }
}

// w[t] = pair_of(wa[t], wb[t]) for the nine taps, picked from one load of each filter.
MLN_ALWAYS_INLINE void pair_weights(const float* wa, const float* wb, __m512* w) {
    const __m512 a = _mm512_maskz_loadu_ps(0x01FF, wa), b = _mm512_maskz_loadu_ps(0x01FF, wb);
    __m512i pick = _mm512_set_epi32(16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int64_t t = 0; t < kTaps; ++t) {
        w[t] = _mm512_permutex2var_ps(a, pick, b);
        pick = _mm512_add_epi32(pick, _mm512_set1_epi32(1));
    }
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

// pair_window_sums at stride 2 x 2 with an odd pad before the columns: output i's tap 0 is
// column 2i - pad, which tap 2 of output i - 1 picks, so the three source rows' tap-0 products
// come from their tap-2 picks, summed and shifted a lane once an output row; and an output row's
// last source row is the next one's first, whose picks it keeps: 2 permutes a source row and a
// valignd an output row (14 x 14 -> 7 x 7: 28 permutes a pair of planes, not 51). Each source
// row loaded once a channel (not four times: see split), the rows at the plane's edges without
// the three-row carry: dw576/2 @ 14 0.92-0.94x the time at batch 1 (conv_vs_build both ways
// round, forward and prepared, Zen 5, 2026-12-07). Even and odd columns split by
// vshufps within 128-bit blocks instead (the backward filter's way; the sums in that
// interleaved order, permuted to the outputs' once a row with the tap-0 shift folded into a
// second permute): the same bits, 1.01-1.05x the time (dw576/2 @ 14, kernel alone, Zen 5);
// again with the loads pinned (vshufps leaves the FMA pipes, the two vpermps a row take them):
// 1.06x this form's time. The weights by pair_of (two broadcasts and a blend each, no
// vpermt2ps): within noise (0.99-1.01x). Both kernel alone, 2026-12-07.
// The next pair's outputs prefetched for writing (prefetchw, 8 KiB ahead) at its start:
// 1.02-1.05x the time (dw576/2 @ 14, batch 1, one thread, conv_vs_build, 2026-12-07).
MLN_ALWAYS_INLINE void pair_stride2_window_sums(const float* xa, const float* xb, const float* wa, const float* wb,
                                                float bias_a, float bias_b, const WindowGeometry& g,
                                                const PairColumns& c, float* ya, float* yb, bool store_b) {
    __m512 w[kTaps];
    pair_weights(wa, wb, w);
    const __m512 bias = pair_of(bias_a, bias_b);
    // c's and g's fields in locals: GCC re-read them after each store to y (a float store may
    // alias an __m512i).
    const __m512i even_index = c.index[1], odd_index = c.index[2];
    const __mmask16 tap0 = c.tap[0], tap1 = c.tap[1], tap2 = c.tap[2];
    const int64_t in_width = c.in_width, out_width = c.out_width, out_rows = g.out[1], in_rows = g.in[1];
    const int64_t pad = g.pad_begin[1], whole_load_rows = c.whole_load_rows;
    // A source row's taps 1 (even) and 2 (odd) from its loads a, b, pinned to registers: each
    // vpermt2ps overwrites its table, and GCC loaded a twice and folded b's load into both
    // permutes, four loads a row, each across two cache lines (about one a cycle on Zen 5). MSVC
    // has no such constraint: it compiles the plain form.
    struct Taps {
        __m512 even, odd;
    };
    auto split = [&](__m512 a, __m512 b) {
#if defined(__GNUC__)
        __asm__("" : "+v"(a), "+v"(b));
#endif
        return Taps{_mm512_permutex2var_ps(a, even_index, b), _mm512_permutex2var_ps(a, odd_index, b)};
    };
    // An output row's sums over taps 1 and 2 (with the bias) and over tap 0 (unshifted), and
    // their total, tap 0's sums moved up a lane by valignd (lanes 0 and 8, tap 0 at column
    // -pad, are masked out; a vpermps here takes an FMA's pipe).
    struct Sums {
        __m512 middle, last, first;
    };
    auto add_row = [&](const Taps& t, int64_t kh, Sums& s) {
        s.middle = _mm512_mask3_fmadd_ps(t.even, w[kh * 3 + 1], s.middle, tap1);
        s.last = _mm512_mask3_fmadd_ps(t.odd, w[kh * 3 + 2], s.last, tap2);
        s.first = _mm512_fmadd_ps(t.odd, w[kh * 3], s.first);
    };
    auto total = [&](const Sums& s) {
        const __m512i first = _mm512_castps_si512(s.first);
        const __m512 sum = _mm512_add_ps(s.middle, s.last);
        return _mm512_mask_add_ps(sum, tap0, sum, _mm512_castsi512_ps(_mm512_alignr_epi32(first, first, 15)));
    };
    // Output row oh where a source row lies outside the plane or loads masked, its store masked
    // where it runs past the plane.
    auto edge_row = [&](int64_t oh) {
        const int64_t top = 2 * oh - pad;
        prefetch_pair_lines<2>(xa + top * in_width, xb + top * in_width);
        Sums s{bias, _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t kh = 0; kh < 3; ++kh) {
            const int64_t ih = top + kh;
            if (ih < 0 || ih >= in_rows) continue;
            const float* ra = xa + ih * in_width;
            const float* rb = xb + ih * in_width;
            if (ih < whole_load_rows) {
                add_row(split(c.load_whole_row(ra), c.load_whole_row(rb)), kh, s);
            } else {
                add_row(split(c.load_row(ra), c.load_row(rb)), kh, s);
            }
        }
        c.store_output_row(total(s), oh, ya, yb, store_b);
    };
    // Output rows from inside_begin read from source row 0 on; to inside_end, rows that load
    // and store whole (top + 2 < whole_load_rows), the last source row's taps kept for the next.
    const int64_t inside_begin = std::min(out_rows, (pad + 1) / 2);
    const int64_t inside_end =
        std::max(inside_begin, std::min({out_rows, c.whole_store_rows, (whole_load_rows + pad - 1) / 2}));
    int64_t oh = 0;
    for (; oh < inside_begin; ++oh) edge_row(oh);
    if (oh < inside_end) {
        const float* ra = xa + (2 * oh - pad) * in_width;
        const float* rb = xb + (2 * oh - pad) * in_width;
        float* out_a = ya + oh * out_width;
        float* out_b = yb + oh * out_width;
        auto taps = [&](int64_t r) {
            return split(c.load_whole_row(ra + r * in_width), c.load_whole_row(rb + r * in_width));
        };
        Taps shared = taps(0);
        for (; oh < inside_end; ++oh) {
            prefetch_pair_lines<2>(ra, rb);
            Sums s{bias, _mm512_setzero_ps(), _mm512_setzero_ps()};
            add_row(shared, 0, s);
            add_row(taps(1), 1, s);
            shared = taps(2);
            add_row(shared, 2, s);
            c.store_whole_row(total(s), out_a, out_b, store_b);
            ra += 2 * in_width;
            rb += 2 * in_width;
            out_a += out_width;
            out_b += out_width;
        }
    }
    for (; oh < out_rows; ++oh) edge_row(oh);
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
// Lost at batch 32 on two threads (Zen 5, conv_vs_build against main, 9 rounds, min / median,
// 2026-12-07; a call's bytes over its time pass a copy's bandwidth, so x and y partly stay in
// L3): 16 channels' outputs (whole lines) staged in L1, double-buffered, and written
// non-temporally: dw960 @ 7 1.10 / 1.12x, dw576/2 @ 14 1.01 / 1.02x (batch 1 1.15 / 1.12x);
// staged and copied out by aligned plain stores 1.32 / 1.34x; each pair's next planes
// prefetched 4, 8 or 16 KiB ahead (prefetcht0) on dw960 @ 7 1.03-1.15x, 16 KiB ahead to L2
// (prefetcht1) 1.02-1.21x (min); its outputs prefetched for writing (prefetchw, 8 KiB ahead)
// 1.13 / 1.12x.
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
    auto planes = [&](auto pad_one) {
        for (int64_t c = 0; c < channels; ++c) {
            row_window_sums_stride1<decltype(pad_one)::value>(x + c * in_size, w + c * kTaps,
                                                              bias != nullptr ? bias[c] : 0.0f, g, columns,
                                                              y + c * out_size);
        }
    };
    if (g.pad_begin[2] == 1) return planes(std::true_type{});
    planes(std::false_type{});
}

}  // namespace

void conv_depthwise_3x3_forward_avx512(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                       int64_t channels, float* y) {
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    if (out_size == 0) return;
    // Tried and lost on Zen 5: AVX2's channel-minor forward on planes of <= 256 positions
    // (conv_depthwise_3x3_forward_channel_minor_avx2.cpp) at 16 channels a zmm register (its
    // walks over a register trait, each half of the 16 channels transposed 8 x 8 in and out),
    // in place of the pairs and row kernels here and, flipped, backward data's at stride 1.
    // conv_vs_build, MobileNet-v2 batch 1 one thread, min / median of main's time: dw960 @ 7
    // 1.98 / 1.92, dw384 @ 14 1.70 / 1.71, dw576 @ 14 1.52 / 1.37, dw576/2 @ 14 1.87 / 1.67.
    // Kernel alone (one process, 960 / 384 / 576 channels from L2), against these kernels' 9.0,
    // 12.1 and 7.6 us (dw960 @ 7, dw384 @ 14, dw576/2 @ 14): the transposes in and out alone
    // 6.3, 8.2 and 6.8 us, the sums alone (no prefetch) 9.2, 11.6 and 6.6 us, the weights'
    // gather to channel-minor 3.3, 1.3 and 1.9 us: the copies a 16-lane register needs per
    // channel are AVX2's, its FMAs half as many.
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
        const FlatPlane f(g.in[2], g.in[1], g.out[1], g.pad_begin[1], g.pad_begin[2], flat_plane_cache());
        for (int64_t c = 0; c < channels; ++c) {
            flat_plane_window_sums(x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, f,
                                   y + c * out_size);
        }
        return;
    }
    const std::vector<Stride2Columns>& columns = stride2_columns(g.out[2], g.in[2], g.pad_begin[2]);
    if (g.stride[1] == 2 && columns.size() == 1) {
        if (columns[0].interior) return stride2_narrow_forward<false>(x, w, bias, g, columns[0], channels, y);
        return stride2_narrow_forward<true>(x, w, bias, g, columns[0], channels, y);
    }
    if (g.stride[1] == 2) {
        auto planes = [&](auto registers) {
            for (int64_t c = 0; c < channels; ++c) {
                stride2_plane_window_sums<decltype(registers)::value>(
                    x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, g, columns, y + c * out_size);
            }
        };
        // Rows of two registers of outputs (17 to 32) with the loop over registers unrolled:
        // MobileNet-v2's dw144/2 @ 56 (28 outputs a row), Zen 5, conv_vs_build against main both
        // ways round (2026-12-07), batch 1 one thread 0.94-0.98x the time, batch 32 (one and
        // two threads) 0.95-1.03x. Four registers so (dw96/2 @ 112) measured 0.99x, not kept.
        if (columns.size() == 2) return planes(std::integral_constant<int64_t, 2>{});
        return planes(std::integral_constant<int64_t, 0>{});
    }
    for (int64_t c = 0; c < channels; ++c) {
        stride2_window_sums(x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, g, columns,
                            y + c * out_size);
    }
}

}  // namespace mln::kernels
