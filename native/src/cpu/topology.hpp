// Processor topology.
#pragma once

#include <cstdint>

namespace mln::cpu {

// Physical cores this process may run on (hyper-threads of one core count once). At least 1.
int32_t physical_core_count() noexcept;

}  // namespace mln::cpu
