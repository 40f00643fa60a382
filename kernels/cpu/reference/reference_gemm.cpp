#include "core/dtype.hpp"
#include "kernels/cpu/elementwise/unary_ops.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::reference {
namespace {

template <class T>
void gemm_typed(const GemmArgs& args) {
    const T* a = static_cast<const T*>(args.a.data);
    const T* b = static_cast<const T*>(args.b.data);
    const T* bias = static_cast<const T*>(args.bias.data);
    T* c = static_cast<T*>(args.c.data);
    kernels::visit_unary_op(args.activation, [&](auto op) {
        using Op = decltype(op);
        for (int64_t i = 0; i < args.m; ++i) {
            for (int64_t j = 0; j < args.n; ++j) {
                double sum = 0.0;
                for (int64_t p = 0; p < args.k; ++p) {
                    sum += static_cast<double>(a[i * args.a.strides[0] + p * args.a.strides[1]]) *
                           static_cast<double>(b[p * args.b.strides[0] + j * args.b.strides[1]]);
                }
                T& target = c[i * args.c.strides[0] + j * args.c.strides[1]];
                double value = args.alpha * sum;
                if (args.beta != 0.0) value += args.beta * static_cast<double>(target);
                if (args.has_bias) value += static_cast<double>(bias[j * args.bias.strides[0]]);
                target = Op::apply(static_cast<T>(value));
            }
        }
    });
}

}  // namespace

void gemm(const GemmArgs& args) {
    if (args.c.dtype == MLN_DTYPE_F32) return gemm_typed<float>(args);
    if (args.c.dtype == MLN_DTYPE_F64) return gemm_typed<double>(args);
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("reference gemm lacks ", dtype_name(args.c.dtype)));
}

}  // namespace mln::reference
