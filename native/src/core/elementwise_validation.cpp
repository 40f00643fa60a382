#include "core/elementwise_validation.hpp"

#include <algorithm>
#include <cmath>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/kernel_validation.hpp"
#include "core/names.hpp"
#include "core/raw_enum.hpp"
#include "core/shape.hpp"
#include "core/text.hpp"
#include "core/validation.hpp"

namespace mln {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(MLN_STATUS_INVALID_ARGUMENT, message); }

bool is_float_dtype(mln_dtype dtype) { return dtype == MLN_DTYPE_F32 || dtype == MLN_DTYPE_F64; }

void require_float(const char* name, const TensorView& view) {
    if (!is_float_dtype(view.dtype)) {
        throw Error(MLN_STATUS_NOT_SUPPORTED, cat(name, " is ", dtype_name(view.dtype), " but only f32 and f64 are supported"));
    }
}

// `other` must match `first` in dtype and shape.
void require_like(const char* first_name, const TensorView& first, const char* name, const TensorView& other) {
    require_same_dtype(first_name, first, name, other);
    require_same_shape(first_name, first, name, other);
}

TensorView shape_view(const Shape& shape) {
    TensorView view;
    view.rank = shape.rank;
    std::copy(shape.dims, shape.dims + shape.rank, view.shape);
    return view;
}

}  // namespace

void validate_unary_params(mln_unary_op op, double alpha, double /*beta*/) {
    if (op == MLN_UNARY_OP_CELU && alpha == 0.0) invalid("alpha is 0 but celu divides by alpha");
}

UnaryBackwardArgs validate_unary_backward(const mln_device& device, mln_unary_op op, double alpha, double beta,
                                          const mln_tensor_desc* x, const mln_tensor_desc* y,
                                          const mln_tensor_desc* dy, const mln_tensor_desc* dx) {
    validate_unary_params(op, alpha, beta);
    UnaryBackwardArgs args;
    args.op = op;
    args.alpha = alpha;
    args.beta = beta;
    args.dy = validate_tensor("dy", dy, Access::read);
    args.dx = validate_tensor("dx", dx, Access::write);
    require_like("dx", args.dx, "dy", args.dy);
    if (x == nullptr && y == nullptr) invalid("x and y are both null; the derivative needs one of them");
    if (x != nullptr) {
        args.x = validate_tensor("x", x, Access::read);
        args.has_x = true;
        require_like("dx", args.dx, "x", args.x);
    }
    if (y != nullptr) {
        args.y = validate_tensor("y", y, Access::read);
        args.has_y = true;
        require_like("dx", args.dx, "y", args.y);
    }
    require_float("dx", args.dx);
    require_supported(device, MLN_KERNEL_UNARY, args.dx.dtype);
    return args;
}

