// Winograd F(4x4, 3x3) forward convolution (f32, 2-d, 3x3, stride 1, undilated, one group).
// Each 4x4 block of outputs (a tile) comes from a 6x6 patch of the input:
//   Y = A^T [ sum_c (G g_mc G^T) .* (B^T d_c B) ] A
// so the 36 positions xi of the transformed domain are 36 independent GEMMs
//   M[xi] (out_channels x tiles) = U[xi] (out_channels x channels) * V[xi] (channels x tiles)
// with 36 multiply-adds per tile and channel pair instead of 16 * 9 = 144 (4x fewer).
// The driver (conv_winograd.cpp): U (weights change every training step, so nothing is
// cached) packed as the GEMM micro-kernel's A panels, V, the 36 GEMMs by the GEMM
// micro-kernels, and the output transform per chunk of output channels with bias, residual and
// activation at the store; tasks are blocks of tiles, or (batch 1, small images, several
// threads) chunks of output channels over a V of all tiles made first by all threads.
//
// F(4x4, 3x3) rather than F(2x2, 3x3): 4x fewer multiply-adds instead of 2.25x, for an error
// about 13x the implicit GEMM's yet a few millionths of the terms' magnitude
// (kWinogradRelativeError; F(2x2) was not built). F(6x6, 3x3) loses too many digits in f32.
//
// Non-finite values: a NaN or Inf in x (or w) makes NaN every output of the tiles whose patch
// holds it (the transforms mix a patch), a superset of the outputs whose window holds it, as
// in any Winograd convolution; outputs of other tiles are unaffected.
//
// The transforms are vectorized across the tiles of a row of tiles (one ISA file each); tile
// rows are read through a 4-phase split of each input row (phase p holds columns 4t + p), so
// that tile t's six columns are phases 0-3 at t and phases 0-1 at t + 1: whole-register loads.
#pragma once

#include <cstdint>

#include "core/nn_args.hpp"
#include "cpu/isa.hpp"

namespace mln::kernels {

// Sizes of the transformed domain.
constexpr int64_t kWinogradTile = 4;    // outputs per tile side
constexpr int64_t kWinogradPoints = 36;  // 6 x 6 transformed points: GEMMs per call

// Error bound (the tests' tolerance): max |y - y_exact| / scale against a double-precision
// reference, scale = sum over taps and channels of |w||x| + |bias| + |residual|, the largest
// over the outputs of the output's tile (the transforms mix the tile's whole patch, so an
// output whose window is padding is a cancellation of the patch's terms, not an exact 0).
// Measured over the tests' shapes (3 to 200 channels, uniform data in [-4, 4], every ISA, pads
// 0 to 3): 2.1e-6 to 2.4e-6 (about 40 units of f32 rounding: the transforms' coefficients up
// to 8 and 1/24 and the 36-term sums they add); the implicit GEMM on the same measure:
// 1.6e-7 to 1.8e-7. The bound leaves 4x.
constexpr double kWinogradRelativeError = 1e-5;

// Whether the Winograd path computes this convolution at all (shape and type only).
bool winograd_applies(const ConvArgs& a, mln_dtype dtype);
// Whether it is the faster path for this convolution on the measured sizes (implies applies).
bool winograd_wins(const ConvArgs& a, mln_dtype dtype);

// y = activation(conv(x, w) + bias + residual); winograd_applies(a, F32) must hold.
void conv_winograd_forward(const ConvArgs& a);

// ---- Transforms, one set per ISA (conv_winograd_body.hpp) ----------------------------------

// A run of tiles along one row of tiles of one image: tiles [tile0, tile0 + count) of row
// `tile_row` of image channel planes starting at `x` (one plane per channel, channel_stride
// apart).
struct WinogradTileRun {
    int64_t tile_row;
    int64_t tile0;
    int64_t count;
};

struct WinogradTransforms {
    // U[xi][panel][c][mr] = (G w[m][c] G^T)[xi] for m = panel * mr + i in [m_begin, m_end)
    // (m_begin a multiple of mr), zeros for m >= out_channels. xi_stride: elements per xi.
    void (*weights)(const float* w, int64_t out_channels, int64_t channels, int64_t mr, int64_t m_begin,
                    int64_t m_end, int64_t xi_stride, float* u);
    // V[xi][c][t] = (B^T d B)[xi] for the run's tiles t in [0, count) and channels [0, channels)
    // of the image at x; v + xi * xi_stride + c * ldv + t.
    void (*input)(const float* x, const WindowGeometry& g, int64_t channels, const WinogradTileRun& run, float* v,
                  int64_t xi_stride, int64_t ldv);
    // For output channel plane y (bias value `bias`, residual plane or nullptr): the run's
    // output tiles from M[xi][t] = m[xi * xi_stride + t], t in [0, count), with y =
    // activation(A^T M A + bias + residual), clipped to the output's size. relu: the activation
    // is ReLU (fused); any other activation is applied by the caller. ahead: elements from y
    // (and residual) to the same region of a plane to be written later, prefetched now; 0 for
    // none.
    void (*output)(const float* m, int64_t xi_stride, const WindowGeometry& g, const WinogradTileRun& run, float bias,
                   const float* residual, bool relu, float* y, int64_t ahead);
};

WinogradTransforms winograd_transforms_scalar();
#if defined(MYELIN_X86_64_KERNELS)
WinogradTransforms winograd_transforms_avx2();
WinogradTransforms winograd_transforms_avx512();
#endif

inline WinogradTransforms winograd_transforms(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return winograd_transforms_avx512();
    if (cpu::runs_avx2(isa)) return winograd_transforms_avx2();
#endif
    (void)isa;
    return winograd_transforms_scalar();
}

}  // namespace mln::kernels
