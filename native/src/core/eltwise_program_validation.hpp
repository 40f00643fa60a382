// Validation of mln_eltwise_program: the instruction list (kinds, ops, registers defined
// before use), the inputs (one float dtype, broadcastable to y) and the output.
#pragma once

#include <myelin.h>

#include "core/device.hpp"
#include "core/eltwise_program_args.hpp"

namespace mln {

EltwiseProgramArgs validate_eltwise_program(const mln_device& device, const mln_eltwise_instruction* program,
                                            int32_t instruction_count, const mln_tensor_desc* inputs,
                                            int32_t input_count, const mln_tensor_desc* y);

}  // namespace mln
