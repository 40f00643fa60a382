// Compiled with AVX-512: two depthwise 3 x 3 filter gradients (conv_depthwise_3x3.hpp).
// - The flat plane (stride 1, output rows as wide as the input's): the plane read as one flat
//   row, 16 outputs a register across row ends; output p takes tap (kh, kw) from flat source
//   position p + first_tap + kh width + kw. Inside the plane a register holds 16 source
//   positions of each tap row (one load a row) and dy moved by kw lanes (outputs q - kw), so
//   the three column taps share two shifts of dy; at the borders each source row of a register
//   is loaded once and shifted by kw. A tap outside the source is masked out of the sums (not
//   multiplied by a zero), so NaN and Inf reach exactly the sums of the reference twin.
// - Small planes (conv_depthwise_filter_avx512.hpp): 16 channels transposed to channel-minor
//   order, where a tap outside the source is a range of outputs left out of its loop.
// - Stride-1 rows of 13-14 and 17-62 columns: an output row in 1 to 4 registers, each source
//   row loaded once from its column -pad_w and paired with dy shifted by the column tap; rows
//   of 7 columns two channels a register, one in each half.
#include "kernels/cpu/conv/conv_depthwise_filter_avx512.hpp"

#include <numeric>
#include <vector>

#include "kernels/cpu/common/transpose_avx512.hpp"

namespace mln::kernels::depthwise_filter {
namespace {

__mmask16 lanes_below(int64_t n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : n <= 0 ? 0u : (1u << n) - 1u); }
// Lanes 0-7 the eight floats at low, 8-15 those at high. Two 256-bit loads: a 512-bit load that
// crosses a cache line (most of them, from a plane's unaligned rows) cost more than the pair
// and their join (Zen 5, a 49-float plane's copy 2x faster than with 512-bit loads and a
// 128-bit lane shuffle).
inline __m512 load_halves(const float* low, const float* high) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(low)), _mm256_loadu_ps(high), 1);
}

// Lanes i with begin <= i < end.
__mmask16 lanes_between(int64_t begin, int64_t end) {
    return static_cast<__mmask16>(lanes_below(end) & ~lanes_below(begin));
}

// The lane masks of a register near the plane's borders: tap[kh * 3 + kw] the lanes whose tap
// lies in the source (and whose output exists), load[kh][h] the lanes of the h-th 16 floats
// source row kh loads that lie in the plane, dy the outputs.
struct BorderRegister {
    __mmask16 tap[kTaps];
    __mmask16 load[3][2];
    __mmask16 dy;
};

// The flat plane of a stride-1 geometry with out width == in width. Lane masks of the three
// column taps repeat every `period` registers (width / gcd(width, 16)): output_masks[r * 3 + kw]
// holds the lanes of the interior's register r (mod period) whose output (q - kw) has its tap
// column kw in the row. Registers
// [interior_begin, interior_end) have every tap row in the source for all 16 lanes and load
// inside the plane (unmasked); the others take their masks from borders (the first
// interior_begin registers, then those from interior_end).
struct FlatFilterPlane {
    int64_t width, size, first_tap, period, registers, interior_begin, interior_end;
    const __mmask16* output_masks;
    const BorderRegister* borders;

    // The masks of the last plane a thread built, kept for its next call: building them for a
    // 14 x 14 plane took half as long as the sums of the 16 channels a call gets.
    struct Cache {
        int64_t key[5] = {-1, -1, -1, -1, -1};
        std::vector<__mmask16> column_masks, output_masks;
        std::vector<BorderRegister> borders;
    };

    FlatFilterPlane(const WindowGeometry& g, Cache& cache)
        : width(g.in[2]), size(g.out[1] * g.in[2]), registers((size + 15) / 16) {
        const int64_t pad_h = g.pad_begin[1], pad_w = g.pad_begin[2], src_rows = g.in[1], out_rows = g.out[1];
        const int64_t in_size = src_rows * width;
        first_tap = -pad_h * width - pad_w;
        // Tap row kh lies in the source for the outputs [row_begin[kh], row_end[kh]).
        int64_t row_begin[3], row_end[3];
        int64_t begin = 0, end = size;
        for (int64_t kh = 0; kh < 3; ++kh) {
            row_begin[kh] = std::clamp(pad_h - kh, int64_t{0}, out_rows) * width;
            row_end[kh] = std::max(row_begin[kh], std::clamp(src_rows + pad_h - kh, int64_t{0}, out_rows) * width);
            begin = std::max(begin, row_begin[kh]);
            end = std::min(end, row_end[kh]);
            // Loads from p + first_tap + kh width to 32 floats past it inside [0, in_size).
            const int64_t offset = first_tap + kh * width;
            begin = std::max(begin, -offset);
            end = std::min(end, in_size - offset - 16);
        }
        interior_begin = std::min(registers, (begin + 15) / 16);
        interior_end = std::clamp(end >= 16 ? (end - 16) / 16 + 1 : int64_t{0}, interior_begin, registers);

        period = width / std::gcd(width, int64_t{16});
        const int64_t key[5] = {width, src_rows, out_rows, pad_h, pad_w};
        if (!std::equal(key, key + 5, cache.key)) {
            build(pad_w, in_size, row_begin, row_end, cache);
            std::copy(key, key + 5, cache.key);
        }
        output_masks = cache.output_masks.data();
        borders = cache.borders.data();
    }

private:
    void build(int64_t pad_w, int64_t in_size, const int64_t* row_begin, const int64_t* row_end, Cache& storage) const {
        build_flat_column_masks(width, period, pad_w, storage.column_masks);
        // Lane l of register r, tap kw, in flat_plane_filter_sums's interior (lanes of source
        // positions q = r * 16 + l, output q - kw): the column mask of kw moved up kw lanes, its
        // low lanes from the register before.
        storage.output_masks.resize(storage.column_masks.size());
        for (int64_t r = 0; r < period; ++r) {
            const int64_t before = (r + period - 1) % period;
            for (int64_t kw = 0; kw < 3; ++kw) {
                const unsigned here = storage.column_masks[static_cast<size_t>(r * 3 + kw)];
                const unsigned low = storage.column_masks[static_cast<size_t>(before * 3 + kw)];
                storage.output_masks[static_cast<size_t>(r * 3 + kw)] =
                    static_cast<__mmask16>((here << kw) | (kw == 0 ? 0u : low >> (16 - kw)));
            }
        }
        storage.borders.clear();
        for (int64_t v = 0; v < registers; ++v) {
            if (v == interior_begin) v = interior_end;
            if (v == registers) break;
            const int64_t p = v * 16;
            const __mmask16* columns = storage.column_masks.data() + (v % period) * 3;
            BorderRegister b;
            b.dy = lanes_below(size - p);
            for (int64_t kh = 0; kh < 3; ++kh) {
                const __mmask16 rows = lanes_between(row_begin[kh] - p, row_end[kh] - p);
                for (int64_t kw = 0; kw < 3; ++kw) b.tap[kh * 3 + kw] = static_cast<__mmask16>(rows & columns[kw]);
                const int64_t at = p + first_tap + kh * width;
                b.load[kh][0] = lanes_between(-at, in_size - at);
                b.load[kh][1] = lanes_between(-at - 16, in_size - at - 16);
            }
            storage.borders.push_back(b);
        }
    }
};

