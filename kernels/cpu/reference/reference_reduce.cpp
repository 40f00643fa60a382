#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/dtype.hpp"
#include "core/names.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/reference/reference_indexing.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"
#include "kernels/cpu/reduce/reduce_ops.hpp"

namespace mln::reference {
namespace {

// Collects the values of each output element in one pass over x in row-major index order (a
// different traversal from the optimized kernel, which walks output by output), then applies
// each op's textbook formula to the collected values. Floats compute in double; integers in
// 64-bit unsigned arithmetic, whose wrap-around truncates to T's.
template <class T>
T reduce_values(mln_reduce_op op, const std::vector<T>& values) {
    constexpr bool is_float = kernels::is_float_v<T>;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    if (op == MLN_REDUCE_OP_MAX || op == MLN_REDUCE_OP_MIN) {
        if (values.empty()) throw Error(MLN_STATUS_INVALID_ARGUMENT, "reference max/min over an empty set");
        T best = values[0];
        for (T v : values) {
            if (v != v) return v;
            if (op == MLN_REDUCE_OP_MAX ? v > best : v < best) best = v;
        }
        return best;
    }
    if constexpr (is_float) {
        double sum = 0.0, product = 1.0, abs_sum = 0.0, square_sum = 0.0, max = -inf;
        bool any_nan = false;
        for (T v : values) {
            const double d = v;
            sum += d;
            product *= d;
            abs_sum += std::fabs(d);
            square_sum += d * d;
            any_nan = any_nan || d != d;
            if (d > max) max = d;
        }
        switch (op) {
            case MLN_REDUCE_OP_SUM: return static_cast<T>(sum);
            case MLN_REDUCE_OP_MEAN: return static_cast<T>(values.empty() ? nan : sum / static_cast<double>(values.size()));
            case MLN_REDUCE_OP_PROD: return static_cast<T>(product);
            case MLN_REDUCE_OP_L1: return static_cast<T>(abs_sum);
            case MLN_REDUCE_OP_L2: return static_cast<T>(std::sqrt(square_sum));
            case MLN_REDUCE_OP_SUM_SQUARE: return static_cast<T>(square_sum);
            case MLN_REDUCE_OP_LOG_SUM_EXP: {
                // Two passes: the maximum, then the shifted sum; infinite maxima need no sum.
                if (any_nan) return static_cast<T>(nan);
                if (std::isinf(max)) return static_cast<T>(max);
                double shifted = 0.0;
                for (T v : values) shifted += std::exp(static_cast<double>(v) - max);
                return static_cast<T>(max + std::log(shifted));
            }
            default: break;
        }
    } else {
        uint64_t sum = 0, product = 1, abs_sum = 0, square_sum = 0;
        for (T v : values) {
            const auto u = static_cast<uint64_t>(static_cast<int64_t>(v));
            sum += u;
            product *= u;
            abs_sum += v < 0 ? 0 - u : u;
            square_sum += u * u;
        }
        switch (op) {
            case MLN_REDUCE_OP_SUM: return static_cast<T>(sum);
            case MLN_REDUCE_OP_PROD: return static_cast<T>(product);
            case MLN_REDUCE_OP_L1: return static_cast<T>(abs_sum);
            case MLN_REDUCE_OP_SUM_SQUARE: return static_cast<T>(square_sum);
            default: break;
        }
    }
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("reference ", reduce_op_name(op), " lacks this dtype"));
}

template <class T>
void reduce_typed(mln_reduce_op op, const TensorView& x, uint32_t reduced_axes, bool keepdims, const TensorView& y) {
    std::vector<std::vector<T>> groups(static_cast<size_t>(y.element_count));
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
        groups[static_cast<size_t>(output_position(index))].push_back(*element_at<const T>(x, index));
    });
    int64_t position = 0;
    for_each_index(y.rank, y.shape, [&](const int64_t* index) {
        *element_at<T>(y, index) = reduce_values(op, groups[static_cast<size_t>(position++)]);
    });
}

// Calls visit(index) for every index of `shape` with the axis fixed at 0 (one call per row).
template <class Visit>
void for_each_row(const TensorView& x, int32_t axis, Visit&& visit) {
    int64_t shape[MLN_MAX_RANK] = {};
    std::copy(x.shape, x.shape + x.rank, shape);
    shape[axis] = 1;
    for_each_index(x.rank, shape, [&](const int64_t* start) {
        int64_t index[MLN_MAX_RANK] = {};
        std::copy(start, start + x.rank, index);
        visit(index);
    });
}

// x's element at `index` with the axis set to i.
template <class T>
T& along(const TensorView& view, int64_t* index, int32_t axis, int64_t i) {
    index[axis] = i;
    return *element_at<T>(view, index);
}

