// Separable resize: each resized dimension gets a table of taps (input index, weight) per
// output index, and one pass per dimension applies it to whole contiguous rows of the inner
// dimensions. Shrinking dimensions run first, so no intermediate is larger than x or y. The
// backward pass applies the transposed tables in the reverse order.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/nn_kernels.hpp"

namespace mln::kernels {
namespace {

// The 1-d filter of one dimension: `taps` (index, weight) pairs per output index.
struct AxisFilter {
    int32_t axis = 0;
    int64_t in = 0;
    int64_t out = 0;
    int32_t taps = 1;
    std::vector<int64_t> index;
    std::vector<double> weight;
    std::vector<uint8_t> outside;  // tf_crop_and_resize: the output takes extrapolation_value
    bool any_outside = false;

    // Whether the filter maps every output index to the same input index with weight 1.
    bool identity() const {
        if (in != out || any_outside) return false;
        for (int64_t o = 0; o < out; ++o) {
            double own = 0.0;
            for (int32_t t = 0; t < taps; ++t) {
                const double w = weight[static_cast<size_t>(o * taps + t)];
                if (index[static_cast<size_t>(o * taps + t)] == o) {
                    own += w;
                } else if (w != 0.0) {
                    return false;
                }
            }
            if (own != 1.0) return false;
        }
        return true;
    }
};

// Input coordinate of output index o along dimension d (the header's formulas).
double input_coordinate(const mln_resize_params& p, int32_t d, int64_t o, int64_t n, int64_t m) {
    const double s = p.scales[d];
    const double length = s * static_cast<double>(n);
    const double x = static_cast<double>(o);
    switch (static_cast<mln_resize_coordinate_mode>(p.coordinate_mode)) {
        case MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL: return (x + 0.5) / s - 0.5;
        case MLN_RESIZE_COORDINATE_MODE_PYTORCH_HALF_PIXEL: return length > 1.0 ? (x + 0.5) / s - 0.5 : 0.0;
        case MLN_RESIZE_COORDINATE_MODE_ALIGN_CORNERS:
            return length > 1.0 ? x * static_cast<double>(n - 1) / (length - 1.0) : 0.0;
        case MLN_RESIZE_COORDINATE_MODE_ASYMMETRIC: return x / s;
        case MLN_RESIZE_COORDINATE_MODE_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / s;
        case MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL_SYMMETRIC: {
            const double offset = static_cast<double>(n) / 2.0 * (1.0 - static_cast<double>(m) / length);
            return offset + (x + 0.5) / s - 0.5;
        }
        case MLN_RESIZE_COORDINATE_MODE_TF_CROP_AND_RESIZE: {
            const double start = p.roi_start[d] * static_cast<double>(n - 1);
            const double extent = (p.roi_end[d] - p.roi_start[d]) * static_cast<double>(n - 1);
            return length > 1.0 ? start + x * extent / (length - 1.0) : start + extent / 2.0;
        }
    }
    return 0.0;
}

int64_t nearest_index(mln_resize_nearest_mode mode, double c) {
    const double floor = std::floor(c);
    const double fraction = c - floor;
    const auto low = static_cast<int64_t>(floor);
    if (fraction == 0.0) return low;
    switch (mode) {
        case MLN_RESIZE_NEAREST_MODE_ROUND_PREFER_FLOOR: return fraction <= 0.5 ? low : low + 1;
        case MLN_RESIZE_NEAREST_MODE_ROUND_PREFER_CEIL: return fraction < 0.5 ? low : low + 1;
        case MLN_RESIZE_NEAREST_MODE_FLOOR: return low;
        case MLN_RESIZE_NEAREST_MODE_CEIL: return low + 1;
    }
    return low;
}

// Weights of the taps floor(c)-1 .. floor(c)+2 for the fraction f (ONNX's cubic coefficients).
void cubic_weights(double a, double f, double* w) {
    const double f1 = f + 1.0;
    const double g = 1.0 - f;
    const double g1 = g + 1.0;
    w[0] = ((a * f1 - 5.0 * a) * f1 + 8.0 * a) * f1 - 4.0 * a;
    w[1] = ((a + 2.0) * f - (a + 3.0)) * f * f + 1.0;
    w[2] = ((a + 2.0) * g - (a + 3.0)) * g * g + 1.0;
    w[3] = ((a * g1 - 5.0 * a) * g1 + 8.0 * a) * g1 - 4.0 * a;
}

AxisFilter make_filter(const mln_resize_params& p, int32_t d, int64_t n, int64_t m) {
    AxisFilter f;
    f.axis = d;
    f.in = n;
    f.out = m;
    const auto mode = static_cast<mln_resize_mode>(p.mode);
    f.taps = mode == MLN_RESIZE_MODE_NEAREST ? 1 : mode == MLN_RESIZE_MODE_LINEAR ? 2 : 4;
    f.index.assign(static_cast<size_t>(m * f.taps), 0);
    f.weight.assign(static_cast<size_t>(m * f.taps), 0.0);
    f.outside.assign(static_cast<size_t>(m), 0);
    const bool crop = p.coordinate_mode == MLN_RESIZE_COORDINATE_MODE_TF_CROP_AND_RESIZE;
    for (int64_t o = 0; o < m; ++o) {
        const double c = input_coordinate(p, d, o, n, m);
        int64_t* index = &f.index[static_cast<size_t>(o * f.taps)];
        double* weight = &f.weight[static_cast<size_t>(o * f.taps)];
        if (crop && (c < 0.0 || c > static_cast<double>(n - 1))) {
            f.outside[static_cast<size_t>(o)] = 1;
            f.any_outside = true;
            continue;
        }
        if (mode == MLN_RESIZE_MODE_NEAREST) {
            index[0] = std::clamp<int64_t>(nearest_index(static_cast<mln_resize_nearest_mode>(p.nearest_mode), c), 0,
                                           n - 1);
            weight[0] = 1.0;
            continue;
        }
        const double floor = std::floor(c);
        const double fraction = c - floor;
        const int64_t first = static_cast<int64_t>(floor) - (mode == MLN_RESIZE_MODE_CUBIC ? 1 : 0);
        if (mode == MLN_RESIZE_MODE_LINEAR) {
            weight[0] = 1.0 - fraction;
            weight[1] = fraction;
        } else {
            cubic_weights(p.cubic_coeff_a, fraction, weight);
        }
        double sum = 0.0;
        for (int32_t t = 0; t < f.taps; ++t) {
            const int64_t j = first + t;
            if (p.exclude_outside != 0 && (j < 0 || j >= n)) weight[t] = 0.0;
            sum += weight[t];
            index[t] = std::clamp<int64_t>(j, 0, n - 1);
        }
        if (p.exclude_outside != 0) {
            for (int32_t t = 0; t < f.taps; ++t) weight[t] /= sum;
        }
    }
    return f;
}

// The filters of the dimensions that change anything, in pass order: shrinking ones first.
std::vector<AxisFilter> make_filters(const mln_resize_params& p, const TensorView& x, const TensorView& y) {
    std::vector<AxisFilter> filters;
    for (int32_t d = 0; d < x.rank; ++d) {
        AxisFilter f = make_filter(p, d, x.shape[d], y.shape[d]);
        if (!f.identity()) filters.push_back(std::move(f));
    }
    std::stable_partition(filters.begin(), filters.end(), [](const AxisFilter& f) { return f.out <= f.in; });
    return filters;
}

int64_t product(const int64_t* shape, int32_t begin, int32_t end) {
    int64_t n = 1;
    for (int32_t d = begin; d < end; ++d) n *= shape[d];
    return n;
}

// dst (shape with f.out along the axis) = the filter applied to src (f.in along the axis).
template <class T>
void forward_pass(const AxisFilter& f, const T* src, T* dst, int64_t outer, int64_t inner) {
    const int64_t rows = outer * f.out;
    cpu::parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(inner * f.taps, 1)), [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            const int64_t o = row / f.out;
            const int64_t j = row % f.out;
            const T* base = src + o * f.in * inner;
            const int64_t* index = &f.index[static_cast<size_t>(j * f.taps)];
            const double* weight = &f.weight[static_cast<size_t>(j * f.taps)];
            T* out = dst + row * inner;
            const T w0 = static_cast<T>(weight[0]);
            const T* in0 = base + index[0] * inner;
            for (int64_t k = 0; k < inner; ++k) out[k] = w0 * in0[k];
            for (int32_t t = 1; t < f.taps; ++t) {
                const T w = static_cast<T>(weight[t]);
                const T* in = base + index[t] * inner;
                for (int64_t k = 0; k < inner; ++k) out[k] += w * in[k];
            }
        }
    });
}

