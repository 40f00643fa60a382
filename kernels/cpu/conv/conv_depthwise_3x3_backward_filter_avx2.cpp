// Compiled with AVX2 + FMA: backward filter of the NCHW 3 x 3 depthwise kernels
// (conv_depthwise_3x3.hpp) at AVX2, three loops:
// - row registers (pad 1 before, stride 1 or 2 x 2; rows under 56 outputs, any rows over one
//   image): a channel at a time, eight outputs of a row a register, the source's taps read in
//   place (at stride 2 a row's cache lines split into even and odd columns by in-lane shuffles,
//   wide rows row by row), lanes a tap leaves out cleared once a channel from the sums: no
//   copies, no masks in the loops;
// - channel-minor (other narrow rows and stride 2): eight channels at a time, a band of output
//   rows at a time, x and dy copied to channel-minor order (a position a register, a channel a
//   lane: 8 x 8 transposes), so every tap is one FMA over the eight channels per output position;
// - row vectors (stride 1, wide rows over several images): eight outputs of a channel a register,
//   each tap one FMA with the source loaded at its offset, border registers masked.
// Taps in the padding are left out (by the loop bounds, or cleared or blended out of the sums),
// never multiplied by a zero, so NaN and Inf reach exactly the sums of the reference twin.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3_channel_minor_avx2.hpp"
#include "kernels/cpu/gemm/gemm_transpose_x86.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kLanes = 8;
constexpr int64_t kTaps = 9;
// The channel-minor copies of a band (x rows and dy rows of eight channels) take at most about
// this many floats (64 KiB), so the sums read them from L2 (6 K: 1.0-1.05x the time).
constexpr int64_t kBandFloats = 16 << 10;

// acc += the taps' products over one output row (dy_row, channel-minor), whose source rows
// KhBegin to KhEnd - 1 lie inside (row KhBegin at x_row).
template <int64_t ColumnStride, int64_t KhBegin, int64_t KhEnd>
MLN_ALWAYS_INLINE void row_sums(const float* x_row, const float* dy_row, const Depthwise3x3Plane& p, __m256* acc) {
    __m256 a[kTaps];
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) a[t] = acc[t];
    const int64_t row_floats = p.in_width * kLanes;
    walk_output_row<ColumnStride>(
        p,
        [&](int64_t ow) MLN_LAMBDA_ALWAYS_INLINE {
            const __m256 d = _mm256_loadu_ps(dy_row + ow * kLanes);
            for_border_taps<KhBegin, KhEnd>(x_row, row_floats, ow * ColumnStride - p.pad_left, p.in_width,
                                            [&](__m256 source, int64_t tap) MLN_LAMBDA_ALWAYS_INLINE {
                                                a[tap] = _mm256_fmadd_ps(source, d, a[tap]);
                                            });
        },
        [&](int64_t ow, auto count) MLN_LAMBDA_ALWAYS_INLINE {
            constexpr int64_t kCount = decltype(count)::value;
            __m256 d[kCount];
            MLN_UNROLL(4)
            for (int64_t i = 0; i < kCount; ++i) d[i] = _mm256_loadu_ps(dy_row + (ow + i) * kLanes);
            for_inside_taps<ColumnStride, kCount, KhBegin, KhEnd>(
                x_row, row_floats, ow * ColumnStride - p.pad_left,
                [&](__m256 source, int64_t i, int64_t tap) MLN_LAMBDA_ALWAYS_INLINE {
                    a[tap] = _mm256_fmadd_ps(source, d[i], a[tap]);
                });
        });
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = a[t];
}

// acc += the taps' products over output rows [oh_begin, oh_end): dy_band their channel-minor copy,
// x_band that of source rows from first_source_row on.
template <int64_t ColumnStride>
void band_sums(const float* x_band, int64_t first_source_row, const float* dy_band, int64_t oh_begin, int64_t oh_end,
               const Depthwise3x3Plane& p, __m256* acc) {
    for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
        const float* dy_row = dy_band + (oh - oh_begin) * p.out_width * kLanes;
        with_inside_rows(p, oh, [&](auto kh_begin, auto kh_end, int64_t top_inside) {
            const float* x_row = x_band + (top_inside - first_source_row) * p.in_width * kLanes;
            row_sums<ColumnStride, decltype(kh_begin)::value, decltype(kh_end)::value>(x_row, dy_row, p, acc);
        });
    }
}