// acc[kw] += d . (the pair (low, high) of one source row shifted by kw), on the lanes of m[kw].
inline void row_products(__m512 low, __m512 high, __m512 d, const __mmask16* m, __m512* acc) {
    const __m512i lo = _mm512_castps_si512(low), hi = _mm512_castps_si512(high);
    acc[0] = _mm512_mask3_fmadd_ps(low, d, acc[0], m[0]);
    acc[1] = _mm512_mask3_fmadd_ps(_mm512_castsi512_ps(_mm512_alignr_epi32(hi, lo, 1)), d, acc[1], m[1]);
    acc[2] = _mm512_mask3_fmadd_ps(_mm512_castsi512_ps(_mm512_alignr_epi32(hi, lo, 2)), d, acc[2], m[2]);
}

// The products of register v near the plane's borders, every load and tap masked (b).
inline void border_register_products(const float* x, const float* dy, const FlatFilterPlane& f, int64_t v,
                                     const BorderRegister& b, __m512* acc) {
    const int64_t p = v * 16;
    const __m512 d = _mm512_maskz_loadu_ps(b.dy, dy + p);
    for (int64_t kh = 0; kh < 3; ++kh) {
        const float* at = x + p + f.first_tap + kh * f.width;
        const __m512 low = _mm512_maskz_loadu_ps(b.load[kh][0], at);
        const __m512 high = _mm512_maskz_loadu_ps(b.load[kh][1], at + 16);
        row_products(low, high, d, b.tap + kh * 3, acc + kh * 3);
    }
}

// Each interior register prefetches the x and dy lines kFlatPrefetchBytes ahead (the hardware
// prefetchers alone left the loop waiting on L3 and DRAM). MobileNet-v2, one thread, same-process
// A/B both ways round: dw32 @ 112 1.12-1.14x faster at batch 1, 1.2-1.25x at 4, 1.5-1.6x at 32;
// dw144 @ 56 and dw192 @ 28 within 3% at batch 1, 1.4-1.75x faster at 32. 2 KiB ahead ran
// dw32 @ 112 3% faster at batch 1 but 1.1x slower at 32; 8 KiB within 1% at batch 1.
constexpr int64_t kFlatPrefetchBytes = int64_t{4} << 10;

// acc[tap] += dy . the source at the tap, over one plane.
void flat_plane_filter_sums(const float* x, const float* dy, const FlatFilterPlane& f, __m512* acc) {
    __m512 a[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) a[t] = acc[t];
    const int64_t interior_end = f.interior_end;
    const BorderRegister* border = f.borders;
    int64_t v = 0;
    for (; v < f.interior_begin; ++v) border_register_products(x, dy, f, v, *border++, a);
    if (v < interior_end) {
        // Register v holds source positions q = 16 v + lane of each tap row (one load a row) and
        // dy moved up kw lanes (output q - kw), so the three column taps share two shifts of dy
        // instead of shifting each source row twice: 2 shuffles a register, not 9 (shuffles and
        // FMAs share the FP pipes). MobileNet-v2, one thread, same-process A/B both ways round:
        // batch 1 dw32 @ 112 and dw144 @ 56 1.1-1.15x faster, dw192 @ 28 1.0-1.07x; batch 32
        // within 3%. The outputs of the interior are [16 interior_begin, 16 interior_end): the
        // first register leaves out its lanes below kw (outputs before), one more register
        // after the last takes only those.
        const int64_t first = v;
        int64_t r = v % f.period;
        const float* rows[3];
        for (int64_t kh = 0; kh < 3; ++kh) rows[kh] = x + f.first_tap + kh * f.width;
        __m512i before = _mm512_setzero_si512();
        for (; v <= interior_end; ++v, r = r + 1 == f.period ? 0 : r + 1) {
            const int64_t q = v * 16;
            _mm_prefetch(reinterpret_cast<const char*>(rows[2] + q) + kFlatPrefetchBytes, _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(dy + q) + kFlatPrefetchBytes, _MM_HINT_T0);
            const __m512i here =
                v < interior_end ? _mm512_castps_si512(_mm512_loadu_ps(dy + q)) : _mm512_setzero_si512();
            const __m512 d[3] = {_mm512_castsi512_ps(here),
                                 _mm512_castsi512_ps(_mm512_alignr_epi32(here, before, 15)),
                                 _mm512_castsi512_ps(_mm512_alignr_epi32(here, before, 14))};
            before = here;
            __mmask16 m[3];
            for (int64_t kw = 0; kw < 3; ++kw) {
                m[kw] = f.output_masks[r * 3 + kw];
                if (v == first) m[kw] = static_cast<__mmask16>(m[kw] & ~lanes_below(kw));
                if (v == interior_end) m[kw] = static_cast<__mmask16>(m[kw] & lanes_below(kw));
            }
            for (int64_t kh = 0; kh < 3; ++kh) {
                // In halves: 512-bit loads (most of them across a cache line) ran 1.4-1.5x slower.
                const __m512 source = load_halves(rows[kh] + q, rows[kh] + q + 8);
                for (int64_t kw = 0; kw < 3; ++kw) {
                    a[kh * 3 + kw] = _mm512_mask3_fmadd_ps(source, d[kw], a[kh * 3 + kw], m[kw]);
                }
            }
        }
        v = interior_end;
    }
    for (; v < f.registers; ++v) border_register_products(x, dy, f, v, *border++, a);
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = a[t];
}

thread_local FlatFilterPlane::Cache t_flat_plane;

// Flat planes go 128 channels an image (filter_sums_by_channel_groups): each image's run of x and
// dy 8x as long as with 16, so fewer runs start on lines not yet fetched. MobileNet-v2 batch 32,
// same-process A/B: dw192 @ 28, dw384 and dw576 @ 14 1.13-1.17x faster on one thread,
// 1.04-1.07x on two; batch 1 within 2%. Spans of 32 ran 4-8% slower than 64, 256 within 2% of
// 128. The stride-2 column strips stay at 16: spans there ran dw144/2 @ 56 and dw192/2 @ 28
// 1.07-1.2x faster at batch 32 but dw192/2 @ 28 1.03-1.2x slower at batch 1, as much from where
// the sums lay (their address moved by 3 or 7 channels: 1.08x and 1.21x) as from the span.
constexpr int64_t kFlatFilterSpan = 128;

// ---- Small planes: 16 channels at a time in channel-minor order (oneDNN's nChw16c). ----