WhereArgs validate_where(const mln_device& device, const mln_tensor_desc* cond, const mln_tensor_desc* a,
                         const mln_tensor_desc* b, const mln_tensor_desc* y) {
    const TensorView vc = validate_tensor("cond", cond, Access::read);
    const TensorView va = validate_tensor("a", a, Access::read);
    const TensorView vb = validate_tensor("b", b, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    if (vc.dtype != MLN_DTYPE_BOOL) invalid(cat("cond is ", dtype_name(vc.dtype), " but must be bool"));
    if (va.dtype != vy.dtype || vb.dtype != vy.dtype) {
        invalid(cat("dtypes differ: a is ", dtype_name(va.dtype), ", b is ", dtype_name(vb.dtype), ", y is ",
                    dtype_name(vy.dtype)));
    }
    const Shape ab = broadcast_shapes("a", va, "b", vb);
    const Shape shape = broadcast_shapes("cond", vc, "a and b", shape_view(ab));
    if (shape.rank != vy.rank || !std::equal(shape.dims, shape.dims + shape.rank, vy.shape)) {
        invalid(cat("y is ", shape_to_string(vy), " but cond (", shape_to_string(vc), "), a (", shape_to_string(va),
                    ") and b (", shape_to_string(vb), ") broadcast to ", shape_to_string(shape.rank, shape.dims)));
    }
    require_supported(device, MLN_KERNEL_WHERE, vy.dtype);
    return WhereArgs{broadcast_view(vc, vy.rank, vy.shape), broadcast_view(va, vy.rank, vy.shape),
                     broadcast_view(vb, vy.rank, vy.shape), vy};
}

SoftmaxArgs validate_softmax(const mln_device& device, int32_t op, int32_t axis, const mln_tensor_desc* input,
                             const char* input_name, const mln_tensor_desc* grad, const mln_tensor_desc* output,
                             const char* output_name, bool backward) {
    if (op != MLN_SOFTMAX_OP_SOFTMAX && op != MLN_SOFTMAX_OP_LOG_SOFTMAX) {
        invalid(cat("op ", op, " is not a valid mln_softmax_op"));
    }
    SoftmaxArgs args;
    args.op = static_cast<mln_softmax_op>(op);
    args.input = validate_tensor(input_name, input, Access::read);
    args.output = validate_tensor(output_name, output, Access::write);
    require_like(input_name, args.input, output_name, args.output);
    if (backward) {
        args.grad = validate_tensor("dy", grad, Access::read);
        require_like(input_name, args.input, "dy", args.grad);
    }
    const int32_t rank = args.input.rank;
    if (rank == 0) invalid(cat(input_name, " is a scalar but softmax needs an axis"));
    if (axis < -rank || axis >= rank) {
        invalid(cat("axis is ", axis, " but ", input_name, " has rank ", rank, " (valid axes are ", -rank, "..", rank - 1,
                    ")"));
    }
    args.axis = axis < 0 ? axis + rank : axis;
    require_float(input_name, args.input);
    require_supported(device, MLN_KERNEL_SOFTMAX, args.input.dtype);
    return args;
}

OptimizerArgs validate_optimizer_step(const mln_device& device, const mln_optimizer_params* params,
                                      const mln_tensor_desc* param, const mln_tensor_desc* grad,
                                      const mln_tensor_desc* state0, const mln_tensor_desc* state1) {
    OptimizerArgs args;
    args.params = require_not_null(params, "params");
    const mln_optimizer_params& p = args.params;
    const int32_t kind = raw_enum(p.kind);
    if (kind < MLN_OPTIMIZER_KIND_SGD || kind > MLN_OPTIMIZER_KIND_ADAMW) {
        invalid(cat("params->kind ", kind, " is not a valid mln_optimizer_kind"));
    }
    if (p.step < 1) invalid(cat("params->step is ", p.step, " but must be >= 1 (1 on the first update)"));
    const auto require_finite_nonnegative = [](const char* name, double value) {
        if (!(value >= 0.0) || std::isinf(value)) invalid(cat("params->", name, " is ", value, " but must be finite and >= 0"));
    };
    require_finite_nonnegative("lr", p.lr);
    require_finite_nonnegative("weight_decay", p.weight_decay);
    require_finite_nonnegative("eps", p.eps);
    const auto require_unit = [](const char* name, double value) {
        if (!(value >= 0.0 && value < 1.0)) invalid(cat("params->", name, " is ", value, " but must be in [0, 1)"));
    };
    bool uses_state0 = false;
    bool uses_state1 = false;
    switch (static_cast<mln_optimizer_kind>(kind)) {
        case MLN_OPTIMIZER_KIND_SGD:
            break;
        case MLN_OPTIMIZER_KIND_MOMENTUM:
        case MLN_OPTIMIZER_KIND_NESTEROV:
            require_finite_nonnegative("momentum", p.momentum);
            if (!(p.dampening >= 0.0 && p.dampening <= 1.0)) {
                invalid(cat("params->dampening is ", p.dampening, " but must be in [0, 1]"));
            }
            if (kind == MLN_OPTIMIZER_KIND_NESTEROV && (p.momentum <= 0.0 || p.dampening != 0.0)) {
                invalid(cat("nesterov needs momentum > 0 and dampening 0 (momentum is ", p.momentum, ", dampening is ",
                            p.dampening, ")"));
            }
            uses_state0 = true;
            break;
        case MLN_OPTIMIZER_KIND_RMSPROP:
            require_unit("alpha", p.alpha);
            if (p.momentum != 0.0) {
                throw Error(MLN_STATUS_NOT_SUPPORTED,
                            cat("params->momentum is ", p.momentum, " but rmsprop with momentum is not supported (use 0)"));
            }
            uses_state0 = true;
            uses_state1 = p.centered != 0;
            break;
        case MLN_OPTIMIZER_KIND_ADAGRAD:
            uses_state0 = true;
            break;
        case MLN_OPTIMIZER_KIND_ADAM:
        case MLN_OPTIMIZER_KIND_ADAMW:
            require_unit("beta1", p.beta1);
            require_unit("beta2", p.beta2);
            uses_state0 = true;
            uses_state1 = true;
            break;
    }
    args.param = validate_tensor("param", param, Access::write);
    args.grad = validate_tensor("grad", grad, Access::read);
    require_like("param", args.param, "grad", args.grad);
    const auto state = [&](const char* name, const mln_tensor_desc* desc, bool used, TensorView& view) {
        if (used && desc == nullptr) invalid(cat(name, " is null but this optimizer keeps a state there"));
        if (!used && desc != nullptr) invalid(cat(name, " is given but this optimizer has no such state (pass NULL)"));
        if (!used) return;
        view = validate_tensor(name, desc, Access::write);
        require_like("param", args.param, name, view);
    };
    state("state0", state0, uses_state0, args.state0);
    state("state1", state1, uses_state1, args.state1);
    require_float("param", args.param);
    require_supported(device, MLN_KERNEL_OPTIMIZER, args.param.dtype);
    return args;
}

DropoutArgs validate_dropout(const mln_device& device, double p, uint64_t seed, uint64_t offset,
                             const mln_tensor_desc* x, const mln_tensor_desc* y, const mln_tensor_desc* mask) {
    DropoutArgs args;
    if (!(p >= 0.0 && p < 1.0)) invalid(cat("p is ", p, " but must be in [0, 1)"));
    args.p = p;
    args.seed = seed;
    args.offset = offset;
    args.x = validate_tensor("x", x, Access::read);
    args.y = validate_tensor("y", y, Access::write);
    require_like("x", args.x, "y", args.y);
    if (mask != nullptr) {
        args.mask = validate_tensor("mask", mask, Access::write);
        args.has_mask = true;
        if (args.mask.dtype != MLN_DTYPE_BOOL) invalid(cat("mask is ", dtype_name(args.mask.dtype), " but must be bool"));
        require_same_shape("x", args.x, "mask", args.mask);
    }
    require_float("x", args.x);
    require_supported(device, MLN_KERNEL_DROPOUT, args.x.dtype);
    return args;
}

}  // namespace mln
