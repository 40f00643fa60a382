#include <cmath>
#include <limits>
#include <vector>

#include "core/dtype.hpp"
#include "core/names.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/reference/reference_indexing.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::reference {
namespace {

// One accumulator per output element, filled by a single pass over x in memory order of its
// indices (a different traversal from the optimized kernel, which walks output by output).
template <class T>
void reduce_typed(mln_reduce_op op, const TensorView& x, uint32_t reduced_axes, bool keepdims, const TensorView& y) {
    using Wide = std::conditional_t<kernels::is_float_v<T>, double, int64_t>;
    std::vector<Wide> accumulators(static_cast<size_t>(y.element_count));
    std::vector<int64_t> counts(accumulators.size(), 0);
    // Row-major linear index of y for an x index.
    auto output_position = [&](const int64_t* index) {
        int64_t position = 0;
        int32_t yd = 0;
        for (int32_t d = 0; d < x.rank; ++d) {
            const bool reduced = ((reduced_axes >> d) & 1u) != 0;
            if (reduced && !keepdims) continue;
            position = position * y.shape[yd] + (reduced ? 0 : index[d]);
            ++yd;
        }
        return position;
    };
    for_each_index(x.rank, x.shape, [&](const int64_t* index) {
        const Wide value = static_cast<Wide>(*element_at<const T>(x, index));
        const auto position = static_cast<size_t>(output_position(index));
        Wide& accumulator = accumulators[position];
        if (counts[position]++ == 0) {
            accumulator = value;
            return;
        }
        switch (op) {
            case MLN_REDUCE_OP_SUM:
            case MLN_REDUCE_OP_MEAN:
                if constexpr (kernels::is_float_v<T>) accumulator += value;
                else accumulator = static_cast<int64_t>(static_cast<uint64_t>(accumulator) + static_cast<uint64_t>(value));
                break;
            case MLN_REDUCE_OP_MAX:
                if (std::isnan(static_cast<double>(accumulator))) break;
                if (std::isnan(static_cast<double>(value)) || value > accumulator) accumulator = value;
                break;
            case MLN_REDUCE_OP_MIN:
                if (std::isnan(static_cast<double>(accumulator))) break;
                if (std::isnan(static_cast<double>(value)) || value < accumulator) accumulator = value;
                break;
        }
    });
    int64_t position = 0;
    for_each_index(y.rank, y.shape, [&](const int64_t* index) {
        const auto p = static_cast<size_t>(position++);
        Wide result = accumulators[p];
        if (counts[p] == 0) {
            if (op == MLN_REDUCE_OP_MEAN) result = static_cast<Wide>(std::numeric_limits<double>::quiet_NaN());
            else if (op == MLN_REDUCE_OP_SUM) result = 0;
            else throw Error(MLN_STATUS_INVALID_ARGUMENT, "reference max/min over an empty set");
        } else if (op == MLN_REDUCE_OP_MEAN) {
            result = static_cast<Wide>(static_cast<double>(result) / static_cast<double>(counts[p]));
        }
        *element_at<T>(y, index) = static_cast<T>(result);
    });
}

}  // namespace

void reduce(mln_reduce_op op, const TensorView& x, uint32_t reduced_axes, bool keepdims, const TensorView& y) {
    switch (x.dtype) {
        case MLN_DTYPE_F32: return reduce_typed<float>(op, x, reduced_axes, keepdims, y);
        case MLN_DTYPE_F64: return reduce_typed<double>(op, x, reduced_axes, keepdims, y);
        case MLN_DTYPE_I32: return reduce_typed<int32_t>(op, x, reduced_axes, keepdims, y);
        case MLN_DTYPE_I64: return reduce_typed<int64_t>(op, x, reduced_axes, keepdims, y);
        default: break;
    }
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("reference ", reduce_op_name(op), " lacks ", dtype_name(x.dtype)));
}

}  // namespace mln::reference