// Four positions of 16 channels to channel-minor order: register i is built from four 128-bit
// loads (lane k: channel i + 4k's four positions), so one 4 x 4 transpose inside the 128-bit
// lanes (8 shuffles) finishes the job: no lane-crossing stages as in a 16 x 16 register tile.
// Against that tile (64 shuffles, partial tiles through a zero-filled copy), one 16-channel
// plane ran 2.6-2.8x faster (7 x 7, 14 x 14, 16 x 16; Zen 5, same-process interleaved).
// `count` positions (< 4 allowed) of the channels below `channels`, the others zero: the planes
// or channel groups the eight-position copy does not take (masked loads; the full copy of four
// positions with four row pointers, once the tail of the 16-channel planes, gave way to the
// overlapping eight positions).
inline void transpose_four_positions(const float* src, int64_t plane, int64_t channels, int64_t count, float* dst) {
    const __mmask8 positions = static_cast<__mmask8>(count >= 4 ? 0xFu : (1u << count) - 1u);
    __m512 r[4];
    for (int64_t i = 0; i < 4; ++i) {
        __m512 v = _mm512_setzero_ps();
        for (int64_t k = 0; k < 4; ++k) {
            const int64_t c = i + 4 * k;
            if (c < channels) {
                v = _mm512_mask_broadcast_f32x4(v, static_cast<__mmask16>(0xFu << (4 * k)),
                                                _mm_maskz_loadu_ps(positions, src + c * plane));
            }
        }
        r[i] = v;
    }
    __m512 columns[4];
    transpose4x4_in_quarters(r, columns);
    for (int64_t j = 0; j < 4; ++j) {
        if (j < count) _mm512_store_ps(dst + j * 16, columns[j]);
    }
}

// Eight positions of all 16 channels to channel-minor order: register j is built from two
// 256-bit loads (lanes 0-7: channel j's eight positions, 8-15: channel j + 8's), so an 8 x 8
// transpose inside each 256-bit half finishes the job; its last stage (joining 128-bit lanes of
// two registers) one two-source permute. 32 shuffles per 128 floats, against 40 from four
// positions at a time: 7 x 7 6-7% faster, 14 x 14 at stride 2 3-4%, at stride 1 within 2%
// (one thread, batch 1, same-process A/B both ways round). Alone from L1 (a microbenchmark),
// channel pairs (c, c + 4), whose last stage is a vshuff32x4 (no index registers, no copy of the
// operand vpermt2ps overwrites), ran 8-15% faster, but within 1% in the kernel (dw384 @ 14 to
// dw960 @ 7); 512-bit loads into the 16 x 16 register transpose, or halves joined by a broadcast
// load and a blend instead of the insert, no faster.
inline void transpose_eight_positions(const float* src, int64_t plane, float* dst) {
    __m512 r[8];
    for (int64_t j = 0; j < 8; ++j) {
        r[j] = load_halves(src + j * plane, src + (j + 8) * plane);
    }
    __m512 t[8];
    for (int64_t j = 0; j < 8; j += 2) {
        t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
    }
    // u[k] (k < 4: channels 0-3 and 8-11; k >= 4: 4-7 and 12-15), 128-bit lane L of a half: the
    // four channels at position (k % 4) + 4 L.
    __m512 u[8];
    for (int64_t h = 0; h < 8; h += 4) {
        u[h] = _mm512_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[h + 1] = _mm512_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[h + 2] = _mm512_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[h + 3] = _mm512_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    const __m512i low = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    const __m512i high = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int64_t k = 0; k < 4; ++k) {
        _mm512_store_ps(dst + k * 16, _mm512_permutex2var_ps(u[k], low, u[k + 4]));
        _mm512_store_ps(dst + (k + 4) * 16, _mm512_permutex2var_ps(u[k], high, u[k + 4]));
    }
}

// dst[p * 16 + c] = src[c * plane + p] for p < plane, c < channels (0 for the others).
void transpose_to_channel_minor(const float* src, int64_t plane, int64_t channels, float* dst) {
    int64_t p = 0;
    if (channels == 16 && plane >= 8) {
        for (; p + 8 <= plane; p += 8) transpose_eight_positions(src + p, plane, dst + p * 16);
        // The last positions as the eight up to the end, writing some again: against four at a
        // time and a masked partial copy, 7 x 7 2-3% faster at batch 1 and 1.1-1.2x at 32,
        // 14 x 14 within 1% at batch 1 and 1.03-1.3x at 32, dy of 14 x 14/2 5% (one thread,
        // same-process min CPU time both ways round, a loaded machine). A gather of the one
        // position a 49-position plane leaves ran 1-3% slower than the eight again.
        if (p < plane) transpose_eight_positions(src + plane - 8, plane, dst + (plane - 8) * 16);
        return;
    }
    for (; p < plane; p += 4) transpose_four_positions(src + p, plane, channels, plane - p, dst + p * 16);
}

// Prefetches floats [from, from + count) into L2. The next image's planes of a group of channels
// lie a whole image of channels away, where the hardware prefetchers did not follow: at batch
// 32 (from DRAM) the 7 x 7 planes ran 1.2x slower without this. At batch 1, prefetching the
// next 16 channels' planes (from L2) into L1 before a group's copies ran 1.2x slower at 7 x 7
// and 1.35-1.5x at 14 x 14.
inline void prefetch_to_l2(const float* from, int64_t count) {
    const char* at = reinterpret_cast<const char*>(from);
    for (int64_t b = 0; b < count * static_cast<int64_t>(sizeof(float)); b += 64) _mm_prefetch(at + b, _MM_HINT_T1);
}

// The outputs [begin, end) along one axis whose tap k lies in the source: 0 <= o stride - pad + k < in.
struct TapRange {
    int64_t begin, end;
    TapRange(int64_t in, int64_t out, int64_t stride, int64_t pad, int64_t k) {
        const int64_t last = in - 1 + pad - k;  // o stride <= last
        end = last < 0 ? 0 : std::min(out, last / stride + 1);
        begin = std::min(end, pad - k <= 0 ? int64_t{0} : (pad - k + stride - 1) / stride);
    }
};

struct ChannelMinorPlane {
    int64_t in_width, out_rows, out_width, stride_h, stride_w, pad_h, pad_w;
    TapRange rows[3], columns[3];
    int64_t all_columns_begin, all_columns_end;  // outputs whose three column taps lie in the row
    // At column stride 1: the output before all_columns_begin lacks only its kw 0 tap (left),
    // the one at all_columns_end only its kw 2 (right), so channel_minor_inner_row takes them.
    bool left_edge_slides, right_edge_slides;

    explicit ChannelMinorPlane(const WindowGeometry& g)
        : in_width(g.in[2]), out_rows(g.out[1]), out_width(g.out[2]), stride_h(g.stride[1]), stride_w(g.stride[2]),
          pad_h(g.pad_begin[1]), pad_w(g.pad_begin[2]),
          rows{{g.in[1], g.out[1], g.stride[1], g.pad_begin[1], 0}, {g.in[1], g.out[1], g.stride[1], g.pad_begin[1], 1},
               {g.in[1], g.out[1], g.stride[1], g.pad_begin[1], 2}},
          columns{{g.in[2], g.out[2], g.stride[2], g.pad_begin[2], 0}, {g.in[2], g.out[2], g.stride[2], g.pad_begin[2], 1},
                  {g.in[2], g.out[2], g.stride[2], g.pad_begin[2], 2}} {
        all_columns_begin = std::max({columns[0].begin, columns[1].begin, columns[2].begin});
        all_columns_end = std::max(all_columns_begin, std::min({columns[0].end, columns[1].end, columns[2].end}));
        const auto has_tap = [&](int64_t ow, int64_t kw) { return ow >= columns[kw].begin && ow < columns[kw].end; };
        const bool slides = stride_w == 1 && all_columns_begin < all_columns_end;
        const int64_t left = all_columns_begin - 1, right = all_columns_end;
        left_edge_slides = slides && left >= 0 && has_tap(left, 1) && has_tap(left, 2);
        right_edge_slides = slides && right < out_width && has_tap(right, 0) && has_tap(right, 1);
    }
};

