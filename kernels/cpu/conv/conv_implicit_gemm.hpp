// Forward convolution as an implicit GEMM: per (image, group),
//   y_group (Mg x P) = W_g (Mg x depth) * columns (depth x P)
// where `columns` is the im2col matrix (im2col.hpp), never materialized: each KC x NC block of
// it is lowered straight from the image into the GEMM's packed-B panel layout
// (gemm_microkernel.hpp) by the ISA's lowering (conv_lowering.hpp), into a per-thread buffer that
// stays in L2, and used there at once. Stride-2 layers that the AVX-512 lowering takes from
// polyphase planes have the planes split from the images first, by all threads.
// Each MR x KC panel of the weights comes into L1 once per block and serves all its NR panels.
// It is packed there (contiguous reads in the micro-kernel) when the block has at least
// kPackedPanelsMinimum NR panels to share the packing; with fewer (small images, deep layers)
// the strided-A micro-kernel reads the weights in place, as packing would cost a pass over all
// of them per block. A partial last panel is always packed, zero-padded. The GEMM micro-kernels
// (kernels/cpu/gemm) do the arithmetic.
//
// Loop nest of one task (image n, group g, block of NC output positions, chunk of MR panels):
//   for each KC depth block          -> lower columns[pc.., q0..] into NR panels (L2)
//     for each MR panel of the chunk -> A panel (L1), reused over the NC / NR column panels
//       for each NR panel            -> micro-kernel; epilogue on the last depth block
// Tasks are claimed dynamically from one counter, so a thread that starts late or shares its
// core slows only its own tasks. Rule for the parallel unit: blocks of output positions first
// (no duplicated lowering); when (image, group, position block) tasks are too few to fill the
// pool, the output channels are split into chunks as well, each chunk lowering its own copy of
// its blocks. A single image (batch 1, one group) whose positions cannot fill the pool with
// blocks of four NR panels or more (small, deep layers) splits the depth instead (depth-slice
// mode): one slice per thread, each task a
// (slice, position block) pair that lowers only its slice's rows of the columns and multiplies
// them by the matching columns of the weights, all output channels, into y (slice 0) or a
// partial sum (the others); a last pass adds the partial sums and applies the epilogue. Nothing
// is lowered twice and no thread waits for another's lowering, as with the chunks (which
// lowered everything per thread) or a column matrix lowered by all threads before a barrier
// (which cost a pass through memory and balanced 9 coarse tasks poorly). The price: with one
// position block (7x7 and 14x14 images) that is one task per thread, so a thread that shares
// its core delays the layer (more slices would balance, at an extra partial-sum pass each).
//
// Images whose positions fill the 32-lane panels poorly (14x14: 196 of 224 lanes, 7x7: 49 of
// 64) take the transposed form instead (namespace transposed below): positions broadcast, output
// channels in the vectors. Other stride-2 2-d convs from at most 64 channels (the stems) run
// without lowering at AVX-512 f32 (conv_phase_direct.hpp).
//
// Epilogue, per tile: the bias enters on the first depth block (full tiles: as an MR x NR bias
// tile in the micro-kernel's residual operand, beta 0; others: written into the tile first, beta
// 1 after), the residual and ReLU are fused into the micro-kernel's store on the last depth
// block, any other activation runs on the tile right after, while it is in L1. Edge tiles
// (partial panels) go through a scratch tile; a partial last column panel keeps its sums there
// over all depth blocks and takes bias, residual and activation on its way to y.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_backward_tile.hpp"
#include "kernels/cpu/conv/conv_implicit_gemm_kernel.hpp"
#include "kernels/cpu/conv/conv_lowering.hpp"
#include "kernels/cpu/conv/conv_phase_direct.hpp"
#include "kernels/cpu/conv/im2col.hpp"
#include "kernels/cpu/gemm/gemm_epilogue.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"
#include "kernels/cpu/gemm/gemm_pack.hpp"