template <int64_t ColumnStride>
void channel_minor_filter_sums(const float* x, const float* dy, const WindowGeometry& g, int64_t channels,
                               int64_t images, int64_t x_image_stride, int64_t dy_image_stride, float* dw) {
    const Depthwise3x3Plane p = depthwise_3x3_plane(g);
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    // Output rows a band: the source rows they read and their dy rows within kBandFloats.
    const int64_t band_row_floats = (p.row_stride * p.in_width + p.out_width) * kLanes;
    const int64_t band = std::clamp<int64_t>(kBandFloats / band_row_floats, 1, std::max<int64_t>(1, p.out_rows));
    const int64_t band_source_rows = std::min(p.in_rows, (band - 1) * p.row_stride + 3);
    std::vector<float> copies((band_source_rows * p.in_width + band * p.out_width) * kLanes);
    float* x_band = copies.data();
    float* dy_band = x_band + band_source_rows * p.in_width * kLanes;
    for (int64_t c0 = 0; c0 < channels; c0 += kLanes) {
        const int64_t group = std::min(kLanes, channels - c0);
        __m256 acc[kTaps];
        for (__m256& a : acc) a = _mm256_setzero_ps();
        for (int64_t n = 0; n < images; ++n) {
            const float* x_image = x + n * x_image_stride + c0 * in_size;
            const float* dy_image = dy + n * dy_image_stride + c0 * out_size;
            for (int64_t oh0 = 0; oh0 < p.out_rows; oh0 += band) {
                const int64_t oh1 = std::min(p.out_rows, oh0 + band);
                const int64_t first_source_row = std::max<int64_t>(0, oh0 * p.row_stride - p.pad_top);
                const int64_t source_end = std::min(p.in_rows, (oh1 - 1) * p.row_stride - p.pad_top + 3);
                if (source_end > first_source_row) {
                    copy_channel_minor(x_image + first_source_row * p.in_width, in_size, group,
                                       (source_end - first_source_row) * p.in_width, x_band);
                }
                copy_channel_minor(dy_image + oh0 * p.out_width, out_size, group, (oh1 - oh0) * p.out_width, dy_band);
                if (band >= p.out_rows && n + 1 < images) {
                    // The group's planes of the next image, a whole image of channels apart from
                    // this one's, in pieces of a few hundred bytes too short for the hardware
                    // prefetcher.
                    prefetch_lines(x_image + x_image_stride, group * in_size * static_cast<int64_t>(sizeof(float)));
                    prefetch_lines(dy_image + dy_image_stride, group * out_size * static_cast<int64_t>(sizeof(float)));
                }
                band_sums<ColumnStride>(x_band, first_source_row, dy_band, oh0, oh1, p, acc);
            }
        }
        alignas(32) float sums[kTaps][kLanes];
        for (int64_t t = 0; t < kTaps; ++t) _mm256_store_ps(sums[t], acc[t]);
        for (int64_t c = 0; c < group; ++c) {
            for (int64_t t = 0; t < kTaps; ++t) dw[(c0 + c) * kTaps + t] = sums[t][c];
        }
    }
}

// Stride 1, rows of outputs a register at a time (8 consecutive outputs of one channel), the
// source at each tap loaded at its offset in the row, the nine sums across lanes once per
// channel: no copies, masks only in the registers at the rows' borders.

// The lanes of the register of outputs from ow0 in a row: which outputs each tap kw adds (and
// its load may read) and which dy loads. plain: every lane of each, no masks.
struct RowLanes {
    __m256i tap[3];
    __m256i out;
    bool plain;
};

std::vector<RowLanes> row_lanes(const Depthwise3x3Plane& p) {
    std::vector<RowLanes> lanes;
    for (int64_t ow0 = 0; ow0 < p.out_width; ow0 += kLanes) {
        alignas(32) int32_t tap[3][kLanes], out[kLanes];
        bool plain = true;
        for (int64_t l = 0; l < kLanes; ++l) {
            const int64_t ow = ow0 + l;
            out[l] = ow < p.out_width ? -1 : 0;
            for (int64_t kw = 0; kw < 3; ++kw) {
                const int64_t column = ow - p.pad_left + kw;
                tap[kw][l] = ow < p.out_width && column >= 0 && column < p.in_width ? -1 : 0;
                plain = plain && tap[kw][l] != 0;
            }
        }
        RowLanes r{};
        for (int64_t kw = 0; kw < 3; ++kw) r.tap[kw] = _mm256_load_si256(reinterpret_cast<const __m256i*>(tap[kw]));
        r.out = _mm256_load_si256(reinterpret_cast<const __m256i*>(out));
        r.plain = plain;
        lanes.push_back(r);
    }
    return lanes;
}

