// The pieces of the NCHW 3 x 3 depthwise kernels (conv_depthwise_3x3.hpp) that more than one
// pass uses: lane masks and prefetches, the flat plane at stride 1, the stride-2 column masks and
// even/odd split, and the two-channels-a-register rows with the stride-1 kernels the forward and
// backward data share. Each pass is its own translation unit
// (conv_depthwise_3x3_{forward,backward_data,backward_filter}_avx512.cpp) and everything here is
// in an unnamed namespace, so each compiles its own copy: in one file for all three, correct and
// separately measured edits to one pass moved another's speed by 10-50% (register allocation of
// the kernels they shared: backward data dw960 @ 7 ran 1.3-1.5x slower after forward-only
// changes). The plane set-ups and flat_window_sums stay out of line as they were when two passes
// called them (inlined into a pass's one caller, they changed its register allocation: backward
// data dw576/2 @ 14 1.6x slower). For *_avx512.cpp files only.
// GCC 12 warns inside its own AVX-512 intrinsics (a self-initialized undefined operand, GCC bug
// 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/conv/conv_depthwise_avx512_tile.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kTaps = 9;

inline __mmask16 lanes_below(int64_t n) {
    return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : n <= 0 ? 0u : (1u << n) - 1u);
}
// Lanes i with begin <= i < end.
inline __mmask16 lanes_between(int64_t begin, int64_t end) {
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
constexpr int64_t kPrefetchBytes = int64_t{8} << 10;

MLN_ALWAYS_INLINE void prefetch_ahead(const float* from, int64_t floats) {
    prefetch_lines(reinterpret_cast<const char*>(from) + kPrefetchBytes, floats * static_cast<int64_t>(sizeof(float)));
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

    MLN_NOINLINE FlatPlane(int64_t width_, int64_t src_rows_, int64_t out_rows_, int64_t pad_h, int64_t pad_w,
                           Cache& cache)
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

// The walk both flat kernels share: out (size) = bias + the sums over taps, registers near the
// borders by flat_border_register, the interior's [begin, end) by interior(begin, end, rows,
// column_masks, period, phase, w, b) (rows: the three source rows from the first tap; register p's
// column masks at column_masks + 3 * its phase, the phase p's place in a period of registers).
// Its arguments are locals: GCC re-read f's fields after each store to out.
template <class Interior>
MLN_ALWAYS_INLINE void flat_plane_walk(const float* src, const float* taps, float bias, const FlatPlane& f, float* out,
                                       Interior interior) {
    __m512 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = _mm512_set1_ps(taps[t]);
    const __m512 b = _mm512_set1_ps(bias);
    const float* at = src + f.first_tap;
    const int64_t interior_begin = f.interior_begin * 16, interior_end = f.interior_end * 16;
    int64_t p = 0;
    for (; p < interior_begin; p += 16) flat_border_register(at, p, f, w, b, out);
    if (p < interior_end) {
        const float* const rows[3] = {at, at + f.width, at + 2 * f.width};
        interior(p, interior_end, rows, f.column_masks, f.period, f.interior_phase, w, b);
        p = interior_end;
    }
    for (; p < f.size; p += 16) flat_border_register(at, p, f, w, b, out);
}

// out (size) = bias + sum over taps of taps[tap] * the source at the tap. Interior registers load
// each source row once (16 floats, the next 16 carried to the next register) and build the
// other column taps by valignd: 3 loads a register instead of 9 unaligned ones, and 3 column
// masks from a table of `period` registers instead of 9 from the plane's (MobileNet-v2, one
// thread, batch 1, same-process min CPU time: 112-, 56- and 28-wide planes 1.4-1.8x faster,
// 14-wide 1.05-1.1x).
MLN_NOINLINE inline void flat_window_sums(const float* src, const float* taps, float bias, const FlatPlane& f,
                                          float* out) {
    flat_plane_walk(src, taps, bias, f, out,
                    [out](int64_t p, int64_t end, const float* const* rows, const __mmask16* column_masks,
                          int64_t period, int64_t r, const __m512* w, __m512 b) {
                        __m512 low[3];
                        for (int64_t kh = 0; kh < 3; ++kh) low[kh] = _mm512_loadu_ps(rows[kh] + p);
                        for (; p < end; p += 16, r = r + 1 == period ? 0 : r + 1) {
                            const __mmask16* m = column_masks + r * 3;
                            __m512 sum = b;
                            for (int64_t kh = 0; kh < 3; ++kh) {
                                const __m512 high = _mm512_loadu_ps(rows[kh] + p + 16);
                                sum = _mm512_add_ps(sum, pair_row_sum(low[kh], high, w + kh * 3, m));
                                low[kh] = high;
                            }
                            _mm512_storeu_ps(out + p, sum);
                        }
                    });
}

// out (size) = bias + the sums over taps of taps[tap] * the source at the tap: flat_window_sums
// with the interior summed by columns. Each interior register first sums its three source rows per
// column tap at the source's own lanes (sums[kw] at q = the sum over kh of taps[kh, kw] * row kh
// at q: 9 multiply-adds on three loads, no shift); output p then adds the sums of taps 1 and 2
// moved down 1 and 2 lanes (from this register's and the next one's): 2 shifts and 2 adds a
// register instead of flat_window_sums's 6 shifts and 3 adds. A tap outside the source is left
// out by the masks of the two adds (tap 0: of its products), never multiplied by a zero. The
// rows load as two 256-bit halves: GCC 12 folded whole 512-bit loads into the nine
// multiply-adds (9 loads a register, most across a cache line; 1.3x slower than
// flat_window_sums), and one 512-bit load a row kept by force ran 3-11% slower than the halves.
// MobileNet-v2 backward data, batch 1, one thread, conv_vs_build against flat_window_sums:
// dw144 @ 56 0.82x the time, dw192 @ 28 0.87x, dw32 @ 112 0.99x (from L3 and DRAM).
// Planes of more outputs than this (MobileNet-v2's 112 x 112, 49 KiB, past L1) keep
// flat_window_sums (flat_plane_window_sums):
// there, streaming from DRAM at batch 32, the sums by columns ran 1.05-1.17x slower (dw32 @ 112,
// one and two threads; within 2% at batch 1), and prefetching dy and dx ahead in them, 0.93-0.97x
// at batch 32, ran 1.04-1.17x slower at batch 1 on all three flat layers.
constexpr int64_t kFlatColumnsMaxPlaneBytes = int64_t{16} << 10;

MLN_NOINLINE inline void flat_window_sums_by_columns(const float* src, const float* taps, float bias,
                                                     const FlatPlane& f, float* out) {
    flat_plane_walk(src, taps, bias, f, out,
                    [out](int64_t p, int64_t end, const float* const* rows, const __mmask16* column_masks,
                          int64_t period, int64_t r, const __m512* w, __m512 b) {
                        // The column sums of the register at q; tap 0's only on the lanes of its
                        // mask (its outputs are the register's own lanes).
                        const auto column_sums = [&](int64_t q, __mmask16 tap0, __m512* sums) {
                            __m512 s[3];
                            for (int64_t kh = 0; kh < 3; ++kh) {
                                s[kh] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(rows[kh] + q)),
                                                           _mm256_loadu_ps(rows[kh] + q + 8), 1);
                            }
                            sums[0] = _mm512_mask3_fmadd_ps(s[0], w[0], b, tap0);
                            sums[1] = _mm512_mul_ps(s[0], w[1]);
                            sums[2] = _mm512_mul_ps(s[0], w[2]);
                            for (int64_t kh = 1; kh < 3; ++kh) {
                                sums[0] = _mm512_mask3_fmadd_ps(s[kh], w[kh * 3], sums[0], tap0);
                                sums[1] = _mm512_fmadd_ps(s[kh], w[kh * 3 + 1], sums[1]);
                                sums[2] = _mm512_fmadd_ps(s[kh], w[kh * 3 + 2], sums[2]);
                            }
                        };
                        __m512 here[3];
                        column_sums(p, column_masks[r * 3], here);
                        for (; p < end; p += 16) {
                            const __mmask16* m = column_masks + r * 3;
                            r = r + 1 == period ? 0 : r + 1;
                            // The next register's sums (past the interior's last: its loads inside
                            // the source, flat_window_sums's high half).
                            __m512 next[3];
                            column_sums(p + 16, column_masks[r * 3], next);
                            const __m512i n1 = _mm512_castps_si512(next[1]), h1 = _mm512_castps_si512(here[1]);
                            const __m512i n2 = _mm512_castps_si512(next[2]), h2 = _mm512_castps_si512(here[2]);
                            const __m512 tap1 = _mm512_castsi512_ps(_mm512_alignr_epi32(n1, h1, 1));
                            const __m512 tap2 = _mm512_castsi512_ps(_mm512_alignr_epi32(n2, h2, 2));
                            const __m512 sum = _mm512_mask_add_ps(here[0], m[1], here[0], tap1);
                            _mm512_storeu_ps(out + p, _mm512_mask_add_ps(sum, m[2], sum, tap2));
                            for (int64_t kw = 0; kw < 3; ++kw) here[kw] = next[kw];
                        }
                    });
}

