// Argument validation shared by the entry points. Every function throws mln::Error with a
// message that names the argument and the offending values; guard() adds the entry point.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/tensor_view.hpp"

namespace mln {

enum class Access { read, write };

// Checks a descriptor and returns it as a TensorView. `name` is the parameter name used in
// messages. Outputs (Access::write) must not have stride 0 on a dimension larger than 1.
TensorView validate_tensor(const char* name, const mln_tensor_desc* desc, Access access);

void require_same_dtype(const char* name_a, const TensorView& a, const char* name_b, const TensorView& b);
void require_same_shape(const char* name_a, const TensorView& a, const char* name_b, const TensorView& b);

// Enum arguments arrive as their integer values (raw_enum) and leave as checked enums.
mln_unary_op validate_unary_op(int32_t op, const char* what);
mln_binary_op validate_binary_op(int32_t op);
mln_reduce_op validate_reduce_op(int32_t op);
mln_kernel validate_kernel(int32_t kernel);
mln_dtype validate_dtype(int32_t dtype);

template <class T>
T& require_not_null(T* pointer, const char* name);

}  // namespace mln

#include "core/error.hpp"
#include "core/text.hpp"

template <class T>
T& mln::require_not_null(T* pointer, const char* name) {
    if (pointer == nullptr) throw Error(MLN_STATUS_INVALID_ARGUMENT, cat(name, " is null"));
    return *pointer;
}
