#include "kernels/cpu/pool/max_pool_plane.hpp"

#include "cpu/isa.hpp"
#include "kernels/cpu/pool/max_pool_plane_body.hpp"

namespace mln::kernels {

void max_pool_plane_scalar(const float* x, float* y, int64_t* indices, int64_t index_base, const WindowGeometry& g) {
    MaxPoolPlane<ScalarLanes>::run(x, y, indices, index_base, g);
}

MaxPoolPlaneKernel max_pool_plane_kernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return max_pool_plane_avx512;
    if (cpu::runs_avx2(isa)) return max_pool_plane_avx2;
#endif
    (void)isa;
    return max_pool_plane_scalar;
}

}  // namespace mln::kernels
