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

mln_isa detect_best_isa() noexcept {
#if defined(MYELIN_X86_64_KERNELS)
    if ((cpu_features() & kAvx2Requirements) == kAvx2Requirements) return MLN_ISA_AVX2;
#endif
    // No AVX-512 or NEON kernels exist yet, so those levels are never picked.
    return MLN_ISA_SCALAR;
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
            if (best_isa() != MLN_ISA_AVX2) {
                throw Error(MLN_STATUS_NOT_SUPPORTED,
                            "isa avx2 is not available: it needs an x86-64 build and a CPU with AVX2, FMA and F16C");
            }
            break;
        case MLN_ISA_AVX512:
        case MLN_ISA_NEON:
            throw Error(MLN_STATUS_NOT_SUPPORTED, cat("isa ", name, " is not available: this build has no ", name,
                                                      " kernels (best is ", isa_name(best_isa()), ")"));
    }
    active().store(static_cast<mln_isa>(isa), std::memory_order_relaxed);
}

}  // namespace mln::cpu
