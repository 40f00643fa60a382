#include "kernels/cpu/reduce/reduce_ops.hpp"

#include <algorithm>

#include "core/dtype.hpp"
#include "core/names.hpp"
#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/reduce/row_sums.hpp"

namespace mln::kernels {
namespace {

// Elements read per parallel task, at least.
constexpr int64_t kReduceGrainElements = 32768;

// A list of dimensions with the x strides (elements) and, for kept dimensions, y strides.
struct DimList {
    int rank = 0;
    int64_t shape[MLN_MAX_RANK] = {};
    int64_t x_strides[MLN_MAX_RANK] = {};
    int64_t y_strides[MLN_MAX_RANK] = {};
    int64_t count = 1;
};

// Steps `index` and `offset` to the next element of dims [0, rank) of `dims` in row-major order
// (the last of them fastest); false after the last element.
inline bool next_index(const DimList& dims, int rank, int64_t* index, int64_t& offset) {
    for (int d = rank - 1; d >= 0; --d) {
        offset += dims.x_strides[d];
        if (++index[d] < dims.shape[d]) return true;
        offset -= dims.shape[d] * dims.x_strides[d];
        index[d] = 0;
    }
    return false;
}

// f32 Sum and Mean add each value into a double, as the row-sum kernel does: their contiguous
// rows run it (vector loads and double lanes instead of one scalar add chain).
template <class Op, class T>
constexpr bool sums_rows_v = std::is_same_v<T, float> && (std::is_same_v<Op, ReduceSumOp> || std::is_same_v<Op, ReduceMeanOp>);

// Rows summed per row-sum call when a second reduced dimension steps over contiguous rows.
constexpr int64_t kRowSumBatch = 64;

// Reduces the elements of x reachable from `x` through the reduced dimensions.
template <class Op, class T>
T reduce_one(const T* x, const DimList& reduced, RowSumsKernel row_sums) {
    auto accumulator = Op::template identity<T>();
    if (reduced.count == 0) return Op::template finish<T>(accumulator, 0);
    const int last = reduced.rank - 1;
    if (last < 0) return Op::template finish<T>(Op::template step<T>(accumulator, *x), 1);
    int64_t index[MLN_MAX_RANK] = {};
    int64_t offset = 0;
    const int64_t inner_size = reduced.shape[last];
    const int64_t inner_stride = reduced.x_strides[last];
    if constexpr (sums_rows_v<Op, T>) {
        if (inner_stride == 1) {
            // Contiguous rows: the row-sum kernel over the rows of the next dimension too (the
            // images of a conv bias gradient), kRowSumBatch a call, added in row order.
            const int rows_dim = last - 1;
            const int64_t rows = rows_dim >= 0 ? reduced.shape[rows_dim] : 1;
            const int64_t row_stride = rows_dim >= 0 ? reduced.x_strides[rows_dim] : 0;
            double sums[kRowSumBatch];
            do {
                for (int64_t r0 = 0; r0 < rows; r0 += kRowSumBatch) {
                    const int64_t count = std::min(kRowSumBatch, rows - r0);
                    row_sums(x + offset + r0 * row_stride, count, inner_size, row_stride, sums);
                    for (int64_t r = 0; r < count; ++r) accumulator += sums[r];
                }
            } while (rows_dim >= 0 && next_index(reduced, rows_dim, index, offset));
            return Op::template finish<T>(accumulator, reduced.count);
        }
    }
    do {
        const T* row = x + offset;
        if (inner_stride == 1) {
            for (int64_t i = 0; i < inner_size; ++i) accumulator = Op::template step<T>(accumulator, row[i]);
        } else {
            for (int64_t i = 0; i < inner_size; ++i) accumulator = Op::template step<T>(accumulator, row[i * inner_stride]);
        }
    } while (next_index(reduced, last, index, offset));
    return Op::template finish<T>(accumulator, reduced.count);
}

// Columns one task of reduce_columns accumulates: 512 B of each f32 row, enough for the hardware
// prefetcher to stream each row piece, and narrow enough that a [T*B, H] bias gradient with
// H = 256 still splits across two threads.
constexpr int64_t kColumnStrip = 128;

// Reduces outer dimensions of x into its contiguous innermost kept dimension (the columns; a bias
// gradient's sum over the rows of [N, H]). Walking output by output would read each column with
// the row stride, one cache line per element; instead each task streams the rows of a strip of
// columns and adds every row piece into a vector of accumulators. Each output still takes its
// values in the reduced dimensions' row-major order, the order reduce_one uses, so the results are
// the same bits whichever path, strip or thread count computes them.
template <class Op, class T>
void reduce_columns(const T* x_data, T* y_data, const DimList& kept, const DimList& reduced) {
    using Accumulator = typename Op::template Accumulator<T>;
    const int columns_dim = kept.rank - 1;
    const int64_t columns = kept.shape[columns_dim];
    const int64_t y_column_stride = kept.y_strides[columns_dim];
    const int64_t strips = (columns + kColumnStrip - 1) / kColumnStrip;
    const int64_t outer = kept.count / columns;
    // The innermost reduced dimension (the rows) is walked here; next_index steps the others.
    const int rows_dim = reduced.rank - 1;
    const int64_t rows = reduced.shape[rows_dim];
    const int64_t row_stride = reduced.x_strides[rows_dim];
    const int64_t grain = std::max<int64_t>(1, kReduceGrainElements / std::max<int64_t>(reduced.count * std::min(columns, kColumnStrip), 1));
    cpu::parallel_for(outer * strips, grain, [&](int64_t begin, int64_t end) {
        Accumulator accumulators[kColumnStrip];
        for (int64_t task = begin; task < end; ++task) {
            const int64_t first_column = (task % strips) * kColumnStrip;
            const int64_t width = std::min(kColumnStrip, columns - first_column);
            int64_t remainder = task / strips;
            int64_t x_offset = first_column;
            int64_t y_offset = first_column * y_column_stride;
            for (int d = columns_dim - 1; d >= 0; --d) {
                const int64_t i = remainder % kept.shape[d];
                remainder /= kept.shape[d];
                x_offset += i * kept.x_strides[d];
                y_offset += i * kept.y_strides[d];
            }
            std::fill_n(accumulators, width, Op::template identity<T>());
            int64_t index[MLN_MAX_RANK] = {};
            int64_t outer_offset = 0;
            do {
                const T* row = x_data + x_offset + outer_offset;
                int64_t r = 0;
                // Four rows per pass over the accumulators: a quarter of their loads and stores.
                for (; r + 4 <= rows; r += 4, row += 4 * row_stride) {
                    const T* row1 = row + row_stride;
                    const T* row2 = row1 + row_stride;
                    const T* row3 = row2 + row_stride;
                    for (int64_t j = 0; j < width; ++j) {
                        Accumulator a = Op::template step<T>(accumulators[j], row[j]);
                        a = Op::template step<T>(a, row1[j]);
                        a = Op::template step<T>(a, row2[j]);
                        accumulators[j] = Op::template step<T>(a, row3[j]);
                    }
                }
                for (; r < rows; ++r, row += row_stride) {
                    for (int64_t j = 0; j < width; ++j) accumulators[j] = Op::template step<T>(accumulators[j], row[j]);
                }
            } while (next_index(reduced, rows_dim, index, outer_offset));
            for (int64_t j = 0; j < width; ++j) {
                y_data[y_offset + j * y_column_stride] = Op::template finish<T>(accumulators[j], reduced.count);
            }
        }
    });
}

template <class Op, class T>
void reduce_typed(const ReduceArgs& args) {
    const TensorView& x = args.x;
    DimList kept;
    DimList reduced;
    for (int d = 0; d < x.rank; ++d) {
        DimList& list = ((args.reduced_axes >> d) & 1u) != 0 ? reduced : kept;
        list.count *= x.shape[d];
        if (x.shape[d] == 1) continue;
        // Merge into the previous dimension when that one steps over exactly this one.
        const int previous = list.rank - 1;
        if (&list == &reduced && previous >= 0 && list.x_strides[previous] == x.strides[d] * x.shape[d]) {
            list.shape[previous] *= x.shape[d];
            list.x_strides[previous] = x.strides[d];
            continue;
        }
        list.shape[list.rank] = x.shape[d];
        list.x_strides[list.rank] = x.strides[d];
        list.y_strides[list.rank] = args.y.strides[d];
        ++list.rank;
    }
    if (kept.count == 0) return;

    const T* x_data = static_cast<const T*>(x.data);
    T* y_data = static_cast<T*>(args.y.data);
    // Contiguous kept columns with every reduced element elsewhere: stream rows (an empty reduced
    // set has rank 0 and takes the per-output path, which writes the identities).
    if (kept.rank > 0 && kept.x_strides[kept.rank - 1] == 1 && reduced.rank > 0 && reduced.count > 0) {
        bool columns_contiguous = true;
        for (int d = 0; d < reduced.rank; ++d) columns_contiguous = columns_contiguous && reduced.x_strides[d] != 1;
        if (columns_contiguous) {
            reduce_columns<Op, T>(x_data, y_data, kept, reduced);
            return;
        }
    }
    const RowSumsKernel row_sums = row_sums_kernel(cpu::active_isa());
    const int64_t grain = std::max<int64_t>(1, kReduceGrainElements / std::max<int64_t>(reduced.count, 1));
    cpu::parallel_for(kept.count, grain, [&](int64_t begin, int64_t end) {
        for (int64_t output = begin; output < end; ++output) {
            int64_t remainder = output;
            int64_t x_offset = 0;
            int64_t y_offset = 0;
            for (int d = kept.rank - 1; d >= 0; --d) {
                const int64_t i = remainder % kept.shape[d];
                remainder /= kept.shape[d];
                x_offset += i * kept.x_strides[d];
                y_offset += i * kept.y_strides[d];
            }
            y_data[y_offset] = reduce_one<Op, T>(x_data + x_offset, reduced, row_sums);
        }
    });
}

}  // namespace

bool reduce_op_supports(mln_reduce_op op, mln_dtype dtype) {
    return visit_reduce_op(op, [&](auto op_struct) {
        using Op = decltype(op_struct);
        return visit_dtype(dtype, [](auto tag) { return Op::template supports<typename decltype(tag)::type>; });
    });
}

void reduce(const ReduceArgs& args) {
    visit_reduce_op(args.op, [&](auto op_struct) {
        using Op = decltype(op_struct);
        visit_dtype(args.x.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (Op::template supports<T>) {
                reduce_typed<Op, T>(args);
            } else {
                throw Error(MLN_STATUS_NOT_SUPPORTED,
                            cat(reduce_op_name(args.op), " is not supported for dtype ", dtype_name(args.x.dtype)));
            }
        });
    });
}

}  // namespace mln::kernels
