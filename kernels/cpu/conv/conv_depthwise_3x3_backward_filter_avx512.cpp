// Compiled with AVX-512: backward filter of the NCHW 3 x 3 depthwise kernels (conv_depthwise_3x3.hpp;
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
#include "kernels/cpu/conv/conv_depthwise_filter_avx512.hpp"
#include "kernels/cpu/conv/conv_depthwise_filter_stride2_avx512.hpp"

namespace mln::kernels {
namespace {

using depthwise_filter::filter_sums_by_channel_groups;
using depthwise_filter::FilterSumsLayout;
using depthwise_filter::SumLanes;

// The backward filter's taps: the even and odd columns of the 32 from base
// (stride2_window_even_odd's, t[0], t[1]); t[2] is the even columns again, lane j column
// base + 2 j, which is tap 2 of output j - 1: its products take dy loaded a column earlier
// (Stride2Dy::shifted), so no source row is shifted a lane (the 33rd column is the next
// register's lane 0; stride2_filter_sums adds the last output's where the row's last register
// is full). Against stride2_forward_taps (a valignd a source row for t[2], the 33rd column
// loaded alone): MobileNet-v2 batch 1, one thread, same-process A/B both ways round, dw96/2 @
// 112 0.96-0.99x the time, dw144/2 @ 56 0.93-0.97x, dw192/2 @ 28 0.92-0.96x; batch 32 within
// noise (0.96-1.04x). Masked: loads masked to the row. Splitting the two loads by vshufps
// instead (lanes in block order, dy brought to it by a vpermps a register; on Zen 5 alongside ten
// FMAs a vpermt2ps costs 0.85 cycles, a vpermps 0.12, a vshufps none) ran within noise (0.94-1.05x
// on dw96/2, dw144/2 and dw192/2 at batch 1): the strips wait on their loads, not on the shuffles.
// At pad 1 the 32 columns load from base + 1 (64-byte aligned on 112-wide rows: no load across
// a line) and column base broadcast into lane 0 of t[0]: Zen 5, conv_vs_build, batch 1, dw96/2 @
// 112 0.98x the time, dw144/2 @ 56 1.09-1.11x (half its rows off a line), 2026-12-07.
//
// Aligned (pad 1, columns from 2 first: stride2_columns at pad 0): the even columns e are tap 1,
// the odd ones o tap 2, and o's lane j tap 0 of output j + 1, whose products take dy loaded a
// column later; every load starts on a 128-byte step of the row (on a line on 112-wide rows,
// half of 56-wide ones), no 33rd column is left, and the row's first register is plain. Bands
// over up to 4 images at pad 1 on rows of whole lines (stride2_filter_bands; the selection in
// conv_depthwise_3x3_backward_filter_avx512 says why), Zen 5, conv_vs_build both ways round,
// batch 1: dw96/2 @ 112 0.92-0.98x the time (1.04-1.05x slower on dw144/2 while the last
// register loaded dy a column later too, not moved down a lane in d).
template <bool Masked, bool Aligned = false>
inline RowTaps stride2_filter_taps(const float* row, const Stride2Columns& c) {
    RowTaps r;
    stride2_window_even_odd<Masked>(row + c.base, c, r.t[Aligned ? 1 : 0], r.t[Aligned ? 0 : 1]);
    r.t[2] = r.t[0];
    return r;
}

// The lanes of a register of outputs first..first + 15 for the filter: tap[kw] those whose
// product with stride2_filter_taps's t[kw] counts (tap in the row, output existing; tap 2's lane
// j is output j - 1), d the outputs', shifted the lanes of outputs j - 1; plain: every lane of
// each (the first register never: its lane 0 would be output -1). Aligned: of the aligned taps
// (tap 0's lane j output j + 1, shifted the lanes of outputs j + 1).
struct Stride2FilterLanes {
    __mmask16 tap[3], d, shifted;
    bool plain;
};

// Aligned: the lanes of stride2_filter_taps<Masked, true> (shifted: the outputs j + 1).
MLN_NOINLINE std::vector<Stride2FilterLanes>& stride2_filter_lanes(const std::vector<Stride2Columns>& columns,
                                                                   int64_t out_width, int64_t in_width,
                                                                   bool aligned) {
    thread_local std::vector<Stride2FilterLanes> lanes;
    lanes.clear();
    for (size_t v = 0; v < columns.size(); ++v) {
        const Stride2Columns& c = columns[v];
        const int64_t first = static_cast<int64_t>(v) * 16;
        Stride2FilterLanes l;
        l.d = lanes_below(out_width - first);
        __mmask16 in_row = 0;
        for (int64_t j = 0; j < 16; ++j) {
            const int64_t column = c.base + 2 * j + (aligned ? 1 : 0);
            if (column >= 0 && column < in_width) in_row = static_cast<__mmask16>(in_row | (1u << j));
        }
        if (aligned) {
            l.shifted = lanes_below(out_width - first - 1);
            l.tap[0] = static_cast<__mmask16>(in_row & l.shifted);
            l.tap[1] = c.tap[0];
            l.tap[2] = static_cast<__mmask16>(in_row & l.d);
            l.plain = c.load[0] == 0xFFFF && c.load[1] == 0xFFFF && l.tap[0] == 0xFFFF && l.tap[1] == 0xFFFF &&
                      l.tap[2] == 0xFFFF;
        } else {
            l.tap[0] = c.tap[0];
            l.tap[1] = c.tap[1];
            l.shifted = lanes_between(1 - first, out_width - first + 1);
            l.tap[2] = static_cast<__mmask16>(in_row & l.shifted);
            l.plain = c.interior && first > 0;
        }
        lanes.push_back(l);
    }
    return lanes;
}

// A register of dy and the same loaded a column earlier (lane j output j - 1).
struct Stride2Dy {
    __m512 d, shifted;
};

// First: the row's first register, whose lane 0 (output -1) no tap takes: dy moved up a lane
// in the register, not loaded again (a load fewer a row where loads bound the strips: dw192/2
// @ 28, batch 1, one thread, 1.06-1.14x faster, dw144/2 @ 56 and dw96/2 @ 112 within 2%).
// Aligned: shifted is dy a column later (lane j output j + 1); First then means the row's last
// register (no output after its lanes), whose dy moves down a lane in the register.
template <bool Masked, bool First, bool Aligned = false>
inline Stride2Dy stride2_filter_dy(const float* dy_row, const Stride2FilterLanes& lanes) {
    if constexpr (Aligned) {
        if constexpr (First) {
            const __m512 d = _mm512_maskz_loadu_ps(lanes.d, dy_row);
            return {d, _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_setzero_si512(), _mm512_castps_si512(d), 1))};
        } else if constexpr (Masked) {
            return {_mm512_maskz_loadu_ps(lanes.d, dy_row), _mm512_maskz_loadu_ps(lanes.shifted, dy_row + 1)};
        }
        return {_mm512_loadu_ps(dy_row), _mm512_loadu_ps(dy_row + 1)};
    } else if constexpr (First) {
        const __m512 d = _mm512_maskz_loadu_ps(lanes.d, dy_row);
        return {d, _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(d), _mm512_setzero_si512(), 15))};
    } else if constexpr (Masked) {
        return {_mm512_maskz_loadu_ps(lanes.d, dy_row), _mm512_maskz_loadu_ps(lanes.shifted, dy_row - 1)};
    }
    return {_mm512_loadu_ps(dy_row), _mm512_loadu_ps(dy_row - 1)};
}

