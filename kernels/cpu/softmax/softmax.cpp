// Softmax and log-softmax along one axis, forward and backward. Each row (all elements along
// the axis at one position of the other axes) is independent; rows are split across the pool.
// Forward subtracts the row maximum before exponentiating, so nothing overflows; sums are kept
// in double. Contiguous f32 rows take the active vector ISA's row kernels (softmax_vector_loops.hpp; exp max
// error 1.5 ulp, common/vector_math.hpp), other f32 rows its exp.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu/isa.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/elementwise/elementwise_vector.hpp"
#include "kernels/cpu/softmax/softmax_vector.hpp"

namespace mln::kernels {
namespace {

// Element offset of row `row` in `view`, counting rows in row-major order over every axis but `axis`.
int64_t row_offset(const TensorView& view, int32_t axis, int64_t row) {
    int64_t offset = 0;
    for (int32_t d = view.rank - 1; d >= 0; --d) {
        if (d == axis) continue;
        offset += (row % view.shape[d]) * view.strides[d];
        row /= view.shape[d];
    }
    return offset;
}

// exp over a contiguous run, in place; `vector_exp` is the active ISA's f32 kernel or null.
template <class T>
void exp_in_place(T* values, int64_t n, UnaryKernelF32 vector_exp) {
    if constexpr (std::is_same_v<T, float>) {
        if (vector_exp != nullptr) return vector_exp(0.0, 0.0, values, values, n, false);
    }
    for (int64_t i = 0; i < n; ++i) values[i] = std::exp(values[i]);
}

template <class T>
void softmax_row(mln_softmax_op op, const T* x, int64_t x_stride, T* y, int64_t y_stride, int64_t n, UnaryKernelF32 vector_exp,
                 std::vector<T>& scratch) {
    T max = -std::numeric_limits<T>::infinity();
    bool nan = false;
    for (int64_t i = 0; i < n; ++i) {
        const T v = x[i * x_stride];
        nan = nan || v != v;
        max = v > max ? v : max;
    }
    // NaN anywhere, +Inf (Inf - Inf) or an all -Inf row: the row is undefined.
    if (nan || std::isinf(max)) {
        for (int64_t i = 0; i < n; ++i) y[i * y_stride] = std::numeric_limits<T>::quiet_NaN();
        return;
    }
    T* shifted = y_stride == 1 && op == MLN_SOFTMAX_OP_SOFTMAX ? y : scratch.data();
    for (int64_t i = 0; i < n; ++i) shifted[i] = x[i * x_stride] - max;
    if (op == MLN_SOFTMAX_OP_SOFTMAX) {
        exp_in_place(shifted, n, vector_exp);
        double sum = 0.0;
        for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(shifted[i]);
        const T scale = static_cast<T>(1.0 / sum);
        for (int64_t i = 0; i < n; ++i) y[i * y_stride] = shifted[i] * scale;
    } else {
        T* exps = scratch.data() + n;
        for (int64_t i = 0; i < n; ++i) exps[i] = shifted[i];
        exp_in_place(exps, n, vector_exp);
        double sum = 0.0;
        for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(exps[i]);
        const T log_sum = static_cast<T>(std::log(sum));
        for (int64_t i = 0; i < n; ++i) y[i * y_stride] = shifted[i] - log_sum;
    }
}

template <class T>
void softmax_backward_row(mln_softmax_op op, const T* y, int64_t y_stride, const T* dy, int64_t dy_stride, T* dx,
                          int64_t dx_stride, int64_t n) {
    double dot = 0.0;
    if (op == MLN_SOFTMAX_OP_SOFTMAX) {
        for (int64_t i = 0; i < n; ++i) dot += static_cast<double>(dy[i * dy_stride]) * static_cast<double>(y[i * y_stride]);
        const T s = static_cast<T>(dot);
        for (int64_t i = 0; i < n; ++i) dx[i * dx_stride] = y[i * y_stride] * (dy[i * dy_stride] - s);
    } else {
        for (int64_t i = 0; i < n; ++i) dot += static_cast<double>(dy[i * dy_stride]);
        const T s = static_cast<T>(dot);
        for (int64_t i = 0; i < n; ++i) dx[i * dx_stride] = dy[i * dy_stride] - std::exp(y[i * y_stride]) * s;
    }
}

// The row kernels of `isa` (none at the scalar ISA).
SoftmaxKernelsF32 vector_softmax_f32(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return softmax_avx512_f32();
    if (isa == MLN_ISA_AVX2) return softmax_avx2_f32();
#endif
    (void)isa;
    return {};
}

// Calls body(row_begin, row_end) over the rows on the pool.
template <class Body>
void for_rows(const TensorView& view, int32_t axis, Body&& body) {
    const int64_t n = view.shape[axis];
    if (view.element_count == 0) return;
    const int64_t rows = view.element_count / n;
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n, 1));
    cpu::parallel_for(rows, grain, [&](int64_t begin, int64_t end) { body(begin, end); });
}

