// A tensor descriptor that passed validation: rank 0..8, dims >= 0, valid dtype, an element
// count and byte extent that fit in int64, data aligned to its element size (or no elements).
// Kernels take TensorViews and never re-check these facts.
#pragma once

#include <myelin.h>

#include <cstdint>

namespace mln {

struct TensorView {
    void* data = nullptr;
    mln_dtype dtype = MLN_DTYPE_F32;
    int32_t rank = 0;
    int64_t shape[MLN_MAX_RANK] = {};
    int64_t strides[MLN_MAX_RANK] = {};
    int64_t element_count = 1;
};

// Views over the same memory with a different shape/strides, used to broadcast an input to an
// output's shape (stride 0 on new or size-1 dimensions).
TensorView broadcast_view(const TensorView& view, int32_t rank, const int64_t* shape);

}  // namespace mln
