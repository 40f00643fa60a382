#include "core/axis_validation.hpp"

#include <algorithm>
#include <string>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/kernel_validation.hpp"
#include "core/names.hpp"
#include "core/nn_validation.hpp"
#include "core/shape.hpp"
#include "core/text.hpp"
#include "core/validation.hpp"

namespace mln {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(MLN_STATUS_INVALID_ARGUMENT, message); }

// Normalizes `axis` against x's rank and splits x's shape around it.
AxisLayout axis_layout(const TensorView& x, int32_t axis) {
    const int32_t rank = x.rank;
    if (rank == 0) invalid("x is a scalar but the call needs an axis");
    if (axis < -rank || axis >= rank) {
        invalid(cat("axis is ", axis, " but x has rank ", rank, " (valid axes are ", -rank, "..", rank - 1, ")"));
    }
    AxisLayout layout;
    layout.axis = axis < 0 ? axis + rank : axis;
    for (int32_t d = 0; d < layout.axis; ++d) layout.outer *= x.shape[d];
    layout.size = x.shape[layout.axis];
    for (int32_t d = layout.axis + 1; d < rank; ++d) layout.inner *= x.shape[d];
    return layout;
}

// Fails unless `view` has x's shape with the layout's axis replaced by `size` (or removed when
// `keep` is false).
void require_axis_shape(const char* name, const TensorView& view, const TensorView& x, const AxisLayout& layout,
                        int64_t size, bool keep, const std::string& why) {
    int64_t expected[MLN_MAX_RANK] = {};
    int32_t rank = 0;
    for (int32_t d = 0; d < x.rank; ++d) {
        if (d != layout.axis) expected[rank++] = x.shape[d];
        else if (keep) expected[rank++] = size;
    }
    if (view.rank != rank || !std::equal(expected, expected + rank, view.shape)) {
        invalid(cat(name, " is ", shape_to_string(view), " but x (", shape_to_string(x), ") ", why, " gives ",
                    shape_to_string(rank, expected)));
    }
}

void require_i64(const char* name, const TensorView& view) {
    if (view.dtype != MLN_DTYPE_I64) invalid(cat(name, " has dtype ", dtype_name(view.dtype), " but must be i64"));
}

// The dtypes of every call here (those of mln_reduce's max and sum).
void require_axis_dtype(const TensorView& x, const char* call) {
    if (x.dtype != MLN_DTYPE_F32 && x.dtype != MLN_DTYPE_F64 && x.dtype != MLN_DTYPE_I32 && x.dtype != MLN_DTYPE_I64) {
        throw Error(MLN_STATUS_NOT_SUPPORTED,
                    cat("x has dtype ", dtype_name(x.dtype), " but ", call, " supports f32, f64, i32 and i64"));
    }
}

}  // namespace

ArgReduceArgs validate_arg_reduce(const mln_device& device, mln_reduce_op op, const mln_tensor_desc* x, int32_t axis,
                                  int32_t keepdims, int32_t select_last_index, const mln_tensor_desc* y) {
    if (op != MLN_REDUCE_OP_MAX && op != MLN_REDUCE_OP_MIN) {
        invalid(cat("op is ", reduce_op_name(op), " but arg_reduce takes MLN_REDUCE_OP_MAX or MLN_REDUCE_OP_MIN"));
    }
    ArgReduceArgs args;
    args.op = op;
    args.select_last_index = select_last_index != 0;
    args.x = validate_tensor("x", x, Access::read);
    args.y = validate_tensor("y", y, Access::write);
    args.layout = axis_layout(args.x, axis);
    require_i64("y", args.y);
    require_axis_shape("y", args.y, args.x, args.layout, 1, keepdims != 0,
                       cat("reduced along axis ", args.layout.axis, " with keepdims=", keepdims != 0 ? 1 : 0));
    if (args.layout.size == 0 && args.y.element_count > 0) {
        invalid(cat("axis ", args.layout.axis, " of x (", shape_to_string(args.x),
                    ") is empty, so there is no position to return"));
    }
    require_contiguous("x", args.x);
    require_contiguous("y", args.y);
    require_axis_dtype(args.x, "arg_reduce");
    require_supported(device, MLN_KERNEL_REDUCE, args.x.dtype);
    return args;
}

TopKArgs validate_top_k(const mln_device& device, const mln_tensor_desc* x, int32_t axis, int64_t k, int32_t largest,
                        const mln_tensor_desc* values, const mln_tensor_desc* indices) {
    TopKArgs args;
    args.largest = largest != 0;
    args.x = validate_tensor("x", x, Access::read);
    args.values = validate_tensor("values", values, Access::write);
    args.indices = validate_tensor("indices", indices, Access::write);
    args.layout = axis_layout(args.x, axis);
    if (k < 0 || k > args.layout.size) {
        invalid(cat("k is ", k, " but axis ", args.layout.axis, " of x (", shape_to_string(args.x), ") has ",
                    args.layout.size, " elements"));
    }
    args.k = k;
    require_same_dtype("x", args.x, "values", args.values);
    require_i64("indices", args.indices);
    const std::string why = cat("with k=", k, " along axis ", args.layout.axis);
    require_axis_shape("values", args.values, args.x, args.layout, k, true, why);
    require_axis_shape("indices", args.indices, args.x, args.layout, k, true, why);
    require_contiguous("x", args.x);
    require_contiguous("values", args.values);
    require_contiguous("indices", args.indices);
    require_axis_dtype(args.x, "top_k");
    require_supported(device, MLN_KERNEL_REDUCE, args.x.dtype);
    return args;
}

CumSumArgs validate_cumsum(const mln_device& device, const mln_tensor_desc* x, int32_t axis, int32_t exclusive,
                           int32_t reverse, const mln_tensor_desc* y) {
    CumSumArgs args;
    args.exclusive = exclusive != 0;
    args.reverse = reverse != 0;
    args.x = validate_tensor("x", x, Access::read);
    args.y = validate_tensor("y", y, Access::write);
    args.layout = axis_layout(args.x, axis);
    require_same_dtype("x", args.x, "y", args.y);
    require_same_shape("x", args.x, "y", args.y);
    require_contiguous("x", args.x);
    require_contiguous("y", args.y);
    require_axis_dtype(args.x, "cumsum");
    require_supported(device, MLN_KERNEL_REDUCE, args.x.dtype);
    return args;
}

}  // namespace mln
