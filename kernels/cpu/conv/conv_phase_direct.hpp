// Direct forward convolution for stride-2 convs over few input channels (network stems:
// ResNet's 7x7/2 and MobileNet-v2's 3x3/2 over 3 channels, 147 and 27 deep; ResNet's 3x3/2 from
// 64 channels), f32 at AVX-512 and (the stems) AVX2. The implicit GEMM (conv_implicit_gemm.hpp) lowers every tap's row of
// the column matrix into packed panels before it multiplies; for a small depth the lowering and
// the tile stores are a large share of the layer (the 7x7/2 stem: 0.4 of 1.5 ms on one thread).
// Here the micro-kernel reads the columns in place instead, from polyphase planes
// (conv_lowering.hpp) with zero rows above and below: with positions q = oh * W + ow in the
// vector lanes, tap (c, kh, kw)'s row of the column matrix is the plane of (c, kh - pad mod 2,
// kw - pad mod 2) at q + a fixed offset, under a mask of the lanes whose ow + the tap's column
// shift leaves [0, W) (those would read the row before or after). So each depth step is two
// masked loads of 16 positions + up to 14 broadcast weights for 28 FMAs into a 14 x 32 tile, which
// starts from the bias and ends with the residual and ReLU (other activations run on the tile
// after it is stored); depth blocks of at most 576 (one for a 3x3 from 64 channels) keep a
// tile's columns in L2 across the weight panels, the tile accumulating in y between them.
//
// Tasks are blocks of about 768 output positions (whole rows, or whole tiles where a row is
// shorter than a tile) of an image, claimed by the threads; each splits the plane rows its block
// reads into the thread's own buffer (38 KB for a 6-row block of a 224x224 RGB 3x3/2 stem, 48 KB
// for the 7x7/2: the planes stay in L1/L2 while its tiles read them, and no pass over the whole
// input comes first), then lays out the lane masks of each column shift (a few: 4 for 7x7, 2 for
// 3x3) per tile of 32 positions and runs every panel of the packed weights (up to 14 output
// channels each) over the block's tiles, one kernel call per panel (per tile and panel where the
// next block's input is prefetched).
//
// Measured on Zen 5 (contended machine, same-run A/B against the implicit GEMM, min per call,
// ms; the A/B harness favours the library loaded first by about 5%, here the old one): 7x7/2
// stem 1 thread 1.25 -> 1.13-1.15, 2 threads 0.89 -> 0.61; MobileNet-v2's stem 1 thread 0.158 ->
// 0.126-0.13, 2 threads 0.17-0.20 -> 0.076-0.094, batch 32 on 2 threads CPU time per call 11.4 ->
// 7.6-7.9; ResNet-18's 3x3/2 from 64 channels (576 deep) 1 thread even (0.62), 2 threads
// 0.45 -> 0.35-0.37 (CPU time per call 1.14-1.19 -> 0.95-0.99). Where that layer's time goes
// (Zen 5, batch 1, one thread, perf samples over conv_vs_build, 2026-12-07): the tiles 86% (about
// 218 GFLOP/s against the core's 230), the split 9% (waiting on its loads of x), the weight
// packing 2.5% (none with prepared filters); oneDNN's call, timed on input and weights reordered
// before, has no such split.
//
// At AVX-512 the 3x3/2 stem's tiles read x's rows in place instead (XRowTiles below): no planes.
//
// AVX2 runs the same driver and tile code (conv_phase_direct_tile.hpp) with 6 x 16 tiles; tiles
// at a row's edge load their columns whole and clear the lanes outside the mask with an and
// (vmaskmovps: 1.08-1.10x the layer's time), tiles inside the rows skip the masks (a masked
// step is 37 instructions for 12 FMAs, the front end sets the pace: 0.77-0.78x the time); rows
// a whole number of tiles wide (the stems' 112 at AVX2) mask none: their planes' rows are padded
// with zeros (conv_phase_direct.cpp's Layout::padded). Zen 3,
// batch 1, one thread, same-process A/B against main's implicit GEMM on a loaded machine (min /
// median): MobileNet-v2's stem 0.58 / 0.55, ResNet-18's 7x7/2 stem 0.77 / 0.75; batch 32 on two
// threads 0.73 / 0.73 and 0.64 / 0.59. 4 x 24 tiles took 1.16x and 1.44x the time of 6 x 16;
// blocks of 3 rows (planes within the 32 KB L1) even.
#pragma once

