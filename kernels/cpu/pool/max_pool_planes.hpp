// Max pooling of f32 (image, channel) planes as two separable passes, one kernel per ISA
// (bodies in max_pool_planes_body.hpp). The row pass takes each input row once and folds the
// kernel[2] taps of each output column, keeping value and column, a register of columns at a
// time; the registers at the row's ends load it clipped (-inf for the padding: masked loads on
// AVX-512, masked gathers on AVX2). Row results stay in a small cache, so consecutive output
// rows whose windows share input rows (3x3/2: every other row) reuse them. The window pass folds
// the rows of each output window in tap order into a chunk of outputs, which then goes out to y
// and the i64 indices (non-temporal stores for large outputs) or the workspace (the tap: the
// row pass keeps kw, the window pass adds each row's first tap). The fold is the plain loop's:
// NaN wins (the first NaN in row-major tap order), ties keep the first tap, a window without an
// element of x gives -inf and index -1. Folding rows of row results makes the same choice, since
// "the first NaN, else the first maximum" of a concatenation is that of its parts' choices; a
// column whose padding won a tie of -inf folds again without it.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/nn_args.hpp"

namespace mln::kernels {

// y (and argmax, in the form a.indices has, when a.has_indices) of planes [first_plane,
// first_plane + planes) of x; x, y and argmax point at plane 0. i64 indices are row-major flat
// positions in x (plane * in_size + the position in the plane); a u8 or i32 workspace the taps
// within the windows. `stream`: write y and i64 indices with non-temporal stores. Requires
// in_size < 2^30 and stride[2] < 2^20, so positions fit int32 lanes (the driver checks).
using MaxPoolPlanesKernel = void (*)(const float* x, float* y, void* argmax, int64_t first_plane, int64_t planes,
                                     const PoolArgs& a, bool stream);

void max_pool_planes_scalar(const float* x, float* y, void* argmax, int64_t first_plane, int64_t planes,
                            const PoolArgs& a, bool stream);
#if defined(MYELIN_X86_64_KERNELS)
void max_pool_planes_avx2(const float* x, float* y, void* argmax, int64_t first_plane, int64_t planes,
                          const PoolArgs& a, bool stream);
void max_pool_planes_avx512(const float* x, float* y, void* argmax, int64_t first_plane, int64_t planes,
                            const PoolArgs& a, bool stream);
#endif

MaxPoolPlanesKernel max_pool_planes_kernel(mln_isa isa);

}  // namespace mln::kernels
