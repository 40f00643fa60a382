// One struct per reduce op: which element types it supports, its accumulator type, identity,
// step and final value. f32 sums and products accumulate in double for accuracy; integer sums
// and products wrap modulo 2^bits (they accumulate in the unsigned type); max/min propagate NaN.
#pragma once

#include <myelin.h>

#include <cmath>
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
    // -inf for floats: with the lowest finite value, the max of a set of -inf alone came out finite.
    template <class T>
    static T identity() {
        if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
        else return std::numeric_limits<T>::lowest();
    }
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
    static T identity() {
        if constexpr (std::numeric_limits<T>::has_infinity) return std::numeric_limits<T>::infinity();
        else return std::numeric_limits<T>::max();
    }
    template <class T>
    static T step(T accumulator, T value) { return (value != value || value < accumulator) ? value : accumulator; }
    template <class T>
    static T finish(T accumulator, int64_t) { return accumulator; }
};

struct ReduceProdOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    using Accumulator = SumAccumulator<T>;
    template <class T>
    static Accumulator<T> identity() { return 1; }
    template <class T>
    static Accumulator<T> step(Accumulator<T> accumulator, T value) {
        return accumulator * static_cast<Accumulator<T>>(value);
    }
    template <class T>
    static T finish(Accumulator<T> accumulator, int64_t) { return static_cast<T>(accumulator); }
};

// |x| of an integer in its unsigned type, so the most negative value wraps instead of overflowing.
template <class T>
SumAccumulator<T> magnitude(T value) {
    using A = SumAccumulator<T>;
    if constexpr (is_float_v<T>) return std::fabs(static_cast<A>(value));
    else return value < 0 ? A{0} - static_cast<A>(value) : static_cast<A>(value);
}

struct ReduceL1Op {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    using Accumulator = SumAccumulator<T>;
    template <class T>
    static Accumulator<T> identity() { return 0; }
    template <class T>
    static Accumulator<T> step(Accumulator<T> accumulator, T value) { return accumulator + magnitude(value); }
    template <class T>
    static T finish(Accumulator<T> accumulator, int64_t) { return static_cast<T>(accumulator); }
};

struct ReduceSumSquareOp {
    template <class T>
    static constexpr bool supports = is_float_v<T> || is_binary_int_v<T>;
    template <class T>
    using Accumulator = SumAccumulator<T>;
    template <class T>
    static Accumulator<T> identity() { return 0; }
    template <class T>
    static Accumulator<T> step(Accumulator<T> accumulator, T value) {
        const auto v = static_cast<Accumulator<T>>(value);
        return accumulator + v * v;
    }
    template <class T>
    static T finish(Accumulator<T> accumulator, int64_t) { return static_cast<T>(accumulator); }
};

struct ReduceL2Op {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
    template <class T>
    using Accumulator = double;
    template <class T>
    static double identity() { return 0.0; }
    template <class T>
    static double step(double accumulator, T value) { return accumulator + static_cast<double>(value) * value; }
    template <class T>
    static T finish(double accumulator, int64_t) { return static_cast<T>(std::sqrt(accumulator)); }
};

// log(sum e^x) in one pass: the sum is kept relative to the largest value seen so far and
// rescaled when a larger one arrives, so no e^x overflows. -inf contributes nothing, +inf
// gives +inf, NaN gives NaN.
struct LogSumExpAccumulator {
    double max;
    double sum;  // sum of e^(x - max)
};

struct ReduceLogSumExpOp {
    template <class T>
    static constexpr bool supports = is_float_v<T>;
    template <class T>
    using Accumulator = LogSumExpAccumulator;
    template <class T>
    static LogSumExpAccumulator identity() { return {-std::numeric_limits<double>::infinity(), 0.0}; }
    template <class T>
    static LogSumExpAccumulator step(LogSumExpAccumulator accumulator, T value) {
        const double v = value;
        if (v > accumulator.max) return {v, accumulator.sum * std::exp(accumulator.max - v) + 1.0};
        // Equal covers two infinities, whose difference would be NaN.
        if (v == accumulator.max) return {accumulator.max, accumulator.sum + 1.0};
        return {accumulator.max, accumulator.sum + std::exp(v - accumulator.max)};
    }
    template <class T>
    static T finish(LogSumExpAccumulator accumulator, int64_t) {
        return static_cast<T>(accumulator.max + std::log(accumulator.sum));
    }
};

// The last mln_reduce_op value, for loops over every op.
constexpr mln_reduce_op kLastReduceOp = MLN_REDUCE_OP_LOG_SUM_EXP;

template <class Visitor>
decltype(auto) visit_reduce_op(mln_reduce_op op, Visitor&& visitor) {
    switch (op) {
        case MLN_REDUCE_OP_SUM: return visitor(ReduceSumOp{});
        case MLN_REDUCE_OP_MEAN: return visitor(ReduceMeanOp{});
        case MLN_REDUCE_OP_MAX: return visitor(ReduceMaxOp{});
        case MLN_REDUCE_OP_MIN: return visitor(ReduceMinOp{});
        case MLN_REDUCE_OP_PROD: return visitor(ReduceProdOp{});
        case MLN_REDUCE_OP_L1: return visitor(ReduceL1Op{});
        case MLN_REDUCE_OP_L2: return visitor(ReduceL2Op{});
        case MLN_REDUCE_OP_SUM_SQUARE: return visitor(ReduceSumSquareOp{});
        case MLN_REDUCE_OP_LOG_SUM_EXP: return visitor(ReduceLogSumExpOp{});
    }
    throw Error(MLN_STATUS_INTERNAL, cat("unexpected reduce op ", static_cast<int>(op), " reached a kernel"));
}

bool reduce_op_supports(mln_reduce_op op, mln_dtype dtype);

// The orders of the calls along one axis, shared by the kernels and their reference twins.
// arg_reduce: whether `value` is strictly more extreme than the running `best`: larger (kMax)
// or smaller, NaN beating every number as in max and min.
template <bool kMax, class T>
bool more_extreme(T value, T best) {
    if (value != value) return best == best;
    return kMax ? value > best : value < best;
}

// top_k: whether a ranks strictly above b: larger, NaN above every number.
template <class T>
bool ranks_above(T a, T b) {
    return a != a ? b == b : a > b;
}

}  // namespace mln::kernels
