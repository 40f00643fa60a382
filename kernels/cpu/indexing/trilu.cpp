// Trilu: each row i of each matrix keeps one contiguous run of columns (j >= i + k for upper,
// j <= i + k for lower) and zeroes the rest, so a row is one memcpy and up to two memsets.
#include <algorithm>
#include <cstring>

#include "core/dtype.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/nn_kernels.hpp"

namespace mln::kernels {

void trilu(const TriluArgs& args) {
    const int32_t r = args.x.rank;
    const int64_t rows = args.x.shape[r - 2];
    const int64_t columns = args.x.shape[r - 1];
    const size_t element = dtype_size(args.x.dtype);
    const int64_t total_rows = columns == 0 ? 0 : args.x.element_count / columns;
    const char* x = static_cast<const char*>(args.x.data);
    char* y = static_cast<char*>(args.y.data);
    cpu::parallel_for(total_rows, 64, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            const int64_t i = row % rows;
            // Kept columns [first, last), clamped to the row.
            const int64_t first = args.upper ? std::clamp<int64_t>(i + args.k, 0, columns) : 0;
            const int64_t last = args.upper ? columns : std::clamp<int64_t>(i + args.k + 1, 0, columns);
            const size_t base = static_cast<size_t>(row * columns) * element;
            std::memset(y + base, 0, static_cast<size_t>(first) * element);
            if (last > first) {
                std::memcpy(y + base + static_cast<size_t>(first) * element, x + base + static_cast<size_t>(first) * element,
                            static_cast<size_t>(last - first) * element);
            }
            std::memset(y + base + static_cast<size_t>(std::max(first, last)) * element, 0,
                        static_cast<size_t>(columns - std::max(first, last)) * element);
        }
    });
}

}  // namespace mln::kernels
