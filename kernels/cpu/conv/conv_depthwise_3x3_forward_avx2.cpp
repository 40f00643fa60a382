// Compiled with AVX2 + FMA: the forward of the NCHW 3 x 3 depthwise kernels (conv_depthwise_3x3.hpp)
// at stride 1 with output rows as wide as the input's, straight in NCHW (the channel-blocked
// kernels' copies in and out cost more than the sums on these memory-bound layers). A row is cut
// into registers of 8 outputs, the last one ending at the row's end (overlapping the one before
// where the width is not a multiple of 8: no output lane past the row, no masked store); every
// tap is an unaligned load at its column offset (cheap on AVX2, where the AVX-512 kernels'
// lane-crossing shifts cost more), and two output rows are summed a step from four source rows,
// each loaded once for both. Registers at the row's ends load their taps masked to the columns
// inside the row, with the weights masked the same way: a tap outside the row adds 0 * 0, never
// a loaded zero times a NaN or Inf weight, so outputs match the reference twin's exactly there.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kTaps = 9;
constexpr int64_t kLanes = 8;
constexpr int64_t kPrefetchBytes = int64_t{8} << 10;

// The registers of an output row: register v's outputs start at column start(v). Rows of fewer
// than 8 columns have one register whose lanes past the row are masked out.
struct RowRegisters {
    int64_t width, count, pad;
    // The lanes of the first and last register whose tap kw lies in the source row (and, in rows
    // of fewer than 8 columns, whose output lies in the row); all lanes in the other registers.
    __m256i first_taps[3], last_taps[3];
    __m256i outputs;  // the lanes of a row of fewer than 8 columns

    RowRegisters(int64_t width_, int64_t pad_)
        : width(width_), count(width_ < kLanes ? 1 : (width_ + kLanes - 1) / kLanes), pad(pad_) {
        alignas(32) int32_t first[3][kLanes], last[3][kLanes], out[kLanes];
        const int64_t last_start = start(count - 1);
        for (int64_t i = 0; i < kLanes; ++i) {
            out[i] = i < width ? -1 : 0;
            for (int64_t kw = 0; kw < 3; ++kw) {
                first[kw][i] = inside(i, kw) ? -1 : 0;
                last[kw][i] = inside(last_start + i, kw) ? -1 : 0;
            }
        }
        for (int64_t kw = 0; kw < 3; ++kw) {
            first_taps[kw] = _mm256_load_si256(reinterpret_cast<const __m256i*>(first[kw]));
            last_taps[kw] = _mm256_load_si256(reinterpret_cast<const __m256i*>(last[kw]));
        }
        outputs = _mm256_load_si256(reinterpret_cast<const __m256i*>(out));
    }

    int64_t start(int64_t v) const { return std::max<int64_t>(0, std::min(v * kLanes, width - kLanes)); }

    // Whether output column `column` is in the row and its tap kw's source column too.
    bool inside(int64_t column, int64_t kw) const {
        const int64_t source = column - pad + kw;
        return column < width && source >= 0 && source < width;
    }
};

// The nine weights of a channel as they apply to one kind of register: whole, or masked to the
// lanes whose taps lie in the row.
struct RegisterWeights {
    __m256 w[kTaps];
};

MLN_ALWAYS_INLINE RegisterWeights masked_weights(const RegisterWeights& whole, const __m256i* taps) {
    RegisterWeights r;
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) r.w[t] = _mm256_and_ps(whole.w[t], _mm256_castsi256_ps(taps[t % 3]));
    return r;
}

template <bool Masked>
MLN_ALWAYS_INLINE __m256 load_tap(const float* at, __m256i lanes) {
    if constexpr (Masked) return _mm256_maskload_ps(at, lanes);
    (void)lanes;
    return _mm256_loadu_ps(at);
}

// out[o] = b + the window sums of output rows o < Rows at one register, from source rows
// rows[0 .. Rows + 1] (the first row's top first; nullptr: outside the plane, only where not
// AllRows) read from column `at` on. Each source row's three taps are loaded once and summed
// into every output row that reads them; one sum a source row and output row (three-FMA chains),
// added to the output's.
template <int Rows, bool AllRows, bool Masked>
MLN_ALWAYS_INLINE void register_sums(const float* const* rows, int64_t at, const RegisterWeights& w,
                                     const __m256i* taps, __m256 b, __m256* out) {
    MLN_UNROLL(2)
    for (int o = 0; o < Rows; ++o) out[o] = b;
    MLN_UNROLL(4)
    for (int r = 0; r < Rows + 2; ++r) {
        if (!AllRows && rows[r] == nullptr) continue;
        const float* source = rows[r] + at;
        __m256 t[3];
        MLN_UNROLL(3)
        for (int kw = 0; kw < 3; ++kw) t[kw] = load_tap<Masked>(source + kw, taps[kw]);
        MLN_UNROLL(2)
        for (int o = 0; o < Rows; ++o) {
            const int kh = r - o;
            if (kh < 0 || kh > 2) continue;
            __m256 sum = _mm256_mul_ps(t[0], w.w[kh * 3]);
            sum = _mm256_fmadd_ps(t[1], w.w[kh * 3 + 1], sum);
            sum = _mm256_fmadd_ps(t[2], w.w[kh * 3 + 2], sum);
            out[o] = _mm256_add_ps(out[o], sum);
        }
    }
}

// The weights a plane's registers take: whole in the row's inner registers, masked in its first
// and last (one register, masked both ways, in rows of up to 8 columns).
struct PlaneWeights {
    RegisterWeights whole, first, last;
    __m256 bias;
};

