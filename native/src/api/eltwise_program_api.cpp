// Entry point of the fused elementwise program family: validate, then dispatch through the
// device's table.
#include <myelin.h>

#include "core/device.hpp"
#include "core/eltwise_program_validation.hpp"
#include "core/error.hpp"

extern "C" {

MLN_API mln_status mln_eltwise_program(mln_device* device, const mln_eltwise_instruction* program,
                                       int32_t instruction_count, const mln_tensor_desc* inputs, int32_t input_count,
                                       const mln_tensor_desc* y) {
    return mln::guard("mln_eltwise_program", [&] {
        mln_device& d = mln::require_device(device);
        const mln::EltwiseProgramArgs args =
            mln::validate_eltwise_program(d, program, instruction_count, inputs, input_count, y);
        d.ops->eltwise_program(d, args);
    });
}

}  // extern "C"