// flat_window_sums, its interior summed by columns where the outputs fit L1.
inline void flat_plane_window_sums(const float* src, const float* taps, float bias, const FlatPlane& f, float* out) {
    if (f.size * static_cast<int64_t>(sizeof(float)) <= kFlatColumnsMaxPlaneBytes) {
        return flat_window_sums_by_columns(src, taps, bias, f, out);
    }
    flat_window_sums(src, taps, bias, f, out);
}

// Each pass's own cache of FlatPlane masks (FlatPlane::Cache says why).
inline FlatPlane::Cache& flat_plane_cache() {
    thread_local FlatPlane::Cache cache;
    return cache;
}

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

MLN_NOINLINE inline std::vector<Stride2Columns>& stride2_columns(int64_t out_width, int64_t in_width, int64_t pad) {
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

// The 32 columns of a source row's window (its columns from c.base: the row + c.base, or a zero
// window standing for a row outside the plane) in a0, a1; Masked: 0 outside the row.
template <bool Masked>
MLN_ALWAYS_INLINE void stride2_window_loads(const float* window, const Stride2Columns& c, __m512& a0, __m512& a1) {
    if constexpr (Masked) {
        a0 = _mm512_maskz_loadu_ps(c.load[0], window);
        a1 = _mm512_maskz_loadu_ps(c.load[1], window + 16);
    } else {
        a0 = _mm512_loadu_ps(window);
        a1 = _mm512_loadu_ps(window + 16);
    }
}

// The even and odd columns of the 32 of a source row's window (taps 0 and 1; 0 outside the row
// where Masked).
template <bool Masked>
MLN_ALWAYS_INLINE void stride2_window_even_odd(const float* window, const Stride2Columns& c, __m512& even,
                                               __m512& odd) {
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512 a0, a1;
    stride2_window_loads<Masked>(window, c, a0, a1);
    // Each vpermt2ps overwrites its table, so GCC 12 loads a0 twice and folds a1's load into both
    // (four loads, not two; L1 hits): pinned to registers by an empty asm, the backward filter's
    // strips ran within noise (0.99-1.02x, MobileNet-v2 stride 2, batch 1, Zen 5, 2026-12-07).
    even = _mm512_permutex2var_ps(a0, evens, a1);
    odd = _mm512_permutex2var_ps(a0, odds, a1);
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

// A channel's value in lanes 0-7, the other's in 8-15.
inline __m512 pair_of(float a, float b) { return _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(a), _mm512_set1_ps(b)); }

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
// of planes, not 21 permutes). Tried on Zen 5 (dw960 @ 7 from L2, kernel alone, one thread,
// alternating with this one: near 19 ns a pair of planes whatever the channel count), none
// outside 0.98-1.04x its time: a source row's taps 0 and 2 permuted once and summed by masked
// FMAs (no shifted sums: 7-14 adds fewer a pair); the rows inside the plane without checks and
// with whole loads and stores; the weights by pair_weights' permutes; the two shifts by valignd
// instead of vpermps (off the FMA pipes; 0.98-1.03x, 2026-12-07). Backward data at stride
// 1 on these rows takes it too (the flipped filter), not pair_window_sums_stride1: dw960 @ 7,
// conv_vs_build both ways round against it, batch 1 one thread 0.93-0.98x the time (min),
// 0.95-0.97x (median); batch 32 two threads 0.93-1.0x.
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

inline bool rows_fit(const WindowGeometry& g) {
    return g.stride[1] == 1 && g.stride[2] == 1 && g.in[2] <= 16 && g.out[2] <= 16;
}

// y (out rows x out_width) = bias + the window sums of x with taps, one output row a register.
// Rows load and store 16 floats whole but the plane's last: a row's load reads the start of
// the next row (taps never pick those lanes), a row's store runs into the next row, whose own
// store follows. Masked loads and stores ran 2.3x slower at batch 32 (dw576 @ 14, one thread:
// from DRAM, the masked accesses waited on each line; prefetching the planes ahead, x for
// reading and y for writing, did not help and measured within noise with whole accesses).
// PadOne (g.pad_begin[2] == 1): a source row is its outputs' tap 1 as loaded, taps 0 and 2 the
// row a lane over (valignd; the lane it wraps is masked out), not three permutes: the same
// bits; Zen 5, conv_vs_build, MobileNet-v2 batch 1 one thread, both ways round against the
// permutes: forward dw384 and dw576 @ 14 0.93-0.98x the time, backward data 0.94-1.0x (batch
// 32, two threads: forward 0.93-1.0x, backward data within noise).
template <bool PadOne>
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
        if constexpr (PadOne) {
            const __m512i lanes = _mm512_castps_si512(row);
            r.t[0] = _mm512_castsi512_ps(_mm512_alignr_epi32(lanes, lanes, 15));  // lane i: column i - 1
            r.t[1] = row;
            r.t[2] = _mm512_castsi512_ps(_mm512_alignr_epi32(lanes, lanes, 1));  // lane i: column i + 1
        } else {
            for (int64_t kw = 0; kw < 3; ++kw) r.t[kw] = _mm512_permutexvar_ps(c.index[kw], row);
        }
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

inline bool is_flat(const WindowGeometry& g) { return g.stride[1] == 1 && g.stride[2] == 1 && g.out[2] == g.in[2]; }

}  // namespace
}  // namespace mln::kernels
