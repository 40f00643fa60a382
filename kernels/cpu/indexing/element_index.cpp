// GatherElements and ScatterElements: every position j of indices addresses the table element
// at j with its axis coordinate replaced by indices[j]. Gather runs in parallel; scatter walks j
// in row-major order on one thread, so repeated indices always combine in the same order.
#include <cstring>

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

// Maps a flat position of indices to the flat table element it addresses.
class ElementWalk {
public:
    explicit ElementWalk(const ElementIndexArgs& a) : a_(a) {}

    int64_t axis_size() const { return a_.table.shape[a_.axis]; }

    // Throws naming the first index outside -axis_size..axis_size-1.
    void check(const char* table_name) const {
        const int64_t n = axis_size();
        for (int64_t j = 0; j < a_.indices.element_count; ++j) {
            const int64_t index = load_index(a_.indices, j);
            if (index < -n || index >= n) {
                int64_t position[MLN_MAX_RANK] = {};
                unflatten(j, position);
                throw Error(MLN_STATUS_INVALID_ARGUMENT,
                            cat("indices", index_list_to_string(a_.indices.rank, position), " is ", index, " but ",
                                table_name, " has ", n, " along axis ", a_.axis, " (valid ", -n, "..", n - 1, ")"));
            }
        }
    }

    int64_t table_offset(int64_t j) const {
        int64_t position[MLN_MAX_RANK] = {};
        unflatten(j, position);
        const int64_t index = load_index(a_.indices, j);
        position[a_.axis] = index < 0 ? index + axis_size() : index;
        int64_t offset = 0;
        for (int32_t d = 0; d < a_.table.rank; ++d) offset += position[d] * a_.table.strides[d];
        return offset;
    }

private:
    void unflatten(int64_t j, int64_t* position) const {
        for (int32_t d = a_.indices.rank - 1; d >= 0; --d) {
            position[d] = j % a_.indices.shape[d];
            j /= a_.indices.shape[d];
        }
    }

    const ElementIndexArgs& a_;
};

}  // namespace

void gather_elements(const ElementIndexArgs& args) {
    const ElementWalk walk(args);
    walk.check("x");
    const size_t element = dtype_size(args.table.dtype);
    const char* table = static_cast<const char*>(args.table.data);
    char* rows = static_cast<char*>(args.rows.data);
    cpu::parallel_for(args.rows.element_count, 1024, [&](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end; ++j) {
            std::memcpy(rows + static_cast<size_t>(j) * element,
                        table + static_cast<size_t>(walk.table_offset(j)) * element, element);
        }
    });
}

void scatter_elements(const ElementIndexArgs& args) {
    const ElementWalk walk(args);
    walk.check("y");
    if (args.reduction == MLN_SCATTER_REDUCTION_NONE) {
        const size_t element = dtype_size(args.table.dtype);
        char* table = static_cast<char*>(args.table.data);
        const char* rows = static_cast<const char*>(args.rows.data);
        for (int64_t j = 0; j < args.rows.element_count; ++j) {
            std::memcpy(table + static_cast<size_t>(walk.table_offset(j)) * element,
                        rows + static_cast<size_t>(j) * element, element);
        }
        return;
    }
    visit_scatter_reduction(args.reduction, args.table.dtype, [&](auto op, auto zero) {
        using T = decltype(zero);
        T* table = static_cast<T*>(args.table.data);
        const T* rows = static_cast<const T*>(args.rows.data);
        for (int64_t j = 0; j < args.rows.element_count; ++j) {
            T& target = table[walk.table_offset(j)];
            target = decltype(op)::apply(target, rows[j]);
        }
    });
}

}  // namespace mln::kernels
