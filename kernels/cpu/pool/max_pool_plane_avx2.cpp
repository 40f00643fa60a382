// Compiled with AVX2 + FMA: max pooling on 8-lane registers.
#include "kernels/cpu/pool/max_pool_plane.hpp"
#include "kernels/cpu/pool/max_pool_plane_body.hpp"

namespace mln::kernels {

void max_pool_plane_avx2(const float* x, float* y, int64_t* indices, int64_t index_base, const WindowGeometry& g) {
    MaxPoolPlane<Avx2Lanes>::run(x, y, indices, index_base, g);
}

}  // namespace mln::kernels
