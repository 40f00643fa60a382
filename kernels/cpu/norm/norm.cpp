// Batch and group normalization (layer norm runs as group norm with one group). Statistics are
// two-pass in double (mean, then the mean of squared deviations), so a large mean does not
// cancel the variance. Backward, with xhat = (x - mean) * invstd and g = dy * scale:
//   dx = invstd * (g - mean_set(g) - xhat * mean_set(g * xhat)),
//   dscale[c] = sum dy * xhat, dbias[c] = sum dy over the elements of channel c.
// Every sum runs in a fixed order inside one task: results do not depend on the thread count.
#include <cmath>
#include <type_traits>

#include "cpu/thread_pool.hpp"
#include "kernels/cpu/nn_kernels.hpp"

namespace mln::kernels {
namespace {

template <class T>
const T* data_of(const TensorView& view, bool present) {
    return present ? static_cast<const T*>(view.data) : nullptr;
}

struct Moments {
    double mean;
    double invstd;
};

// Statistics of `blocks` blocks of `length` elements, `stride` apart.
template <class T>
Moments moments(const T* x, int64_t blocks, int64_t length, int64_t stride, double epsilon, double* variance) {
    const double count = static_cast<double>(blocks * length);
    double sum = 0.0;
    for (int64_t b = 0; b < blocks; ++b) {
        for (int64_t i = 0; i < length; ++i) sum += static_cast<double>(x[b * stride + i]);
    }
    const double mean = sum / count;
    double squares = 0.0;
    for (int64_t b = 0; b < blocks; ++b) {
        for (int64_t i = 0; i < length; ++i) {
            const double d = static_cast<double>(x[b * stride + i]) - mean;
            squares += d * d;
        }
    }
    *variance = squares / count;
    return {mean, 1.0 / std::sqrt(*variance + epsilon)};
}

// y = (x - mean) * invstd * scale + bias over blocks of one channel.
template <class T>
void normalize_blocks(const T* x, T* y, int64_t blocks, int64_t length, int64_t stride, double mean, double invstd,
                      double scale, double bias) {
    // Centre in double before scaling: folding the mean into one multiply-add (a*x + b)
    // cancels catastrophically when |mean| is large against the spread.
    const double a = invstd * scale;
    for (int64_t blk = 0; blk < blocks; ++blk) {
        const T* xb = x + blk * stride;
        T* yb = y + blk * stride;
        for (int64_t i = 0; i < length; ++i) yb[i] = static_cast<T>((static_cast<double>(xb[i]) - mean) * a + bias);
    }
}

template <class T>
void batch_norm_training_typed(const NormArgs& a) {
    const int64_t plane = a.channels * a.spatial;
    const T* x = static_cast<const T*>(a.x.data);
    T* y = static_cast<T*>(a.y.data);
    const T* scale = data_of<T>(a.scale, a.has_scale);
    const T* bias = data_of<T>(a.bias, a.has_bias);
    T* mean_out = static_cast<T*>(a.mean.data);
    T* invstd_out = static_cast<T*>(a.invstd.data);
    cpu::parallel_for(a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            double variance = 0.0;
            const Moments m = moments(x + c * a.spatial, a.batch, a.spatial, plane, a.epsilon, &variance);
            normalize_blocks(x + c * a.spatial, y + c * a.spatial, a.batch, a.spatial, plane, m.mean, m.invstd,
                             scale != nullptr ? static_cast<double>(scale[c]) : 1.0,
                             bias != nullptr ? static_cast<double>(bias[c]) : 0.0);
            mean_out[c] = static_cast<T>(m.mean);
            invstd_out[c] = static_cast<T>(m.invstd);
            if (a.has_running) {
                T& running_mean = static_cast<T*>(a.running_mean.data)[c];
                T& running_var = static_cast<T*>(a.running_var.data)[c];
                running_mean = static_cast<T>(a.momentum * running_mean + (1.0 - a.momentum) * m.mean);
                running_var = static_cast<T>(a.momentum * running_var + (1.0 - a.momentum) * variance);
            }
        }
    });
}

