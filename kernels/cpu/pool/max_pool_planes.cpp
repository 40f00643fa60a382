#include "kernels/cpu/pool/max_pool_planes.hpp"

#include "cpu/isa.hpp"
#include "kernels/cpu/pool/max_pool_planes_body.hpp"

namespace mln::kernels {

void max_pool_planes_scalar(const float* x, float* y, void* argmax, int64_t first_plane, int64_t planes,
                            const PoolArgs& a, bool stream) {
    MaxPoolPlanes<ScalarLanes>::run(x, y, argmax, first_plane, planes, a, stream);
}

MaxPoolPlanesKernel max_pool_planes_kernel(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return max_pool_planes_avx512;
    if (cpu::runs_avx2(isa)) return max_pool_planes_avx2;
#endif
    (void)isa;
    return max_pool_planes_scalar;
}

}  // namespace mln::kernels