namespace mln::kernels {
namespace implicit_gemm {

// A KC x NC block of the columns takes at most this much (a share of the 512 KiB L2); KC is at
// most 1 KiB of elements (256 floats), as in the GEMM driver; the packing rule for A (above).
constexpr int64_t kColumnBlockBytes = 256 << 10;
constexpr int64_t kDepthBlockBytes = 256 * 4;
constexpr int64_t kPackedPanelsMinimum = 8;
// Depth-slice mode gives each slice at least this much depth: the micro-kernel's C tile load and
// store stay small against kc multiply-adds, and the partial-sum pass (one add per output per
// extra slice) against the slice's work.
constexpr int64_t kMinSliceDepth = 64;

// The packed panels start on a cache line: the lowering's 64-byte stores and the micro-kernel's
// B loads then never straddle two lines (a vector's heap buffer is only 16-byte aligned).
template <class T>
constexpr int64_t kAlignElements = 64 / static_cast<int64_t>(sizeof(T));
template <class T>
T* cache_line_aligned(T* data) {
    const auto address = reinterpret_cast<std::uintptr_t>(data);
    return reinterpret_cast<T*>((address + 63) & ~std::uintptr_t{63});
}

template <class T>
struct Plan {
    const ConvArgs* args;
    GemmMicroKernelInfo<T> micro;
    ColumnPanelLowering<T> lower;
    const T* source;              // what `lower` reads: x, or its polyphase planes
    int64_t source_channel_size;  // elements per channel of source
    int64_t group_channels, group_out_channels, depth, out_size;
    int64_t depth_block;  // KC: blocks of equal size within the depth or a slice of it
    // Blocks of whole NR panels, panels [b * column_panels / column_blocks, ...) for block b:
    // their sizes differ by one panel at most (784 positions in 2 blocks: 12 + 12.5 panels, not
    // 13 + 11.5). column_block: the widest one's positions.
    int64_t column_panels, column_block, column_blocks;
    int64_t row_panels, chunk_panels, row_chunks;
    int64_t depth_slices, slice_depth;  // depth-slice mode when depth_slices > 1
    T* partial_sums;                    // slices 1.. write here, each as large as y
    const T* x;
    const T* bias;
    const T* residual;
    T* y;
    const T* w;
    GemmActivation<T> activation;  // nullptr for the identity
    bool relu_in_kernel;           // full tiles: the micro-kernel applies the ReLU
};

// One MR x NR tile of y_group at (row, col) for depth block [pc, pc+kc).
// A panel as the micro-kernel reads it: A(i, k) = data[i * row_stride + k * col_stride].
template <class T>
struct PanelA {
    GemmMicroKernel<T> kernel;
    const T* data;
    int64_t row_stride, col_stride;
};

// bias_tile: nullptr, or on the first depth block the panel's bias as an MR x NR tile (row i
// all bias[row + i]), which full tiles take as the micro-kernel's residual operand with beta 0
// when no residual is due in the same call: no fill of the tile and no read of it back, which
// cost 16% of a 27-deep layer (MobileNet-v2's stem) on one thread.
template <class T>
void compute_tile(const Plan<T>& p, const PanelA<T>& a, const T* b, int64_t kc, const T* bias, const T* bias_tile,
                  const T* residual, T* y, int64_t row, int64_t col, bool first, bool last) {
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const int64_t ldc = p.out_size;
    const int64_t rows = std::min<int64_t>(mr, p.group_out_channels - row);
    const int64_t cols = std::min<int64_t>(nr, p.out_size - col);
    T* const c = y + row * ldc + col;
    if (rows == mr && cols == nr && bias_tile != nullptr && !(last && residual != nullptr)) {
        const GemmTileExtras<T> extras{nullptr, bias_tile, nr, last && p.relu_in_kernel};
        a.kernel(kc, a.data, a.row_stride, a.col_stride, b, nr, c, ldc, T(1), T(0), &extras);
        if (last && p.activation != nullptr && !p.relu_in_kernel) p.activation(c, rows, cols, ldc, 1);
        return;
    }
    if (rows == mr && cols == nr) {
        T beta = T(1);
        if (first && bias != nullptr) {
            for (int64_t i = 0; i < mr; ++i) std::fill(c + i * ldc, c + i * ldc + nr, bias[row + i]);
        } else if (first) {
            beta = T(0);
        }
        const GemmTileExtras<T> extras{nullptr, residual != nullptr ? residual + row * ldc + col : nullptr, ldc,
                                       p.relu_in_kernel};
        const bool fused = last && (extras.residual != nullptr || extras.relu);
        a.kernel(kc, a.data, a.row_stride, a.col_stride, b, nr, c, ldc, T(1), beta, fused ? &extras : nullptr);
        if (last && p.activation != nullptr && !p.relu_in_kernel) p.activation(c, rows, cols, ldc, 1);
        return;
    }
    // Edge tile: compute into scratch, then merge the valid part.
    T tile[kMaxMicroTile];
    a.kernel(kc, a.data, a.row_stride, a.col_stride, b, nr, tile, nr, T(1), T(0), nullptr);
    for (int64_t i = 0; i < rows; ++i) {
        T* target = c + i * ldc;
        const T start = bias != nullptr ? bias[row + i] : T(0);
        for (int64_t j = 0; j < cols; ++j) {
            T value = tile[i * nr + j] + (first ? start : target[j]);
            if (last && residual != nullptr) value += residual[(row + i) * ldc + col + j];
            target[j] = value;
        }
    }
    if (last && p.activation != nullptr) p.activation(c, rows, cols, ldc, 1);
}

// A partial last column panel of full rows (7x7 images: 17 of 32 columns) over several depth
// blocks: the products add up in `sum` (MR x NR) and reach y once, after the slice's last block,
// instead of a merge through y after every block.
template <class T>
void accumulate_edge_tile(const Plan<T>& p, const PanelA<T>& a, const T* b, int64_t kc, const T* bias,
                          const T* residual, T* y, T* sum, int64_t row, int64_t col, bool first, bool final_block,
                          bool last) {
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    a.kernel(kc, a.data, a.row_stride, a.col_stride, b, nr, sum, nr, T(1), first ? T(0) : T(1), nullptr);
    if (!final_block) return;
    const int64_t ldc = p.out_size;
    const int64_t cols = std::min<int64_t>(nr, p.out_size - col);
    T* const c = y + row * ldc + col;
    for (int64_t i = 0; i < mr; ++i) {
        const T start = bias != nullptr ? bias[row + i] : T(0);
        for (int64_t j = 0; j < cols; ++j) {
            T value = sum[i * nr + j] + start;
            if (last && residual != nullptr) value += residual[(row + i) * ldc + col + j];
            c[i * ldc + j] = value;
        }
    }
    if (last && p.activation != nullptr) p.activation(c, mr, cols, ldc, 1);
}

// One task: (depth slice, image, group, position block, chunk of output channels).
template <class T>
void run_task(const Plan<T>& p, int64_t task, T* workspace) {
    const ConvArgs& a = *p.args;
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const int64_t chunk = task % p.row_chunks;
    task /= p.row_chunks;
    const int64_t column = task % p.column_blocks;
    const int64_t q0 = column * p.column_panels / p.column_blocks * nr;
    task /= p.column_blocks;
    const int64_t g = task % a.groups;
    task /= a.groups;
    const int64_t n = task % a.batch;
    const int64_t slice = task / a.batch;
    const int64_t cols = std::min((column + 1) * p.column_panels / p.column_blocks * nr, p.out_size) - q0;
    const int64_t panels = ceil_div(cols, nr);
    const int64_t first_panel = chunk * p.chunk_panels;
    const int64_t last_panel = std::min(p.row_panels, first_panel + p.chunk_panels);
    const T* x = p.source + (n * a.channels + g * p.group_channels) * p.source_channel_size;
    const int64_t y_offset = (n * a.out_channels + g * p.group_out_channels) * p.out_size;
    // Sliced: slice 0 starts from the bias, the others from zero; the residual and activation
    // wait for the partial-sum pass.
    const bool sliced = p.depth_slices > 1;
    const int64_t y_size = a.batch * a.out_channels * p.out_size;
    T* y = (slice == 0 ? p.y : p.partial_sums + (slice - 1) * y_size) + y_offset;
    const T* residual = p.residual != nullptr && !sliced ? p.residual + y_offset : nullptr;
    const T* bias = p.bias != nullptr && slice == 0 ? p.bias + g * p.group_out_channels : nullptr;
    const T* weights = p.w + g * p.group_out_channels * p.depth;
    T* const a_panel = workspace;
    T* const packed = a_panel + round_up(mr * p.depth_block, kAlignElements<T>);
    const int64_t slice_begin = slice * p.slice_depth;
    const int64_t slice_end = std::min(p.depth, slice_begin + p.slice_depth);
    // At least one depth block, so a zero-depth product still writes bias + residual.
    const int64_t depth_blocks = std::max<int64_t>(1, ceil_div(slice_end - slice_begin, p.depth_block));
    T* const edge_sums = packed + round_up(p.column_block, nr) * p.depth_block;
    T* const bias_tile = edge_sums + p.chunk_panels * mr * nr;
    const bool edge_in_sums = depth_blocks > 1 && cols % nr != 0;
    for (int64_t block = 0; block < depth_blocks; ++block) {
        const int64_t pc = slice_begin + block * p.depth_block;
        const int64_t kc = std::min(p.depth_block, slice_end - pc);
        const bool first = block == 0;
        const bool final_block = block + 1 == depth_blocks;
        const bool last = final_block && !sliced;
        p.lower(x, a.geometry, pc, kc, q0, cols, nr, packed);
        for (int64_t panel = first_panel; panel < last_panel; ++panel) {
            const int64_t rows = std::min<int64_t>(mr, p.group_out_channels - panel * mr);
            PanelA<T> a_in{p.micro.strided, weights + panel * mr * p.depth + pc, p.depth, 1};
            if (rows < mr || panels >= kPackedPanelsMinimum) {
                pack_a_panels(MatrixRef<T>{weights, p.depth, 1}, panel * mr, rows, pc, kc, mr, p.micro.packers,
                              a_panel);
                a_in = {p.micro.packed, a_panel, 1, mr};
            }
            const bool bias_by_tile = first && bias != nullptr && rows == mr;
            if (bias_by_tile) {
                for (int64_t i = 0; i < mr; ++i) std::fill(bias_tile + i * nr, bias_tile + (i + 1) * nr, bias[panel * mr + i]);
            }
            for (int64_t s = 0; s < panels; ++s) {
                if (edge_in_sums && rows == mr && s + 1 == panels) {
                    accumulate_edge_tile(p, a_in, packed + s * nr * kc, kc, bias, residual, y,
                                         edge_sums + (panel - first_panel) * mr * nr, panel * mr, q0 + s * nr, first,
                                         final_block, last);
                } else {
                    compute_tile(p, a_in, packed + s * nr * kc, kc, bias, bias_by_tile ? bias_tile : nullptr, residual,
                                 y, panel * mr, q0 + s * nr, first, last);
                }
            }
        }
    }
}

// Depth-slice mode's last pass over output rows [begin, end): y += the other slices' partial
// sums, then the residual and the activation.
template <class T>
void add_partial_sums(const Plan<T>& p, int64_t begin, int64_t end) {
    const int64_t size = p.out_size;
    const int64_t y_size = p.args->batch * p.args->out_channels * size;
    for (int64_t row = begin; row < end; ++row) {
        T* y = p.y + row * size;
        for (int64_t slice = 1; slice < p.depth_slices; ++slice) {
            const T* partial = p.partial_sums + (slice - 1) * y_size + row * size;
            for (int64_t j = 0; j < size; ++j) y[j] += partial[j];
        }
        if (p.residual != nullptr) {
            const T* residual = p.residual + row * size;
            for (int64_t j = 0; j < size; ++j) y[j] += residual[j];
        }
        if (p.activation != nullptr) p.activation(y, 1, size, size, 1);
    }
}

// Per-thread scratch (thread_scratch.hpp).
struct ColumnBlocks;
struct PhasePlanes;
struct DepthSlicePartials;
struct PositionSums;
struct PackedWeights;

// Transposed form, for images (one group) whose output positions fill the 8 x 32 kernel's
// vectors poorly (14x14: 196 of 224 lanes, 7x7: 49 of 64): y^T (P x M) = columns^T (P x depth) *
// w^T (depth x M), positions on the broadcast side in tiles of 14 rows (any count works without
// padding), 32 output channels per tile from a packed panel of w^T. Per task (batch 1: a range
// of 32-channel panels or a slice of the depth per thread, each packing its own w^T panels; a
// batch: one image, w^T packed once before by all threads):
//   for each KC depth block          -> lower columns[pc.., all positions] as one panel (L2),
//                                       stride 2 from polyphase planes, stride 1 "same" with
//                                       masks made once per tap (lower_same_size_avx512); or,
//                                       stride 1 "same" 7 or 14 wide, no lowering: the tiles
//                                       read a zero-padded copy of the image in place; or,
//                                       3x3/2 from 14 or 28 wide (ResNet's), no lowering: the
//                                       tiles read the image itself in place
//     for each 32-channel panel      -> pack w^T's kc x 32 panel (L1), the next one prefetched
//                                       inside the tiles (the weights come from L3 or memory)
//       for each 14-position tile    -> micro-kernel into y^T sums (beta 1 after the first block)
// then y = the sums (of all slices) transposed + bias + residual, activation.
// Measured on Zen 5, one thread, CPU time (min of 6 interleaved runs, contended machine), plain
// -> transposed: ResNet-18 3x3 at 14x14 1.48 -> 1.38 ms, at 7x7 1.72 -> 1.67 ms (w^T packing
// is 19% of it: 4.7 MB of weights for 49 positions), 3x3/2 to 14x14 0.74 -> 0.69 ms, to 7x7
// 0.85 -> 0.82 ms; at batch 32 3x3/2 to 14x14 26.6 -> 25.0 ms, to 7x7 29.4 -> 25.8 ms.
// Where the time goes now (one thread, 512 channels at 7x7): the tiles run at the core's peak
// (232 GFLOP/s measured alone, the lowered block in L2), the w^T packing takes ~13% (0.19 cycles
// per weight against 1.5 of multiply-adds) and the lowering ~3%. Tried and measured no faster
// (contended machine, min ms, tried -> kept): packing inside tiles of 5-10 positions between
// their multiply-adds, the panel after next prefetched into L2 (1.244 / 1.265 -> 1.258 /
// 1.239; at 14x14 slower, 1.17 -> 1.14); only the last tile packing (1.29 -> 1.25); depth
// blocks of 64 (1.58 -> 1.46) or 192 (same); prefetching into L2 instead of L1 (1.26 -> 1.22).
// Also tried and slower (one thread, same-process A/B of min per call, contended machine):
// the last 7-row tile of a 49-position panel packing the next panel inside its depth loop (a
// 16 x 4 piece every other step, double-buffered panels) 1.03-1.06x at 7x7 (1.13x with the other
// tiles prefetching into L2), its pack loads stalling; again on 2026-12-07 (conv_vs_build, both
// ways round), the other tiles prefetching into L2 and the pack its own lines into L1 32 steps
// ahead: 1.03-1.05x (3x3/2 to 7x7), 1.10-1.16x (3x3 at 7x7), the tile's perf samples more than
// the 7-row tile's and the packer's before; the tiles prefetching their C rows before
// accumulating 1.01x; A rows prefetched 8 steps ahead 1.00-1.02x; depth blocks of 96 1.01-1.02x;
// the depth loop unrolled by 2 1.00x; planes split per depth block inside each thread's slice
// (instead of the whole image up front) 1.00x on one thread, 1.05-1.09x at 7x7 on two; the
// stride-2 lowering from planes with masks made once per tap, as lower_same_size_avx512 does for
// stride 1, 0.99-1.00x (its share 4.1 -> 3.4% at 7x7, none at 14x14); the stride-1 columns
// lowered in 16-lane slots of 14 positions, so that a tile's A row is one aligned line instead of
// two lines it shares with its neighbours, 1.00-1.01x at 14x14, 1.02x at 7x7.
// The plain weights' packing (12% of the 3x3/2 to 7x7, batch 1, one thread) kept apart from the
// whole-channel window tiles: each tried against the same build (conv_vs_build, min / median
// per layer, 21 rounds): the next panel packed into a second buffer in 4 depth parts, one after
// each tile, 1.05 / 1.06x (3x3/2 to 7x7) and 1.07 / 1.06x (3x3 at 7x7), 1.03 / 1.01x and 1.04x
// with each part's lines prefetched by the tile it follows; inside the window tiles, a 16 x 4
// four_columns piece every tap row 1.01-1.06x (3x3/2 to 7x7), 1.13-1.15x (3x3 at 7x7) and
// 1.05-1.13x (3x3 at 14x14), or an 8-step piece of one row by scalar moves (no vector pipes)
// every step 1.06x (3x3/2 to 7x7), 1.13x (3x3 at 7x7), 1.00-1.01x at 14x14: the multiply-adds
// slow by more than the packing saves. four_columns from 128-bit inserts instead of masked
// broadcasts 0.98-1.03x in the layers (alone, packing 4.7 MB: 0.78x cold from memory, 0.97-0.99x
// warm); from L1 a panel packs at 0.7 ns a 16-lane row either way, 0.64-0.70 without its
// stores, so the loads and transposes, not the stores, bound it. A 32 x 144 panel from L1 (one
// thread, min of 2000): four_columns 0.63-0.73 ns a row, the panel's stores alone 0.38-0.42, and
// 256-bit row pieces (rows b, 4 + b in one vector by an insert, 8 + b, 12 + b in another, one
// 128-bit-block shuffle per 4 columns before the in-lane transposes) 0.63-0.73: no cheaper.
// 2026-12-07: the packing is the plain call's whole gap to prepared weights (3x3/2 to 7x7, batch
// 1, one thread: 0.591 against 0.519 ms, oneDNN 0.512-0.520; perf: 9.4% of samples against the
// tiles' 68%), each panel already packed just before its tiles, its rows prefetched by the
// previous panel's. At 0.7 ns a row the 1.18 M weights take ~52 us from L1, the rest is their
// stream from L3. Not tried: panels left as four_columns' loads make them (4 depths a vector, the
// tiles' sums reduced at write_rows), which saves only the shuffles (the loads bound it: ~3% of
// the call) and cannot feed the in-place strided window tiles (7-11% won).
// No packing at all, a micro-kernel reading the plain filters [oc][ic][3][3], does not pay by
// the arithmetic (3x3/2 to 7x7: 512 channels, 49 positions, depth 2304): with the filters' rows
// broadcast and positions in the vectors, 49 positions take 3 vectors and a fourth for 1 lane
// (or a dot product apart for the 49th), and lanes cannot leave out the padding's products,
// which the window tiles do (9.3% of that layer's multiply-adds, about what the packing costs);
// with vectors over the depth (filter rows and depth-major columns, a horizontal sum per
// output), every group of 4 output channels streams the 451 KB of columns from L2 (7 lines per
// 28 multiply-adds), or in depth blocks that stay in L1 the transposing sums (about 45 shuffles
// and adds per 16 outputs) cost about a third of a 128-deep block's multiply-adds, and the
// padding's products stay in either way.
// Also tried and no faster (conv_vs_build against the build before, min per layer): pairs at
// batch 32 (3x3/2 to 7x7) taking each 144-deep block in two 72-deep steps, so that the two
// images' columns (56 KB) fit L1, 0.98-1.01x on one thread, 1.03x on two; the last depth block's
// tiles, which have no next panel, prefetching the task's y for write_rows (batch 32, 3x3 and
// 3x3/2 layers, two threads) 0.99-1.00x; at 7x7 from lowered columns, batch 1, the 7-position
// tile on the top row (its tap row 0 left out: tiles 7 + 14 + 14 + 14, not 14 + 14 + 14 + 7)
// 0.99-1.02x both ways round, the tiles' perf samples 38.1 against 37.6 (its steps with no
// multiply-adds still walk and prefetch); prefetchw two rows ahead of the stride-2 lowering's
// stores 1.00x in the layers (1.06x alone).
namespace transposed {

constexpr int64_t kDepthBlock = 128;  // the w^T panel (16 KiB) and the A rows a tile reads stay in L1
constexpr int64_t kMaxPositions = 1024;  // the lowered block (kDepthBlock x positions) stays in L2
// Depth blocks are multiples of 8 (kPlainBlockUnit), or of 72 (kWholeChannelsUnit) where the tiles
// take whole channels of a 3x3 window (window_tiles_apply): at most kDepthBlock rounded up to that.
constexpr int64_t kPlainBlockUnit = 8;
constexpr int64_t kWholeChannelsUnit = 72;
constexpr int64_t kMaxBlockDepth = round_up(kDepthBlock, kWholeChannelsUnit);

// Multiply-adds the plain form's MR x NR kernel spends (rows padded to MR, positions to NR)
// against the transposed form's (channels padded to 32, positions exact), with a 5% margin for
// the w^T packing and the transposing pass.
inline bool pays(int64_t out_channels, int64_t positions, int64_t mr, int64_t nr) {
    const int64_t plain = round_up(out_channels, mr) * round_up(positions, nr);
    const int64_t transposed = round_up(out_channels, kPositionsTileColumns) * positions;
    return transposed * 21 < plain * 20;
}

template <class T>
bool applies(const ConvArgs& a, int64_t depth, int64_t positions, const GemmMicroKernelInfo<T>& plain) {
#if defined(MYELIN_X86_64_KERNELS)
    return sizeof(T) == 4 && cpu::active_isa() == MLN_ISA_AVX512 && a.groups == 1 && depth > 0 &&
           positions <= kMaxPositions && pays(a.out_channels, positions, plain.mr, plain.nr);
#else
    (void)a, (void)depth, (void)positions, (void)plain;
    return false;
#endif
}

// Where w^T's elements come from (pack_panel below).
// block_unit: what the depth blocks are multiples of (depth_block_unit).
struct FilterSource {
    const float* w;
    int64_t depth;
    int64_t flipped_kernel_size;  // 0: the forward's own filters
    int64_t out_channels;
    int64_t block_unit;
};

// 3x3 windows with padding 1 to outputs 7 or 14 wide: stride 1 "same" (the padded image read in
// place: padded_source_applies) or strided with the taps inside the image on the right and
// bottom (stride 2 from an even size: ResNet's 3x3 and 3x3/2). In depth blocks of whole
// channels the tiles of whole output rows (window_tile_avx512) leave out the padding's products
// with no per-step walk over the taps: 9.3% of all multiply-adds of a 3x3/2 to 7x7 (none left out
// before), 4.8% of a 3x3 at 7x7 (its top row's, which the walk's whole tap rows missed).
inline bool window_tiles_apply(const WindowGeometry& g) {
    auto inside_after = [&](int d) { return (g.out[d] - 1) * g.stride[d] + 1 < g.in[d]; };
    const bool same = g.stride[1] == 1 && g.stride[2] == 1 && g.out[1] == g.in[1] && g.out[2] == g.in[2];
    const bool strided = g.stride[1] > 1 && g.stride[2] > 1 && inside_after(1) && inside_after(2);
    return g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 && g.kernel[1] == 3 && g.kernel[2] == 3 &&
           g.dilation[1] == 1 && g.dilation[2] == 1 && g.pad_begin[1] == 1 && g.pad_begin[2] == 1 &&
           g.out[1] > 1 && (same || strided) && (g.out[2] == 7 || g.out[2] == 14);
}

inline int64_t depth_block_unit(const WindowGeometry& g) {
    return window_tiles_apply(g) ? kWholeChannelsUnit : kPlainBlockUnit;
}

// The forward's own filters w (nullptr where prepared panels stand in for them).
inline FilterSource forward_filters(const ConvArgs& a, const float* w) {
    return {w, a.channels * a.geometry.kernel_size(), 0, a.out_channels, depth_block_unit(a.geometry)};
}

#if defined(MYELIN_X86_64_KERNELS)
// Depth blocks of equal size within [begin, end), multiples of `unit`.
inline int64_t block_depth_of(int64_t begin, int64_t end, int64_t unit) {
    return round_up(ceil_div(end - begin, ceil_div(end - begin, kDepthBlock)), unit);
}

// w^T(p, j) = w[j * depth + p] for FilterSource{w, depth, 0, out_channels}; with K =
// flipped_kernel_size > 0 a backward pass's filters read flipped instead: w^T(p, j) =
// w[m][j][K - 1 - k] for p = m * K + k (conv_backward_data as the forward of dy, no pass
// rearranging all filters first).
inline void pack_panel(const FilterSource& f, int64_t oc, int64_t rows, int64_t pc, int64_t kc, float* panel) {
    const int64_t k = f.flipped_kernel_size;
    if (k == 0) return pack_transposed_weights_avx512(f.w + oc * f.depth + pc, f.depth, rows, kc, panel);
    pack_flipped_weights_avx512(f.w + oc * k, f.out_channels * k, k, rows, pc, kc, panel);
}

// The memory pack_panel reads: `count` runs of `bytes`, `stride` bytes apart, from `start`.
struct MemoryRuns {
    const char* start;
    int64_t stride, bytes, count;
};
inline MemoryRuns panel_runs(const FilterSource& f, int64_t oc, int64_t rows, int64_t pc, int64_t kc) {
    const int64_t k = f.flipped_kernel_size;
    if (k == 0) return {reinterpret_cast<const char*>(f.w + oc * f.depth + pc), f.depth * 4, kc * 4, rows};
    const int64_t m = pc / k;
    return {reinterpret_cast<const char*>(f.w + (m * f.out_channels + oc) * k), f.out_channels * k * 4, rows * k * 4,
            (pc + kc - 1) / k - m + 1};
}

// w^T packed whole: block b's panel j (block_depth x 32, channels past out_channels zero) at
// (b * panels + j) * block_depth * 32, block_depth = block_depth_of(0, depth, block_unit). Built per call by
// several images, or once for prepared weights (mln_conv_weights). The tiles prefetch the next
// panel as they do the unpacked filters: prepared weights come from memory, and weights packed
// by the call for a batch (1.2 MB from 128 channels, 4.7 MB from 256) no longer fit L2 when an
// image comes to them. Prefetching those too (ResNet-18 3x3/2, batch 32, same-process A/B, min
// per call): to 14x14 0.955x the time on one thread, 0.946x on two; to 7x7 0.997x and 0.946x.
struct PackedPanels {
    const float* data;
    int64_t block_depth;
};

inline int64_t packed_panels_size(const FilterSource& filters) {
    const int64_t block_depth = block_depth_of(0, filters.depth, filters.block_unit);
    return ceil_div(filters.depth, block_depth) * ceil_div(filters.out_channels, kPositionsTileColumns) *
           block_depth * kPositionsTileColumns;
}

// All of w^T into `packed` (PackedPanels layout), (block, panel) pairs split among the threads.
inline void pack_all_panels(const FilterSource& filters, float* packed) {
    const int64_t depth = filters.depth;
    const int64_t block_depth = block_depth_of(0, depth, filters.block_unit);
    const int64_t blocks = ceil_div(depth, block_depth);
    const int64_t panels = ceil_div(filters.out_channels, kPositionsTileColumns);
    const int64_t panel_size = block_depth * kPositionsTileColumns;
    cpu::parallel_for(blocks * panels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t pc = task / panels * block_depth, oc = task % panels * kPositionsTileColumns;
            pack_panel(filters, oc, std::min<int64_t>(kPositionsTileColumns, filters.out_channels - oc), pc,
                       std::min(block_depth, depth - pc), packed + task * panel_size);
        }
    });
}

// The inverse of pack_all_panels for the forward's own filters (as `filters` describes them): w
// (out_channels x depth) from `packed`, for a call that cannot use the panels (another ISA
// selected since they were packed).
inline void unpack_all_panels(const float* packed, const FilterSource& filters, float* w) {
    const int64_t depth = filters.depth, out_channels = filters.out_channels;
    const int64_t block_depth = block_depth_of(0, depth, filters.block_unit);
    const int64_t panels = ceil_div(out_channels, kPositionsTileColumns);
    cpu::parallel_for(out_channels, 8, [&](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end; ++j) {
            const int64_t panel = j / kPositionsTileColumns, lane = j % kPositionsTileColumns;
            for (int64_t p = 0; p < depth; ++p) {
                const int64_t block = p / block_depth;
                w[j * depth + p] = packed[((block * panels + panel) * block_depth + p % block_depth) *
                                              kPositionsTileColumns + lane];
            }
        }
    });
}

