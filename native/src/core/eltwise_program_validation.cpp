#include "core/eltwise_program_validation.hpp"

#include <algorithm>
#include <string>

#include "core/dtype.hpp"
#include "core/elementwise_validation.hpp"
#include "core/error.hpp"
#include "core/kernel_validation.hpp"
#include "core/names.hpp"
#include "core/shape.hpp"
#include "core/text.hpp"
#include "core/validation.hpp"

namespace mln {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(MLN_STATUS_INVALID_ARGUMENT, message); }

// A source register must hold a value: an input or the dst of an earlier instruction.
void require_defined(int32_t index, const char* field, int32_t reg, const bool* defined) {
    if (reg < 0 || reg >= MLN_ELTWISE_MAX_REGISTERS) {
        invalid(cat("program[", index, "]: ", field, " ", reg, " is out of range (0..", MLN_ELTWISE_MAX_REGISTERS - 1,
                    ")"));
    }
    if (!defined[reg]) {
        invalid(cat("program[", index, "]: ", field, " ", reg, " is read before any input or instruction defines it"));
    }
}

void validate_instruction(int32_t index, const mln_eltwise_instruction& instruction, int32_t input_count,
                          bool* defined) {
    if (instruction.kind == MLN_ELTWISE_KIND_UNARY) {
        if (unary_op_name(instruction.op) == nullptr) {
            invalid(cat("program[", index, "]: op ", instruction.op, " is not a valid mln_unary_op"));
        }
        try {
            validate_unary_params(static_cast<mln_unary_op>(instruction.op), instruction.alpha, instruction.beta);
        } catch (const Error& error) {
            invalid(cat("program[", index, "]: ", error.what()));
        }
        require_defined(index, "src0", instruction.src0, defined);
    } else if (instruction.kind == MLN_ELTWISE_KIND_BINARY) {
        const char* name = binary_op_name(instruction.op);
        if (name == nullptr) invalid(cat("program[", index, "]: op ", instruction.op, " is not a valid mln_binary_op"));
        if (binary_op_gives_bool(instruction.op)) {
            invalid(cat("program[", index, "]: ", name, " gives bool, which a float program cannot hold"));
        }
        require_defined(index, "src0", instruction.src0, defined);
        require_defined(index, "src1", instruction.src1, defined);
    } else {
        invalid(cat("program[", index, "]: kind ", instruction.kind, " is not a valid mln_eltwise_kind"));
    }
    if (instruction.dst < input_count || instruction.dst >= MLN_ELTWISE_MAX_REGISTERS) {
        invalid(cat("program[", index, "]: dst ", instruction.dst, " is out of range (temporaries are ", input_count,
                    "..", MLN_ELTWISE_MAX_REGISTERS - 1, "; inputs are read-only)"));
    }
    defined[instruction.dst] = true;
}

}  // namespace

EltwiseProgramArgs validate_eltwise_program(const mln_device& device, const mln_eltwise_instruction* program,
                                            int32_t instruction_count, const mln_tensor_desc* inputs,
                                            int32_t input_count, const mln_tensor_desc* y) {
    EltwiseProgramArgs args;
    if (program == nullptr) invalid("program is null");
    if (instruction_count < 1 || instruction_count > MLN_ELTWISE_MAX_INSTRUCTIONS) {
        invalid(cat("instruction_count ", instruction_count, " is out of range (1..", MLN_ELTWISE_MAX_INSTRUCTIONS, ")"));
    }
    if (inputs == nullptr) invalid("inputs is null");
    if (input_count < 1 || input_count > MLN_ELTWISE_MAX_INPUTS) {
        invalid(cat("input_count ", input_count, " is out of range (1..", MLN_ELTWISE_MAX_INPUTS, ")"));
    }
    args.y = validate_tensor("y", y, Access::write);
    if (args.y.dtype != MLN_DTYPE_F32 && args.y.dtype != MLN_DTYPE_F64) {
        invalid(cat("y is ", dtype_name(args.y.dtype), " but programs run on f32 or f64"));
    }
    for (int32_t i = 0; i < input_count; ++i) {
        const std::string name = cat("inputs[", i, "]");
        const TensorView input = validate_tensor(name.c_str(), &inputs[i], Access::read);
        if (input.dtype != args.y.dtype) {
            invalid(cat(name, " is ", dtype_name(input.dtype), " but y is ", dtype_name(args.y.dtype)));
        }
        const Shape shape = broadcast_shapes(name.c_str(), input, "y", args.y);
        if (shape.rank != args.y.rank || !std::equal(shape.dims, shape.dims + shape.rank, args.y.shape)) {
            invalid(cat(name, " (", shape_to_string(input), ") does not broadcast to y (", shape_to_string(args.y), ")"));
        }
        args.inputs[i] = broadcast_view(input, args.y.rank, args.y.shape);
    }
    args.input_count = input_count;

    bool defined[MLN_ELTWISE_MAX_REGISTERS] = {};
    std::fill(defined, defined + input_count, true);
    for (int32_t k = 0; k < instruction_count; ++k) {
        validate_instruction(k, program[k], input_count, defined);
        args.program[k] = program[k];
    }
    args.instruction_count = instruction_count;
    require_supported(device, MLN_KERNEL_ELTWISE_PROGRAM, args.y.dtype);
    return args;
}

}  // namespace mln
