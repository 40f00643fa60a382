// How a scatter combines an update with its target: one small struct per mln_scatter_reduction,
// and the one switch that turns the runtime value into a template instantiation.
#pragma once

#include <myelin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace mln::kernels {

// Integer arithmetic wraps (two's complement), as everywhere in the library.
template <class T, class Op>
T wrapping(T a, T b, Op op) {
    if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;
        return static_cast<T>(op(static_cast<U>(a), static_cast<U>(b)));
    } else {
        return op(a, b);
    }
}

struct ScatterAdd {
    template <class T>
    static T apply(T target, T update) { return wrapping(target, update, [](auto a, auto b) { return a + b; }); }
};
struct ScatterMul {
    template <class T>
    static T apply(T target, T update) { return wrapping(target, update, [](auto a, auto b) { return a * b; }); }
};
struct ScatterMax {
    template <class T>
    static T apply(T target, T update) { return std::max(target, update); }
};
struct ScatterMin {
    template <class T>
    static T apply(T target, T update) { return std::min(target, update); }
};

// Calls visitor(ScatterAdd{}) etc. with the element type T for a reduction other than NONE
// (which the kernels serve as a byte copy, for any dtype).
template <class Visitor>
void visit_scatter_reduction(mln_scatter_reduction reduction, mln_dtype dtype, Visitor&& visitor) {
    auto typed = [&](auto op) {
        switch (dtype) {
            case MLN_DTYPE_F32: return visitor(op, float{});
            case MLN_DTYPE_F64: return visitor(op, double{});
            case MLN_DTYPE_I32: return visitor(op, int32_t{});
            case MLN_DTYPE_I64: return visitor(op, int64_t{});
            default: break;
        }
        throw Error(MLN_STATUS_NOT_SUPPORTED, cat("scatter reductions other than none support f32, f64, i32 and i64, not ",
                                                  dtype_name(dtype)));
    };
    switch (reduction) {
        case MLN_SCATTER_REDUCTION_ADD: return typed(ScatterAdd{});
        case MLN_SCATTER_REDUCTION_MUL: return typed(ScatterMul{});
        case MLN_SCATTER_REDUCTION_MAX: return typed(ScatterMax{});
        case MLN_SCATTER_REDUCTION_MIN: return typed(ScatterMin{});
        case MLN_SCATTER_REDUCTION_NONE: break;
    }
    throw Error(MLN_STATUS_INTERNAL, cat("scatter reduction ", static_cast<int>(reduction), " reached a typed kernel"));
}

}  // namespace mln::kernels
