// Index helpers for the reference kernels.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/tensor_view.hpp"

namespace mln::reference {

// Calls visit(index) for every index of `shape` in row-major order.
template <class Visit>
void for_each_index(int32_t rank, const int64_t* shape, Visit&& visit) {
    for (int32_t d = 0; d < rank; ++d) {
        if (shape[d] == 0) return;
    }
    int64_t index[MLN_MAX_RANK] = {};
    for (;;) {
        visit(static_cast<const int64_t*>(index));
        int32_t d = rank - 1;
        for (; d >= 0; --d) {
            if (++index[d] < shape[d]) break;
            index[d] = 0;
        }
        if (d < 0) return;
    }
}

template <class T>
T* element_at(const TensorView& view, const int64_t* index) {
    int64_t offset = 0;
    for (int32_t d = 0; d < view.rank; ++d) offset += index[d] * view.strides[d];
    return static_cast<T*>(view.data) + offset;
}

// The reference twins of float kernels compute in double whatever the element type is.
inline double load_as_double(const TensorView& view, const int64_t* index) {
    if (view.dtype == MLN_DTYPE_F64) return *element_at<double>(view, index);
    return *element_at<float>(view, index);
}

inline void store_from_double(const TensorView& view, const int64_t* index, double value) {
    if (view.dtype == MLN_DTYPE_F64) {
        *element_at<double>(view, index) = value;
    } else {
        *element_at<float>(view, index) = static_cast<float>(value);
    }
}

}  // namespace mln::reference