// acc[tap] += the products of output ow of one row (dy at d_row) with its taps in the source
// rows x_rows[kh] (present[kh]); AllColumns: every column tap in the row.
template <bool AllColumns>
inline void channel_minor_products(const float* const* x_rows, const bool* present, const float* d_row, int64_t ow,
                                   const ChannelMinorPlane& c, __m512* acc) {
    const __m512 d = _mm512_load_ps(d_row + ow * 16);
    const int64_t column = ow * c.stride_w - c.pad_w;
    for (int64_t kh = 0; kh < 3; ++kh) {
        if (!present[kh]) continue;
        for (int64_t kw = 0; kw < 3; ++kw) {
            if (!AllColumns && (ow < c.columns[kw].begin || ow >= c.columns[kw].end)) continue;
            acc[kh * 3 + kw] = _mm512_fmadd_ps(_mm512_load_ps(x_rows[kh] + (column + kw) * 16), d, acc[kh * 3 + kw]);
        }
    }
}

// channel_minor_products over outputs [begin, end) of a row whose source rows [KhBegin, KhEnd)
// are present (the others not) and whose column taps all lie in it, at column stride 1: each
// output's taps are the previous output's moved one column, so one new source column is loaded
// per row (4 loads per 9 FMAs, not 10). The top and bottom rows (two source rows) here too, not
// output by output: 14 x 14 and 7 x 7 0-4% faster at batch 1, dw384 @ 14 2-3% at 32 (others
// within noise; MobileNet-v2, one thread, same-process min CPU time both ways round).
// Left, right: outputs begin - 1 and end too, whose taps other than kw 0, kw 2 are the columns
// loaded first and last (the border columns of a row of pad 1 at both ends), not output by
// output: 14 x 14 and 7 x 7 1.1-1.2x faster at batch 1, 1.0-1.25x at 32 (one thread,
// same-process min CPU time both ways round, a loaded machine).
template <int64_t KhBegin, int64_t KhEnd>
inline void channel_minor_inner_row(const float* const* x_rows, const float* d_row, int64_t begin, int64_t end,
                                    int64_t pad_w, bool left, bool right, __m512* acc) {
    if (begin >= end) return;
    __m512 x[3][3];
    for (int64_t kh = KhBegin; kh < KhEnd; ++kh) {
        for (int64_t kw = 0; kw < 2; ++kw) x[kh][kw + 1] = _mm512_load_ps(x_rows[kh] + (begin - pad_w + kw) * 16);
    }
    if (left) {
        const __m512 d = _mm512_load_ps(d_row + (begin - 1) * 16);
        for (int64_t kh = KhBegin; kh < KhEnd; ++kh) {
            for (int64_t kw = 1; kw < 3; ++kw) acc[kh * 3 + kw] = _mm512_fmadd_ps(x[kh][kw], d, acc[kh * 3 + kw]);
        }
    }
    // Odd outputs into their own nine sums: two FMA chains a tap (nine chains of 4-cycle FMAs
    // barely cover two FMAs a cycle). 14 x 14 1-3.5% faster at batch 1, 2-15% at 32; 7 x 7
    // within 1% (MobileNet-v2, one thread, same-process min CPU time both ways round).
    __m512 odd[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) odd[t] = _mm512_setzero_ps();
    const auto output = [&](int64_t ow, __m512* sums) {
        const __m512 d = _mm512_load_ps(d_row + ow * 16);
        for (int64_t kh = KhBegin; kh < KhEnd; ++kh) {
            x[kh][0] = x[kh][1];
            x[kh][1] = x[kh][2];
            x[kh][2] = _mm512_load_ps(x_rows[kh] + (ow - pad_w + 2) * 16);
            for (int64_t kw = 0; kw < 3; ++kw) sums[kh * 3 + kw] = _mm512_fmadd_ps(x[kh][kw], d, sums[kh * 3 + kw]);
        }
    };
    int64_t ow = begin;
    for (; ow + 2 <= end; ow += 2) {
        output(ow, acc);
        output(ow + 1, odd);
    }
    if (ow < end) output(ow, acc);
    for (int64_t t = KhBegin * 3; t < KhEnd * 3; ++t) acc[t] = _mm512_add_ps(acc[t], odd[t]);
    if (right) {
        const __m512 d = _mm512_load_ps(d_row + end * 16);
        for (int64_t kh = KhBegin; kh < KhEnd; ++kh) {
            for (int64_t kw = 0; kw < 2; ++kw) acc[kh * 3 + kw] = _mm512_fmadd_ps(x[kh][kw + 1], d, acc[kh * 3 + kw]);
        }
    }
}

// acc[tap] (lane: channel) += dy . the source at the tap over one image's plane, both in
// channel-minor order: each tap's products are one FMA over 16 channels, no lane masks, no
// sums across lanes.
void channel_minor_plane_sums(const float* xt, const float* dyt, const ChannelMinorPlane& c, __m512* acc) {
    __m512 a[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) a[t] = acc[t];
    for (int64_t oh = 0; oh < c.out_rows; ++oh) {
        const float* x_rows[3];
        bool present[3];
        for (int64_t kh = 0; kh < 3; ++kh) {
            present[kh] = oh >= c.rows[kh].begin && oh < c.rows[kh].end;
            x_rows[kh] = xt + (oh * c.stride_h - c.pad_h + kh) * c.in_width * 16;
        }
        const float* d_row = dyt + oh * c.out_width * 16;
        int64_t ow = 0;
        const bool slide = c.stride_w == 1 && present[1] && (present[0] || present[2]);
        const bool left = slide && c.left_edge_slides, right = slide && c.right_edge_slides;
        for (; ow < c.all_columns_begin - (left ? 1 : 0); ++ow) {
            channel_minor_products<false>(x_rows, present, d_row, ow, c, a);
        }
        if (slide) {
            const int64_t begin = c.all_columns_begin, end = c.all_columns_end;
            if (!present[0]) {
                channel_minor_inner_row<1, 3>(x_rows, d_row, begin, end, c.pad_w, left, right, a);
            } else if (!present[2]) {
                channel_minor_inner_row<0, 2>(x_rows, d_row, begin, end, c.pad_w, left, right, a);
            } else {
                channel_minor_inner_row<0, 3>(x_rows, d_row, begin, end, c.pad_w, left, right, a);
            }
            ow = std::max(begin, end) + (right ? 1 : 0);
        }
        for (; ow < c.all_columns_end; ++ow) channel_minor_products<true>(x_rows, present, d_row, ow, c, a);
        for (; ow < c.out_width; ++ow) channel_minor_products<false>(x_rows, present, d_row, ow, c, a);
    }
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = a[t];
}

