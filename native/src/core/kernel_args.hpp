// Validated arguments of the kernel families that take more than one or two tensors.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/tensor_view.hpp"

namespace mln {

// y = op over the axes set in reduced_axes (bit d = axis d of x). `y` is y's memory seen with
// x's rank: a reduced axis has size 1 and stride 0 there, whether or not keepdims kept it.
struct ReduceArgs {
    mln_reduce_op op = MLN_REDUCE_OP_SUM;
    TensorView x;
    TensorView y;
    uint32_t reduced_axes = 0;
};

// A contiguous tensor seen as outer x size x inner around one axis: element (o, i, j) is at
// (o * size + i) * inner + j.
struct AxisLayout {
    int32_t axis = 0;
    int64_t outer = 1;  // product of the dimensions before the axis
    int64_t size = 0;   // the axis' own
    int64_t inner = 1;  // product of the dimensions after it
};

// y (i64, outer x inner) = position along the axis of x's maximum or minimum.
struct ArgReduceArgs {
    mln_reduce_op op = MLN_REDUCE_OP_MAX;  // MAX or MIN
    bool select_last_index = false;
    TensorView x;
    TensorView y;
    AxisLayout layout;  // of x
};

// values (x's dtype) and indices (i64), outer x k x inner, from x (outer x size x inner).
struct TopKArgs {
    int64_t k = 0;
    bool largest = true;
    TensorView x;
    TensorView values;
    TensorView indices;
    AxisLayout layout;  // of x
};

// y = cumulative sum of x along the axis; x and y share the layout.
struct CumSumArgs {
    bool exclusive = false;
    bool reverse = false;
    TensorView x;
    TensorView y;
    AxisLayout layout;
};

// c = activation(alpha * op(a) * op(b) + beta * c + bias). `a` and `b` are already op(a) and
// op(b): a transpose is a swap of shape and strides, so kernels never see transpose flags.
// a is m x k, b is k x n, c is m x n; bias is a length-n vector when has_bias.
struct GemmArgs {
    TensorView a;
    TensorView b;
    TensorView c;
    TensorView bias;
    bool has_bias = false;
    TensorView residual;  // MxN, never overlapping c (a residual that is c itself folds into beta)
    bool has_residual = false;
    double alpha = 1.0;
    double beta = 0.0;
    mln_unary_op activation = MLN_UNARY_OP_IDENTITY;
    int64_t m = 0;
    int64_t n = 0;
    int64_t k = 0;
    // Batched matmul: a, b, c and residual above are the matrices of batch element 0; c has
    // batch_rank leading dimensions of batch_shape, and each operand steps by its batch strides
    // (0 where it broadcasts). batch_rank 0 is a single matrix product.
    int32_t batch_rank = 0;
    int64_t batch_shape[MLN_MAX_RANK] = {};
    int64_t a_batch_strides[MLN_MAX_RANK] = {};
    int64_t b_batch_strides[MLN_MAX_RANK] = {};
    int64_t c_batch_strides[MLN_MAX_RANK] = {};
    int64_t residual_batch_strides[MLN_MAX_RANK] = {};
};

}  // namespace mln
