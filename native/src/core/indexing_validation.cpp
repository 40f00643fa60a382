#include "core/indexing_validation.hpp"

#include <algorithm>
#include <string>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/kernel_validation.hpp"
#include "core/nn_validation.hpp"
#include "core/shape.hpp"
#include "core/text.hpp"
#include "core/validation.hpp"

namespace mln {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(MLN_STATUS_INVALID_ARGUMENT, message); }

void require_index_dtype(const TensorView& indices) {
    if (indices.dtype != MLN_DTYPE_I32 && indices.dtype != MLN_DTYPE_I64) {
        invalid(cat("indices has dtype ", dtype_name(indices.dtype), " but must be i32 or i64"));
    }
}

mln_scatter_reduction scatter_reduction(int32_t reduction, mln_dtype dtype) {
    if (reduction < MLN_SCATTER_REDUCTION_NONE || reduction > MLN_SCATTER_REDUCTION_MIN) {
        invalid(cat("reduction is ", reduction, " but must be MLN_SCATTER_REDUCTION_NONE (0), ADD (1), MUL (2), MAX (3) or MIN (4)"));
    }
    if (reduction != MLN_SCATTER_REDUCTION_NONE && dtype != MLN_DTYPE_F32 && dtype != MLN_DTYPE_F64 &&
        dtype != MLN_DTYPE_I32 && dtype != MLN_DTYPE_I64) {
        throw Error(MLN_STATUS_NOT_SUPPORTED,
                    cat("y has dtype ", dtype_name(dtype), " but scatter reductions other than none support f32, f64, i32 and i64"));
    }
    return static_cast<mln_scatter_reduction>(reduction);
}

// table and indices share a rank; rows has indices' shape; indices no larger than table off the axis.
ElementIndexArgs element_shapes(const TensorView& table, const char* table_name, int32_t axis,
                                const TensorView& indices, const TensorView& rows, const char* rows_name) {
    const int32_t r = table.rank;
    if (r < 1) invalid(cat(table_name, " is a scalar but must have rank >= 1"));
    if (axis < -r || axis >= r) {
        invalid(cat("axis is ", axis, " but ", table_name, " has rank ", r, " (valid axes are ", -r, "..", r - 1, ")"));
    }
    require_index_dtype(indices);
    ElementIndexArgs args;
    args.axis = axis < 0 ? axis + r : axis;
    if (indices.rank != r) {
        invalid(cat("indices is ", shape_to_string(indices), " but must have ", table_name, "'s rank ", r, " (",
                    shape_to_string(table), ")"));
    }
    for (int32_t d = 0; d < r; ++d) {
        if (d != args.axis && indices.shape[d] > table.shape[d]) {
            invalid(cat("indices is ", shape_to_string(indices), " but ", table_name, " is ", shape_to_string(table),
                        ": dimension ", d, " of indices exceeds ", table_name, "'s"));
        }
    }
    require_same_shape("indices", indices, rows_name, rows);
    require_same_dtype(table_name, table, rows_name, rows);
    require_contiguous(table_name, table);
    require_contiguous("indices", indices);
    require_contiguous(rows_name, rows);
    args.table = table;
    args.indices = indices;
    args.rows = rows;
    return args;
}