// A register of dy at d_at in a row walked register by register, its shifted taken from this
// register and the one before (previous; zero for the row's first): one valignd (dw96/2 @ 112,
// batch 32, from DRAM: within noise of the old taps), where a second load of dy as the strips'
// ran 1.02-1.05x slower.
inline Stride2Dy stride2_dy_after(const float* d_at, const Stride2FilterLanes& lanes, __m512 previous) {
    const __m512 d = lanes.plain ? _mm512_loadu_ps(d_at) : _mm512_maskz_loadu_ps(lanes.d, d_at);
    return {d, _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(d), _mm512_castps_si512(previous), 15))};
}

// acc[tap] += dy . taps (one source row's stride2_filter_taps, filter row acc[0..2]) for a
// register of dy; Masked: each product only on the lanes of `lanes` (a padding tap is left out,
// not multiplied by a zero).
template <bool Masked, bool Aligned = false>
inline void stride2_tap_products(const RowTaps& t, const Stride2Dy& dy, const Stride2FilterLanes& lanes,
                                 __m512* acc) {
    MLN_UNROLL(3)
    for (int64_t kw = 0; kw < 3; ++kw) {
        const __m512 d = kw == (Aligned ? 0 : 2) ? dy.shifted : dy.d;
        acc[kw] = Masked ? _mm512_mask3_fmadd_ps(t.t[kw], d, acc[kw], lanes.tap[kw]) : _mm512_fmadd_ps(t.t[kw], d, acc[kw]);
    }
}

