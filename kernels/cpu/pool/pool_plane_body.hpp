// Body of the average pooling plane kernel, compiled per ISA file on its FloatLanes type.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/pool/pool_taps.hpp"

namespace mln::kernels {
namespace {

template <class V>
struct PoolPlane {
    using Reg = typename V::Reg;

    // Taps j in [0, kernel) with 0 <= start + j * dilation < size.
    static void valid_taps(int64_t start, int64_t dilation, int64_t kernel, int64_t size, int64_t* lo, int64_t* hi) {
        const TapRange taps = taps_within(start, dilation, kernel, 0, size);
        *lo = taps.lo;
        *hi = taps.hi;
    }

    static void run(const float* x, float* y, const PoolArgs& a) {
        const WindowGeometry& g = a.geometry;
        const int64_t width = g.in[2];
        const int64_t stride = g.stride[2], dilation = g.dilation[2], pad = g.pad_begin[2], kernel = g.kernel[2];
        // Columns [vector_lo, vector_hi) have every tap inside the row; a strided load of
        // stride 2 reads one float past its last lane, so those also keep that float inside.
        const int64_t reach = (kernel - 1) * dilation + (stride == 2 ? 1 : 0);
        const int64_t vector_lo = std::min(g.out[2], (pad + stride - 1) / stride);
        const int64_t vector_hi =
            width - 1 + pad - reach < 0 ? 0 : std::min(g.out[2], (width - 1 + pad - reach) / stride + 1);
        const int64_t in_size = g.in_size();
        // Starts (in the plane) of the window's rows inside x, in tap order.
        // On the stack for windows of up to 64 rows: a plane can be as small as one output.
        int64_t stack_rows[64];
        std::vector<int64_t> heap_rows(g.kernel[0] * g.kernel[1] > 64 ? static_cast<size_t>(g.kernel[0] * g.kernel[1]) : 0);
        int64_t* row_list = heap_rows.empty() ? stack_rows : heap_rows.data();
        int64_t out_flat = 0;
        for (int64_t od = 0; od < g.out[0]; ++od) {
            int64_t d_lo, d_hi;
            const int64_t d_start = od * g.stride[0] - g.pad_begin[0];
            valid_taps(d_start, g.dilation[0], g.kernel[0], g.in[0], &d_lo, &d_hi);
            for (int64_t oh = 0; oh < g.out[1]; ++oh, out_flat += g.out[2]) {
                int64_t h_lo, h_hi;
                const int64_t h_start = oh * g.stride[1] - g.pad_begin[1];
                valid_taps(h_start, g.dilation[1], g.kernel[1], g.in[1], &h_lo, &h_hi);
                int64_t row_count = 0;
                // Average: rows of the window inside the padded extent (count_include_pad).
                int64_t pd_lo, pd_hi, ph_lo, ph_hi;
                valid_taps(d_start + g.pad_begin[0], g.dilation[0], g.kernel[0], g.in[0] + g.pad_begin[0] + g.pad_end[0],
                           &pd_lo, &pd_hi);
                valid_taps(h_start + g.pad_begin[1], g.dilation[1], g.kernel[1], g.in[1] + g.pad_begin[1] + g.pad_end[1],
                           &ph_lo, &ph_hi);
                const Counts counts{(pd_hi - pd_lo) * (ph_hi - ph_lo), a.count_include_pad};
                for (int64_t kd = d_lo; kd < d_hi; ++kd) {
                    for (int64_t kh = h_lo; kh < h_hi; ++kh) {
                        const int64_t id = d_start + kd * g.dilation[0], ih = h_start + kh * g.dilation[1];
                        row_list[row_count++] = (id * g.in[1] + ih) * width;
                    }
                }
                float* y_row = y + out_flat;
                const int64_t lo = row_count > 0 ? vector_lo : g.out[2];
                int64_t ow = 0;
                auto one = [&](int64_t column) { average_one(x, row_list, row_count, g, counts, column, y_row); };
                auto registers = [&](int64_t column, int64_t lanes) {
                    average_register(x, row_list, row_count, g, counts, column, lanes, y_row);
                };
                for (; ow < lo; ++ow) one(ow);
                if (row_count > 0 && vector_hi - ow >= V::width) {
                    for (; ow + V::width <= vector_hi; ow += V::width) registers(ow, V::width);
                    // The last partial register again ends at vector_hi, overlapping the one
                    // before: recomputed outputs get the same values.
                    if (ow < vector_hi) {
                        registers(vector_hi - V::width, V::width);
                        ow = vector_hi;
                    }
                } else if (row_count > 0 && ow < vector_hi &&
                           row_list[row_count - 1] + ow * stride - pad + (V::width - 1) * stride + reach < in_size) {
                    // Rows shorter than a register (28 or 14 wide at stride 2): one register whose
                    // loads run on into the next rows of the plane, its first lanes stored.
                    registers(ow, vector_hi - ow);
                    ow = vector_hi;
                }
                for (; ow < g.out[2]; ++ow) one(ow);
            }
        }
    }

    // Average's divisor: window rows inside the padded extent, and whether padding counts.
    struct Counts {
        int64_t padded_rows;
        bool include_pad;
    };

    static void average_one(const float* x, const int64_t* rows, int64_t row_count, const WindowGeometry& g,
                            Counts counts, int64_t ow, float* y_row) {
        int64_t w_lo, w_hi, pw_lo, pw_hi;
        const int64_t w_start = ow * g.stride[2] - g.pad_begin[2];
        valid_taps(w_start, g.dilation[2], g.kernel[2], g.in[2], &w_lo, &w_hi);
        valid_taps(w_start + g.pad_begin[2], g.dilation[2], g.kernel[2], g.in[2] + g.pad_begin[2] + g.pad_end[2],
                   &pw_lo, &pw_hi);
        float sum = 0.0f;
        for (int64_t r = 0; r < row_count; ++r) {
            for (int64_t kw = w_lo; kw < w_hi; ++kw) sum += x[rows[r] + w_start + kw * g.dilation[2]];
        }
        const int64_t divisor = counts.include_pad ? counts.padded_rows * (pw_hi - pw_lo) : row_count * (w_hi - w_lo);
        y_row[ow] = sum / static_cast<float>(divisor);
    }

    // Columns here have all kernel[2] taps inside x, so the divisor is one per row of outputs.
    // Stores the first `lanes` lanes of v (all of them when lanes is the width).
    static void store_lanes(float* y, Reg v, int64_t lanes) {
        if (lanes == V::width) return V::store(y, v, AllLanes{});
        V::store(y, v, V::first(lanes));
    }

    static void average_register(const float* x, const int64_t* rows, int64_t row_count, const WindowGeometry& g,
                                 Counts counts, int64_t ow, int64_t lanes, float* y_row) {
        const int64_t stride = g.stride[2];
        const int64_t first_column = ow * stride - g.pad_begin[2];
        Reg sum = V::zero();
        for (int64_t r = 0; r < row_count; ++r) {
            for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                sum = V::add(sum, V::load_strided(x + rows[r] + first_column + kw * g.dilation[2], stride));
            }
        }
        const int64_t divisor = (counts.include_pad ? counts.padded_rows : row_count) * g.kernel[2];
        store_lanes(y_row + ow, V::mul(sum, V::set1(1.0f / static_cast<float>(divisor))), lanes);
    }
};

}  // namespace
}  // namespace mln::kernels
