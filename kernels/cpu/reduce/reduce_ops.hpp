// One struct per reduce op: which element types it supports, its accumulator type, identity,
// step and final value. f32 sums accumulate in double for accuracy; integer sums wrap modulo
// 2^bits (they accumulate in the unsigned type); max/min propagate NaN.
#pragma once

#include <myelin.h>

#include <limits>
#include <type_traits>

#include "core/error.hpp"
#include "core/text.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/elementwise/binary_ops.hpp"

namespace mln::kernels {

namespace detail {
template <class T>
struct SumAccumulatorOf {
    using type = std::make_unsigned_t<T>;
};
template <>
struct SumAccumulatorOf<float> {
    using type = double;
};
template <>
struct SumAccumulatorOf<double> {
    using type = double;
};
}  // namespace detail

template <class T>
using SumAccumulator = typename detail::SumAccumulatorOf<T>::type;

struct ReduceSumOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    using Accumulator = SumAccumulator<T>;
    template <class T>
    static Accumulator<T> identity() { return 0; }
    template <class T>
    static Accumulator<T> step(Accumulator<T> accumulator, T value) {
        return accumulator + static_cast<Accumulator<T>>(value);
    }
    template <class T>
    static T finish(Accumulator<T> accumulator, int64_t) { return static_cast<T>(accumulator); }
};

// Mean of an empty set is 0/0 = NaN.
struct ReduceMeanOp {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
    template <class T>
    using Accumulator = double;
    template <class T>
    static double identity() { return 0.0; }
    template <class T>
    static double step(double accumulator, T value) { return accumulator + value; }
    template <class T>
    static T finish(double accumulator, int64_t count) {
        return static_cast<T>(accumulator / static_cast<double>(count));
    }
};

struct ReduceMaxOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    using Accumulator = T;
    template <class T>
    static T identity() { return std::numeric_limits<T>::lowest(); }
    // Once the accumulator is NaN no comparison is true, so it stays NaN.
    template <class T>
    static T step(T accumulator, T value) { return (value != value || value > accumulator) ? value : accumulator; }
    template <class T>
    static T finish(T accumulator, int64_t) { return accumulator; }
};

struct ReduceMinOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    using Accumulator = T;
    template <class T>
    static T identity() { return std::numeric_limits<T>::max(); }
    template <class T>
    static T step(T accumulator, T value) { return (value != value || value < accumulator) ? value : accumulator; }
    template <class T>
    static T finish(T accumulator, int64_t) { return accumulator; }
};

template <class Visitor>
decltype(auto) visit_reduce_op(mln_reduce_op op, Visitor&& visitor) {
    switch (op) {
        case MLN_REDUCE_OP_SUM: return visitor(ReduceSumOp{});
        case MLN_REDUCE_OP_MEAN: return visitor(ReduceMeanOp{});
        case MLN_REDUCE_OP_MAX: return visitor(ReduceMaxOp{});
        case MLN_REDUCE_OP_MIN: return visitor(ReduceMinOp{});
    }
    throw Error(MLN_STATUS_INTERNAL, cat("unexpected reduce op ", static_cast<int>(op), " reached a kernel"));
}

bool reduce_op_supports(mln_reduce_op op, mln_dtype dtype);

}  // namespace mln::kernels