#include <cstdint>

#include "core/nn_args.hpp"

namespace mln::kernels {
namespace phase_direct {

// Input channels it takes at most: measured to 64 (a block's planes, 490 KB there, stay in L2).
constexpr int64_t kMaxChannels = 64;
// At AVX2 (Zen 3, where a block's planes outgrow the 32 KB L1): the stems. ResNet-18's 3x3/2
// from 64 channels took 1.13-1.15x the implicit GEMM's time (batch 1, one thread).
constexpr int64_t kAvx2MaxChannels = 4;
// A tile: output channels (its panel's height) at most, and positions.
struct TileShape {
    int rows;
    int columns;
};
// AVX-512: 14 x 32, 28 accumulators of 32 registers. The channels are split into panels of
// balanced heights up to 14 (64 -> 12, 13, 13, 13, 13; 32 -> 10, 11, 11). Against 8-row
// panels (Zen 5, the tile loop alone over L1-resident planes, thread CPU time): the 7x7/2 stem
// 218 -> 225 GFLOP/s, the 3x3/2 from 64 channels 213 -> 228-234, MobileNet-v2's 27-deep stem
// 163 -> 168; whole layers, one thread, same-run A/B in both load orders, CPU time per call on a
// loaded machine: the 3x3/2 from 64 channels -6 to -11%, MobileNet-v2's stem -4 to -7%, the
// 7x7/2 stem -1 to -3%. Zen 5 VM of 2026-12-07: a loop of independent FMAs runs 230 GFLOP/s a
// core; this tile's step loop over L1-resident columns (a copy outside the library, unmasked,
// 11 or 14 rows) 205-225 GFLOP/s at 27 deep, 215-227 at 147: what the stems lose at batch 1
// against oneDNN lies outside the tile loop (MobileNet-v2's stem: the split 11-12% of the layer).
constexpr TileShape kAvx512Tile{14, 32};
// AVX2: 6 x 16, 12 accumulators of 16 registers (2 for the columns, 1 for the broadcast weight).
constexpr TileShape kAvx2Tile{6, 16};
constexpr int kMaxTileColumns = 32;  // a tile's columns are the bits of a uint32_t
// Depth steps ahead whose columns a prefetching tile loads into L1 (offsets then holds this many
// more entries, any value). 4 or 16 on ResNet-18's 3x3/2 from 64 channels: 0.99-1.03x the time
// (Zen 5, batch 1 one thread and 32 two threads).
constexpr int64_t kPrefetchSteps = 8;

// Whether conv_forward runs a (f32 at the active ISA: AVX2 or AVX-512).
bool applies(const ConvArgs& a);
// y = activation(conv(x, w) + bias + residual), f32; applies(a) holds. prepacked: a's filters as
// pack_filters left them at the active ISA, or nullptr: each thread packs a.w itself.
void conv_forward(const ConvArgs& a, const float* prepacked = nullptr);
// a's filters w as conv_forward's weight panels at the active ISA (out_channels x depth floats),
// packed once for prepared filters (mln_conv_weights): a prepared call then packs none (each
// thread packed all 295 KB of ResNet-18's 3x3/2 from 64 channels, 3-4% of the layer at batch 1).
// applies(a) holds.
void pack_filters(const ConvArgs& a, const float* w, float* packed);
// The inverse, for panels packed at `isa` (a call at another ISA since).
void unpack_filters(const ConvArgs& a, mln_isa isa, const float* packed, float* w);

#if defined(MYELIN_X86_64_KERNELS)
// Per ISA (kAvx512Tile, kAvx2Tile: R x N tiles):
// c[i * ldc + j] = (accumulate ? c[i * ldc + j] : bias[i], 0 for nullptr) + sum over p < depth
// of a[p * rows + i] * (bit j of masks[mask_index[p]] ? source[offsets[p] + j] : 0)
// (+ residual[i * ldc + j], then max(0, .) for relu), for rows i < rows and the columns j whose
// bit is set in `columns`; rows in [1, R]. `stream`: whole tiles (all 32 columns) are
// written with non-temporal stores, c and ldc then multiples of 16 floats (the caller fences).
// `prefetch`: every step prefetches the columns of step p + kPrefetchSteps into L1.
// That for `count` consecutive tiles: tile t reads source + N t + (t / tile_rows.tiles) tile_rows.skip with the
// masks at masks + t * shifts and writes c + N t (residual + N t); all its N columns but the last
// tile's `columns`.
struct TileRows {
    int64_t tiles;  // tiles per row of the source
    int64_t skip;   // elements between one row's last tile's columns and the next row's first
};
using PhaseDirectTiles = void (*)(int64_t count, TileRows tile_rows, int64_t shifts, int64_t depth, const float* a,
                                  const float* source, const int32_t* offsets, const uint8_t* mask_index,
                                  const uint32_t* masks, const float* bias, const float* residual, int64_t ldc,
                                  float* c, int rows, uint32_t columns, bool relu, bool accumulate, bool stream,
                                  bool prefetch);
extern const PhaseDirectTiles phase_direct_tiles_avx512;
// 3-wide kernels with one column of padding before (the 3x3/2 stem), output rows a whole number
// of registers wide, at most kXRowMaxChannels channels (one depth block), AVX-512: the tiles
// read x's rows in place and split their even and odd columns in registers, with no phase planes
// (the split had been 12% of MobileNet-v2's stem at batch 1, its loads of x missing, outside the
// multiply-adds). Each tile runs every panel, the first storing its split columns (L1) for the
// others. MobileNet-v2's stem, Zen 5, conv_vs_build against main (min / median), loaded machine:
// batch 1 one thread 0.95-0.965 / 0.95 (main 1.03-1.09 / 1.03-1.05x of it the other way round),
// batch 32 two threads 0.90-0.92 / 0.89-0.93 (main 1.15-1.17x). Each panel splitting x's
// columns itself (panels outermost, as the planes' tiles) took 1.03-1.04x the time of this, with
// the next tile's input prefetched in the first panel 0.99-1.00x of that.
constexpr int kXRowKernel = 3;
constexpr int64_t kXRowMaxChannels = 4;
// Panel heights at most: 22 sums, 6 column registers (3 taps x 2) and the two permutes' indices.
// Panels of at most 8 (4 of 8 for 32 channels): batch 1 0.98-1.00x the time, batch 32 on two
// threads 1.03-1.04x (both ways round).
constexpr int kXRowTileRows = 11;
struct XRowTiles {
    const float* x;  // the image
    int64_t channels, plane;
    int64_t in_h, in_w, out_w;
    int64_t pad_top;  // rows of padding above the image
    int64_t q0;       // the first tile's first output position
};
// The weight panels: panel i holds output channels [begin[i], begin[i + 1]) (balanced heights,
// each at most kXRowTileRows), packed at packed + begin[i] * depth.
struct XRowPanels {
    const float* packed;
    const int64_t* begin;
    int64_t count, depth;
};
// As PhaseDirectTiles without accumulation, prefetch or masks, over all the panels: `count` tiles
// from position t.q0 on, each through every panel before the next (c, residual and bias at the
// first tile and channel).
using PhaseDirectXRowTiles = void (*)(int64_t count, const XRowTiles& t, const XRowPanels& panels, const float* bias,
                                      const float* residual, int64_t ldc, float* c, uint32_t columns, bool relu,
                                      bool stream);
extern const PhaseDirectXRowTiles phase_direct_x_row_tiles_avx512;
// panel[p * rows + i] = w[i * depth + p] for p < depth, i < rows <= 16: the tile's weight panel,
// 16 depth rows at a time through a 16 x 16 transpose (the element-wise copy read the 14 rows
// a float at a time: ResNet-18's 3x3/2 from 64 channels, 295 KB of weights packed per call,
// was 5% of the layer on one thread). That layer, batch 1, same-process A/B in both orders
// (batches of 20 calls, real-time priority on a loaded machine), median: 0.97-0.98 of the time on
// one thread, 0.96-0.97 on two; the stems even (27 and 147 deep).
void pack_phase_direct_panel_avx512(const float* w, int64_t depth, int64_t rows, float* panel);
extern const PhaseDirectTiles phase_direct_tiles_avx2;
// As pack_phase_direct_panel_avx512, element by element (rows <= 6: the stems' 3.5 and 37 KB of
// weights).
void pack_phase_direct_panel_avx2(const float* w, int64_t depth, int64_t rows, float* panel);
#endif

}  // namespace phase_direct
}  // namespace mln::kernels
