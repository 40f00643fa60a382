// GatherND and ScatterND: each index tuple addresses one contiguous slice of a batch's
// sub-tensor, so gather is a loop of memcpy and scatter a loop over slices in tuple order (one
// thread: repeated tuples always combine in the same order).
#include <cstring>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/shape.hpp"
#include "core/text.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/indexing/scatter_reductions.hpp"
#include "kernels/cpu/nn_kernels.hpp"

namespace mln::kernels {
namespace {

int64_t load_index(const TensorView& indices, int64_t j) {
    if (indices.dtype == MLN_DTYPE_I32) return static_cast<const int32_t*>(indices.data)[j];
    return static_cast<const int64_t*>(indices.data)[j];
}

// Element offsets of the slices the tuples address, batch offset included; throws naming the
// first index outside its dimension (-n..n-1) before any is used.
std::vector<int64_t> slice_offsets(const GatherNdArgs& a, const char* table_name) {
    const int64_t tuples = a.batch * a.lookups;
    int64_t batch_elements = 1;
    for (int32_t d = a.batch_dims; d < a.table.rank; ++d) batch_elements *= a.table.shape[d];
    std::vector<int64_t> offsets(static_cast<size_t>(tuples));
    for (int64_t t = 0; t < tuples; ++t) {
        int64_t offset = t / a.lookups * batch_elements;
        for (int32_t i = 0; i < a.depth; ++i) {
            const int32_t d = a.batch_dims + i;
            const int64_t n = a.table.shape[d];
            const int64_t index = load_index(a.indices, t * a.depth + i);
            if (index < -n || index >= n) {
                throw Error(MLN_STATUS_INVALID_ARGUMENT,
                            cat("indices tuple ", t, " (flat element ", t * a.depth + i, ") holds ", index, " but ",
                                table_name, " ", shape_to_string(a.table), " has ", n, " along dimension ", d,
                                " (valid ", -n, "..", n - 1, ")"));
            }
            offset += (index < 0 ? index + n : index) * a.table.strides[d];
        }
        offsets[static_cast<size_t>(t)] = offset;
    }
    return offsets;
}

}  // namespace

void gather_nd(const GatherNdArgs& args) {
    const std::vector<int64_t> offsets = slice_offsets(args, "x");
    const size_t element = dtype_size(args.table.dtype);
    const size_t run = static_cast<size_t>(args.slice) * element;
    const char* table = static_cast<const char*>(args.table.data);
    char* rows = static_cast<char*>(args.rows.data);
    if (run == 0) return;
    cpu::parallel_for(static_cast<int64_t>(offsets.size()), 64, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            std::memcpy(rows + static_cast<size_t>(t) * run,
                        table + static_cast<size_t>(offsets[static_cast<size_t>(t)]) * element, run);
        }
    });
}

void scatter_nd(const GatherNdArgs& args) {
    const std::vector<int64_t> offsets = slice_offsets(args, "y");
    if (args.reduction == MLN_SCATTER_REDUCTION_NONE) {
        const size_t element = dtype_size(args.table.dtype);
        const size_t run = static_cast<size_t>(args.slice) * element;
        char* table = static_cast<char*>(args.table.data);
        const char* rows = static_cast<const char*>(args.rows.data);
        for (size_t t = 0; t < offsets.size() && run != 0; ++t) {
            std::memcpy(table + static_cast<size_t>(offsets[t]) * element, rows + t * run, run);
        }
        return;
    }
    visit_scatter_reduction(args.reduction, args.table.dtype, [&](auto op, auto zero) {
        using T = decltype(zero);
        T* table = static_cast<T*>(args.table.data);
        const T* rows = static_cast<const T*>(args.rows.data);
        for (size_t t = 0; t < offsets.size(); ++t) {
            T* target = table + offsets[t];
            const T* source = rows + static_cast<int64_t>(t) * args.slice;
            for (int64_t i = 0; i < args.slice; ++i) target[i] = decltype(op)::apply(target[i], source[i]);
        }
    });
}

}  // namespace mln::kernels
