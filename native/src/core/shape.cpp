#include "core/shape.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/text.hpp"

namespace mln {

std::string shape_to_string(int32_t rank, const int64_t* shape) {
    if (rank == 0) return "scalar";
    std::string text;
    for (int32_t d = 0; d < rank; ++d) {
        if (d > 0) text += 'x';
        text += std::to_string(shape[d]);
    }
    return text;
}

std::string index_list_to_string(int32_t count, const int64_t* values) {
    std::string text = "[";
    for (int32_t i = 0; i < count; ++i) {
        if (i > 0) text += ',';
        text += std::to_string(values[i]);
    }
    return text + ']';
}

Shape broadcast_shapes(const char* name_a, const TensorView& a, const char* name_b, const TensorView& b) {
    Shape result;
    result.rank = std::max(a.rank, b.rank);
    for (int32_t d = 0; d < result.rank; ++d) {
        // Dimension d of the result lines up with dimension d - (result.rank - rank) of each input.
        const int32_t da = d - (result.rank - a.rank);
        const int32_t db = d - (result.rank - b.rank);
        const int64_t size_a = da >= 0 ? a.shape[da] : 1;
        const int64_t size_b = db >= 0 ? b.shape[db] : 1;
        if (size_a != size_b && size_a != 1 && size_b != 1) {
            throw Error(MLN_STATUS_INVALID_ARGUMENT,
                        cat(name_a, " is ", shape_to_string(a), " and ", name_b, " is ", shape_to_string(b),
                            ": dimension ", d, " (", size_a, " vs ", size_b, ") cannot broadcast"));
        }
        result.dims[d] = size_a == 1 ? size_b : size_a;
    }
    return result;
}

bool same_shape(const TensorView& a, const TensorView& b) noexcept {
    return a.rank == b.rank && std::equal(a.shape, a.shape + a.rank, b.shape);
}

TensorView broadcast_view(const TensorView& view, int32_t rank, const int64_t* shape) {
    TensorView result = view;
    result.rank = rank;
    result.element_count = 1;
    const int32_t offset = rank - view.rank;
    for (int32_t d = 0; d < rank; ++d) {
        const int32_t source = d - offset;
        const bool stretched = source < 0 || view.shape[source] != shape[d];
        result.shape[d] = shape[d];
        result.strides[d] = stretched ? 0 : view.strides[source];
        result.element_count *= shape[d];
    }
    return result;
}

}  // namespace mln
