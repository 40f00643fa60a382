// Gather (rows = table[indices] along an axis) and its adjoint scatter-add. Rows are whole
// contiguous runs of `inner` elements, so gather is a loop of memcpy. Scatter-add splits the
// work by (outer index, inner block) and walks the indices in order inside each task, so
// repeated indices always add in the same order: identical results for any thread count.
#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/shape.hpp"
#include "core/text.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/nn_kernels.hpp"

namespace mln::kernels {
namespace {

// Inner elements per scatter-add task.
constexpr int64_t kScatterInnerBlock = 256;

int64_t index_at(const GatherArgs& a, int64_t j) {
    if (a.indices.dtype == MLN_DTYPE_I32) return static_cast<const int32_t*>(a.indices.data)[j];
    return static_cast<const int64_t*>(a.indices.data)[j];
}

std::string position_text(const TensorView& view, int64_t flat) {
    int64_t index[MLN_MAX_RANK] = {};
    for (int32_t d = view.rank - 1; d >= 0; --d) {
        index[d] = flat % view.shape[d];
        flat /= view.shape[d];
    }
    return index_list_to_string(view.rank, index);
}

// Checks every index (ONNX: -axis_size..axis_size-1) before anything is written.
void check_indices(const GatherArgs& a, const char* table_name) {
    for (int64_t j = 0; j < a.index_count; ++j) {
        const int64_t index = index_at(a, j);
        if (index < -a.axis_size || index >= a.axis_size) {
            throw Error(MLN_STATUS_INVALID_ARGUMENT,
                        cat("indices", position_text(a.indices, j), " is ", index, " but ", table_name, " has ",
                            a.axis_size, " along axis ", a.axis, " (valid ", -a.axis_size, "..", a.axis_size - 1, ")"));
        }
    }
}

// Integer sums wrap (two's complement), as everywhere in the library; floats add plainly.
template <class T>
T add_wrapping(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;
        return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
    } else {
        return a + b;
    }
}

int64_t normalized_index(const GatherArgs& a, int64_t j) {
    const int64_t index = index_at(a, j);
    return index < 0 ? index + a.axis_size : index;
}

template <class T>
void scatter_add_typed(const GatherArgs& a) {
    T* table = static_cast<T*>(a.table.data);
    const T* rows = static_cast<const T*>(a.rows.data);
    const int64_t blocks = (a.inner + kScatterInnerBlock - 1) / kScatterInnerBlock;
    cpu::parallel_for(a.outer * blocks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t o = task / blocks;
            const int64_t first = task % blocks * kScatterInnerBlock;
            const int64_t last = std::min(a.inner, first + kScatterInnerBlock);
            for (int64_t j = 0; j < a.index_count; ++j) {
                T* target = table + (o * a.axis_size + normalized_index(a, j)) * a.inner;
                const T* source = rows + (o * a.index_count + j) * a.inner;
                for (int64_t i = first; i < last; ++i) target[i] = add_wrapping(target[i], source[i]);
            }
        }
    });
}

}  // namespace

void gather(const GatherArgs& args) {
    check_indices(args, "x");
    const size_t element = dtype_size(args.table.dtype);
    const char* table = static_cast<const char*>(args.table.data);
    char* rows = static_cast<char*>(args.rows.data);
    const size_t run = static_cast<size_t>(args.inner) * element;
    cpu::parallel_for(args.outer * args.index_count, std::max<int64_t>(1, 4096 / std::max<int64_t>(args.inner, 1)),
                      [&](int64_t begin, int64_t end) {
                          for (int64_t task = begin; task < end; ++task) {
                              const int64_t o = task / args.index_count;
                              const int64_t j = task % args.index_count;
                              const int64_t source = o * args.axis_size + normalized_index(args, j);
                              if (run != 0) std::memcpy(rows + static_cast<size_t>(task) * run,
                                                        table + static_cast<size_t>(source) * run, run);
                          }
                      });
}

void scatter_add(const GatherArgs& args) {
    check_indices(args, "y");
    switch (args.table.dtype) {
        case MLN_DTYPE_F32: return scatter_add_typed<float>(args);
        case MLN_DTYPE_F64: return scatter_add_typed<double>(args);
        case MLN_DTYPE_I32: return scatter_add_typed<int32_t>(args);
        case MLN_DTYPE_I64: return scatter_add_typed<int64_t>(args);
        default: break;
    }
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("scatter_add is not supported for dtype ", dtype_name(args.table.dtype)));
}

}  // namespace mln::kernels
