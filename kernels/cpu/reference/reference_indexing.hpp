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

}  // namespace mln::reference
