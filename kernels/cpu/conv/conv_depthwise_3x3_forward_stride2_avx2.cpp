// Compiled with AVX2: the forward of the NCHW 3 x 3 depthwise kernel at stride 2 x 2
// (conv_depthwise_3x3.hpp), the AVX2 twin of the AVX-512 forward's stride-2 loops. A register of
// 8 outputs of a row reads the 17 source columns from base = 2 first - pad: tap 0 is the even
// ones of the first 16, tap 1 the odd ones, tap 2 the even ones from base + 2. Each comes from
// two 256-bit loads by one in-lane shuffle (vshufps), which leaves the outputs in the order
// 0 1 4 5 2 3 6 7
// (kSplitOrder): the sums stay in that order and one cross-lane permute a register puts them
// back before the store, not one a tap (the split into natural order costs two vpermpd a source
// row). Two output rows a step where their five source rows lie in the plane, the source row
// they share split once.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kTaps = 9;

// Lane j of a split holds output kSplitOrder[j] of its register.
constexpr int64_t kSplitOrder[8] = {0, 1, 4, 5, 2, 3, 6, 7};

// The loads of a register's 17 columns: at base and base + 8 (tap 0: their even lanes), base + 1
// and base + 9 (taps 1 and 2: their even and odd lanes). At pad 1 on rows of a multiple of 16
// columns the last two start 32-byte aligned; tap 2 from loads at base + 2 and base + 10 (which
// also read a column more) crossed cache lines twice as often and ran MobileNet-v2's stride-2
// layers 1.04-1.16x slower at batch 1 (one thread, same-process A/B, min times).
constexpr int64_t kLoadOffsets[4] = {0, 8, 1, 9};

// Up to 8 outputs of a row, columns first..first + 8. load[r]: the lanes of load r whose column
// lies in the row (the others read as 0, never past the row); tap[kw]: the split-order lanes
// whose tap-kw column lies in the row, all ones, the filter's weights masked with them so that
// a padding tap adds nothing (0 x a NaN or Inf weight would add a NaN); count: the outputs.
struct Stride2Register {
    int64_t first, base, count;
    __m256i load[4];
    __m256 tap[3];
    bool whole;  // every load and tap inside the row, 8 outputs
};

std::vector<Stride2Register> stride2_registers(const WindowGeometry& g) {
    const int64_t out_width = g.out[2], in_width = g.in[2];
    std::vector<Stride2Register> registers;
    for (int64_t first = 0; first < out_width; first += 8) {
        Stride2Register r;
        r.first = first;
        r.base = 2 * first - g.pad_begin[2];
        alignas(32) int32_t lanes[8];
        bool whole = first + 8 <= out_width;
        auto in_row = [&](int64_t column) { return column >= 0 && column < in_width; };
        for (int64_t l = 0; l < 4; ++l) {
            for (int64_t j = 0; j < 8; ++j) {
                const bool inside = in_row(r.base + kLoadOffsets[l] + j);
                lanes[j] = inside ? -1 : 0;
                whole = whole && inside;
            }
            r.load[l] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
        }
        for (int64_t kw = 0; kw < 3; ++kw) {
            for (int64_t j = 0; j < 8; ++j) lanes[j] = in_row(r.base + 2 * kSplitOrder[j] + kw) ? -1 : 0;
            r.tap[kw] = _mm256_castsi256_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(lanes)));
        }
        r.count = std::min<int64_t>(8, out_width - first);
        r.whole = whole;
        registers.push_back(r);
    }
    return registers;
}

// Tap kw of a source row for a register of outputs, in split order.
struct RowTaps {
    __m256 t[3];
};

template <bool Whole>
MLN_ALWAYS_INLINE RowTaps row_taps(const float* row, const Stride2Register& r) {
    const float* at = row + r.base;
    __m256 a[4];
    for (int64_t l = 0; l < 4; ++l) {
        a[l] = Whole ? _mm256_loadu_ps(at + kLoadOffsets[l]) : _mm256_maskload_ps(at + kLoadOffsets[l], r.load[l]);
    }
    return {{_mm256_shuffle_ps(a[0], a[1], 0x88), _mm256_shuffle_ps(a[2], a[3], 0x88),
             _mm256_shuffle_ps(a[2], a[3], 0xDD)}};
}

// The taps times one filter row w[0..2]: one sum a source row, added up after (one chain of
// nine FMAs an output measured the same).
MLN_ALWAYS_INLINE __m256 row_sum(const RowTaps& t, const __m256* w) {
    return _mm256_fmadd_ps(t.t[2], w[2], _mm256_fmadd_ps(t.t[1], w[1], _mm256_mul_ps(t.t[0], w[0])));
}

// Stores the register's outputs in natural order; a register of fewer than 8 in pieces of 4, 2
// and 1: masked stores (vmaskmovps, slow on Zen 3) ran dw192/2 @ 28 and dw144/2 @ 56 1.35x and
// 1.25x slower at batch 1.
MLN_ALWAYS_INLINE void store(float* y_row, const Stride2Register& r, __m256 sum) {
    const __m256 natural = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(sum), 0xD8));
    float* at = y_row + r.first;
    if (r.count == 8) return _mm256_storeu_ps(at, natural);
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

