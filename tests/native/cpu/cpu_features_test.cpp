#include "cpu/cpu_features.hpp"

#include <algorithm>
#include <string>
#include <thread>

#include "cpu/isa.hpp"
#include "test_support.hpp"

namespace mln::test {
namespace {

bool has(uint32_t features, mln_cpu_features bit) { return (features & bit) != 0; }

TEST(CpuFeatures, ImplicationsHold) {
    mln_cpu_features reported = MLN_CPU_FEATURES_NONE;
    ASSERT_EQ(mln_cpu_get_features(&reported), MLN_STATUS_OK);
    const uint32_t f = reported;
    EXPECT_EQ(f, cpu::cpu_features());
    if (has(f, MLN_CPU_FEATURES_AVX2)) {
        EXPECT_TRUE(has(f, MLN_CPU_FEATURES_AVX));
    }
    if (has(f, MLN_CPU_FEATURES_FMA)) {
        EXPECT_TRUE(has(f, MLN_CPU_FEATURES_AVX));
    }
    if (has(f, MLN_CPU_FEATURES_F16C)) {
        EXPECT_TRUE(has(f, MLN_CPU_FEATURES_AVX));
    }
    if (has(f, MLN_CPU_FEATURES_AVX512F)) {
        EXPECT_TRUE(has(f, MLN_CPU_FEATURES_AVX2));
    }
    if (has(f, MLN_CPU_FEATURES_AVX512BW) || has(f, MLN_CPU_FEATURES_AVX512VL) || has(f, MLN_CPU_FEATURES_AVX512DQ)) {
        EXPECT_TRUE(has(f, MLN_CPU_FEATURES_AVX512F));
    }
#if defined(__x86_64__) || defined(_M_X64)
    EXPECT_FALSE(has(f, MLN_CPU_FEATURES_NEON));
    EXPECT_TRUE(has(f, MLN_CPU_FEATURES_SSE4_2)) << "every x86-64 CPU in use has SSE4.2";
#elif defined(__aarch64__) || defined(_M_ARM64)
    EXPECT_TRUE(has(f, MLN_CPU_FEATURES_NEON));
#endif
}

TEST(CpuFeatures, NameAndCores) {
    const char* name = nullptr;
    ASSERT_EQ(mln_cpu_get_name(&name), MLN_STATUS_OK);
    ASSERT_NE(name, nullptr);
    const std::string text = name;
    if (!text.empty()) {
        EXPECT_NE(text.front(), ' ');
        EXPECT_NE(text.back(), ' ');
    }
    int32_t cores = 0;
    ASSERT_EQ(mln_cpu_get_physical_core_count(&cores), MLN_STATUS_OK);
    EXPECT_GE(cores, 1);
    EXPECT_LE(cores, static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency())));
}

TEST(CpuIsa, BestIsaMatchesFeatures) {
    const uint32_t f = cpu::cpu_features();
    const uint32_t avx2 = MLN_CPU_FEATURES_AVX | MLN_CPU_FEATURES_AVX2 | MLN_CPU_FEATURES_FMA | MLN_CPU_FEATURES_F16C;
    const uint32_t avx512 = avx2 | MLN_CPU_FEATURES_AVX512F | MLN_CPU_FEATURES_AVX512BW | MLN_CPU_FEATURES_AVX512VL |
                            MLN_CPU_FEATURES_AVX512DQ;
#if defined(MYELIN_X86_64_KERNELS)
    const mln_isa expected = (f & avx512) == avx512 ? MLN_ISA_AVX512
                             : (f & avx2) == avx2   ? MLN_ISA_AVX2
                                                    : MLN_ISA_SCALAR;
    EXPECT_EQ(cpu::best_isa(), expected);
#else
    (void)f;
    (void)avx2;
    (void)avx512;
    EXPECT_EQ(cpu::best_isa(), MLN_ISA_SCALAR);
#endif
}

TEST(CpuIsa, EveryLevelUpToTheBestCanBeSelected) {
    const mln_isa best = cpu::best_isa();
    for (mln_isa isa : {MLN_ISA_SCALAR, MLN_ISA_AVX2, MLN_ISA_AVX512}) {
        if (isa > best) continue;
        ScopedIsa selected(isa);
        EXPECT_EQ(cpu::active_isa(), isa);
        EXPECT_EQ(cpu::runs_avx2(isa), isa != MLN_ISA_SCALAR);
    }
}

TEST(CpuIsa, SetLowerWorksHigherFails) {
    mln_isa start = MLN_ISA_NEON;
    ASSERT_EQ(mln_cpu_get_isa(&start), MLN_STATUS_OK);
    {
        ScopedIsa scalar(MLN_ISA_SCALAR);
        mln_isa now = MLN_ISA_NEON;
        ASSERT_EQ(mln_cpu_get_isa(&now), MLN_STATUS_OK);
        EXPECT_EQ(now, MLN_ISA_SCALAR);
    }
    EXPECT_TRUE(failed_with(mln_cpu_set_isa(MLN_ISA_NEON), MLN_STATUS_NOT_SUPPORTED,
                            {"mln_cpu_set_isa: isa neon is not available"}));
    EXPECT_TRUE(failed_with(mln_cpu_set_isa(static_cast<mln_isa>(12)), MLN_STATUS_INVALID_ARGUMENT,
                            {"isa 12 is not a valid mln_isa"}));
    if (cpu::best_isa() < MLN_ISA_AVX512) {
        EXPECT_TRUE(failed_with(mln_cpu_set_isa(MLN_ISA_AVX512), MLN_STATUS_NOT_SUPPORTED,
                                {"mln_cpu_set_isa: isa avx512 is not available: it needs", "AVX-512 F/BW/VL/DQ"}));
    }
    if (cpu::best_isa() < MLN_ISA_AVX2) {
        EXPECT_EQ(mln_cpu_set_isa(MLN_ISA_AVX2), MLN_STATUS_NOT_SUPPORTED);
    }
    mln_isa end = MLN_ISA_NEON;
    ASSERT_EQ(mln_cpu_get_isa(&end), MLN_STATUS_OK);
    EXPECT_EQ(end, start);
}

}  // namespace
}  // namespace mln::test
