// Validated arguments of the elementwise families beyond unary/binary: unary backward, where,
// softmax, optimizer steps and dropout.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/tensor_view.hpp"

namespace mln {

// dx = dy * op'(x). x and y are present as has_x/has_y say (the kernel picks the one its
// derivative needs); all views have dx's shape and dtype.
struct UnaryBackwardArgs {
    mln_unary_op op = MLN_UNARY_OP_IDENTITY;
    double alpha = 0.0;
    double beta = 0.0;
    TensorView x;
    TensorView y;
    TensorView dy;
    TensorView dx;
    bool has_x = false;
    bool has_y = false;
};

// cond, a and b already broadcast to y's shape.
struct WhereArgs {
    TensorView cond;
    TensorView a;
    TensorView b;
    TensorView y;
};

// Forward: input = x, output = y. Backward: input = y (the forward output), grad = dy,
// output = dx. axis is normalized to [0, rank).
struct SoftmaxArgs {
    mln_softmax_op op = MLN_SOFTMAX_OP_SOFTMAX;
    int32_t axis = 0;
    TensorView input;
    TensorView grad;
    TensorView output;
};

struct OptimizerArgs {
    mln_optimizer_params params{};
    TensorView param;
    TensorView grad;
    TensorView state0;  // valid where the kind uses it
    TensorView state1;
};

struct DropoutArgs {
    double p = 0.0;
    uint64_t seed = 0;
    uint64_t offset = 0;
    TensorView x;
    TensorView y;
    TensorView mask;
    bool has_mask = false;
};

}  // namespace mln
