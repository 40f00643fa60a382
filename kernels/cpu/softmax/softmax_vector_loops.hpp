// The softmax row kernels, written once over the vector traits W of one ISA; include only from
// the *_avx2.cpp / *_avx512.cpp file that instantiates them. Same arithmetic as the scalar row
// code in softmax.cpp (shift by the row maximum, exp of vector_math.hpp, sums in double, one
// scale), only the order of the double additions differs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/common/vector_math.hpp"
#include "kernels/cpu/softmax/softmax_vector.hpp"

namespace mln::kernels::softmax_loops {

// f(i, count) for each vector of the row: count = W::kLanes but in the tail.
template <class W, class F>
void for_vectors(int64_t n, F&& f) {
    for (int64_t i = 0; i < n; i += W::kLanes) f(i, static_cast<int>(std::min<int64_t>(W::kLanes, n - i)));
}

// The first `count` lanes from p, the others `fill`.
template <class W>
typename W::V load_lanes(const float* p, int count, float fill) {
    if (count == W::kLanes) return W::load(p);
    alignas(64) float buffer[W::kLanes];
    for (int k = 0; k < W::kLanes; ++k) buffer[k] = k < count ? p[k] : fill;
    return W::load(buffer);
}

// Stores the first `count` lanes of v at y.
template <class W>
void store_lanes(float* y, typename W::V v, int count) {
    if (count == W::kLanes) return W::store(y, v);
    alignas(64) float buffer[W::kLanes];
    W::store(buffer, v);
    for (int k = 0; k < count; ++k) y[k] = buffer[k];
}

template <class W>
bool forward_row(bool log, const float* x, float* y, int64_t n) {
    using V = typename W::V;
    // x * 0 is NaN exactly for NaN and infinite x: one sum tells whether the row is ordinary.
    V max = W::set1(x[0]);
    V special = W::zero();
    for_vectors<W>(n, [&](int64_t i, int count) {
        const V v = load_lanes<W>(x + i, count, x[0]);
        max = W::max(max, v);
        special = W::add(special, W::mul(v, W::zero()));
    });
    typename W::DoubleSum special_sum;
    W::accumulate(special_sum, special);
    if (std::isnan(W::total(special_sum))) return false;
    const V row_max = W::set1(W::reduce_max(max));

    // Padding lanes are -inf: their exp is 0.
    typename W::DoubleSum sum;
    for_vectors<W>(n, [&](int64_t i, int count) {
        const V e = vmath::exp<W>(W::sub(load_lanes<W>(x + i, count, -std::numeric_limits<float>::infinity()), row_max));
        W::accumulate(sum, e);
        if (!log) store_lanes<W>(y + i, e, count);
    });
    const double total = W::total(sum);
    if (!log) {
        const V scale = W::set1(static_cast<float>(1.0 / total));
        for_vectors<W>(n, [&](int64_t i, int count) { store_lanes<W>(y + i, W::mul(load_lanes<W>(y + i, count, 0.0f), scale), count); });
    } else {
        const V log_sum = W::set1(static_cast<float>(std::log(total)));
        for_vectors<W>(n, [&](int64_t i, int count) {
            store_lanes<W>(y + i, W::sub(W::sub(load_lanes<W>(x + i, count, 0.0f), row_max), log_sum), count);
        });
    }
    return true;
}

// Padding lanes of dy are 0, so they add nothing to the sums.
template <class W>
void backward_row(bool log, const float* y, const float* dy, float* dx, int64_t n) {
    using V = typename W::V;
    typename W::DoubleSum sum;
    if (!log) {
        // s = sum dy y; dx = y (dy - s).
        for_vectors<W>(n, [&](int64_t i, int count) {
            W::accumulate(sum, W::mul(load_lanes<W>(dy + i, count, 0.0f), load_lanes<W>(y + i, count, 0.0f)));
        });
        const V s = W::set1(static_cast<float>(W::total(sum)));
        for_vectors<W>(n, [&](int64_t i, int count) {
            const V g = load_lanes<W>(dy + i, count, 0.0f);
            store_lanes<W>(dx + i, W::mul(load_lanes<W>(y + i, count, 0.0f), W::sub(g, s)), count);
        });
    } else {
        // s = sum dy; dx = dy - e^y s.
        for_vectors<W>(n, [&](int64_t i, int count) { W::accumulate(sum, load_lanes<W>(dy + i, count, 0.0f)); });
        const V s = W::set1(static_cast<float>(W::total(sum)));
        for_vectors<W>(n, [&](int64_t i, int count) {
            const V g = load_lanes<W>(dy + i, count, 0.0f);
            store_lanes<W>(dx + i, W::fnmadd(vmath::exp<W>(load_lanes<W>(y + i, count, 0.0f)), s, g), count);
        });
    }
}

template <class W>
SoftmaxKernelsF32 kernels() {
    return {&forward_row<W>, &backward_row<W>};
}

}  // namespace mln::kernels::softmax_loops