// The filter's weights for register r: as they are (Whole), or masked with its tap lanes.
template <bool Whole>
MLN_ALWAYS_INLINE void register_weights(const __m256* w, const Stride2Register& r, __m256* out) {
    for (int64_t t = 0; t < kTaps; ++t) out[t] = Whole ? w[t] : _mm256_and_ps(w[t], r.tap[t % 3]);
}

// Output rows oh and oh + 1 of register r; rows: their five source rows.
template <bool Whole>
MLN_ALWAYS_INLINE void row_pair(const float* const* rows, const __m256* filter, __m256 bias, const Stride2Register& r,
                                float* y_upper, int64_t out_width) {
    __m256 w[kTaps];
    register_weights<Whole>(filter, r, w);
    const RowTaps shared = row_taps<Whole>(rows[2], r);
    const __m256 upper = _mm256_add_ps(row_sum(row_taps<Whole>(rows[0], r), w),
                                       _mm256_add_ps(row_sum(row_taps<Whole>(rows[1], r), w + 3), bias));
    const __m256 lower = _mm256_add_ps(row_sum(shared, w),
                                       _mm256_add_ps(row_sum(row_taps<Whole>(rows[3], r), w + 3), bias));
    store(y_upper, r, _mm256_add_ps(upper, row_sum(shared, w + 6)));
    store(y_upper + out_width, r, _mm256_add_ps(lower, row_sum(row_taps<Whole>(rows[4], r), w + 6)));
}

// Output row oh of register r alone: the filter rows kh whose source row lies in the plane.
template <bool Whole>
MLN_ALWAYS_INLINE void single_row(const float* x, const WindowGeometry& g, int64_t oh, const __m256* filter,
                                  __m256 bias, const Stride2Register& r, float* y_row) {
    __m256 w[kTaps];
    register_weights<Whole>(filter, r, w);
    __m256 sum = bias;
    for (int64_t kh = 0; kh < 3; ++kh) {
        const int64_t ih = 2 * oh - g.pad_begin[1] + kh;
        if (ih < 0 || ih >= g.in[1]) continue;
        sum = _mm256_add_ps(sum, row_sum(row_taps<Whole>(x + ih * g.in[2], r), w + kh * 3));
    }
    store(y_row, r, sum);
}

// Prefetches into L1 the `floats` floats kPrefetchBytes past `from`: the loop reads five rows
// and advances four, which the hardware prefetchers do not follow: without, MobileNet-v2's
// stride-2 layers ran 1.3-2.7x slower at batch 32 (two threads; at batch 1 from L3 up to 1.15x
// faster); into L2 (_MM_HINT_T1) 16 KiB ahead 1.0-1.08x slower. Past a plane this fetches the
// next channel's.
constexpr int64_t kPrefetchBytes = int64_t{8} << 10;

MLN_ALWAYS_INLINE void prefetch_rows(const float* from, int64_t floats) {
    const char* ahead = reinterpret_cast<const char*>(from) + kPrefetchBytes;
    for (int64_t b = 0; b < floats * static_cast<int64_t>(sizeof(float)); b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
}

void plane_window_sums(const float* x, const float* taps, float bias, const WindowGeometry& g,
                       const std::vector<Stride2Register>& registers, float* y) {
    __m256 w[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) w[t] = _mm256_set1_ps(taps[t]);
    const __m256 b = _mm256_set1_ps(bias);
    const int64_t out_width = g.out[2], out_rows = g.out[1], in_width = g.in[2], in_rows = g.in[1];
    const int64_t pad = g.pad_begin[1];
    auto row = [&](int64_t oh) {
        prefetch_rows(x + 2 * oh * in_width, 2 * in_width);
        for (const Stride2Register& r : registers) {
            if (r.whole) {
                single_row<true>(x, g, oh, w, b, r, y + oh * out_width);
            } else {
                single_row<false>(x, g, oh, w, b, r, y + oh * out_width);
            }
        }
    };
    int64_t oh = 0;
    for (; oh < out_rows && 2 * oh < pad; ++oh) row(oh);
    // Pairs of rows whose five source rows lie in the plane.
    for (; oh + 1 < out_rows && 2 * oh - pad + 4 < in_rows; oh += 2) {
        const float* top = x + (2 * oh - pad) * in_width;
        prefetch_rows(top, 4 * in_width);
        const float* rows[5];
        for (int64_t k = 0; k < 5; ++k) rows[k] = top + k * in_width;
        for (const Stride2Register& r : registers) {
            if (r.whole) {
                row_pair<true>(rows, w, b, r, y + oh * out_width, out_width);
            } else {
                row_pair<false>(rows, w, b, r, y + oh * out_width, out_width);
            }
        }
    }
    for (; oh < out_rows; ++oh) row(oh);
}

}  // namespace

void conv_depthwise_3x3_forward_stride2_avx2(const float* x, const float* w, const float* bias,
                                             const WindowGeometry& g, int64_t channels, float* y) {
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    if (out_size == 0) return;
    const std::vector<Stride2Register> registers = stride2_registers(g);
    for (int64_t c = 0; c < channels; ++c) {
        plane_window_sums(x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, g, registers,
                          y + c * out_size);
    }
}

}  // namespace mln::kernels
