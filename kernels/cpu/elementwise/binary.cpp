#include "kernels/cpu/elementwise/binary_ops.hpp"

#include "core/dtype.hpp"
#include "core/names.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

namespace mln::kernels {
namespace {

template <class Op, class T>
void binary_typed(const TensorView& a, const TensorView& b, const TensorView& y) {
    const auto loop = make_strided_loop<3>({&y, &a, &b});
    run_strided_loop(loop, kElementwiseGrain, [](char* const* p, const int64_t* s, int64_t n) {
        T* out = reinterpret_cast<T*>(p[0]);
        const T* lhs = reinterpret_cast<const T*>(p[1]);
        const T* rhs = reinterpret_cast<const T*>(p[2]);
        constexpr int64_t size = sizeof(T);
        if (s[0] == size && s[1] == size && s[2] == size) {
            for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(lhs[i], rhs[i]);
        } else if (s[0] == size && s[1] == size && s[2] == 0) {  // tensor op scalar
            const T scalar = *rhs;
            for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(lhs[i], scalar);
        } else if (s[0] == size && s[1] == 0 && s[2] == size) {  // scalar op tensor
            const T scalar = *lhs;
            for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(scalar, rhs[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) {
                *reinterpret_cast<T*>(p[0] + i * s[0]) = Op::apply(*reinterpret_cast<const T*>(p[1] + i * s[1]),
                                                                   *reinterpret_cast<const T*>(p[2] + i * s[2]));
            }
        }
    });
}

}  // namespace

bool binary_op_supports(mln_binary_op op, mln_dtype dtype) {
    return visit_binary_op(op, [&](auto op_struct) {
        using Op = decltype(op_struct);
        return visit_dtype(dtype, [](auto tag) { return Op::template supports<typename decltype(tag)::type>; });
    });
}

void binary(mln_binary_op op, const TensorView& a, const TensorView& b, const TensorView& y) {
    visit_binary_op(op, [&](auto op_struct) {
        using Op = decltype(op_struct);
        visit_dtype(y.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (Op::template supports<T>) {
                binary_typed<Op, T>(a, b, y);
            } else {
                throw Error(MLN_STATUS_NOT_SUPPORTED,
                            cat(binary_op_name(op), " is not supported for dtype ", dtype_name(y.dtype)));
            }
        });
    });
}

}  // namespace mln::kernels