// ---- Stride-1 rows of 7, 13-14 and 17-62 columns: whole output rows in 1 to 4 registers. ----

// Output row oh lies in registers k = 0..R-1 (lane l: column 16 k + l) and, for each kh, source
// row oh - pad_h + kh in R registers from its column -pad_w (lane l of register k: column 16 k -
// pad_w + l): source lane l pairs with output 16 k + l - kw at tap kw, so the three column taps
// share two shifts of dy (registers k and k - 1 joined) and the source is not shifted; each
// source row is loaded once for the three output rows that read it, and a tap's lanes are the
// same in every row. No copy to channel-minor order (whose two copies were half the time of a
// 14 x 14 call), no lane masks that change from register to register as in the flat plane, 14
// of 16 lanes busy on 14-wide rows, 28 of 32 on 28-wide. Against the channel-minor copy
// (batches 1-23 at 14 x 14) and the flat plane (the others), MobileNet-v2, one thread,
// same-process A/B: dw576 and dw384 @ 14 0.88-0.93x the time at batch 1,
// 0.62-0.67x at 4, 0.6-0.86x at 32; dw192 @ 28 0.69x, 0.67x, 0.88-0.96x; dw144 @ 56 0.95-0.98x,
// 0.9x, 0.77x. Other widths (256 channels at batch 1 / 32, two channels a register and the
// channel-minor copy below them): 8 columns 1.8x / 1.2-1.45x slower, 10 1.46x slower / 0.6x,
// 12 1.05-1.12x slower / 0.6-0.7x, 13 0.96-1.03x / 0.67x, 15 and 16 (two registers, half
// empty) 1.3-1.4x slower / 0.97-1.0x, 17 0.87-0.91x / 0.91-0.96x, 20-62 0.7-0.98x / 0.8-0.95x;
// so 13-14 and 17-62. Rows of 7 columns (7 x 7 at pad 1: source columns -1 to 6, 8 lanes) two
// channels a register, one in each 256-bit half, their sums reduced in pairs
// (sum_across_channel_pairs), against the channel-minor copy (dw960 @ 7, one thread, same-process
// A/B): 0.89x the time at batch 1, 0.75-0.86x at 2-32; two threads at 32 within noise
// (0.88-1.06x one way round, 1.1-1.2x faster the other). Each register's row prefetches the
// lines of its first channel only: both channels' 1.1-1.15x slower at batch 1.
// Lost on 7 x 7 at pad 1 (Zen 5, same-process A/B both ways round, 2026-12-07): the plane
// flattened at a pitch of 8 (dy and the source with a zero row above placed by masked merge
// loads, lane 7 of each row zero; each tap one dot product of four registers, the column taps
// by valignd of the source, the row tap by dy loaded 8 lanes later: 33 masked FMAs a channel,
// no row loop; each channel's nine sums reduced alone, store_channel_sums<1>): dw960 @ 7
// 1.23-1.43x the time at batch 1, 1.27-1.45x at batch 32 on two threads, and 1.3x at batch 1
// with its reduction left out: 49 of 64 lanes and a channel's sums reduced alone against the
// halves' 56 of 64 and sums reduced four channels at a time. Placing the rows by vexpandps
// ran 1.5x slower than by vpermps (Zen 5 microbenchmark).
constexpr int64_t kRowRegistersMaxRows = 64;
// A row's registers at most: rows of up to 16 R - 2 columns (the source from column -1 to width).
constexpr int64_t kRowRegistersMaxPerRow = 4;

// Rows of at most 8 source columns from column -pad_w (7 x 7 at pad 1) go two channels a
// register, one in each 256-bit half (row_registers_plane_sums's Halves).
constexpr int64_t kRowRegistersHalfLanes = 8;

struct RowRegisterPlane {
    int64_t width, rows, in_size, pad_h, pad_w, per_row;
    // A row's source from column -pad_w fits 8 lanes: two channels a register.
    bool halves;
    // Lanes of a row's register k whose tap kw lies in the row and whose output exists.
    __mmask16 interior_taps[kRowRegistersMaxPerRow][3];
    // Per output row: bit kh set if source row oh - pad_h + kh lies in the plane.
    uint8_t inside[kRowRegistersMaxRows];
    // The lanes inside the plane of register k of the source row output row oh loads (oh -
    // pad_h + 2): computed per load, they cost more integer work than the row's FMAs.
    __mmask16 newest_lanes[kRowRegistersMaxRows][kRowRegistersMaxPerRow];
    // The same for the two source rows loaded before the first output row (-pad_h, 1 - pad_h).
    __mmask16 leading_lanes[2][kRowRegistersMaxPerRow];

    explicit RowRegisterPlane(const WindowGeometry& g)
        : width(g.in[2]), rows(g.out[1]), in_size(g.in_size()), pad_h(g.pad_begin[1]), pad_w(g.pad_begin[2]),
          per_row((g.in[2] + 2 + 15) / 16), halves(g.in[2] + g.pad_begin[2] <= kRowRegistersHalfLanes) {
        for (int64_t k = 0; k < per_row; ++k) {
            for (int64_t kw = 0; kw < 3; ++kw) {
                // Lane l: source column 16 k - pad_w + l, output 16 k + l - kw.
                interior_taps[k][kw] = static_cast<__mmask16>(lanes_between(pad_w - 16 * k, width + pad_w - 16 * k) &
                                                              lanes_between(kw - 16 * k, width + kw - 16 * k));
                // Halves: the same lanes in each half (the low half's taps all below lane 8).
                if (halves) interior_taps[k][kw] = static_cast<__mmask16>(interior_taps[k][kw] * 0x0101u);
            }
        }
        for (int64_t oh = 0; oh < rows; ++oh) {
            inside[oh] = 0;
            for (int64_t kh = 0; kh < 3; ++kh) {
                const int64_t source_row = oh - pad_h + kh;
                if (source_row >= 0 && source_row < g.in[1]) inside[oh] = static_cast<uint8_t>(inside[oh] | 1u << kh);
            }
            for (int64_t k = 0; k < per_row; ++k) newest_lanes[oh][k] = source_lanes(oh - pad_h + 2, k);
        }
        for (int64_t kh = 0; kh < 2; ++kh) {
            for (int64_t k = 0; k < per_row; ++k) leading_lanes[kh][k] = source_lanes(kh - pad_h, k);
        }
    }

    int64_t source_offset(int64_t row) const { return row * width - pad_w; }
    // The lanes inside the plane of the 16 source positions from row `row`'s column 16 k - pad_w.
    // Halves: 8 positions (the low 8 bits).
    __mmask16 source_lanes(int64_t row, int64_t k) const {
        const int64_t start = source_offset(row) + 16 * k;
        return static_cast<__mmask16>(lanes_between(-start, in_size - start) & (halves ? 0xFFu : 0xFFFFu));
    }
};