template <class T>
void batch_norm_inference_typed(const NormArgs& a) {
    const int64_t plane = a.channels * a.spatial;
    const T* x = static_cast<const T*>(a.x.data);
    T* y = static_cast<T*>(a.y.data);
    const T* scale = data_of<T>(a.scale, a.has_scale);
    const T* bias = data_of<T>(a.bias, a.has_bias);
    const T* running_mean = static_cast<const T*>(a.running_mean.data);
    const T* running_var = static_cast<const T*>(a.running_var.data);
    cpu::parallel_for(a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + a.epsilon);
            normalize_blocks(x + c * a.spatial, y + c * a.spatial, a.batch, a.spatial, plane,
                             static_cast<double>(running_mean[c]), invstd,
                             scale != nullptr ? static_cast<double>(scale[c]) : 1.0,
                             bias != nullptr ? static_cast<double>(bias[c]) : 0.0);
        }
    });
}

template <class T>
void batch_norm_backward_typed(const NormArgs& a) {
    const int64_t plane = a.channels * a.spatial;
    const double count = static_cast<double>(a.batch * a.spatial);
    const T* x = static_cast<const T*>(a.x.data);
    const T* dy = static_cast<const T*>(a.dy.data);
    T* dx = static_cast<T*>(a.dx.data);
    const T* scale = data_of<T>(a.scale, a.has_scale);
    const T* mean = static_cast<const T*>(a.mean.data);
    const T* invstd = static_cast<const T*>(a.invstd.data);
    cpu::parallel_for(a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            const double mu = mean[c];
            const double r = invstd[c];
            const double gamma = scale != nullptr ? static_cast<double>(scale[c]) : 1.0;
            double sum_dy = 0.0;
            double sum_dy_xhat = 0.0;
            for (int64_t n = 0; n < a.batch; ++n) {
                const int64_t base = n * plane + c * a.spatial;
                for (int64_t s = 0; s < a.spatial; ++s) {
                    const double g = dy[base + s];
                    sum_dy += g;
                    sum_dy_xhat += g * (static_cast<double>(x[base + s]) - mu) * r;
                }
            }
            if (a.has_dscale) static_cast<T*>(a.dscale.data)[c] = static_cast<T>(sum_dy_xhat);
            if (a.has_dbias) static_cast<T*>(a.dbias.data)[c] = static_cast<T>(sum_dy);
            if (count == 0.0) continue;
            const double mean_g = gamma * sum_dy / count;
            const double mean_g_xhat = gamma * sum_dy_xhat / count;
            for (int64_t n = 0; n < a.batch; ++n) {
                const int64_t base = n * plane + c * a.spatial;
                for (int64_t s = 0; s < a.spatial; ++s) {
                    const double xhat = (static_cast<double>(x[base + s]) - mu) * r;
                    dx[base + s] = static_cast<T>(r * (gamma * dy[base + s] - mean_g - xhat * mean_g_xhat));
                }
            }
        }
    });
}

template <class T>
void group_norm_forward_typed(const NormArgs& a) {
    const int64_t group_channels = a.channels / a.groups;
    const int64_t length = group_channels * a.spatial;
    const T* x = static_cast<const T*>(a.x.data);
    T* y = static_cast<T*>(a.y.data);
    const T* scale = data_of<T>(a.scale, a.has_scale);
    const T* bias = data_of<T>(a.bias, a.has_bias);
    T* mean_out = static_cast<T*>(a.mean.data);
    T* invstd_out = static_cast<T*>(a.invstd.data);
    cpu::parallel_for(a.batch * a.groups, 1, [&](int64_t begin, int64_t end) {
        for (int64_t set = begin; set < end; ++set) {
            double variance = 0.0;
            const Moments m = moments(x + set * length, 1, length, 0, a.epsilon, &variance);
            mean_out[set] = static_cast<T>(m.mean);
            invstd_out[set] = static_cast<T>(m.invstd);
            for (int64_t k = 0; k < group_channels; ++k) {
                const int64_t c = set % a.groups * group_channels + k;
                const int64_t offset = set * length + k * a.spatial;
                normalize_blocks(x + offset, y + offset, 1, a.spatial, 0, m.mean, m.invstd,
                                 scale != nullptr ? static_cast<double>(scale[c]) : 1.0,
                                 bias != nullptr ? static_cast<double>(bias[c]) : 0.0);
            }
        }
    });
}

