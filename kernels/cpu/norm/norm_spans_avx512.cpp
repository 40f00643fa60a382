// Compiled with AVX-512: the norm span bodies on 16-lane registers.
#include "kernels/cpu/norm/norm_spans_body.hpp"

namespace mln::kernels {

const NormSpanKernels& norm_span_kernels_avx512() { return NormSpans<Avx512Lanes>::table; }

}  // namespace mln::kernels
