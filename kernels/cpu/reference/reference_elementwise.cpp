#include "core/dtype.hpp"
#include "core/names.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/elementwise/binary_ops.hpp"
#include "kernels/cpu/elementwise/unary_ops.hpp"
#include "kernels/cpu/reference/reference_indexing.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::reference {

using kernels::convert_element;
using kernels::visit_dtype;

void fill(const TensorView& y, double value) {
    visit_dtype(y.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        for_each_index(y.rank, y.shape, [&](const int64_t* index) { *element_at<T>(y, index) = convert_element<T>(value); });
    });
}

void copy(const TensorView& x, const TensorView& y) {
    visit_dtype(y.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        for_each_index(y.rank, y.shape, [&](const int64_t* index) { *element_at<T>(y, index) = *element_at<const T>(x, index); });
    });
}

void cast(const TensorView& x, const TensorView& y) {
    visit_dtype(x.dtype, [&](auto from_tag) {
        using From = typename decltype(from_tag)::type;
        visit_dtype(y.dtype, [&](auto to_tag) {
            using To = typename decltype(to_tag)::type;
            for_each_index(y.rank, y.shape, [&](const int64_t* index) {
                *element_at<To>(y, index) = convert_element<To>(*element_at<const From>(x, index));
            });
        });
    });
}

void unary(mln_unary_op op, double alpha, double beta, const TensorView& x, const TensorView& y) {
    kernels::visit_unary_op(op, alpha, beta, [&](auto op_struct) {
        using Op = decltype(op_struct);
        visit_dtype(y.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (Op::template supports<T>) {
                for_each_index(y.rank, y.shape, [&](const int64_t* index) {
                    *element_at<T>(y, index) = op_struct.apply(*element_at<const T>(x, index));
                });
            } else {
                throw Error(MLN_STATUS_NOT_SUPPORTED, cat("reference ", unary_op_name(op), " lacks ", dtype_name(y.dtype)));
            }
        });
    });
}

namespace {

// Index into an input that broadcasts against the output: align at the last dimension and
// use 0 on stretched dimensions.
template <class T>
const T* broadcast_element(const TensorView& input, int32_t output_rank, const int64_t* output_index) {
    int64_t offset = 0;
    const int32_t shift = output_rank - input.rank;
    for (int32_t d = 0; d < input.rank; ++d) {
        const int64_t i = input.shape[d] == 1 ? 0 : output_index[d + shift];
        offset += i * input.strides[d];
    }
    return static_cast<const T*>(input.data) + offset;
}

}  // namespace

void binary(mln_binary_op op, const TensorView& a, const TensorView& b, const TensorView& y) {
    kernels::visit_binary_op(op, [&](auto op_struct) {
        using Op = decltype(op_struct);
        visit_dtype(a.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (Op::template supports<T>) {
                for_each_index(y.rank, y.shape, [&](const int64_t* index) {
                    *element_at<kernels::result_t<Op, T>>(y, index) =
                        Op::apply(*broadcast_element<T>(a, y.rank, index), *broadcast_element<T>(b, y.rank, index));
                });
            } else {
                throw Error(MLN_STATUS_NOT_SUPPORTED, cat("reference ", binary_op_name(op), " lacks ", dtype_name(y.dtype)));
            }
        });
    });
}

}  // namespace mln::reference