// The zero-padded image: pitch floats to a row, plane to a channel.
struct PaddedImage {
    int64_t pitch, plane;
    explicit PaddedImage(const WindowGeometry& g)
        : pitch(g.in[2] + g.pad_begin[2] + g.pad_end[2]), plane((g.in[1] + g.pad_begin[1] + g.pad_end[1]) * pitch) {}
};

// Stride-1 2-d images whose output is the input's size, 7 or 14 wide (ResNet's 14x14 and 7x7):
// the tiles (14 positions: whole output rows) read A straight from a zero-padded copy of the image
// (padded_positions_tile_avx512) instead of lowered columns: a copy of the image (9 / 7 x 9 / 7
// of it at 7x7) instead of a pass writing depth x positions (9x the image) per call, which at 2
// threads each thread made for all positions. Measured on Zen 5 (batch 1, contended machine,
// same-process A/B against the lowering, min over alternating calls): one thread, thread CPU
// time, ResNet-18's 3x3 at 14x14 0.982-0.991x forward, 0.984x backward data, at 7x7 0.980-0.995x
// and 0.983x; two threads, both threads' CPU time summed, 0.964 / 1.008 (14x14 forward /
// backward data) and 0.965 / 0.950 (7x7); per-call wall time at two threads too noisy to tell.
inline bool padded_source_applies(const WindowGeometry& g, int64_t channels) {
    const int64_t width = g.out[2];
    return g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1 &&
           g.out[1] == g.in[1] && g.out[2] == g.in[2] && (width == 7 || width == 14) && g.pad_begin[1] >= 0 &&
           g.pad_begin[2] >= 0 && g.pad_end[1] >= 0 && g.pad_end[2] >= 0 &&
           g.kernel[1] * g.kernel[2] <= PaddedTaps::kMaxTaps &&
           channels * PaddedImage(g).plane < (int64_t{1} << 30);
}

