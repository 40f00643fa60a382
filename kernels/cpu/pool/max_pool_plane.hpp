// Max pooling of one f32 (image, channel) plane, one kernel per ISA (bodies in
// max_pool_plane_body.hpp). The output columns whose windows lie inside x along the row run
// a register of outputs at a time: each tap is one (strided) load, a compare and two blends,
// instead of a loop over taps per output. The few columns at the row ends run one at a time.
// Same result as the plain loop: NaN wins (the first NaN in row-major tap order), ties keep
// the first tap, a window without an element of x gives -inf and index -1.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/nn_args.hpp"

namespace mln::kernels {

// y = max over each window of plane x; indices (when not null) = index_base + the flat
// position in the plane of the chosen element. Requires in_size < 2^31 and strides and
// dilations small enough that 16 * stride * in[2] fits in int32 (the driver checks).
using MaxPoolPlaneKernel = void (*)(const float* x, float* y, int64_t* indices, int64_t index_base,
                                    const WindowGeometry& g);

void max_pool_plane_scalar(const float* x, float* y, int64_t* indices, int64_t index_base, const WindowGeometry& g);
#if defined(MYELIN_X86_64_KERNELS)
void max_pool_plane_avx2(const float* x, float* y, int64_t* indices, int64_t index_base, const WindowGeometry& g);
void max_pool_plane_avx512(const float* x, float* y, int64_t* indices, int64_t index_base, const WindowGeometry& g);
#endif

MaxPoolPlaneKernel max_pool_plane_kernel(mln_isa isa);

}  // namespace mln::kernels
