#include "core/kernel_validation.hpp"

#include <algorithm>
#include <utility>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/names.hpp"
#include "core/shape.hpp"
#include "core/text.hpp"
#include "core/validation.hpp"

namespace mln {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(MLN_STATUS_INVALID_ARGUMENT, message); }

// Rank-2 view with its two dimensions swapped (a transpose costs nothing).
}  // namespace

void require_supported(const mln_device& device, mln_kernel kernel, mln_dtype dtype) {
    if (!device.ops->supports(kernel, dtype)) {
        throw Error(MLN_STATUS_NOT_SUPPORTED, cat(kernel_name(kernel), " is not supported for dtype ", dtype_name(dtype),
                                                  " on ", device.name));
    }
}

TensorView validate_fill(const mln_device& device, const mln_tensor_desc* y) {
    TensorView view = validate_tensor("y", y, Access::write);
    require_supported(device, MLN_KERNEL_FILL, view.dtype);
    return view;
}

UnaryViews validate_copy(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* y) {
    UnaryViews views{validate_tensor("x", x, Access::read), validate_tensor("y", y, Access::write)};
    if (views.x.dtype != views.y.dtype) {
        invalid(cat("dtypes differ: x is ", dtype_name(views.x.dtype), " but y is ", dtype_name(views.y.dtype),
                    " (mln_cast converts)"));
    }
    require_same_shape("x", views.x, "y", views.y);
    require_supported(device, MLN_KERNEL_COPY, views.y.dtype);
    return views;
}

UnaryViews validate_cast(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* y) {
    UnaryViews views{validate_tensor("x", x, Access::read), validate_tensor("y", y, Access::write)};
    require_same_shape("x", views.x, "y", views.y);
    require_supported(device, MLN_KERNEL_CAST, views.x.dtype);
    require_supported(device, MLN_KERNEL_CAST, views.y.dtype);
    return views;
}

UnaryViews validate_unary(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* y) {
    UnaryViews views{validate_tensor("x", x, Access::read), validate_tensor("y", y, Access::write)};
    require_same_dtype("x", views.x, "y", views.y);
    require_same_shape("x", views.x, "y", views.y);
    require_supported(device, MLN_KERNEL_UNARY, views.y.dtype);
    return views;
}

