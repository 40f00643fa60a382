#include "kernels/cpu/elementwise/eltwise_program.hpp"

#include <algorithm>
#include <array>
#include <type_traits>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/names.hpp"
#include "core/text.hpp"
#include "cpu/isa.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/elementwise/binary_ops.hpp"
#include "kernels/cpu/elementwise/elementwise_vector.hpp"
#include "kernels/cpu/elementwise/unary_ops.hpp"

namespace mln::kernels {
namespace {

// Elements evaluated per instruction at a time: long enough that the per-instruction op
// dispatch is negligible, short enough that every live register buffer stays in L1/L2.
constexpr int64_t kBlock = 256;
// y plus every possible input; unused operand slots repeat y, which leaves the loop's
// dimension merging unchanged.
constexpr int kOperands = 1 + MLN_ELTWISE_MAX_INPUTS;

template <class T>
bool instruction_supported(const mln_eltwise_instruction& instruction) {
    if (instruction.kind == MLN_ELTWISE_KIND_UNARY) {
        return visit_unary_op(static_cast<mln_unary_op>(instruction.op),
                              [](auto op) { return decltype(op)::template supports<T>; });
    }
    return visit_binary_op(static_cast<mln_binary_op>(instruction.op), [](auto op) {
        using Op = decltype(op);
        if constexpr (Op::template supports<T>) return std::is_same_v<result_t<Op, T>, T>;
        else return false;
    });
}

// The vector kernels mln_unary/mln_binary use for contiguous runs, when the active ISA has one
// for the instruction's op: every register block is contiguous, so a fused chain computes
// exactly what the separate calls would, at their speed.
template <class T>
struct VectorKernel {
    UnaryKernelF32 unary = nullptr;  // f32 only
    BinaryKernel<T> binary = nullptr;
};

template <class T>
VectorKernel<T> vector_kernel(const mln_eltwise_instruction& instruction) {
    VectorKernel<T> kernel;
    const mln_isa isa = cpu::active_isa();
    if (instruction.kind == MLN_ELTWISE_KIND_UNARY) {
        if constexpr (std::is_same_v<T, float>) kernel.unary = vector_unary_f32(isa, static_cast<mln_unary_op>(instruction.op));
    } else {
        kernel.binary = vector_binary<T>(isa, static_cast<mln_binary_op>(instruction.op));
    }
    return kernel;
}

// dst[0..n) = instruction over the source registers; dst may be a source (elementwise, so
// each element is read before it is written). `stream` only for the final write into a large y.
template <class T>
void run_instruction(const mln_eltwise_instruction& instruction, const VectorKernel<T>& vector,
                     const T* const* registers, T* dst, int64_t n, bool stream) {
    const T* src0 = registers[instruction.src0];
    if constexpr (std::is_same_v<T, float>) {
        if (vector.unary != nullptr) return vector.unary(instruction.alpha, instruction.beta, src0, dst, n, stream);
    }
    if (vector.binary != nullptr) return vector.binary(src0, 1, registers[instruction.src1], 1, dst, n, stream);
    if (instruction.kind == MLN_ELTWISE_KIND_UNARY) {
        visit_unary_op(static_cast<mln_unary_op>(instruction.op), instruction.alpha, instruction.beta, [&](auto op) {
            if constexpr (decltype(op)::template supports<T>) {  // others were rejected up front
                for (int64_t i = 0; i < n; ++i) dst[i] = op.apply(src0[i]);
            }
        });
        return;
    }
    const T* src1 = registers[instruction.src1];
    visit_binary_op(static_cast<mln_binary_op>(instruction.op), [&](auto op) {
        using Op = decltype(op);
        if constexpr (Op::template supports<T>) {
            if constexpr (std::is_same_v<result_t<Op, T>, T>) {  // comparisons were rejected up front
                for (int64_t i = 0; i < n; ++i) dst[i] = Op::apply(src0[i], src1[i]);
            }
        }
    });
}

template <class T>
void eltwise_program_typed(const EltwiseProgramArgs& args) {
    for (int32_t k = 0; k < args.instruction_count; ++k) {
        const mln_eltwise_instruction& instruction = args.program[k];
        if (!instruction_supported<T>(instruction)) {
            const char* name = instruction.kind == MLN_ELTWISE_KIND_UNARY ? unary_op_name(instruction.op)
                                                                          : binary_op_name(instruction.op);
            throw Error(MLN_STATUS_NOT_SUPPORTED,
                        cat("program[", k, "]: ", name, " is not supported for dtype ", dtype_name(args.y.dtype)));
        }
    }

    // One scratch block per register that is read or written: inputs (used when they are not
    // contiguous) and every distinct dst.
    std::array<int32_t, MLN_ELTWISE_MAX_REGISTERS> slot_of{};
    slot_of.fill(-1);
    int32_t slot_count = 0;
    for (int32_t r = 0; r < args.input_count; ++r) slot_of[static_cast<size_t>(r)] = slot_count++;
    for (int32_t k = 0; k < args.instruction_count; ++k) {
        int32_t& slot = slot_of[static_cast<size_t>(args.program[k].dst)];
        if (slot < 0) slot = slot_count++;
    }
    const int32_t output_register = args.program[args.instruction_count - 1].dst;
    std::array<VectorKernel<T>, MLN_ELTWISE_MAX_INSTRUCTIONS> vector_kernels{};
    for (int32_t k = 0; k < args.instruction_count; ++k) vector_kernels[static_cast<size_t>(k)] = vector_kernel<T>(args.program[k]);

    std::array<const TensorView*, kOperands> operands;
    operands.fill(&args.y);
    for (int32_t i = 0; i < args.input_count; ++i) operands[static_cast<size_t>(i) + 1] = &args.inputs[i];
    const auto loop = make_strided_loop<kOperands>(operands);
    if (loop.element_count == 0) return;

    constexpr auto size = static_cast<int64_t>(sizeof(T));
    const bool stream = args.y.element_count * size >= kStreamingStoreBytes;
    const int32_t last = args.instruction_count - 1;
    cpu::parallel_for(loop.element_count, kElementwiseGrain, [&](int64_t begin, int64_t end) {
        std::vector<T> scratch(static_cast<size_t>(slot_count * kBlock));
        auto buffer = [&](int32_t reg) { return scratch.data() + slot_of[static_cast<size_t>(reg)] * kBlock; };
        const T* registers[MLN_ELTWISE_MAX_REGISTERS] = {};
        auto inner = [&](char* const* p, const int64_t* s, int64_t count) {
            for (int64_t start = 0; start < count; start += kBlock) {
                const int64_t n = std::min(kBlock, count - start);
                // Load: contiguous inputs are read in place, others gathered (a broadcast
                // scalar is splat) into their buffer.
                for (int32_t r = 0; r < args.input_count; ++r) {
                    const char* base = p[r + 1] + start * s[r + 1];
                    const int64_t stride = s[r + 1];
                    if (stride == size) {
                        registers[r] = reinterpret_cast<const T*>(base);
                        continue;
                    }
                    T* into = buffer(r);
                    if (stride == 0) {
                        std::fill(into, into + n, *reinterpret_cast<const T*>(base));
                    } else {
                        for (int64_t i = 0; i < n; ++i) into[i] = *reinterpret_cast<const T*>(base + i * stride);
                    }
                    registers[r] = into;
                }
                // A contiguous y takes the last instruction's result directly; otherwise it is
                // scattered from the output register's buffer.
                char* out = p[0] + start * s[0];
                const bool direct = s[0] == size;
                for (int32_t k = 0; k <= last; ++k) {
                    const mln_eltwise_instruction& instruction = args.program[k];
                    T* dst = k == last && direct ? reinterpret_cast<T*>(out) : buffer(instruction.dst);
                    run_instruction<T>(instruction, vector_kernels[static_cast<size_t>(k)], registers, dst, n,
                                       k == last && direct && stream);
                    registers[instruction.dst] = dst;
                }
                if (!direct) {
                    const T* result = registers[output_register];
                    for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(out + i * s[0]) = result[i];
                }
            }
        };
        run_strided_range(loop, begin, end, inner);
    });
}

}  // namespace

void eltwise_program(const EltwiseProgramArgs& args) {
    if (args.y.dtype == MLN_DTYPE_F32) return eltwise_program_typed<float>(args);
    if (args.y.dtype == MLN_DTYPE_F64) return eltwise_program_typed<double>(args);
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("programs are not supported for dtype ", dtype_name(args.y.dtype)));
}

}  // namespace mln::kernels
