// Compiled with AVX-512: the depthwise 3 x 3 backward filter at stride 2 x 2 on rows of up to 7
// outputs, two channels a register (conv_depthwise_filter_stride2_avx512.hpp).
//
// A register holds output rows of channels a and b. A source row of each channel loads as 16
// columns from -pad_w, and one in-block shuffle (vshufps) of the two gives their even columns e
// (tap 0 of each output: in 128-bit block k outputs 2k and 2k + 1 of a, then of b) and another
// their odd ones o (tap 1); tap 2 of output j is e's lane of output j + 1, so its products take dy
// with each output's lane holding output j - 1's (ds) and no source register is shifted. dy loads
// as a's row in lanes 0-7 and b's in 8-15, permuted to e's order for d and ds; the sums stay in
// that order, reduced across lanes a pair at a time (store_pair_tap_sums). An output row's bottom source
// row is the next one's top, so each source row is loaded and split once: a row of a pair of
// channels costs 9 FMAs, three loads and three shuffles of x, two masked 256-bit loads of dy joined
// by an insert and two permutes. Two-source permutes of the columns into halves (vpermt2ps, which
// takes an FMA's slot on Zen 5 where vshufps issues beside the FMAs) ran 1.03-1.07x slower (dw576/2
// @ 14, one thread, same-process A/B, batches 1 to 8). ds as two more masked loads ran 1.07-1.17x
// slower (batches 2, 8 and 32); the sums split into the two channels' inside the plane loop (no
// stored copy) 1.2-1.4x slower, inlined or not (GCC 12).
// GCC 12 warns inside its own AVX-512 intrinsics (a self-initialized undefined operand, GCC bug
// 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "kernels/cpu/conv/conv_depthwise_filter_stride2_avx512.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3_avx512.hpp"

namespace mln::kernels::depthwise_filter {
namespace {

// Prefetch distance of the source and dy rows, about a plane ahead. Against 4 KiB (dw576/2 @ 14,
// same-process A/B): batch 2 1.05x, 8 1.1x faster, 32 1.03-1.08x on one and two threads; 2 KiB
// between the two, 12 KiB 1.2-1.5x slower. Two or four planes ahead (both channels' rows and dy
// rows of the next pairs, Zen 5, batch 1 and 4): within noise, 1.04x slower at 4 for four.
// Each line of the pair two (four) pairs ahead prefetched once at the pair's start instead of
// the rows' prefetches: 1.1x (2x) slower at batch 1 (dw576/2 @ 14, Zen 5, loaded machine).
// Before the last image, the same rows of the next image (as the stride-1 rows of 7 prefetch,
// conv_depthwise_filter_avx512.cpp; the distance a run-time value): same-process A/B both ways
// round, batch 4 1.16-1.26x the time, batch 32 on two threads 0.84-0.99x, and batch 1 1.17x
// (the run-time distance alone), 2026-12-07. 512 bytes at batch 1: within noise (0.98-1.01x).
constexpr int64_t kPairRowPrefetchBytes = int64_t{1} << 10;

// The split registers (pair_source_row_products) hold in each 128-bit block k the even (odd)
// columns of that block of channel a's row, then of b's: outputs 2k and 2k + 1 of a, then of b.
constexpr int64_t split_lane_output(int64_t lane) { return 2 * (lane / 4) + lane % 2; }
constexpr int64_t split_lane_channel(int64_t lane) { return lane % 4 / 2; }

// A register whose lane i is index(i).
template <class Index>
__m512i lane_indices(Index index) {
    alignas(64) int32_t lanes[16];
    for (int32_t i = 0; i < 16; ++i) lanes[i] = static_cast<int32_t>(index(i));
    return _mm512_load_si512(lanes);
}

// The plane's masks (in the split registers' lane order) and the permutes of dy into that order.
struct Stride2PairPlane {
    int64_t in_rows, in_width, out_rows, out_width, pad_h, pad_w;
    __mmask16 load;              // the lanes of 16 columns from -pad_w inside the row
    __mmask16 taps[3];           // lanes of e . d, o . d, e . ds whose tap lies in the row
    __mmask8 d_row;              // the lanes of a dy row (outputs)
    // dy loaded as a's row (lanes 0-7) and b's (8-15) into the split order (d); the same with
    // output j's lane taking output j - 1's (ds; output 0's lane, which tap 2 leaves out, any).
    __m512i to_split, to_split_shifted;

