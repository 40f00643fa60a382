// Compiled with AVX2 + FMA: the norm span bodies on 8-lane registers.
#include "kernels/cpu/norm/norm_spans_body.hpp"

namespace mln::kernels {

const NormSpanKernels& norm_span_kernels_avx2() { return NormSpans<Avx2Lanes>::table; }

}  // namespace mln::kernels
