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
    }
    return nullptr;
}

const char* reduce_op_name(int32_t op) noexcept {
    switch (op) {
        case MLN_REDUCE_OP_SUM: return "sum";
        case MLN_REDUCE_OP_MEAN: return "mean";
        case MLN_REDUCE_OP_MAX: return "max";
        case MLN_REDUCE_OP_MIN: return "min";
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