// a[kh * 3 + kw] += tap (kh, kw) * dy over one output row, a register of outputs at a time, for
// the source rows KhBegin to KhEnd - 1 (inside; row KhBegin at x_row).
template <int64_t KhBegin, int64_t KhEnd>
MLN_ALWAYS_INLINE void row_vector_sums(const float* x_row, const float* dy_row, const Depthwise3x3Plane& p,
                                       const std::vector<RowLanes>& lanes, __m256* acc) {
    __m256 a[kTaps];
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) a[t] = acc[t];
    const int64_t registers = static_cast<int64_t>(lanes.size());
    for (int64_t v = 0; v < registers; ++v) {
        const RowLanes& m = lanes[v];
        const float* row = x_row + v * kLanes - p.pad_left;
        const float* dy_v = dy_row + v * kLanes;
        if (m.plain) {
            const __m256 d = _mm256_loadu_ps(dy_v);
            MLN_UNROLL(3)
            for (int64_t kh = KhBegin; kh < KhEnd; ++kh) {
                MLN_UNROLL(3)
                for (int64_t kw = 0; kw < 3; ++kw) {
                    const __m256 source = _mm256_loadu_ps(row + (kh - KhBegin) * p.in_width + kw);
                    a[kh * 3 + kw] = _mm256_fmadd_ps(source, d, a[kh * 3 + kw]);
                }
            }
            continue;
        }
        // Lanes outside are loaded as 0 but kept out of the sums by the blend: 0 times an Inf
        // or NaN dy would not be 0.
        const __m256 d = _mm256_maskload_ps(dy_v, m.out);
        MLN_UNROLL(3)
        for (int64_t kh = KhBegin; kh < KhEnd; ++kh) {
            MLN_UNROLL(3)
            for (int64_t kw = 0; kw < 3; ++kw) {
                const __m256 source = _mm256_maskload_ps(row + (kh - KhBegin) * p.in_width + kw, m.tap[kw]);
                const __m256 sum = _mm256_fmadd_ps(source, d, a[kh * 3 + kw]);
                a[kh * 3 + kw] = _mm256_blendv_ps(a[kh * 3 + kw], sum, _mm256_castsi256_ps(m.tap[kw]));
            }
        }
    }
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = a[t];
}

// dw[t] = the sum of a[t]'s lanes for the nine taps: hadd rounds over taps 0-7 together.
void store_lane_sums(const __m256* a, float* dw) {
    const __m256 low = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
    const __m256 high = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
    _mm_storeu_ps(dw, _mm_add_ps(_mm256_castps256_ps128(low), _mm256_extractf128_ps(low, 1)));
    _mm_storeu_ps(dw + 4, _mm_add_ps(_mm256_castps256_ps128(high), _mm256_extractf128_ps(high, 1)));
    __m128 last = _mm_add_ps(_mm256_castps256_ps128(a[8]), _mm256_extractf128_ps(a[8], 1));
    last = _mm_add_ps(last, _mm_movehl_ps(last, last));
    dw[8] = _mm_cvtss_f32(_mm_add_ss(last, _mm_movehdup_ps(last)));
}

void row_vector_filter_sums(const float* x, const float* dy, const WindowGeometry& g, int64_t channels,
                            int64_t images, int64_t x_image_stride, int64_t dy_image_stride, float* dw) {
    const Depthwise3x3Plane p = depthwise_3x3_plane(g);
    const std::vector<RowLanes> lanes = row_lanes(p);
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    for (int64_t c = 0; c < channels; ++c) {
        __m256 acc[kTaps];
        for (__m256& a : acc) a = _mm256_setzero_ps();
        for (int64_t n = 0; n < images; ++n) {
            const float* x_plane = x + n * x_image_stride + c * in_size;
            const float* dy_plane = dy + n * dy_image_stride + c * out_size;
            for (int64_t oh = 0; oh < p.out_rows; ++oh) {
                with_inside_rows(p, oh, [&](auto kh_begin, auto kh_end, int64_t top_inside) {
                    row_vector_sums<decltype(kh_begin)::value, decltype(kh_end)::value>(
                        x_plane + top_inside * p.in_width, dy_plane + oh * p.out_width, p, lanes, acc);
                });
            }
        }
        store_lane_sums(acc, dw + c * kTaps);
    }
}

// Stride 1, pad 1 all round, rows of a few registers: a channel at a time, each output row's
// registers (8 outputs from column 8v) and the sources at each tap read in place by plain loads.
// A register column's lanes that a tap leaves out (outputs past the row, source columns outside
// it: the neighbouring row's values, maybe NaN or Inf) are the same lanes in every row, so they
// are summed like the others and cleared once a channel by an AND of the sums: no masks or blends
// in the loops. Register columns with the same such lanes (the interior ones) share one set of
// nine sums: at most three sets (first, interior, last column; at stride 2 interior and last).
constexpr int64_t kMaxLaneClasses = 3;

struct LaneClass {
    int64_t v_begin, v_end;  // register columns
    __m256i keep[3];         // lanes tap kw sums
};

