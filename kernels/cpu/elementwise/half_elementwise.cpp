// Unary and binary ops on f16/bf16 tensors, computed by the f32 kernels: each run the loop
// driver hands over is cut into L1-sized blocks that are widened, passed to kernels::unary /
// kernels::binary as contiguous (or broadcast) f32 vectors, and narrowed into the output. So
// every vector kernel the f32 ops gain serves f16/bf16 too, and an op is defined only once.
#include <algorithm>
#include <cstring>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/names.hpp"
#include "core/text.hpp"
#include "cpu/isa.hpp"
#include "kernels/cpu/common/half_convert.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/elementwise/binary_ops.hpp"
#include "kernels/cpu/elementwise/unary_ops.hpp"
#include "kernels/cpu/half_kernels.hpp"

namespace mln::kernels {
namespace {

// Elements per f32 block: three f32 blocks (two inputs, the output) take 48 KiB, in L1/L2;
// larger blocks spread the per-block dispatch of the f32 kernel over more elements.
constexpr int64_t kBlock = 4096;

TensorView f32_vector(float* data, int64_t count, int64_t stride) {
    TensorView view;
    view.data = data;
    view.dtype = MLN_DTYPE_F32;
    view.rank = 1;
    view.shape[0] = count;
    view.strides[0] = stride;
    view.element_count = count;
    return view;
}

// Widens `count` 16-bit elements `stride` bytes apart into `destination`; a stride of 0 (a
// broadcast input) widens the one element. Returns the element stride of the f32 copy.
int64_t widen_run(const char* source, int64_t stride, int64_t count, const HalfConverter& converter,
                  float* destination) {
    if (stride == 0) {
        converter.widen(reinterpret_cast<const uint16_t*>(source), destination, 1);
        return 0;
    }
    if (stride == sizeof(uint16_t)) {
        converter.widen(reinterpret_cast<const uint16_t*>(source), destination, count);
        return 1;
    }
    uint16_t gathered[kBlock];
    for (int64_t i = 0; i < count; ++i) std::memcpy(&gathered[i], source + i * stride, sizeof(uint16_t));
    converter.widen(gathered, destination, count);
    return 1;
}

void narrow_run(const float* source, int64_t count, const HalfConverter& converter, char* destination,
                int64_t stride) {
    if (stride == sizeof(uint16_t)) return converter.narrow(source, reinterpret_cast<uint16_t*>(destination), count);
    uint16_t narrowed[kBlock];
    converter.narrow(source, narrowed, count);
    for (int64_t i = 0; i < count; ++i) std::memcpy(destination + i * stride, &narrowed[i], sizeof(uint16_t));
}

}  // namespace

void unary_half(mln_unary_op op, double alpha, double beta, const TensorView& x, const TensorView& y) {
    if (!unary_op_supports(op, MLN_DTYPE_F32)) {
        throw Error(MLN_STATUS_NOT_SUPPORTED, cat(unary_op_name(op), " is not supported for dtype ", dtype_name(y.dtype)));
    }
    const HalfConverter converter = half_converter(y.dtype, cpu::active_isa());
    const auto loop = make_strided_loop<2>({&y, &x});
    run_strided_loop(loop, kElementwiseGrain, [&](char* const* p, const int64_t* s, int64_t n) {
        alignas(64) float in[kBlock];
        alignas(64) float out[kBlock];
        for (int64_t done = 0; done < n; done += kBlock) {
            const int64_t count = std::min(kBlock, n - done);
            const int64_t in_stride = widen_run(p[1] + done * s[1], s[1], count, converter, in);
            unary(op, alpha, beta, f32_vector(in, count, in_stride), f32_vector(out, count, 1));
            narrow_run(out, count, converter, p[0] + done * s[0], s[0]);
        }
    });
}

void binary_half(mln_binary_op op, const TensorView& a, const TensorView& b, const TensorView& y) {
    if (!binary_op_supports(op, MLN_DTYPE_F32)) {
        throw Error(MLN_STATUS_NOT_SUPPORTED, cat(binary_op_name(op), " is not supported for dtype ", dtype_name(a.dtype)));
    }
    const HalfConverter converter = half_converter(a.dtype, cpu::active_isa());
    const bool gives_bool = y.dtype == MLN_DTYPE_BOOL;
    const auto loop = make_strided_loop<3>({&y, &a, &b});
    run_strided_loop(loop, kElementwiseGrain, [&](char* const* p, const int64_t* s, int64_t n) {
        alignas(64) float lhs[kBlock];
        alignas(64) float rhs[kBlock];
        alignas(64) float out[kBlock];
        for (int64_t done = 0; done < n; done += kBlock) {
            const int64_t count = std::min(kBlock, n - done);
            const int64_t lhs_stride = widen_run(p[1] + done * s[1], s[1], count, converter, lhs);
            const int64_t rhs_stride = widen_run(p[2] + done * s[2], s[2], count, converter, rhs);
            const TensorView left = f32_vector(lhs, count, lhs_stride);
            const TensorView right = f32_vector(rhs, count, rhs_stride);
            if (gives_bool) {  // a comparison writes its bools in place (one byte each)
                TensorView result = f32_vector(nullptr, count, s[0]);
                result.data = p[0] + done * s[0];
                result.dtype = MLN_DTYPE_BOOL;
                binary(op, left, right, result);
            } else {
                binary(op, left, right, f32_vector(out, count, 1));
                narrow_run(out, count, converter, p[0] + done * s[0], s[0]);
            }
        }
    });
}

}  // namespace mln::kernels
