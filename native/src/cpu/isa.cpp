#include "cpu/isa.hpp"

#include <atomic>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/text.hpp"
#include "cpu/cpu_features.hpp"

namespace mln::cpu {
namespace {

constexpr uint32_t kAvx2Requirements =
    MLN_CPU_FEATURES_AVX | MLN_CPU_FEATURES_AVX2 | MLN_CPU_FEATURES_FMA | MLN_CPU_FEATURES_F16C;
constexpr uint32_t kAvx512Requirements = kAvx2Requirements | MLN_CPU_FEATURES_AVX512F | MLN_CPU_FEATURES_AVX512BW |
                                         MLN_CPU_FEATURES_AVX512VL | MLN_CPU_FEATURES_AVX512DQ;

// Unused in builds without x86-64 kernels (ARM64).
[[maybe_unused]] bool has_all(uint32_t required) { return (cpu_features() & required) == required; }

mln_isa detect_best_isa() noexcept {
#if defined(MYELIN_X86_64_KERNELS)
    if (has_all(kAvx512Requirements)) return MLN_ISA_AVX512;
    if (has_all(kAvx2Requirements)) return MLN_ISA_AVX2;
#endif
    // No NEON kernels exist yet, so that level is never picked.
    return MLN_ISA_SCALAR;
}

// What a CPU must have for `isa`, in words (for the error message).
const char* requirement_text(int32_t isa) {
    if (isa == MLN_ISA_AVX2) return "an x86-64 build and a CPU with AVX2, FMA and F16C";
    return "an x86-64 build and a CPU with AVX2, FMA, F16C and AVX-512 F/BW/VL/DQ";
}

std::atomic<mln_isa>& active() {
    static std::atomic<mln_isa> isa{detect_best_isa()};
    return isa;
}

}  // namespace

mln_isa best_isa() noexcept {
    static const mln_isa isa = detect_best_isa();
    return isa;
}

mln_isa active_isa() noexcept { return active().load(std::memory_order_relaxed); }

void set_active_isa(int32_t isa) {
    const char* name = isa_name(isa);
    if (name == nullptr) {
        throw Error(MLN_STATUS_INVALID_ARGUMENT, cat("isa ", isa, " is not a valid mln_isa"));
    }
    switch (isa) {
        case MLN_ISA_SCALAR:
            break;
        case MLN_ISA_AVX2:
        case MLN_ISA_AVX512:
            if (best_isa() < isa || best_isa() == MLN_ISA_NEON) {
                throw Error(MLN_STATUS_NOT_SUPPORTED,
                            cat("isa ", name, " is not available: it needs ", requirement_text(isa)));
            }
            break;
        case MLN_ISA_NEON:
            throw Error(MLN_STATUS_NOT_SUPPORTED, cat("isa ", name, " is not available: this build has no ", name,
                                                      " kernels (best is ", isa_name(best_isa()), ")"));
    }
    active().store(static_cast<mln_isa>(isa), std::memory_order_relaxed);
}

}  // namespace mln::cpu