// Channels [begin, end) of x into padded (PaddedImage layout).
inline void pad_channels(const float* x, const WindowGeometry& g, int64_t begin, int64_t end, float* padded) {
    const PaddedImage layout(g);
    const int64_t height = g.in[1], width = g.in[2];
    for (int64_t c = begin; c < end; ++c) {
        float* plane = padded + c * layout.plane;
        std::fill(plane, plane + layout.plane, 0.0f);
        for (int64_t r = 0; r < height; ++r) {
            const float* row = x + (c * height + r) * width;
            std::copy(row, row + width, plane + (r + g.pad_begin[1]) * layout.pitch + g.pad_begin[2]);
        }
    }
}

// The tap rows [kh_begin, kh_end) that a tile of output rows [first_row, last_row] reads from
// the padded image: those whose input row is inside the image for one of the tile's rows at
// least (the others read padding only). A ResNet 3x3 at 14x14 leaves out a third of the steps
// for its top and bottom rows' tiles (4.8% of all multiply-adds), at 7x7 for the bottom row's
// (4.8%): oneDNN skips these too.
inline std::pair<int64_t, int64_t> tile_tap_rows(const WindowGeometry& g, int64_t first_row, int64_t last_row) {
    // Row oh reads input row oh * s + kh * d - pad inside [0, height) for kh * d in
    // [pad - oh * s, pad + height - 1 - oh * s].
    const int64_t s = g.stride[1], d = g.dilation[1], pad = g.pad_begin[1];
    const int64_t low = pad - last_row * s, high = pad + g.in[1] - 1 - first_row * s;
    const int64_t kh_begin = low <= 0 ? 0 : ceil_div(low, d);
    const int64_t kh_end = std::min(g.kernel[1], high / d + 1);
    return {kh_begin, std::max(kh_begin, kh_end)};
}

inline PaddedTaps padded_taps(const WindowGeometry& g) {
    const PaddedImage layout(g);
    PaddedTaps taps{g.kernel[1] * g.kernel[2], layout.plane, {}};
    for (int64_t t = 0; t < taps.count; ++t) {
        taps.offsets[t] = static_cast<int32_t>(t / g.kernel[2] * g.dilation[1] * layout.pitch +
                                               t % g.kernel[2] * g.dilation[2]);
    }
    return taps;
}

// What a tile of output rows [first_row, last_row] leaves out of each tap (PaddingSkip): the
// steps of tap rows outside tile_tap_rows; of the others, the first column's products where
// the window is shifted one column left, the last's where one right (wider shifts, as with
// padding 2, read padding for several columns and leave none out). Measured (same-process A/B,
// min per call, ResNet-18 3x3, against per-block step lists without column skips): 512 at 7x7
// 0.83-0.86x on two threads, 0.90-0.92x on one; 256 at 14x14 0.89-0.91x and 0.95x. The lowered
// tiles of strided layers take them only where run_slice says. Tried, no faster: 7x7 in
// tiles of 7 + 14 + 14 + 7 + 7 positions, so that the top row's tile skips too (within noise);
// the prefetching steps split from the others' loop (0.97-1.03x).
inline void tile_padding_skips(const WindowGeometry& g, int64_t first_row, int64_t last_row, PaddingSkip* skips) {
    const auto [kh_begin, kh_end] = tile_tap_rows(g, first_row, last_row);
    const int64_t width = g.out[2], stride = g.stride[2];
    for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
            // The input columns of output columns 0, 1, width - 2 and width - 1 under this tap.
            auto column = [&](int64_t ow) { return ow * stride + kw * g.dilation[2] - g.pad_begin[2]; };
            const bool first_only = column(0) < 0 && column(1) >= 0;
            const bool last_only = column(width - 1) >= g.in[2] && column(width - 2) < g.in[2];
            skips[kh * g.kernel[2] + kw] = kh < kh_begin || kh >= kh_end ? PaddingSkip::kStep
                                           : first_only                 ? PaddingSkip::kFirstColumn
                                           : last_only                  ? PaddingSkip::kLastColumn
                                                                        : PaddingSkip::kNone;
        }
    }
}

constexpr int64_t kMaxTiles = (kMaxPositions + kPositionsTileRows - 1) / kPositionsTileRows;

// Whether a batch's images go through run_slice two at a time (second_x): lowered columns of
// positions that leave a 7-row last tile (7x7: 14 + 14 + 14 + 7), so that a pair's 98 positions
// make 7 tiles of 14, the middle one 7 positions of each image, and each w^T panel serves 7 tiles
// instead of 4 (the panels come from L3 or memory once per image).
inline bool pairs_images(int64_t batch, int64_t positions, bool padded) {
    return batch > 1 && !padded && positions % kPositionsTileRows == kPositionsTileRows / 2;
}

// Depth [begin, end) of image x's product, output channels [oc_begin, oc_end) (oc_begin a
// multiple of 32), into sums (positions x channels padded to 32), w^T panels from `packed`
// (begin a multiple of its block_depth) or, for nullptr, packed here from `filters`. padded: x
// is the zero-padded image (padded_source_applies), read in place; otherwise x is what `lower`
// reads. strided: x is the image under a stride-2 window (strided_window_tile_avx512), which the
// window tiles read in place, nothing lowered. second_x: nullptr, or a second image
// (pairs_images) whose positions follow x's in sums, its columns lowered after x's in the
// workspace (or read in place).
inline void run_slice(const ConvArgs& a, const float* x, const ColumnPanelLowering<float>& lower,
                      const FilterSource& filters, int64_t begin, int64_t end, int64_t oc_begin, int64_t oc_end,
                      const PackedPanels* packed, float* sums, float* workspace, bool padded, bool strided,
                      const float* second_x = nullptr) {
    const int64_t positions = a.geometry.out_size();
    const int64_t lowered_width = round_up(positions, 16);
    const int64_t channels_padded = round_up(a.out_channels, kPositionsTileColumns);
    const int64_t lowered_size = round_up(kMaxBlockDepth * lowered_width, kAlignElements<float>);
    const int64_t images = second_x != nullptr ? 2 : 1;
    const int64_t all_positions = images * positions;
    float* const lowered = workspace;
    float* const second_lowered = lowered + lowered_size;
    float* const panel = lowered + images * lowered_size;
    const int64_t block_depth =
        packed != nullptr ? packed->block_depth : block_depth_of(begin, end, filters.block_unit);
    const int64_t panels = ceil_div(a.out_channels, kPositionsTileColumns);
    const int64_t panel_size = block_depth * kPositionsTileColumns;
    auto packed_panel = [&](int64_t pc, int64_t oc) {
        return packed->data + (pc / block_depth * panels + oc / kPositionsTileColumns) * panel_size;
    };
    // Each tile's skips, once per call. Lowered columns: only a full tile (14 positions) that
    // leaves out whole steps walks the taps, by the padded tiles' kernel over the lowered rows;
    // the others run the plain tiles. Measured (same-process A/B, CPU time, one thread, ResNet-18
    // 3x3/2): to 14x14, the top row's tile leaving out the taps above the image, 0.982-0.988x;
    // every tile walking the taps for the column skips cost 1.05-1.06x; to 7x7 in tiles of
    // 7 + 14 + 14 + 14, the top row's 7-position tile walking (14 multiply-adds a step against
    // the walk's bookkeeping) 1.01-1.02x, with the column skips too 1.03-1.05x.
    const WindowGeometry& g = a.geometry;
    const int64_t width = g.out[2], pitch = padded ? PaddedImage(g).pitch : width;
    const int64_t taps_count = g.kernel[1] * g.kernel[2];
    const bool skipping_geometry = padded || (g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 &&
                                              taps_count <= PaddedTaps::kMaxTaps &&
                                              taps_count * lowered_width < (int64_t{1} << 30));
    PaddedTaps taps{};
    PaddingSkip skips[kMaxTiles][PaddedTaps::kMaxTaps];
    bool walks_taps[kMaxTiles] = {};
    if (skipping_geometry) {
        if (padded) taps = padded_taps(g);
        for (int64_t q = 0, tile = 0; q < positions; q += kPositionsTileRows, ++tile) {
            const int64_t last = std::min(positions, q + kPositionsTileRows) - 1;
            tile_padding_skips(g, q / width, last / width, skips[tile]);
            const bool full_rows = q % width == 0 && last - q + 1 == kPositionsTileRows &&
                                   padded_positions_tile_avx512(kPositionsTileRows, static_cast<int>(width)) != nullptr;
            walks_taps[tile] = padded || (full_rows && std::find(skips[tile], skips[tile] + taps_count,
                                                                 PaddingSkip::kStep) != skips[tile] + taps_count);
        }
    }
    // Depth blocks of whole channels (block_unit 72, so every block and slice starts at a tap 0 and
    // ends after a tap 8): the tiles of whole output rows of either image leave out the padding's
    // products (window_tiles_apply); the tile across a pair's images runs as before.
    WindowTileKernel window_tiles[2 * kMaxTiles] = {};
    if (filters.block_unit == kWholeChannelsUnit) {
        for (int64_t q = 0, tile = 0; q < all_positions; q += kPositionsTileRows, ++tile) {
            const int64_t rows = std::min<int64_t>(kPositionsTileRows, all_positions - q);
            const int64_t start = q < positions ? q : q - positions;
            if (q < positions && q + rows > positions) {
                if (!padded && rows == kPositionsTileRows && width == kPositionsTileRows / 2) {
                    window_tiles[tile] = image_pair_window_tile_avx512(strided);
                }
                continue;
            }
            if (start % width != 0 || rows % width != 0) continue;
            window_tiles[tile] =
                strided ? strided_window_tile_avx512(static_cast<int>(rows), static_cast<int>(width), start == 0)
                        : window_tile_avx512(static_cast<int>(rows), static_cast<int>(width), padded, start == 0,
                                             start + rows == positions);
        }
    }
    // The padded image's taps a column and a padded row apart, its channels a plane; the image's
    // (strided) a column and a row; lowered columns a row per tap, in order.
    const WindowSteps window_steps = padded    ? WindowSteps{1, pitch, taps.plane}
                                     : strided ? WindowSteps{1, g.in[2], g.in_size()}
                                               : WindowSteps{lowered_width, 3 * lowered_width, 9 * lowered_width};
    for (int64_t pc = begin; pc < end; pc += block_depth) {
        const int64_t kc = std::min(block_depth, end - pc);
        const bool accumulate = pc != begin;
        if (!padded && !strided) {
            lower(x, a.geometry, pc, kc, 0, positions, lowered_width, lowered);
            if (second_x != nullptr) lower(second_x, a.geometry, pc, kc, 0, positions, lowered_width, second_lowered);
        }
        // Lowered rows as taps: step p's row at lowered + p * lowered_width, the tap walk
        // starting at tap pc % taps_count of a "channel" taps_count rows long.
        if (!padded && skipping_geometry) {
            taps = PaddedTaps{taps_count, taps_count * lowered_width, {}};
            for (int64_t t = 0; t < taps_count; ++t) {
                taps.offsets[t] = static_cast<int32_t>((t - pc % taps_count) * lowered_width);
            }
        }
        for (int64_t oc = oc_begin; oc < oc_end; oc += kPositionsTileColumns) {
            const float* b = panel;
            if (packed != nullptr) {
                b = packed_panel(pc, oc);
            } else {
                pack_panel(filters, oc, std::min<int64_t>(kPositionsTileColumns, oc_end - oc), pc, kc, panel);
            }
            // The weights come from L3 or memory, each once: the tiles of this panel prefetch
            // the next panel's, a line per depth step, so the loads overlap the arithmetic.
            const bool last_panel = oc + kPositionsTileColumns >= oc_end;
            const int64_t next_oc = last_panel ? oc_begin : oc + kPositionsTileColumns;
            const int64_t next_pc = last_panel ? pc + block_depth : pc;
            const int64_t next_rows = std::min<int64_t>(kPositionsTileColumns, oc_end - next_oc);
            const int64_t next_kc = std::min(block_depth, end - next_pc);
            // A packed panel: next_kc x 32 floats in a row, as runs of one line.
            const bool prefetching = next_pc < end;
            const MemoryRuns next =
                !prefetching       ? MemoryRuns{nullptr, 0, 0, 0}
                : packed == nullptr ? panel_runs(filters, next_oc, next_rows, next_pc, next_kc)
                                    : MemoryRuns{reinterpret_cast<const char*>(packed_panel(next_pc, next_oc)), 64, 64,
                                                 next_kc * kPositionsTileColumns * 4 / 64};
            const int64_t run_lines = ceil_div(next.bytes, 64);
            const int64_t tiles = ceil_div(all_positions, kPositionsTileRows);
            const int64_t runs_per_tile = ceil_div(next.count, tiles);
            for (int64_t q = 0, tile = 0; q < all_positions; q += kPositionsTileRows, ++tile) {
                const int rows = static_cast<int>(std::min<int64_t>(kPositionsTileRows, all_positions - q));
                const int64_t first_run = std::min(next.count, tile * runs_per_tile);
                const int64_t prefetch_runs = std::min(next.count - first_run, runs_per_tile);
                const PrefetchLines prefetch{next.start + first_run * next.stride, next.stride, next.bytes,
                                             std::min(kc, prefetch_runs * run_lines)};
                float* const c = sums + q * channels_padded + oc;
                if (window_tiles[tile] != nullptr) {
                    // Strided: tap (0, 0) of output row r's first position, a row and a column
                    // before input row 2 r.
                    auto strided_start = [&](const float* image, int64_t r) {
                        return image + pc / 9 * g.in_size() + (2 * r - 1) * g.in[2] - 1;
                    };
                    const float* const a_start =
                        padded    ? x + pc / 9 * taps.plane + q / width * pitch
                        : strided ? (q < positions ? strided_start(x, q / width)
                                                   : strided_start(second_x, (q - positions) / width))
                        : q < positions ? lowered + q
                                        : second_lowered + (q - positions);
                    WindowSteps steps = window_steps;
                    if (q < positions && q + rows > positions) {
                        steps.second_image = strided ? strided_start(second_x, 0) - a_start : second_lowered - a_start;
                    }
                    window_tiles[tile](kc, a_start, steps, b, c, channels_padded, accumulate, prefetch);
                } else if (q >= positions) {
                    // The second image's tiles start inside its output rows: no skips.
                    positions_tile_avx512(rows)(kc, second_lowered + (q - positions), lowered_width, b, c,
                                                channels_padded, accumulate, prefetch);
                } else if (q + rows > positions) {
                    // 7 positions of each image: two runs of 7, the second `pitch` after the first.
                    constexpr PaddingSkip kNoSkip[1] = {PaddingSkip::kNone};
                    const PaddedTaps rows_apart{1, lowered_width, {0}};
                    padded_positions_tile_avx512(kPositionsTileRows, kPositionsTileRows / 2)(
                        kc, lowered + q, rows_apart, kNoSkip, 0, second_lowered - (lowered + q), b, c,
                        channels_padded, accumulate, prefetch);
                } else if (walks_taps[tile]) {
                    const float* const a_start =
                        padded ? x + pc / taps.count * taps.plane + q / width * pitch : lowered + q;
                    padded_positions_tile_avx512(rows, static_cast<int>(width))(
                        kc, a_start, taps, skips[tile], pc % taps.count, pitch, b, c, channels_padded, accumulate,
                        prefetch);
                } else {
                    positions_tile_avx512(rows)(kc, lowered + q, lowered_width, b, c, channels_padded, accumulate,
                                                prefetch);
                }
            }
        }
    }
}

