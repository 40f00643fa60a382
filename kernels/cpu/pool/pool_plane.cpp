#include "kernels/cpu/pool/pool_plane.hpp"

#include "cpu/isa.hpp"
#include "kernels/cpu/pool/pool_plane_body.hpp"

namespace mln::kernels {

void pool_plane_scalar(const float* x, float* y, const PoolArgs& a) {
    PoolPlane<ScalarLanes>::run(x, y, a);
}

PoolPlaneKernel pool_plane_kernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return pool_plane_avx512;
    if (cpu::runs_avx2(isa)) return pool_plane_avx2;
#endif
    (void)isa;
    return pool_plane_scalar;
}

}  // namespace mln::kernels
