// Compiled with AVX-512. Pieces of an image row are short (at most one panel, often less than a
// vector), so f32 pieces are moved 16 lanes at a time under a mask instead of through a loop
// with a scalar tail; stride 2 loads the (masked) even source elements behind 16 outputs and
// keeps them with one two-source permute (Avx512Lanes::load_even). Other strides and f64 use
// the plain loops.
#include <immintrin.h>

#include <algorithm>
#include <climits>

#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/conv/conv_lowering.hpp"
#include "kernels/cpu/conv/conv_lowering_body.hpp"

namespace mln::kernels {
namespace {

using Lanes = Avx512Lanes;

struct Avx512FloatPieceCopier {
    static void copy(const float* src, int64_t stride, int64_t n, float* dst) {
        if (stride == 1) {
            for (int64_t i = 0; i < n; i += 16) {
                const Lanes::Mask mask = Lanes::first(n - i);
                Lanes::store(dst + i, Lanes::load(src + i, mask), mask);
            }
        } else if (stride == 2) {
            for (int64_t i = 0; i < n; i += 16) {
                const Lanes::Mask mask = Lanes::first(n - i);
                Lanes::store(dst + i, Lanes::load_even(src + 2 * i, mask), mask);
            }
        } else {
            for (int64_t i = 0; i < n; ++i) dst[i] = src[i * stride];
        }
    }
    static void zero(int64_t n, float* dst) {
        for (int64_t i = 0; i < n; i += 16) Lanes::store(dst + i, Lanes::zero(), Lanes::first(n - i));
    }
};

// Per block column j: where tap (0, 0, 0) of its window lies, per axis (origin_*, int32) and as
// an offset in the channel (origin_offset). Padding columns (j >= cols) get an origin no tap can
// bring inside the image, so their lanes stay zero.
// Fixed arrays, not std::vector: a template instantiated in this AVX-512 file could be the copy
// the linker keeps for the whole library.
constexpr int64_t kMaxGatherColumns = 1024;
struct BlockOrigins {
    alignas(64) int32_t d[kMaxGatherColumns], h[kMaxGatherColumns], w[kMaxGatherColumns],
        offset[kMaxGatherColumns];
};

void block_origins(const WindowGeometry& g, int64_t q0, int64_t cols, int64_t padded, BlockOrigins* o) {
    int64_t ow = q0 % g.out[2], oh = q0 / g.out[2] % g.out[1], od = q0 / g.out[2] / g.out[1];
    for (int64_t j = 0; j < padded; ++j) {
        const int64_t id = od * g.stride[0] - g.pad_begin[0];
        const int64_t ih = oh * g.stride[1] - g.pad_begin[1];
        const int64_t iw = ow * g.stride[2] - g.pad_begin[2];
        const bool inside = j < cols;
        o->d[j] = static_cast<int32_t>(inside ? id : INT32_MIN / 2);
        o->h[j] = static_cast<int32_t>(ih);
        o->w[j] = static_cast<int32_t>(iw);
        o->offset[j] = static_cast<int32_t>((id * g.in[1] + ih) * g.in[2] + iw);
        if (++ow == g.out[2]) {
            ow = 0;
            if (++oh == g.out[1]) {
                oh = 0;
                ++od;
            }
        }
    }
}

// Small images make short row pieces, where the piece copier spends more on control than on data:
// this variant gathers 16 columns per instruction from the block origins instead, one masked
// gather per (row, 16 columns), whatever the stride, dilation and padding. Measured on Zen 5
// (one thread, NR 32, ns per lowered element, AVX-512 piece copier -> gather): ResNet-18's
// 7x7 outputs 1.4 -> 0.72, 14x14 0.69 -> 0.48, but 56x56 0.24 -> 0.64 and the 7x7/2 stem
// (112 wide) 0.24 -> 0.43, hence gathers only for rows under 16 outputs. Where the output has
// the input's size at stride 1 (ResNet's 3x3 convs, 1x1 ones) a masked load replaces the
// gather, at any width: 0.12-0.17 ns per element on all of ResNet-18's 3x3 stride-1 layers.
void lower_column_panels_gather(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, float* packed) {
    const int64_t padded = (cols + nr - 1) / nr * nr;
    BlockOrigins origins;  // on the stack (16 KiB): see PhaseOrigins
    block_origins(g, q0, cols, padded, &origins);
    // Stride 1 with outputs as wide and tall as the input ("same" padding): column q of a tap's
    // row is element q + shift of the channel, so a masked load does what the gather would.
    const bool contiguous = g.stride[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1 && g.out[1] == g.in[1] &&
                            g.out[2] == g.in[2];
    const __m512i in_d = _mm512_set1_epi32(static_cast<int32_t>(g.in[0]));
    const __m512i in_h = _mm512_set1_epi32(static_cast<int32_t>(g.in[1]));
    const __m512i in_w = _mm512_set1_epi32(static_cast<int32_t>(g.in[2]));
    TapWalker tap(g, pc);
    for (int64_t p = 0; p < kc; ++p, tap.next()) {
        const float* xc = x + tap.channel * g.in_size();
        const int64_t sd = tap.kd * g.dilation[0], sh = tap.kh * g.dilation[1], sw = tap.kw * g.dilation[2];
        const __m512i shift_d = _mm512_set1_epi32(static_cast<int32_t>(sd));
        const __m512i shift_h = _mm512_set1_epi32(static_cast<int32_t>(sh));
        const __m512i shift_w = _mm512_set1_epi32(static_cast<int32_t>(sw));
        const __m512i shift = _mm512_set1_epi32(static_cast<int32_t>((sd * g.in[1] + sh) * g.in[2] + sw));
        const int64_t contiguous_shift = ((sd - g.pad_begin[0]) * g.in[1] + sh - g.pad_begin[1]) * g.in[2] + sw -
                                         g.pad_begin[2];
        float* row = packed + p * nr;
        for (int64_t j = 0, lane = 0; j < padded; j += 16, lane += 16) {
            if (lane == nr) {
                lane = 0;
                row += nr * kc;
            }
            // Unsigned compares take both bounds at once: a negative index is a huge unsigned one.
            const __m512i d = _mm512_add_epi32(_mm512_loadu_si512(origins.d + j), shift_d);
            const __m512i h = _mm512_add_epi32(_mm512_loadu_si512(origins.h + j), shift_h);
            const __m512i w = _mm512_add_epi32(_mm512_loadu_si512(origins.w + j), shift_w);
            __mmask16 inside = _mm512_cmplt_epu32_mask(d, in_d);
            inside = _mm512_mask_cmplt_epu32_mask(inside, h, in_h);
            inside = _mm512_mask_cmplt_epu32_mask(inside, w, in_w);
            __m512 values;
            if (contiguous) {
                values = _mm512_maskz_loadu_ps(inside, xc + (q0 + j + contiguous_shift));
            } else {
                const __m512i offset = _mm512_add_epi32(_mm512_loadu_si512(origins.offset + j), shift);
                values = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inside, offset, xc, 4);
            }
            _mm512_storeu_ps(row + lane, values);
        }
    }
}

// Per block column j: its output row and column (oh, ow); padding columns get a row no shift
// brings inside the planes. Origins live on the stack, not in thread_local storage: in the shared
// library a thread_local's address is a __tls_get_addr call that GCC made in every iteration of
// the inner loop (with a vzeroupper and the loop's vectors spilled around it).
struct PhaseOrigins {
    alignas(64) int32_t h[kMaxPhaseColumns], w[kMaxPhaseColumns];
};

}  // namespace

// Input row ih goes to row ih / 2 of planes (ih % 2, 0) and (ih % 2, 1): 32 source elements give
// 16 of each through two two-source permutes; lanes and rows past the image load zeros.
namespace {
// split_phase_planes_rows_avx512 for dense planes at most 8 wide (ResNet-18's 3x3/2 to 7x7), where a
// row takes half a vector: two plane rows a step, each permute picking the even (odd) columns of
// both input rows, one store for both plane rows (contiguous in their plane). One row a step
// took 6.9% of that layer at batch 32 (one thread), as much as the lowering that writes 9x more.
void split_narrow_phase_planes_rows(const float* x, const WindowGeometry& g, int64_t channels, int64_t first_row,
                                    int64_t rows, int64_t plane_stride, float* planes) {
    const int64_t width = g.out[2];
    const int64_t in_h = g.in[1], in_w = g.in[2];
    // Lane i: element 2 i of the first row's piece for i < width, else 2 (i - width) of the second's.
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __mmask16 second = _mm512_cmpge_epi32_mask(lane, _mm512_set1_epi32(static_cast<int32_t>(width)));
    const __m512i even = _mm512_mask_add_epi32(_mm512_slli_epi32(lane, 1), second, _mm512_slli_epi32(lane, 1),
                                               _mm512_set1_epi32(static_cast<int32_t>(16 - 2 * width)));
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    // Plane column j holds input columns 2 j and 2 j + 1: the first 2 * width of a row.
    const Lanes::Mask piece = Lanes::first(std::min(in_w, 2 * width));
    for (int64_t c = 0; c < channels; ++c) {
        const float* xc = x + c * g.in_size();
        float* pc = planes + c * 4 * plane_stride;
        for (int64_t ph = 0; ph < 2; ++ph) {
            // Plane row r's input row, zeros outside the image.
            auto input_row = [&](int64_t r) {
                const int64_t ih = 2 * (first_row + r) + ph;
                return r < rows && ih >= 0 && ih < in_h ? _mm512_maskz_loadu_ps(piece, xc + ih * in_w)
                                                        : _mm512_setzero_ps();
            };
            for (int64_t r = 0; r < rows; r += 2) {
                const __m512 upper = input_row(r), lower = input_row(r + 1);
                const Lanes::Mask store = Lanes::first(std::min<int64_t>(2, rows - r) * width);
                float* even_rows = pc + ph * 2 * plane_stride + r * width;
                Lanes::store(even_rows, _mm512_permutex2var_ps(upper, even, lower), store);
                Lanes::store(even_rows + plane_stride, _mm512_permutex2var_ps(upper, odd, lower), store);
            }
        }
    }
}
}  // namespace

void split_phase_planes_rows_avx512(const float* x, const WindowGeometry& g, int64_t channels, int64_t first_row,
                                    int64_t rows, int64_t plane_stride, PhasePlaneRows padded, float* planes) {
    if (g.out[2] <= 8 && padded.stride == g.out[2]) {
        return split_narrow_phase_planes_rows(x, g, channels, first_row, rows, plane_stride, planes);
    }
    split_phase_planes_rows_body<Lanes>(x, g, channels, first_row, rows, plane_stride, padded, planes);
}

void split_phase_planes_avx512(const float* x, const WindowGeometry& g, int64_t channels, float* planes) {
    const int64_t plane = g.out[1] * g.out[2];
    split_phase_planes_rows_avx512(x, g, channels, 0, g.out[1], plane, {g.out[2], 0}, planes);
}

// Tap (channel, kh, kw) reads plane ((kh - pad_h) mod 2, (kw - pad_w) mod 2) of its channel at
// row oh + floor((kh - pad_h) / 2), column ow + floor((kw - pad_w) / 2): input row
// 2 * (oh + shift_h) + ph = 2 * oh - pad_h + kh, as the stride-2 window has it.
void lower_phase_panels_avx512(const float* planes, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                               int64_t cols, int64_t nr, float* packed) {
    const int64_t height = g.out[1], width = g.out[2], plane = height * width;
    const int64_t padded = (cols + nr - 1) / nr * nr;
    PhaseOrigins origins;
    int64_t ow = q0 % width, oh = q0 / width;
    for (int64_t j = 0; j < padded; ++j) {
        origins.h[j] = static_cast<int32_t>(j < cols ? oh : INT32_MIN / 2);
        origins.w[j] = static_cast<int32_t>(ow);
        if (++ow == width) {
            ow = 0;
            ++oh;
        }
    }
    const __m512i limit_h = _mm512_set1_epi32(static_cast<int32_t>(height));
    const __m512i limit_w = _mm512_set1_epi32(static_cast<int32_t>(width));
    TapWalker tap(g, pc);
    for (int64_t p = 0; p < kc; ++p, tap.next()) {
        const int64_t th = tap.kh - g.pad_begin[1], tw = tap.kw - g.pad_begin[2];
        // Floor division by 2 and the parity, for negative offsets too.
        const int64_t sh = th >> 1, sw = tw >> 1;
        const float* source = planes + (tap.channel * 4 + (th & 1) * 2 + (tw & 1)) * plane + q0 + sh * width + sw;
        const __m512i shift_h = _mm512_set1_epi32(static_cast<int32_t>(sh));
        const __m512i shift_w = _mm512_set1_epi32(static_cast<int32_t>(sw));
        float* row = packed + p * nr;
        for (int64_t j = 0, lane = 0; j < padded; j += 16, lane += 16) {
            if (lane == nr) {
                lane = 0;
                row += nr * kc;
            }
            // Unsigned compares take both bounds at once: a negative index is a huge unsigned one.
            const __m512i h = _mm512_add_epi32(_mm512_load_si512(origins.h + j), shift_h);
            const __m512i w = _mm512_add_epi32(_mm512_load_si512(origins.w + j), shift_w);
            const __mmask16 inside =
                _mm512_mask_cmplt_epu32_mask(_mm512_cmplt_epu32_mask(h, limit_h), w, limit_w);
            _mm512_storeu_ps(row + lane, _mm512_maskz_loadu_ps(inside, source + j));
        }
    }
}

void lower_column_panels_avx512(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, float* packed) {
    const bool same_size = g.stride[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1 && g.out[1] == g.in[1] &&
                           g.out[2] == g.in[2];
    if (nr % 16 == 0 && (g.out[2] < 16 || same_size) && g.in_size() < (int64_t{1} << 30) &&
        (cols + nr - 1) / nr * nr <= kMaxGatherColumns) {
        return lower_column_panels_gather(x, g, pc, kc, q0, cols, nr, packed);
    }
    lower_column_panels_body<float, Avx512FloatPieceCopier>(x, g, pc, kc, q0, cols, nr, packed);
}
void lower_column_panels_avx512(const double* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, double* packed) {
    lower_column_panels_body<double, LoopPieceCopier<double>>(x, g, pc, kc, q0, cols, nr, packed);
}

}  // namespace mln::kernels