// dst (f.in along the axis) = the transposed filter applied to src (f.out along the axis).
// Each task owns a block of inner elements of one outer slice, so sums run in a fixed order.
template <class T>
void backward_pass(const AxisFilter& f, const T* src, T* dst, int64_t outer, int64_t inner) {
    constexpr int64_t kBlock = 256;
    const int64_t blocks = (inner + kBlock - 1) / kBlock;
    cpu::parallel_for(outer * blocks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t o = task / blocks;
            const int64_t k0 = (task % blocks) * kBlock;
            const int64_t k1 = std::min(inner, k0 + kBlock);
            T* out = dst + o * f.in * inner;
            for (int64_t i = 0; i < f.in; ++i) std::fill(out + i * inner + k0, out + i * inner + k1, T(0));
            for (int64_t j = 0; j < f.out; ++j) {
                if (f.outside[static_cast<size_t>(j)] != 0) continue;
                const T* in = src + (o * f.out + j) * inner;
                for (int32_t t = 0; t < f.taps; ++t) {
                    const T w = static_cast<T>(f.weight[static_cast<size_t>(j * f.taps + t)]);
                    T* target = out + f.index[static_cast<size_t>(j * f.taps + t)] * inner;
                    for (int64_t k = k0; k < k1; ++k) target[k] += w * in[k];
                }
            }
        }
    });
}

