#include "kernels/cpu/elementwise/unary_ops.hpp"

#include "core/dtype.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

namespace mln::kernels {
namespace {

template <class Op, class T>
void unary_typed(const TensorView& x, const TensorView& y) {
    const auto loop = make_strided_loop<2>({&y, &x});
    run_strided_loop(loop, kElementwiseGrain, [](char* const* p, const int64_t* s, int64_t n) {
        if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
            T* out = reinterpret_cast<T*>(p[0]);
            const T* in = reinterpret_cast<const T*>(p[1]);
            for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(in[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) {
                *reinterpret_cast<T*>(p[0] + i * s[0]) = Op::apply(*reinterpret_cast<const T*>(p[1] + i * s[1]));
            }
        }
    });
}

}  // namespace

bool unary_op_supports(mln_unary_op op, mln_dtype dtype) {
    return visit_unary_op(op, [&](auto op_struct) {
        using Op = decltype(op_struct);
        return visit_dtype(dtype, [](auto tag) { return Op::template supports<typename decltype(tag)::type>; });
    });
}

void unary(mln_unary_op op, const TensorView& x, const TensorView& y) {
    visit_unary_op(op, [&](auto op_struct) {
        using Op = decltype(op_struct);
        visit_dtype(y.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (Op::template supports<T>) {
                unary_typed<Op, T>(x, y);
            } else {
                throw Error(MLN_STATUS_NOT_SUPPORTED,
                            cat(unary_op_name(op), " is not supported for dtype ", dtype_name(y.dtype)));
            }
        });
    });
}

}  // namespace mln::kernels
