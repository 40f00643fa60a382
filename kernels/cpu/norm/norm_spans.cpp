#include "kernels/cpu/norm/norm_spans.hpp"

#include "cpu/isa.hpp"
#include "kernels/cpu/norm/norm_spans_body.hpp"

namespace mln::kernels {

const NormSpanKernels& norm_span_kernels_scalar() { return NormSpans<ScalarLanes>::table; }

const NormSpanKernels& norm_span_kernels(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return norm_span_kernels_avx512();
    if (cpu::runs_avx2(isa)) return norm_span_kernels_avx2();
#endif
    (void)isa;
    return norm_span_kernels_scalar();
}

}  // namespace mln::kernels