// Sets the outputs whose coordinate fell outside the crop to the extrapolation value.
template <class T>
void fill_outside(const std::vector<AxisFilter>& filters, const TensorView& y, T value) {
    for (const AxisFilter& f : filters) {
        if (!f.any_outside) continue;
        const int64_t outer = product(y.shape, 0, f.axis);
        const int64_t inner = product(y.shape, f.axis + 1, y.rank);
        T* data = static_cast<T*>(y.data);
        for (int64_t o = 0; o < outer; ++o) {
            for (int64_t j = 0; j < f.out; ++j) {
                if (f.outside[static_cast<size_t>(j)] == 0) continue;
                T* row = data + (o * f.out + j) * inner;
                std::fill(row, row + inner, value);
            }
        }
    }
}

template <class T>
void resize_forward_typed(const ResizeArgs& a) {
    if (a.y.element_count == 0) return;
    const std::vector<AxisFilter> filters = make_filters(a.params, a.x, a.y);
    const T* x = static_cast<const T*>(a.x.data);
    T* y = static_cast<T*>(a.y.data);
    if (filters.empty()) {
        std::memcpy(y, x, static_cast<size_t>(a.y.element_count) * sizeof(T));
        return;
    }
    int64_t shape[MLN_MAX_RANK];
    std::copy(a.x.shape, a.x.shape + a.x.rank, shape);
    std::vector<T> buffers[2];
    const T* src = x;
    for (size_t pass = 0; pass < filters.size(); ++pass) {
        const AxisFilter& f = filters[pass];
        const int64_t outer = product(shape, 0, f.axis);
        const int64_t inner = product(shape, f.axis + 1, a.x.rank);
        T* dst = y;
        if (pass + 1 < filters.size()) {
            buffers[pass % 2].resize(static_cast<size_t>(outer * f.out * inner));
            dst = buffers[pass % 2].data();
        }
        forward_pass(f, src, dst, outer, inner);
        shape[f.axis] = f.out;
        src = dst;
    }
    fill_outside(filters, a.y, static_cast<T>(a.params.extrapolation_value));
}

// args.x is dx and args.y is dy.
template <class T>
void resize_backward_typed(const ResizeArgs& a) {
    if (a.x.element_count == 0) return;
    T* dx = static_cast<T*>(a.x.data);
    if (a.y.element_count == 0) {
        std::fill(dx, dx + a.x.element_count, T(0));
        return;
    }
    const std::vector<AxisFilter> filters = make_filters(a.params, a.x, a.y);
    const T* dy = static_cast<const T*>(a.y.data);
    if (filters.empty()) {
        std::memcpy(dx, dy, static_cast<size_t>(a.x.element_count) * sizeof(T));
        return;
    }
    int64_t shape[MLN_MAX_RANK];
    std::copy(a.y.shape, a.y.shape + a.y.rank, shape);
    std::vector<T> buffers[2];
    const T* src = dy;
    for (size_t pass = filters.size(); pass-- > 0;) {
        const AxisFilter& f = filters[pass];
        const int64_t outer = product(shape, 0, f.axis);
        const int64_t inner = product(shape, f.axis + 1, a.y.rank);
        T* dst = dx;
        if (pass > 0) {
            buffers[pass % 2].resize(static_cast<size_t>(outer * f.in * inner));
            dst = buffers[pass % 2].data();
        }
        backward_pass(f, src, dst, outer, inner);
        shape[f.axis] = f.in;
        src = dst;
    }
}

template <class Body>
void visit_float(mln_dtype dtype, Body&& body) {
    if (dtype == MLN_DTYPE_F64) {
        body(TypeTag<double>{});
    } else {
        body(TypeTag<float>{});
    }
}

}  // namespace

void resize_forward(const ResizeArgs& args) {
    visit_float(args.x.dtype, [&](auto tag) { resize_forward_typed<typename decltype(tag)::type>(args); });
}

void resize_backward(const ResizeArgs& args) {
    visit_float(args.x.dtype, [&](auto tag) { resize_backward_typed<typename decltype(tag)::type>(args); });
}

}  // namespace mln::kernels
