// Compiled with AVX2 + FMA: max pooling on 8-lane registers.
#include "kernels/cpu/pool/max_pool_planes.hpp"
#include "kernels/cpu/pool/max_pool_planes_body.hpp"

namespace mln::kernels {

void max_pool_planes_avx2(const float* x, float* y, void* argmax, int64_t first_plane, int64_t planes,
                          const PoolArgs& a, bool stream) {
    MaxPoolPlanes<Avx2Lanes>::run(x, y, argmax, first_plane, planes, a, stream);
}

}  // namespace mln::kernels
