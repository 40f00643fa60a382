#include "kernels/cpu/reference/reference_eltwise_program.hpp"

#include <cstddef>
#include <vector>

#include "core/dtype.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::reference {
namespace {

// A contiguous tensor of y's shape and dtype.
TensorView temporary_like(const TensorView& y, std::vector<unsigned char>& storage) {
    TensorView view = y;
    storage.assign(static_cast<size_t>(y.element_count) * dtype_size(y.dtype), 0);
    view.data = storage.data();
    int64_t stride = 1;
    for (int32_t d = y.rank - 1; d >= 0; --d) {
        view.strides[d] = stride;
        stride *= y.shape[d];
    }
    return view;
}

}  // namespace

void eltwise_program(const EltwiseProgramArgs& args) {
    std::vector<TensorView> registers(MLN_ELTWISE_MAX_REGISTERS);
    std::vector<std::vector<unsigned char>> storage(MLN_ELTWISE_MAX_REGISTERS);
    for (int32_t r = 0; r < args.input_count; ++r) registers[static_cast<size_t>(r)] = args.inputs[r];
    for (int32_t k = 0; k < args.instruction_count; ++k) {
        const mln_eltwise_instruction& instruction = args.program[k];
        // A fresh tensor per instruction, so a dst that is also a source is read intact.
        std::vector<unsigned char> result_storage;
        const TensorView result = temporary_like(args.y, result_storage);
        const TensorView& src0 = registers[static_cast<size_t>(instruction.src0)];
        if (instruction.kind == MLN_ELTWISE_KIND_UNARY) {
            unary(static_cast<mln_unary_op>(instruction.op), instruction.alpha, instruction.beta, src0, result);
        } else {
            binary(static_cast<mln_binary_op>(instruction.op), src0, registers[static_cast<size_t>(instruction.src1)],
                   result);
        }
        const auto dst = static_cast<size_t>(instruction.dst);
        storage[dst] = std::move(result_storage);
        registers[dst] = result;
        registers[dst].data = storage[dst].data();
    }
    copy(registers[static_cast<size_t>(args.program[args.instruction_count - 1].dst)], args.y);
}

}  // namespace mln::reference
