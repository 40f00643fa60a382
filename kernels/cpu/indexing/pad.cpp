// Pad (constant, reflect, edge) and crop (negative pads) in one pass over y: each output row
// (all dimensions but the last) maps to one source row of x, or to the constant.
#include <algorithm>

#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/nn_kernels.hpp"

namespace mln::kernels {
namespace {

// Source coordinate of output coordinate `out` along a dimension of size `size`, or -1 for
// the constant. Validation guarantees reflect and edge sources stay in range.
int64_t source_coordinate(mln_pad_mode mode, int64_t out, int64_t begin, int64_t size) {
    const int64_t j = out - begin;
    if (j >= 0 && j < size) return j;
    switch (mode) {
        case MLN_PAD_MODE_CONSTANT: return -1;
        case MLN_PAD_MODE_REFLECT: return j < 0 ? -j : 2 * (size - 1) - j;
        case MLN_PAD_MODE_EDGE: return j < 0 ? 0 : size - 1;
    }
    return -1;
}

template <class T>
void pad_typed(const PadArgs& a) {
    const int32_t rank = a.x.rank;
    const T* x = static_cast<const T*>(a.x.data);
    T* y = static_cast<T*>(a.y.data);
    const T fill = convert_element<T>(a.value);
    if (rank == 0) {
        y[0] = x[0];
        return;
    }
    const int64_t width = a.y.shape[rank - 1];
    const int64_t x_width = a.x.shape[rank - 1];
    const int64_t rows = width == 0 ? 0 : a.y.element_count / width;
    cpu::parallel_for(rows, std::max<int64_t>(1, 2048 / std::max<int64_t>(width, 1)), [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            T* out = y + row * width;
            // Source row: walk the leading dimensions from the last one up.
            int64_t source_row = 0;
            int64_t x_stride = 1;
            bool constant = false;
            int64_t rest = row;
            for (int32_t d = rank - 2; d >= 0; --d) {
                const int64_t coordinate = rest % a.y.shape[d];
                rest /= a.y.shape[d];
                const int64_t source = source_coordinate(a.mode, coordinate, a.pad_begin[d], a.x.shape[d]);
                if (source < 0) {
                    constant = true;
                    break;
                }
                source_row += source * x_stride;
                x_stride *= a.x.shape[d];
            }
            if (constant) {
                std::fill(out, out + width, fill);
                continue;
            }
            const T* in = x + source_row * x_width;
            const int64_t begin_pad = a.pad_begin[rank - 1];
            for (int64_t i = 0; i < width; ++i) {
                const int64_t source = source_coordinate(a.mode, i, begin_pad, x_width);
                out[i] = source < 0 ? fill : in[source];
            }
        }
    });
}

}  // namespace

void pad(const PadArgs& args) {
    visit_dtype(args.x.dtype, [&](auto tag) { pad_typed<typename decltype(tag)::type>(args); });
}

}  // namespace mln::kernels
