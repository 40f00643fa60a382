#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/reference/reference_indexing.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::reference {
namespace {

int64_t flat_index(const TensorView& view, const int64_t* index) {
    int64_t offset = 0;
    for (int32_t d = 0; d < view.rank; ++d) offset = offset * view.shape[d] + index[d];
    return offset;
}

// Calls visit(x_index, inside_x, inside_padded) for every tap of the window of output yi.
template <class Visit>
void for_each_tap(const mln_pool_params& p, const TensorView& x, const int64_t* yi, Visit&& visit) {
    const int32_t r = p.spatial_rank;
    for_each_index(r, p.kernel, [&](const int64_t* k) {
        int64_t xi[MLN_MAX_RANK] = {yi[0], yi[1]};
        bool inside = true;
        bool inside_padded = true;
        for (int32_t i = 0; i < r; ++i) {
            const int64_t pos = yi[2 + i] * p.strides[i] - p.pads_begin[i] + k[i] * p.dilations[i];
            xi[2 + i] = pos;
            inside = inside && pos >= 0 && pos < x.shape[2 + i];
            inside_padded = inside_padded && pos >= -p.pads_begin[i] && pos < x.shape[2 + i] + p.pads_end[i];
        }
        visit(static_cast<const int64_t*>(xi), inside, inside_padded);
    });
}

double average_divisor(const mln_pool_params& p, const TensorView& x, const int64_t* yi) {
    double inside_count = 0.0;
    double padded_count = 0.0;
    for_each_tap(p, x, yi, [&](const int64_t*, bool inside, bool inside_padded) {
        inside_count += inside ? 1.0 : 0.0;
        padded_count += inside_padded ? 1.0 : 0.0;
    });
    return p.count_include_pad != 0 ? padded_count : inside_count;
}

}  // namespace

void pool_forward(mln_pool_mode mode, const mln_pool_params& p, const TensorView& x, const TensorView& y,
                  const TensorView* indices) {
    for_each_index(y.rank, y.shape, [&](const int64_t* yi) {
        if (mode == MLN_POOL_MODE_AVERAGE) {
            double sum = 0.0;
            for_each_tap(p, x, yi, [&](const int64_t* xi, bool inside, bool) {
                if (inside) sum += load_as_double(x, xi);
            });
            store_from_double(y, yi, sum / average_divisor(p, x, yi));
            return;
        }
        bool found = false;
        double best = -std::numeric_limits<double>::infinity();
        int64_t best_index = -1;
        int64_t best_tap = -1;
        int64_t tap = -1;
        for_each_tap(p, x, yi, [&](const int64_t* xi, bool inside, bool) {
            ++tap;
            if (!inside) return;
            const double v = load_as_double(x, xi);
            if (std::isnan(best)) return;
            if (!found || v > best || std::isnan(v)) {
                best = v;
                best_tap = tap;
                best_index = flat_index(x, xi);
                if (p.storage_order == 1) {
                    // (n, c) plane first, then the spatial index with the first dimension varying fastest.
                    int64_t plane_size = 1;
                    int64_t spatial = 0;
                    for (int32_t d = x.rank - 1; d >= 2; --d) {
                        spatial = spatial * x.shape[d] + xi[d];
                        plane_size *= x.shape[d];
                    }
                    best_index = (xi[0] * x.shape[1] + xi[1]) * plane_size + spatial;
                }
                found = true;
            }
        });
        store_from_double(y, yi, best);
        if (indices == nullptr) return;
        if (indices->dtype == MLN_DTYPE_U8) {
            *element_at<uint8_t>(*indices, yi) = best_tap < 0 ? 255 : static_cast<uint8_t>(best_tap);
        } else if (indices->dtype == MLN_DTYPE_I32) {
            *element_at<int32_t>(*indices, yi) = static_cast<int32_t>(best_tap);
        } else {
            *element_at<int64_t>(*indices, yi) = best_index;
        }
    });
}

void pool_backward(mln_pool_mode mode, const mln_pool_params& p, const TensorView& dy, const TensorView* indices,
                   const TensorView& dx) {
    std::vector<double> sums(static_cast<size_t>(dx.element_count), 0.0);
    for_each_index(dy.rank, dy.shape, [&](const int64_t* yi) {
        const double g = load_as_double(dy, yi);
        if (mode == MLN_POOL_MODE_MAX && indices->dtype != MLN_DTYPE_I64) {
            // The workspace: the chosen tap, counted as for_each_tap visits them.
            const int64_t chosen = indices->dtype == MLN_DTYPE_U8 ? *element_at<uint8_t>(*indices, yi)
                                                                 : *element_at<int32_t>(*indices, yi);
            int64_t tap = -1;
            for_each_tap(p, dx, yi, [&](const int64_t* xi, bool inside, bool) {
                if (++tap == chosen && inside) sums[static_cast<size_t>(flat_index(dx, xi))] += g;
            });
            return;
        }
        if (mode == MLN_POOL_MODE_MAX) {
            const int64_t index = *element_at<int64_t>(*indices, yi);
            if (index >= 0) sums[static_cast<size_t>(index)] += g;
            return;
        }
        const double divisor = average_divisor(p, dx, yi);
        for_each_tap(p, dx, yi, [&](const int64_t* xi, bool inside, bool) {
            if (inside) sums[static_cast<size_t>(flat_index(dx, xi))] += g / divisor;
        });
    });
    for_each_index(dx.rank, dx.shape, [&](const int64_t* xi) { store_from_double(dx, xi, sums[static_cast<size_t>(flat_index(dx, xi))]); });
}

}  // namespace mln::reference
