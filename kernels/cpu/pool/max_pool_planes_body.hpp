// Body of the max pooling planes kernel, compiled per ISA file on its FloatLanes type.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/pool/pool_taps.hpp"

namespace mln::kernels {
namespace {

// What the kernel writes beside y: nothing, the i64 indices (from plane positions), or the
// workspace's taps within the window, u8 or i32.
enum class Argmax { none, indices, u8_taps, i32_taps };

// The i64 index of int32 plane position p: -1 for a window without an element of x (p < 0).
inline int64_t index_of(int32_t p, int64_t base) { return p < 0 ? -1 : base + p; }

// The workspace's value of int32 tap p: 255 or -1 for a window without an element of x (p < 0).
template <class Tap>
Tap tap_of(int32_t p) {
    if constexpr (std::is_same_v<Tap, uint8_t>) return p < 0 ? uint8_t{255} : static_cast<uint8_t>(p);
    return p < 0 ? -1 : p;
}

template <class Tap>
void write_taps_scalar(Tap* to, const int32_t* from, int64_t n) {
    for (int64_t i = 0; i < n; ++i) to[i] = tap_of<Tap>(from[i]);
}

// int32 position registers of a FloatLanes type (loads and stores), and the copy of a chunk's
// positions to the i64 indices; `stream` writes the aligned registers non-temporally.
template <class V>
struct PositionLanes;

template <>
struct PositionLanes<ScalarLanes> {
    static int32_t load(const int32_t* p) { return *p; }
    static void store(int32_t* p, int32_t v) { *p = v; }
    static void write_indices(int64_t* to, const int32_t* from, int64_t n, int64_t base, bool) {
        for (int64_t i = 0; i < n; ++i) to[i] = index_of(from[i], base);
    }
    template <class Tap>
    static void write_taps(Tap* to, const int32_t* from, int64_t n) {
        write_taps_scalar(to, from, n);
    }
};

// Elements before `to` reaches an `alignment`-byte boundary (n at most), with `stream`; else 0
// (plain stores need no alignment).
template <class T>
int64_t unaligned_head(const T* to, int64_t n, int64_t alignment, bool stream) {
    if (!stream) return 0;
    const auto address = reinterpret_cast<uintptr_t>(to);
    return std::min<int64_t>(n, static_cast<int64_t>((alignment - address % alignment) % alignment / sizeof(T)));
}

#if defined(__AVX2__) && defined(__FMA__)
template <>
struct PositionLanes<Avx2Lanes> {
    static __m256i load(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
    static void store(int32_t* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
    static void write_indices(int64_t* to, const int32_t* from, int64_t n, int64_t base, bool stream) {
        int64_t i = unaligned_head(to, n, 32, stream);
        for (int64_t j = 0; j < i; ++j) to[j] = index_of(from[j], base);
        const __m256i b = _mm256_set1_epi64x(base), none = _mm256_set1_epi64x(-1);
        for (; i + 4 <= n; i += 4) {
            const __m256i p = _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(from + i)));
            const __m256i v = _mm256_blendv_epi8(_mm256_add_epi64(p, b), none, _mm256_cmpgt_epi64(_mm256_setzero_si256(), p));
            if (stream) {
                _mm256_stream_si256(reinterpret_cast<__m256i*>(to + i), v);
            } else {
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + i), v);
            }
        }
        for (; i < n; ++i) to[i] = index_of(from[i], base);
    }
    // Plain stores: the workspace is an eighth of the indices' bytes.
    template <class Tap>
    static void write_taps(Tap* to, const int32_t* from, int64_t n) {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            const __m256i p = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(from + i));
            if constexpr (std::is_same_v<Tap, uint8_t>) {
                // Unsigned min: negative positions become 255; then two packs and the halves' low words.
                const __m256i clamped = _mm256_min_epu32(p, _mm256_set1_epi32(255));
                const __m256i words = _mm256_packus_epi32(clamped, clamped);
                const __m256i bytes = _mm256_packus_epi16(words, words);
                _mm_storel_epi64(reinterpret_cast<__m128i*>(to + i),
                                 _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1)));
            } else {
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + i), _mm256_max_epi32(p, _mm256_set1_epi32(-1)));
            }
        }
        write_taps_scalar(to + i, from + i, n - i);
    }
};
#endif

