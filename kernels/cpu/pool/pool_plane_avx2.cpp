// Compiled with AVX2 + FMA: average pooling on 8-lane registers.
#include "kernels/cpu/pool/pool_plane.hpp"
#include "kernels/cpu/pool/pool_plane_body.hpp"

namespace mln::kernels {

void pool_plane_avx2(const float* x, float* y, const PoolArgs& a) {
    PoolPlane<Avx2Lanes>::run(x, y, a);
}

}  // namespace mln::kernels