template <class Visitor>
void visit_float(mln_dtype dtype, Visitor&& visitor) {
    if (dtype == MLN_DTYPE_F32) return visitor(TypeTag<float>{});
    if (dtype == MLN_DTYPE_F64) return visitor(TypeTag<double>{});
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("softmax is not supported for dtype ", dtype_name(dtype)));
}

}  // namespace

void softmax(const SoftmaxArgs& args) {
    const UnaryKernelF32 vector_exp = vector_unary_f32(cpu::active_isa(), MLN_UNARY_OP_EXP);
    const SoftmaxRowF32 vector_row = vector_softmax_f32(cpu::active_isa()).forward;
    visit_float(args.input.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int32_t axis = args.axis;
        const int64_t n = args.input.shape[axis];
        for_rows(args.input, axis, [&](int64_t begin, int64_t end) {
            std::vector<T> scratch(static_cast<size_t>(2 * n));
            for (int64_t row = begin; row < end; ++row) {
                const T* x = static_cast<const T*>(args.input.data) + row_offset(args.input, axis, row);
                T* y = static_cast<T*>(args.output.data) + row_offset(args.output, axis, row);
                if constexpr (std::is_same_v<T, float>) {
                    if (vector_row != nullptr && args.input.strides[axis] == 1 && args.output.strides[axis] == 1 &&
                        vector_row(args.op == MLN_SOFTMAX_OP_LOG_SOFTMAX, x, y, n)) {
                        continue;
                    }
                }
                softmax_row(args.op, x, args.input.strides[axis], y, args.output.strides[axis], n, vector_exp, scratch);
            }
        });
    });
}

void softmax_backward(const SoftmaxArgs& args) {
    const SoftmaxBackwardRowF32 vector_row = vector_softmax_f32(cpu::active_isa()).backward;
    visit_float(args.input.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int32_t axis = args.axis;
        const int64_t n = args.input.shape[axis];
        const bool contiguous = args.input.strides[axis] == 1 && args.grad.strides[axis] == 1 && args.output.strides[axis] == 1;
        for_rows(args.input, axis, [&](int64_t begin, int64_t end) {
            for (int64_t row = begin; row < end; ++row) {
                const T* y = static_cast<const T*>(args.input.data) + row_offset(args.input, axis, row);
                const T* dy = static_cast<const T*>(args.grad.data) + row_offset(args.grad, axis, row);
                T* dx = static_cast<T*>(args.output.data) + row_offset(args.output, axis, row);
                if constexpr (std::is_same_v<T, float>) {
                    if (vector_row != nullptr && contiguous) {
                        vector_row(args.op == MLN_SOFTMAX_OP_LOG_SOFTMAX, y, dy, dx, n);
                        continue;
                    }
                }
                softmax_backward_row(args.op, y, args.input.strides[axis], dy, args.grad.strides[axis], dx,
                                     args.output.strides[axis], n);
            }
        });
    });
}

}  // namespace mln::kernels