BinaryViews validate_binary(const mln_device& device, mln_binary_op op, const mln_tensor_desc* a,
                            const mln_tensor_desc* b, const mln_tensor_desc* y) {
    const TensorView va = validate_tensor("a", a, Access::read);
    const TensorView vb = validate_tensor("b", b, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    const bool gives_bool = binary_op_gives_bool(op);
    if (va.dtype != vb.dtype || (!gives_bool && va.dtype != vy.dtype)) {
        invalid(cat("dtypes differ: a is ", dtype_name(va.dtype), ", b is ", dtype_name(vb.dtype), ", y is ",
                    dtype_name(vy.dtype)));
    }
    if (gives_bool && vy.dtype != MLN_DTYPE_BOOL) {
        invalid(cat("y is ", dtype_name(vy.dtype), " but ", binary_op_name(op), " gives bool"));
    }
    const Shape shape = broadcast_shapes("a", va, "b", vb);
    if (shape.rank != vy.rank || !std::equal(shape.dims, shape.dims + shape.rank, vy.shape)) {
        invalid(cat("y is ", shape_to_string(vy), " but a (", shape_to_string(va), ") and b (", shape_to_string(vb),
                    ") broadcast to ", shape_to_string(shape.rank, shape.dims)));
    }
    require_supported(device, MLN_KERNEL_BINARY, va.dtype);
    return BinaryViews{broadcast_view(va, vy.rank, vy.shape), broadcast_view(vb, vy.rank, vy.shape), vy};
}

ReduceArgs validate_reduce(const mln_device& device, mln_reduce_op op, const mln_tensor_desc* x, const int32_t* axes,
                           int32_t axis_count, int32_t keepdims, const mln_tensor_desc* y) {
    ReduceArgs args;
    args.op = op;
    args.x = validate_tensor("x", x, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    require_same_dtype("x", args.x, "y", vy);
    const int32_t rank = args.x.rank;

    if (axis_count < 0) invalid(cat("axis_count is ", axis_count, " but must be >= 0"));
    if (axis_count > 0 && axes == nullptr) invalid(cat("axes is null but axis_count is ", axis_count));
    if (axis_count == 0) args.reduced_axes = (1u << rank) - 1u;  // all axes (none for a scalar)
    for (int32_t i = 0; i < axis_count; ++i) {
        const int32_t axis = axes[i];
        if (axis < -rank || axis >= rank) {
            invalid(cat("axes[", i, "] is ", axis, " but x has rank ", rank, " (valid axes are ", -rank, "..",
                        rank - 1, ")"));
        }
        const int32_t normalized = axis < 0 ? axis + rank : axis;
        if (((args.reduced_axes >> normalized) & 1u) != 0) {
            invalid(cat("axes[", i, "] is ", axis, ", which repeats axis ", normalized));
        }
        args.reduced_axes |= 1u << normalized;
    }

    // The shape y must have, and y's strides seen with x's rank.
    int64_t expected[MLN_MAX_RANK] = {};
    int32_t expected_rank = 0;
    for (int32_t d = 0; d < rank; ++d) {
        const bool reduced = ((args.reduced_axes >> d) & 1u) != 0;
        if (reduced && keepdims == 0) continue;
        expected[expected_rank++] = reduced ? 1 : args.x.shape[d];
    }
    if (vy.rank != expected_rank || !std::equal(expected, expected + expected_rank, vy.shape)) {
        invalid(cat("y is ", shape_to_string(vy), " but reducing x (", shape_to_string(args.x), ") with keepdims=",
                    keepdims != 0 ? 1 : 0, " gives ", shape_to_string(expected_rank, expected)));
    }
    args.y = vy;
    args.y.rank = rank;
    for (int32_t d = 0, yd = 0; d < rank; ++d) {
        const bool reduced = ((args.reduced_axes >> d) & 1u) != 0;
        args.y.shape[d] = reduced ? 1 : args.x.shape[d];
        args.y.strides[d] = reduced ? 0 : vy.strides[yd];
        if (!reduced || keepdims != 0) ++yd;
    }

    if ((op == MLN_REDUCE_OP_MAX || op == MLN_REDUCE_OP_MIN) && vy.element_count > 0) {
        for (int32_t d = 0; d < rank; ++d) {
            if (((args.reduced_axes >> d) & 1u) != 0 && args.x.shape[d] == 0) {
                invalid(cat(reduce_op_name(op), " of an empty set: x is ", shape_to_string(args.x), " and axis ", d,
                            " has size 0"));
            }
        }
    }
    require_supported(device, MLN_KERNEL_REDUCE, args.x.dtype);
    return args;
}

// Whether the byte ranges two rank-2 views span intersect (conservative: gaps count as spanned).
static bool gemm_views_overlap(const TensorView& x, const TensorView& y) {
    if (x.element_count == 0 || y.element_count == 0) return false;
    auto span = [](const TensorView& v, uintptr_t& low, uintptr_t& high) {
        int64_t lowest = 0;
        int64_t highest = 0;
        for (int32_t d = 0; d < v.rank; ++d) {
            const int64_t reach = (v.shape[d] - 1) * v.strides[d];
            (reach < 0 ? lowest : highest) += reach;
        }
        const auto size = static_cast<int64_t>(dtype_size(v.dtype));
        low = reinterpret_cast<uintptr_t>(v.data) + static_cast<uintptr_t>(lowest * size);
        high = reinterpret_cast<uintptr_t>(v.data) + static_cast<uintptr_t>((highest + 1) * size);
    };
    uintptr_t x_low = 0, x_high = 0, y_low = 0, y_high = 0;
    span(x, x_low, x_high);
    span(y, y_low, y_high);
    return x_low < y_high && y_low < x_high;
}

// Sets `matrix` to the matrix made of the last two dimensions of `view` (swapped when
// `transpose`). Written in place, field by field: a matrix built in a temporary (a copy of
// `view` with its 4-byte rank overwritten) was copied out with 16-byte loads spanning that store,
// which store forwarding cannot serve; each such load waited some 20 cycles on Zen 5, three or
// four times a call.
static void set_gemm_matrix(TensorView& matrix, const TensorView& view, bool transpose) {
    matrix.data = view.data;
    matrix.dtype = view.dtype;
    matrix.rank = 2;
    for (int32_t d = 0; d < MLN_MAX_RANK; ++d) {
        const int32_t source = view.rank - 2 + (transpose ? 1 - d : d);
        matrix.shape[d] = d < 2 ? view.shape[source] : 0;
        matrix.strides[d] = d < 2 ? view.strides[source] : 0;
    }
    matrix.element_count = matrix.shape[0] * matrix.shape[1];
}

GemmArgs validate_gemm(const mln_device& device, const mln_tensor_desc* a, int32_t transpose_a,
                       const mln_tensor_desc* b, int32_t transpose_b, const mln_tensor_desc* c, double alpha,
                       double beta, const mln_tensor_desc* bias, mln_unary_op activation,
                       const mln_tensor_desc* residual) {
    GemmArgs args;
    const TensorView va = validate_tensor("a", a, Access::read);
    const TensorView vb = validate_tensor("b", b, Access::read);
    const TensorView vc = validate_tensor("c", c, Access::write);
    for (const auto& [name, view] : {std::pair{"a", &va}, std::pair{"b", &vb}, std::pair{"c", &vc}}) {
        if (view->rank < 2) invalid(cat(name, " has rank ", view->rank, " but gemm needs rank >= 2"));
    }
    if (va.dtype != vb.dtype || va.dtype != vc.dtype) {
        invalid(cat("dtypes differ: a is ", dtype_name(va.dtype), ", b is ", dtype_name(vb.dtype), ", c is ",
                    dtype_name(vc.dtype)));
    }
    set_gemm_matrix(args.a, va, transpose_a != 0);
    set_gemm_matrix(args.b, vb, transpose_b != 0);
    set_gemm_matrix(args.c, vc, false);
    args.m = args.a.shape[0];
    args.k = args.a.shape[1];
    args.n = args.b.shape[1];
    if (args.b.shape[0] != args.k) {
        invalid(cat("k mismatch: op(a) is ", shape_to_string(args.a), " but op(b) is ", shape_to_string(args.b),
                    " (transpose_a=", transpose_a != 0 ? 1 : 0, ", transpose_b=", transpose_b != 0 ? 1 : 0, ")"));
    }
    if (args.c.shape[0] != args.m || args.c.shape[1] != args.n) {
        invalid(cat("c is ", shape_to_string(vc), " but op(a) is ", shape_to_string(args.a), " and op(b) is ",
                    shape_to_string(args.b), ", so c must be ", args.m, "x", args.n));
    }
    // Batch dimensions (all but the last two): c's must be the NumPy broadcast of a's and b's.
    args.batch_rank = vc.rank - 2;
    int64_t expected[MLN_MAX_RANK];
    for (int64_t& dim : expected) dim = 1;
    const int32_t operand_rank = std::max(va.rank, vb.rank) - 2;
    for (const TensorView* view : {&va, &vb}) {
        const int32_t offset = operand_rank - (view->rank - 2);
        for (int32_t d = 0; d < view->rank - 2; ++d) {
            int64_t& dim = expected[offset + d];
            if (dim != 1 && view->shape[d] != 1 && view->shape[d] != dim) {
                invalid(cat("batch dimensions of a (", shape_to_string(va), ") and b (", shape_to_string(vb),
                            ") do not broadcast"));
            }
            if (view->shape[d] != 1) dim = view->shape[d];
        }
    }
    bool batch_matches = operand_rank == args.batch_rank;
    for (int32_t d = 0; batch_matches && d < args.batch_rank; ++d) batch_matches = expected[d] == vc.shape[d];
    if (!batch_matches) {
        invalid(cat("c is ", shape_to_string(vc), " but its batch dimensions must be the broadcast of a's (",
                    shape_to_string(va), ") and b's (", shape_to_string(vb), ")"));
    }
    // Each operand's stride per batch dimension of c; 0 where it broadcasts.
    auto batch_strides = [&](const TensorView& view, int64_t* strides) {
        const TensorView stretched = broadcast_view(view, vc.rank, vc.shape);
        for (int32_t d = 0; d < args.batch_rank; ++d) strides[d] = stretched.strides[d];
    };
    if (args.batch_rank > 0) {
        for (int32_t d = 0; d < args.batch_rank; ++d) args.batch_shape[d] = vc.shape[d];
        batch_strides(va, args.a_batch_strides);
        batch_strides(vb, args.b_batch_strides);
        batch_strides(vc, args.c_batch_strides);
    }
    if (bias != nullptr) {
        args.bias = validate_tensor("bias", bias, Access::read);
        args.has_bias = true;
        if (args.bias.rank != 1 || args.bias.shape[0] != args.n) {
            invalid(cat("bias is ", shape_to_string(args.bias), " but must be a vector of length n = ", args.n));
        }
        require_same_dtype("bias", args.bias, "c", vc);
    }
    args.alpha = alpha;
    args.beta = beta;
    if (residual != nullptr) {
        const TensorView vr = validate_tensor("residual", residual, Access::read);
        require_same_dtype("residual", vr, "c", vc);
        bool broadcasts = vr.rank <= vc.rank;
        for (int32_t d = 0; broadcasts && d < vr.rank; ++d) {
            const int64_t dim = vr.shape[d];
            broadcasts = dim == 1 || dim == vc.shape[vc.rank - vr.rank + d];
        }
        if (!broadcasts) {
            invalid(cat("residual is ", shape_to_string(vr), " but must broadcast to c's shape ", shape_to_string(vc)));
        }
        const TensorView stretched = broadcast_view(vr, vc.rank, vc.shape);
        bool same_view = stretched.data == vc.data;
        for (int32_t d = 0; same_view && d < vc.rank; ++d) same_view = stretched.strides[d] == vc.strides[d];
        if (same_view) {
            args.beta += 1.0;  // residual is c itself: adding c's old value is beta + 1
        } else if (gemm_views_overlap(stretched, vc)) {
            invalid(cat("residual (", shape_to_string(vr), ") overlaps c (", shape_to_string(vc),
                        ") without being the same view"));
        } else {
            set_gemm_matrix(args.residual, stretched, false);
            args.has_residual = true;
            for (int32_t d = 0; d < args.batch_rank; ++d) args.residual_batch_strides[d] = stretched.strides[d];
        }
    }
    args.activation = activation;
    require_supported(device, MLN_KERNEL_GEMM, vc.dtype);
    return args;
}

}  // namespace mln
