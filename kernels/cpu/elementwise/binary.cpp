#include "kernels/cpu/elementwise/binary_ops.hpp"

#include <type_traits>

#include "core/dtype.hpp"
#include "core/names.hpp"
#include "cpu/isa.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/elementwise/elementwise_vector.hpp"

namespace mln::kernels {
namespace {

template <class Op, class T>
void binary_typed(mln_binary_op code, const TensorView& a, const TensorView& b, const TensorView& y) {
    using Out = result_t<Op, T>;
    BinaryKernel<T> vector_kernel = nullptr;
    if constexpr (std::is_same_v<Out, T> && is_float_v<T>) vector_kernel = vector_binary<T>(cpu::active_isa(), code);
    const bool stream = y.element_count * static_cast<int64_t>(sizeof(Out)) >= kStreamingStoreBytes;
    const auto loop = make_strided_loop<3>({&y, &a, &b});
    run_strided_loop(loop, kElementwiseGrain, [&](char* const* p, const int64_t* s, int64_t n) {
        Out* out = reinterpret_cast<Out*>(p[0]);
        const T* lhs = reinterpret_cast<const T*>(p[1]);
        const T* rhs = reinterpret_cast<const T*>(p[2]);
        constexpr int64_t size = sizeof(T);
        const bool out_contiguous = s[0] == static_cast<int64_t>(sizeof(Out));
        if constexpr (std::is_same_v<Out, T> && is_float_v<T>) {
            if (vector_kernel != nullptr && out_contiguous && (s[1] == size || s[1] == 0) &&
                (s[2] == size || s[2] == 0) && (s[1] | s[2]) != 0) {
                return vector_kernel(lhs, s[1] / size, rhs, s[2] / size, out, n, stream);
            }
        }
        if (out_contiguous && s[1] == size && s[2] == size) {
            for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(lhs[i], rhs[i]);
        } else if (out_contiguous && s[1] == size && s[2] == 0) {  // tensor op scalar
            const T scalar = *rhs;
            for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(lhs[i], scalar);
        } else if (out_contiguous && s[1] == 0 && s[2] == size) {  // scalar op tensor
            const T scalar = *lhs;
            for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(scalar, rhs[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) {
                *reinterpret_cast<Out*>(p[0] + i * s[0]) = Op::apply(*reinterpret_cast<const T*>(p[1] + i * s[1]),
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

bool binary_op_returns_bool(mln_binary_op op) {
    return visit_binary_op(op, [](auto op_struct) {
        return std::is_same_v<result_t<decltype(op_struct), float>, Bool8>;
    });
}

void binary(mln_binary_op op, const TensorView& a, const TensorView& b, const TensorView& y) {
    visit_binary_op(op, [&](auto op_struct) {
        using Op = decltype(op_struct);
        visit_dtype(a.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (Op::template supports<T>) {
                binary_typed<Op, T>(op, a, b, y);
            } else {
                throw Error(MLN_STATUS_NOT_SUPPORTED,
                            cat(binary_op_name(op), " is not supported for dtype ", dtype_name(a.dtype)));
            }
        });
    });
}

}  // namespace mln::kernels
