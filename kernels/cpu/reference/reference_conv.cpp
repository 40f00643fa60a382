#include <vector>

#include "kernels/cpu/elementwise/unary_ops.hpp"

#include "kernels/cpu/reference/reference_indexing.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::reference {
namespace {

// Calls visit(x_index, w_index, y_index) for every term of the convolution sum whose input
// element lies inside x (padding contributes nothing).
template <class Visit>
void for_each_term(const mln_conv_params& p, const TensorView& x, const TensorView& w, const TensorView& y,
                   Visit&& visit) {
    const int32_t r = p.spatial_rank;
    const int64_t group_channels = x.shape[1] / p.groups;
    const int64_t group_out_channels = w.shape[0] / p.groups;
    for_each_index(y.rank, y.shape, [&](const int64_t* yi) {
        const int64_t m = yi[1];
        const int64_t g = m / group_out_channels;
        int64_t w_shape[MLN_MAX_RANK] = {group_channels};
        for (int32_t i = 0; i < r; ++i) w_shape[1 + i] = w.shape[2 + i];
        for_each_index(r + 1, w_shape, [&](const int64_t* ki) {
            int64_t xi[MLN_MAX_RANK] = {yi[0], g * group_channels + ki[0]};
            int64_t wi[MLN_MAX_RANK] = {m, ki[0]};
            for (int32_t i = 0; i < r; ++i) {
                const int64_t pos = yi[2 + i] * p.strides[i] - p.pads_begin[i] + ki[1 + i] * p.dilations[i];
                if (pos < 0 || pos >= x.shape[2 + i]) return;
                xi[2 + i] = pos;
                wi[2 + i] = ki[1 + i];
            }
            visit(static_cast<const int64_t*>(xi), static_cast<const int64_t*>(wi), yi);
        });
    });
}

// Row-major linear index of `index` in `view`'s shape.
int64_t linear(const TensorView& view, const int64_t* index) {
    int64_t offset = 0;
    for (int32_t d = 0; d < view.rank; ++d) offset = offset * view.shape[d] + index[d];
    return offset;
}

void store_all(const TensorView& view, const std::vector<double>& values) {
    for_each_index(view.rank, view.shape, [&](const int64_t* i) { store_from_double(view, i, values[static_cast<size_t>(linear(view, i))]); });
}

}  // namespace

void conv_forward(const mln_conv_params& p, const TensorView& x, const TensorView& w, const TensorView* bias,
                  mln_unary_op activation, const TensorView* residual, const TensorView& y) {
    std::vector<double> sums(static_cast<size_t>(y.element_count), 0.0);
    for_each_term(p, x, w, y, [&](const int64_t* xi, const int64_t* wi, const int64_t* yi) {
        sums[static_cast<size_t>(linear(y, yi))] += load_as_double(x, xi) * load_as_double(w, wi);
    });
    for_each_index(y.rank, y.shape, [&](const int64_t* yi) {
        double& sum = sums[static_cast<size_t>(linear(y, yi))];
        const int64_t bi[1] = {yi[1]};
        if (bias != nullptr) sum += load_as_double(*bias, bi);
        if (residual != nullptr) sum += load_as_double(*residual, yi);
    });
    // The activation in y's dtype, as the GEMM epilogue (and its reference) applies it.
    if (y.dtype == MLN_DTYPE_F32) {
        kernels::visit_unary_op(activation, [&](auto op) {
            for (double& sum : sums) sum = static_cast<double>(op.apply(static_cast<float>(sum)));
        });
    } else {
        kernels::visit_unary_op(activation, [&](auto op) {
            for (double& sum : sums) sum = op.apply(sum);
        });
    }
    store_all(y, sums);
}

void conv_backward_data(const mln_conv_params& p, const TensorView& dy, const TensorView& w, const TensorView& dx) {
    std::vector<double> sums(static_cast<size_t>(dx.element_count), 0.0);
    for_each_term(p, dx, w, dy, [&](const int64_t* xi, const int64_t* wi, const int64_t* yi) {
        sums[static_cast<size_t>(linear(dx, xi))] += load_as_double(dy, yi) * load_as_double(w, wi);
    });
    store_all(dx, sums);
}

void conv_backward_filter(const mln_conv_params& p, const TensorView& x, const TensorView& dy, const TensorView& dw,
                          const TensorView* dbias) {
    std::vector<double> sums(static_cast<size_t>(dw.element_count), 0.0);
    for_each_term(p, x, dw, dy, [&](const int64_t* xi, const int64_t* wi, const int64_t* yi) {
        sums[static_cast<size_t>(linear(dw, wi))] += load_as_double(dy, yi) * load_as_double(x, xi);
    });
    store_all(dw, sums);
    if (dbias != nullptr) {
        std::vector<double> bias_sums(static_cast<size_t>(dbias->element_count), 0.0);
        for_each_index(dy.rank, dy.shape, [&](const int64_t* yi) { bias_sums[static_cast<size_t>(yi[1])] += load_as_double(dy, yi); });
        store_all(*dbias, bias_sums);
    }
}

}  // namespace mln::reference