// acc[kh * 3 + kw] += the source rows' register k s[kh] . dy moved up kw lanes (d: the row's
// register k of dy, before: register k - 1, zero for the first), on the lanes of taps[kw];
// Inside: every kh, else those of the bits of `inside`.
template <bool Inside>
MLN_ALWAYS_INLINE void row_register_products(const __m512* s, __m512 d, __m512 before, const __mmask16* taps,
                                             unsigned inside, __m512* acc) {
    const __m512i di = _mm512_castps_si512(d), bi = _mm512_castps_si512(before);
    const __m512 shifted[3] = {d, _mm512_castsi512_ps(_mm512_alignr_epi32(di, bi, 15)),
                               _mm512_castsi512_ps(_mm512_alignr_epi32(di, bi, 14))};
    MLN_UNROLL(9)
    for (int64_t kh = 0; kh < 3; ++kh) {
        if (!Inside && (inside & (1u << kh)) == 0) continue;
        MLN_UNROLL(9)
        for (int64_t kw = 0; kw < 3; ++kw) {
            acc[kh * 3 + kw] = _mm512_mask3_fmadd_ps(s[kh], shifted[kw], acc[kh * 3 + kw], taps[kw]);
        }
    }
}

// A row's products over C channels of R registers each (s: their three source rows, d: their dy
// row), through row_register_products.
template <bool Inside, int64_t C, int64_t R>
MLN_ALWAYS_INLINE void row_products(const __m512 (&s)[C][R][3], const __m512 (&d)[C][R], const __mmask16 (&taps)[R][3],
                                    unsigned inside, __m512 (&acc)[C][kTaps]) {
    MLN_UNROLL(9)
    for (int64_t c = 0; c < C; ++c) {
        MLN_UNROLL(9)
        for (int64_t k = 0; k < R; ++k) {
            const __m512 before = k == 0 ? _mm512_setzero_ps() : d[c][k - 1];
            row_register_products<Inside>(s[c][k], d[c][k], before, taps[k], inside, acc[c]);
        }
    }
}

// acc[c * 9 + tap] += dy . the source at the tap over the planes of C consecutive channels (x
// and dy planes x_step and dy_step apart), rows of R registers. Two channels at once where a row
// is one register: 18 chains of FMAs where nine of 4-cycle FMAs, one a row each, barely kept two
// FMAs a cycle busy; 1.1x faster than one channel at batch 1 (dw576 and dw384 @ 14), 1.0-1.35x
// at 32. Each row prefetches the lines of x and dy kFlatPrefetchBytes ahead, as the flat plane:
// without, dw576 @ 14 ran 1.45x slower at batch 1 and 2.7x at 32 (loads from L2 and DRAM).
// 8 KiB ahead for rows of several registers ran 1.07-1.09x slower at batch 1 on dw192 @ 28,
// 1.0-1.03x on dw144 @ 56 (same-process A/B both ways round, 2026-12-07).
// Unmasked loads where the row allows ran 3-7% slower than the masked ones. Loops unrolled by
// force (MLN_UNROLL): without, GCC 12 kept the sums on the stack (a load and a masked store
// around each FMA) and 14 x 14 ran 2.3-2.6x slower. Tried and lost (Zen 5, one thread, batch 1,
// same-process A/B): dy's column shifts as two more masked loads instead of two valignd, 1.1-1.3x
// slower on 7- to 56-wide rows; the rows with all three source rows inside and every lane in the
// plane in a loop of their own (no row test, masks fixed), 1.13-1.23x slower on 7 x 7 and 14 x 14
// (GCC 12's code for the three loops); prefetching 2 KiB ahead, within noise; in the halves
// every other row only (a row 28 bytes), within noise.
// First_image: acc set, not added to.
// Halves (R = 1): register c holds channels 2c and 2c + 1, one in each 256-bit half, and so do
// their sums acc[2c * 9 + tap] (filter_sums_by_channel_groups's SumLanes::PairHalves); last_pair_full
// false: the last register's second channel absent (zeros). StoresDw (the last image): the
// channels' filter gradients stored in dw (store_pair_halves_sums, store_channel_sums) instead of
// the sums in acc, so filter_sums_by_channel_groups reduces nothing (its LastImageStores).
// Against its per-tap reduction and transpose, MobileNet-v2 batch 1, one thread, same-process A/B
// both ways round (Zen 5, 2026-12-07): dw960 @ 7 0.86-0.94x the time, dw576 @ 14 0.88-0.98x,
// dw384 @ 14 0.89-0.94x; batch 32 on one and two threads within noise (0.95-1.05x, a loaded
// machine). A separate instance for the last image: one whose dw test ran at run time ran dw960
// @ 7 1.0-1.04x slower than before at batch 32 (GCC 12's code for the row loop).
// Where the time goes (dw960 @ 7, batch 1, one thread, perf, 2026-12-07): the row loop about 60%
// of the cycles (its 18 masked FMAs a row of two registers near two a cycle), each call's setup
// (masks, addresses, the first two source rows) about 12%, store_pair_halves_sums about 20%.
// Measured by leaving pieces out (wrong sums; same-process A/B, batch 1, 2026-12-07): the
// reduction replaced by one add a register 0.84-0.92x the time; dy's halves as one 512-bit load
// 0.88-0.91x; no prefetches, within noise. Tried and lost: channel b's half joined by a
// masked 512-bit merge load from 8 floats before its row instead of the insert 1.08x slower; dy's
// halves unmasked (their lane 7 never in a product; the last row would still need masks)
// 0.94-0.99x loaded, 0.98-0.99x on a quieter machine; x's halves unmasked 1.02-1.03x slower.
// NextImage (the halves before the last image): the prefetches go to the same rows of the next
// image (x_image_bytes and dy_image_bytes on), the planes read a span of 16 channels later,
// not kFlatPrefetchBytes on in this image (read only after every image of the span). dw960 @ 7,
// Zen 5, same-process A/B both ways round, 2026-12-07: batch 32 on two threads 0.76-0.89x the
// time, on one 0.86-0.88x, batch 16 0.90-0.96x, 4 0.87-0.94x, 8 0.92-1.0x, 2 within noise. The
// rows of one register (14 x 14) so ran dw384 and dw576 @ 14 1.2x slower at batch 4 and
// 1.17-1.33x at 16 (a span's 14 x 14 planes 25 KiB, not 6), within noise at 32 on two threads
// (0.95-1.03x), so they keep kFlatPrefetchBytes.
// FixedRows (> 0): the plane has that many rows in and out at pad 1, so the row loop is unrolled
// whole: each row's border test and its source rows' moves between registers are settled at
// compile time. The halves' 7 x 7 on the last image (row_registers_sums; dw960 @ 7, batch 1, one
// thread, same-process A/B both ways round, 2026-12-07): 0.86-0.96x the time. The rows of one
// register unrolled so at 14 x 14 ran dw576 @ 14 1.03-1.06x slower, dw384 @ 14 1.01-1.03x (the
// code 3.5x as long), so they keep the loop.
template <int64_t C, int64_t R, bool Halves = false, bool StoresDw = false, bool NextImage = false,
          int64_t FixedRows = 0>
