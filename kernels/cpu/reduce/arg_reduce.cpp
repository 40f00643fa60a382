// Position of the maximum or minimum along one axis of a contiguous x (outer x size x inner).
// A contiguous axis (inner == 1) is one scan per row; otherwise each task keeps a block of
// inner positions' running extremes and walks the axis over whole contiguous blocks, so memory
// is read in order whichever axis is reduced.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/dtype.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/reduce/reduce_ops.hpp"

namespace mln::kernels {
namespace {

// Inner positions one task tracks at once.
constexpr int64_t kInnerBlock = 256;
// Elements read per parallel task, at least.
constexpr int64_t kArgGrainElements = 32768;

template <bool kMax, class T>
void arg_reduce_typed(const ArgReduceArgs& args) {
    const AxisLayout& layout = args.layout;
    const T* x = static_cast<const T*>(args.x.data);
    auto* y = static_cast<int64_t*>(args.y.data);
    const bool last = args.select_last_index;
    // Whether `value` at a later position replaces `best`.
    auto replaces = [last](T value, T best) {
        return last ? !more_extreme<kMax>(best, value) : more_extreme<kMax>(value, best);
    };
    if (layout.outer * layout.inner == 0) return;
    if (layout.inner == 1) {
        const int64_t grain = std::max<int64_t>(1, kArgGrainElements / std::max<int64_t>(layout.size, 1));
        cpu::parallel_for(layout.outer, grain, [&](int64_t begin, int64_t end) {
            for (int64_t row = begin; row < end; ++row) {
                const T* values = x + row * layout.size;
                int64_t best = 0;
                for (int64_t i = 1; i < layout.size; ++i) {
                    if (replaces(values[i], values[best])) best = i;
                }
                y[row] = best;
            }
        });
        return;
    }
    const int64_t blocks_per_outer = (layout.inner + kInnerBlock - 1) / kInnerBlock;
    const int64_t block_elements = std::min(layout.inner, kInnerBlock) * std::max<int64_t>(layout.size, 1);
    const int64_t grain = std::max<int64_t>(1, kArgGrainElements / block_elements);
    cpu::parallel_for(layout.outer * blocks_per_outer, grain, [&](int64_t begin, int64_t end) {
        T best[kInnerBlock];
        int64_t best_index[kInnerBlock];
        for (int64_t unit = begin; unit < end; ++unit) {
            const int64_t o = unit / blocks_per_outer;
            const int64_t j0 = (unit % blocks_per_outer) * kInnerBlock;
            const int64_t width = std::min(kInnerBlock, layout.inner - j0);
            const T* plane = x + o * layout.size * layout.inner + j0;
            for (int64_t j = 0; j < width; ++j) {
                best[j] = plane[j];
                best_index[j] = 0;
            }
            for (int64_t i = 1; i < layout.size; ++i) {
                const T* row = plane + i * layout.inner;
                for (int64_t j = 0; j < width; ++j) {
                    if (replaces(row[j], best[j])) {
                        best[j] = row[j];
                        best_index[j] = i;
                    }
                }
            }
            std::copy(best_index, best_index + width, y + o * layout.inner + j0);
        }
    });
}

}  // namespace

void arg_reduce(const ArgReduceArgs& args) {
    visit_dtype(args.x.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (ReduceMaxOp::supports<T>) {
            if (args.op == MLN_REDUCE_OP_MAX) arg_reduce_typed<true, T>(args);
            else arg_reduce_typed<false, T>(args);
        } else {
            throw Error(MLN_STATUS_NOT_SUPPORTED, cat("arg_reduce is not supported for dtype ", dtype_name(args.x.dtype)));
        }
    });
}

}  // namespace mln::kernels