// Output rows y_row[o * width], o < Rows, from source rows `rows` (register_sums), register by
// register. In rows of fewer than 8 columns the first `whole_rows` store 8 floats whole, running
// into the rows after them (stored after, in order) but not past the plane; the others masked.
template <int Rows, bool AllRows>
MLN_ALWAYS_INLINE void output_rows(const float* const* rows, const RowRegisters& c, const PlaneWeights& pw,
                                   float* y_row, int64_t whole_rows) {
    const int64_t width = c.width, at = -c.pad;
    __m256 sums[Rows];
    auto store = [&](int64_t column) {
        MLN_UNROLL(2)
        for (int o = 0; o < Rows; ++o) _mm256_storeu_ps(y_row + o * width + column, sums[o]);
    };
    if (c.count == 1) {
        register_sums<Rows, AllRows, true>(rows, at, pw.first, c.first_taps, pw.bias, sums);
        MLN_UNROLL(2)
        for (int o = 0; o < Rows; ++o) {
            if (width >= kLanes || o < whole_rows) {
                _mm256_storeu_ps(y_row + o * width, sums[o]);
            } else {
                _mm256_maskstore_ps(y_row + o * width, c.outputs, sums[o]);
            }
        }
        return;
    }
    register_sums<Rows, AllRows, true>(rows, at, pw.first, c.first_taps, pw.bias, sums);
    store(0);
    const int64_t last = c.count - 1;
    for (int64_t column = kLanes; column < last * kLanes; column += kLanes) {
        register_sums<Rows, AllRows, false>(rows, at + column, pw.whole, nullptr, pw.bias, sums);
        store(column);
    }
    const int64_t column = c.start(last);
    register_sums<Rows, AllRows, true>(rows, at + column, pw.last, c.last_taps, pw.bias, sums);
    store(column);
}

// y (out rows x width) = bias + the window sums of x (in rows x width) with the channel's taps:
// the rows whose three source rows lie in the plane two at a time, the others (reading padding)
// one at a time with the rows outside left out.
MLN_NOINLINE void plane_window_sums(const float* x, const float* taps, float bias, const WindowGeometry& g,
                                    const RowRegisters& c, float* y) {
    PlaneWeights pw;
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) pw.whole.w[t] = _mm256_set1_ps(taps[t]);
    pw.bias = _mm256_set1_ps(bias);
    pw.first = masked_weights(pw.whole, c.first_taps);
    if (c.count > 1) pw.last = masked_weights(pw.whole, c.last_taps);
    const int64_t width = c.width, in_rows = g.in[1], out_rows = g.out[1], pad = g.pad_begin[1];
    // Rows [inner_begin, inner_end) read three source rows inside the plane.
    const int64_t inner_begin = std::min(out_rows, pad);
    const int64_t inner_end = std::clamp(in_rows - 2 + pad, inner_begin, out_rows);
    // The rows whose 8-float store ends inside the plane.
    const int64_t whole_store_rows = out_rows * width < kLanes ? 0 : (out_rows * width - kLanes) / width + 1;
    auto whole_rows = [&](int64_t oh) { return std::clamp<int64_t>(whole_store_rows - oh, 0, 2); };
    auto border_row = [&](int64_t oh) {
        const float* rows[3];
        for (int64_t kh = 0; kh < 3; ++kh) {
            const int64_t ih = oh - pad + kh;
            rows[kh] = ih >= 0 && ih < in_rows ? x + ih * width : nullptr;
        }
        output_rows<1, false>(rows, c, pw, y + oh * width, whole_rows(oh));
    };
    int64_t oh = 0;
    for (; oh < inner_begin; ++oh) border_row(oh);
    for (; oh + 1 < inner_end; oh += 2) {
        const float* source = x + (oh - pad) * width;
        const float* rows[4] = {source, source + width, source + 2 * width, source + 3 * width};
        // The two rows the step advances, 8 KiB ahead (past a small plane: the next channels',
        // which the hardware prefetchers did not fetch). Batch 32, 2 threads, same-process A/B:
        // without it dw384 and dw576 @ 14 ran 1.4-1.6x slower, dw960 @ 7 1.2x; 8 KiB against
        // the rows just after the step's: dw144 @ 56 and dw192 @ 28 0.9x the time. Taking one
        // output row a step on rows of one register (weights in registers) ran dw960 @ 7 1.04x
        // slower than two.
        const char* ahead = reinterpret_cast<const char*>(source) + kPrefetchBytes;
        for (int64_t b = 0; b < 2 * width * 4; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
        output_rows<2, true>(rows, c, pw, y + oh * width, whole_rows(oh));
    }
    if (oh < inner_end) {
        const float* source = x + (oh - pad) * width;
        const float* rows[3] = {source, source + width, source + 2 * width};
        output_rows<1, true>(rows, c, pw, y + oh * width, whole_rows(oh));
        ++oh;
    }
    for (; oh < out_rows; ++oh) border_row(oh);
}

}  // namespace

void conv_depthwise_3x3_forward_avx2(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                     int64_t channels, float* y) {
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    if (out_size == 0) return;
    const RowRegisters columns(g.out[2], g.pad_begin[2]);
    for (int64_t c = 0; c < channels; ++c) {
        plane_window_sums(x + c * in_size, w + c * kTaps, bias != nullptr ? bias[c] : 0.0f, g, columns,
                          y + c * out_size);
    }
}

}  // namespace mln::kernels