// Image n's y rows [begin, end) = sum over slices of the transposed sums + bias + residual,
// activation (a ReLU inside the transposing write, any other on the rows after).
inline void write_rows(const ConvArgs& a, int64_t n, const float* sums, int64_t slices,
                       const GemmActivation<float>& activation, int64_t begin, int64_t end) {
    const int64_t positions = a.geometry.out_size();
    const int64_t ld = round_up(a.out_channels, kPositionsTileColumns);
    const int64_t image = n * a.out_channels * positions;
    float* const y = static_cast<float*>(a.y.data) + image;
    const bool relu = a.activation == MLN_UNARY_OP_RELU;
    write_transposed_sums_avx512(sums, ld, slices, positions * ld, positions, begin, end,
                                 a.has_bias ? static_cast<const float*>(a.bias.data) : nullptr,
                                 a.has_residual ? static_cast<const float*>(a.residual.data) + image : nullptr, relu,
                                 y);
    if (activation == nullptr || relu) return;
    for (int64_t r = begin; r < end; ++r) activation(y + r * positions, 1, positions, positions, 1);
}
#endif

// One image on several threads: where the 32-channel panels divide evenly among the threads (or
// are at least 4 per thread), each thread takes a range of them over the whole depth, packing
// only its own w^T panels, lowering the columns itself (the lowering is a small share: 49 or 196
// positions against 32-channel panels), and writes its channels' rows of y at once: no
// partial-sum pass and no second fork-join. The ranges are claimed by for_each_claimed_affine:
// each thread first runs its own share (the same channels, so the same lines of y and of the
// sums, every call), then takes the others' leftovers. Where the tiles read the padded image in
// place a range is one panel, as it lowers nothing, so a thread that starts late or shares its
// core hands panels over (the image padded once per thread); lowered columns keep one range per
// thread. Measured (2 threads, batch 1, contended machine, same-process A/B, min / 5th
// percentile of 1000 alternating single calls, us), one range per thread claimed in turn ->
// panels claimed affine: ResNet-18 3x3 at 7x7 746 / 831 -> 671 / 720, prepared 683 / 747 ->
// 599 / 636; at 14x14 607 / 670 -> 586 / 664, prepared 602 / 646 -> 560 / 599; the 3x3/2
// layers (one range per thread) alike. Otherwise (or on one thread) a slice of the depth per
// thread, each packing its w^T panels (each weight once), the slices' sums added on the way to y.
// Measured (2 threads, batch 1, contended machine, min / 25th percentile of 3000 interleaved
// calls, ms), depth slices -> channel ranges: ResNet-18 3x3 at 7x7 0.715 / 2.005 -> 0.707 / 1.922,
// 0.731 / 1.823 -> 0.721 / 1.750; at 14x14 0.618 / 1.475 -> 0.588 / 1.446; 3x3/2 to 7x7 0.361 /
// 1.165 -> 0.356 / 0.965; 3x3/2 to 14x14 0.323 / 1.068 -> 0.308 / 0.699.
// Where a second thread's time goes (per thread, 2 threads against 1, fastest 5% of 3000 calls
// timed per phase, contended machine, us): 512 channels at 7x7, lowering 45-60 against 38 (every
// thread lowers all columns), w^T packing 123-166 for half the weights against 136 for all (the
// 9.4 MB weight stream per call moves at ~70 GB/s on one thread or two), tiles 570-670 against
// 1090 / 2; 256 at 14x14, lowering 52 against 50, tiles 559 against 1046 / 2. Tried and measured
// no faster: each range in two depth halves claimed dynamically for balance (per-call
// alternating A/B), the panel after next prefetched into L2, tiles of 13 + 12 + 12 + 12 rows
// for 49 positions instead of 14 + 14 + 14 + 7. 3x3/2 from 28x28 (128 -> 256 channels, prepared
// weights, two threads, per thread, mean per call, us): planes split 15-18 and lowering 21-23
// (each thread does both for the whole image), tiles 282, writing y 4-5; two threads took 304-308
// us a call at best against 541-557 on one. Tried, no faster: lowering straight from x, a
// two-vector permute picking each output row of a tap out of its input row (no planes): 36 us a
// thread in place of split + lowering (same-process A/B, min per call 308 vs 304 us on two
// threads, 561 vs 557 on one; 3x3/2 to 7x7 2% slower); with prepared weights, each thread taking
// half the output rows of all channels, splitting and lowering only the rows they read: 355 vs
// 335-338 us on two threads (each thread then reads all the weights).
// Several images: w^T packed once by all threads, then one image per task, which splits its own
// planes (or pads its own copy) in its thread's buffer, where the lowering finds them in L2, and
// is written to y by the thread that computed it. The whole batch split by all threads first went
// out to memory and came back per image (ResNet-18 3x3/2, batch 32, same-process A/B, min per
// call: to 14x14 0.90x the time on one thread, 0.78-0.87x on two; to 7x7 0.95x and 0.93x).
// 7x7 outputs from lowered columns take two images a task (pairs_images): 7 tiles of 14 for 98
// positions, each w^T panel over 7 tiles, not 4 + 4 with a 7-row tile each (ResNet-18's 3x3/2 to
// 7x7, batch 32, same-process A/B, min per call: 0.976-0.994x the time on one thread, CPU time;
// 0.97-1.01x (25th percentile 0.974-0.986x) on two). The tile across the two images is a window
// tile too where the window tiles apply (image_pair_window_tile_avx512), leaving out the second
// image's top row under tap row 0: 0.95-0.97x the time of the tap walk it replaced (conv_vs_build,
// batch 32, one and two threads; peer ratio on two threads 1.16 -> 1.14, prepared 1.12 -> 1.08).
// prepacked: nullptr, or all of w^T packed before (prepared weights, pack_all_panels): no
// packing in the call, the depth slices cut at its blocks.
template <class T>
void conv_forward(const ConvArgs& a, const FilterSource& filters, const float* prepacked = nullptr) {
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (sizeof(T) == 4) {
        const int64_t depth = filters.depth;
        const int64_t positions = a.geometry.out_size();
        const int64_t threads = cpu::thread_pool().thread_count();
        const int64_t sums_size = positions * round_up(a.out_channels, kPositionsTileColumns);
        const GemmActivation<T> activation = select_gemm_activation<T>(a.activation);
        // Other stride-2 convs lower from polyphase planes, as in the plain form (its gathers cost
        // 15% of ResNet-18's 3x3/2 at 14x14 outputs). Tried, no faster: planes with a zero border
        // read in place by the padded tiles (no lowering; ranges or one-panel tasks): the split's
        // extra cost ate the lowering's 4.5% (tiles at ~190 GFLOP/s either way); same-process
        // A/B at 1 and 2 threads within +-2% on both 3x3/2 layers, peer ratios within noise. The
        // unbordered planes read in place by window tiles (each tap's plane and shift compile-time
        // constants) were 1.06-1.12x the time of the lowering: GCC 12 spilled accumulators.
        const int64_t lowered_width = round_up(positions, 16);
        const ColumnPanelLowering<T> image_lower = same_size_lowering_applies(a.geometry, positions, lowered_width)
                                                       ? lower_same_size_avx512
                                                       : column_panel_lowering<T>(cpu::active_isa());
        const T* const x = static_cast<const T*>(a.x.data);
        const PhaseLowering<T> phases = phase_lowering<T>(cpu::active_isa(), a.geometry);
        // Stride 2 from an even width where the window tiles take whole channels: the tiles read
        // the image in place (strided_window_tile_avx512), no planes split and nothing lowered.
        // ResNet-18's 3x3/2 (same-process A/B against the planes and lowering, min per call): to
        // 7x7 0.93x the time at batch 1 on one thread, 0.89x on two, 0.83x at batch 6 on two; to
        // 14x14 0.89x, 0.72x and 0.84x (batch 4).
        const WindowGeometry& g = a.geometry;
        const bool strided = filters.block_unit == kWholeChannelsUnit && window_tiles_apply(g) && g.stride[1] == 2 &&
                             g.stride[2] == 2 && g.in[2] == 2 * g.out[2];
        const bool phase_source = !strided && phases.split != nullptr && phase_planes_apply(a.geometry) &&
                                  round_up(positions, 16) <= kMaxPhaseColumns;
        const ColumnPanelLowering<T> lower = phase_source ? phases.lower : image_lower;
        const bool padded = !phase_source && padded_source_applies(a.geometry, a.channels);
        const int64_t channel_size = phase_source ? phase_planes_channel_size(a.geometry)
                                     : padded     ? PaddedImage(a.geometry).plane
                                                  : a.geometry.in_size();
        const int64_t source_image = a.channels * channel_size;
        // `channels` channels of x from `from` into source's layout at `to`.
        auto prepare = [&](const T* from, int64_t channels, T* to) {
            if (phase_source) {
                phases.split(from, a.geometry, channels, to);
            } else {
                pad_channels(from, a.geometry, 0, channels, to);
            }
        };
        // This thread's buffer for `images` images' planes or padded copies.
        auto own_source = [&](int64_t images) {
            std::vector<T>& planes = thread_buffer<T, PhasePlanes>();
            planes.resize(static_cast<size_t>(images * source_image));
            return planes.data();
        };
        // Image n as run_slice reads it: x itself, or its planes or padded copy made in `own`.
        auto image_source = [&](int64_t n, T* own) -> const T* {
            const T* image = x + n * a.channels * a.geometry.in_size();
            if (!phase_source && !padded) return image;
            prepare(image, a.channels, own);
            return own;
        };
        struct ThreadState {
            T* workspace;
            T* own_source;
        };
        const int64_t lowered_size = round_up(kMaxBlockDepth * lowered_width, kAlignElements<T>);
        const int64_t slice_workspace = kAlignElements<T> + lowered_size + kMaxBlockDepth * kPositionsTileColumns;
        const int64_t channel_panels = ceil_div(a.out_channels, kPositionsTileColumns);
        const PackedPanels prepared{prepacked, block_depth_of(0, depth, filters.block_unit)};
        const PackedPanels* const given = prepacked != nullptr ? &prepared : nullptr;
        if (a.batch == 1 && threads > 1 && channel_panels >= threads &&
            (channel_panels % threads == 0 || channel_panels >= 4 * threads)) {
            std::vector<T>& sums = thread_buffer<T, PositionSums>();
            sums.resize(static_cast<size_t>(sums_size + kAlignElements<T>));
            T* const sums_data = cache_line_aligned(sums.data());
            // Each thread splits the planes of the whole image itself, in the same task: planes
            // split by all threads left half of them in the other core's cache for every
            // thread's lowering (3x3/2 to 14x14, 2 threads: lowering 20 -> 52-63 us per
            // thread, the split with its own fork-join 43 us; split here 11).
            // A task is one panel where the tiles read the padded image in place (a task lowers
            // nothing), else one range per thread (a range lowers all positions).
            const int64_t ranges = padded ? channel_panels : threads;
            struct RangeState {
                T* workspace;
                const T* source;
            };
            cpu::for_each_claimed_affine(
                ranges, threads,
                [&] {
                    std::vector<T>& buffer = thread_buffer<T, ColumnBlocks>();
                    buffer.resize(static_cast<size_t>(slice_workspace));
                    return RangeState{cache_line_aligned(buffer.data()), image_source(0, own_source(1))};
                },
                [&](int64_t range, const RangeState& state) {
                    const int64_t oc_begin = range * channel_panels / ranges * kPositionsTileColumns;
                    const int64_t oc_end =
                        std::min(a.out_channels, (range + 1) * channel_panels / ranges * kPositionsTileColumns);
                    run_slice(a, state.source, lower, filters, 0, depth, oc_begin, oc_end, given, sums_data,
                              state.workspace, padded, strided);
                    write_rows(a, 0, sums_data, 1, activation, oc_begin, oc_end);
                });
            return;
        }
        if (a.batch == 1) {
            const T* source = x;
            if (phase_source || padded) {
                T* const planes = own_source(1);
                cpu::parallel_for(a.channels, 1, [&](int64_t begin, int64_t end) {
                    prepare(x + begin * a.geometry.in_size(), end - begin, planes + begin * channel_size);
                });
                source = planes;
            }
            int64_t slice_depth = depth;
            if (threads > 1 && depth >= threads * kMinSliceDepth) {
                slice_depth =
                    round_up(ceil_div(depth, threads), given != nullptr ? given->block_depth : filters.block_unit);
            }
            const int64_t slices = ceil_div(depth, slice_depth);
            std::vector<T>& sums = thread_buffer<T, PositionSums>();
            sums.resize(static_cast<size_t>(slices * sums_size));
            cpu::for_each_claimed(
                slices, threads,
                [&] {
                    std::vector<T>& buffer = thread_buffer<T, ColumnBlocks>();
                    buffer.resize(static_cast<size_t>(slice_workspace));
                    return cache_line_aligned(buffer.data());
                },
                [&](int64_t slice, T* workspace) {
                    run_slice(a, source, lower, filters, slice * slice_depth, std::min(depth, (slice + 1) * slice_depth),
                              0, a.out_channels, given, sums.data() + slice * sums_size, workspace, padded,
                              strided);
                });
            cpu::parallel_for(a.out_channels, 16, [&](int64_t begin, int64_t end) {
                write_rows(a, 0, sums.data(), slices, activation, begin, end);
            });
            return;
        }
        PackedPanels packed{prepacked, block_depth_of(0, depth, filters.block_unit)};
        if (prepacked == nullptr) {
            std::vector<T>& buffer = thread_buffer<T, PackedWeights>();
            buffer.resize(static_cast<size_t>(packed_panels_size(filters)));
            pack_all_panels(filters, buffer.data());
            packed.data = buffer.data();
        }
        // A task: two images (pairs_images) but for the last `threads` at least, one each, so that
        // the threads finish within an image of each other: pairs to the end took 1.01-1.05x the
        // time on two threads (ResNet-18's 3x3/2 to 7x7, batch 32, unprepared weights).
        const int64_t per_task = pairs_images(a.batch, positions, padded) ? 2 : 1;
        const int64_t paired = per_task == 2 ? std::max<int64_t>(0, a.batch - threads) / 2 * 2 : 0;
        const int64_t pairs = paired / 2;
        cpu::for_each_claimed(
            pairs + a.batch - paired, threads,
            [&] {
                std::vector<T>& buffer = thread_buffer<T, ColumnBlocks>();
                buffer.resize(static_cast<size_t>(kAlignElements<T> + per_task * (lowered_size + sums_size)));
                return ThreadState{cache_line_aligned(buffer.data()),
                                   phase_source || padded ? own_source(per_task) : nullptr};
            },
            [&](int64_t task, const ThreadState& state) {
                const int64_t n = task < pairs ? 2 * task : paired + task - pairs;
                const int64_t images = task < pairs ? 2 : 1;
                T* sums = state.workspace + per_task * lowered_size;
                const T* second = nullptr;
                if (images == 2) {
                    second = image_source(n + 1, state.own_source != nullptr ? state.own_source + source_image : nullptr);
                }
                run_slice(a, image_source(n, state.own_source), lower, filters, 0, depth, 0, a.out_channels, &packed,
                          sums, state.workspace, padded, strided, second);
                for (int64_t i = 0; i < images; ++i) {
                    write_rows(a, n + i, sums + i * sums_size, 1, activation, 0, a.out_channels);
                }
            });
    }
#else
    (void)a, (void)filters, (void)prepacked;
#endif
}

}  // namespace transposed

