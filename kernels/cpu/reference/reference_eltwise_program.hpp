// Reference twin of mln_eltwise_program: one instruction at a time over whole tensors.
#pragma once

#include "core/eltwise_program_args.hpp"

namespace mln::reference {

// Each instruction runs as a separate reference unary/binary call into a full-size temporary;
// the last instruction's register is copied to y.
void eltwise_program(const EltwiseProgramArgs& args);

}  // namespace mln::reference
