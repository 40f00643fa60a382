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
// Whether kernels written for AVX2 + FMA + F16C may run at `isa`: the AVX-512 level includes
// them, and a kernel without an AVX-512 variant uses its AVX2 one there.
constexpr bool runs_avx2(mln_isa isa) noexcept { return isa == MLN_ISA_AVX2 || isa == MLN_ISA_AVX512; }
// `isa` is an mln_isa value. Throws INVALID_ARGUMENT for a value outside mln_isa,
// NOT_SUPPORTED for an unavailable ISA.
void set_active_isa(int32_t isa);

}  // namespace mln::cpu
