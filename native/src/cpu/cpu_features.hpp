// What the processor and the OS support, detected once.
#pragma once

#include <cstdint>
#include <string>

namespace mln::cpu {

// A mask of mln_cpu_features bits: features the CPU has and the OS enables (register state
// saved on context switch, checked through XGETBV on x86).
uint32_t cpu_features() noexcept;

// Processor model name with surrounding blanks removed; "" where unknown.
const std::string& cpu_name() noexcept;

}  // namespace mln::cpu
