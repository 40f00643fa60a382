// Body of the pooling plane kernel, compiled per ISA file on its FloatLanes type.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"

namespace mln::kernels {
namespace {

template <class V>
struct PoolPlane {
    using Reg = typename V::Reg;
    using IReg = typename V::IReg;

    // Taps j in [0, kernel) with 0 <= start + j * dilation < size.
    static void valid_taps(int64_t start, int64_t dilation, int64_t kernel, int64_t size, int64_t* lo, int64_t* hi) {
        const int64_t first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
        const int64_t end = start >= size ? 0 : (size - start + dilation - 1) / dilation;
        *lo = std::min(first, kernel);
        *hi = std::max(*lo, std::min(end, kernel));
    }

    static void run(const float* x, float* y, int64_t* indices, int64_t index_base, const PoolArgs& a) {
        const WindowGeometry& g = a.geometry;
        const bool max = a.mode == MLN_POOL_MODE_MAX;
        const int64_t width = g.in[2];
        const int64_t stride = g.stride[2], dilation = g.dilation[2], pad = g.pad_begin[2], kernel = g.kernel[2];
        // Columns [vector_lo, vector_hi) have every tap inside the row; a strided load of
        // stride 2 reads one float past its last lane, so those also keep that float inside.
        const int64_t reach = (kernel - 1) * dilation + (stride == 2 ? 1 : 0);
        const int64_t vector_lo = std::min(g.out[2], (pad + stride - 1) / stride);
        const int64_t vector_hi =
            width - 1 + pad - reach < 0 ? 0 : std::min(g.out[2], (width - 1 + pad - reach) / stride + 1);
        const IReg steps = V::lane_steps(static_cast<int32_t>(stride));
        const int64_t in_size = g.in_size();
        // Starts (in the plane) of the window's rows inside x, in tap order.
        // On the stack for windows of up to 64 rows: a plane can be as small as one output.
        int64_t stack_rows[64];
        std::vector<int64_t> heap_rows(g.kernel[0] * g.kernel[1] > 64 ? static_cast<size_t>(g.kernel[0] * g.kernel[1]) : 0);
        int64_t* row_list = heap_rows.empty() ? stack_rows : heap_rows.data();
        // Max over rows of at least a register of vector columns is separable: each plane row's
        // max over the kernel's columns is computed once and reused by every output row whose
        // window holds that row (stride 2 of 3 rows: every other row twice).
        const int64_t plane_rows = g.in[0] * g.in[1];
        const int64_t row_columns = g.out[2];
        RowMaxima* maxima = nullptr;
        if (max && g.kernel[2] > 1 && vector_hi - vector_lo >= V::width && every_column_has_taps(g) &&
            plane_rows * row_columns * static_cast<int64_t>(sizeof(float) + sizeof(int32_t)) <= kRowMaximaBytes) {
            maxima = &thread_scratch<RowMaxima>();
            maxima->values.resize(static_cast<size_t>(plane_rows * row_columns));
            maxima->positions.resize(static_cast<size_t>(plane_rows * row_columns));
            maxima->done.assign(static_cast<size_t>(plane_rows), 0);
            maxima->offsets.resize(static_cast<size_t>(g.kernel[0] * g.kernel[1]));
        }
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
                int64_t* i_row = indices != nullptr ? indices + out_flat : nullptr;
                const int64_t lo = row_count > 0 ? vector_lo : g.out[2];
                int64_t ow = 0;
                auto one = [&](int64_t column) {
                    if (max) return max_one(x, row_list, row_count, g, column, y_row, i_row, index_base);
                    average_one(x, row_list, row_count, g, counts, column, y_row);
                };
                auto registers = [&](int64_t column, int64_t lanes) {
                    if (max) return max_register(x, row_list, row_count, g, steps, column, lanes, y_row, i_row, index_base);
                    average_register(x, row_list, row_count, g, counts, column, lanes, y_row);
                };
                if (maxima != nullptr && row_count > 0) {
                    int64_t* offsets = maxima->offsets.data();
                    for (int64_t r = 0; r < row_count; ++r) {
                        const int64_t plane_row = row_list[r] / width;
                        offsets[r] = plane_row * row_columns;
                        if (maxima->done[static_cast<size_t>(plane_row)]) continue;
                        maxima->done[static_cast<size_t>(plane_row)] = 1;
                        float* values = maxima->values.data() + plane_row * row_columns;
                        int32_t* positions = maxima->positions.data() + plane_row * row_columns;
                        for (int64_t column = 0; column < vector_lo; ++column) {
                            row_max_one(x, row_list[r], g, column, values, positions);
                        }
                        for (int64_t column = vector_hi; column < g.out[2]; ++column) {
                            row_max_one(x, row_list[r], g, column, values, positions);
                        }
                        for_column_registers(vector_lo, vector_hi, [&](int64_t column) {
                            row_max_register(x, row_list[r], g, steps, column, values, positions);
                        });
                    }
                    for_column_registers(0, g.out[2], [&](int64_t column) {
                        combine_rows(*maxima, offsets, row_count, column, y_row + column,
                                     i_row != nullptr ? i_row + column : nullptr, index_base);
                    });
                    continue;
                }
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

    // Per plane row, the max and its position over the kernel's columns of each vector column.
    struct RowMaxima {
        std::vector<float> values;
        std::vector<int32_t> positions;
        std::vector<uint8_t> done;
        // Per row of the current window, where its maxima start.
        std::vector<int64_t> offsets;
    };
    // Planes whose row maxima take more than this run unseparated (the maxima would leave L2).
    static constexpr int64_t kRowMaximaBytes = int64_t{256} << 10;

    // f(column) over registers of columns [lo, hi) (hi - lo >= width); the last one ends at hi,
    // overlapping the one before: recomputed columns get the same values.
    template <class F>
    static void for_column_registers(int64_t lo, int64_t hi, F&& f) {
        int64_t column = lo;
        for (; column + V::width <= hi; column += V::width) f(column);
        if (column < hi) f(hi - V::width);
    }

    // Whether every output column's window holds a column of x (row maxima exist everywhere).
    static bool every_column_has_taps(const WindowGeometry& g) {
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int64_t lo, hi;
            valid_taps(ow * g.stride[2] - g.pad_begin[2], g.dilation[2], g.kernel[2], g.in[2], &lo, &hi);
            if (lo == hi) return false;
        }
        return true;
    }