#if defined(__AVX512F__)
template <>
struct PositionLanes<Avx512Lanes> {
    static __m512i load(const int32_t* p) { return _mm512_loadu_si512(p); }
    static void store(int32_t* p, __m512i v) { _mm512_storeu_si512(p, v); }
    static void write_indices(int64_t* to, const int32_t* from, int64_t n, int64_t base, bool stream) {
        int64_t i = unaligned_head(to, n, 64, stream);
        for (int64_t j = 0; j < i; ++j) to[j] = index_of(from[j], base);
        const __m512i b = _mm512_set1_epi64(base), none = _mm512_set1_epi64(-1);
        for (; i + 8 <= n; i += 8) {
            const __m256i p = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(from + i));
            const __m512i v = _mm512_mask_mov_epi64(_mm512_add_epi64(_mm512_maskz_cvtepi32_epi64(0xFF, p), b),
                                                    _mm256_cmplt_epi32_mask(p, _mm256_setzero_si256()), none);
            if (stream) {
                _mm512_stream_si512(reinterpret_cast<__m512i*>(to + i), v);
            } else {
                _mm512_storeu_si512(to + i, v);
            }
        }
        for (; i < n; ++i) to[i] = index_of(from[i], base);
    }
    template <class Tap>
    static void write_taps(Tap* to, const int32_t* from, int64_t n) {
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) {
            const __m512i p = _mm512_loadu_si512(from + i);
            if constexpr (std::is_same_v<Tap, uint8_t>) {
                // Unsigned saturation: negative positions become 255.
                _mm_storeu_si128(reinterpret_cast<__m128i*>(to + i), _mm512_cvtusepi32_epi8(p));
            } else {
                _mm512_storeu_si512(to + i, _mm512_max_epi32(p, _mm512_set1_epi32(-1)));
            }
        }
        write_taps_scalar(to + i, from + i, n - i);
    }
};
#endif

// The chunk's values out to y: whole registers, written non-temporally from the first aligned
// one with `stream` (the elements before it and the tail plainly).
// The streamed stores' prefetch (prefetch_stream_ahead_at_block, streaming_stores.hpp) here and
// in write_indices: 3x3/2 max pool 32x64x112x112 forward 1.04-1.07x main's time with its u8
// workspace, 0.93-1.08x with i64 indices (2 threads, same process both ways round, 2026-12-07).
template <class V>
void write_values(float* to, const float* from, int64_t n, bool stream) {
    if constexpr (V::width == 1) {
        std::copy(from, from + n, to);
    } else {
        int64_t i = unaligned_head(to, n, V::width * int64_t{sizeof(float)}, stream);
        std::copy(from, from + i, to);
        for (; i + V::width <= n; i += V::width) {
            const typename V::Reg v = V::load(from + i, AllLanes{});
            if (stream) {
                V::stream(to + i, v);
            } else {
                V::store(to + i, v, AllLanes{});
            }
        }
        std::copy(from + i, from + n, to + i);
    }
}

// Lanes i of row[c + i * stride] where 0 <= c + i * stride < width, -inf in the others, reading
// nothing outside the row: the loads of the registers at a row's ends. inside() computes the
// lanes once per call (a Mask), load() runs per row.
template <class V>
struct ClippedLoads;

template <>
struct ClippedLoads<ScalarLanes> {
    using Mask = uint32_t;
    static Mask inside(int64_t c, int64_t, int64_t width) { return c >= 0 && c < width ? 1u : 0u; }
    static float load(const float* row, int64_t c, int64_t, Mask m) {
        return m != 0 ? row[c] : -std::numeric_limits<float>::infinity();
    }
};