// The output (of a register's eight) in each lane of a row register: at column stride 2 the
// taps' even and odd columns come split by vshufps within 128-bit blocks, so outputs 0, 1, 4, 5,
// 2, 3, 6, 7 (dy permuted to match).
template <int64_t ColumnStride>
constexpr int64_t kLaneOutput[kLanes] = {0, 1, 2, 3, 4, 5, 6, 7};
template <>
constexpr int64_t kLaneOutput<2>[kLanes] = {0, 1, 4, 5, 2, 3, 6, 7};

template <int64_t ColumnStride>
std::vector<LaneClass> lane_classes(const Depthwise3x3Plane& p) {
    std::vector<LaneClass> classes;
    const int64_t registers = (p.out_width + kLanes - 1) / kLanes;
    for (int64_t v = 0; v < registers; ++v) {
        alignas(32) int32_t keep[3][kLanes];
        for (int64_t kw = 0; kw < 3; ++kw) {
            for (int64_t l = 0; l < kLanes; ++l) {
                // At stride 2 lane j's tap 0 is output j + 1's (stride2_row_fmas).
                const int64_t ow = v * kLanes + kLaneOutput<ColumnStride>[l] + (ColumnStride == 2 && kw == 0);
                const int64_t column = ow * ColumnStride - p.pad_left + kw;
                keep[kw][l] = ow < p.out_width && column >= 0 && column < p.in_width ? -1 : 0;
            }
        }
        LaneClass k{v, v + 1, {}};
        bool same = !classes.empty();
        for (int64_t kw = 0; kw < 3; ++kw) {
            k.keep[kw] = _mm256_load_si256(reinterpret_cast<const __m256i*>(keep[kw]));
            same = same && _mm256_movemask_epi8(_mm256_cmpeq_epi32(classes.back().keep[kw], k.keep[kw])) == -1;
        }
        if (same) {
            classes.back().v_end = v + 1;
        } else {
            classes.push_back(k);
        }
    }
    return classes;
}

// a[kh * 3 + kw] += tap (kh, kw) * dy for the source row at `row` (shifted a column left),
// which is tap row 0 of the next output row, 1 of the current one and 2 of the previous one.
template <bool HasNext, bool HasPrevious>
MLN_ALWAYS_INLINE void source_row_sums(const float* row, __m256 next, __m256 current, __m256 previous, __m256* a) {
    MLN_UNROLL(3)
    for (int64_t kw = 0; kw < 3; ++kw) {
        const __m256 s = _mm256_loadu_ps(row + kw);
        if constexpr (HasNext) a[kw] = _mm256_fmadd_ps(s, next, a[kw]);
        a[3 + kw] = _mm256_fmadd_ps(s, current, a[3 + kw]);
        if constexpr (HasPrevious) a[6 + kw] = _mm256_fmadd_ps(s, previous, a[6 + kw]);
    }
}

// sums[t] (eight lanes a tap; zero where `first`) += tap t's products over register columns
// v_begin to v_end - 1 of a plane (rows x width, pad 1): source row by source row, each of its
// three column taps loaded once for the (up to) three output rows that read it.
MLN_ALWAYS_INLINE void column_strip_sums(const float* x_plane, const float* dy_plane, int64_t rows, int64_t width,
                                         int64_t v_begin, int64_t v_end, bool first, float* sums) {
    __m256 a[kTaps];
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) a[t] = first ? _mm256_setzero_ps() : _mm256_load_ps(sums + t * kLanes);
    for (int64_t v = v_begin; v < v_end; ++v) {
        const float* x_row = x_plane + v * kLanes - 1;
        const float* dy_row = dy_plane + v * kLanes;
        __m256 d0 = _mm256_loadu_ps(dy_row);
        if (rows == 1) {
            source_row_sums<false, false>(x_row, d0, d0, d0, a);
            continue;
        }
        __m256 d1 = _mm256_loadu_ps(dy_row + width);
        source_row_sums<true, false>(x_row, d1, d0, d0, a);
        // From here d0 holds dy row ih - 1 and d1 row ih; three rows a step, the registers'
        // roles rotating, not copied.
        int64_t ih = 1;
        for (; ih + 3 < rows; ih += 3) {
            const __m256 d2 = _mm256_loadu_ps(dy_row + (ih + 1) * width);
            source_row_sums<true, true>(x_row + ih * width, d2, d1, d0, a);
            d0 = _mm256_loadu_ps(dy_row + (ih + 2) * width);
            source_row_sums<true, true>(x_row + (ih + 1) * width, d0, d2, d1, a);
            d1 = _mm256_loadu_ps(dy_row + (ih + 3) * width);
            source_row_sums<true, true>(x_row + (ih + 2) * width, d1, d0, d2, a);
        }
        for (; ih + 1 < rows; ++ih) {
            const __m256 d2 = _mm256_loadu_ps(dy_row + (ih + 1) * width);
            source_row_sums<true, true>(x_row + ih * width, d2, d1, d0, a);
            d0 = d1;
            d1 = d2;
        }
        source_row_sums<false, true>(x_row + (rows - 1) * width, d1, d1, d0, a);
    }
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) _mm256_store_ps(sums + t * kLanes, a[t]);
}