    // As row_max_register for one (edge) column, over its taps inside x.
    static void row_max_one(const float* x, int64_t row, const WindowGeometry& g, int64_t ow, float* values,
                            int32_t* positions) {
        int64_t w_lo, w_hi;
        const int64_t w_start = row + ow * g.stride[2] - g.pad_begin[2];
        valid_taps(w_start - row, g.dilation[2], g.kernel[2], g.in[2], &w_lo, &w_hi);
        int64_t best_position = w_start + w_lo * g.dilation[2];
        float best = x[best_position];
        for (int64_t kw = w_lo + 1; kw < w_hi; ++kw) {
            const int64_t position = w_start + kw * g.dilation[2];
            if (ScalarLanes::takes_over(x[position], best)) {
                best = x[position];
                best_position = position;
            }
        }
        values[ow] = best;
        positions[ow] = static_cast<int32_t>(best_position);
    }

    static IReg load_positions(const int32_t* p) {
        IReg v;
        std::memcpy(&v, p, sizeof(IReg));
        return v;
    }

    // values/positions[ow + lane] = the max over the kernel's columns of plane row `row` (its
    // start in the plane) for output columns ow + lane, ties and NaN as in max_register.
    static void row_max_register(const float* x, int64_t row, const WindowGeometry& g, IReg steps, int64_t ow,
                                 float* values, int32_t* positions) {
        const int64_t stride = g.stride[2];
        const int64_t first = row + ow * stride - g.pad_begin[2];
        Reg best = V::load_strided(x + first, stride);
        IReg best_position = V::plus(steps, static_cast<int32_t>(first));
        for (int64_t kw = 1; kw < g.kernel[2]; ++kw) {
            const int64_t position = first + kw * g.dilation[2];
            const Reg v = V::load_strided(x + position, stride);
            const auto take = V::takes_over(v, best);
            best = V::select(take, v, best);
            best_position = V::select(take, V::plus(steps, static_cast<int32_t>(position)), best_position);
        }
        V::store(values + ow, best, AllLanes{});
        std::memcpy(positions + ow, &best_position, sizeof(IReg));
    }

