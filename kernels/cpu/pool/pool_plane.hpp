// Average pooling of one f32 (image, channel) plane, one kernel per ISA (bodies in
// pool_plane_body.hpp; max pooling runs max_pool_planes.hpp). The output columns whose windows
// lie inside x along the row run a register of outputs at a time: each tap is one (strided)
// load and an add, instead of a loop over taps per output. The few columns at the row ends run
// one at a time. Rows of fewer such columns than a register (28 or 14 wide at stride 2) run one
// register whose loads go on into the plane's next rows, its first lanes stored; the plane's
// last rows, whose loads would leave the plane, go one at a time. Sums run in f32 (the plain
// loop in double), divided by the count of taps inside x, or inside the padded extent with
// count_include_pad.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/nn_args.hpp"

namespace mln::kernels {

// y = the average pooling (a.geometry, a.count_include_pad) of plane x.
using PoolPlaneKernel = void (*)(const float* x, float* y, const PoolArgs& a);

void pool_plane_scalar(const float* x, float* y, const PoolArgs& a);
#if defined(MYELIN_X86_64_KERNELS)
void pool_plane_avx2(const float* x, float* y, const PoolArgs& a);
void pool_plane_avx512(const float* x, float* y, const PoolArgs& a);
#endif

PoolPlaneKernel pool_plane_kernel(mln_isa isa);

}  // namespace mln::kernels
