// Shape utilities: text for messages and NumPy broadcasting.
#pragma once

#include <myelin.h>

#include <cstdint>
#include <string>

#include "core/tensor_view.hpp"

namespace mln {

// "2x3x4"; "scalar" for rank 0.
std::string shape_to_string(int32_t rank, const int64_t* shape);
inline std::string shape_to_string(const TensorView& view) { return shape_to_string(view.rank, view.shape); }
// "[2,0,-1]": a bracketed list, for strides and index positions in messages.
std::string index_list_to_string(int32_t count, const int64_t* values);

struct Shape {
    int32_t rank = 0;
    int64_t dims[MLN_MAX_RANK] = {};
};

// The NumPy broadcast shape of a and b (aligned at the last dimension). Throws
// MLN_STATUS_INVALID_ARGUMENT naming the first dimension (numbered in the result) that cannot
// broadcast, e.g. "a is 2x3 and b is 4x3: dimension 0 (2 vs 4) cannot broadcast".
Shape broadcast_shapes(const char* name_a, const TensorView& a, const char* name_b, const TensorView& b);

bool same_shape(const TensorView& a, const TensorView& b) noexcept;

}  // namespace mln