// acc[tap] += dy . the source at the tap over one plane at stride 2 x 2, output rows outermost:
// the forward's even/odd split of 32 source columns per register of dy, for rows of more than
// kRowOrderMaxColumns registers of outputs (stride2_filter_sums_in_row_order takes the others).
// Filter rows go in a loop of constant bounds (a missing one skipped), so the nine sums stay in
// registers: indexed by a row list's entries they went through memory and ran slower than the
// channel-blocked kernel. Splitting each source row once into even and odd columns (a per-thread buffer in L1,
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
        __m512 previous = _mm512_setzero_ps();
        for (int64_t v = 0; v < column_count; ++v) {
            const Stride2Columns& c = columns[v];
            const Stride2FilterLanes& l = lanes[v];
            const Stride2Dy d = stride2_dy_after(dy_row + v * 16, l, previous);
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

// stride2_filter_sums_in_row_order's rows: registers of outputs at most (64 outputs a row).
constexpr int64_t kRowOrderMaxColumns = 4;
// Its prefetch distance, for the two source rows and the dy row each output row reads first.
constexpr int64_t kRowOrderPrefetchBytes = int64_t{2} << 10;

// acc[tap] += dy . the source at the tap over one plane at stride 2 x 2, output rows outermost,
// reading the plane in memory order: each output row loads its dy row, then its middle source
// row whole, then its bottom row whole, whose split (stride2_filter_taps) it keeps for the next
// output row's top (rows of up to kRowOrderMaxColumns registers, the splits and dy on the stack).
// Against stride2_filter_sums_by_rows (three source rows register by register, the top one
// loaded again, 8 KiB prefetches), dw96/2 @ 112 (Zen 5, same-process A/B both ways round, a
// loaded machine, 2026-12-08): batch 32 on two threads 0.85-0.88x the time (swapped
// 1.11-1.21x), on one 0.87x, batch 16 0.92x, batch 8 even (1.01x). Prefetching 1 KiB ahead
// 0.89-0.94x, 3 KiB 0.85-0.94x, 4 KiB 0.92-0.98x, dy's 8 KiB ahead even with by rows (1.0-1.03x),
// none 1.8x slower. By rows with 4 or 6 KiB, or dy's prefetch 2 or 16 KiB ahead: within noise of
// 8 KiB (0.97-1.04x); prefetcht1 1.06-1.38x, prefetcht2 1.17-1.25x, prefetchnta 1.02-1.04x,
// every other line 2.2x slower. At batch 1 (in L3) this order ran dw96/2 @ 112 and dw144/2 @ 56
// 1.5x slower than the band strips, and at batch 32 dw144/2 @ 56 1.03-1.1x slower than them.
MLN_NOINLINE void stride2_filter_sums_in_row_order(const float* x, const float* dy, const WindowGeometry& g,
                                                   const std::vector<Stride2Columns>& columns,
                                                   const std::vector<Stride2FilterLanes>& lanes, __m512* acc) {
    constexpr int64_t kMax = kRowOrderMaxColumns;
    // Sums, masks and geometry in locals, the register loops unrolled (MLN_UNROLL): the sums
    // reached through a pointer in a loop of run-time bounds stayed in memory (1.5-2.5x slower).
    __m512 a[kTaps];
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) a[t] = acc[t];
    const int64_t out_width = g.out[2], out_rows = g.out[1], in_rows = g.in[1], in_width = g.in[2];
    const int64_t pad = g.pad_begin[1], count = static_cast<int64_t>(columns.size());
    Stride2Columns c[kMax];
    Stride2FilterLanes l[kMax];
    MLN_UNROLL(4)
    for (int64_t v = 0; v < kMax; ++v) {
        if (v >= count) break;
        c[v] = columns[v];
        l[v] = lanes[v];
    }
    RowTaps carried[kMax];
    Stride2Dy d[kMax];
    bool have_carried = false;  // carried holds the split of source row 2 oh - pad
    for (int64_t oh = 0; oh < out_rows; ++oh) {
        const int64_t top = 2 * oh - pad;
        const float* dy_row = dy + oh * out_width;
        prefetch_lines(reinterpret_cast<const char*>(x + 2 * oh * in_width) + kRowOrderPrefetchBytes,
                       2 * in_width * static_cast<int64_t>(sizeof(float)));
        prefetch_lines(reinterpret_cast<const char*>(dy_row) + kRowOrderPrefetchBytes,
                       out_width * static_cast<int64_t>(sizeof(float)));
        __m512 previous = _mm512_setzero_ps();
        MLN_UNROLL(4)
        for (int64_t v = 0; v < kMax; ++v) {
            if (v >= count) break;
            d[v] = stride2_dy_after(dy_row + v * 16, l[v], previous);
            previous = d[v].d;
        }
        MLN_UNROLL(3)
        for (int64_t kh = 0; kh < 3; ++kh) {
            const int64_t ih = top + kh;
            if (ih < 0 || ih >= in_rows) continue;
            const float* row = x + ih * in_width;
            MLN_UNROLL(4)
            for (int64_t v = 0; v < kMax; ++v) {
                if (v >= count) break;
                RowTaps t;
                if (kh == 0 && have_carried) {
                    t = carried[v];
                } else {
                    t = l[v].plain ? stride2_filter_taps<false>(row, c[v]) : stride2_filter_taps<true>(row, c[v]);
                }
                if (l[v].plain) {
                    stride2_tap_products<false>(t, d[v], l[v], a + kh * 3);
                } else {
                    stride2_tap_products<true>(t, d[v], l[v], a + kh * 3);
                }
                if (kh == 2) carried[v] = t;
            }
        }
        have_carried = top + 2 >= 0 && top + 2 < in_rows;
    }
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = a[t];
}