// The even and odd columns of the 16 from `row` on, in kLaneOutput<2>'s lane order (vshufps
// within 128-bit blocks): output j's taps 1 and 2, and tap 0 of output j + 1. Splitting 128-bit
// broadcasts blended into columns 0-3 and 8-11 (and 4-7, 12-15), which leaves them in order and dy
// unpermuted: 1.07-1.1x the time on 14- and 28-wide planes.
MLN_ALWAYS_INLINE void stride2_split(const float* row, __m256& even, __m256& odd) {
    const __m256 low = _mm256_loadu_ps(row), high = _mm256_loadu_ps(row + kLanes);
    even = _mm256_shuffle_ps(low, high, 0x88);
    odd = _mm256_shuffle_ps(low, high, 0xDD);
}

// A dy register in kLaneOutput<2>'s order: 64-bit pairs 0, 2, 1, 3.
MLN_ALWAYS_INLINE __m256 stride2_dy(const float* dy) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_loadu_ps(dy)), 0xD8));
}

// a[kh * 3 + kw] += tap (kh, kw)'s products from one split source row: d the outputs j of the
// register, next their neighbours j + 1 (tap 0 reads column 2j + 1 for output j + 1).
MLN_ALWAYS_INLINE void stride2_row_fmas(__m256 even, __m256 odd, __m256 d, __m256 next, int64_t kh, __m256* a) {
    a[kh * 3] = _mm256_fmadd_ps(odd, next, a[kh * 3]);
    a[kh * 3 + 1] = _mm256_fmadd_ps(even, d, a[kh * 3 + 1]);
    a[kh * 3 + 2] = _mm256_fmadd_ps(odd, d, a[kh * 3 + 2]);
}

// Stride 2 x 2, pad 1 before (stride2_rows_fit): output row oh reads source rows 2oh - 1 to
// 2oh + 1, so the odd row 2oh + 1 is tap row 2 of oh and tap row 0 of oh + 1, split once for
// both. Each source row's 16 columns from 16v on are loaded (one cache line where the row starts
// on one) and split into even and odd columns; tap 0 of output j reads column 2j - 1, the odd column of
// output j - 1, so it is summed against dy shifted an output (stride2_row_fmas): column -1 (the
// left padding) is never read.
//
// sums[t] (zero where `first`) += tap t's products over register columns v_begin to v_end - 1,
// a register column at a time down the plane (few registers a row: each source row's split kept
// in registers for both of its output rows).
MLN_ALWAYS_INLINE void stride2_column_strip_sums(const float* x_plane, const float* dy_plane, const Depthwise3x3Plane& p,
                                                 int64_t v_begin, int64_t v_end, bool first, float* sums) {
    __m256 a[kTaps];
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) a[t] = first ? _mm256_setzero_ps() : _mm256_load_ps(sums + t * kLanes);
    const bool last_odd = 2 * (p.out_rows - 1) + 1 < p.in_rows;
    for (int64_t v = v_begin; v < v_end; ++v) {
        const float* x_column = x_plane + v * 2 * kLanes;
        const float* dy_column = dy_plane + v * kLanes;
        __m256 d = stride2_dy(dy_column), next = stride2_dy(dy_column + 1);
        __m256 even, odd;
        int64_t oh = 0;
        for (; oh + 1 < p.out_rows; ++oh) {
            stride2_split(x_column + 2 * oh * p.in_width, even, odd);
            stride2_row_fmas(even, odd, d, next, 1, a);
            stride2_split(x_column + (2 * oh + 1) * p.in_width, even, odd);
            stride2_row_fmas(even, odd, d, next, 2, a);
            d = stride2_dy(dy_column + (oh + 1) * p.out_width);
            next = stride2_dy(dy_column + (oh + 1) * p.out_width + 1);
            stride2_row_fmas(even, odd, d, next, 0, a);
        }
        stride2_split(x_column + 2 * oh * p.in_width, even, odd);
        stride2_row_fmas(even, odd, d, next, 1, a);
        if (last_odd) {
            stride2_split(x_column + (2 * oh + 1) * p.in_width, even, odd);
            stride2_row_fmas(even, odd, d, next, 2, a);
        }
    }
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) _mm256_store_ps(sums + t * kLanes, a[t]);
}