#if defined(__AVX2__) && defined(__FMA__)
template <>
struct ClippedLoads<Avx2Lanes> {
    // A masked gather (vmaskmovps would do for stride 1, but only the row ends come here); bit i
    // of the mask for lane i.
    using Mask = uint32_t;
    static Mask inside(int64_t c, int64_t stride, int64_t width) {
        Mask m = 0;
        for (int64_t i = 0; i < 8; ++i) m |= (c + i * stride >= 0 && c + i * stride < width ? 1u : 0u) << i;
        return m;
    }
    static __m256 load(const float* row, int64_t c, int64_t stride, Mask m) {
        const __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        const __m256i lanes = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int32_t>(m)), bits), bits);
        const __m256i columns =
            _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(c)), Avx2Lanes::lane_steps(static_cast<int32_t>(stride)));
        return _mm256_mask_i32gather_ps(_mm256_set1_ps(-std::numeric_limits<float>::infinity()), row, columns,
                                        _mm256_castsi256_ps(lanes), 4);
    }
};
#endif

#if defined(__AVX512F__)
template <>
struct ClippedLoads<Avx512Lanes> {
    // Strides 1 and 2: masked loads of the elements inside the row (no fault past its ends), bit
    // e of the mask for element c + e, e < 32. Others: a masked gather, bit i for lane i.
    using Mask = uint32_t;
    static Mask inside(int64_t c, int64_t stride, int64_t width) {
        if (stride <= 2) {
            const int64_t lo = std::clamp<int64_t>(-c, 0, 32), hi = std::clamp<int64_t>(width - c, 0, 32);
            return static_cast<Mask>(((uint64_t{1} << hi) - 1) & ~((uint64_t{1} << lo) - 1));
        }
        Mask m = 0;
        for (int64_t i = 0; i < 16; ++i) m |= (c + i * stride >= 0 && c + i * stride < width ? 1u : 0u) << i;
        return m;
    }
    static __m512 load(const float* row, int64_t c, int64_t stride, Mask m) {
        const __m512 minus_infinity = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        if (stride <= 2) {
            const __m512 low = _mm512_mask_loadu_ps(minus_infinity, static_cast<__mmask16>(m), row + c);
            if (stride == 1) return low;
            const __m512 high = _mm512_mask_loadu_ps(minus_infinity, static_cast<__mmask16>(m >> 16), row + c + 16);
            return _mm512_permutex2var_ps(
                low, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), high);
        }
        const __m512i columns = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(c)),
                                                 Avx512Lanes::lane_steps(static_cast<int32_t>(stride)));
        return _mm512_mask_i32gather_ps(minus_infinity, static_cast<__mmask16>(m), columns, row, 4);
    }
};
#endif

// The three taps row[c + 2 i], row[c + 2 i + 1], row[c + 2 i + 2] of a register of 3-wide,
// stride-2, undilated windows from one load pair split by parity, the even lanes moved down one
// (row[c + 32] into the last) for the third tap, instead of a load pair and a permute per tap.
// load() reads inside the row; load_clipped() takes the elements c + e (e < 32) that `inside` has
// (ClippedLoads' mask of the first tap) and -inf for the others. Only where one instruction moves
// lanes across the register (AVX-512's valignd).
template <class V>
struct StrideTwoTaps {
    static constexpr bool available = false;
};

#if defined(__AVX512F__)
template <>
struct StrideTwoTaps<Avx512Lanes> {
    static constexpr bool available = true;
    static void load(const float* row, int64_t c, __m512 taps[3]) {
        split(_mm512_loadu_ps(row + c), _mm512_loadu_ps(row + c + 16), row[c + 32], taps);
    }
    static void load_clipped(const float* row, int64_t c, int64_t width, uint32_t inside, __m512 taps[3]) {
        const float minus_infinity = -std::numeric_limits<float>::infinity();
        const __m512 padding = _mm512_set1_ps(minus_infinity);
        split(_mm512_mask_loadu_ps(padding, static_cast<__mmask16>(inside), row + c),
              _mm512_mask_loadu_ps(padding, static_cast<__mmask16>(inside >> 16), row + c + 16),
              c + 32 >= 0 && c + 32 < width ? row[c + 32] : minus_infinity, taps);
    }

private:
    static void split(__m512 low, __m512 high, float next, __m512 taps[3]) {
        const __m512i even_indices = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        taps[0] = _mm512_permutex2var_ps(low, even_indices, high);
        taps[1] = _mm512_permutex2var_ps(low, _mm512_add_epi32(even_indices, _mm512_set1_epi32(1)), high);
        taps[2] = _mm512_castsi512_ps(
            _mm512_alignr_epi32(_mm512_castps_si512(_mm512_set1_ps(next)), _mm512_castps_si512(taps[0]), 1));
    }
};
#endif

