// Arguments of the fused elementwise program family (mln_eltwise_program), as validation
// hands them to a backend: checked instructions and inputs broadcast to y's shape.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/tensor_view.hpp"

namespace mln {

struct EltwiseProgramArgs {
    mln_eltwise_instruction program[MLN_ELTWISE_MAX_INSTRUCTIONS] = {};
    int32_t instruction_count = 0;
    TensorView inputs[MLN_ELTWISE_MAX_INPUTS];  // broadcast to y's shape
    int32_t input_count = 0;
    TensorView y;
};

}  // namespace mln