// stride2_column_strip_sums' contract on wide rows, row by row: two source rows a step
// (2oh and 2oh + 1) across the register columns, so the plane streams in order rather than a
// column of cache lines at a time. Row oh + 1's permuted dy, made in step oh for tap row 0, waits
// in `permuted` (two registers per register column) for step oh + 1.
void stride2_row_major_sums(const float* x_plane, const float* dy_plane, const Depthwise3x3Plane& p, int64_t v_begin,
                            int64_t v_end, bool first, float* permuted, float* sums) {
    __m256 a[kTaps];
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) a[t] = first ? _mm256_setzero_ps() : _mm256_load_ps(sums + t * kLanes);
    const bool last_odd = 2 * (p.out_rows - 1) + 1 < p.in_rows;
    for (int64_t v = v_begin; v < v_end; ++v) {
        float* kept = permuted + (v - v_begin) * 2 * kLanes;
        _mm256_storeu_ps(kept, stride2_dy(dy_plane + v * kLanes));
        _mm256_storeu_ps(kept + kLanes, stride2_dy(dy_plane + v * kLanes + 1));
    }
    for (int64_t oh = 0; oh < p.out_rows; ++oh) {
        const float* x_row = x_plane + 2 * oh * p.in_width;
        const float* dy_next_row = dy_plane + (oh + 1) * p.out_width;
        const bool has_next = oh + 1 < p.out_rows;
        const bool has_odd = has_next || last_odd;
        for (int64_t v = v_begin; v < v_end; ++v) {
            float* kept = permuted + (v - v_begin) * 2 * kLanes;
            const __m256 d = _mm256_loadu_ps(kept), next = _mm256_loadu_ps(kept + kLanes);
            __m256 even, odd;
            stride2_split(x_row + 2 * v * kLanes, even, odd);
            stride2_row_fmas(even, odd, d, next, 1, a);
            if (!has_odd) continue;
            stride2_split(x_row + p.in_width + 2 * v * kLanes, even, odd);
            stride2_row_fmas(even, odd, d, next, 2, a);
            if (!has_next) continue;
            const __m256 d_below = stride2_dy(dy_next_row + v * kLanes);
            const __m256 next_below = stride2_dy(dy_next_row + v * kLanes + 1);
            stride2_row_fmas(even, odd, d_below, next_below, 0, a);
            _mm256_storeu_ps(kept, d_below);
            _mm256_storeu_ps(kept + kLanes, next_below);
        }
    }
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) _mm256_store_ps(sums + t * kLanes, a[t]);
}

// Lane classes of at least this many register columns go row by row at stride 2, fewer a column
// at a time. MobileNet-v2, batch 1, one thread, against column order (same-process A/B): 6
// registers (56 outputs) 0.94x the time, 3 (28) 0.90x; 1 register (7 x 7, and the classes of 14
// outputs) 1.25-1.55x. Row by row re-splitting row 2oh - 1 rather than keeping row oh + 1's dy:
// within the noise of this loop on 28 and 56 outputs (separate runs against main, 0.58-0.78x the
// time against 0.6-0.72x), 1.3x column order's time on 7.
constexpr int64_t kStride2RowMajorMinRegisters = 3;

// Whether row registers take a stride-2 x 2 geometry: pad 1 before both ways, and every output
// row's middle tap row inside (2 (out_rows - 1) < in_rows).
bool stride2_rows_fit(const WindowGeometry& g) {
    return g.stride[1] == 2 && g.stride[2] == 2 && g.pad_begin[1] == 1 && g.pad_begin[2] == 1 &&
           2 * (g.out[1] - 1) < g.in[1];
}

// A channel's nine dw values from its classes' sums: the lanes each class's taps leave out
// cleared, the classes added, then each tap's lanes.
MLN_ALWAYS_INLINE void store_class_sums(const float (*sums)[kTaps][kLanes], const std::vector<LaneClass>& classes,
                                        float* dw) {
    __m256 total[kTaps];
    MLN_UNROLL(9)
    for (int64_t t = 0; t < kTaps; ++t) {
        total[t] = _mm256_and_ps(_mm256_load_ps(sums[0][t]), _mm256_castsi256_ps(classes[0].keep[t % 3]));
    }
    const int64_t class_count = static_cast<int64_t>(classes.size());
    for (int64_t k = 1; k < class_count; ++k) {
        MLN_UNROLL(9)
        for (int64_t t = 0; t < kTaps; ++t) {
            const __m256 keep = _mm256_castsi256_ps(classes[k].keep[t % 3]);
            total[t] = _mm256_add_ps(total[t], _mm256_and_ps(_mm256_load_ps(sums[k][t]), keep));
        }
    }
    store_lane_sums(total, dw);
}