    explicit Stride2PairPlane(const WindowGeometry& g)
        : in_rows(g.in[1]), in_width(g.in[2]), out_rows(g.out[1]), out_width(g.out[2]), pad_h(g.pad_begin[1]),
          pad_w(g.pad_begin[2]), load(lanes_between(pad_w, pad_w + in_width)), taps{0, 0, 0},
          d_row(static_cast<__mmask8>(lanes_below(out_width))),
          to_split(lane_indices([](int64_t i) { return 8 * split_lane_channel(i) + split_lane_output(i); })),
          to_split_shifted(lane_indices([](int64_t i) {
              return 8 * split_lane_channel(i) + std::max<int64_t>(0, split_lane_output(i) - 1);
          })) {
        const auto in_row = [&](int64_t column) { return column >= 0 && column < in_width; };
        for (int64_t lane = 0; lane < 16; ++lane) {
            const int64_t j = split_lane_output(lane);
            const bool present[3] = {j < out_width && in_row(2 * j - pad_w), j < out_width && in_row(2 * j + 1 - pad_w),
                                     j >= 1 && j <= out_width && in_row(2 * j - pad_w)};
            for (int64_t kw = 0; kw < 3; ++kw) {
                if (present[kw]) taps[kw] = static_cast<__mmask16>(taps[kw] | (1u << lane));
            }
        }
    }
};

// The planes of a pair of channels a and b.
struct ChannelPair {
    const float *xa, *xb, *dya, *dyb;
};

// Source row `row`'s products for filter row Kh (d, ds: the pair's dy row and the row an output
// on, in the split order): its split carried from the output row before where `carried` (Kh 0), else loaded and
// split (and kept for the next output row where Kh is 2). A function of a constant filter row:
// a loop over the rows indexed the sums and kept them on the stack.
// at: the row's column -pad_w in the plane.
template <int64_t Kh>
MLN_ALWAYS_INLINE void pair_source_row_products(const ChannelPair& u, const Stride2PairPlane& p, int64_t at,
                                                bool carried, __m512 d, __m512 ds, __m512& carried_e,
                                                __m512& carried_o, __m512* acc) {
    __m512 e, o;
    if (Kh == 0 && carried) {
        e = carried_e;
        o = carried_o;
    } else {
        const __m512 a = _mm512_maskz_loadu_ps(p.load, u.xa + at);
        const __m512 b = _mm512_maskz_loadu_ps(p.load, u.xb + at);
        _mm_prefetch(reinterpret_cast<const char*>(u.xa + at) + kPairRowPrefetchBytes, _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(u.xb + at) + kPairRowPrefetchBytes, _MM_HINT_T0);
        e = _mm512_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        o = _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    }
    acc[Kh * 3] = _mm512_mask3_fmadd_ps(e, d, acc[Kh * 3], p.taps[0]);
    acc[Kh * 3 + 1] = _mm512_mask3_fmadd_ps(o, d, acc[Kh * 3 + 1], p.taps[1]);
    acc[Kh * 3 + 2] = _mm512_mask3_fmadd_ps(e, ds, acc[Kh * 3 + 2], p.taps[2]);
    if constexpr (Kh == 2) {
        carried_e = e;
        carried_o = o;
    }
}

// acc[kh * 3 + kw] = dy . the source at the tap over the planes of a pair of channels (in the
// split order). Two sets of sums, alternate output rows into each (half the FMA chains' length;
// the loop of pair_channel_sums with the per-pair reduction): 1.3-1.4x slower at batch 1 (dw576/2
// @ 14, Zen 5, one thread). The rows unrolled for 14 x 14 (no row tests): within 1%; with the
// geometry constant too (FixedIn below), 0.83-0.87x the time. Two pairs at once (18 chains of
// FMAs) ran 1.5x slower at batch 1 (dw576/2 @ 14, one thread). The rows whose three source rows
// lie inside in a loop of their own, without the tests (36 instructions a pair's row, not 56, as
// the one-strip planes of
// conv_depthwise_3x3_backward_filter_avx512.cpp): Zen 5, same-process A/B both ways round,
// 0.93-1.0x the time at batches 1 and 2 and 0.73-0.94x at 32 while another process shared the
// core, but 1.05-1.1x slower at batches 1 and 8 when it had the core alone.
// Where the time goes (dw576/2 @ 14, batch 1, one thread, perf, 2026-12-07): these rows about 65%
// of the cycles, each pair's setup and store_pair_tap_sums about 30% (store_pair_tap_sums
// replaced by one add a register: 0.91-0.94x the time; the rows' prefetches left out at batch 1
// 1.23x; dy's rows unmasked, their lane 7 never in a product, 0.97-1.01x, 2026-12-07). Neither lines crossed nor L2
// bound the rows (wrong sums, for the measure; same-process A/B both ways round): x's rows loaded
// from 64-byte aligned addresses within noise (0.96-1.02x the time), every pair reading the first
// pair's planes (all in L1) 0.90-0.97x. x's rows loaded unmasked (the taps' masks alone keeping
// the lanes outside the row out of the sums) 1.03-1.05x the time.
// FixedIn (> 0): a FixedIn x FixedIn plane at pad 1 before (FixedIn / 2 x FixedIn / 2 outputs;
// MobileNet-v2's 14 x 14): its rows unrolled whole with the plane's sizes constants, so every
// source row is a constant offset from the pair's planes (no row pointers stepped, no row or
// carried-split tests). dw576/2 @ 14 (Zen 5, same-process A/B both ways round, 2026-12-07):
// batch 1 0.83-0.87x the time, batch 8 0.92-0.93x, batch 32 on two threads 0.82-0.98x.
template <int64_t FixedIn = 0>
MLN_ALWAYS_INLINE void pair_plane_sums(const ChannelPair& u, const Stride2PairPlane& p, __m512* acc) {
    constexpr bool kFixed = FixedIn > 0;
    const int64_t in_rows = kFixed ? FixedIn : p.in_rows, in_width = kFixed ? FixedIn : p.in_width;
    const int64_t out_rows = kFixed ? FixedIn / 2 : p.out_rows, out_width = kFixed ? FixedIn / 2 : p.out_width;
    const int64_t pad_h = kFixed ? 1 : p.pad_h, pad_w = kFixed ? 1 : p.pad_w;
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = _mm512_setzero_ps();
    __m512 carried_e = _mm512_setzero_ps(), carried_o = _mm512_setzero_ps();
    bool have_carried = false;  // carried_* hold the split of source row 2 oh - pad_h
    const auto row = [&](int64_t oh) MLN_LAMBDA_ALWAYS_INLINE {
        const int64_t top = 2 * oh - pad_h;
        const float* dya_row = u.dya + oh * out_width;
        const float* dyb_row = u.dyb + oh * out_width;
        // Channel a's dy rows only: both channels' (a's rows at twice their pitch, b's plane
        // following a's) ran 1.03-1.04x the time at batch 1, none 1.04x (dw576/2 @ 14, one thread,
        // same-process A/B both ways round, 2026-12-07).
        _mm_prefetch(reinterpret_cast<const char*>(dya_row) + kPairRowPrefetchBytes, _MM_HINT_T0);
        // Channel a's row in lanes 0-7, b's in 8-15: two 256-bit loads and an insert. A load whose
        // 64 bytes cross a cache line takes two load slots on Zen 5 (a load-slot-bound loop: a
        // pair's row issues 6 loads and 5 prefetches for 9 FMAs), which the 512-bit masked loads
        // of the rows did at nearly every row; a 256-bit load crosses at under half of them.
        // dw576/2 @ 14, batch 1, one thread, same-process A/B both ways round: 0.96-0.98x the time.
        const __m512 rows = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_maskz_loadu_ps(p.d_row, dya_row)),
                                               _mm256_maskz_loadu_ps(p.d_row, dyb_row), 1);
        const __m512 d = _mm512_permutexvar_ps(p.to_split, rows);
        const __m512 ds = _mm512_permutexvar_ps(p.to_split_shifted, rows);
        const int64_t at = top * in_width - pad_w;
        if (top >= 0 && top < in_rows) {
            pair_source_row_products<0>(u, p, at, have_carried, d, ds, carried_e, carried_o, acc);
        }
        if (top + 1 >= 0 && top + 1 < in_rows) {
            pair_source_row_products<1>(u, p, at + in_width, false, d, ds, carried_e, carried_o, acc);
        }
        have_carried = top + 2 >= 0 && top + 2 < in_rows;
        if (have_carried) {
            pair_source_row_products<2>(u, p, at + 2 * in_width, false, d, ds, carried_e, carried_o, acc);
        }
    };
    if constexpr (kFixed) {
        MLN_UNROLL(16)
        for (int64_t oh = 0; oh < FixedIn / 2; ++oh) row(oh);
    } else {
        for (int64_t oh = 0; oh < out_rows; ++oh) row(oh);
    }
}