template <class V>
struct MaxPoolPlanes {
    using Reg = typename V::Reg;
    using IReg = typename V::IReg;
    using P = PositionLanes<V>;
    using Clipped = ClippedLoads<V>;
    static constexpr int64_t W = V::width;
    // The row pass's position for a window without an element of x: far enough below 0 that it
    // stays negative (index -1) whatever the row.
    static constexpr int32_t kEmpty = -(int32_t{1} << 30);
    // Outputs per chunk (values and positions: 32 KiB, in L1/L2) before they go out to y.
    static constexpr int64_t kChunkOutputs = 4096;

    // The row pass's layout, the same for every row.
    struct Rows {
        int64_t width, out_w, stride, dilation, kernel, pad;
        int64_t registers;  // registers of output columns per row
        int64_t left;       // columns [0, left) have taps in the left padding
        // Per register, whether its loads stay inside the row; per (register, tap), the lanes
        // inside the row, for the registers that do not.
        std::vector<uint8_t> clipped;
        std::vector<typename Clipped::Mask> inside;
    };

    static void layout(const WindowGeometry& g, Rows& r) {
        r.width = g.in[2];
        r.out_w = g.out[2];
        r.stride = g.stride[2];
        r.dilation = g.dilation[2];
        r.kernel = g.kernel[2];
        r.pad = g.pad_begin[2];
        r.registers = (r.out_w + W - 1) / W;
        r.left = std::min(r.out_w, (r.pad + r.stride - 1) / r.stride);
        // What one strided load reads from its start: a register, two for stride 2 (even and
        // odd elements), else a gather's lanes.
        const int64_t extent = r.stride == 1 ? W : r.stride == 2 ? 2 * W : (W - 1) * r.stride + 1;
        const int64_t reach = (r.kernel - 1) * r.dilation + extent;
        r.clipped.resize(static_cast<size_t>(r.registers));
        r.inside.resize(static_cast<size_t>(r.registers * r.kernel));
        for (int64_t i = 0; i < r.registers; ++i) {
            const int64_t c = i * W * r.stride - r.pad;
            r.clipped[static_cast<size_t>(i)] = c < 0 || c + reach > r.width;
            for (int64_t kw = 0; kw < r.kernel; ++kw) {
                r.inside[static_cast<size_t>(i * r.kernel + kw)] = Clipped::inside(c + kw * r.dilation, r.stride, r.width);
            }
        }
    }

    // A row of x in a window: where its row results are cached, the row, and its first tap in
    // the window ((kd * kernel[1] + kh) * kernel[2]).
    struct WindowRow {
        int64_t slot;
        int64_t row;
        int32_t tap;
    };

    struct Scratch {
        Rows rows;
        std::vector<float> row_values, out_values;
        std::vector<int32_t> row_positions, out_positions;
        std::vector<int64_t> tags;
        // Per output row (of a plane), its window's rows in tap order: entries [first[q],
        // first[q + 1]) of `window`.
        std::vector<WindowRow> window;
        std::vector<int64_t> first;
    };

    static constexpr bool has_positions(Argmax f) { return f != Argmax::none; }
    static constexpr bool has_taps(Argmax f) { return f == Argmax::u8_taps || f == Argmax::i32_taps; }

    // Column j's fold over the row's elements alone (kEmpty and -inf when it has none); its
    // position in the plane (row_start + column), or with Taps its tap along the row.
    template <bool Taps>
    static void fold_column(const Rows& r, const float* x_row, int32_t row_start, int64_t j, float* value,
                            int32_t* position) {
        float best = -std::numeric_limits<float>::infinity();
        int32_t chosen = kEmpty;
        const int64_t start = j * r.stride - r.pad;
        const TapRange taps = taps_within(start, r.dilation, r.kernel, 0, r.width);
        for (int64_t kw = taps.lo; kw < taps.hi; ++kw) {
            const int64_t c = start + kw * r.dilation;
            if (chosen == kEmpty || ScalarLanes::takes_over(x_row[c], best)) {
                best = x_row[c];
                chosen = Taps ? static_cast<int32_t>(kw) : row_start + static_cast<int32_t>(c);
            }
        }
        *value = best;
        *position = chosen;
    }

