// Cumulative sum along one axis of a contiguous x (outer x size x inner). Each task walks the
// axis (forward, or backward for reverse) over a block of inner positions, keeping one running
// sum per position in the reduce family's accumulator (double for floats, wrapping unsigned
// for integers), so memory is read in order whichever axis is scanned.
#include <algorithm>
#include <cstdint>

#include "core/dtype.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/reduce/reduce_ops.hpp"

namespace mln::kernels {
namespace {

// Inner positions one task scans at once.
constexpr int64_t kInnerBlock = 256;
// Elements per parallel task, at least.
constexpr int64_t kScanGrainElements = 32768;

template <class T>
void cumsum_typed(const CumSumArgs& args) {
    using Accumulator = SumAccumulator<T>;
    const AxisLayout& layout = args.layout;
    if (args.x.element_count == 0) return;
    const T* x = static_cast<const T*>(args.x.data);
    T* y = static_cast<T*>(args.y.data);
    const int64_t blocks_per_outer = (layout.inner + kInnerBlock - 1) / kInnerBlock;
    const int64_t grain =
        std::max<int64_t>(1, kScanGrainElements / (std::min(layout.inner, kInnerBlock) * layout.size));
    cpu::parallel_for(layout.outer * blocks_per_outer, grain, [&](int64_t begin, int64_t end) {
        Accumulator sums[kInnerBlock];
        for (int64_t unit = begin; unit < end; ++unit) {
            const int64_t o = unit / blocks_per_outer;
            const int64_t j0 = (unit % blocks_per_outer) * kInnerBlock;
            const int64_t width = std::min(kInnerBlock, layout.inner - j0);
            const int64_t plane = o * layout.size * layout.inner + j0;
            std::fill(sums, sums + width, Accumulator{0});
            for (int64_t step = 0; step < layout.size; ++step) {
                const int64_t i = args.reverse ? layout.size - 1 - step : step;
                const T* source = x + plane + i * layout.inner;
                T* target = y + plane + i * layout.inner;
                for (int64_t j = 0; j < width; ++j) {
                    const auto value = static_cast<Accumulator>(source[j]);
                    if (args.exclusive) {
                        target[j] = static_cast<T>(sums[j]);
                        sums[j] += value;
                    } else {
                        sums[j] += value;
                        target[j] = static_cast<T>(sums[j]);
                    }
                }
            }
        }
    });
}

}  // namespace

void cumsum(const CumSumArgs& args) {
    visit_dtype(args.x.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (ReduceSumOp::supports<T>) {
            cumsum_typed<T>(args);
        } else {
            throw Error(MLN_STATUS_NOT_SUPPORTED, cat("cumsum is not supported for dtype ", dtype_name(args.x.dtype)));
        }
    });
}

}  // namespace mln::kernels
