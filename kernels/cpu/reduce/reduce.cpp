#include "kernels/cpu/reduce/reduce_ops.hpp"

#include <algorithm>

#include "core/dtype.hpp"
#include "core/names.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

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

// Reduces the elements of x reachable from `x` through the reduced dimensions.
template <class Op, class T>
T reduce_one(const T* x, const DimList& reduced) {
    auto accumulator = Op::template identity<T>();
    if (reduced.count == 0) return Op::template finish<T>(accumulator, 0);
    const int last = reduced.rank - 1;
    if (last < 0) return Op::template finish<T>(Op::template step<T>(accumulator, *x), 1);
    int64_t index[MLN_MAX_RANK] = {};
    const int64_t inner_size = reduced.shape[last];
    const int64_t inner_stride = reduced.x_strides[last];
    for (;;) {
        if (inner_stride == 1) {
            for (int64_t i = 0; i < inner_size; ++i) accumulator = Op::template step<T>(accumulator, x[i]);
        } else {
            for (int64_t i = 0; i < inner_size; ++i) accumulator = Op::template step<T>(accumulator, x[i * inner_stride]);
        }
        int d = last - 1;
        for (; d >= 0; --d) {
            x += reduced.x_strides[d];
            if (++index[d] < reduced.shape[d]) break;
            x -= reduced.shape[d] * reduced.x_strides[d];
            index[d] = 0;
        }
        if (d < 0) break;
    }
    return Op::template finish<T>(accumulator, reduced.count);
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
            y_data[y_offset] = reduce_one<Op, T>(x_data + x_offset, reduced);
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
