// The body of the column-panel lowering (conv_lowering.hpp), compiled once per ISA file with
// that file's piece copier. Internal linkage keeps the differently compiled copies apart.
//
// A copier has, for n <= one panel's width:
//   copy(src, stride, n, dst): dst[i] = src[i * stride]       zero(n, dst): dst[i] = 0
// and reads no element of src past src[(n - 1) * stride] (it may be the image's last one).
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/conv/im2col.hpp"

namespace mln::kernels {
namespace {

// Plain loops: the compiler vectorizes them at the file's ISA.
template <class T>
struct LoopPieceCopier {
    static void copy(const T* src, int64_t stride, int64_t n, T* dst) {
        if (stride == 1) {
            for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
        } else {
            for (int64_t i = 0; i < n; ++i) dst[i] = src[i * stride];
        }
    }
    static void zero(int64_t n, T* dst) {
        for (int64_t i = 0; i < n; ++i) dst[i] = T(0);
    }
};

// Writes consecutive columns of one row of the block into its panels, splitting each piece at
// panel edges.
template <class T, class Copier>
class PanelRowWriter {
public:
    PanelRowWriter(T* row_start, int64_t nr, int64_t panel_step) : dst_(row_start), nr_(nr), step_(panel_step) {}

    void zeros(int64_t n) {
        while (n > 0) {
            const int64_t take = std::min(n, nr_ - lane_);
            Copier::zero(take, dst_ + lane_);
            advance(take);
            n -= take;
        }
    }

    void copy(const T* src, int64_t stride, int64_t n) {
        while (n > 0) {
            const int64_t take = std::min(n, nr_ - lane_);
            Copier::copy(src, stride, take, dst_ + lane_);
            advance(take);
            src += take * stride;
            n -= take;
        }
    }

private:
    void advance(int64_t n) {
        lane_ += n;
        if (lane_ == nr_) {
            lane_ = 0;
            dst_ += step_;
        }
    }