void row_registers_plane_sums(const float* x, int64_t x_step, const float* dy, int64_t dy_step,
                              const RowRegisterPlane& p, __m512* acc, bool first_image, bool last_pair_full = true,
                              float* dw = nullptr, int64_t x_image_bytes = 0, int64_t dy_image_bytes = 0) {
    static_assert(!Halves || R == 1);
    constexpr int64_t kChannelsPerRegister = Halves ? 2 : 1;
    __m512 a[C][kTaps];
    MLN_UNROLL(9)
    for (int64_t c = 0; c < C; ++c) {
        MLN_UNROLL(9)
        for (int64_t t = 0; t < kTaps; ++t) {
            a[c][t] = first_image ? _mm512_setzero_ps() : acc[c * kChannelsPerRegister * kTaps + t];
        }
    }
    __mmask8 second[C];
    MLN_UNROLL(9)
    for (int64_t c = 0; c < C; ++c) second[c] = c + 1 < C || last_pair_full ? 0xFF : 0;
    // Register c's 16 floats of channel c from `at` (k: the row's register), or Halves: 8 of
    // channels 2c and 2c + 1.
    const auto load = [&](const float* at, int64_t step, int64_t c, int64_t k, __mmask16 lanes) {
        if constexpr (Halves) {
            const __m256 low = _mm256_maskz_loadu_ps(static_cast<__mmask8>(lanes), at + 2 * c * step);
            const __m256 high =
                _mm256_maskz_loadu_ps(static_cast<__mmask8>(lanes & second[c]), at + (2 * c + 1) * step);
            return _mm512_insertf32x8(_mm512_castps256_ps512(low), high, 1);
        } else {
            return _mm512_maskz_loadu_ps(lanes, at + c * step + 16 * k);
        }
    };
    __mmask16 taps[R][3];
    __mmask16 outputs[R];
    MLN_UNROLL(9)
    for (int64_t k = 0; k < R; ++k) {
        MLN_UNROLL(9)
        for (int64_t kw = 0; kw < 3; ++kw) taps[k][kw] = p.interior_taps[k][kw];
        outputs[k] = lanes_below(p.width - 16 * k);
    }
    const int64_t width = p.width;
    const int64_t x_ahead = NextImage ? x_image_bytes : kFlatPrefetchBytes;
    const int64_t dy_ahead = NextImage ? dy_image_bytes : kFlatPrefetchBytes;
    __m512 s[C][R][3];
    MLN_UNROLL(9)
    for (int64_t c = 0; c < C; ++c) {
        MLN_UNROLL(9)
        for (int64_t kh = 0; kh < 2; ++kh) {
            MLN_UNROLL(9)
            for (int64_t k = 0; k < R; ++k) {
                s[c][k][kh] = load(x + p.source_offset(kh - p.pad_h), x_step, c, k, p.leading_lanes[kh][k]);
            }
        }
    }
    // The source row output row oh loads, from column -pad_w.
    const float* newest = x + p.source_offset(2 - p.pad_h);
    const auto row = [&](int64_t oh) MLN_LAMBDA_ALWAYS_INLINE {
        const float* d_row = dy + oh * width;
        __m512 d[C][R];
        MLN_UNROLL(9)
        for (int64_t c = 0; c < C; ++c) {
            MLN_UNROLL(9)
            for (int64_t k = 0; k < R; ++k) {
                s[c][k][2] = load(newest, x_step, c, k, p.newest_lanes[oh][k]);
                const int64_t channel = c * kChannelsPerRegister;
                _mm_prefetch(reinterpret_cast<const char*>(newest + channel * x_step + 16 * k) + x_ahead,
                             _MM_HINT_T0);
                _mm_prefetch(reinterpret_cast<const char*>(d_row + channel * dy_step + 16 * k) + dy_ahead,
                             _MM_HINT_T0);
                d[c][k] = load(d_row, dy_step, c, k, outputs[k]);
            }
        }
        // Fixed rows: the source rows above the first output row and below the last outside (pad 1).
        const unsigned inside = FixedRows == 0 ? p.inside[oh] : oh == 0 ? 6u : oh + 1 == FixedRows ? 3u : 7u;
        // The row's border test once, around all of its products.
        if (inside == 7) {
            row_products<true>(s, d, taps, inside, a);
        } else {
            row_products<false>(s, d, taps, inside, a);
        }
        MLN_UNROLL(9)
        for (int64_t c = 0; c < C; ++c) {
            MLN_UNROLL(9)
            for (int64_t k = 0; k < R; ++k) {
                s[c][k][0] = s[c][k][1];
                s[c][k][1] = s[c][k][2];
            }
        }
        newest += width;
    };
    if constexpr (FixedRows > 0) {
        MLN_UNROLL(16)
        for (int64_t oh = 0; oh < FixedRows; ++oh) row(oh);
    } else {
        for (int64_t oh = 0; oh < p.rows; ++oh) row(oh);
    }
    if constexpr (StoresDw) {
        if constexpr (Halves) {
            return store_pair_halves_sums<C>(a, 2 * C - (last_pair_full ? 0 : 1), dw);
        } else {
            return store_channel_sums<C>(a, dw);
        }
    }
    MLN_UNROLL(9)
    for (int64_t c = 0; c < C; ++c) {
        MLN_UNROLL(9)
        for (int64_t t = 0; t < kTaps; ++t) acc[c * kChannelsPerRegister * kTaps + t] = a[c][t];
    }
}

// row_registers_plane_sums for filter_sums_by_channel_groups's LastImageStores: last_dw set (the
// last image), the instance that stores dw; the halves' other images prefetch the next image's.
// The halves' 7 x 7 planes at pad 1 (MobileNet-v2's last stage) store dw from the unrolled rows
// (FixedRows); the other images' instance so ran dw960 @ 7 1.16-1.25x slower at batch 32 on two
// threads, 1.5x with the plane's sizes and steps constants too, so it keeps the loop; the last
// image's with those constants (each row a constant offset, as the stride-2 pairs' FixedIn):
// within noise at batch 1 (0.98-1.05x; same-process A/B both ways round, 2026-12-07).
template <int64_t C, int64_t R, bool Halves = false>
MLN_ALWAYS_INLINE void row_registers_sums(const float* x, const float* dy, const FilterSumsLayout& l,
                                          const RowRegisterPlane& p, __m512* acc, bool first_image,
                                          bool last_pair_full, float* last_dw) {
    if (last_dw != nullptr) {
        constexpr int64_t kFixedRows = 7;
        if (Halves && p.rows == kFixedRows && p.pad_h == 1 && p.in_size == kFixedRows * p.width) {
            return row_registers_plane_sums<C, R, Halves, true, false, Halves ? kFixedRows : 0>(
                x, l.in_size, dy, l.out_size, p, acc, first_image, last_pair_full, last_dw);
        }
        return row_registers_plane_sums<C, R, Halves, true>(x, l.in_size, dy, l.out_size, p, acc, first_image,
                                                            last_pair_full, last_dw);
    }
    if constexpr (Halves) {
        constexpr int64_t kFloat = sizeof(float);
        return row_registers_plane_sums<C, R, Halves, false, true>(x, l.in_size, dy, l.out_size, p, acc,
                                                                   first_image, last_pair_full, nullptr,
                                                                   l.x_image_stride * kFloat,
                                                                   l.dy_image_stride * kFloat);
    }
    row_registers_plane_sums<C, R, Halves>(x, l.in_size, dy, l.out_size, p, acc, first_image, last_pair_full);
}

}  // namespace