    // Row pass: per output column, the fold of the row's kernel[2] taps and the chosen
    // element's position in the plane (row_start + column), or for a workspace its tap kw.
    // Registers whose loads stay inside the row read it directly; those at its ends read it
    // clipped, with -inf for the padding. K and S: kernel[2] and stride[2] when compiled in (the
    // tap loop unrolls, the strided load has no branch), else 0. With Argmax::none (no indices
    // wanted) only values fold.
    template <int K, int S, Argmax F>
    static void fold_row(const Rows& r, const float* x_row, int32_t row_start, float* values, int32_t* positions) {
        constexpr bool Positions = has_positions(F), Taps = has_taps(F);
        const int64_t kernel = K > 0 ? K : r.kernel, stride = S > 0 ? S : r.stride;
        const IReg steps = V::lane_steps(static_cast<int32_t>(stride));
        const int64_t tap_step = Taps ? 1 : r.dilation;
        for (int64_t i = 0; i < r.registers; ++i) {
            const int64_t c = i * W * stride - r.pad;
            const IReg first = Taps ? V::lane_steps(0) : V::plus(steps, static_cast<int32_t>(c) + row_start);
            auto fold = [&](auto load) {
                Reg best = load(0);
                IReg position = first;
                for (int64_t kw = 1; kw < kernel; ++kw) {
                    const Reg v = load(kw);
                    const auto take = V::takes_over(v, best);
                    best = V::select(take, v, best);
                    if constexpr (Positions) {
                        position = V::select(take, V::plus(first, static_cast<int32_t>(kw * tap_step)), position);
                    }
                }
                V::store(values + i * W, best, AllLanes{});
                if constexpr (Positions) P::store(positions + i * W, position);
            };
            if constexpr (K == 3 && S == 2 && StrideTwoTaps<V>::available) {
                if (r.dilation == 1) {
                    Reg taps[3];
                    if (!r.clipped[static_cast<size_t>(i)]) {
                        StrideTwoTaps<V>::load(x_row, c, taps);
                    } else {
                        StrideTwoTaps<V>::load_clipped(x_row, c, r.width, r.inside[static_cast<size_t>(i * kernel)], taps);
                    }
                    fold([&](int64_t kw) { return taps[kw]; });
                    continue;
                }
            }
            if (!r.clipped[static_cast<size_t>(i)]) {
                fold([&](int64_t kw) { return V::load_strided(x_row + c + kw * r.dilation, stride); });
            } else {
                const auto* inside = r.inside.data() + i * kernel;
                fold([&](int64_t kw) { return Clipped::load(x_row, c + kw * r.dilation, stride, inside[kw]); });
            }
        }
        // A left column whose padding won: its elements of x are all -inf (a tie the padding,
        // coming first, keeps) or it has none. Either way the column folds again without it
        // (for its position: the value is -inf either way).
        if constexpr (!Positions) return;
        for (int64_t j = 0; j < r.left; ++j) {
            const bool padding_won =
                Taps ? j * stride - r.pad + positions[j] * r.dilation < 0 : positions[j] < row_start;
            if (padding_won) fold_column<Taps>(r, x_row, row_start, j, values + j, positions + j);
        }
    }

    using FoldRow = void (*)(const Rows&, const float*, int32_t, float*, int32_t*);
    // The common windows (3x3/2, 2x2/2, 3x3/1) compiled in. The workspace's two forms fold alike.
    template <Argmax F>
    static FoldRow fold_row_for(int64_t kernel, int64_t stride) {
        constexpr Argmax G = F == Argmax::i32_taps ? Argmax::u8_taps : F;
        if (kernel == 3 && stride == 2) return fold_row<3, 2, G>;
        if (kernel == 2 && stride == 2) return fold_row<2, 2, G>;
        if (kernel == 3 && stride == 1) return fold_row<3, 1, G>;
        return fold_row<0, 0, G>;
    }

    static int64_t power_of_two_at_least(int64_t n) {
        int64_t p = 1;
        while (p < n) p *= 2;
        return p;
    }

