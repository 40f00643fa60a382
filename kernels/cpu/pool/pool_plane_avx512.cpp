// Compiled with AVX-512: average pooling on 16-lane registers.
#include "kernels/cpu/pool/pool_plane.hpp"
#include "kernels/cpu/pool/pool_plane_body.hpp"

namespace mln::kernels {

void pool_plane_avx512(const float* x, float* y, const PoolArgs& a) {
    PoolPlane<Avx512Lanes>::run(x, y, a);
}

}  // namespace mln::kernels
