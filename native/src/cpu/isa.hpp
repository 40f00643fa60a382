// The instruction-set level the CPU kernels use. Picked once at load (the best the CPU and the
// build support); callers may select a lower level for tests and benchmarks.
#pragma once

#include <myelin.h>

#include <cstdint>

namespace mln::cpu {

// Best ISA this build has kernels for and this CPU runs.
mln_isa best_isa() noexcept;
// ISA kernels dispatch on now. Process-wide.
mln_isa active_isa() noexcept;
// `isa` is an mln_isa value. Throws INVALID_ARGUMENT for a value outside mln_isa,
// NOT_SUPPORTED for an unavailable ISA.
void set_active_isa(int32_t isa);

}  // namespace mln::cpu