// Scans each row for its extreme.
template <class T>
void arg_reduce_typed(mln_reduce_op op, const TensorView& x, int32_t axis, bool select_last_index, const TensorView& y) {
    for_each_row(x, axis, [&](int64_t* index) {
        int64_t best = 0;
        for (int64_t i = 1; i < x.shape[axis]; ++i) {
            const T v = along<const T>(x, index, axis, i);
            const T b = along<const T>(x, index, axis, best);
            const bool more = op == MLN_REDUCE_OP_MAX ? kernels::more_extreme<true>(v, b) : kernels::more_extreme<false>(v, b);
            const bool less = op == MLN_REDUCE_OP_MAX ? kernels::more_extreme<true>(b, v) : kernels::more_extreme<false>(b, v);
            if (more || (select_last_index && !less)) best = i;
        }
        along<int64_t>(y, index, axis, 0) = best;
    });
}

// Selection: k times, the first position (in x's order) of the most extreme value not yet taken.
template <class T>
void top_k_typed(const TensorView& x, int32_t axis, int64_t k, bool largest, const TensorView& values,
                 const TensorView& indices) {
    std::vector<bool> taken(static_cast<size_t>(x.shape[axis]));
    for_each_row(x, axis, [&](int64_t* index) {
        std::fill(taken.begin(), taken.end(), false);
        for (int64_t n = 0; n < k; ++n) {
            int64_t best = -1;
            for (int64_t i = 0; i < x.shape[axis]; ++i) {
                if (taken[static_cast<size_t>(i)]) continue;
                if (best >= 0) {
                    const T v = along<const T>(x, index, axis, i);
                    const T b = along<const T>(x, index, axis, best);
                    if (!(largest ? kernels::ranks_above(v, b) : kernels::ranks_above(b, v))) continue;
                }
                best = i;
            }
            taken[static_cast<size_t>(best)] = true;
            const T value = along<const T>(x, index, axis, best);
            along<T>(values, index, axis, n) = value;
            along<int64_t>(indices, index, axis, n) = best;
        }
    });
}

// Each output is its own sum over the positions the definition names (quadratic, no carry).
template <class T>
void cumsum_typed(const TensorView& x, int32_t axis, bool exclusive, bool reverse, const TensorView& y) {
    using Wide = std::conditional_t<kernels::is_float_v<T>, double, uint64_t>;
    for_each_row(x, axis, [&](int64_t* index) {
        for (int64_t i = 0; i < x.shape[axis]; ++i) {
            Wide sum = 0;
            for (int64_t m = 0; m < x.shape[axis]; ++m) {
                const bool included = reverse ? (exclusive ? m > i : m >= i) : (exclusive ? m < i : m <= i);
                if (included) sum += static_cast<Wide>(along<const T>(x, index, axis, m));
            }
            along<T>(y, index, axis, i) = static_cast<T>(sum);
        }
    });
}

// The dtypes the reference twins of this file cover.
template <class Visitor>
void visit_axis_dtype(mln_dtype dtype, const char* call, Visitor&& visitor) {
    switch (dtype) {
        case MLN_DTYPE_F32: return visitor(float{});
        case MLN_DTYPE_F64: return visitor(double{});
        case MLN_DTYPE_I32: return visitor(int32_t{});
        case MLN_DTYPE_I64: return visitor(int64_t{});
        default: break;
    }
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("reference ", call, " lacks ", dtype_name(dtype)));
}

}  // namespace

void reduce(mln_reduce_op op, const TensorView& x, uint32_t reduced_axes, bool keepdims, const TensorView& y) {
    visit_axis_dtype(x.dtype, reduce_op_name(op), [&](auto zero) {
        reduce_typed<decltype(zero)>(op, x, reduced_axes, keepdims, y);
    });
}

void arg_reduce(mln_reduce_op op, const TensorView& x, int32_t axis, bool select_last_index, const TensorView& y) {
    visit_axis_dtype(x.dtype, "arg_reduce", [&](auto zero) {
        arg_reduce_typed<decltype(zero)>(op, x, axis, select_last_index, y);
    });
}

void top_k(const TensorView& x, int32_t axis, int64_t k, bool largest, const TensorView& values,
           const TensorView& indices) {
    visit_axis_dtype(x.dtype, "top_k", [&](auto zero) { top_k_typed<decltype(zero)>(x, axis, k, largest, values, indices); });
}

void cumsum(const TensorView& x, int32_t axis, bool exclusive, bool reverse, const TensorView& y) {
    visit_axis_dtype(x.dtype, "cumsum", [&](auto zero) { cumsum_typed<decltype(zero)>(x, axis, exclusive, reverse, y); });
}

}  // namespace mln::reference