// ---- Position panels: the plain GEMM transposed, for AVX2's micro-kernel ------------------
//
// Images of few positions (ResNet-18's 7x7 and 14x14 layers) fill the 16-wide NR panels of the
// plain form poorly (49 positions: 64 lanes, the last panel 1 of 16). Transposed,
// y^T (P x M) = columns^T (P x depth) * W^T (depth x M), the positions go in MR panels of 6
// (49: 54 rows) and the output channels in the NR lanes (512: 32 whole panels). Per depth block
// the columns are lowered as one panel (positions contiguous) and packed into MR panels (in L2),
// and each NR panel of W^T is packed into L1 (one pass over 16 weight rows, each read once a
// call) and swept by all the position panels; the sums (P x the chunk's channels) stay in L2
// across the depth blocks and go to y transposed, with bias, residual and activation, at the end.
// Tasks: (image, chunk of whole NR panels of output channels), chunks cut until they fill the
// pool (each lowers the image's columns itself; stride 2 from polyphase planes it splits itself:
// ResNet-18's 3x3/2 to 14x14 and 7x7 0.82-0.89x the time of strided piece copies, batch 1, one
// thread). AVX2 only: AVX-512 takes namespace transposed. Backward data at stride 1 runs here as
// the forward of dy, its W^T panels packed from the flipped filters (Filters); against the
// transposed column GEMM + col2im (conv_backward_data.hpp), both with edge tiles, Zen 3, batch 1,
// one thread: ResNet-18's layer4 3x3 0.93x the time, layer3 3x3 0.98-0.99x.
// Zen 3, batch 1, one thread, against the plain form (same-process A/B, loaded machine, min /
// median of 11 rounds): ResNet-18's layer4 3x3 0.83-0.89 / 0.85-0.90, layer4 3x3/2 0.87-0.91 /
// 0.87-0.95, layer3 3x3 0.88-0.95 / 0.95-1.00, layer3 3x3/2 0.93-0.96 / 0.92-0.97. Depth blocks
// of 128 ran 1.04-1.06x the time of 256, 384 1.00-1.03x.
namespace position_panels {

constexpr int64_t kMaxPositions = 256;  // the lowered block (kDepthBlock x positions) stays in L2
constexpr int64_t kDepthBlock = 256;    // a packed W^T panel (16 KiB) stays in L1

// Multiply-adds of the plain form's tiles against these, with a 5% margin for packing W^T and
// the transposed write.
inline bool pays(int64_t out_channels, int64_t positions, int64_t mr, int64_t nr) {
    const int64_t plain = round_up(out_channels, mr) * round_up(positions, nr);
    const int64_t transposed = round_up(out_channels, nr) * round_up(positions, mr);
    return transposed * 21 < plain * 20;
}

template <class T>
bool applies(const ConvArgs& a, int64_t depth, int64_t positions, const GemmMicroKernelInfo<T>& micro) {
    return sizeof(T) == 4 && cpu::active_isa() == MLN_ISA_AVX2 && micro.edge != nullptr && a.groups == 1 &&
           depth > 0 && positions <= kMaxPositions && pays(a.out_channels, positions, micro.mr, micro.nr);
}

// Rows from which an edge tile keeps both FMA pipes busy: 2 x rows accumulator chains cover the
// FMA's latency (Zen 3: 4 cycles, 2 pipes, so 8 chains), each depth step then costs `rows` cycles
// against MR for the zero-padded panel it replaces.
constexpr int64_t kEdgeTileMinRows = 4;
constexpr int kMaxTailTiles = 3;

// The positions in tiles: whole MR panels, then a tail of at most kMaxTailTiles edge tiles of
// kEdgeTileMinRows to MR rows where the panels do not divide the positions, taking rows from the
// last whole panels where the rest alone would be shorter (49 at MR 6: 6 panels and 5 + 4 + 4,
// 49 steps of the pipes per depth step instead of 9 x 6 = 54).
struct PositionTiles {
    int64_t panel_rows;  // rows in whole MR panels
    int tails = 0;
    int tail_rows[kMaxTailTiles] = {};
};

// Without an edge kernel (has_edge false): all in MR panels, the last one partial.
inline PositionTiles position_tiles(int64_t positions, int mr, bool has_edge) {
    if (!has_edge) return PositionTiles{positions};
    const int64_t remainder = positions % mr;
    int64_t borrowed = 0;
    auto tiles_of = [&](int64_t rows) { return ceil_div(rows, int64_t{mr}); };
    while (remainder > 0 && borrowed + 1 < kMaxTailTiles && borrowed < positions / mr &&
           remainder + borrowed * mr < kEdgeTileMinRows * tiles_of(remainder + borrowed * mr)) {
        ++borrowed;
    }
    const int64_t tail = remainder + borrowed * mr;
    PositionTiles t{positions - tail};
    t.tails = static_cast<int>(tiles_of(tail));
    for (int i = 0; i < t.tails; ++i) t.tail_rows[i] = static_cast<int>(tail / t.tails + (i < tail % t.tails ? 1 : 0));
    return t;
}

// Rows [0, positions) x columns [0, depth) of A into the tiles' panels: the MR panels, then each
// edge tile a panel of its own rows (by the scalar loops: a few rows), tile rows r on at r * depth.
template <class T>
void pack_position_tiles(const MatrixRef<T>& a, const PositionTiles& tiles, int64_t depth,
                         const GemmMicroKernelInfo<T>& micro, T* packed) {
    pack_a_panels(a, 0, tiles.panel_rows, 0, depth, micro.mr, micro.packers, packed);
    for (int t = 0, row = static_cast<int>(tiles.panel_rows); t < tiles.tails; row += tiles.tail_rows[t++]) {
        pack_a_panels(a, row, tiles.tail_rows[t], 0, depth, tiles.tail_rows[t], GemmPanelPackers<T>{},
                      packed + row * depth);
    }
}

template <class T>
struct Workspace {
    std::vector<T> columns, a_panels, b_panel, sums, planes;
};

// Where W^T's panels come from: the forward's own filters (out_channels x depth), or with
// flipped_kernel_size K > 0 a backward pass's filters (depth / K x out_channels x K) read
// flipped as they are packed (conv_forward_from_flipped_filters: backward data as the forward of
// dy, with no pass rearranging all filters first).
template <class T>
struct Filters {
    const T* w;
    int64_t flipped_kernel_size;
};

// The NR panel of W^T(p, j) for p in [pc, pc + kc), j in [oc, oc + cols), zero-padded to nr.
template <class T>
void pack_panel(const Filters<T>& f, int64_t depth, int64_t out_channels, int64_t oc, int64_t cols, int64_t pc,
                int64_t kc, const GemmMicroKernelInfo<T>& micro, T* panel) {
    const int64_t k = f.flipped_kernel_size;
    if (k == 0) {
        return pack_b_panels(MatrixRef<T>{f.w + oc * depth + pc, 1, depth}, 0, kc, 0, cols, micro.nr, micro.packers,
                             panel);
    }
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (sizeof(T) == 4) pack_flipped_weights_avx2(f.w + oc * k, out_channels * k, k, cols, pc, kc, panel);
#endif
}

// The rows of memory pack_panel reads for that panel (prefetched while the panel before runs):
// the forward's cols rows of kc weights, or the flipped filters' run of cols x K weights for each
// of the depth block's dy channels.
template <class T>
RowsPrefetch panel_prefetch(const Filters<T>& f, int64_t depth, int64_t out_channels, int64_t oc, int64_t cols,
                            int64_t pc, int64_t kc, int64_t steps) {
    const int64_t k = f.flipped_kernel_size;
    const int64_t element = sizeof(T);
    if (k == 0) return RowsPrefetch(f.w + oc * depth + pc, cols, kc * element, depth * element, steps);
    const int64_t m = pc / k;
    const int64_t channels = kc > 0 ? (pc + kc - 1) / k - m + 1 : 0;
    return RowsPrefetch(f.w + (m * out_channels + oc) * k, cols > 0 ? channels : 0, cols * k * element,
                        out_channels * k * element, steps);
}

template <class T>
void conv_forward(const ConvArgs& a, const GemmMicroKernelInfo<T>& micro, ColumnPanelLowering<T> lower,
                  const Filters<T>& filters) {
    const int mr = micro.mr;
    const int nr = micro.nr;
    const int64_t positions = a.geometry.out_size();
    const int64_t depth = a.channels * a.geometry.kernel_size();
    const int64_t out_channels = a.out_channels;
    // The lowered block is one panel of `width` columns (the lowerings take multiples of 8).
    const int64_t width = round_up(positions, 8);
    const PositionTiles tiles = position_tiles(positions, mr, true);
    // Stride 2: each task splits its image into polyphase planes and lowers from them (one
    // masked load per 8 columns) instead of strided piece copies from the image.
    const PhaseLowering<T> phases = phase_lowering<T>(cpu::active_isa(), a.geometry);
    const bool phase_source = phases.split != nullptr && phase_planes_apply(a.geometry) && width <= kMaxPhaseColumns;
    if (phase_source) lower = phases.lower;
    const int64_t source_image = a.channels * (phase_source ? phase_planes_channel_size(a.geometry) : 0);
    const int64_t depth_blocks = ceil_div(depth, kDepthBlock);
    const int64_t depth_block = round_up(ceil_div(depth, depth_blocks), 8);
    const int64_t threads = cpu::thread_pool().thread_count();
    const int64_t channel_panels = ceil_div(out_channels, nr);
    int64_t chunks = 1;
    while (!tasks_fill_threads(a.batch * chunks, threads) && chunks < channel_panels) ++chunks;
    const int64_t chunk_channels = ceil_div(channel_panels, chunks) * nr;
    chunks = ceil_div(out_channels, chunk_channels);
    const T* x = static_cast<const T*>(a.x.data);
    const T* bias = a.has_bias ? static_cast<const T*>(a.bias.data) : nullptr;
    const T* residual = a.has_residual ? static_cast<const T*>(a.residual.data) : nullptr;
    T* y = static_cast<T*>(a.y.data);
    const GemmActivation<T> activation = select_gemm_activation<T>(a.activation);
    cpu::for_each_claimed(
        a.batch * chunks, threads,
        [&]() -> Workspace<T>& {
            Workspace<T>& ws = thread_scratch<Workspace<T>>();
            ws.columns.resize(static_cast<size_t>(depth_block * width));
            ws.a_panels.resize(static_cast<size_t>(depth_block * round_up(positions, mr)));
            ws.b_panel.resize(static_cast<size_t>(depth_block * nr));
            ws.sums.resize(static_cast<size_t>(positions * chunk_channels));
            ws.planes.resize(static_cast<size_t>(source_image));
            return ws;
        },
        [&](int64_t task, Workspace<T>& ws) {
            const int64_t n = task / chunks;
            const int64_t c0 = task % chunks * chunk_channels;
            const int64_t channels = std::min(chunk_channels, out_channels - c0);
            const T* image = x + n * a.channels * a.geometry.in_size();
            if (phase_source) {
                phases.split(image, a.geometry, a.channels, ws.planes.data());
                image = ws.planes.data();
            }
            T* const sums = ws.sums.data();  // (position, channel) at position * chunk_channels + channel
            for (int64_t pc = 0; pc < depth; pc += depth_block) {
                const int64_t kc = std::min(depth_block, depth - pc);
                lower(image, a.geometry, pc, kc, 0, positions, width, ws.columns.data());
                pack_position_tiles(MatrixRef<T>{ws.columns.data(), 1, width}, tiles, kc, micro, ws.a_panels.data());
                for (int64_t j0 = 0; j0 < channels; j0 += nr) {
                    const int64_t cols = std::min<int64_t>(nr, channels - j0);
                    pack_panel(filters, depth, out_channels, c0 + j0, cols, pc, kc, micro, ws.b_panel.data());
                    // The next panel's weights, from memory, while this one's tiles run.
                    const bool next_in_block = j0 + nr < channels;
                    const int64_t next_pc = next_in_block ? pc : pc + depth_block;
                    const int64_t next_j0 = next_in_block ? j0 + nr : 0;
                    RowsPrefetch prefetch = panel_prefetch(
                        filters, depth, out_channels, c0 + next_j0,
                        next_pc < depth ? std::min<int64_t>(nr, channels - next_j0) : 0, next_pc,
                        std::max<int64_t>(0, std::min(depth_block, depth - next_pc)),
                        tiles.panel_rows / mr + tiles.tails);
                    // The sums' rows are chunk_channels wide, a multiple of NR: every tile writes all NR
                    // columns (those past the chunk's channels are never read), so no tile goes through
                    // a scratch tile and the edge kernel's bits do not depend on the chunking.
                    for (int64_t i = 0; i < tiles.panel_rows; i += mr) {
                        prefetch.step();
                        accumulate_tile(micro.packed, mr, nr, kc, ws.a_panels.data() + i * kc, 1, mr,
                                        ws.b_panel.data(), nr, sums + i * chunk_channels + j0, chunk_channels, mr, nr,
                                        pc == 0);
                    }
                    for (int t = 0, i = static_cast<int>(tiles.panel_rows); t < tiles.tails; i += tiles.tail_rows[t++]) {
                        prefetch.step();
                        accumulate_edge_tile(micro.edge, tiles.tail_rows[t], nr, kc, ws.a_panels.data() + i * kc,
                                             ws.b_panel.data(), sums + i * chunk_channels + j0, chunk_channels, nr,
                                             pc == 0);
                    }
                }
            }
            T* const y_chunk = y + (n * out_channels + c0) * positions;
            const T* residual_chunk = residual != nullptr ? residual + (n * out_channels + c0) * positions : nullptr;
            // (sum + bias, then + residual, as the reference adds.) Only f32 at AVX2 comes here (applies).
#if defined(MYELIN_X86_64_KERNELS)
            if constexpr (sizeof(T) == 4) {
                write_transposed_sums_avx2(sums, chunk_channels, positions, channels,
                                           bias != nullptr ? bias + c0 : nullptr, residual_chunk, y_chunk);
            }
#endif
            if (activation != nullptr) activation(y_chunk, channels, positions, positions, 1);
        });
}

}  // namespace position_panels

