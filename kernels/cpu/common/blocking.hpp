// Integer arithmetic of the blocking loops: how many blocks cover a size, a size padded to whole
// blocks. Internal linkage, as the callers are compiled with different ISA flags.
#pragma once

#include <cstdint>

namespace mln::kernels {
namespace {

constexpr int64_t ceil_div(int64_t value, int64_t divisor) { return (value + divisor - 1) / divisor; }
constexpr int64_t round_up(int64_t value, int64_t multiple) { return ceil_div(value, multiple) * multiple; }

}  // namespace
}  // namespace mln::kernels
