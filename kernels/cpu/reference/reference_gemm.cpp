#include "core/dtype.hpp"
#include "kernels/cpu/elementwise/unary_ops.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::reference {
namespace {

// c = activation(alpha * op(a) * op(b) + beta * c + bias + residual), accumulated in double.
template <class T>
void gemm_typed(const GemmArgs& args) {
    const T* a = static_cast<const T*>(args.a.data);
    const T* b = static_cast<const T*>(args.b.data);
    const T* bias = static_cast<const T*>(args.bias.data);
    const T* residual = static_cast<const T*>(args.residual.data);
    T* c = static_cast<T*>(args.c.data);
    kernels::visit_unary_op(args.activation, [&](auto op) {
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
                if (args.has_residual) {
                    value += static_cast<double>(residual[i * args.residual.strides[0] + j * args.residual.strides[1]]);
                }
                target = op.apply(static_cast<T>(value));
            }
        }
    });
}

}  // namespace

void gemm(const GemmArgs& args) {
    if (args.c.dtype != MLN_DTYPE_F32 && args.c.dtype != MLN_DTYPE_F64) {
        throw Error(MLN_STATUS_NOT_SUPPORTED, cat("reference gemm lacks ", dtype_name(args.c.dtype)));
    }
    // Batched: every combination of batch indices, counted like an odometer.
    int64_t count = 1;
    for (int32_t d = 0; d < args.batch_rank; ++d) count *= args.batch_shape[d];
    const int64_t size = static_cast<int64_t>(dtype_size(args.c.dtype));
    int64_t index[MLN_MAX_RANK] = {};
    for (int64_t done = 0; done < count; ++done) {
        GemmArgs matrix = args;
        for (int32_t d = 0; d < args.batch_rank; ++d) {
            matrix.a.data = static_cast<char*>(matrix.a.data) + index[d] * args.a_batch_strides[d] * size;
            matrix.b.data = static_cast<char*>(matrix.b.data) + index[d] * args.b_batch_strides[d] * size;
            matrix.c.data = static_cast<char*>(matrix.c.data) + index[d] * args.c_batch_strides[d] * size;
            matrix.residual.data =
                static_cast<char*>(matrix.residual.data) + index[d] * args.residual_batch_strides[d] * size;
        }
        if (args.c.dtype == MLN_DTYPE_F32) gemm_typed<float>(matrix);
        else gemm_typed<double>(matrix);
        for (int32_t d = args.batch_rank - 1; d >= 0 && ++index[d] == args.batch_shape[d]; --d) index[d] = 0;
    }
}

}  // namespace mln::reference
