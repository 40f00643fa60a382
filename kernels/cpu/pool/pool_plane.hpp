// Max and average pooling of one f32 (image, channel) plane, one kernel per ISA (bodies in
// pool_plane_body.hpp). The output columns whose windows lie inside x along the row run a
// register of outputs at a time: each tap is one (strided) load and a compare and two blends
// (max) or an add (average), instead of a loop over taps per output. The few columns at the
// row ends run one at a time. Rows of fewer such columns than a register (28 or 14 wide at
// stride 2) run one register whose loads go on into the plane's next rows, its first lanes
// stored; the plane's last rows, whose loads would leave the plane, go one at a time. Max gives the plain loop's result: NaN wins (the first NaN in
// row-major tap order), ties keep the first tap, a window without an element of x gives -inf
// and index -1. Average sums in f32 (the plain loop in double) and divides by the count of
// taps inside x, or inside the padded extent with count_include_pad.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/nn_args.hpp"

namespace mln::kernels {

// y = the pooling (a.mode, a.geometry, a.count_include_pad) of plane x; for max, indices (when
// not null) = index_base + the flat position in the plane of the chosen element. Requires
// in_size < 2^30 and stride[2] < 2^20, so positions fit int32 lanes (the driver checks).
using PoolPlaneKernel = void (*)(const float* x, float* y, int64_t* indices, int64_t index_base, const PoolArgs& a);

void pool_plane_scalar(const float* x, float* y, int64_t* indices, int64_t index_base, const PoolArgs& a);
#if defined(MYELIN_X86_64_KERNELS)
void pool_plane_avx2(const float* x, float* y, int64_t* indices, int64_t index_base, const PoolArgs& a);
void pool_plane_avx512(const float* x, float* y, int64_t* indices, int64_t index_base, const PoolArgs& a);
#endif

PoolPlaneKernel pool_plane_kernel(mln_isa isa);

}  // namespace mln::kernels