// The implicit GEMM forward's forms, in the order conv_forward tries them: w^T's transposed form
// (AVX-512), the position panels (AVX2), the polyphase direct kernel (conv_phase_direct.hpp, f32),
// else lowered columns through the packed micro-kernels.
enum class ForwardForm { kTransposed, kPositionPanels, kPhaseDirect, kLowered };

// Which form conv_forward takes for a (depth and positions: one group's, as conv_forward's Plan):
// the one place that order is written, for conv_forward and the prepared filters (conv.cpp).
template <class T>
ForwardForm forward_form(const ConvArgs& a, int64_t depth, int64_t positions, const GemmMicroKernelInfo<T>& micro) {
    if (transposed::applies<T>(a, depth, positions, micro)) return ForwardForm::kTransposed;
    if (position_panels::applies<T>(a, depth, positions, micro)) return ForwardForm::kPositionPanels;
    if (sizeof(T) == 4 && positions > 0 && phase_direct::applies(a)) return ForwardForm::kPhaseDirect;
    return ForwardForm::kLowered;
}

template <class T>
ForwardForm forward_form(const ConvArgs& a) {
    return forward_form<T>(a, a.channels / a.groups * a.geometry.kernel_size(), a.geometry.out_size(),
                           gemm_microkernel<T>(cpu::active_isa()));
}

