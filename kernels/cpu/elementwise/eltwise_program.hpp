// The fused elementwise program kernel (mln_eltwise_program): one pass over the output,
// evaluating the instruction list block by block in small per-register buffers.
#pragma once

#include "core/eltwise_program_args.hpp"

namespace mln::kernels {

// Throws Error(NOT_SUPPORTED) before touching memory when an op lacks y's dtype.
void eltwise_program(const EltwiseProgramArgs& args);

}  // namespace mln::kernels