    T* dst_;
    int64_t nr_, step_, lane_ = 0;
};

// The tap (channel, kd, kh, kw) of consecutive rows of the column matrix, advanced without the
// divisions of a decomposition per row (they cost more than copying a short row).
struct TapWalker {
    TapWalker(const WindowGeometry& g, int64_t row) : g_(g) {
        kw = row % g.kernel[2];
        row /= g.kernel[2];
        kh = row % g.kernel[1];
        row /= g.kernel[1];
        kd = row % g.kernel[0];
        channel = row / g.kernel[0];
    }
    void next() {
        if (++kw < g_.kernel[2]) return;
        kw = 0;
        if (++kh < g_.kernel[1]) return;
        kh = 0;
        if (++kd < g_.kernel[0]) return;
        kd = 0;
        ++channel;
    }
    int64_t channel, kd, kh, kw;

private:
    const WindowGeometry& g_;
};

template <class T, class Copier>
void lower_column_panels_body(const T* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0, int64_t cols,
                              int64_t nr, T* packed) {
    const int64_t padding = (cols + nr - 1) / nr * nr - cols;
    const int64_t ow_first = q0 % g.out[2];
    const int64_t oh_first = q0 / g.out[2] % g.out[1];
    const int64_t od_first = q0 / g.out[2] / g.out[1];
    // The valid outputs of each kw, computed once per block (a division each) for common widths.
    constexpr int64_t kCachedWidths = 16;
    int64_t valid_lo[kCachedWidths], valid_hi[kCachedWidths];
    const bool cached = g.kernel[2] <= kCachedWidths;
    for (int64_t kw = 0; cached && kw < g.kernel[2]; ++kw) {
        valid_output_range(kw * g.dilation[2] - g.pad_begin[2], g.stride[2], g.in[2], g.out[2], &valid_lo[kw],
                           &valid_hi[kw]);
    }
    TapWalker tap(g, pc);
    for (int64_t p = 0; p < kc; ++p, tap.next()) {
        const int64_t kw = tap.kw, kh = tap.kh, kd = tap.kd;
        const T* xc = x + tap.channel * g.in_size();
        const int64_t w_offset = kw * g.dilation[2] - g.pad_begin[2];
        int64_t lo, hi;
        if (cached) {
            lo = valid_lo[kw];
            hi = valid_hi[kw];
        } else {
            valid_output_range(w_offset, g.stride[2], g.in[2], g.out[2], &lo, &hi);
        }
        PanelRowWriter<T, Copier> out(packed + p * nr, nr, nr * kc);
        int64_t ow = ow_first, oh = oh_first, od = od_first;
        for (int64_t left = cols; left > 0;) {
            const int64_t end = std::min(g.out[2], ow + left);
            const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
            const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
            if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
                out.zeros(end - ow);
            } else {
                const T* src = xc + (id * g.in[1] + ih) * g.in[2] + w_offset;
                const int64_t a = std::clamp(lo, ow, end);
                const int64_t b = std::clamp(hi, a, end);
                out.zeros(a - ow);
                out.copy(src + a * g.stride[2], g.stride[2], b - a);
                out.zeros(end - b);
            }
            left -= end - ow;
            ow = 0;
            if (++oh == g.out[1]) {
                oh = 0;
                ++od;
            }
        }
        out.zeros(padding);
    }
}

// split_phase_planes_rows_* (conv_lowering.hpp), a register of plane columns at a time: input
// row ih goes to row ih / 2 of planes (ih % 2, 0) and (ih % 2, 1), the even and odd elements of
// two registers (Lanes::load_even_odd, float_lanes.hpp); lanes and rows past the image load zeros,
// and so does each row's padding (rows.lead before it, rows.stride - rows.lead - width after).
// On dense rows a row's last, partial register is stored whole where the plane's next row
// (written after it) covers what it writes past the row: AVX2's masked stores are slow on AMD
// (Zen 3, ResNet-18's 3x3/2 from 56x56: the split 9% of the layer with them); padded rows keep
// the masked store, which leaves their trailing zeros. Rows in the order of x (both phases of a
// plane row before the next: one contiguous run of x per channel and block, which the hardware
// prefetcher follows, where a phase at a time read every other row of 224 bytes): ResNet-18's
// 3x3/2 from 64 channels at batch 32, two threads, x from memory, Zen 5, conv_vs_build min /
// median 0.95-0.96 / 0.95 (main 1.05 / 1.05-1.06x of it the other way round); batch 1 0.98-0.99;
// the stems even (MobileNet-v2's batch 1 and 32, 0.98-1.02x; ResNet-18's 1.00). Prefetching
// the rows of the channel 1, 2, 4 or 12 ahead changed nothing at batch 1 (that 3x3/2, where the
// split is 5-8% of the layer, one thread: 0.99-1.01x), x in cache; at batch 32 x comes from
// memory and the split was 20% of that layer's forward on two threads, each channel's run of x
// restarting the hardware prefetcher: each plane row now prefetches the next channel's two input
// rows. Zen 5, conv_vs_build against main (min / median, then main's time over this one's),
// loaded machine, 2026-12-07: ResNet-18's layer2 3x3/2 forward at batch 32 on two threads
// 0.92-0.95 / 0.91-0.945 (1.02-1.054 / 1.038-1.064), prepared alike; batch 1 one thread, the
// 7x7/2 stem, the other 3x3/2 layers and the backward filters even.
template <class Lanes>
void split_phase_planes_rows_body(const float* x, const WindowGeometry& g, int64_t channels, int64_t first_row,
                                  int64_t rows, int64_t plane_stride, PhasePlaneRows padded, float* planes) {
    const int64_t width = g.out[2];
    const int64_t in_h = g.in[1], in_w = g.in[2];
    const int64_t trail = padded.stride - padded.lead - width;
    for (int64_t c = 0; c < channels; ++c) {
        const float* xc = x + c * g.in_size();
        float* pc = planes + c * 4 * plane_stride;
        for (int64_t r = 0; r < rows; ++r) {
            // The next channel's input rows of this plane row (a line a step of the split).
            if (c + 1 < channels) {
                const int64_t ih0 = std::clamp<int64_t>(2 * (first_row + r), 0, in_h);
                const int64_t ih1 = std::clamp<int64_t>(2 * (first_row + r) + 2, 0, in_h);
                prefetch_lines(xc + g.in_size() + ih0 * in_w, (ih1 - ih0) * in_w * static_cast<int64_t>(sizeof(float)));
            }
            for (int64_t ph = 0; ph < 2; ++ph) {
                const int64_t ih = 2 * (first_row + r) + ph;
                float* even_row = pc + ph * 2 * plane_stride + r * padded.stride + padded.lead;
                float* odd_row = even_row + plane_stride;
                std::fill_n(even_row - padded.lead, padded.lead, 0.0f);
                std::fill_n(odd_row - padded.lead, padded.lead, 0.0f);
                std::fill_n(even_row + width, trail, 0.0f);
                std::fill_n(odd_row + width, trail, 0.0f);
                const bool inside = ih >= 0 && ih < in_h;
                const float* src = inside ? xc + ih * in_w : xc;
                const int64_t in_row = inside ? in_w : 0;
                const bool tail_whole = width >= Lanes::width && r + 1 < rows && padded.stride == width;
                for_lanes<Lanes>(width, [&](int64_t j, auto store) {
                    typename Lanes::Reg even, odd;
                    Lanes::load_even_odd(src + 2 * j, in_row - 2 * j, &even, &odd);
                    if (tail_whole) {
                        Lanes::store(even_row + j, even, AllLanes{});
                        Lanes::store(odd_row + j, odd, AllLanes{});
                    } else {
                        Lanes::store(even_row + j, even, store);
                        Lanes::store(odd_row + j, odd, store);
                    }
                });
            }
        }
    }
}

}  // namespace
}  // namespace mln::kernels
