#include <algorithm>
#include <cstdint>

#include "kernels/cpu/reference/reference_indexing.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::reference {
namespace {

int64_t load_index(const TensorView& indices, const int64_t* position) {
    if (indices.dtype == MLN_DTYPE_I32) return *element_at<int32_t>(indices, position);
    return *element_at<int64_t>(indices, position);
}

int64_t normalized(int64_t index, int64_t size) { return index < 0 ? index + size : index; }

template <class T>
T combine(mln_scatter_reduction reduction, T target, T update) {
    switch (reduction) {
        case MLN_SCATTER_REDUCTION_ADD: return static_cast<T>(target + update);
        case MLN_SCATTER_REDUCTION_MUL: return static_cast<T>(target * update);
        case MLN_SCATTER_REDUCTION_MAX: return std::max(target, update);
        case MLN_SCATTER_REDUCTION_MIN: return std::min(target, update);
        case MLN_SCATTER_REDUCTION_NONE: break;
    }
    return update;
}

// The table position of tuple `prefix` (indices' position without the last dimension) followed
// by the slice position `rest`.
void nd_position(const TensorView& table, int32_t batch_dims, const TensorView& indices, const int64_t* prefix,
                 const int64_t* rest, int64_t* out) {
    const int32_t depth = static_cast<int32_t>(indices.shape[indices.rank - 1]);
    int64_t at[MLN_MAX_RANK] = {};
    std::copy(prefix, prefix + indices.rank - 1, at);
    for (int32_t d = 0; d < batch_dims; ++d) out[d] = prefix[d];
    for (int32_t i = 0; i < depth; ++i) {
        at[indices.rank - 1] = i;
        out[batch_dims + i] = normalized(load_index(indices, at), table.shape[batch_dims + i]);
    }
    for (int32_t d = batch_dims + depth; d < table.rank; ++d) out[d] = rest[d - batch_dims - depth];
}

}  // namespace

template <class T>
void gather_elements(const TensorView& x, int32_t axis, const TensorView& indices, const TensorView& y) {
    for_each_index(y.rank, y.shape, [&](const int64_t* yi) {
        int64_t xi[MLN_MAX_RANK] = {};
        std::copy(yi, yi + y.rank, xi);
        xi[axis] = normalized(load_index(indices, yi), x.shape[axis]);
        *element_at<T>(y, yi) = *element_at<T>(x, xi);
    });
}

template <class T>
void scatter_elements(mln_scatter_reduction reduction, const TensorView& updates, int32_t axis,
                      const TensorView& indices, const TensorView& y) {
    for_each_index(updates.rank, updates.shape, [&](const int64_t* ui) {
        int64_t yi[MLN_MAX_RANK] = {};
        std::copy(ui, ui + updates.rank, yi);
        yi[axis] = normalized(load_index(indices, ui), y.shape[axis]);
        T& target = *element_at<T>(y, yi);
        target = combine(reduction, target, *element_at<T>(updates, ui));
    });
}

template <class T>
void gather_nd(const TensorView& x, int32_t batch_dims, const TensorView& indices, const TensorView& y) {
    const int32_t prefix_rank = indices.rank - 1;
    for_each_index(y.rank, y.shape, [&](const int64_t* yi) {
        int64_t xi[MLN_MAX_RANK] = {};
        nd_position(x, batch_dims, indices, yi, yi + prefix_rank, xi);
        *element_at<T>(y, yi) = *element_at<T>(x, xi);
    });
}

template <class T>
void scatter_nd(mln_scatter_reduction reduction, const TensorView& updates, int32_t batch_dims,
                const TensorView& indices, const TensorView& y) {
    const int32_t prefix_rank = indices.rank - 1;
    for_each_index(updates.rank, updates.shape, [&](const int64_t* ui) {
        int64_t yi[MLN_MAX_RANK] = {};
        nd_position(y, batch_dims, indices, ui, ui + prefix_rank, yi);
        T& target = *element_at<T>(y, yi);
        target = combine(reduction, target, *element_at<T>(updates, ui));
    });
}

template <class T>
void trilu(bool upper, int64_t k, const TensorView& x, const TensorView& y) {
    for_each_index(y.rank, y.shape, [&](const int64_t* index) {
        const int64_t offset = index[y.rank - 1] - index[y.rank - 2];
        const bool keep = upper ? offset >= k : offset <= k;
        *element_at<T>(y, index) = keep ? *element_at<T>(x, index) : T{};
    });
}

template void gather_elements<float>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void gather_elements<double>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void gather_elements<int32_t>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void gather_elements<int64_t>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_elements<float>(mln_scatter_reduction, const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_elements<double>(mln_scatter_reduction, const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_elements<int32_t>(mln_scatter_reduction, const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_elements<int64_t>(mln_scatter_reduction, const TensorView&, int32_t, const TensorView&, const TensorView&);
template void gather_nd<float>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void gather_nd<double>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void gather_nd<int32_t>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void gather_nd<int64_t>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_nd<float>(mln_scatter_reduction, const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_nd<double>(mln_scatter_reduction, const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_nd<int32_t>(mln_scatter_reduction, const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_nd<int64_t>(mln_scatter_reduction, const TensorView&, int32_t, const TensorView&, const TensorView&);
template void trilu<float>(bool, int64_t, const TensorView&, const TensorView&);
template void trilu<double>(bool, int64_t, const TensorView&, const TensorView&);
template void trilu<int32_t>(bool, int64_t, const TensorView&, const TensorView&);
template void trilu<int64_t>(bool, int64_t, const TensorView&, const TensorView&);

}  // namespace mln::reference