// dw[0..8] (and dw[9..17] where paired) = the sums across lanes of a pair's nine sums (split
// order: in each 128-bit block two lanes of channel a, then two of b). One round in the blocks
// takes taps t and t + 1 to [a_t b_t a_t+1 b_t+1], two rounds across the blocks sum those, and
// a permute puts the 18 sums in dw's order (a's nine, then b's), stored straight from the
// registers: 35 instructions a pair, no transpose.
MLN_ALWAYS_INLINE void store_pair_tap_sums(const __m512* acc, bool paired, float* dw) {
    const __m512 zero = _mm512_setzero_ps();
    __m512 r[5];
    MLN_UNROLL(5)
    for (int64_t i = 0; i < 5; ++i) {
        const __m512 next = 2 * i + 1 < kTaps ? acc[2 * i + 1] : zero;
        r[i] = _mm512_add_ps(_mm512_shuffle_ps(acc[2 * i], next, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_ps(acc[2 * i], next, _MM_SHUFFLE(3, 1, 3, 1)));
    }
    // taps: block k [a_2k b_2k a_2k+1 b_2k+1]; last: lanes 0-1 a_8, b_8.
    const __m512 taps = add_across_128_bit_lanes(add_across_128_bit_lanes(r[0], r[1]),
                                                  add_across_128_bit_lanes(r[2], r[3]));
    const __m512 last = add_across_128_bit_lanes(add_across_128_bit_lanes(r[4], zero), zero);
    const __m512i first16 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 1, 3, 5, 7, 9, 11, 13);
    const __m512i last2 = _mm512_setr_epi32(15, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    _mm512_mask_storeu_ps(dw, paired ? 0xFFFF : 0x01FF, _mm512_permutex2var_ps(taps, first16, last));
    if (paired) _mm512_mask_storeu_ps(dw + 16, 0x3, _mm512_permutex2var_ps(taps, last2, last));
}

// dw of `channels` consecutive channels summed over `images` images, a pair of channels at a
// time (channels c and c + 1); an odd count's last channel paired with itself, its second
// channel's lanes never stored. Images outermost, then spans of kPairSpan channels, whose planes
// lie one after the other. A pair's sums over the images before the last wait in sums[] (each
// lane adds the images in image order); at the last image they are reduced across lanes and
// stored into dw. Against the group driver (filter_sums_by_channel_groups: every image's sums
// stored, then 16 channels reduced a tap at a time and transposed into dw's order: on Zen 5,
// with the planes' rows left out, about 230 cycles a 16-channel group at batch 1, against 55
// here, of about 720 in all),
// dw576/2 @ 14, Zen 5, conv_vs_build both ways round: batch 1 0.88-0.92x the time, batch 8
// 0.93-0.97x, batch 32 on two threads within noise (0.92-1.05x).
// Earlier, with the group driver: the pair's sums permuted to the 256-bit halves
// (SumLanes::PairHalves) before the cross-lane sums, batch 8 1.01-1.04x slower, 1 and 32 within
// noise; each pair's plane added into the two channels' sums by masked adds, batch 2 1.2x, 8 1.1x,
// 32 on two threads 1.1-1.2x slower.
// The plane copied once for the pairs: per pair, its fields loaded again (the stores may alias
// the caller's copy) and the pointers set up took as long as the plane's rows at batch 1.
constexpr int64_t kPairSpan = 16;

// FixedIn: pair_plane_sums's.
template <int64_t FixedIn = 0>
MLN_NOINLINE void pair_channel_sums(const float* x, const float* dy, const FilterSumsLayout& l, int64_t channels,
                                    int64_t images, const Stride2PairPlane& plane, float* dw) {
    const Stride2PairPlane p = plane;
    const FilterSumsLayout layout = l;
    alignas(64) __m512 sums[kPairSpan / 2][kTaps];
    for (int64_t s0 = 0; s0 < channels; s0 += kPairSpan) {
        const int64_t span = std::min(kPairSpan, channels - s0);
        for (int64_t n = 0; n < images; ++n) {
            const float* x_image = x + n * layout.x_image_stride + s0 * layout.in_size;
            const float* dy_image = dy + n * layout.dy_image_stride + s0 * layout.out_size;
            const bool last_image = n + 1 == images;
            // Offsets stepped a pair at a time and channel b's chosen by a select: the pair's
            // index multiplied out per pair (b = min(a + 1, count - 1)) ran 1.03-1.04x slower at
            // batch 1.
            int64_t x_at = 0, dy_at = 0;
            for (int64_t a = 0; a < span; a += 2, x_at += 2 * layout.in_size, dy_at += 2 * layout.out_size) {
                const bool paired = a + 1 < span;
                const float *xa = x_image + x_at, *dya = dy_image + dy_at;
                __m512 acc[kTaps];
                pair_plane_sums<FixedIn>(
                    {xa, paired ? xa + layout.in_size : xa, dya, paired ? dya + layout.out_size : dya}, p, acc);
                __m512* pair_sums = sums[a / 2];
                if (last_image) {
                    if (n > 0) {
                        MLN_UNROLL(9)
                        for (int64_t t = 0; t < kTaps; ++t) acc[t] = _mm512_add_ps(pair_sums[t], acc[t]);
                    }
                    store_pair_tap_sums(acc, paired, dw + (s0 + a) * kTaps);
                } else {
                    MLN_UNROLL(9)
                    for (int64_t t = 0; t < kTaps; ++t) {
                        pair_sums[t] = n == 0 ? acc[t] : _mm512_add_ps(pair_sums[t], acc[t]);
                    }
                }
            }
        }
    }
}

}  // namespace

bool stride2_pair_filter_fits(const WindowGeometry& g) {
    return g.stride[1] == 2 && g.stride[2] == 2 && g.out[2] <= 7 &&
           g.pad_begin[1] <= 1 && g.pad_begin[2] <= 1;
}

void stride2_pair_filter_sums_avx512(const float* x, const float* dy, const WindowGeometry& g,
                                     const FilterSumsLayout& l, int64_t channels, int64_t images, float* dw) {
    const Stride2PairPlane plane(g);
    if (stride2_square_plane_at_pad1(g, 14)) return pair_channel_sums<14>(x, dy, l, channels, images, plane, dw);
    pair_channel_sums(x, dy, l, channels, images, plane, dw);
}

}  // namespace mln::kernels::depthwise_filter