bool channel_minor_filter_fits(const WindowGeometry& g, int64_t images) {
    const bool stride2_images = images == 1 || images >= kChannelMinorStride2MinImages;
    const bool stride1_images = images < kFlatMinImages || g.out[2] <= 8;
    const bool stride_fits = (stride1_images && g.stride[1] == 1 && g.stride[2] == 1) ||
                             (stride2_images && g.stride[1] == 2 && g.stride[2] == 2);
    return stride_fits && g.in_size() <= kChannelMinorMaxPlane && g.out_size() <= kChannelMinorMaxPlane;
}

// Where the time goes at batch 1 (one thread, Zen 5): a call's fixed cost (validation, geometry,
// the pool, the plane's setup) about 0.14 us, 1.5% of dw960 @ 7; a group of 16 channels at 7 x 7
// 0.15 us (about 510 cycles) whether its planes come from L1 or L2, against 180 cycles of FMAs
// at two a cycle. Calls without one of the copies (wrong sums, for the measure): x's copy 27% of
// dw384 @ 14 and dw960 @ 7 and 45% of dw576/2 @ 14, dy's 27%, 27% and 16%.
void channel_minor_filter_sums_avx512(const float* x, const float* dy, const WindowGeometry& g,
                                      const FilterSumsLayout& l, int64_t channels, int64_t images, float* dw) {
    constexpr int64_t kGroup = 16;
    const ChannelMinorPlane plane(g);
    alignas(64) float xt[kChannelMinorMaxPlane * kGroup], dyt[kChannelMinorMaxPlane * kGroup];
    for (int64_t c0 = 0; c0 < channels; c0 += kGroup) {
        const int64_t group = std::min(kGroup, channels - c0);
        __m512 acc[kTaps];
        for (int64_t t = 0; t < kTaps; ++t) acc[t] = _mm512_setzero_ps();
        for (int64_t n = 0; n < images; ++n) {
            if (n + 1 < images) {
                prefetch_to_l2(x + (n + 1) * l.x_image_stride + c0 * l.in_size, group * l.in_size);
                prefetch_to_l2(dy + (n + 1) * l.dy_image_stride + c0 * l.out_size, group * l.out_size);
            }
            transpose_to_channel_minor(x + n * l.x_image_stride + c0 * l.in_size, l.in_size, group, xt);
            transpose_to_channel_minor(dy + n * l.dy_image_stride + c0 * l.out_size, l.out_size, group, dyt);
            channel_minor_plane_sums(xt, dyt, plane, acc);
        }
        store_tap_sums(acc, group, dw + c0 * kTaps);
    }
}

bool row_registers_filter_fits(const WindowGeometry& g) {
    const int64_t width = g.in[2];
    const bool measured_faster = (width >= 13 && width <= 14) ||
                                 (width >= 17 && width <= 16 * kRowRegistersMaxPerRow - 2) ||
                                 (width == 7 && width + g.pad_begin[2] <= kRowRegistersHalfLanes);
    return g.stride[1] == 1 && g.stride[2] == 1 && g.out[2] == width && measured_faster &&
           g.out[1] <= kRowRegistersMaxRows;
}

void row_registers_filter_sums_avx512(const float* x, const float* dy, const WindowGeometry& g,
                                      const FilterSumsLayout& l, int64_t channels, int64_t images, float* dw) {
    const RowRegisterPlane p(g);
    if (p.halves) {
        // Two registers of two channels at once; an odd count's last register half empty.
        const auto plane_sums = [&](const float* xc, const float* dyc, __m512* acc, int64_t count, bool first_image,
                                    float* last_dw) {
            if (count > 2) return row_registers_sums<2, 1, true>(xc, dyc, l, p, acc, first_image, count == 4, last_dw);
            row_registers_sums<1, 1, true>(xc, dyc, l, p, acc, first_image, count == 2, last_dw);
        };
        return filter_sums_by_channel_groups<16, 4, true, SumLanes::PairHalves, true>(x, dy, l, channels, images, dw,
                                                                                      plane_sums);
    }
    if (p.per_row == 1) {
        // Pairs of channels (two rows of registers at once); an odd channel count's last alone.
        const auto plane_sums = [&](const float* xc, const float* dyc, __m512* acc, int64_t count, bool first_image,
                                    float* last_dw) {
            if (count == 2) return row_registers_sums<2, 1>(xc, dyc, l, p, acc, first_image, true, last_dw);
            row_registers_sums<1, 1>(xc, dyc, l, p, acc, first_image, true, last_dw);
        };
        return filter_sums_by_channel_groups<16, 2, true, SumLanes::OneChannel, true>(x, dy, l, channels, images, dw,
                                                                                      plane_sums);
    }
    // A channel at a time: two rows of 2-4 registers held no longer fit the 32 registers. Their
    // sums go through filter_sums_by_channel_groups's reduction: stored from the registers on the
    // last image (store_channel_sums, as rows of one register), dw192 @ 28 ran 0.97-0.98x the time
    // at batch 1 but dw144 @ 56 1.03-1.1x (one thread, same-process A/B both ways round,
    // 2026-12-07; GCC 12 reloaded more of the rows' lane masks in the loop).
    const auto plane_sums = [&](const float* xc, const float* dyc, __m512* acc, bool first_image) {
        switch (p.per_row) {
            case 2: return row_registers_plane_sums<1, 2>(xc, l.in_size, dyc, l.out_size, p, acc, first_image);
            case 3: return row_registers_plane_sums<1, 3>(xc, l.in_size, dyc, l.out_size, p, acc, first_image);
            default: return row_registers_plane_sums<1, 4>(xc, l.in_size, dyc, l.out_size, p, acc, first_image);
        }
    };
    filter_sums_by_channel_groups<16, 1, true>(x, dy, l, channels, images, dw, plane_sums);
}

void flat_filter_sums_avx512(const float* x, const float* dy, const WindowGeometry& g, const FilterSumsLayout& l,
                             int64_t channels, int64_t images, float* dw) {
    const FlatFilterPlane f(g, t_flat_plane);
    const auto plane_sums = [&](const float* xc, const float* dyc, __m512* acc) {
        flat_plane_filter_sums(xc, dyc, f, acc);
    };
    filter_sums_by_channel_groups<kFlatFilterSpan>(x, dy, l, channels, images, dw, plane_sums);
}

}  // namespace mln::kernels::depthwise_filter