// row_register_filter_sums' loops, with Registers register columns a row each its own lane class
// (0: the classes' columns counted at run time).
template <int64_t ColumnStride, int64_t Registers>
void row_register_channel_sums(const float* x, const float* dy, const Depthwise3x3Plane& p,
                               const std::vector<LaneClass>& classes, int64_t channels, int64_t images,
                               int64_t x_image_stride, int64_t dy_image_stride, float* dw) {
    const int64_t in_size = p.in_rows * p.in_width, out_size = p.out_rows * p.out_width;
    const int64_t class_count = static_cast<int64_t>(classes.size());
    // The loads reach a column before a plane (stride 1) and up to 15 columns (stride 2; a
    // register at stride 1) past it: the call's first and last planes are read from copies with
    // room around them. After them, stride2_row_major_sums' permuted dy of a row.
    constexpr int64_t kRoom = 3 * kLanes;
    const int64_t registers = (p.out_width + kLanes - 1) / kLanes;
    std::vector<float> copies(3 * kRoom + in_size + out_size + 2 * kLanes * registers, 0.0f);
    float* x_copy = copies.data() + kRoom;
    float* dy_copy = x_copy + in_size + kRoom;
    float* permuted = dy_copy + out_size + kRoom;
    const auto plane_in_place = [&](int64_t c, int64_t n, const float*& x_plane, const float*& dy_plane) {
        if ((c == 0 && n == 0) || (c + 1 == channels && n + 1 == images)) {
            std::copy(x_plane, x_plane + in_size, x_copy);
            std::copy(dy_plane, dy_plane + out_size, dy_copy);
            x_plane = x_copy;
            dy_plane = dy_copy;
        }
    };
    alignas(32) float sums[kLanes][kMaxLaneClasses][kTaps][kLanes];
    const auto plane_sums = [&](const float* x_plane, const float* dy_plane, bool first,
                                float (*plane)[kTaps][kLanes]) {
        if constexpr (Registers > 0) {
            MLN_UNROLL(2)
            for (int64_t v = 0; v < Registers; ++v) {
                if constexpr (ColumnStride == 1) {
                    column_strip_sums(x_plane, dy_plane, p.in_rows, p.in_width, v, v + 1, first, plane[v][0]);
                } else {
                    stride2_column_strip_sums(x_plane, dy_plane, p, v, v + 1, first, plane[v][0]);
                }
            }
            return;
        }
        for (int64_t k = 0; k < class_count; ++k) {
            const LaneClass& lanes = classes[k];
            if constexpr (ColumnStride == 1) {
                column_strip_sums(x_plane, dy_plane, p.in_rows, p.in_width, lanes.v_begin, lanes.v_end, first,
                                  plane[k][0]);
            } else if (lanes.v_end - lanes.v_begin >= kStride2RowMajorMinRegisters) {
                stride2_row_major_sums(x_plane, dy_plane, p, lanes.v_begin, lanes.v_end, first, permuted,
                                       plane[k][0]);
            } else {
                stride2_column_strip_sums(x_plane, dy_plane, p, lanes.v_begin, lanes.v_end, first, plane[k][0]);
            }
        }
    };
    if (Registers > 0 && images == 1) {
        // One image: each channel's sums reduced into dw as soon as its plane is summed. Wider
        // rows keep the loop below (the next channel's plane prefetched in this loop instead:
        // 1.13-1.45x the time on 28- to 112-wide planes at batch 1).
        for (int64_t c = 0; c < channels; ++c) {
            const float* x_plane = x + c * in_size;
            const float* dy_plane = dy + c * out_size;
            plane_in_place(c, 0, x_plane, dy_plane);
            plane_sums(x_plane, dy_plane, true, sums[0]);
            store_class_sums(sums[0], classes, dw + c * kTaps);
        }
        return;
    }
    // Eight channels' sums over the images: an image's eight planes read together, each plane's
    // twin in the next image prefetched as the plane is summed (a whole image of channels away, too
    // far for the hardware prefetcher; one channel's next plane alone, 1.1-1.5x the time on 7 x 7
    // planes at batch 32; all eight next planes at once, which on 14 x 14 and 28 x 28 planes evict
    // the current ones from L1, 1.05-1.6x).
    for (int64_t c0 = 0; c0 < channels; c0 += kLanes) {
        const int64_t group = std::min(kLanes, channels - c0);
        for (int64_t n = 0; n < images; ++n) {
            const float* x_image = x + n * x_image_stride + c0 * in_size;
            const float* dy_image = dy + n * dy_image_stride + c0 * out_size;
            for (int64_t c = 0; c < group; ++c) {
                if (n + 1 < images) {
                    const int64_t float_bytes = sizeof(float);
                    prefetch_lines(x_image + x_image_stride + c * in_size, in_size * float_bytes);
                    prefetch_lines(dy_image + dy_image_stride + c * out_size, out_size * float_bytes);
                }
                const float* x_plane = x_image + c * in_size;
                const float* dy_plane = dy_image + c * out_size;
                plane_in_place(c0 + c, n, x_plane, dy_plane);
                plane_sums(x_plane, dy_plane, n == 0, sums[c]);
            }
        }
        for (int64_t c = 0; c < group; ++c) store_class_sums(sums[c], classes, dw + (c0 + c) * kTaps);
    }
}

