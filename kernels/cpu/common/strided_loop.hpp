// The one N-d loop driver all elementwise kernels share.
//
// Operands are views of one common shape (inputs already broadcast: stride 0 on stretched
// dimensions). The driver simplifies the iteration space before running it:
//  - drops size-1 dimensions,
//  - flips dimensions where the output stride is negative (for every operand at once, so the
//    element correspondence is unchanged),
//  - orders dimensions by the output's stride so memory is walked in the output's order,
//  - merges neighbouring dimensions that are contiguous for every operand,
// then splits the flattened index range across the thread pool. The innermost dimension is
// handed to an inner function as (pointers, byte strides, count), so an op sees one long run
// and can take a contiguous fast path when all strides equal the element size.
#pragma once

#include <myelin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>

#include "core/dtype.hpp"
#include "core/tensor_view.hpp"
#include "cpu/thread_pool.hpp"

namespace mln::kernels {

// Elements per parallel chunk for cheap elementwise work; below this a call runs inline.
constexpr int64_t kElementwiseGrain = 32768;

template <int N>
struct StridedLoop {
    int rank = 0;  // after simplification; at least 1 when element_count > 0
    int64_t shape[MLN_MAX_RANK] = {};
    int64_t byte_strides[N][MLN_MAX_RANK] = {};
    char* base[N] = {};
    int64_t element_count = 0;
};

// operands[0] decides the iteration order (the output); all operands have its shape.
template <int N>
StridedLoop<N> make_strided_loop(const std::array<const TensorView*, N>& operands) {
    const TensorView& first = *operands[0];
    StridedLoop<N> loop;
    loop.element_count = first.element_count;
    for (int k = 0; k < N; ++k) loop.base[k] = static_cast<char*>(operands[k]->data);
    if (loop.element_count == 0) return loop;

    int rank = 0;
    for (int d = 0; d < first.rank; ++d) {
        if (first.shape[d] == 1) continue;
        loop.shape[rank] = first.shape[d];
        for (int k = 0; k < N; ++k) {
            const auto size = static_cast<int64_t>(dtype_size(operands[k]->dtype));
            loop.byte_strides[k][rank] = operands[k]->strides[d] * size;
        }
        if (loop.byte_strides[0][rank] < 0) {
            for (int k = 0; k < N; ++k) {
                loop.base[k] += (loop.shape[rank] - 1) * loop.byte_strides[k][rank];
                loop.byte_strides[k][rank] = -loop.byte_strides[k][rank];
            }
        }
        ++rank;
    }

    // Insertion sort, largest output stride first (stable, so ties keep their given order).
    for (int i = 1; i < rank; ++i) {
        for (int j = i; j > 0 && loop.byte_strides[0][j - 1] < loop.byte_strides[0][j]; --j) {
            std::swap(loop.shape[j - 1], loop.shape[j]);
            for (int k = 0; k < N; ++k) std::swap(loop.byte_strides[k][j - 1], loop.byte_strides[k][j]);
        }
    }

    // Merge dimension d+1 into d when stepping d equals stepping over all of d+1, for everyone.
    int merged = 0;
    for (int d = 0; d < rank; ++d) {
        if (merged > 0) {
            bool contiguous = true;
            for (int k = 0; k < N; ++k) {
                contiguous = contiguous && loop.byte_strides[k][merged - 1] == loop.byte_strides[k][d] * loop.shape[d];
            }
            if (contiguous) {
                loop.shape[merged - 1] *= loop.shape[d];
                for (int k = 0; k < N; ++k) loop.byte_strides[k][merged - 1] = loop.byte_strides[k][d];
                continue;
            }
        }
        loop.shape[merged] = loop.shape[d];
        for (int k = 0; k < N; ++k) loop.byte_strides[k][merged] = loop.byte_strides[k][d];
        ++merged;
    }
    if (merged == 0) {  // a single element
        loop.shape[0] = 1;
        for (int k = 0; k < N; ++k) loop.byte_strides[k][0] = 0;
        merged = 1;
    }
    loop.rank = merged;
    return loop;
}

// Runs inner(pointers, byte_strides, count) over the flattened indices [begin, end).
template <int N, class Inner>
void run_strided_range(const StridedLoop<N>& loop, int64_t begin, int64_t end, Inner& inner) {
    const int last = loop.rank - 1;
    int64_t index[MLN_MAX_RANK] = {};
    char* pointers[N];
    for (int k = 0; k < N; ++k) pointers[k] = loop.base[k];
    int64_t remainder = begin;
    for (int d = last; d >= 0; --d) {
        index[d] = remainder % loop.shape[d];
        remainder /= loop.shape[d];
        for (int k = 0; k < N; ++k) pointers[k] += index[d] * loop.byte_strides[k][d];
    }
    int64_t inner_strides[N];
    for (int k = 0; k < N; ++k) inner_strides[k] = loop.byte_strides[k][last];

    for (int64_t position = begin; position < end;) {
        const int64_t count = std::min(loop.shape[last] - index[last], end - position);
        inner(pointers, static_cast<const int64_t*>(inner_strides), count);
        position += count;
        if (position >= end) break;
        // Advance the odometer by `count` in the last dimension, carrying outward.
        for (int k = 0; k < N; ++k) pointers[k] += count * inner_strides[k];
        index[last] += count;
        for (int d = last; d > 0 && index[d] == loop.shape[d]; --d) {
            index[d] = 0;
            index[d - 1] += 1;
            for (int k = 0; k < N; ++k) {
                pointers[k] += loop.byte_strides[k][d - 1] - loop.shape[d] * loop.byte_strides[k][d];
            }
        }
    }
}

// Runs the loop on the thread pool; grain is the smallest number of elements worth a task.
template <int N, class Inner>
void run_strided_loop(const StridedLoop<N>& loop, int64_t grain, Inner&& inner) {
    if (loop.element_count == 0) return;
    cpu::parallel_for(loop.element_count, grain,
                      [&](int64_t begin, int64_t end) { run_strided_range(loop, begin, end, inner); });
}

}  // namespace mln::kernels
