#include "core/names.hpp"

namespace mln {

const char* unary_op_name(int32_t op) noexcept {
    switch (op) {
        case MLN_UNARY_OP_IDENTITY: return "identity";
        case MLN_UNARY_OP_NEG: return "neg";
        case MLN_UNARY_OP_ABS: return "abs";
        case MLN_UNARY_OP_SQRT: return "sqrt";
        case MLN_UNARY_OP_EXP: return "exp";
        case MLN_UNARY_OP_LOG: return "log";
        case MLN_UNARY_OP_RELU: return "relu";
        case MLN_UNARY_OP_SIGMOID: return "sigmoid";
        case MLN_UNARY_OP_TANH: return "tanh";
        case MLN_UNARY_OP_LEAKY_RELU: return "leaky_relu";
        case MLN_UNARY_OP_ELU: return "elu";
        case MLN_UNARY_OP_SELU: return "selu";
        case MLN_UNARY_OP_CELU: return "celu";
        case MLN_UNARY_OP_GELU: return "gelu";
        case MLN_UNARY_OP_GELU_TANH: return "gelu_tanh";
        case MLN_UNARY_OP_SILU: return "silu";
        case MLN_UNARY_OP_MISH: return "mish";
        case MLN_UNARY_OP_SOFTPLUS: return "softplus";
        case MLN_UNARY_OP_SOFTSIGN: return "softsign";
        case MLN_UNARY_OP_HARD_SIGMOID: return "hard_sigmoid";
        case MLN_UNARY_OP_HARD_SWISH: return "hard_swish";
        case MLN_UNARY_OP_RECIPROCAL: return "reciprocal";
        case MLN_UNARY_OP_SQUARE: return "square";
        case MLN_UNARY_OP_SIN: return "sin";
        case MLN_UNARY_OP_COS: return "cos";
        case MLN_UNARY_OP_ERF: return "erf";
        case MLN_UNARY_OP_FLOOR: return "floor";
        case MLN_UNARY_OP_CEIL: return "ceil";
        case MLN_UNARY_OP_ROUND: return "round";
        case MLN_UNARY_OP_SIGN: return "sign";
        case MLN_UNARY_OP_LOG1P: return "log1p";
        case MLN_UNARY_OP_EXPM1: return "expm1";
        case MLN_UNARY_OP_TAN: return "tan";
        case MLN_UNARY_OP_ASIN: return "asin";
        case MLN_UNARY_OP_ACOS: return "acos";
        case MLN_UNARY_OP_ATAN: return "atan";
        case MLN_UNARY_OP_SINH: return "sinh";
        case MLN_UNARY_OP_COSH: return "cosh";
        case MLN_UNARY_OP_ASINH: return "asinh";
        case MLN_UNARY_OP_ACOSH: return "acosh";
        case MLN_UNARY_OP_ATANH: return "atanh";
        case MLN_UNARY_OP_SHRINK: return "shrink";
        case MLN_UNARY_OP_THRESHOLDED_RELU: return "thresholded_relu";
    }
    return nullptr;
}

const char* binary_op_name(int32_t op) noexcept {
    switch (op) {
        case MLN_BINARY_OP_ADD: return "add";
        case MLN_BINARY_OP_SUB: return "sub";
        case MLN_BINARY_OP_MUL: return "mul";
        case MLN_BINARY_OP_DIV: return "div";
        case MLN_BINARY_OP_MAX: return "max";
        case MLN_BINARY_OP_MIN: return "min";
        case MLN_BINARY_OP_POW: return "pow";
        case MLN_BINARY_OP_EQ: return "eq";
        case MLN_BINARY_OP_NE: return "ne";
        case MLN_BINARY_OP_LT: return "lt";
        case MLN_BINARY_OP_LE: return "le";
        case MLN_BINARY_OP_GT: return "gt";
        case MLN_BINARY_OP_GE: return "ge";
        case MLN_BINARY_OP_LOGICAL_AND: return "logical_and";
        case MLN_BINARY_OP_LOGICAL_OR: return "logical_or";
        case MLN_BINARY_OP_LOGICAL_XOR: return "logical_xor";
        case MLN_BINARY_OP_MOD: return "mod";
        case MLN_BINARY_OP_FMOD: return "fmod";
        case MLN_BINARY_OP_SHIFT_LEFT: return "shift_left";
        case MLN_BINARY_OP_SHIFT_RIGHT: return "shift_right";
    }
    return nullptr;
}

bool binary_op_gives_bool(int32_t op) noexcept { return op >= MLN_BINARY_OP_EQ && op <= MLN_BINARY_OP_LOGICAL_XOR; }

const char* reduce_op_name(int32_t op) noexcept {
    switch (op) {
        case MLN_REDUCE_OP_SUM: return "sum";
        case MLN_REDUCE_OP_MEAN: return "mean";
        case MLN_REDUCE_OP_MAX: return "max";
        case MLN_REDUCE_OP_MIN: return "min";
        case MLN_REDUCE_OP_PROD: return "prod";
        case MLN_REDUCE_OP_L1: return "l1";
        case MLN_REDUCE_OP_L2: return "l2";
        case MLN_REDUCE_OP_SUM_SQUARE: return "sum_square";
        case MLN_REDUCE_OP_LOG_SUM_EXP: return "log_sum_exp";
    }
    return nullptr;
}

const char* kernel_name(int32_t kernel) noexcept {
    switch (kernel) {
        case MLN_KERNEL_FILL: return "fill";
        case MLN_KERNEL_COPY: return "copy";
        case MLN_KERNEL_CAST: return "cast";
        case MLN_KERNEL_UNARY: return "unary";
        case MLN_KERNEL_BINARY: return "binary";
        case MLN_KERNEL_REDUCE: return "reduce";
        case MLN_KERNEL_GEMM: return "gemm";
        case MLN_KERNEL_CONV: return "conv";
        case MLN_KERNEL_POOL: return "pool";
        case MLN_KERNEL_NORMALIZATION: return "normalization";
        case MLN_KERNEL_INDEXING: return "indexing";
        case MLN_KERNEL_WHERE: return "where";
        case MLN_KERNEL_SOFTMAX: return "softmax";
        case MLN_KERNEL_OPTIMIZER: return "optimizer";
        case MLN_KERNEL_DROPOUT: return "dropout";
        case MLN_KERNEL_ELTWISE_PROGRAM: return "eltwise_program";
        case MLN_KERNEL_RESIZE: return "resize";
    }
    return nullptr;
}

const char* device_kind_name(int32_t kind) noexcept {
    switch (kind) {
        case MLN_DEVICE_KIND_CPU: return "cpu";
        case MLN_DEVICE_KIND_CUDA: return "cuda";
    }
    return nullptr;
}

const char* isa_name(int32_t isa) noexcept {
    switch (isa) {
        case MLN_ISA_SCALAR: return "scalar";
        case MLN_ISA_AVX2: return "avx2";
        case MLN_ISA_AVX512: return "avx512";
        case MLN_ISA_NEON: return "neon";
    }
    return nullptr;
}

}  // namespace mln