template <int64_t ColumnStride>
void row_register_filter_sums(const float* x, const float* dy, const WindowGeometry& g, int64_t channels,
                              int64_t images, int64_t x_image_stride, int64_t dy_image_stride, float* dw) {
    const Depthwise3x3Plane p = depthwise_3x3_plane(g);
    const std::vector<LaneClass> classes = lane_classes<ColumnStride>(p);
    const int64_t registers = (p.out_width + kLanes - 1) / kLanes;
    // Rows of one register of outputs (or two at stride 1, each a lane class) go through the
    // loops with their register columns fixed at compile time. Batch 1, one thread, against
    // run-time columns (same-process A/B of the kernel, tsc per channel): dw960 @ 7 0.70-0.74x
    // the time, dw576/2 @ 14 0.73-0.79x, dw384 @ 14 0.91-0.96x; two columns at stride 2 (dw192/2
    // @ 28) 1.07-1.2x.
    if (registers == 1) {
        return row_register_channel_sums<ColumnStride, 1>(x, dy, p, classes, channels, images, x_image_stride,
                                                          dy_image_stride, dw);
    }
    if (ColumnStride == 1 && registers == 2 && classes.size() == 2) {
        return row_register_channel_sums<ColumnStride, 2>(x, dy, p, classes, channels, images, x_image_stride,
                                                          dy_image_stride, dw);
    }
    row_register_channel_sums<ColumnStride, 0>(x, dy, p, classes, channels, images, x_image_stride, dy_image_stride,
                                               dw);
}

// Stride-1 rows of at least this many outputs go a register of outputs at a time, others
// channel-minor. Against channel-minor (MobileNet-v2, same-process A/B, one thread at batch 1,
// two at 32): 112-wide 0.66-0.75x the time, 56-wide 0.75-0.8x; against it with two outputs a
// step (before kInsideOutputs' four), 28-wide 1.08-1.15x, 14-wide 1.8-2.5x. At stride 2 (even and
// odd columns split by in-lane shuffles, dy permuted to their lane order) 56 outputs a row 0.96x
// at batch 1 but 1.05-1.12x at 32, 28 1.0x and 1.09x, 7-14 1.7-2.1x, so stride 2 stays
// channel-minor. Pad 1 all round, row_register_filter_sums takes rows under this width and, over
// one image, wider ones too (dw32 @ 112 0.75-0.83x, dw144 @ 56 0.6-0.72x the time of this loop at
// batch 1; over 32 images its column strips walking down the planes from memory took 1.4-1.85x).
constexpr int64_t kRowVectorMinWidth = 56;

}  // namespace

void conv_depthwise_3x3_backward_filter_avx2(const float* x, const float* dy, const WindowGeometry& g,
                                             int64_t channels, int64_t images, int64_t x_image_stride,
                                             int64_t dy_image_stride, float* dw) {
    if (stride2_rows_fit(g) && (g.out[2] < kRowVectorMinWidth || images == 1)) {
        return row_register_filter_sums<2>(x, dy, g, channels, images, x_image_stride, dy_image_stride, dw);
    }
    if (g.stride[2] == 2) {
        return channel_minor_filter_sums<2>(x, dy, g, channels, images, x_image_stride, dy_image_stride, dw);
    }
    const bool pad_one = g.pad_begin[1] == 1 && g.pad_begin[2] == 1 && g.out[1] == g.in[1];
    if (pad_one && (g.out[2] < kRowVectorMinWidth || images == 1)) {
        return row_register_filter_sums<1>(x, dy, g, channels, images, x_image_stride, dy_image_stride, dw);
    }
    if (g.out[2] >= kRowVectorMinWidth) {
        return row_vector_filter_sums(x, dy, g, channels, images, x_image_stride, dy_image_stride, dw);
    }
    channel_minor_filter_sums<1>(x, dy, g, channels, images, x_image_stride, dy_image_stride, dw);
}

}  // namespace mln::kernels
