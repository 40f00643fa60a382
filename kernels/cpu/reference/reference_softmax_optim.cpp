#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/dtype.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/random/philox.hpp"
#include "kernels/cpu/reference/reference_elementwise.hpp"
#include "kernels/cpu/reference/reference_indexing.hpp"

namespace mln::reference {
namespace {

const void* broadcast_address(const TensorView& input, int32_t output_rank, const int64_t* output_index) {
    int64_t offset = 0;
    const int32_t shift = output_rank - input.rank;
    for (int32_t d = 0; d < input.rank; ++d) {
        offset += (input.shape[d] == 1 ? 0 : output_index[d + shift]) * input.strides[d];
    }
    return static_cast<const char*>(input.data) + offset * static_cast<int64_t>(dtype_size(input.dtype));
}

template <class Visitor>
void visit_float(mln_dtype dtype, Visitor&& visitor) {
    if (dtype == MLN_DTYPE_F32) return visitor(kernels::TypeTag<float>{});
    return visitor(kernels::TypeTag<double>{});
}

// Calls visit(index) for every index of view with index[axis] = 0.
template <class Visit>
void for_each_row(const TensorView& view, int32_t axis, Visit&& visit) {
    int64_t shape[MLN_MAX_RANK];
    for (int32_t d = 0; d < view.rank; ++d) shape[d] = d == axis ? 1 : view.shape[d];
    if (view.shape[axis] == 0) return;
    for_each_index(view.rank, shape, visit);
}

}  // namespace

void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& y) {
    const auto size = static_cast<size_t>(dtype_size(y.dtype));
    for_each_index(y.rank, y.shape, [&](const int64_t* index) {
        const bool take_a = *static_cast<const uint8_t*>(broadcast_address(cond, y.rank, index)) != 0;
        const void* source = broadcast_address(take_a ? a : b, y.rank, index);
        int64_t offset = 0;
        for (int32_t d = 0; d < y.rank; ++d) offset += index[d] * y.strides[d];
        std::memcpy(static_cast<char*>(y.data) + offset * static_cast<int64_t>(size), source, size);
    });
}

void softmax(mln_softmax_op op, int32_t axis, const TensorView& x, const TensorView& y) {
    visit_float(x.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int64_t n = x.shape[axis];
        for_each_row(x, axis, [&](const int64_t* row) {
            int64_t index[MLN_MAX_RANK];
            std::copy(row, row + x.rank, index);
            const auto at_x = [&](int64_t i) { index[axis] = i; return static_cast<double>(*element_at<const T>(x, index)); };
            const auto at_y = [&](int64_t i) -> T& { index[axis] = i; return *element_at<T>(y, index); };
            double max = -std::numeric_limits<double>::infinity();
            bool nan = false;
            for (int64_t i = 0; i < n; ++i) {
                nan = nan || std::isnan(at_x(i));
                max = std::max(max, at_x(i));
            }
            if (nan || std::isinf(max)) {
                for (int64_t i = 0; i < n; ++i) at_y(i) = std::numeric_limits<T>::quiet_NaN();
                return;
            }
            double sum = 0.0;
            for (int64_t i = 0; i < n; ++i) sum += std::exp(at_x(i) - max);
            for (int64_t i = 0; i < n; ++i) {
                const double shifted = at_x(i) - max;
                at_y(i) = static_cast<T>(op == MLN_SOFTMAX_OP_SOFTMAX ? std::exp(shifted) / sum : shifted - std::log(sum));
            }
        });
    });
}

void softmax_backward(mln_softmax_op op, int32_t axis, const TensorView& y, const TensorView& dy, const TensorView& dx) {
    visit_float(y.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int64_t n = y.shape[axis];
        for_each_row(y, axis, [&](const int64_t* row) {
            int64_t index[MLN_MAX_RANK];
            std::copy(row, row + y.rank, index);
            const auto at = [&](const TensorView& v, int64_t i) { index[axis] = i; return static_cast<double>(*element_at<const T>(v, index)); };
            double s = 0.0;
            for (int64_t i = 0; i < n; ++i) s += op == MLN_SOFTMAX_OP_SOFTMAX ? at(dy, i) * at(y, i) : at(dy, i);
            for (int64_t i = 0; i < n; ++i) {
                const double value = op == MLN_SOFTMAX_OP_SOFTMAX ? at(y, i) * (at(dy, i) - s) : at(dy, i) - std::exp(at(y, i)) * s;
                index[axis] = i;
                *element_at<T>(dx, index) = static_cast<T>(value);
            }
        });
    });
}

