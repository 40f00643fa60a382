// The f32 direct depthwise kernel on FloatLanes registers, for the AVX2 and AVX-512 files. A
// register of output columns whose taps all lie inside the input row sums every tap of the
// window in the register (one strided load and one FMA per tap) and is stored once, instead of
// re-reading and re-writing the output row for each tap as the plain body does. The columns
// at the row ends sum their clipped taps one output at a time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/float_lanes.hpp"

namespace mln::kernels {
namespace {

template <class V>
struct DepthwiseLanes {
    using Reg = typename V::Reg;

    // Taps j in [0, kernel) with 0 <= start + j * dilation < size.
    static void valid_taps(int64_t start, int64_t dilation, int64_t kernel, int64_t size, int64_t* lo, int64_t* hi) {
        const int64_t first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
        const int64_t end = start >= size ? 0 : (size - start + dilation - 1) / dilation;
        *lo = std::min(first, kernel);
        *hi = std::max(*lo, std::min(end, kernel));
    }

    // A window row inside x: where it starts in x and its kernel[2] weights.
    struct TapRow {
        const float* x_row;
        const float* weights;
    };

    // Output columns [lo, hi) have every tap inside the row (and a stride-2 load reads one
    // float more, which must be inside too).
    static void vector_columns(const WindowGeometry& g, int64_t* lo, int64_t* hi) {
        const int64_t stride = g.stride[2], pad = g.pad_begin[2];
        const int64_t reach = (g.kernel[2] - 1) * g.dilation[2] + (stride == 2 ? 1 : 0);
        *lo = std::min(g.out[2], (pad + stride - 1) / stride);
        *hi = g.in[2] - 1 + pad - reach < 0 ? 0 : std::min(g.out[2], (g.in[2] - 1 + pad - reach) / stride + 1);
    }

    // Whether rows have a whole register of such columns; if not, the plain body is faster.
    static bool pays(const WindowGeometry& g) {
        int64_t lo, hi;
        vector_columns(g, &lo, &hi);
        return hi - lo >= V::width;
    }

    static void run(const float* x, const float* w, float bias, const WindowGeometry& g, float* y) {
        const int64_t width = g.in[2];
        const int64_t kernel = g.kernel[2];
        int64_t vector_lo, vector_hi;
        vector_columns(g, &vector_lo, &vector_hi);
        // On the stack for windows of up to 64 rows.
        TapRow stack_rows[64];
        std::vector<TapRow> heap_rows(g.kernel[0] * g.kernel[1] > 64 ? static_cast<size_t>(g.kernel[0] * g.kernel[1]) : 0);
        TapRow* rows = heap_rows.empty() ? stack_rows : heap_rows.data();
        float* y_row = y;
        for (int64_t od = 0; od < g.out[0]; ++od) {
            int64_t d_lo, d_hi;
            const int64_t d_start = od * g.stride[0] - g.pad_begin[0];
            valid_taps(d_start, g.dilation[0], g.kernel[0], g.in[0], &d_lo, &d_hi);
            for (int64_t oh = 0; oh < g.out[1]; ++oh, y_row += g.out[2]) {
                int64_t h_lo, h_hi;
                const int64_t h_start = oh * g.stride[1] - g.pad_begin[1];
                valid_taps(h_start, g.dilation[1], g.kernel[1], g.in[1], &h_lo, &h_hi);
                size_t row_count = 0;
                for (int64_t kd = d_lo; kd < d_hi; ++kd) {
                    for (int64_t kh = h_lo; kh < h_hi; ++kh) {
                        const int64_t id = d_start + kd * g.dilation[0], ih = h_start + kh * g.dilation[1];
                        rows[row_count++] = {x + (id * g.in[1] + ih) * width, w + (kd * g.kernel[1] + kh) * kernel};
                    }
                }
                int64_t ow = 0;
                for (; ow < std::min(vector_lo, g.out[2]); ++ow) one_output(rows, row_count, g, bias, ow, y_row);
                if (vector_hi - ow >= V::width) {
                    for (; ow + V::width <= vector_hi; ow += V::width) {
                        register_of_outputs(rows, row_count, g, bias, ow, y_row);
                    }
                    // The last partial register ends at vector_hi, overlapping the one before.
                    if (ow < vector_hi) {
                        register_of_outputs(rows, row_count, g, bias, vector_hi - V::width, y_row);
                        ow = vector_hi;
                    }
                }
                for (; ow < g.out[2]; ++ow) one_output(rows, row_count, g, bias, ow, y_row);
            }
        }
    }

    static void one_output(const TapRow* rows, size_t row_count, const WindowGeometry& g, float bias, int64_t ow,
                           float* y_row) {
        int64_t w_lo, w_hi;
        const int64_t w_start = ow * g.stride[2] - g.pad_begin[2];
        valid_taps(w_start, g.dilation[2], g.kernel[2], g.in[2], &w_lo, &w_hi);
        float sum = bias;
        for (size_t r = 0; r < row_count; ++r) {
            for (int64_t kw = w_lo; kw < w_hi; ++kw) sum += rows[r].weights[kw] * rows[r].x_row[w_start + kw * g.dilation[2]];
        }
        y_row[ow] = sum;
    }

    static void register_of_outputs(const TapRow* rows, size_t row_count, const WindowGeometry& g, float bias,
                                    int64_t ow, float* y_row) {
        const int64_t stride = g.stride[2];
        const int64_t first_column = ow * stride - g.pad_begin[2];
        Reg sum = V::set1(bias);
        for (size_t r = 0; r < row_count; ++r) {
            const float* x_row = rows[r].x_row + first_column;
            for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                sum = V::fmadd(V::set1(rows[r].weights[kw]), V::load_strided(x_row + kw * g.dilation[2], stride), sum);
            }
        }
        V::store(y_row + ow, sum, AllLanes{});
    }
};

}  // namespace
}  // namespace mln::kernels
