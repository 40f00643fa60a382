#include <cmath>
#include <vector>

#include "kernels/cpu/reference/reference_indexing.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::reference {
namespace {

double load_flat(const TensorView& view, int64_t i) {
    int64_t index[MLN_MAX_RANK] = {};
    for (int32_t d = view.rank - 1; d >= 0; --d) {
        index[d] = i % view.shape[d];
        i /= view.shape[d];
    }
    return load_as_double(view, index);
}

void store_flat(const TensorView& view, int64_t i, double value) {
    int64_t index[MLN_MAX_RANK] = {};
    for (int32_t d = view.rank - 1; d >= 0; --d) {
        index[d] = i % view.shape[d];
        i /= view.shape[d];
    }
    if (view.dtype == MLN_DTYPE_F64) {
        *element_at<double>(view, index) = value;
    } else {
        *element_at<float>(view, index) = static_cast<float>(value);
    }
}

// Normalizes x over the sets set_of(flat index) with parameters param_of(flat index).
template <class SetOf, class ParamOf>
void normalize(const TensorView& x, const TensorView* scale, const TensorView* bias, double epsilon,
               const TensorView& y, const TensorView& mean, const TensorView& invstd, int64_t sets, SetOf set_of,
               ParamOf param_of) {
    std::vector<double> sum(static_cast<size_t>(sets), 0.0), count(static_cast<size_t>(sets), 0.0),
        squares(static_cast<size_t>(sets), 0.0);
    for (int64_t i = 0; i < x.element_count; ++i) {
        sum[static_cast<size_t>(set_of(i))] += load_flat(x, i);
        count[static_cast<size_t>(set_of(i))] += 1.0;
    }
    for (int64_t i = 0; i < x.element_count; ++i) {
        const size_t s = static_cast<size_t>(set_of(i));
        const double d = load_flat(x, i) - sum[s] / count[s];
        squares[s] += d * d;
    }
    for (int64_t s = 0; s < sets; ++s) {
        const size_t k = static_cast<size_t>(s);
        store_flat(mean, s, sum[k] / count[k]);
        store_flat(invstd, s, 1.0 / std::sqrt(squares[k] / count[k] + epsilon));
    }
    for (int64_t i = 0; i < x.element_count; ++i) {
        const size_t s = static_cast<size_t>(set_of(i));
        const double m = sum[s] / count[s];
        const double r = 1.0 / std::sqrt(squares[s] / count[s] + epsilon);
        const double gamma = scale != nullptr ? load_flat(*scale, param_of(i)) : 1.0;
        const double beta = bias != nullptr ? load_flat(*bias, param_of(i)) : 0.0;
        store_flat(y, i, (load_flat(x, i) - m) * r * gamma + beta);
    }
}

int64_t spatial_of(const TensorView& x) {
    int64_t spatial = 1;
    for (int32_t d = 2; d < x.rank; ++d) spatial *= x.shape[d];
    return spatial;
}

}  // namespace

void batch_norm_training(const TensorView& x, const TensorView* scale, const TensorView* bias, double epsilon,
                         const TensorView& y, const TensorView& mean, const TensorView& invstd) {
    const int64_t channels = x.shape[1];
    const int64_t spatial = spatial_of(x);
    auto channel = [&](int64_t i) { return i / spatial % channels; };
    normalize(x, scale, bias, epsilon, y, mean, invstd, channels, channel, channel);
}

void layer_norm_forward(const TensorView& x, int32_t normalized_rank, const TensorView* scale,
                        const TensorView* bias, double epsilon, const TensorView& y, const TensorView& mean,
                        const TensorView& invstd) {
    int64_t inner = 1;
    for (int32_t d = x.rank - normalized_rank; d < x.rank; ++d) inner *= x.shape[d];
    const int64_t rows = inner == 0 ? 0 : x.element_count / inner;
    normalize(x, scale, bias, epsilon, y, mean, invstd, rows, [&](int64_t i) { return i / inner; },
              [&](int64_t i) { return i % inner; });
}

void group_norm_forward(const TensorView& x, int64_t groups, const TensorView* scale, const TensorView* bias,
                        double epsilon, const TensorView& y, const TensorView& mean, const TensorView& invstd) {
    const int64_t channels = x.shape[1];
    const int64_t spatial = spatial_of(x);
    auto channel = [&](int64_t i) { return i / spatial % channels; };
    auto set = [&](int64_t i) { return i / (spatial * channels) * groups + channel(i) / (channels / groups); };
    normalize(x, scale, bias, epsilon, y, mean, invstd, x.shape[0] * groups, set, channel);
}

}  // namespace mln::reference