void optimizer_step(const mln_optimizer_params& p, const TensorView& param, const TensorView& grad,
                    const TensorView& state0, const TensorView& state1) {
    visit_float(param.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        for_each_index(param.rank, param.shape, [&](const int64_t* index) {
            T& w = *element_at<T>(param, index);
            double value = w;
            double g = *element_at<const T>(grad, index);
            if (p.kind != MLN_OPTIMIZER_KIND_ADAMW) g += p.weight_decay * value;
            switch (p.kind) {
                case MLN_OPTIMIZER_KIND_SGD:
                    value -= p.lr * g;
                    break;
                case MLN_OPTIMIZER_KIND_MOMENTUM:
                case MLN_OPTIMIZER_KIND_NESTEROV: {
                    T& buf = *element_at<T>(state0, index);
                    const double b = p.step == 1 ? g : p.momentum * buf + (1.0 - p.dampening) * g;
                    buf = static_cast<T>(b);
                    value -= p.lr * (p.kind == MLN_OPTIMIZER_KIND_NESTEROV ? g + p.momentum * b : b);
                    break;
                }
                case MLN_OPTIMIZER_KIND_RMSPROP: {
                    T& square = *element_at<T>(state0, index);
                    const double sq = p.alpha * square + (1.0 - p.alpha) * g * g;
                    square = static_cast<T>(sq);
                    double avg = sq;
                    if (p.centered != 0) {
                        T& mean = *element_at<T>(state1, index);
                        const double ga = p.alpha * mean + (1.0 - p.alpha) * g;
                        mean = static_cast<T>(ga);
                        avg = sq - ga * ga;
                    }
                    value -= p.lr * g / (std::sqrt(avg) + p.eps);
                    break;
                }
                case MLN_OPTIMIZER_KIND_ADAGRAD: {
                    T& sum = *element_at<T>(state0, index);
                    const double s = sum + g * g;
                    sum = static_cast<T>(s);
                    value -= p.lr * g / (std::sqrt(s) + p.eps);
                    break;
                }
                case MLN_OPTIMIZER_KIND_ADAM:
                case MLN_OPTIMIZER_KIND_ADAMW: {
                    if (p.kind == MLN_OPTIMIZER_KIND_ADAMW) value *= 1.0 - p.lr * p.weight_decay;
                    T& m_state = *element_at<T>(state0, index);
                    T& v_state = *element_at<T>(state1, index);
                    const double m = p.beta1 * m_state + (1.0 - p.beta1) * g;
                    const double v = p.beta2 * v_state + (1.0 - p.beta2) * g * g;
                    m_state = static_cast<T>(m);
                    v_state = static_cast<T>(v);
                    const double m_hat = m / (1.0 - std::pow(p.beta1, static_cast<double>(p.step)));
                    const double v_hat = v / (1.0 - std::pow(p.beta2, static_cast<double>(p.step)));
                    value -= p.lr * m_hat / (std::sqrt(v_hat) + p.eps);
                    break;
                }
            }
            w = static_cast<T>(value);
        });
    });
}

void dropout(double p, uint64_t seed, uint64_t offset, const TensorView& x, const TensorView& y, const TensorView& mask) {
    visit_float(x.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        int64_t i = 0;
        for_each_index(x.rank, x.shape, [&](const int64_t* index) {
            const uint64_t word_index = offset + static_cast<uint64_t>(i++);
            const uint64_t block = word_index / 4;
            const kernels::PhiloxBlock words = kernels::philox4x32_10(
                {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u},
                {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
            const double u = static_cast<double>(words[word_index % 4] >> 8) / 16777216.0;
            const bool keep = u >= p;
            *element_at<T>(y, index) = keep ? static_cast<T>(*element_at<const T>(x, index) / (1.0 - p)) : T(0);
            if (mask.data != nullptr) element_at<kernels::Bool8>(mask, index)->value = keep ? 1 : 0;
        });
    });
}

}  // namespace mln::reference
