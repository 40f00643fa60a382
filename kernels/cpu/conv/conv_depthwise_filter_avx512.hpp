// The depthwise 3 x 3 backward-filter pieces the AVX-512 files share (conv_depthwise_3x3.hpp):
// the driver that sums a group of 16 channels' planes over every image and the reduction of
// their 16 lanes. For *_avx512.cpp files only.
// GCC 12 warns inside its own AVX-512 intrinsics (a self-initialized undefined operand, GCC bug
// 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_depthwise_avx512_tile.hpp"

namespace mln::kernels {

namespace depthwise_filter {

constexpr int64_t kTaps = 9;

struct FilterSumsLayout {
    int64_t in_size, out_size, x_image_stride, dy_image_stride;
};

// The first two rounds of the sums across lanes below, inside 128-bit lanes: Count registers
// become Count / 4, each 128-bit lane of v[i] holding in its four floats the partial sums of
// registers 4i to 4i + 3 (round 1 pairs them, [a b a b], round 2 the pairs, [a b c d]).
template <int64_t Count>
inline void add_within_128_bit_lanes(__m512* v) {
    for (int64_t i = 0; i < Count / 2; ++i) {
        v[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    }
    for (int64_t i = 0; i < Count / 4; ++i) {
        v[i] = _mm512_add_ps(_mm512_shuffle_ps(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    }
}

// A round across 128-bit lanes: lanes (0, 1) and (2, 3) of a and b added, a's two sums in the
// low half, b's in the high.
inline __m512 add_across_128_bit_lanes(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}

// Lane c of the result = the sum of v[c]'s 16 lanes: four rounds of shuffle-and-add, each
// halving the registers and doubling the channels a register holds (45 instructions for 16
// sums, against about 130 for 16 separate reductions).
inline __m512 sum_across_lanes16(__m512* v) {
    add_within_128_bit_lanes<16>(v);
    for (int64_t i = 0; i < 2; ++i) v[i] = add_across_128_bit_lanes(v[2 * i], v[2 * i + 1]);
    return add_across_128_bit_lanes(v[0], v[1]);
}

// Lane c of the result = the sum of channel c's lanes, where v[k] (8 registers) holds channel 2k
// in its low 256 bits and 2k + 1 in its high: three rounds of shuffle-and-add (21 instructions
// for 16 sums, against 45 and 16 moves splitting the halves first) and one permute to channel
// order.
inline __m512 sum_across_channel_pairs(__m512* v) {
    add_within_128_bit_lanes<8>(v);
    // Lanes then hold channels 0 2 4 6 1 3 5 7 8 10 12 14 9 11 13 15.
    const __m512 sums = add_across_128_bit_lanes(v[0], v[1]);
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15), sums);
}

// How a kernel's sums hold their channels (filter_sums_by_channel_groups): one a register, or
// channels c and c + 1 (c even) in one register, one in each 256-bit half.
enum class SumLanes { OneChannel, PairHalves };

// dw[c * 9 + t] = lane c of taps[t] for c < group (16 channels' nine sums, lane = channel): a
// 16 x 16 register transpose (rows 9-15 zero) and one masked store of nine floats a channel.
// Storing the registers and reading them back one float at a time stalled on store forwarding
// (~9% of the time of a 7 x 7 call at batch 1 in perf).
inline void store_tap_sums(const __m512* taps, int64_t group, float* dw) {
    __m512 r[16];
    for (int64_t i = 0; i < 16; ++i) r[i] = i < kTaps ? taps[i] : _mm512_setzero_ps();
    transpose16x16(r);
    constexpr __mmask16 kTapLanes = (1u << kTaps) - 1u;
    for (int64_t c = 0; c < group; ++c) _mm512_mask_storeu_ps(dw + c * kTaps, kTapLanes, r[c]);
}

// dw[c * 9 + t] = the sum of acc[c][t]'s 16 lanes for c < group: register j of dw's 144 floats
// sums the 16 registers of its floats (16 j to 16 j + 15) across lanes, so the sums come out in
// dw's order, without store_tap_sums's transpose (64 shuffles and 16 masked stores a group).
inline void store_channel_major_sums(const __m512 (*acc)[kTaps], int64_t group, float* dw) {
    const int64_t count = group * kTaps;
    MLN_UNROLL(9)
    for (int64_t j = 0; j < kTaps; ++j) {
        if (j * 16 >= count) break;
        __m512 lanes[16];
        MLN_UNROLL(16)
        for (int64_t l = 0; l < 16; ++l) lanes[l] = acc[(j * 16 + l) / kTaps][(j * 16 + l) % kTaps];
        const int64_t left = count - j * 16;
        const auto stored = static_cast<__mmask16>(left >= 16 ? 0xFFFFu : (1u << left) - 1u);
        _mm512_mask_storeu_ps(dw + j * 16, stored, sum_across_lanes16(lanes));
    }
}

// Where store_pair_halves_sums finds channel-major position o = c * 9 + t (c < 2 C) after its
// sums across lanes: runs of at most 16 positions from two neighbouring registers of sums, each
// one two-source permute (index) and one masked store.
template <int64_t C>
struct PairHalvesRuns {
    static constexpr int64_t kInputs = (C * kTaps + 3) / 4 * 4;  // registers, padded to fours
    static constexpr int64_t kSums = (kInputs / 4 + 1) / 2;      // registers of 16 sums
    static constexpr int64_t kMaxRuns = 3;
    int64_t count = 0;
    int64_t start[kMaxRuns] = {}, length[kMaxRuns] = {}, source[kMaxRuns] = {};
    int32_t index[kMaxRuns][16] = {};

    constexpr PairHalvesRuns() {
        // Register and lane of the sum of channel c's tap t: input register p * 9 + t (p = c / 2)
        // in sums register r / 8, 128-bit block 2 ((r % 8) / 4) + half, lane r % 4.
        const auto where = [](int64_t position, int64_t& sums) {
            const int64_t c = position / kTaps, r = c / 2 * kTaps + position % kTaps;
            sums = r / 8;
            return 4 * (2 * ((r % 8) / 4) + c % 2) + r % 4;
        };
        for (int64_t begin = 0; begin < 2 * C * kTaps; ++count) {
            int64_t low = kSums, high = -1, end = begin;
            for (; end < 2 * C * kTaps && end - begin < 16; ++end) {
                int64_t k = 0;
                where(end, k);
                if (std::max(high, k) - std::min(low, k) > 1) break;
                low = std::min(low, k);
                high = std::max(high, k);
            }
            start[count] = begin;
            length[count] = end - begin;
            source[count] = low;
            for (int64_t o = begin; o < end; ++o) {
                int64_t k = 0;
                const int64_t lane = where(o, k);
                index[count][o - begin] = static_cast<int32_t>(lane + (k > low ? 16 : 0));
            }
            begin = end;
        }
    }
};

// dw[c * 9 + t] for c < channels (<= 2 C) = the sum of a[c / 2][t]'s half c % 2 (two channels a
// register, SumLanes::PairHalves), straight from one plane call's registers: their halves summed
// as sum_across_channel_pairs does (the same bits), then permuted to dw's order (PairHalvesRuns),
// without filter_sums_by_channel_groups's stores and loads of the sums and 16 x 16 transpose.
template <int64_t C>
MLN_ALWAYS_INLINE void store_pair_halves_sums(const __m512 (&a)[C][kTaps], int64_t channels, float* dw) {
    using Runs = PairHalvesRuns<C>;
    static constexpr Runs kRuns{};
    static_assert(kRuns.count <= Runs::kMaxRuns);
    __m512 v[Runs::kInputs];
    MLN_UNROLL(32)
    for (int64_t r = 0; r < Runs::kInputs; ++r) {
        v[r] = r < C * kTaps ? a[r / kTaps][r % kTaps] : _mm512_setzero_ps();
    }
    add_within_128_bit_lanes<Runs::kInputs>(v);
    __m512 sums[Runs::kSums];
    MLN_UNROLL(8)
    for (int64_t k = 0; k < Runs::kSums; ++k) {
        const __m512 high = 2 * k + 1 < Runs::kInputs / 4 ? v[2 * k + 1] : _mm512_setzero_ps();
        sums[k] = add_across_128_bit_lanes(v[2 * k], high);
    }
    const int64_t total = channels * kTaps;
    MLN_UNROLL(4)
    for (int64_t i = 0; i < kRuns.count; ++i) {
        if (kRuns.start[i] >= total) break;
        const int64_t k = kRuns.source[i];
        const __m512 run = _mm512_permutex2var_ps(sums[k], _mm512_loadu_si512(kRuns.index[i]),
                                                  sums[std::min(k + 1, Runs::kSums - 1)]);
        const int64_t left = std::min(kRuns.length[i], total - kRuns.start[i]);
        _mm512_mask_storeu_ps(dw + kRuns.start[i], static_cast<__mmask16>((1u << left) - 1u), run);
    }
}

// dw[c * 9 + t] for c < C = the sum of a[c][t]'s 16 lanes (one channel a register), straight
// from one plane call's registers: the 9 C registers summed as sum_across_lanes16 does (the same
// bits), two rounds across 128-bit lanes leaving the sums in dw's order.
template <int64_t C>
MLN_ALWAYS_INLINE void store_channel_sums(const __m512 (&a)[C][kTaps], float* dw) {
    constexpr int64_t kInputs = (C * kTaps + 3) / 4 * 4, kQuads = kInputs / 4;
    constexpr int64_t kPairs = (kQuads + 1) / 2, kSums = (kPairs + 1) / 2;
    __m512 v[kInputs];
    MLN_UNROLL(32)
    for (int64_t r = 0; r < kInputs; ++r) v[r] = r < C * kTaps ? a[r / kTaps][r % kTaps] : _mm512_setzero_ps();
    add_within_128_bit_lanes<kInputs>(v);
    __m512 w[kPairs];
    MLN_UNROLL(8)
    for (int64_t k = 0; k < kPairs; ++k) {
        w[k] = add_across_128_bit_lanes(v[2 * k], 2 * k + 1 < kQuads ? v[2 * k + 1] : _mm512_setzero_ps());
    }
    MLN_UNROLL(4)
    for (int64_t m = 0; m < kSums; ++m) {
        const __m512 high = 2 * m + 1 < kPairs ? w[2 * m + 1] : _mm512_setzero_ps();
        const __m512 sums = add_across_128_bit_lanes(w[2 * m], high);
        const int64_t left = std::min<int64_t>(16, C * kTaps - 16 * m);
        _mm512_mask_storeu_ps(dw + 16 * m, static_cast<__mmask16>((1u << left) - 1u), sums);
    }
}

// dw (channels x 9) = the plane sums (plane_sums(x plane, dy plane, acc): acc[tap] += its
// products) over every image. Images outermost, then a span of up to Span channels, whose planes
// lie one after the other: a channel through every image first read a 7 x 7 plane (196 bytes)
// per image, far apart, and ran 2x slower than the channel-blocked kernel at batch 32. The sums
// across lanes 16 channels at a time.
// Step > 1: plane_sums(x plane, dy plane, acc, count) takes `count` (<= Step) consecutive
// channels' planes and sums at once. FirstImageSets: plane_sums(..., bool first_image) sets acc
// on the first image instead of adding to it, so the span's sums are not zeroed in memory and
// loaded back first (the zeroing, the loads and the stores ran as long as a 14 x 14 plane's
// row loop at batch 1). Lanes other than OneChannel: acc[c] (c even) holds channels c and c + 1
// (acc[c + 1] unused). LastImageStores (with FirstImageSets): plane_sums(..., first_image, dw of
// its channels on the last image, else nullptr) stores the last image's sums in dw itself
// (store_pair_halves_sums, store_channel_sums), so no sums across lanes here.
template <int64_t Span = 16, int64_t Step = 1, bool FirstImageSets = false, SumLanes Lanes = SumLanes::OneChannel,
          bool LastImageStores = false, class PlaneSums>
void filter_sums_by_channel_groups(const float* x, const float* dy, const FilterSumsLayout& l, int64_t channels,
                                   int64_t images, float* dw, PlaneSums&& plane_sums) {
    constexpr int64_t kGroup = 16;
    static_assert(Span % kGroup == 0);
    static_assert(!LastImageStores || FirstImageSets);
    alignas(64) __m512 acc[Span][kTaps];
    for (int64_t s0 = 0; s0 < channels; s0 += Span) {
        const int64_t span = std::min(Span, channels - s0);
        // Whole groups zeroed: the sums below add every register of a group.
        const int64_t zeroed = LastImageStores ? 0 : (span + kGroup - 1) / kGroup * kGroup;
        for (int64_t c = FirstImageSets ? span : 0; c < zeroed; ++c) {
            for (int64_t t = 0; t < kTaps; ++t) acc[c][t] = _mm512_setzero_ps();
        }
        for (int64_t n = 0; n < images; ++n) {
            const float* x_image = x + n * l.x_image_stride + s0 * l.in_size;
            const float* dy_image = dy + n * l.dy_image_stride + s0 * l.out_size;
            for (int64_t c = 0; c < span; c += Step) {
                // plane_sums over channel c, with `count` where Step > 1.
                const auto sums = [&](auto... count) {
                    const float* xc = x_image + c * l.in_size;
                    const float* dyc = dy_image + c * l.out_size;
                    if constexpr (LastImageStores) {
                        float* last_dw = n + 1 == images ? dw + (s0 + c) * kTaps : nullptr;
                        plane_sums(xc, dyc, acc[c], count..., n == 0, last_dw);
                    } else if constexpr (FirstImageSets) {
                        plane_sums(xc, dyc, acc[c], count..., n == 0);
                    } else {
                        plane_sums(xc, dyc, acc[c], count...);
                    }
                };
                if constexpr (Step == 1) {
                    sums();
                } else {
                    sums(std::min(Step, span - c));
                }
            }
        }
        for (int64_t g0 = 0; !LastImageStores && g0 < span; g0 += kGroup) {
            if constexpr (Lanes == SumLanes::PairHalves) {
                __m512 sums[kTaps];
                for (int64_t t = 0; t < kTaps; ++t) {
                    __m512 lanes[kGroup];
                    for (int64_t k = 0; k < kGroup / 2; ++k) lanes[k] = acc[g0 + 2 * k][t];
                    sums[t] = sum_across_channel_pairs(lanes);
                }
                store_tap_sums(sums, std::min(kGroup, span - g0), dw + (s0 + g0) * kTaps);
            } else {
                store_channel_major_sums(acc + g0, std::min(kGroup, span - g0), dw + (s0 + g0) * kTaps);
            }
        }
    }
}

// dw of a stride-1 3 x 3 geometry whose output rows are as wide as the input's (the flat plane,
// conv_depthwise_3x3.hpp), for `channels` consecutive channels summed over `images` images.
void flat_filter_sums_avx512(const float* x, const float* dy, const WindowGeometry& g, const FilterSumsLayout& l,
                             int64_t channels, int64_t images, float* dw);

// Stride-1 planes whose output rows are as wide as the input's, 7 (pad 0 or 1), 13-14 or 17-62
// columns, and at most 64 rows (tables per row) go whole rows in registers
// (conv_depthwise_filter_avx512.cpp says why), at every batch: ahead of the channel-minor copy
// and the flat plane below.
bool row_registers_filter_fits(const WindowGeometry& g);
// dw of such a geometry for `channels` consecutive channels summed over `images` images.
void row_registers_filter_sums_avx512(const float* x, const float* dy, const WindowGeometry& g,
                                      const FilterSumsLayout& l, int64_t channels, int64_t images, float* dw);

// Planes of up to this many positions (in and out) at stride 1, and at stride 2 for one image or
// kChannelMinorStride2MinImages and more, go 16 channels at a time transposed to channel-minor order: x and dy then take 16 KiB each, in
// L1. Against the flat plane and the two-channel registers (MobileNet-v2, one thread,
// interleaved min times): 14 x 14 1.3x, 7 x 7 1.5x faster at batch 1, 14 x 14 1.2-1.35x at batch
// 32; 28 x 28 (784 positions, out of L1) ran 1.3x slower than the flat plane at batch 1, 1.45x at
// 32. At stride 2 (14 x 14 to 7 x 7) the copy of the whole source for a quarter of the outputs
// made it 1.1-1.5x slower than two channels a register at batch 32 (within 5% at batch 1).
// Re-measured with the four-position copy (dw576/2 @ 14): 1.2x faster at batch 1, within 3% at
// 2, 1.23x slower at 8 and 1.03-1.06x at 32 (out of L2), so stride 2 takes it for one image
// only (1.17x faster again, same-process A/B, one thread); from 28 x 28 (784 source positions)
// it ran 1.5x slower than the column strips at batch 1. With the eight-position copy and the
// sliding rows (dw576/2 @ 14, one thread, same-process A/B both ways round): 1.08-1.1x slower
// at batches 4 and 8; at 16 1.02-1.04x faster on a loaded machine but 1.08x slower on a
// quieter one; at 24 1.09-1.12x faster (loaded); at 32 1.01-1.05x (quieter) to 1.15-1.35x
// (loaded), at 64 1.1-1.6x (loaded).
// At stride 1 from kFlatMinImages images, rows of more than 8 outputs (14 x 14, not the
// two-channel registers' rows) go to the flat plane once its dy shifts shared by the column
// taps: dw576 @ 14 1.2x faster at 24 and 32 images, dw384 @ 14 within 3% at 24 and 1.1x faster
// at 32; at 16 images 0.9-1.1x, at 4 and 8 1.15-1.3x slower, at 1 1.6x slower (one thread,
// same-process A/B both ways round).
// (Stride-1 rows of 7, 13-14 and 17-62 columns now go whole rows in registers, ahead of both;
// stride-2 rows of up to 7 outputs, dw576/2 @ 14 included, go to the stride-2 pair kernel at any
// batch: conv_depthwise_filter_stride2_avx512.hpp.)
constexpr int64_t kChannelMinorMaxPlane = 256;
constexpr int64_t kChannelMinorStride2MinImages = 32;
constexpr int64_t kFlatMinImages = 24;
bool channel_minor_filter_fits(const WindowGeometry& g, int64_t images);
// dw of a 2-d 3 x 3 geometry whose planes fit (channel_minor_filter_fits), for `channels`
// consecutive channels summed over `images` images.
void channel_minor_filter_sums_avx512(const float* x, const float* dy, const WindowGeometry& g,
                                      const FilterSumsLayout& l, int64_t channels, int64_t images, float* dw);

}  // namespace depthwise_filter

}  // namespace mln::kernels
