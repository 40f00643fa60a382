// Fused optimizer updates: one pass over param, grad and the states per step, on the shared
// strided loop (param is the loop's output). The update rules are written once per kind as
// an op struct over one element, with PyTorch's semantics (see mln_optimizer_kind).
#include <cmath>
#include <cstdint>

#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

namespace mln::kernels {
namespace {

// Scalars of one step in the element type, bias corrections folded in once per call.
template <class T>
struct StepScalars {
    T lr, momentum, dampening, weight_decay, alpha, beta1, beta2, eps;
    T adam_step_size;       // lr / (1 - beta1^step)
    T adam_inv_sqrt_bias2;  // 1 / sqrt(1 - beta2^step)
    T decoupled_decay;      // 1 - lr * weight_decay (AdamW)
    bool first_step;
    bool centered;
};

template <class T>
StepScalars<T> step_scalars(const mln_optimizer_params& p) {
    const double bias1 = 1.0 - std::pow(p.beta1, static_cast<double>(p.step));
    const double bias2 = 1.0 - std::pow(p.beta2, static_cast<double>(p.step));
    return StepScalars<T>{T(p.lr), T(p.momentum), T(p.dampening), T(p.weight_decay), T(p.alpha), T(p.beta1),
                          T(p.beta2), T(p.eps), T(p.lr / bias1), T(1.0 / std::sqrt(bias2)),
                          T(1.0 - p.lr * p.weight_decay), p.step == 1, p.centered != 0};
}

template <class T>
T l2(const StepScalars<T>& s, T param, T grad) {
    return s.weight_decay != T(0) ? grad + s.weight_decay * param : grad;
}

struct SgdUpdate {
    template <class T>
    static void apply(const StepScalars<T>& s, T& param, T grad, T&, T&) { param -= s.lr * l2(s, param, grad); }
};

template <bool kNesterov>
struct MomentumUpdate {
    template <class T>
    static void apply(const StepScalars<T>& s, T& param, T grad, T& buf, T&) {
        const T g = l2(s, param, grad);
        buf = s.first_step ? g : s.momentum * buf + (T(1) - s.dampening) * g;
        param -= s.lr * (kNesterov ? g + s.momentum * buf : buf);
    }
};

struct RmspropUpdate {
    template <class T>
    static void apply(const StepScalars<T>& s, T& param, T grad, T& square_avg, T& grad_avg) {
        const T g = l2(s, param, grad);
        square_avg = s.alpha * square_avg + (T(1) - s.alpha) * g * g;
        T avg = square_avg;
        if (s.centered) {
            grad_avg = s.alpha * grad_avg + (T(1) - s.alpha) * g;
            avg = square_avg - grad_avg * grad_avg;
        }
        param -= s.lr * g / (std::sqrt(avg) + s.eps);
    }
};

struct AdagradUpdate {
    template <class T>
    static void apply(const StepScalars<T>& s, T& param, T grad, T& sum, T&) {
        const T g = l2(s, param, grad);
        sum += g * g;
        param -= s.lr * g / (std::sqrt(sum) + s.eps);
    }
};

template <bool kDecoupled>
struct AdamUpdate {
    template <class T>
    static void apply(const StepScalars<T>& s, T& param, T grad, T& m, T& v) {
        T g = grad;
        if constexpr (kDecoupled) {
            param *= s.decoupled_decay;
        } else {
            g = l2(s, param, grad);
        }
        m = s.beta1 * m + (T(1) - s.beta1) * g;
        v = s.beta2 * v + (T(1) - s.beta2) * g * g;
        param -= s.adam_step_size * m / (std::sqrt(v) * s.adam_inv_sqrt_bias2 + s.eps);
    }
};

template <class Update, class T>
void run_update(const OptimizerArgs& args, bool has_state0, bool has_state1) {
    const StepScalars<T> scalars = step_scalars<T>(args.params);
    // Unused states ride along as param's view and are never touched.
    const TensorView& state0 = has_state0 ? args.state0 : args.param;
    const TensorView& state1 = has_state1 ? args.state1 : args.param;
    const auto loop = make_strided_loop<4>({&args.param, &args.grad, &state0, &state1});
    run_strided_loop(loop, kElementwiseGrain / 4, [&](char* const* p, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
            T& param = *reinterpret_cast<T*>(p[0] + i * s[0]);
            const T grad = *reinterpret_cast<const T*>(p[1] + i * s[1]);
            T unused0 = T(0);
            T unused1 = T(0);
            T& s0 = has_state0 ? *reinterpret_cast<T*>(p[2] + i * s[2]) : unused0;
            T& s1 = has_state1 ? *reinterpret_cast<T*>(p[3] + i * s[3]) : unused1;
            Update::apply(scalars, param, grad, s0, s1);
        }
    });
}

template <class T>
void optimizer_step_typed(const OptimizerArgs& args) {
    const bool centered = args.params.centered != 0;
    switch (args.params.kind) {
        case MLN_OPTIMIZER_KIND_SGD: return run_update<SgdUpdate, T>(args, false, false);
        case MLN_OPTIMIZER_KIND_MOMENTUM: return run_update<MomentumUpdate<false>, T>(args, true, false);
        case MLN_OPTIMIZER_KIND_NESTEROV: return run_update<MomentumUpdate<true>, T>(args, true, false);
        case MLN_OPTIMIZER_KIND_RMSPROP: return run_update<RmspropUpdate, T>(args, true, centered);
        case MLN_OPTIMIZER_KIND_ADAGRAD: return run_update<AdagradUpdate, T>(args, true, false);
        case MLN_OPTIMIZER_KIND_ADAM: return run_update<AdamUpdate<false>, T>(args, true, true);
        case MLN_OPTIMIZER_KIND_ADAMW: return run_update<AdamUpdate<true>, T>(args, true, true);
    }
    throw Error(MLN_STATUS_INTERNAL, cat("unexpected optimizer kind ", static_cast<int>(args.params.kind)));
}

}  // namespace

void optimizer_step(const OptimizerArgs& args) {
    if (args.param.dtype == MLN_DTYPE_F32) return optimizer_step_typed<float>(args);
    if (args.param.dtype == MLN_DTYPE_F64) return optimizer_step_typed<double>(args);
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("optimizer steps are not supported for dtype ", dtype_name(args.param.dtype)));
}

}  // namespace mln::kernels
