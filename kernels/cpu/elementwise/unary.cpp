#include "kernels/cpu/elementwise/unary_ops.hpp"

#include <type_traits>

#include "core/dtype.hpp"
#include "cpu/isa.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/elementwise/elementwise_vector.hpp"

namespace mln::kernels {
namespace {

template <class Op, class T>
void unary_typed(const Op& op, mln_unary_op code, double alpha, double beta, const TensorView& x,
                 const TensorView& y) {
    UnaryKernelF32 vector_kernel = nullptr;
    if constexpr (std::is_same_v<T, float>) vector_kernel = vector_unary_f32(cpu::active_isa(), code);
    const bool stream = y.element_count * static_cast<int64_t>(sizeof(T)) >= kStreamingStoreBytes;
    const auto loop = make_strided_loop<2>({&y, &x});
    run_strided_loop(loop, kElementwiseGrain, [&](char* const* p, const int64_t* s, int64_t n) {
        if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
            T* out = reinterpret_cast<T*>(p[0]);
            const T* in = reinterpret_cast<const T*>(p[1]);
            if constexpr (std::is_same_v<T, float>) {
                if (vector_kernel != nullptr) return vector_kernel(alpha, beta, in, out, n, stream);
            }
            for (int64_t i = 0; i < n; ++i) out[i] = op.apply(in[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) {
                *reinterpret_cast<T*>(p[0] + i * s[0]) = op.apply(*reinterpret_cast<const T*>(p[1] + i * s[1]));
            }
        }
    });
}

// dx = dy * op'(source), where source is x or y (source_is_y) as the op's derivative needs.
template <class Op, class T>
void unary_backward_typed(const Op& op, mln_unary_op code, double alpha, double beta, const TensorView& source,
                          bool source_is_y, const TensorView& dy, const TensorView& dx) {
    UnaryBackwardKernelF32 vector_kernel = nullptr;
    if constexpr (std::is_same_v<T, float>) vector_kernel = vector_unary_backward_f32(cpu::active_isa(), code);
    const bool stream = dx.element_count * static_cast<int64_t>(sizeof(T)) >= kStreamingStoreBytes;
    const auto loop = make_strided_loop<3>({&dx, &source, &dy});
    run_strided_loop(loop, kElementwiseGrain, [&](char* const* p, const int64_t* s, int64_t n) {
        if constexpr (std::is_same_v<T, float>) {
            if (vector_kernel != nullptr && s[0] == sizeof(T) && s[1] == sizeof(T) && s[2] == sizeof(T)) {
                return vector_kernel(alpha, beta, reinterpret_cast<const T*>(p[1]), source_is_y,
                                     reinterpret_cast<const T*>(p[2]), reinterpret_cast<T*>(p[0]), n, stream);
            }
        }
        for (int64_t i = 0; i < n; ++i) {
            const T v = *reinterpret_cast<const T*>(p[1] + i * s[1]);
            const T g = *reinterpret_cast<const T*>(p[2] + i * s[2]);
            T derivative;
            if constexpr (Op::kGradFromY) {
                derivative = op.template derivative_from_y<T>(source_is_y ? v : op.apply(v));
            } else {
                derivative = op.template derivative<T>(v);
            }
            *reinterpret_cast<T*>(p[0] + i * s[0]) = g * derivative;
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

void unary(mln_unary_op op, double alpha, double beta, const TensorView& x, const TensorView& y) {
    visit_unary_op(op, alpha, beta, [&](auto op_struct) {
        using Op = decltype(op_struct);
        visit_dtype(y.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (Op::template supports<T>) {
                unary_typed<Op, T>(op_struct, op, alpha, beta, x, y);
            } else {
                throw Error(MLN_STATUS_NOT_SUPPORTED,
                            cat(unary_op_name(op), " is not supported for dtype ", dtype_name(y.dtype)));
            }
        });
    });
}

void unary_backward(const UnaryBackwardArgs& args) {
    visit_unary_op(args.op, args.alpha, args.beta, [&](auto op_struct) {
        using Op = decltype(op_struct);
        const bool use_y = Op::kGradFromY && args.has_y;
        if (!use_y && !args.has_x) {
            throw Error(MLN_STATUS_INVALID_ARGUMENT,
                        cat("x is null but the derivative of ", unary_op_name(args.op), " needs x"));
        }
        visit_dtype(args.dx.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (Op::template supports<T> && is_float_v<T>) {
                unary_backward_typed<Op, T>(op_struct, args.op, args.alpha, args.beta, use_y ? args.y : args.x, use_y, args.dy,
                                            args.dx);
            } else {
                throw Error(MLN_STATUS_NOT_SUPPORTED, cat("the backward of ", unary_op_name(args.op),
                                                          " is not supported for dtype ", dtype_name(args.dx.dtype)));
            }
        });
    });
}

}  // namespace mln::kernels