    // The rows of every output row's window, in tap order, with their cache slots: by (depth,
    // row) of x modulo powers of two at least a window's extent, so the rows of one window never
    // share a slot and consecutive windows (3x3/2: every other row) find the rows they share.
    static int64_t window_rows(const WindowGeometry& g, Scratch& s) {
        const int64_t depth_slots = power_of_two_at_least((g.kernel[0] - 1) * g.dilation[0] + 1);
        const int64_t row_slots = power_of_two_at_least((g.kernel[1] - 1) * g.dilation[1] + 1);
        const int64_t out_rows = g.out[0] * g.out[1];
        s.window.clear();
        s.first.resize(static_cast<size_t>(out_rows + 1));
        for (int64_t q = 0; q < out_rows; ++q) {
            s.first[static_cast<size_t>(q)] = static_cast<int64_t>(s.window.size());
            const int64_t d_start = q / g.out[1] * g.stride[0] - g.pad_begin[0];
            const int64_t h_start = q % g.out[1] * g.stride[1] - g.pad_begin[1];
            const TapRange d_taps = taps_within(d_start, g.dilation[0], g.kernel[0], 0, g.in[0]);
            const TapRange h_taps = taps_within(h_start, g.dilation[1], g.kernel[1], 0, g.in[1]);
            for (int64_t kd = d_taps.lo; kd < d_taps.hi; ++kd) {
                const int64_t id = d_start + kd * g.dilation[0];
                for (int64_t kh = h_taps.lo; kh < h_taps.hi; ++kh) {
                    const int64_t ih = h_start + kh * g.dilation[1];
                    s.window.push_back({(id & (depth_slots - 1)) * row_slots + (ih & (row_slots - 1)), id * g.in[1] + ih,
                                        static_cast<int32_t>((kd * g.kernel[1] + kh) * g.kernel[2])});
                }
            }
        }
        s.first[static_cast<size_t>(out_rows)] = static_cast<int64_t>(s.window.size());
        return depth_slots * row_slots;
    }

    static void run(const float* x, float* y, void* argmax, int64_t first_plane, int64_t planes, const PoolArgs& a,
                    bool stream) {
        if (!a.has_indices) return run_planes<Argmax::none>(x, y, nullptr, first_plane, planes, a, stream);
        if (a.indices.dtype == MLN_DTYPE_I64) return run_planes<Argmax::indices>(x, y, argmax, first_plane, planes, a, stream);
        if (a.indices.dtype == MLN_DTYPE_U8) return run_planes<Argmax::u8_taps>(x, y, argmax, first_plane, planes, a, stream);
        run_planes<Argmax::i32_taps>(x, y, argmax, first_plane, planes, a, stream);
    }