// Prefetches kPrefetchBytes ahead (about the same strip a band later) the lines a strip reads
// of the next two source rows (33 columns from column `base` of `row`, rows `width` apart) and
// its register of dy. Against the first strip of a band prefetching whole rows for the others (MobileNet-v2,
// one thread, same-process A/B both ways round): batch 1 dw96/2 @ 112 1.2-1.3x, dw144/2 @ 56
// 1.06-1.08x, dw192/2 @ 28 1.07-1.12x faster; batch 4 1.14-1.23x, 1.07x, 1.04x; batch 32 (56-
// and 28-wide) within 4%. Two lines a row (the ends of the 33 columns, missing a middle line)
// ran dw96/2 1.5x slower at batch 4.
// FewImages (up to kStride2FilterBandsMaxImages images): the first two lines of each row's 33
// columns and dy's first line only (the third line and dy's second are mostly the next strip's
// first). One thread, same-process A/B both ways round: batch 1 dw192/2 @ 28 0.95-0.98x the
// time, dw96/2 @ 112 and dw144/2 @ 56 0.99-1.01x; batch 4 0.99x, 0.99-1.01x; at batch 32 these
// prefetches ran 1.03-1.34x slower than the three lines and two.
// Inlined by force: GCC 12 takes an out-of-line function of prefetches alone for one without
// effects and deletes its calls (dw144/2 @ 56 then ran 1.2-1.3x slower, its loads from L2).
// Ahead: the distance, kPrefetchBytes but on planes of one strip (stride2_one_strip_filter_sums).
template <bool FewImages, int64_t Ahead = kPrefetchBytes>
MLN_ALWAYS_INLINE void prefetch_strip_ahead(const float* row, int64_t base, int64_t width, const float* dy_row) {
    const int64_t row_bytes = width * static_cast<int64_t>(sizeof(float));
    // The offset added whole: base may be -1 (pad), row + base then before the tensor.
    const char* at = reinterpret_cast<const char*>(row) + (Ahead + base * static_cast<int64_t>(sizeof(float)));
    // 33 columns (132 bytes) touch up to three lines, 16 dy floats up to two.
    for (int64_t r = 0; r < 2; ++r) {
        for (int64_t b = 0; b <= (FewImages ? 64 : 128); b += 64) _mm_prefetch(at + r * row_bytes + b, _MM_HINT_T0);
    }
    const char* d = reinterpret_cast<const char*>(dy_row) + Ahead;
    _mm_prefetch(d, _MM_HINT_T0);
    if constexpr (!FewImages) _mm_prefetch(d + 63, _MM_HINT_T0);
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
// Inlined by force and the loops over the sums unrolled (MLN_UNROLL): called out of line from
// two places, GCC 12 kept the nine sums on the stack (a store after each masked FMA) and
// dw192/2 @ 28 ran 2x slower. set_sums: acc = the strip's sums, not acc + them. FewImages: the
// prefetches of prefetch_strip_ahead<FewImages, Ahead>.
// InnerRows: the rows whose three source rows lie inside go in a loop of their own, without the
// tests of the rows and of the carried taps (37 instructions a row, not 52). Planes of one
// strip (dw192/2 @ 28, Zen 5, same-process A/B both ways round against the tested loop): batch
// 1 0.91-0.97x the time, batch 32 on two threads 0.82-0.88x, batches 4 and 8 1.0-1.02x. The
// band strips (three instances of the loop) ran dw96/2 @ 112 1.05-1.08x slower at batch 1, so
// they keep the tested loop; so did the aligned form's plain strips alone (8 channels of 112 x
// 112 in L2, a loaded machine: 1.2x the time a strip row, 2026-12-07).
// Row 0 at pad 1 (its top source row above the plane) out of the tested loop too (kTopAbove),
// with each group's planes in one call (stride2_one_strip_filter_sums): perf put the tested first
// row and each plane's setup at about 15% of dw192/2 @ 28's cycles at batch 1, against 69% in
// the inner rows. Zen 5, same-process A/B both ways round, batch 1: 0.94-0.98x the time one way,
// the old code 0.98-1.06x this one's the other; batch 32 on two threads within noise
// (0.93-1.02x), 2026-12-07.
// FixedIn (> 0, with InnerRows): a FixedIn x FixedIn plane at pad 1 (FixedIn / 2 x FixedIn / 2
// outputs), its rows unrolled whole with the plane's sizes constants, each source row a constant
// offset from the strip's column (as the stride-2 pairs' FixedIn, conv_depthwise_filter_stride2_avx512.cpp):
// MobileNet-v2's 28 x 28 (stride2_one_strip_filter_sums, up to kStride2FilterBandsMaxImages
// images). dw192/2 @ 28, Zen 5, same-process A/B both ways round, 2026-12-07: batch 1
// 0.90-0.99x the time (swapped 1.03-1.06x; one run of five read 0.91x both ways), batch 4 within
// noise (0.97-1.03x). The instance for more images so ran 1.07-1.11x slower at batch 32 on two
// threads (as the stride-1 rows of 7 in their other images' instance: unrolled rows whose loads
// come from DRAM lost each time).
template <bool Masked, bool First, bool FewImages, int64_t Ahead = kPrefetchBytes, bool InnerRows = false,
          bool Aligned = false, int64_t FixedIn = 0>
MLN_ALWAYS_INLINE void stride2_filter_strip(const float* x, const float* dy, const WindowGeometry& g,
                                            const Stride2Columns& columns, const Stride2FilterLanes& filter_lanes,
                                            int64_t first_column, int64_t oh_begin, int64_t oh_end, __m512* acc,
                                            bool set_sums = false) {
    const Stride2Columns c = columns;
    const Stride2FilterLanes lanes = filter_lanes;
    __m512 a[kTaps];
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) a[t] = set_sums ? _mm512_setzero_ps() : acc[t];
    constexpr bool kFixed = FixedIn > 0;
    const int64_t out_width = kFixed ? FixedIn / 2 : g.out[2], in_width = kFixed ? FixedIn : g.in[2];
    const int64_t in_rows = kFixed ? FixedIn : g.in[1], pad = kFixed ? 1 : g.pad_begin[1];
    RowTaps carried;
    bool have_carried = false;  // carried holds the taps of source row 2 oh - pad
    // Output row oh's products; kind kTested: each source row tested; kInside: its three source
    // rows inside, the top one carried, so their tests left out (inner_begin to inner_end below);
    // kTopAbove: row 0 at pad 1, its top source row above the plane, the other two inside.
    enum RowKind { kTested, kInside, kTopAbove };
    const auto row = [&](int64_t oh, auto kind) MLN_LAMBDA_ALWAYS_INLINE {
        constexpr RowKind kKind = decltype(kind)::value;
        constexpr bool kInner = kKind != kTested;
        const int64_t top = 2 * oh - pad;
        const float* dy_row = dy + oh * out_width + first_column;
        prefetch_strip_ahead<FewImages, Ahead>(x + (top + 1) * in_width, c.base, in_width, dy_row);
        const Stride2Dy d = stride2_filter_dy<Masked, First, Aligned>(dy_row, lanes);
        if (kKind == kInside || (kKind == kTested && top >= 0 && top < in_rows)) {
            if (!kInner && !have_carried) carried = stride2_filter_taps<Masked, Aligned>(x + top * in_width, c);
            stride2_tap_products<Masked, Aligned>(carried, d, lanes, a);
        }
        if (kInner || (top + 1 >= 0 && top + 1 < in_rows)) {
            stride2_tap_products<Masked, Aligned>(stride2_filter_taps<Masked, Aligned>(x + (top + 1) * in_width, c), d,
                                                  lanes, a + 3);
        }
        have_carried = kInner || (top + 2 >= 0 && top + 2 < in_rows);
        if (have_carried) {
            carried = stride2_filter_taps<Masked, Aligned>(x + (top + 2) * in_width, c);
            stride2_tap_products<Masked, Aligned>(carried, d, lanes, a + 6);
        }
    };
    if constexpr (kFixed) {
        // Row 0 at pad 1 (its top source row above the plane), then rows whose three source rows
        // lie inside; an odd FixedIn's last row tested (its bottom source row below the plane).
        MLN_UNROLL(32)
        for (int64_t oh = 0; oh < FixedIn / 2; ++oh) {
            if (oh == 0) {
                row(0, std::integral_constant<RowKind, kTopAbove>{});
            } else if (2 * oh + 1 < FixedIn) {
                row(oh, std::integral_constant<RowKind, kInside>{});
            } else {
                row(oh, std::integral_constant<RowKind, kTested>{});
            }
        }
    } else if constexpr (InnerRows) {
        // Rows after the first whose top source row is inside (2 oh >= pad) and bottom one too
        // (2 oh - pad + 2 <= in_rows - 1).
        const int64_t last_inner = in_rows - 3 + pad;
        const int64_t inner_begin = std::clamp<int64_t>((pad + 1) / 2, std::min(oh_begin + 1, oh_end), oh_end);
        const int64_t inner_end = last_inner < 0 ? inner_begin : std::clamp(last_inner / 2 + 1, inner_begin, oh_end);
        int64_t oh = oh_begin;
        if (oh == 0 && oh_end > 0 && pad == 1 && in_rows >= 2) {
            row(0, std::integral_constant<RowKind, kTopAbove>{});
            oh = 1;
        }
        for (; oh < inner_begin; ++oh) row(oh, std::integral_constant<RowKind, kTested>{});
        for (; oh < inner_end; ++oh) row(oh, std::integral_constant<RowKind, kInside>{});
        for (; oh < oh_end; ++oh) row(oh, std::integral_constant<RowKind, kTested>{});
    } else {
        for (int64_t oh = oh_begin; oh < oh_end; ++oh) row(oh, std::integral_constant<RowKind, kTested>{});
    }
    MLN_UNROLL(9)
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
// stride2_filter_taps leaves to a next register. Inlined by force: called out of line from the
// two plane loops, dw96/2 @ 112 (rows at a time) ran 1.15-1.4x slower at batch 32 (one thread,
// same-process A/B both ways round).
MLN_ALWAYS_INLINE void stride2_last_column_tap_sums(const float* x, const float* dy, const WindowGeometry& g,
                                                   __m512* acc) {
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

// acc[tap] += dy . the source at the tap over one plane at stride 2 x 2 in bands of output rows,
// each band one column strip after another.
template <bool FewImages, bool Aligned = false, int64_t Ahead = kPrefetchBytes>
MLN_ALWAYS_INLINE void stride2_filter_bands(const float* x, const float* dy, const WindowGeometry& g,
                                            const std::vector<Stride2Columns>& columns,
                                            const std::vector<Stride2FilterLanes>& lanes, __m512* acc) {
    const int64_t out_rows = g.out[1];
    const int64_t band =
        std::max<int64_t>(1, kStride2FilterBandBytes / (2 * g.in[2] * static_cast<int64_t>(sizeof(float))));
    // The nine sums stay in registers.
    __m512 a[kTaps];
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) a[t] = acc[t];
    const int64_t column_count = static_cast<int64_t>(columns.size());
    for (int64_t oh0 = 0; oh0 < out_rows; oh0 += band) {
        const int64_t oh1 = std::min(out_rows, oh0 + band);
        for (int64_t v = 0; v < column_count; ++v) {
            if (lanes[v].plain) {
                stride2_filter_strip<false, false, FewImages, Ahead, false, Aligned>(x, dy, g, columns[v], lanes[v],
                                                                                    v * 16, oh0, oh1, a);
            } else if (Aligned && v + 1 == column_count) {
                stride2_filter_strip<true, true, FewImages, kPrefetchBytes, false, true>(x, dy, g, columns[v],
                                                                                        lanes[v], v * 16, oh0, oh1, a);
            } else if (Aligned) {
                stride2_filter_strip<true, false, FewImages, kPrefetchBytes, false, true>(x, dy, g, columns[v],
                                                                                         lanes[v], v * 16, oh0, oh1, a);
            } else if (v == 0) {
                stride2_filter_strip<true, true, FewImages, Ahead>(x, dy, g, columns[v], lanes[v], 0, oh0, oh1, a);
            } else {
                stride2_filter_strip<true, false, FewImages, Ahead>(x, dy, g, columns[v], lanes[v], v * 16, oh0, oh1,
                                                                  a);
            }
        }
    }
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = a[t];
}

// The unaligned band strips' prefetch distance for up to kStride2FilterBandsMaxImages images
// (their planes from L3 at batch 1: dw144/2 @ 56 reads 2.2 MiB). Against kPrefetchBytes, Zen 5,
// same-process A/B both ways round, a loaded machine, 2026-12-07: dw144/2 @ 56 batch 1 0.92-0.96x
// the time (2 and 6 KiB 0.87-0.99x), batch 2 0.93x, batch 4 0.89-0.92x. The aligned strips keep
// kPrefetchBytes: dw96/2 @ 112 at batch 1 1.03-1.04x the time at 4 KiB, 1.12-1.18x at 12 KiB
// (and 1.16x at 4 KiB at batch 4, kOneStripPrefetchBytes's note); so do more images (4 KiB
// 1.05-1.1x at batch 32, the same note).
constexpr int64_t kFewImagesBandPrefetchBytes = int64_t{4} << 10;

// acc[tap] += dy . the source at the tap over one plane at stride 2 x 2: the forward's even/odd
// split of 32 source columns per register of dy, by column strips or by rows.
void stride2_filter_sums(const float* x, const float* dy, const WindowGeometry& g,
                         const std::vector<Stride2Columns>& columns, const std::vector<Stride2FilterLanes>& lanes,
                         int64_t images, bool aligned, __m512* acc) {
    if (aligned) return stride2_filter_bands<true, true>(x, dy, g, columns, lanes, acc);
    stride2_last_column_tap_sums(x, dy, g, acc);
    if (images <= kStride2FilterBandsMaxImages) {
        return stride2_filter_bands<true, false, kFewImagesBandPrefetchBytes>(x, dy, g, columns, lanes, acc);
    }
    if (g.in_size() * static_cast<int64_t>(sizeof(float)) > kStride2FilterStripPlaneBytes) {
        if (static_cast<int64_t>(columns.size()) <= kRowOrderMaxColumns) {
            return stride2_filter_sums_in_row_order(x, dy, g, columns, lanes, acc);
        }
        return stride2_filter_sums_by_rows(x, dy, g, columns, lanes, acc);
    }
    stride2_filter_bands<false>(x, dy, g, columns, lanes, acc);
}

// Rows of one register of outputs (at most 33 source columns, planes of at most 4.5 KiB): each
// plane one strip, its masks and geometry copied once for every plane, where the general loop
// read them again per plane through the references (the sums' stores may alias them). With the
// dy shift of the first register (stride2_filter_dy), dw192/2 @ 28 1.2x faster at batch 1,
// 1.06-1.09x at 8 (one thread, same-process A/B).
// The strips prefetch kOneStripPrefetchBytes ahead, about a plane (dw192/2 @ 28: 3 KiB of x):
// against kPrefetchBytes (two to three planes ahead), Zen 5, same-process A/B: batch 1 0.89-0.94x
// the time, batch 4 0.85-0.93x, batch 32 on two threads 0.88-0.92x. The band strips at 4 KiB
// ran dw144/2 @ 56 0.90-0.92x at batch 1 but 1.05-1.1x at 32, dw96/2 @ 112 1.16x at batch 4; at
// 2 KiB dw96/2 1.08-1.1x at batch 1; 16 KiB 1.13-1.2x; T1 prefetches of the next bands into L2
// 1.2-1.35x. (The unaligned band strips now take 4 KiB up to kStride2FilterBandsMaxImages
// images: kFewImagesBandPrefetchBytes.) These strips at 2 KiB up to kStride2FilterBandsMaxImages
// images (dw192/2 @ 28, same-process A/B both ways round, 2026-12-07): batch 1 0.92-0.98x the
// time and batch 4 0.97x on a loaded machine, but 0.97-1.05x on a quieter one; at batch 32 on
// two threads 1.05-1.08x slower.
constexpr int64_t kOneStripPrefetchBytes = int64_t{4} << 10;

// A group's planes (up to 16 channels) one after another in one call, the masks and geometry
// copied to locals once a call (the closure, reached by reference, may be aliased by the sums'
// stores); stride2_filter_strip's kTopAbove says what it bought with that row.
// Each channel's sums reduced and stored on the last image right after its strip
// (store_channel_sums<1>, filter_sums_by_channel_groups's LastImageStores; a second instance of
// the strip for the last image) instead of the group's reduction: dw192/2 @ 28 1.32-1.4x the time
// at batch 1 (one thread, same-process A/B both ways round, 2026-12-07).
// Every channel reading the first channel's planes (all in L1; wrong sums, for the measure):
// dw192/2 @ 28 at batch 1 0.62-0.72x the time on a loaded machine (2026-12-08), so the rows
// wait on L2 about a third of the time, their arithmetic (about 120 cycles a channel) the rest.
// FixedIn: stride2_filter_strip's.
template <bool FewImages, int64_t FixedIn = 0>
MLN_NOINLINE void stride2_one_strip_filter_sums(const float* x, const float* dy, const WindowGeometry& g,
                                                const FilterSumsLayout& layout, int64_t channels, int64_t images,
                                                Stride2Columns c, Stride2FilterLanes l, float* dw) {
    const WindowGeometry plane = g;
    const int64_t in_size = layout.in_size, out_size = layout.out_size;
    const auto group_sums = [c, l, plane, in_size, out_size](const float* xc, const float* dyc, __m512* acc,
                                                             int64_t count, bool first_image) {
        const Stride2Columns columns = c;
        const Stride2FilterLanes lanes = l;
        const WindowGeometry geometry = plane;
        const int64_t x_step = in_size, dy_step = out_size;
        for (int64_t k = 0; k < count; ++k) {
            const float* xk = xc + k * x_step;
            const float* dyk = dyc + k * dy_step;
            stride2_filter_strip<true, true, FewImages, kOneStripPrefetchBytes, true, false, FixedIn>(
                xk, dyk, geometry, columns, lanes, 0, 0, geometry.out[1], acc + k * kTaps, first_image);
            stride2_last_column_tap_sums(xk, dyk, geometry, acc + k * kTaps);
        }
    };
    filter_sums_by_channel_groups<16, 16, true>(x, dy, layout, channels, images, dw, group_sums);
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

// filter_sums_by_channel_groups for pair_filter_sums: a pair's sums one register a tap
// (SumLanes::PairHalves); an odd count's last channel paired with itself, its high half the sums of the
// channel past the span, never stored.
void pair_filter_sums_by_channel_groups(const float* x, const float* dy, const FilterSumsLayout& l, int64_t channels,
                                        int64_t images, const WindowGeometry& g, float* dw) {
    const PairColumns columns(g);
    const auto plane_sums = [&](const float* xc, const float* dyc, __m512* acc, int64_t count) {
        const int64_t b = count - 1;
        pair_filter_sums(xc, xc + b * l.in_size, dyc, dyc + b * l.out_size, g, columns, acc);
    };
    filter_sums_by_channel_groups<16, 2, false, SumLanes::PairHalves>(x, dy, l, channels, images, dw, plane_sums);
}

}  // namespace

// Fixed costs (perf, MobileNet-v2 batch 1, one thread, Zen 5, 2026-12-07): everything outside the
// kernels (validation, the pool's dispatch, the benchmark's loop) 4-6% of the cycles of dw192/2 @
// 28, dw576/2 @ 14, dw384 @ 14 and dw960 @ 7; the plans built per call (RowRegisterPlane,
// Stride2PairPlane, stride2_columns and stride2_filter_lanes) 0.4-1.2%, so not cached per
// geometry. The stride-2 split left out (the strips' vpermt2ps, the pair kernel's vshufps; wrong
// sums, for the measure): dw192/2 @ 28 and dw576/2 @ 14 within noise (0.97-1.03x the time),
// dw96/2 @ 112 and dw144/2 @ 56 0.96-1.0x: the loops wait on their loads, not on the split.
void conv_depthwise_3x3_backward_filter_avx512(const float* x, const float* dy, const WindowGeometry& g,
                                               int64_t channels, int64_t images, int64_t x_image_stride,
                                               int64_t dy_image_stride, float* dw) {
    const FilterSumsLayout layout{g.in_size(), g.out_size(), x_image_stride, dy_image_stride};
    if (depthwise_filter::row_registers_filter_fits(g)) {
        return depthwise_filter::row_registers_filter_sums_avx512(x, dy, g, layout, channels, images, dw);
    }
    if (depthwise_filter::stride2_pair_filter_fits(g)) {
        return depthwise_filter::stride2_pair_filter_sums_avx512(x, dy, g, layout, channels, images, dw);
    }
    if (depthwise_filter::channel_minor_filter_fits(g, images)) {
        return depthwise_filter::channel_minor_filter_sums_avx512(x, dy, g, layout, channels, images, dw);
    }
    if (depthwise_3x3_pairs_fit(g)) return pair_filter_sums_by_channel_groups(x, dy, layout, channels, images, g, dw);
    if (is_flat(g)) return depthwise_filter::flat_filter_sums_avx512(x, dy, g, layout, channels, images, dw);
    // Bands of several strips at pad 1 take the aligned form (stride2_filter_taps) where every row
    // starts on a cache line: dw144/2 @ 56 (rows of 224 bytes, half of them off a line) took
    // 1.02-1.04x the time with it (batch 1, one thread, both ways round; dw96/2 @ 112 0.92-0.93x).
    // Planes of one strip at pad 1 so (dw192/2 @ 28: half the rows on a line, no 33rd column):
    // within noise, 0.90-1.05x the time at batch 1 (same-process A/B both ways round, 2026-12-07).
    const bool aligned = g.pad_begin[2] == 1 && g.out[2] > 16 && g.in[2] % 16 == 0 &&
                         images <= kStride2FilterBandsMaxImages;
    const std::vector<Stride2Columns>& columns = stride2_columns(g.out[2], g.in[2], aligned ? 0 : g.pad_begin[2]);
    const std::vector<Stride2FilterLanes>& lanes = stride2_filter_lanes(columns, g.out[2], g.in[2], aligned);
    if (columns.size() == 1) {
        if (images <= kStride2FilterBandsMaxImages) {
            if (depthwise_filter::stride2_square_plane_at_pad1(g, 28)) {
                return stride2_one_strip_filter_sums<true, 28>(x, dy, g, layout, channels, images, columns[0],
                                                               lanes[0], dw);
            }
            return stride2_one_strip_filter_sums<true>(x, dy, g, layout, channels, images, columns[0], lanes[0], dw);
        }
        return stride2_one_strip_filter_sums<false>(x, dy, g, layout, channels, images, columns[0], lanes[0], dw);
    }
    filter_sums_by_channel_groups(x, dy, layout, channels, images, dw, [&](const float* xc, const float* dyc, __m512* acc) {
        stride2_filter_sums(xc, dyc, g, columns, lanes, images, aligned, acc);
    });
}

}  // namespace mln::kernels
