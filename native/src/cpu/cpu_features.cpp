#include "cpu/cpu_features.hpp"

#include <myelin.h>

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#define MYELIN_CPU_X86_64 1
#if defined(_MSC_VER)
#include <intrin.h>
#include <immintrin.h>
#else
#include <cpuid.h>
#endif
#endif

#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#if defined(__linux__)
#include <fstream>
#endif

namespace mln::cpu {
namespace {

#if defined(MYELIN_CPU_X86_64)

struct CpuidRegisters {
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegisters cpuid(uint32_t leaf, uint32_t subleaf) {
    CpuidRegisters r;
#if defined(_MSC_VER)
    int values[4];
    __cpuidex(values, static_cast<int>(leaf), static_cast<int>(subleaf));
    r = {static_cast<uint32_t>(values[0]), static_cast<uint32_t>(values[1]), static_cast<uint32_t>(values[2]),
         static_cast<uint32_t>(values[3])};
#else
    __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
    return r;
}

// XCR0: which register states the OS saves. Inline asm because GCC's _xgetbv intrinsic needs
// the file to be compiled with -mxsave.
uint64_t read_xcr0() {
#if defined(_MSC_VER)
    return _xgetbv(0);
#else
    uint32_t eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<uint64_t>(edx) << 32) | eax;
#endif
}

bool bit(uint32_t value, int index) { return ((value >> index) & 1u) != 0; }

uint32_t detect() {
    uint32_t features = 0;
    const uint32_t max_leaf = cpuid(0, 0).eax;
    if (max_leaf < 1) return features;
    const CpuidRegisters leaf1 = cpuid(1, 0);
    if (bit(leaf1.ecx, 20)) features |= MLN_CPU_FEATURES_SSE4_2;

    // AVX needs the OS to save YMM state: OSXSAVE set and XCR0 bits 1 (SSE) and 2 (AVX).
    const bool osxsave = bit(leaf1.ecx, 27);
    const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const bool ymm_state = (xcr0 & 0x6) == 0x6;
    // AVX-512 also needs opmask, upper ZMM0-15 and ZMM16-31 state: XCR0 bits 5, 6, 7.
    const bool zmm_state = ymm_state && (xcr0 & 0xe0) == 0xe0;
    if (!ymm_state || !bit(leaf1.ecx, 28)) return features;

    features |= MLN_CPU_FEATURES_AVX;
    if (bit(leaf1.ecx, 12)) features |= MLN_CPU_FEATURES_FMA;
    if (bit(leaf1.ecx, 29)) features |= MLN_CPU_FEATURES_F16C;
    if (max_leaf < 7) return features;
    const CpuidRegisters leaf7 = cpuid(7, 0);
    if (bit(leaf7.ebx, 5)) features |= MLN_CPU_FEATURES_AVX2;
    if (zmm_state && bit(leaf7.ebx, 16)) {
        features |= MLN_CPU_FEATURES_AVX512F;
        if (bit(leaf7.ebx, 30)) features |= MLN_CPU_FEATURES_AVX512BW;
        if (bit(leaf7.ebx, 31)) features |= MLN_CPU_FEATURES_AVX512VL;
        if (bit(leaf7.ebx, 17)) features |= MLN_CPU_FEATURES_AVX512DQ;
    }
    return features;
}

std::string detect_name() {
    if (cpuid(0x80000000u, 0).eax < 0x80000004u) return "";
    std::array<char, 49> text{};
    for (uint32_t i = 0; i < 3; ++i) {
        const CpuidRegisters r = cpuid(0x80000002u + i, 0);
        std::memcpy(text.data() + 16 * i + 0, &r.eax, 4);
        std::memcpy(text.data() + 16 * i + 4, &r.ebx, 4);
        std::memcpy(text.data() + 16 * i + 8, &r.ecx, 4);
        std::memcpy(text.data() + 16 * i + 12, &r.edx, 4);
    }
    return text.data();
}

#else  // not x86-64

uint32_t detect() {
#if defined(__aarch64__) || defined(_M_ARM64)
    return MLN_CPU_FEATURES_NEON;  // Advanced SIMD is mandatory on AArch64
#else
    return 0;
#endif
}

std::string detect_name() {
#if defined(__APPLE__)
    char text[256] = {};
    size_t size = sizeof(text) - 1;
    if (sysctlbyname("machdep.cpu.brand_string", text, &size, nullptr, 0) == 0) return text;
#elif defined(__linux__)
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(colon + 1);
        }
    }
#endif
    return "";
}

#endif

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

}  // namespace

uint32_t cpu_features() noexcept {
    static const uint32_t features = detect();
    return features;
}

const std::string& cpu_name() noexcept {
    static const std::string name = trim(detect_name());
    return name;
}

}  // namespace mln::cpu
