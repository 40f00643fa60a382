#include "core/dtype.hpp"

namespace mln {

bool is_valid_dtype(int32_t dtype) noexcept { return dtype_size(dtype) != 0; }

std::size_t dtype_size(int32_t dtype) noexcept {
    switch (dtype) {
        case MLN_DTYPE_U8:
        case MLN_DTYPE_I8:
        case MLN_DTYPE_BOOL:
            return 1;
        case MLN_DTYPE_F16:
        case MLN_DTYPE_BF16:
            return 2;
        case MLN_DTYPE_F32:
        case MLN_DTYPE_I32:
            return 4;
        case MLN_DTYPE_F64:
        case MLN_DTYPE_I64:
            return 8;
    }
    return 0;
}

const char* dtype_name(int32_t dtype) noexcept {
    switch (dtype) {
        case MLN_DTYPE_F32: return "f32";
        case MLN_DTYPE_U8: return "u8";
        case MLN_DTYPE_I8: return "i8";
        case MLN_DTYPE_I32: return "i32";
        case MLN_DTYPE_I64: return "i64";
        case MLN_DTYPE_BOOL: return "bool";
        case MLN_DTYPE_F16: return "f16";
        case MLN_DTYPE_F64: return "f64";
        case MLN_DTYPE_BF16: return "bf16";
    }
    return "invalid";
}

}  // namespace mln
