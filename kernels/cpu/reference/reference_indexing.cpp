#include <cstdint>

#include "kernels/cpu/reference/reference_indexing.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::reference {
namespace {

int64_t load_index(const TensorView& indices, const int64_t* position) {
    if (indices.dtype == MLN_DTYPE_I32) return *element_at<int32_t>(indices, position);
    return *element_at<int64_t>(indices, position);
}

// Splits an index of the gathered tensor into the table index it reads (the caller's
// indices already checked in range).
void table_index(const TensorView& table, int32_t axis, const TensorView& indices, const int64_t* rows_index,
                 int64_t* out) {
    const int64_t value = load_index(indices, rows_index + axis);
    for (int32_t d = 0; d < axis; ++d) out[d] = rows_index[d];
    out[axis] = value < 0 ? value + table.shape[axis] : value;
    for (int32_t d = axis + 1; d < table.rank; ++d) out[d] = rows_index[d - 1 + indices.rank];
}

}  // namespace

template <class T>
void gather(const TensorView& x, int32_t axis, const TensorView& indices, const TensorView& y) {
    for_each_index(y.rank, y.shape, [&](const int64_t* yi) {
        int64_t xi[MLN_MAX_RANK] = {};
        table_index(x, axis, indices, yi, xi);
        *element_at<T>(y, yi) = *element_at<T>(x, xi);
    });
}

template <class T>
void scatter_add(const TensorView& updates, int32_t axis, const TensorView& indices, const TensorView& y) {
    for_each_index(updates.rank, updates.shape, [&](const int64_t* ui) {
        int64_t yi[MLN_MAX_RANK] = {};
        table_index(y, axis, indices, ui, yi);
        *element_at<T>(y, yi) += *element_at<T>(updates, ui);
    });
}

template <class T>
void pad(mln_pad_mode mode, const TensorView& x, const int64_t* pads_begin, T value, const TensorView& y) {
    for_each_index(y.rank, y.shape, [&](const int64_t* yi) {
        int64_t xi[MLN_MAX_RANK] = {};
        for (int32_t d = 0; d < y.rank; ++d) {
            int64_t j = yi[d] - pads_begin[d];
            const int64_t n = x.shape[d];
            if (j < 0 || j >= n) {
                if (mode == MLN_PAD_MODE_CONSTANT) {
                    *element_at<T>(y, yi) = value;
                    return;
                }
                if (mode == MLN_PAD_MODE_EDGE) j = j < 0 ? 0 : n - 1;
                if (mode == MLN_PAD_MODE_REFLECT) j = j < 0 ? -j : (n - 1) - (j - (n - 1));
            }
            xi[d] = j;
        }
        *element_at<T>(y, yi) = *element_at<T>(x, xi);
    });
}

template void gather<float>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void gather<double>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void gather<int32_t>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void gather<int64_t>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_add<float>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_add<double>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_add<int32_t>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void scatter_add<int64_t>(const TensorView&, int32_t, const TensorView&, const TensorView&);
template void pad<float>(mln_pad_mode, const TensorView&, const int64_t*, float, const TensorView&);
template void pad<double>(mln_pad_mode, const TensorView&, const int64_t*, double, const TensorView&);
template void pad<int32_t>(mln_pad_mode, const TensorView&, const int64_t*, int32_t, const TensorView&);
template void pad<int64_t>(mln_pad_mode, const TensorView&, const int64_t*, int64_t, const TensorView&);

}  // namespace mln::reference
