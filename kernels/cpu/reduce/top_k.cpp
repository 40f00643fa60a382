// The k most extreme values along one axis of a contiguous x (outer x size x inner), with their
// positions. Each row (one (outer, inner) position) is copied to a scratch list of positions,
// partially sorted by (rank, position) so ties keep x's order, and its first k written out.
// Rows are split across the pool.
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

// Elements read per parallel task, at least.
constexpr int64_t kTopKGrainElements = 16384;

template <class T>
void top_k_typed(const TopKArgs& args) {
    const AxisLayout& layout = args.layout;
    const int64_t rows = layout.outer * layout.inner;
    if (rows == 0 || args.k == 0) return;
    const T* x = static_cast<const T*>(args.x.data);
    T* values = static_cast<T*>(args.values.data);
    auto* indices = static_cast<int64_t*>(args.indices.data);
    const int64_t k = args.k;
    const bool largest = args.largest;
    const int64_t grain = std::max<int64_t>(1, kTopKGrainElements / std::max<int64_t>(layout.size, 1));
    cpu::parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
        std::vector<T> row(static_cast<size_t>(layout.size));
        std::vector<int64_t> order(static_cast<size_t>(layout.size));
        for (int64_t r = begin; r < end; ++r) {
            const int64_t o = r / layout.inner;
            const int64_t j = r % layout.inner;
            const T* source = x + o * layout.size * layout.inner + j;
            for (int64_t i = 0; i < layout.size; ++i) {
                row[static_cast<size_t>(i)] = source[i * layout.inner];
                order[static_cast<size_t>(i)] = i;
            }
            auto precedes = [&](int64_t a, int64_t b) {
                const T va = row[static_cast<size_t>(a)];
                const T vb = row[static_cast<size_t>(b)];
                if (largest ? ranks_above(va, vb) : ranks_above(vb, va)) return true;
                if (largest ? ranks_above(vb, va) : ranks_above(va, vb)) return false;
                return a < b;
            };
            std::partial_sort(order.begin(), order.begin() + k, order.end(), precedes);
            const int64_t out = o * k * layout.inner + j;
            for (int64_t i = 0; i < k; ++i) {
                const int64_t position = order[static_cast<size_t>(i)];
                values[out + i * layout.inner] = row[static_cast<size_t>(position)];
                indices[out + i * layout.inner] = position;
            }
        }
    });
}

}  // namespace

void top_k(const TopKArgs& args) {
    visit_dtype(args.x.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (ReduceMaxOp::supports<T>) {
            top_k_typed<T>(args);
        } else {
            throw Error(MLN_STATUS_NOT_SUPPORTED, cat("top_k is not supported for dtype ", dtype_name(args.x.dtype)));
        }
    });
}

}  // namespace mln::kernels