    template <Argmax F>
    static void run_planes(const float* x, float* y, void* argmax, int64_t first_plane, int64_t planes,
                           const PoolArgs& a, bool stream) {
        const WindowGeometry& g = a.geometry;
        if (g.out_size() == 0 || planes == 0) return;
        Scratch& s = thread_scratch_in_register<Scratch>();
        Rows& r = s.rows;
        layout(g, r);
        const FoldRow fold = fold_row_for<F>(r.kernel, r.stride);
        const int64_t in_size = g.in_size(), out_size = g.out_size();
        const int64_t out_rows = g.out[0] * g.out[1];
        const int64_t row_floats = r.registers * W;
        const int64_t slots = window_rows(g, s);
        const int64_t chunk_rows = std::max<int64_t>(1, kChunkOutputs / std::max<int64_t>(1, r.out_w));
        s.row_values.resize(static_cast<size_t>(slots * row_floats));
        s.row_positions.resize(static_cast<size_t>(slots * row_floats));
        s.out_values.resize(static_cast<size_t>(std::min(chunk_rows, out_rows) * r.out_w + row_floats));
        s.out_positions.resize(s.out_values.size());
        s.tags.resize(static_cast<size_t>(slots));

        for (int64_t plane = first_plane; plane < first_plane + planes; ++plane) {
            const float* xp = x + plane * in_size;
            std::fill(s.tags.begin(), s.tags.end(), -1);
            for (int64_t q0 = 0; q0 < out_rows; q0 += chunk_rows) {
                const int64_t q1 = std::min(out_rows, q0 + chunk_rows);
                for (int64_t q = q0; q < q1; ++q) {
                    float* values = s.out_values.data() + (q - q0) * r.out_w;
                    int32_t* out_positions = s.out_positions.data() + (q - q0) * r.out_w;
                    const WindowRow* rows = s.window.data() + s.first[static_cast<size_t>(q)];
                    const int64_t count = s.first[static_cast<size_t>(q + 1)] - s.first[static_cast<size_t>(q)];
                    for (int64_t t = 0; t < count; ++t) {
                        const int64_t slot = rows[t].slot, row = rows[t].row;
                        if (s.tags[static_cast<size_t>(slot)] == row) continue;
                        fold(r, xp + row * r.width, static_cast<int32_t>(row * r.width),
                             s.row_values.data() + slot * row_floats, s.row_positions.data() + slot * row_floats);
                        s.tags[static_cast<size_t>(slot)] = row;
                    }
                    if (count == 3) {
                        fold_window<F, 3>(s, rows, count, row_floats, values, out_positions);
                    } else {
                        fold_window<F, 0>(s, rows, count, row_floats, values, out_positions);
                    }
                    if (count == 0) {
                        // No row of the window inside x.
                        std::fill(values, values + r.out_w, -std::numeric_limits<float>::infinity());
                        std::fill(out_positions, out_positions + r.out_w, -1);
                    }
                }
                const int64_t n = (q1 - q0) * r.out_w, flat = plane * out_size + q0 * r.out_w;
                write_values<V>(y + flat, s.out_values.data(), n, stream);
                const int32_t* positions = s.out_positions.data();
                if constexpr (F == Argmax::indices) {
                    P::write_indices(static_cast<int64_t*>(argmax) + flat, positions, n, plane * in_size, stream);
                } else if constexpr (F == Argmax::u8_taps) {
                    P::write_taps(static_cast<uint8_t*>(argmax) + flat, positions, n);
                } else if constexpr (F == Argmax::i32_taps) {
                    P::write_taps(static_cast<int32_t*>(argmax) + flat, positions, n);
                }
            }
        }
#if defined(__AVX2__)
        if (stream) _mm_sfence();
#endif
    }

    // Window pass for one output row: folds the cached row results of its window's `count` rows
    // (at least 1), in tap order, into `values` and (with positions) `positions` (whole
    // registers: row_floats): plane positions, or for a workspace each row's first tap plus the
    // row's kw. Count: `count` compiled in (the common 3 rows of a 3x3 window: the tap loop
    // unrolls), else 0.
    template <Argmax F, int Count>
    static void fold_window(const Scratch& s, const WindowRow* rows, int64_t runtime_count, int64_t row_floats,
                            float* values, int32_t* positions) {
        constexpr bool Positions = has_positions(F), Taps = has_taps(F);
        const int64_t count = Count > 0 ? Count : runtime_count;
        if (count == 0) return;
        // The row's position: its row result, plus its first tap for a workspace.
        auto position_at = [&](int64_t t, const int32_t* p) {
            return Taps ? V::plus(P::load(p), rows[t].tap) : P::load(p);
        };
        const float* v0 = s.row_values.data() + rows[0].slot * row_floats;
        const int32_t* p0 = s.row_positions.data() + rows[0].slot * row_floats;
        for (int64_t i = 0; i < row_floats; i += W) {
            Reg best = V::load(v0 + i, AllLanes{});
            IReg position = Positions ? position_at(0, p0 + i) : IReg{};
            for (int64_t t = 1; t < count; ++t) {
                const int64_t at = rows[t].slot * row_floats + i;
                const Reg v = V::load(s.row_values.data() + at, AllLanes{});
                const auto take = V::takes_over(v, best);
                best = V::select(take, v, best);
                if constexpr (Positions) position = V::select(take, position_at(t, s.row_positions.data() + at), position);
            }
            V::store(values + i, best, AllLanes{});
            if constexpr (Positions) P::store(positions + i, position);
        }
    }
};

}  // namespace
}  // namespace mln::kernels
