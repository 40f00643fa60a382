#include "kernels/cpu/cpu_kernels.hpp"

#include "core/dtype.hpp"
#include "kernels/cpu/elementwise/binary_ops.hpp"
#include "kernels/cpu/elementwise/unary_ops.hpp"
#include "kernels/cpu/reduce/reduce_ops.hpp"

namespace mln::kernels {

bool supports(mln_kernel kernel, mln_dtype dtype) {
    if (!is_valid_dtype(dtype)) return false;
    // f16/bf16 unary, binary and gemm compute in f32 (kernels/cpu/half_kernels.hpp).
    const bool half = dtype == MLN_DTYPE_F16 || dtype == MLN_DTYPE_BF16;
    if (half && (kernel == MLN_KERNEL_UNARY || kernel == MLN_KERNEL_BINARY || kernel == MLN_KERNEL_GEMM)) {
        return supports(kernel, MLN_DTYPE_F32);
    }
    switch (kernel) {
        case MLN_KERNEL_FILL:
        case MLN_KERNEL_COPY:
        case MLN_KERNEL_CAST:
            return true;
        case MLN_KERNEL_UNARY:
            for (int op = MLN_UNARY_OP_IDENTITY; op <= kLastUnaryOp; ++op) {
                if (unary_op_supports(static_cast<mln_unary_op>(op), dtype)) return true;
            }
            return false;
        case MLN_KERNEL_BINARY:
            for (int op = MLN_BINARY_OP_ADD; op <= kLastBinaryOp; ++op) {
                if (binary_op_supports(static_cast<mln_binary_op>(op), dtype)) return true;
            }
            return false;
        case MLN_KERNEL_REDUCE:
            for (int op = MLN_REDUCE_OP_SUM; op <= kLastReduceOp; ++op) {
                if (reduce_op_supports(static_cast<mln_reduce_op>(op), dtype)) return true;
            }
            return false;
        case MLN_KERNEL_GEMM:
            return dtype == MLN_DTYPE_F32 || dtype == MLN_DTYPE_F64;
        case MLN_KERNEL_WHERE:
            return true;
        case MLN_KERNEL_SOFTMAX:
        case MLN_KERNEL_OPTIMIZER:
        case MLN_KERNEL_DROPOUT:
            return dtype == MLN_DTYPE_F32 || dtype == MLN_DTYPE_F64;
        case MLN_KERNEL_CONV:
        case MLN_KERNEL_POOL:
        case MLN_KERNEL_NORMALIZATION:
            return dtype == MLN_DTYPE_F32 || dtype == MLN_DTYPE_F64;
        case MLN_KERNEL_INDEXING:
            return true;
        case MLN_KERNEL_ELTWISE_PROGRAM:
        case MLN_KERNEL_RESIZE:
            return dtype == MLN_DTYPE_F32 || dtype == MLN_DTYPE_F64;
    }
    return false;
}

}  // namespace mln::kernels