    // One register of outputs: the max over the window's rows of their row maxima, in row
    // order (the first row that takes over wins: row-major tap order, as max_register).
    static void combine_rows(const RowMaxima& m, const int64_t* offsets, int64_t row_count, int64_t column, float* y,
                             int64_t* indices, int64_t index_base) {
        const int64_t first = offsets[0] + column;
        Reg best = V::load(m.values.data() + first, AllLanes{});
        IReg best_position = load_positions(m.positions.data() + first);
        for (int64_t r = 1; r < row_count; ++r) {
            const int64_t at = offsets[r] + column;
            const Reg v = V::load(m.values.data() + at, AllLanes{});
            const auto take = V::takes_over(v, best);
            best = V::select(take, v, best);
            if (indices != nullptr) best_position = V::select(take, load_positions(m.positions.data() + at), best_position);
        }
        V::store(y, best, AllLanes{});
        if (indices != nullptr) V::store_indices(indices, best_position, index_base);
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

    static void max_one(const float* x, const int64_t* rows, int64_t row_count, const WindowGeometry& g, int64_t ow,
                           float* y_row, int64_t* i_row, int64_t index_base) {
        int64_t w_lo, w_hi;
        const int64_t w_start = ow * g.stride[2] - g.pad_begin[2];
        valid_taps(w_start, g.dilation[2], g.kernel[2], g.in[2], &w_lo, &w_hi);
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_position = -1;
        for (int64_t r = 0; r < row_count; ++r) {
            for (int64_t kw = w_lo; kw < w_hi; ++kw) {
                const int64_t position = rows[r] + w_start + kw * g.dilation[2];
                const float v = x[position];
                if (best_position < 0 || ScalarLanes::takes_over(v, best)) {
                    best = v;
                    best_position = position;
                }
            }
        }
        y_row[ow] = best;
        if (i_row != nullptr) i_row[ow] = best_position < 0 ? -1 : index_base + best_position;
    }

    static void max_register(const float* x, const int64_t* rows, int64_t row_count, const WindowGeometry& g,
                                    IReg steps, int64_t ow, int64_t lanes, float* y_row, int64_t* i_row,
                                    int64_t index_base) {
        const int64_t stride = g.stride[2];
        const int64_t first_column = ow * stride - g.pad_begin[2];
        Reg best = V::load_strided(x + rows[0] + first_column, stride);
        IReg best_position = V::plus(steps, static_cast<int32_t>(rows[0] + first_column));
        for (int64_t r = 0; r < row_count; ++r) {
            for (int64_t kw = r == 0 ? 1 : 0; kw < g.kernel[2]; ++kw) {
                const int64_t position = rows[r] + first_column + kw * g.dilation[2];
                const Reg v = V::load_strided(x + position, stride);
                const auto take = V::takes_over(v, best);
                best = V::select(take, v, best);
                best_position = V::select(take, V::plus(steps, static_cast<int32_t>(position)), best_position);
            }
        }
        store_lanes(y_row + ow, best, lanes);
        if (i_row == nullptr) return;
        if (lanes == V::width) return V::store_indices(i_row + ow, best_position, index_base);
        int64_t all[V::width];
        V::store_indices(all, best_position, index_base);
        std::copy(all, all + lanes, i_row + ow);
    }
};

}  // namespace
}  // namespace mln::kernels