// indices: batch dims + lookups + depth; rows: indices.shape[:-1] + table.shape[batch_dims + depth:].
GatherNdArgs nd_shapes(const TensorView& table, const char* table_name, int32_t batch_dims, const TensorView& indices,
                       const TensorView& rows, const char* rows_name) {
    require_index_dtype(indices);
    if (indices.rank < 1) invalid("indices is a scalar but must have rank >= 1 (its last dimension holds the tuples)");
    if (batch_dims < 0 || batch_dims >= std::min(indices.rank, table.rank)) {
        invalid(cat("batch_dims is ", batch_dims, " but must be at least 0 and less than the ranks of indices (",
                    indices.rank, ") and ", table_name, " (", table.rank, ")"));
    }
    const int64_t depth = indices.shape[indices.rank - 1];
    if (depth < 1 || batch_dims + depth > table.rank) {
        invalid(cat("indices is ", shape_to_string(indices), ": its last dimension (", depth, ") must be 1..",
                    table.rank - batch_dims, " to address ", table_name, " ", shape_to_string(table), " after ",
                    batch_dims, " batch dimensions"));
    }
    GatherNdArgs args;
    args.batch_dims = batch_dims;
    args.depth = static_cast<int32_t>(depth);
    for (int32_t d = 0; d < batch_dims; ++d) {
        if (indices.shape[d] != table.shape[d]) {
            invalid(cat("indices ", shape_to_string(indices), " and ", table_name, " ", shape_to_string(table),
                        " differ on batch dimension ", d));
        }
        args.batch *= table.shape[d];
    }
    args.lookups = 1;
    for (int32_t d = batch_dims; d < indices.rank - 1; ++d) args.lookups *= indices.shape[d];
    for (int32_t d = batch_dims + args.depth; d < table.rank; ++d) args.slice *= table.shape[d];
    const int32_t rows_rank = indices.rank - 1 + table.rank - batch_dims - args.depth;
    if (rows_rank > MLN_MAX_RANK) invalid(cat(rows_name, " would have rank ", rows_rank, " but at most ", MLN_MAX_RANK, " is supported"));
    int64_t expected[MLN_MAX_RANK] = {};
    int32_t k = 0;
    for (int32_t d = 0; d < indices.rank - 1; ++d) expected[k++] = indices.shape[d];
    for (int32_t d = batch_dims + args.depth; d < table.rank; ++d) expected[k++] = table.shape[d];
    if (rows.rank != rows_rank || !std::equal(expected, expected + rows_rank, rows.shape)) {
        invalid(cat(rows_name, " is ", shape_to_string(rows), " but ", table_name, " ", shape_to_string(table),
                    " addressed by indices ", shape_to_string(indices), " with batch_dims ", batch_dims, " gives ",
                    shape_to_string(rows_rank, expected)));
    }
    require_same_dtype(table_name, table, rows_name, rows);
    require_contiguous(table_name, table);
    require_contiguous("indices", indices);
    require_contiguous(rows_name, rows);
    args.table = table;
    args.indices = indices;
    args.rows = rows;
    return args;
}

}  // namespace

ElementIndexArgs validate_gather_elements(const mln_device& device, const mln_tensor_desc* x, int32_t axis,
                                          const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    const TensorView vx = validate_tensor("x", x, Access::read);
    const TensorView vi = validate_tensor("indices", indices, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    ElementIndexArgs args = element_shapes(vx, "x", axis, vi, vy, "y");
    require_supported(device, MLN_KERNEL_INDEXING, vx.dtype);
    return args;
}

ElementIndexArgs validate_scatter_elements(const mln_device& device, int32_t reduction, const mln_tensor_desc* updates,
                                           int32_t axis, const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    const TensorView vu = validate_tensor("updates", updates, Access::read);
    const TensorView vi = validate_tensor("indices", indices, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    ElementIndexArgs args = element_shapes(vy, "y", axis, vi, vu, "updates");
    args.reduction = scatter_reduction(reduction, vy.dtype);
    require_supported(device, MLN_KERNEL_INDEXING, vy.dtype);
    return args;
}

GatherNdArgs validate_gather_nd(const mln_device& device, const mln_tensor_desc* x, int32_t batch_dims,
                                const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    const TensorView vx = validate_tensor("x", x, Access::read);
    const TensorView vi = validate_tensor("indices", indices, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    GatherNdArgs args = nd_shapes(vx, "x", batch_dims, vi, vy, "y");
    require_supported(device, MLN_KERNEL_INDEXING, vx.dtype);
    return args;
}

GatherNdArgs validate_scatter_nd(const mln_device& device, int32_t reduction, const mln_tensor_desc* updates,
                                 int32_t batch_dims, const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    const TensorView vu = validate_tensor("updates", updates, Access::read);
    const TensorView vi = validate_tensor("indices", indices, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    GatherNdArgs args = nd_shapes(vy, "y", batch_dims, vi, vu, "updates");
    args.reduction = scatter_reduction(reduction, vy.dtype);
    require_supported(device, MLN_KERNEL_INDEXING, vy.dtype);
    return args;
}

TriluArgs validate_trilu(const mln_device& device, int32_t upper, int64_t k, const mln_tensor_desc* x,
                         const mln_tensor_desc* y) {
    TriluArgs args;
    args.x = validate_tensor("x", x, Access::read);
    args.y = validate_tensor("y", y, Access::write);
    if (args.x.rank < 2) invalid(cat("x is ", shape_to_string(args.x), " but must have rank >= 2 (a batch of matrices)"));
    require_same_shape("x", args.x, "y", args.y);
    require_same_dtype("x", args.x, "y", args.y);
    require_contiguous("x", args.x);
    require_contiguous("y", args.y);
    args.upper = upper != 0;
    args.k = k;
    require_supported(device, MLN_KERNEL_INDEXING, args.x.dtype);
    return args;
}

}  // namespace mln
