// Compiled with AVX-512: pooling on 16-lane registers.
#include "kernels/cpu/pool/pool_plane.hpp"
#include "kernels/cpu/pool/pool_plane_body.hpp"

namespace mln::kernels {

void pool_plane_avx512(const float* x, float* y, int64_t* indices, int64_t index_base, const PoolArgs& a) {
    PoolPlane<Avx512Lanes>::run(x, y, indices, index_base, a);
}

}  // namespace mln::kernels
