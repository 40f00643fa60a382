#include "kernels/cpu/reduce/row_sums.hpp"

#include "cpu/isa.hpp"

namespace mln::kernels {

void row_sums_scalar(const float* x, int64_t rows, int64_t length, int64_t stride, double* sums) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = x + r * stride;
        double sum = 0.0;
        for (int64_t i = 0; i < length; ++i) sum += static_cast<double>(row[i]);
        sums[r] = sum;
    }
}

RowSumsKernel row_sums_kernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return row_sums_avx512;
    if (cpu::runs_avx2(isa)) return row_sums_avx2;
#endif
    (void)isa;
    return row_sums_scalar;
}

}  // namespace mln::kernels