// Backward data of a stride-1 convolution as the forward of dy (conv.cpp's
// conv_backward_data_as_forward builds `forward`: dy as x, dx as y) where that forward takes the
// transposed form (AVX-512) or the position panels (AVX2): w^T's panels read straight from the
// original filters forward.w (M x C x k, M = forward.channels, C = forward.out_channels), flipped
// on the way. Returns false, computing nothing, where neither applies. Depth blocks of whole dy
// channels where the window tiles apply (a 3x3 "same" at 7 or 14 wide): they leave out the
// padding's products at compile time, as in the forward, where 8-deep blocks walked the taps.
// ResNet-18's stride-1 backward data (Zen 5, conv_vs_build against main, min / median, then main
// against this): batch 1, one thread, layer4 3x3 0.90-0.91 / 0.90 (1.06-1.11 / 1.06-1.11), two
// threads 0.93 / 0.93 (1.07 / 1.10); layer3 3x3 even (0.96-1.00 / 0.97-1.00, 0.97-1.02 /
// 0.99-1.02); batch 32 on two threads untouched (the same bits as main: another path there).
template <class T>
bool conv_forward_from_flipped_filters(const ConvArgs& forward) {
    const int64_t k = forward.geometry.kernel_size();
    const int64_t depth = forward.channels / forward.groups * k;
    const int64_t positions = forward.geometry.out_size();
    const GemmMicroKernelInfo<T> micro = gemm_microkernel<T>(cpu::active_isa());
    const ForwardForm form = forward_form<T>(forward, depth, positions, micro);
    if (form == ForwardForm::kTransposed) {
        transposed::conv_forward<T>(forward, {static_cast<const float*>(forward.w.data), forward.channels * k, k,
                                              forward.out_channels, transposed::depth_block_unit(forward.geometry)});
        return true;
    }
#if defined(MYELIN_X86_64_KERNELS)
    if (micro.nr == kFlippedPanelWidthAvx2 && form == ForwardForm::kPositionPanels) {
        position_panels::conv_forward<T>(forward, micro, column_panel_lowering<T>(cpu::active_isa()),
                                         {static_cast<const T*>(forward.w.data), k});
        return true;
    }
#endif
    return false;
}

// y = activation(conv(x, w) + bias + residual) for any groups, through the packed micro-kernels.
template <class T>
void conv_forward(const ConvArgs& a) {
    Plan<T> p{};
    p.args = &a;
    p.micro = gemm_microkernel<T>(cpu::active_isa());
    p.lower = column_panel_lowering<T>(cpu::active_isa());
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    p.group_channels = a.channels / a.groups;
    p.group_out_channels = a.out_channels / a.groups;
    p.depth = p.group_channels * a.geometry.kernel_size();
    p.out_size = a.geometry.out_size();
    if (p.out_size == 0) return;
    switch (forward_form<T>(a, p.depth, p.out_size, p.micro)) {
    case ForwardForm::kTransposed:
        return transposed::conv_forward<T>(a, transposed::forward_filters(a, static_cast<const float*>(a.w.data)));
    case ForwardForm::kPositionPanels:
        return position_panels::conv_forward<T>(a, p.micro, p.lower, {static_cast<const T*>(a.w.data), 0});
    case ForwardForm::kPhaseDirect:
        if constexpr (sizeof(T) == 4) return phase_direct::conv_forward(a);
        break;
    case ForwardForm::kLowered:
        break;
    }
    const int64_t threads = cpu::thread_pool().thread_count();
    const int64_t images = a.batch * a.groups;
    // Depth blocks of equal size (as the GEMM driver: no thin last block), within a slice of
    // the depth in depth-slice mode; NC positions in a block from them.
    // Stride-2 layers read polyphase planes (conv_lowering.hpp) in blocks of at most
    // kMaxPhaseColumns: shallow ones (MobileNet-v2's 3-channel stem, 27 deep, before the direct
    // kernel took it) would otherwise take blocks of 2048 and the strided piece copier, 34% of the
    // layer's time on one thread.
    const PhaseLowering<T> phases = phase_lowering<T>(cpu::active_isa(), a.geometry);
    const bool phase_source = phases.split != nullptr && phase_planes_apply(a.geometry) && nr % 16 == 0;
    const int64_t max_depth_block = kDepthBlockBytes / static_cast<int64_t>(sizeof(T));
    auto block_sizes = [&](int64_t depth) {
        const int64_t blocks = std::max<int64_t>(1, ceil_div(depth, max_depth_block));
        p.depth_block = std::min(depth, round_up(ceil_div(depth, blocks), 8));
        int64_t max_column_block = std::max<int64_t>(
            nr, kColumnBlockBytes / static_cast<int64_t>(sizeof(T)) / std::max<int64_t>(p.depth_block, 1) / nr * nr);
        if (phase_source) max_column_block = std::min(max_column_block, kMaxPhaseColumns / nr * nr);
        p.column_blocks = ceil_div(p.out_size, max_column_block);
    };
    block_sizes(p.depth);
    p.row_panels = ceil_div(p.group_out_channels, mr);
    // The parallel unit (see the top): position blocks, more of them if that fills the pool
    // while each keeps at least four NR panels, then chunks of the output channels. One image
    // whose position blocks still do not fill the pool (small, deep layers at batch 1) takes
    // depth-slice mode instead where each thread's slice keeps kMinSliceDepth. ResNet-18's
    // 3x3/2 at 28x28 outputs (784 positions, 576 deep) took slices while its 3 cache-sized
    // blocks did not fill 2 threads; 4 position blocks do, without the partial-sum pass: 2
    // threads, contended machine, same-run A/B, min per call 0.50-0.51 -> 0.44-0.47 ms, CPU
    // time per call 1.37-1.38 -> 1.10-1.17 ms (1 thread: 0.74).
    p.depth_slices = 1;
    p.slice_depth = std::max<int64_t>(p.depth, 1);
    p.column_panels = ceil_div(p.out_size, nr);
    const int64_t fewest_blocks = p.column_blocks;
    for (int64_t blocks = fewest_blocks + 1; blocks <= fewest_blocks + threads; ++blocks) {
        if (tasks_fill_threads(images * p.column_blocks, threads) || p.column_panels < 4 * blocks) break;
        if (tasks_fill_threads(images * blocks, threads)) p.column_blocks = blocks;
    }
    if (threads > 1 && images == 1 && !tasks_fill_threads(p.column_blocks, threads) && p.depth >= threads * kMinSliceDepth) {
        p.slice_depth = round_up(ceil_div(p.depth, threads), 8);
        p.depth_slices = ceil_div(p.depth, p.slice_depth);
        block_sizes(p.slice_depth);
    }
    p.column_blocks = std::min(p.column_blocks, p.column_panels);
    p.column_block = ceil_div(p.column_panels, p.column_blocks) * nr;
    const int64_t base_tasks = p.depth_slices * images * p.column_blocks;
    p.row_chunks = 1;
    while (!tasks_fill_threads(base_tasks * p.row_chunks, threads) && p.row_chunks < p.row_panels) ++p.row_chunks;
    p.chunk_panels = ceil_div(p.row_panels, p.row_chunks);
    p.row_chunks = ceil_div(p.row_panels, p.chunk_panels);

    p.x = static_cast<const T*>(a.x.data);
    p.bias = a.has_bias ? static_cast<const T*>(a.bias.data) : nullptr;
    p.residual = a.has_residual ? static_cast<const T*>(a.residual.data) : nullptr;
    p.y = static_cast<T*>(a.y.data);
    p.relu_in_kernel = a.activation == MLN_UNARY_OP_RELU;
    p.activation = select_gemm_activation<T>(a.activation);

    p.w = static_cast<const T*>(a.w.data);

    const int64_t tasks = base_tasks * p.row_chunks;
    const int64_t workspace_size = kAlignElements<T> + round_up(mr * p.depth_block, kAlignElements<T>) +
                                   round_up(p.column_block, nr) * p.depth_block + p.chunk_panels * mr * nr + mr * nr;
    const int64_t padded_block = round_up(p.column_block, nr);
    // Stride-2 layers read polyphase planes (conv_lowering.hpp), split first by all threads.
    p.source = p.x;
    p.source_channel_size = a.geometry.in_size();
    if (phase_source && padded_block <= kMaxPhaseColumns) {
        p.source_channel_size = phase_planes_channel_size(a.geometry);
        std::vector<T>& planes = thread_buffer<T, PhasePlanes>();
        planes.resize(static_cast<size_t>(a.batch * a.channels * p.source_channel_size));
        cpu::parallel_for(a.batch * a.channels, 1, [&](int64_t begin, int64_t end) {
            phases.split(p.x + begin * a.geometry.in_size(), a.geometry, end - begin,
                         planes.data() + begin * p.source_channel_size);
        });
        p.source = planes.data();
        p.lower = phases.lower;
    }
    if (p.depth_slices > 1) {
        std::vector<T>& partial_sums = thread_buffer<T, DepthSlicePartials>();
        partial_sums.resize(static_cast<size_t>((p.depth_slices - 1) * a.batch * a.out_channels * p.out_size));
        p.partial_sums = partial_sums.data();
    }
    cpu::for_each_claimed(
        tasks, threads,
        [&] {
            std::vector<T>& buffer = thread_buffer<T, ColumnBlocks>();
            buffer.resize(static_cast<size_t>(workspace_size));
            return cache_line_aligned(buffer.data());
        },
        [&](int64_t task, T* workspace) { run_task(p, task, workspace); });
    if (p.depth_slices > 1) {
        cpu::parallel_for(a.batch * a.out_channels, 8, [&](int64_t begin, int64_t end) {
            add_partial_sums(p, begin, end);
        });
    }
}

}  // namespace implicit_gemm
}  // namespace mln::kernels