template <class T>
void group_norm_backward_typed(const NormArgs& a) {
    const int64_t group_channels = a.channels / a.groups;
    const int64_t length = group_channels * a.spatial;
    const T* x = static_cast<const T*>(a.x.data);
    const T* dy = static_cast<const T*>(a.dy.data);
    T* dx = static_cast<T*>(a.dx.data);
    const T* scale = data_of<T>(a.scale, a.has_scale);
    const T* mean = static_cast<const T*>(a.mean.data);
    const T* invstd = static_cast<const T*>(a.invstd.data);
    auto gamma_of = [&](int64_t c) { return scale != nullptr ? static_cast<double>(scale[c]) : 1.0; };
    // dx, one (image, group) set per task.
    cpu::parallel_for(a.batch * a.groups, 1, [&](int64_t begin, int64_t end) {
        for (int64_t set = begin; set < end; ++set) {
            const double mu = mean[set];
            const double r = invstd[set];
            const int64_t first_channel = set % a.groups * group_channels;
            const T* xs = x + set * length;
            const T* dys = dy + set * length;
            double sum_g = 0.0;
            double sum_g_xhat = 0.0;
            for (int64_t k = 0; k < group_channels; ++k) {
                const double gamma = gamma_of(first_channel + k);
                for (int64_t s = k * a.spatial; s < (k + 1) * a.spatial; ++s) {
                    const double g = gamma * static_cast<double>(dys[s]);
                    sum_g += g;
                    sum_g_xhat += g * (static_cast<double>(xs[s]) - mu) * r;
                }
            }
            const double mean_g = sum_g / static_cast<double>(length);
            const double mean_g_xhat = sum_g_xhat / static_cast<double>(length);
            T* dxs = dx + set * length;
            for (int64_t k = 0; k < group_channels; ++k) {
                const double gamma = gamma_of(first_channel + k);
                for (int64_t s = k * a.spatial; s < (k + 1) * a.spatial; ++s) {
                    const double xhat = (static_cast<double>(xs[s]) - mu) * r;
                    dxs[s] = static_cast<T>(r * (gamma * static_cast<double>(dys[s]) - mean_g - xhat * mean_g_xhat));
                }
            }
        }
    });
    if (!a.has_dscale && !a.has_dbias) return;
    // dscale, dbias: one channel per task, summed over images in order.
    cpu::parallel_for(a.channels, 16, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            const int64_t group = c / group_channels;
            double sum_dy = 0.0;
            double sum_dy_xhat = 0.0;
            for (int64_t n = 0; n < a.batch; ++n) {
                const int64_t set = n * a.groups + group;
                const double mu = mean[set];
                const double r = invstd[set];
                const int64_t base = (n * a.channels + c) * a.spatial;
                for (int64_t s = 0; s < a.spatial; ++s) {
                    const double g = dy[base + s];
                    sum_dy += g;
                    sum_dy_xhat += g * (static_cast<double>(x[base + s]) - mu) * r;
                }
            }
            if (a.has_dscale) static_cast<T*>(a.dscale.data)[c] = static_cast<T>(sum_dy_xhat);
            if (a.has_dbias) static_cast<T*>(a.dbias.data)[c] = static_cast<T>(sum_dy);
        }
    });
}

template <class Fn>
void dispatch(const TensorView& view, Fn&& fn) {
    if (view.dtype == MLN_DTYPE_F64) {
        fn(static_cast<double*>(nullptr));
    } else {
        fn(static_cast<float*>(nullptr));
    }
}

}  // namespace

void batch_norm_training(const NormArgs& args) {
    dispatch(args.x, [&](auto* tag) { batch_norm_training_typed<std::remove_pointer_t<decltype(tag)>>(args); });
}
void batch_norm_inference(const NormArgs& args) {
    dispatch(args.x, [&](auto* tag) { batch_norm_inference_typed<std::remove_pointer_t<decltype(tag)>>(args); });
}
void batch_norm_backward(const NormArgs& args) {
    dispatch(args.x, [&](auto* tag) { batch_norm_backward_typed<std::remove_pointer_t<decltype(tag)>>(args); });
}
void group_norm_forward(const NormArgs& args) {
    dispatch(args.x, [&](auto* tag) { group_norm_forward_typed<std::remove_pointer_t<decltype(tag)>>(args); });
}
void group_norm_backward(const NormArgs& args) {
    dispatch(args.x, [&](auto* tag) { group_norm_backward_typed<std::remove_pointer_t<decltype(tag)>>(args); });
}

}  // namespace mln::kernels
