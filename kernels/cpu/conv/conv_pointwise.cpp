// Pointwise convolution drivers (conv_pointwise.hpp). Both passes are one problem: for each of
// the batch * groups images i (NCHW puts image n, group g at block n * groups + g),
//   C_i (rows x P) = A_(i mod groups) (rows x depth) * B_i (depth x P)
// with B_i and C_i consecutive blocks of rows of P positions.
//
// Blocking: the positions are cut into blocks whose depth x block slice of B takes at most
// kColumnBlockBytes (a share of L2). A task walks the MR-row panels of A (its chunk of them)
// over one such block: the first panel brings the slice in from memory, the others read it from
// L2; each panel's A rows stay in L1 across the block's tiles; each output is stored once.
// Parallel unit: (image group, position block, chunk of row panels) tasks, each axis split
// evenly, the counts chosen for the shortest estimated run on the pool (split_tasks); each
// thread runs its own share first, then claims the others' leftovers, so a thread that shares
// its core slows only its own tasks.
#include "kernels/cpu/conv/conv_pointwise.hpp"
#include "kernels/cpu/conv/conv_pointwise_filter.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/gemm/gemm_epilogue.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"
#include "kernels/cpu/gemm/gemm_pack.hpp"

namespace mln::kernels {
namespace {

// Lost, 2026-12-07 (batch 32, 2 threads, both ways round, 9 rounds, twice): 16-deep backward
// data (32->16 @112) in blocks of half (8 blocks) or twice (2 blocks) this: 1.0-1.02x the time
// (main 1.02-1.04x swapped) and 1.02-1.05x (main 0.97-1.02x swapped), even.
constexpr int64_t kColumnBlockBytes = 256 << 10;
// An image whose depth x positions slice of B takes at most kImageBlockBytes is one block
// nonetheless (its images then go one per task, as blocks of several tiles would): MobileNet-v2's
// 384 and 576 deep 14x14 layers (301 and 451 KiB) in one block of 4 tiles rather than two of 2
// (same-process A/B at real-time priority, loaded machine: batch 32, 2 threads, forward
// 0.94-1.0x the time, backward data 96->576 0.97-0.98x; ResNet-18's 64->128 1x1/2 backward data,
// 128 deep at 28x28, 0.92-0.96x at batch 32 and 1; the others even).
constexpr int64_t kImageBlockBytes = 512 << 10;
// Depth per pass over C: a panel of A (MR rows of this) stays in L1 while it meets every image
// of its group; deeper products take several passes, C read back once per pass. AVX-512 (48 KiB
// L1 on Zen 5; its panel is 8 rows) takes twice the depth: one pass instead of two for 960 deep
// (1 thread, batch 32, A/B in one process on a loaded machine, 2 runs, the unchanged library
// 0.96-1.03x itself: MobileNet-v2 forward 960->160 and 960->320 at 7x7 0.91-0.95x the time,
// 576->96 and 576->160 0.96-0.99x; backward data 160->960 0.90-0.95x, 96->576 0.99x, 320->1280
// 0.97-1.01x). Three times, 6 KiB, since 2026-12-07: 320->1280's backward data (1280 deep) in one
// pass instead of two of 640, dx stored once rather than stored and read back (Zen 5, same-process
// A/B against main, both ways round, min / median: batch 1, 1 thread, 0.89-0.99x the time in 3
// runs, 8 KiB the same blocks 0.94-0.95x; 2 threads 0.97-0.98x; batch 32, 2 threads, 0.97-0.99x;
// no other MobileNet-v2 or ResNet-18 layer is over 1024 deep). Other ISAs keep the measured 2 KiB
// (Zen 3: 32 KiB L1).
constexpr int64_t kDepthBlockBytes = 2 << 10;
constexpr int64_t kDepthBlockBytesAvx512 = 6 << 10;
// Below AVX-512, images of kInPlaceMinPositions to kInPlaceMaxPositions positions (14x14) take depth
// blocks of kInPlaceDepthBlockBytes with B read in place, never packed (kMinPackDepth): a tile's
// depth rows of B (1-2 lines each at 784-byte rows) and the panel of A then fit Zen 3's L1
// together, without the copy. Same-process A/B against 2 KiB blocks of packed tiles (Zen 3,
// MobileNet-v2, min / median of 5-11 rounds, batch 32 both ways round): forward 384->64, 384->96,
// 576->96 0.88-0.95x the time at batch 1 on 1 thread and 0.84-0.95x at batch 32 on 2 threads;
// backward data 64->384 0.92x and 0.85x, 96->576 even and 0.88-0.93x; the others even (blocks of
// 0.5 and 0.75 KiB measured the same as 1). 7x7 images keep packed tiles: these blocks ran their
// forward 960->160, 960->320, 320->1280 1.16-1.25x the time, backward data 1.07-1.31x.
constexpr int64_t kInPlaceDepthBlockBytes = 1 << 10;
constexpr int64_t kInPlaceMinPositions = 128;
constexpr int64_t kInPlaceMaxPositions = 256;
// Position blocks keep at least this many full tiles when they are cut to fill the pool.
constexpr int64_t kMinBlockTiles = 4;
// Where a task's panels are many and the products shallow (one depth block), its block of
// positions goes in chunks of whole column tiles whose depth x columns slice of B takes at most
// kL1ColumnBytes, every panel over one chunk before the next: the panels after the first read
// B from L1 rather than from L2 (and their panel of A from L2, a sixth of B's bytes at 48
// columns). Batch 32, 2 threads, same-process A/B at real-time priority: MobileNet-v2's 64->384
// at 14x14 forward 0.94-0.95x the time, backward data 384->64 and 192->64 0.98-0.99x, the
// others even. Fewer panels, a shallower depth, chunks of one tile or a gathered B keep whole
// blocks: C's rows then written in chunk-long pieces measured slower (forward 32->16 at 112x112
// and 96->24 at 56x56 1.05-1.08x, backward data 32->16 at 112x112 1.2-1.35x), one-tile chunks
// (96 deep and more) even at best, ResNet-18's gathered 64->128 1x1/2 forward 1.09x. Measured on
// AVX-512 (48 KiB L1); at AVX2 (Zen 3, 32 KiB L1) chunks of 16 and 24 KiB ran MobileNet-v2's
// 64->384 and 96->576 at 14x14 forward 1.03-1.04x the time (batch 1), the others even. The
// forward pass over a single image (batch 1, one group) keeps whole blocks on AVX-512 too (Zen
// 5, same-process A/B against chunks, both ways round, min / median, 3 runs, 2026-12-07:
// 64->384 at 14x14 0.96-0.99x the time on 1 thread, 0.95-1.0x on 2; 32->192 at 28x28 0.95-0.97x
// and 0.95-0.99x; layers without chunks moved 0.97-1.06x in the same runs). Backward data's
// 384->64 and 192->64 (chunked at batch 1) measured 0.97-1.06x by the order of the runs: they
// keep the chunks. Lost, 2026-12-07: backward data at 7x7 with image-outer order where an
// image's B fits 32 KiB (960->160, 576->160 at batch 32: B from L1, W^T's panels from L2):
// 0.97-1.05x the time both ways round, no gain; with the panels packed per task 1.06-1.08x.
// Lost, 2026-12-08 (batch 1, 1 thread, both ways round, twice): chunks of 12 KiB (backward data
// 144->32 and 192->32 @28, 32 deep, 2 tiles a chunk beside W^T's 18-24 KiB), 1.02-1.07x
// the time; of 48 KiB (the 28x28 and 14x14 layers' chunks twice as wide, 384->96 and 576->96
// chunked), 0.98-1.04x, even.
constexpr int64_t kL1ColumnBytes = 24 << 10;
constexpr int64_t kMinChunkDepth = 32;
constexpr int64_t kMinChunkPanels = 8;
constexpr int64_t kMinChunkTiles = 2;
// Below AVX-512 (measured at AVX2): a task of at least kMinPackPanels row panels over a depth
// block of at least kMinPackDepth, whose B is in cache (under kForwardPrefetchBytes in all), first
// copies its block of B tile by tile (each tile's rows adjacent, a strip call per tile): in place
// a tile's rows are as many streams as the depth, rows of 196 bytes at 7x7, and with the panel of
// A they outgrow Zen 3's 32 KiB L1, so each panel read them again from L2 out of line.
// Same-process A/B, batch 1 on 1 thread and 32 on 2: MobileNet-v2's 7x7 layers 0.79-0.92x the
// time (forward 576->160, 960->160, 960->320, 320->1280; backward data 160->960, 960->320,
// 320->1280), 14x14 forward 384->64, 384->96, 576->96 and backward data 64->384, 96->576 at batch
// 1 0.86-0.95x (14x14 images since read B in place in shorter depth blocks instead:
// kInPlaceDepthBlockBytes). Lost: shallower (a strip call per 16-deep tile and a pass over an x from memory:
// 16->96 at 112x112 1.19x, 6 panels of 144 deep at 28x28 1.15x; from 128 deep, batch 1: forward
// 144->24 at 56x56 1.18-1.24x, 192->64 at 14x14 1.10-1.12x, backward data 24->144 1.19-1.29x);
// B from memory (batch 32 at 14x14: 1.1-1.2x, the first panel's prefetch overlaps what the copy
// waits for); packing backward data's W^T panels too, element by element (1.03-1.13x at 7x7).
// Lost at AVX-512 too (Zen 5, batch 32, 2 threads, 2026-12-07): each task's W^T panels copied
// contiguous once (8 rows a step; in place a panel's lines fall in a quarter of L1's sets or
// fewer), 1.02-1.12x the time on the 7x7 and 14x14 layers (960->320 1.12x): the tiles hide
// those lines' misses.
constexpr int64_t kMinPackPanels = 4;
constexpr int64_t kMinPackDepth = 256;
// A task that gathers its strided columns (PointwiseGemm::strided_b) spends about this many row
// panels' work per register of them: each task that shares a block of positions gathers all of
// it again, so chunks of row panels pay it per thread.
constexpr int64_t kGatherPanels = 4;
// The tail kernel takes fewer columns than a quarter of the widest register's lanes (16 f32).
constexpr int64_t kMaxTailColumns = 4;
// The forward pass prefetches the next tile's columns of x on a task's first panel
// (PointwiseStrip::prefetch_b) where x takes at least this much: it then comes from memory
// (1 thread, batch 32, A/B in one process on a loaded machine, 2 runs, the unchanged library
// 0.96-1.06x itself: MobileNet-v2 144->32 and 192->32 at 28x28 0.75-0.82x the time, 96->24 and
// 144->24 at 56x56 0.89-0.91x, 32->16 at 112x112 0.89-0.93x, 24->144 0.95x; 14x14, 7x7 and
// ResNet-18's 1x1/2 within the noise; at batch 1, x in cache, 1.00-1.01x on the sum, so off there).
// Lost, 2026-12-07 (batch 32, 2 threads): the next task's images (x, contiguous) prefetched a slice
// per row panel where both tasks' fit 768 KiB, by prefetcht0 and prefetcht1: 384->64 @14
// 1.02-1.07x the time, 192->64 @14 1.06-1.08x, 576->160 @7 1.00-1.05x, the others even.
constexpr int64_t kForwardPrefetchBytes = int64_t{8} << 20;
// AVX-512, where B takes kForwardPrefetchBytes or more and tasks take whole images: the panels
// after a task's first prefetch the next task's images into L2 (PointwiseStrip::stream), one line
// per depth step among the tiles' FMAs rather than a slice per panel as above, as far as the
// task's own images and rows of A leave room in kStreamL2Bytes; the next task's first panel then
// reads them from L2 instead of fetching them from memory alone. Zen 5, batch 32, 2 threads,
// same-process A/B against main, both ways round, 9 rounds, twice (min / median): forward
// 384->64 @14 0.96-0.97x the time (swapped, main's 1.03-1.07x), 384->96 @14 0.96-1.0x (1.01-1.05x);
// 576->96 @14 (half its next image fits) and backward data 96->576 @14 even. Lost: at every size
// of backward data's dy (its prefetch_b is unconditional), 192->64 and 384->64 @14 1.02-1.06x;
// a 1 MiB budget (more of 576->96's next image) against this one, 576->96 0.97-1.01x, 144->32 @28
// 1.0-1.04x (one way round, 9 rounds, twice). Lost, 2026-12-07: tasks of one image's blocks of
// positions (32->16 @112 backward data, 4 blocks of 16 x 3136) streaming the next task's block of
// dy into L2 a row of lines at a time, which the 3 later panels' depth steps cover: 32->16
// backward data 0.99-1.0x the time, forward 1.01-1.02x (batch 32, 2 threads, 7 rounds, twice);
// CPU samples: the first panel's tiles 0.89x, the later panels' 1.18x (DRAM-bound: the prefetches
// compete with dx's reads for ownership).
constexpr int64_t kStreamL2Bytes = 896 << 10;
// Where C takes at least kStorePrefetchBytes (it then goes to memory: batch 32), each tile first
// fetches its lines of C for writing (PointwiseStrip::prefetch_c; AVX-512's prefetchw), so that
// the read for ownership of each line runs while the tile sums its depth rather than stalling
// the stores. Zen 5, MobileNet-v2 batch 32, 2 threads, same-process A/B against main, 5 rounds,
// both ways round (min/median): forward 16->96 @112 0.91-0.93x / 0.84-0.89x the time, 24->144
// @56 0.96-0.97x, 32->192 @28 0.97-0.98x, 96->576 @14 0.94-1.0x; backward data 576->96 @14
// 0.90-0.96x, 32->16 @112 0.97-0.98x; the others within the noise (sum 0.99x). Lost: the same at
// batch 1, C in cache (1-5% slower: forward 16->96 @112 1.05-1.09x), and likewise on every panel
// the next tile's columns of B (AVX2's kEveryPanelPrefetch*: backward data 32->16 @112 1.06-1.09x,
// 144->24 @56 1.10x at batch 1), W^T's columns 8 depth steps ahead into L1 (backward data 0.99-1.01x).
// Lost, 2026-12-07: non-temporal stores of whole tiles instead (C of 16 MiB+ in rows of whole
// lines, kStreamingStoreBytes), batch 32, 2 threads: forward 16->96 @112 1.30-1.46x the time (main
// 0.71-0.72x run the other way round), 32->16 1.11-1.15x, 24->144 1.13x; backward data 1.04-1.17x.
// Lost too, batch 1, 1 thread: prefetchw at every size (14x14 and 28x28, C in L2, included):
// forward sum 1.01x, backward data 1.01-1.02x (one way round); from 1 MiB of dx, 32->16 @112
// 1.00-1.05x (both ways). Lost too, 2026-12-07: the forward pass's from 5 MiB of C (batch 32, 2
// threads: 160->960 @7, 6 MiB, 0.99x the time, 320->1280 @7, 8 MiB, 1.01x); backward data's from
// 2 MiB of dx (batch 32: 960->160 and 576->160 at 7x7, 192->64 at 14x14), 0.98-1.04x.
// Again, 2026-12-07 (batch 32, 2 threads, 32->16 @112 backward data: 16 deep, dx 51 MB, whose
// DRAM traffic with the reads for ownership, dy + 2 x dx = 128 MB, matches its 1.5-1.7 ms):
// non-temporal stores of backward data's dx from 16 MiB, 64-byte aligned, an sfence per task:
// 32->16 1.09-1.18x the time, 16->96 @112 1.07-1.09x, 96->24 @56 1.09-1.16x, 144->24 @56
// 1.14-1.30x, 192->32 @28 1.04-1.06x (one way round, 7 rounds, twice); without the sfence
// 1.16-1.21x (main 0.79-0.86x the other way); on a task's first panel only (the one reading dy
// from memory; its tiles' CPU samples 0.88x, the later panels' 1.12x) 1.04-1.07x (main 0.94-0.97x
// swapped). A synthetic test of the same 8-row, 3-line tile stores of 51 MB measured 0.7 ms by
// non-temporal stores against 1.2 ms plain with prefetchw: the cause of the loss was not found.
// Each tile fetching the next tile's lines for writing instead (its own too at the strip's
// start): 32->16 1.00-1.01x (9 rounds, twice). Once more with the streamed stores' own prefetch
// (prefetch_stream_ahead_at_block before each register, no prefetchw, an sfence per task; batch
// 32, 2 threads, both ways round, 7-9 rounds, three runs on the idle machine, medians): 32->16
// 0.92-1.05x the time and main 1.01-1.04x of it swapped, 16->96 @112 1.01-1.09x (0.96-0.97x),
// 96->24 and 144->24 @56 0.96-1.08x (0.96-1.06x): no consistent gain, not taken (2026-12-07).
constexpr int64_t kStorePrefetchBytes = int64_t{8} << 20;
// Below AVX-512, on images of at least kEveryPanelPrefetchPositions positions, tasks of at least
// kEveryPanelPrefetchPanels row panels over a depth block of at most kEveryPanelPrefetchDepth
// prefetch the next tile's columns of B on every panel, not only the first (B in cache or not):
// each of a shallow tile's depth rows is a stream of its own through L2, short per tile, which
// the hardware prefetchers left to the loads. Zen 3, conv_vs_build against the build without:
// MobileNet-v2 forward 16->96 at 112x112 0.89-0.90x the time at batch 1 (1 thread), 0.90-0.92x at
// batch 32 (2 threads), 24->144 and 96->24 at 56x56 0.87-0.95x; deeper (144 and 192) 1.02-1.06x;
// 3 panels (backward data 16->96: 16 rows) 1.03-1.08x; 28x28 (784 positions) mixed: 32->192
// forward 0.85-0.96x at batch 32 but 1.04-1.06x at batch 1, backward data 144->32 1.09-1.10x and
// ResNet-18's gathered layer2 1x1/2 forward 1.04-1.06x (batch 1, both ways round), so from 56x56.
// One prefetch per line instead, 1-4 tiles ahead by depth (clamp(64 / depth, 1, 4)), lost: batch
// 32 forward 16->96 @112 and 24->144 @56 1.04-1.10x, 32->16 1.05-1.06x, batch 1 even.
constexpr int64_t kEveryPanelPrefetchPositions = 3136;
constexpr int64_t kEveryPanelPrefetchPanels = 4;
constexpr int64_t kEveryPanelPrefetchDepth = 128;
// AVX-512 backward data where a full tile's depth rows of dy take at most kL1PrefetchBytes (16
// deep: 3 KiB at f32): every panel's full tiles prefetch the next tile's columns of dy into L1
// (PointwiseStrip::prefetch_b_l1; the first panel's instead of prefetch_b's into L2). Each depth
// row is a stream of its own, 3 lines a tile, which the later panels otherwise read from L2 at
// the loads. Zen 5, MobileNet-v2's 32->16 @112 (4 panels 16 deep), same-process A/B against
// main, both ways round, min / median, loaded machine (2026-12-08): batch 1, 1 thread,
// 0.94-0.95 / 0.94-0.97x the time (main 1.03-1.05x swapped); batch 32, 2 threads, 0.89-0.93 /
// 0.90-0.91x (main 1.10-1.12x); on the quiet machine batch 1 0.98-1.0 / 0.94-0.97x (main
// 1.02-1.04x), batch 32 0.93-0.97 / 0.93-0.98x (main 1.06-1.16x). A synthetic copy of its walk at batch 1: 0.92-0.94x, with the
// first panel's prefetch into L2 kept 0.96-0.98x. Lost: 32 and 64 deep (144->32, 192->32 @28,
// 192->64, 384->64 @14, whose later panels read B from L1 column chunks), 0.98-1.03x both ways
// round at batch 1; at every depth the next tile's B outgrows L1 (64->384, 96->576 @14 1.07x).
constexpr int64_t kL1PrefetchBytes = 4 << 10;

// Backward filter (the dot kernel): positions per chunk such that the chunk's rows of B (x's,
// or dy's where x is A), which every row of tiles reads again, stay in L2 (kDotBlockBytes);
// dy's (A's) rows are streamed, each tile's from L2 for the later tiles of its row. The vector
// partial sums carried between chunks may take kDotPartialBytes. Chunks are as long as that
// allows: each chunk costs every tile a load and a store of its partial sums (24 registers),
// which outweighed keeping the tile's rows of A in L1 (a 24 KiB budget cut 56x56 into 4
// chunks and 112x112 into 13; by B's rows instead, 1 and 3-6: 1 thread, batch 1, loaded
// machine, CPU time, A/B in one process: 24->144 at 56x56 0.76x the time, 16->96 at 112x112
// 0.83x, 32->16 at 112x112 0.91x; 96->24 and 144->24 at 56x56, whose B was then x with 96 and
// 144 rows, unchanged: see x_as_a below). Images of fewer than
// kDotMinPositions positions take the GEMM path: at 14x14 the dot kernel ran at 97 GFLOP/s
// (2.2-2.4x oneDNN's time, the GEMM 1.05-1.15x), its per-call reduction and masked last step
// weighing on 13 steps per row. From 28x28 up it beat or matched the packed GEMM on every
// MobileNet-v2 and ResNet-18 layer (1 thread, Zen 5; the GEMM packs and transposes both
// operands, a pass over each as long as the arithmetic on these shapes): 16->96 at 112 3.4x ->
// 1.7x oneDNN's time, 144->24 at 56 1.5x -> 1.05x, 144->32 at 28 1.8x -> 1.4x. (Since the
// GEMM path reads each image in place it wins at 28x28 where its columns fill whole tiles: see
// conv_pointwise_backward_filter.)
constexpr int64_t kDotBlockBytes = 384 << 10;
constexpr int64_t kDotPartialBytes = 256 << 10;
constexpr int64_t kDotMinPositions = 256;

// Strided backward data spreads each task's block of the compact dx into dx, zeros between, in
// the task (PointwiseSpreadColumns) where output rows have at least kSpreadMinRow positions;
// otherwise a separate pass after the GEMM, a memset and a scatter per channel (1 thread,
// same-process A/B both ways round, loaded machine: ResNet-18's 64->128 and 128->256 1x1/2 at
// batch 1, rows of 28 and 14, 0.95-0.98x the time in the tasks; 256->512, rows of 7,
// 1.035-1.07x: twice the scalar stores of memset and scatter). At batch 32, dx from memory, the
// tasks' spread was 1.05-1.08x the separate pass's time on 64->128 until AVX-512 spread rows in
// registers; since then 0.91-0.92x (1 and 2 threads), 128->256 0.96-0.99x. Where the kernel
// spreads whole planes (PointwiseKernelInfo::spreads_planes: AVX-512, input twice the output,
// rows of at most 16 outputs) the tasks spread at any row length, as one stream of masked loads
// and expands over a task's channels instead of a row at a time (Zen 5, same-process A/B against
// the row spread and the separate pass, both ways round, min / median, loaded machine; the
// smaller gains in its quieter runs: batch 1, 1 thread, 256->512 (rows of 7) 0.90-0.97x the time,
// 128->256 (rows of 14) 0.91-1.0x; 2 threads 0.80-0.89x, 0.94-0.98x; batch 32, 2 threads,
// 0.89-0.92x, 0.94-0.97x).
constexpr int64_t kSpreadMinRow = 14;

template <class T>
struct PointwiseGemm {
    int64_t images = 0;  // batch * groups
    int64_t groups = 1;
    int64_t rows = 0, depth = 0, positions = 0;
    const T* a = nullptr;  // group g: A(i, k) = a[g * a_group_stride + i * a_row_stride + k * a_col_stride]
    int64_t a_row_stride = 0, a_col_stride = 0, a_group_stride = 0;
    const T* b = nullptr;  // image i: depth x positions at b + i * depth * positions, unless strided_b
    // Set for a strided forward pass: b is x itself (image i: depth x g.in_size() at b + i *
    // depth * in_size), and each task gathers its columns' positions into a compact block just
    // before it uses them (in L2 then, and no separate pass over the images).
    const WindowGeometry* strided_b = nullptr;
    T* c = nullptr;        // image i: rows x positions at c + i * rows * positions
    // Set for a strided backward data pass: c is a compact scratch, and each task spreads its
    // final outputs into scatter_to (image i: rows x g.in_size()) with the skipped positions'
    // zeros, while they are still in cache (spread_columns).
    const WindowGeometry* scatter = nullptr;
    T* scatter_to = nullptr;
    // With scatter, where the kernel spreads in its stores (PointwiseKernelInfo::spreads_in_stores):
    // the strips write dx themselves over one depth block, only tail columns go through c.
    const PointwiseSpreadPlan* spread_plan = nullptr;
    const T* bias = nullptr;      // rows per group, or nullptr
    const T* residual = nullptr;  // as c, or nullptr
    GemmActivation<T> activation = nullptr;  // after each strip, unless relu
    bool relu = false;                       // fused into the kernel's store
    bool prefetch_b = false;                 // PointwiseStrip::prefetch_b, on each task's first panel
    bool prefetch_b_l1 = false;              // PointwiseStrip::prefetch_b_l1 at kL1PrefetchBytes
    bool prefetch_c = false;                 // PointwiseStrip::prefetch_c
    bool shared_tails = true;                // forward: a task's images' tail columns may share a strip
};

// Per-thread scratch (thread_scratch.hpp).
struct EdgePanel;
struct FilterPartials;
struct CompactImages;
struct TailColumns;
struct TailTile;
struct TailResidual;
struct TaskColumns;
struct PackedTiles;

// Position of output position q (all axes stride s, no padding) in the input grid.
int64_t input_position(const WindowGeometry& g, int64_t q) {
    const int64_t o2 = q % g.out[2];
    const int64_t o1 = q / g.out[2] % g.out[1];
    const int64_t o0 = q / g.out[2] / g.out[1];
    return ((o0 * g.stride[0] * g.in[1] + o1 * g.stride[1]) * g.in[2]) + o2 * g.stride[2];
}

// PointwiseSpreadPlan's tables for g at `lanes` lanes, built per call: the output coordinates
// stepped, not divided (input_position per output took 5.6% of a 784-output backward data).
struct SpreadPlanTables {
    std::vector<int32_t> input, first_register;
    std::vector<uint16_t> keep;
    std::vector<uint8_t> index;
};

PointwiseSpreadPlan make_spread_plan(const WindowGeometry& g, int64_t lanes, SpreadPlanTables& tables) {
    PointwiseSpreadPlan plan;
    plan.positions = g.out_size();
    plan.in_size = g.in_size();
    const int64_t registers = ceil_div(plan.in_size, lanes);
    const int64_t output_registers = ceil_div(plan.positions, lanes);
    tables.input.resize(static_cast<size_t>(plan.positions));
    int64_t q = 0;
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
            const int64_t row = (o0 * g.stride[0] * g.in[1] + o1 * g.stride[1]) * g.in[2];
            for (int64_t o2 = 0; o2 < g.out[2]; ++o2) tables.input[q++] = static_cast<int32_t>(row + o2 * g.stride[2]);
        }
    }
    tables.keep.assign(static_cast<size_t>(registers), 0);
    tables.index.assign(static_cast<size_t>(registers * lanes), 0);
    tables.first_register.assign(static_cast<size_t>(output_registers + 1), static_cast<int32_t>(registers));
    int64_t next = 0;  // the first output at or after register w's first position
    int64_t r = 0;     // first_register filled below r
    for (int64_t w = 0; w < registers; ++w) {
        while (next < plan.positions && tables.input[next] < w * lanes) ++next;
        const int64_t first = next / lanes;  // r(w); past the last output: every r is below it
        for (; r <= std::min(first, output_registers); ++r) tables.first_register[r] = static_cast<int32_t>(w);
        for (int64_t o = next; o < plan.positions && tables.input[o] < (w + 1) * lanes; ++o) {
            const int64_t lane = tables.input[o] - w * lanes;
            tables.keep[w] = static_cast<uint16_t>(tables.keep[w] | (1u << lane));
            tables.index[w * lanes + lane] = static_cast<uint8_t>(o - first * lanes);
        }
    }
    plan.input = tables.input.data();
    plan.first_register = tables.first_register.data();
    plan.keep = tables.keep.data();
    plan.index = tables.index.data();
    return plan;
}

// One row of the output grid: gather (to[o] = from[o * stride]) or scatter (to[o * stride] =
// from[o]). A constant stride lets the compiler vectorize the row (stride 2: loads and shuffles);
// the per-element loop with a run-time stride took a fifth of ResNet-18's 64->128 1x1/2 forward.
template <class T, bool kScatter, int64_t kStride>
void move_row(const T* from, int64_t count, int64_t stride, T* to) {
    const int64_t step = kStride != 0 ? kStride : stride;
    for (int64_t o = 0; o < count; ++o) {
        if constexpr (kScatter) {
            to[o * step] = from[o];
        } else {
            to[o] = from[o * step];
        }
    }
}

// to(k, j) = x(k, input_position(q0 + j)) for k < depth, j < count; to's rows `count` apart.
// Channel by channel, as the separate gather pass read them (row runs across the channels
// were 3% slower on ResNet-18's 64->128 1x1/2).
template <class T, int64_t kStride>
void gather_columns_at(const WindowGeometry& g, const T* x, int64_t depth, int64_t q0, int64_t count, T* to) {
    const int64_t in_size = g.in_size();
    for (int64_t k = 0; k < depth; ++k) {
        const T* from = x + k * in_size;
        T* row = to + k * count;
        int64_t o2 = q0 % g.out[2], o1 = q0 / g.out[2] % g.out[1], o0 = q0 / g.out[2] / g.out[1];
        for (int64_t q = q0; q < q0 + count;) {
            const int64_t run = std::min(g.out[2] - o2, q0 + count - q);
            const int64_t at = (o0 * g.stride[0] * g.in[1] + o1 * g.stride[1]) * g.in[2] + o2 * g.stride[2];
            move_row<T, false, kStride>(from + at, run, g.stride[2], row + (q - q0));
            q += run;
            o2 = 0;
            if (++o1 == g.out[1]) {
                o1 = 0;
                ++o0;
            }
        }
    }
}

// Rows of stride 2 in AVX-512 registers where they serve (gathers_stride2_rows): ResNet-18's
// 1x1/2 forward at batch 1 on 2 threads 0.93-0.96x the time of the compiler's loop (Zen 5,
// same-process A/B both ways round), batch 32 even.
template <class T>
void gather_columns(const WindowGeometry& g, const T* x, int64_t depth, int64_t q0, int64_t count, T* to) {
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (std::is_same_v<T, float>) {
        if (gathers_stride2_rows(g)) {
            return gather_stride2_columns_avx512(x, depth, g.in_size(), g.stride[1] * g.in[2], g.out[2], q0, count, to,
                                                 count);
        }
    }
#endif
    if (g.stride[2] == 1) return gather_columns_at<T, 1>(g, x, depth, q0, count, to);
    if (g.stride[2] == 2) return gather_columns_at<T, 2>(g, x, depth, q0, count, to);
    gather_columns_at<T, 0>(g, x, depth, q0, count, to);
}

// A's rows [row, row + rows) as a zero-padded MR-row packed panel (A(i, k) at k * mr + i), for
// a last panel of fewer than MR rows: the kernel reads all MR rows of A.
template <class T>
const T* pack_edge_panel(const T* a, int64_t row_stride, int64_t col_stride, int64_t rows, int64_t depth, int mr) {
    std::vector<T>& buffer = thread_buffer<T, EdgePanel>();
    buffer.assign(static_cast<size_t>(depth * mr), T(0));
    for (int64_t i = 0; i < rows; ++i) {
        for (int64_t k = 0; k < depth; ++k) buffer[static_cast<size_t>(k * mr + i)] = a[i * row_stride + k * col_stride];
    }
    return buffer.data();
}

// to[j] = from[j] for j < count <= kMaxTailColumns: a shared tail's piece of one row of C, which
// std::copy_n sent through a memmove call each (1.4% of MobileNet-v2's 64->384 forward at batch
// 32, 1 thread).
template <class T>
void copy_tail_columns(const T* from, int64_t count, T* to) {
    for (int64_t j = 0; j < kMaxTailColumns; ++j) {
        if (j < count) to[j] = from[j];
    }
}

// The row panels of A: mr rows each, except that the last one or two are the kernel's short
// panels (PointwiseKernelInfo::short_rows) where the rows leave that many over; as many panels
// as ceil(rows / mr) either way. Panel i covers rows [begin(i), begin(i + 1)).
struct PanelRows {
    int64_t rows = 0, mr = 1, short_rows = 0;
    int64_t count() const { return ceil_div(rows, mr); }
    // Panels from this one on are short (count() where none is).
    int64_t first_short() const {
        const int64_t left = rows % mr;
        if (short_rows == 0 || left == 0) return count();
        if (left == short_rows) return count() - 1;
        if (left + mr == 2 * short_rows && rows > mr) return count() - 2;
        return count();
    }
    int64_t begin(int64_t i) const {
        if (i >= count()) return rows;
        const int64_t first = first_short();
        return i <= first ? i * mr : rows - (count() - i) * short_rows;
    }
    int64_t size(int64_t i) const { return begin(i + 1) - begin(i); }
};

// Part i of `total` split into `parts` nearly equal parts begins at split_begin(i, ...).
int64_t split_begin(int64_t i, int64_t parts, int64_t total) { return i * total / parts; }

// Position blocks that begin on whole tiles and hold about equally many registers of columns:
// block i covers [begin(i), begin(i + 1)), the last one up to the end, the tail kernel's columns
// included. (Blocks rounded up to whole tiles left 3 tiles to one thread and 1 tile + the tail to
// the other at 196 positions.)
struct PositionBlocks {
    int64_t count = 1;
    int64_t positions = 0;       // of the image
    int64_t registers = 1;       // registers of the columns before the tail kernel's, at least 1
    int64_t tile_registers = 1;  // per full tile
    int64_t lanes = 1;

    int64_t begin(int64_t i) const {
        if (i >= count) return positions;
        // i * registers / count, to the nearest whole tile.
        return (2 * i * registers + count * tile_registers) / (2 * count * tile_registers) * tile_registers * lanes;
    }
    int64_t largest() const {  // registers of the largest block
        int64_t most = 0;
        for (int64_t i = 0; i < count; ++i) {
            const int64_t end = i + 1 < count ? begin(i + 1) / lanes : registers;
            most = std::max(most, end - begin(i) / lanes);
        }
        return most;
    }
};

// The run's tasks: image groups x position blocks x chunks of row panels, each axis split evenly.
struct TaskSplit {
    int64_t image_groups = 1;
    PositionBlocks blocks;
    int64_t chunks = 1;
    int64_t tasks() const { return image_groups * blocks.count * chunks; }
};

// What split_tasks chooses from.
struct TaskBounds {
    int64_t images = 0, panels = 0;
    int64_t min_blocks = 1;     // for the L2 budget of a block of B
    int64_t group_images = 1;   // most images per group (1 where the positions take several blocks)
    int64_t min_block_registers = 0;  // of blocks added to fill the pool
    // What gathering a register of strided columns costs a task (PointwiseGemm::strided_b), in
    // row panels' work on it; 0 where B is read in place.
    int64_t gather_panels = 0;
    PositionBlocks blocks;      // count unset
};

// The split with the shortest estimated run on `threads` threads claiming tasks from a counter:
// ceil(tasks / threads) rounds of the largest task (images x row panels x registers of columns).
// Fewer tasks first: a split is taken over one with fewer tasks only if it is estimated at least
// 2% faster (each task reads its panels of A and its images' block of B again). Lost, 2026-12-07:
// image groups up to the batch (batch 32, 960->160 at 7x7: 8 groups of 4 rather than 5 of 6-7,
// estimated 9% shorter), 0.99-1.0x the time both ways round on 2 threads.
TaskSplit split_tasks(const TaskBounds& b, int64_t threads) {
    TaskSplit best;
    double best_time = 0.0;
    const int64_t first_groups = ceil_div(b.images, b.group_images);
    const int64_t full_tiles = std::max<int64_t>(1, b.blocks.registers / b.blocks.tile_registers);
    for (int64_t groups = first_groups; groups <= std::min(b.images, first_groups + threads - 1); ++groups) {
        for (int64_t count = b.min_blocks; count < b.min_blocks + threads && count <= std::max(full_tiles, b.min_blocks);
             ++count) {
            if (count > b.min_blocks && b.blocks.registers / count < b.min_block_registers) break;
            TaskSplit split;
            split.image_groups = groups;
            split.blocks = b.blocks;
            split.blocks.count = count;
            const int64_t registers = split.blocks.largest();
            for (int64_t chunks = 1; chunks <= std::min(b.panels, 4 * threads); ++chunks) {
                split.chunks = chunks;
                const double time = static_cast<double>(ceil_div(split.tasks(), threads) * ceil_div(b.images, groups) *
                                                        (ceil_div(b.panels, chunks) + b.gather_panels) * registers);
                if (best_time == 0.0 || time < 0.98 * best_time) {
                    best = split;
                    best_time = time;
                }
            }
        }
    }
    return best;
}

template <class T>
void run_pointwise_gemm(const PointwiseGemm<T>& p) {
    if (p.images == 0 || p.rows == 0 || p.positions == 0) return;
    const PointwiseKernelInfo<T> kernel = pointwise_kernel<T>(cpu::active_isa());
    const int64_t mr = kernel.mr;
    const int64_t nr = kernel.nr;
    const int64_t threads = cpu::thread_pool().thread_count();
    const bool in_place_feed = kernel.feed == PointwiseFeed::kInPlace;
    // Depth blocks of equal size (no thin last one).
    const bool in_place_blocks =
        !in_place_feed && p.positions >= kInPlaceMinPositions && p.positions <= kInPlaceMaxPositions;
    const int64_t depth_block_bytes = in_place_feed     ? kDepthBlockBytesAvx512
                                      : in_place_blocks ? kInPlaceDepthBlockBytes
                                                        : kDepthBlockBytes;
    const int64_t depth_blocks =
        std::max<int64_t>(1, ceil_div(p.depth, depth_block_bytes / static_cast<int64_t>(sizeof(T))));
    const int64_t depth_block = ceil_div(p.depth, depth_blocks);
    const int64_t max_block = std::max(
        nr, kColumnBlockBytes / static_cast<int64_t>(sizeof(T)) / std::max<int64_t>(depth_block, 1) / nr * nr);
    const int64_t tail_cols = p.positions % kernel.lanes;
    const bool use_tail = tail_cols != 0 && tail_cols * 4 <= kernel.lanes && tail_cols <= kMaxTailColumns;
    TaskBounds bounds;
    bounds.images = p.images;
    bounds.panels = ceil_div(p.rows, mr);
    // The tail kernel's columns are not counted against the budget: they are gathered apart, and
    // a block of them alone (49 positions 960 deep: 48 + 1) left them no full tile to join.
    const int64_t block_positions = p.positions - (use_tail ? tail_cols : 0);
    bounds.min_blocks = depth_block * block_positions * static_cast<int64_t>(sizeof(T)) <= kImageBlockBytes
                            ? 1
                            : std::max<int64_t>(1, ceil_div(block_positions, max_block));
    // Small images go in groups that share each panel of A while it is in L1 (deep layers at
    // batch 32: one image per task streamed all of W from L3 per image, 1.2 MB for 49 positions).
    // Lost, 2026-12-07: groups grown to 8 images (B up to kImageBlockBytes) so that 49-position
    // images' tails take the shared tail strip: ResNet-18's 256->512 1x1/2 forward at batch 32 on
    // 2 threads even (CPU samples 1.00x main's; the dot tail was 3% of the tile's samples there).
    bounds.group_images = bounds.min_blocks > 1 || block_positions > max_block ? 1
                                                : std::max<int64_t>(1, std::min(max_block / p.positions,
                                                                                ceil_div(p.images, threads)));
    bounds.min_block_registers = kMinBlockTiles * nr / kernel.lanes;
    bounds.gather_panels = p.strided_b != nullptr ? kGatherPanels : 0;
    bounds.blocks.positions = p.positions;
    bounds.blocks.lanes = kernel.lanes;
    bounds.blocks.tile_registers = nr / kernel.lanes;
    bounds.blocks.registers = std::max<int64_t>(1, ceil_div(p.positions - (use_tail ? tail_cols : 0), kernel.lanes));
    const TaskSplit split = split_tasks(bounds, threads);
    const int64_t panels = bounds.panels;
    const PanelRows panel_rows{p.rows, mr, kernel.short_rows};
    // The last few positions (fewer than a quarter of a register's lanes: the masked register
    // would cost at least four times their work) go to the tail kernel, with the tail columns of
    // B of the task's images gathered depth-contiguous by the task that computes them (gathered
    // once for all images before the tasks, they were a serial pass over every row of B). Where A's
    // columns are adjacent (forward: W) it runs per panel and depth block, as dot products along
    // the depth. Backward data's A = W^T has its rows adjacent: the tail runs once per task and
    // image, over the task's rows and the whole depth, rows across the lanes (per 8-row panel
    // that form measured 5-13% slower than the masked register on MobileNet-v2's 7x7 and 14x14
    // layers: each depth step a W^T column line that misses L1, for one FMA).
    const bool tail_per_panel = p.a_col_stride == 1;
    const int64_t b_positions = p.strided_b != nullptr ? p.strided_b->in_size() : p.positions;
    // tail(image, j, k) = B(image, k, positions - tail_cols + j) at to[c * column_stride + k *
    // depth_stride], c = (image - first) * tail_cols + j: depth-contiguous columns (column_stride
    // depth) for the tail kernel, rows of all the columns (depth_stride their count) for a strip.
    auto gather_tail = [&](int64_t first, int64_t last, int64_t column_stride, int64_t depth_stride) {
        std::vector<T>& gathered = thread_buffer<T, TailColumns>();
        gathered.resize(static_cast<size_t>((last - first) * tail_cols * p.depth));
        int64_t at[kMaxTailColumns];
        for (int64_t j = 0; j < tail_cols; ++j) {
            const int64_t q = p.positions - tail_cols + j;
            at[j] = p.strided_b != nullptr ? input_position(*p.strided_b, q) : q;
        }
        for (int64_t image = first; image < last; ++image) {
            const T* b = p.b + image * p.depth * b_positions;
            T* to = gathered.data() + (image - first) * tail_cols * column_stride;
            // Each row's tail columns together: one line of B for all of them.
            for (int64_t k = 0; k < p.depth; ++k) {
                for (int64_t j = 0; j < tail_cols; ++j) to[j * column_stride + k * depth_stride] = b[k * b_positions + at[j]];
            }
        }
        return static_cast<const T*>(gathered.data());
    };

    // Where the tasks spread dx, a block begins at the first register from its even split whose
    // input position starts a cache line (of every channel whose plane is whole lines), within a
    // tile: otherwise the line where one block's spread ends and the next one's begins is
    // written by both threads, once per channel. ResNet-18's 64->128 1x1/2 backward data (blocks
    // of 400 + 384 positions instead of 384 + 400), batch 1, 2 threads, same-process A/B in both
    // orders at real-time priority, median 0.94-0.98x the time.
    auto block_begin = [&](int64_t block) {
        const int64_t q0 = split.blocks.begin(block);
        if (p.scatter == nullptr || q0 == 0 || q0 >= p.positions) return q0;
        constexpr int64_t kLine = 64 / static_cast<int64_t>(sizeof(T));
        for (int64_t q = q0; q < std::min(p.positions, q0 + nr); q += kernel.lanes) {
            if (input_position(*p.scatter, q) % kLine == 0) return q;
        }
        return q0;
    };
    // Lost, 2026-12-08 (ResNet-18's 1x1/2 forward at batch 32, 2 threads, one way round, 7-9
    // rounds, loaded machine): the strided forward streaming the even rows of x its next task's
    // gather reads (the gather 30% of layer2's samples, 14% of layer3's, waiting on x): the gather's
    // samples 0.67x, the tiles' 1.10x; layer2 1.09-1.25x the time, layer3 1.03-1.12x; at a quarter
    // of the rows 1.07x / 1.02x, one prefetch every 2 or 4 steps 1.09-1.16x, by prefetcht0, t2 or nta
    // 1.08-1.24x.
    const bool stream_next = in_place_feed && p.prefetch_b && split.blocks.count == 1 &&
                             p.strided_b == nullptr &&
                             p.images * p.depth * p.positions * static_cast<int64_t>(sizeof(T)) >= kForwardPrefetchBytes;
    // Task: (group of images, block of positions, chunk of row panels); each depth block
    // accumulates into C, the bias added on the first, residual and ReLU on the last.
    auto run_task = [&](int64_t task) {
        const int64_t chunk = task % split.chunks;
        const int64_t block = task / split.chunks % split.blocks.count;
        const int64_t image_group = task / split.chunks / split.blocks.count;
        const int64_t q0 = block_begin(block);
        const int64_t first_image = split_begin(image_group, split.image_groups, p.images);
        const int64_t last_image = split_begin(image_group + 1, split.image_groups, p.images);
        PointwiseStrip<T> s;
        s.prefetch_c = p.prefetch_c;
        s.b_row_stride = p.positions;
        s.ldc = p.positions;
        s.cols = block_begin(block + 1) - q0;
        const bool has_tail = use_tail && q0 + s.cols == p.positions;
        if (has_tail) s.cols -= tail_cols;
        // Forward over several images with half a register or more of tail columns in all: those
        // columns side by side as one strip's, a broadcast of W per row and depth step for all of
        // them, instead of each image's dot products and their sums across the lanes (1 thread,
        // batch 32: MobileNet-v2's 64->384 and 96->576 at 14x14, 3 images of 4 columns per task,
        // 5-10% faster; with fewer columns the masked register measured 3-8% slower at batch 1).
        // That form sums the tail along the depth in order, the dot products across the lanes: the
        // bits then depend on how many images a task holds (the thread count, the batch), so
        // ConvArgs::batch_invariant_sums keeps the dot products. Lost, 2026-12-07 (Zen 5, batch 32,
        // 2 threads, one way round, 5 rounds): every image of such a task packed side by side into
        // one B (rows on cache lines, no tail columns; registers that straddle two images stored
        // in two masked parts, tiles instantiated apart): 160->960 @7 0.99-1.01x main's time,
        // 320->1280 @7 1.08x, 64->384 @14 1.10-1.19x, 96->576 @14 1.09x. Lost too: at AVX-512 from a
        // quarter of a register over several images (160->960 @7 at batch 32, 2 threads: 6-7
        // images' one column each): 0.99-1.00x one way round, 1.04-1.06x the other.
        const int64_t tail_width = (last_image - first_image) * tail_cols;
        const bool shared_tail =
            has_tail && tail_per_panel && p.shared_tails && p.groups == 1 && 2 * tail_width >= kernel.lanes;
        const T* tail_b = nullptr;
        if (has_tail) {
            tail_b = shared_tail ? gather_tail(first_image, last_image, 1, tail_width)
                                 : gather_tail(first_image, last_image, p.depth, 1);
        }
        // The next task's images to prefetch (PointwiseStrip::stream), where it begins another
        // image group: the thread's own next task unless another thread claims it.
        const T* stream = nullptr;
        int64_t stream_left = 0;  // lines
        if (stream_next && task + 1 < split.tasks()) {
            const int64_t next_group = (task + 1) / split.chunks / split.blocks.count;
            if (next_group != image_group) {
                const int64_t next_first = split_begin(next_group, split.image_groups, p.images);
                const int64_t next_last = split_begin(next_group + 1, split.image_groups, p.images);
                const int64_t panel_rows_here = std::min(p.rows, ceil_div(p.rows, split.chunks) + mr);
                const int64_t used = ((last_image - first_image) * p.positions + panel_rows_here) * p.depth *
                                     static_cast<int64_t>(sizeof(T));
                stream = p.b + next_first * p.depth * p.positions;
                stream_left = std::min(ceil_div((next_last - next_first) * p.depth * p.positions *
                                                    static_cast<int64_t>(sizeof(T)), int64_t{64}),
                                       std::max<int64_t>(0, kStreamL2Bytes - used) / 64);
            }
        }
        // The strips spread dx in their stores (p.spread_plan) over one depth block.
        const bool spread_stores = p.spread_plan != nullptr && depth_blocks == 1;
        const int64_t first_panel = split_begin(chunk, split.chunks, panels);
        const int64_t last_panel = split_begin(chunk + 1, split.chunks, panels);
        const bool pack_tiles = !in_place_feed && !in_place_blocks && p.strided_b == nullptr &&
                                kernel.fused_tail_columns == 0 && last_panel - first_panel >= kMinPackPanels &&
                                depth_block >= kMinPackDepth &&
                                p.images * p.depth * p.positions * static_cast<int64_t>(sizeof(T)) < kForwardPrefetchBytes;
        // Backward data's tail columns in each panel's first full tile, rows across the lanes,
        // where the kernel takes that many and one depth block (the same sums, in the same
        // order, as the tail kernel over the whole depth once per task); packed, in the last
        // tile, which must be whole (its outputs then end where the tail's begin).
        const bool fused_row_tail = has_tail && !tail_per_panel && depth_blocks == 1 && p.a_row_stride == 1 &&
                                    tail_cols <= kernel.fused_row_tail_columns && s.cols >= nr &&
                                    (!pack_tiles || s.cols % nr == 0);
        // The tail kernel's columns once per task and image after the panels, over the task's rows
        // and the whole depth: backward data's always (rows across the lanes, unless fused), the
        // forward pass's dot products where one depth block and the strips neither share nor fuse
        // them (AVX-512, where measured). B's gathered tail columns then stay in L1 while W's rows
        // stream in from L2; per panel each tail call found them gone from L1, evicted by the
        // tiles' columns of B (Zen 5, batch 1, 1 thread, 2026-12-07: with the 8 x 4 passes of
        // kHasHalves, MobileNet-v2's 64->384 @14 forward's tail 4.5% of the samples per panel,
        // 3.5% per task). The same sums either way. Measured before on main (same process, 15
        // rounds, 64->384 @14): no tail at all (wrong sums) 0.93x the time, the sum4 passes without
        // their reductions and finish 0.97x, without their loop too 0.94x; the tail kernel called
        // before each panel's strip instead of after it, even (1.00x).
        const bool task_tail =
            has_tail && !fused_row_tail &&
            (!tail_per_panel || (in_place_feed && depth_blocks == 1 && !shared_tail &&
                                 tail_cols > kernel.fused_tail_columns));
        const bool prefetch_l1 =
            in_place_feed && p.prefetch_b_l1 && depth_block * nr * static_cast<int64_t>(sizeof(T)) <= kL1PrefetchBytes;
        const bool prefetch_every_panel = !in_place_feed && p.positions >= kEveryPanelPrefetchPositions &&
                                          last_panel - first_panel >= kEveryPanelPrefetchPanels &&
                                          depth_block <= kEveryPanelPrefetchDepth;
        // B(image, k, j) = b_task[(image - first_image) * b_image_stride + k * s.b_row_stride + j].
        const T* b_task = p.b + first_image * p.depth * p.positions + q0;
        int64_t b_image_stride = p.depth * p.positions;
        if (p.strided_b != nullptr) {
            std::vector<T>& gathered = thread_buffer<T, TaskColumns>();
            b_image_stride = p.depth * s.cols;
            gathered.resize(static_cast<size_t>((last_image - first_image) * b_image_stride));
            for (int64_t image = first_image; image < last_image; ++image) {
                gather_columns(*p.strided_b, p.b + image * p.depth * b_positions, p.depth, q0, s.cols,
                               gathered.data() + (image - first_image) * b_image_stride);
            }
            b_task = gathered.data();
            s.b_row_stride = s.cols;
        }
        // A's rows of a panel for the strip kernel: in place, or a last panel of fewer than MR rows
        // packed (the kernel reads all MR rows).
        auto set_panel_a = [&](PointwiseStrip<T>& t, int64_t row, int64_t group, int64_t k0) {
            t.a = p.a + group * p.a_group_stride + row * p.a_row_stride + k0 * p.a_col_stride;
            t.a_row_stride = p.a_row_stride;
            t.a_col_stride = p.a_col_stride;
            if (t.rows < mr && t.rows != kernel.short_rows) {
                t.a = pack_edge_panel(t.a, p.a_row_stride, p.a_col_stride, t.rows, t.depth, kernel.mr);
                t.a_row_stride = 1;
                t.a_col_stride = mr;
            }
        };
        // Column chunks (kL1ColumnBytes): whole tiles, the last chunk also the block's rest; not
        // for the forward pass (tail_per_panel) over a single image.
        const bool chunked = in_place_feed && depth_blocks == 1 && p.depth >= kMinChunkDepth &&
                             last_panel - first_panel >= kMinChunkPanels && p.strided_b == nullptr &&
                             p.scatter == nullptr && (p.images > 1 || !tail_per_panel);
        const int64_t chunk_tiles = kL1ColumnBytes / (p.depth * static_cast<int64_t>(sizeof(T)) * nr);
        const int64_t column_chunk = chunked && chunk_tiles >= kMinChunkTiles ? chunk_tiles * nr : 0;
        const int64_t column_chunks = column_chunk > 0 ? std::max<int64_t>(1, s.cols / column_chunk) : 1;
        for (int64_t kb = 0; kb < depth_blocks; ++kb) {
            const int64_t k0 = kb * depth_block;
            const bool last_depth = kb + 1 == depth_blocks;
            s.depth = std::min(depth_block, p.depth - k0);
            s.accumulate = kb > 0;
            s.relu = last_depth && p.relu;
            // The depth block of the task's columns in the GEMM's B panels (tile j of an image at
            // packed + (image - first_image) * packed_image + j * depth * nr, rows of nr, the last
            // tile's padded with zeros).
            const T* packed = nullptr;
            const int64_t packed_image = s.depth * round_up(s.cols, nr);
            if (pack_tiles) {
                std::vector<T>& buffer = thread_buffer<T, PackedTiles>();
                buffer.resize(static_cast<size_t>((last_image - first_image) * packed_image));
                for (int64_t image = first_image; image < last_image; ++image) {
                    const T* from = b_task + (image - first_image) * b_image_stride + k0 * s.b_row_stride;
                    pack_b_panels(MatrixRef<T>{from, s.b_row_stride, 1}, 0, s.depth, 0, s.cols, static_cast<int>(nr),
                                  GemmPanelPackers<T>{}, buffer.data() + (image - first_image) * packed_image);
                }
                packed = buffer.data();
            }
            // The strip over the columns: in place, or a call per packed tile.
            auto strip_columns = [&](const PointwiseStrip<T>& t, int64_t image) {
                if (packed == nullptr) return kernel.strip(t);
                const T* tiles = packed + (image - first_image) * packed_image;
                for (int64_t col = 0; col < t.cols; col += nr) {
                    PointwiseStrip<T> u = t;
                    u.cols = std::min(nr, t.cols - col);
                    if (col + nr < t.cols) u.tail_cols = 0;  // fused_row_tail: the last tile's
                    u.b = tiles + col * s.depth;
                    u.b_row_stride = nr;
                    u.c = t.c + col;
                    u.residual = t.residual != nullptr ? t.residual + col : nullptr;
                    u.prefetch_b = false;
                    kernel.strip(u);
                }
            };
            // Panel `panel` of one image over the block's columns [col, col + cols); block_end: the
            // last chunk, which takes the tail columns.
            auto image_strip = [&](int64_t panel, int64_t image, int64_t col, int64_t cols, bool block_end,
                                   bool prefetch_b) {
                PointwiseStrip<T> t = s;
                const int64_t row = panel_rows.begin(panel);
                const int64_t group = image % p.groups;
                t.rows = panel_rows.size(panel);
                t.cols = cols;
                t.prefetch_b = prefetch_b;
                t.prefetch_b_l1 = prefetch_l1;
                set_panel_a(t, row, group, k0);
                t.b = b_task + (image - first_image) * b_image_stride + k0 * s.b_row_stride + col;
                const int64_t c_offset = (image * p.rows + row) * p.positions + q0 + col;
                t.c = p.c + c_offset;
                t.bias = kb == 0 && p.bias != nullptr ? p.bias + group * p.rows + row : nullptr;
                t.residual = last_depth && p.residual != nullptr ? p.residual + c_offset : nullptr;
                const bool tail_here = has_tail && block_end;
                // The tail columns in the strip's first full tile where the kernel takes them
                // (A's rows read in place, not an edge panel): the tail kernel after the strip
                // found A's lines gone from L1, evicted by the tiles' columns of B, and took
                // 5-12% of MobileNet-v2's 14x14 and 7x7 forward layers for 2% of the work.
                const bool fused_tail = tail_here && tail_per_panel && !shared_tail && t.a_col_stride == 1 &&
                                        tail_cols <= kernel.fused_tail_columns && t.cols >= nr;
                t.tail_cols = fused_tail || (fused_row_tail && block_end) ? tail_cols : 0;
                t.tail_b = t.tail_cols > 0 ? tail_b + (image - first_image) * tail_cols * p.depth + k0 : nullptr;
                t.tail_b_stride = p.depth;
                if (stream_left > 0 && panel != first_panel && t.tail_cols == 0) {
                    t.stream = stream;
                    t.stream_lines = std::min(stream_left, t.cols / nr * t.depth);
                    stream += t.stream_lines * (64 / static_cast<int64_t>(sizeof(T)));
                    stream_left -= t.stream_lines;
                }
                if (spread_stores) {
                    t.spread = p.spread_plan;
                    t.spread_to = p.scatter_to + (image * p.rows + row) * p.scatter->in_size();
                    t.spread_q = q0 + col;
                }
                strip_columns(t, image);
                if (tail_here && tail_per_panel && !shared_tail && !fused_tail && !task_tail) {
                    PointwiseStrip<T> u = t;
                    u.a = p.a + group * p.a_group_stride + row * p.a_row_stride + k0;
                    u.a_row_stride = p.a_row_stride;
                    u.a_col_stride = 1;
                    u.b = tail_b + (image - first_image) * tail_cols * p.depth + k0;
                    u.b_row_stride = p.depth;
                    u.c = t.c + t.cols;
                    u.residual = t.residual != nullptr ? t.residual + t.cols : nullptr;
                    u.cols = tail_cols;
                    kernel.tail(u);
                }
                if (last_depth && p.activation != nullptr) {
                    const bool with_tail = tail_here && ((tail_per_panel && !shared_tail && !task_tail) || fused_row_tail);
                    p.activation(t.c, t.rows, t.cols + (with_tail ? tail_cols : 0), t.ldc, 1);
                }
            };
            // The task's images' tail columns side by side, one strip per panel into a rows x
            // tail_width tile, C's values (when accumulating) and the residual's copied in, the
            // results copied out.
            auto shared_tail_strip = [&](int64_t panel) {
                const int64_t row = panel_rows.begin(panel);
                PointwiseStrip<T> t = s;
                t.rows = panel_rows.size(panel);
                std::vector<T>& tile = thread_buffer<T, TailTile>();
                std::vector<T>& residual = thread_buffer<T, TailResidual>();
                tile.resize(static_cast<size_t>(mr * tail_width));
                const bool add_residual = last_depth && p.residual != nullptr;
                if (add_residual) residual.resize(static_cast<size_t>(mr * tail_width));
                auto at = [&](int64_t image, int64_t i) {
                    return (image * p.rows + row + i) * p.positions + p.positions - tail_cols;
                };
                for (int64_t i = 0; i < t.rows; ++i) {
                    for (int64_t image = first_image; image < last_image; ++image) {
                        const int64_t to = i * tail_width + (image - first_image) * tail_cols;
                        if (t.accumulate) copy_tail_columns(p.c + at(image, i), tail_cols, tile.data() + to);
                        if (add_residual) copy_tail_columns(p.residual + at(image, i), tail_cols, residual.data() + to);
                    }
                }
                set_panel_a(t, row, 0, k0);
                t.b = tail_b + k0 * tail_width;
                t.b_row_stride = tail_width;
                t.c = tile.data();
                t.ldc = tail_width;
                t.cols = tail_width;
                t.bias = kb == 0 && p.bias != nullptr ? p.bias + row : nullptr;
                t.residual = add_residual ? residual.data() : nullptr;
                kernel.strip(t);
                for (int64_t image = first_image; image < last_image; ++image) {
                    for (int64_t i = 0; i < t.rows; ++i) {
                        const T* from = tile.data() + i * tail_width + (image - first_image) * tail_cols;
                        copy_tail_columns(from, tail_cols, p.c + at(image, i));
                    }
                    if (last_depth && p.activation != nullptr) {
                        p.activation(p.c + at(image, 0), t.rows, tail_cols, p.positions, 1);
                    }
                }
            };
            if (column_chunks > 1) {
                for (int64_t image = first_image; image < last_image; ++image) {
                    for (int64_t chunk = 0; chunk < column_chunks; ++chunk) {
                        const int64_t col = chunk * column_chunk;
                        const bool block_end = chunk + 1 == column_chunks;
                        const int64_t cols = block_end ? s.cols - col : column_chunk;
                        for (int64_t panel = first_panel; panel < last_panel; ++panel) {
                            image_strip(panel, image, col, cols, block_end, p.prefetch_b && panel == first_panel);
                        }
                    }
                }
                if (shared_tail) {
                    for (int64_t panel = first_panel; panel < last_panel; ++panel) shared_tail_strip(panel);
                }
            } else {
                // Lost, 2026-12-07 (Zen 5, batch 32, 2 threads, same-process A/B against wip/integ
                // both ways round, 11 rounds): a panel's images in one strip call (the kernel walking
                // them, B, C and tail_b advanced per image) where they share A, to save this driver
                // per strip: 160->960 @7 forward 0.98-1.0x the time one way, 0.99-1.02x the other,
                // the other 7x7 and 14x14 layers 0.98-1.03x; backward data 1.00-1.03x and 0.99-1.01x.
                // (The image loop in the kernel must keep its per-image body out of line: inlined
                // twice it tipped GCC into calling store_tile out of line, 2.5-2.9x the time.)
                for (int64_t panel = first_panel; panel < last_panel; ++panel) {
                    for (int64_t image = first_image; image < last_image; ++image) {
                        image_strip(panel, image, 0, s.cols, true, (p.prefetch_b && panel == first_panel) || prefetch_every_panel);
                    }
                    if (shared_tail) shared_tail_strip(panel);
                }
            }
        }
        const int64_t row0 = panel_rows.begin(first_panel);
        const int64_t row_end = panel_rows.begin(last_panel);
        for (int64_t image = first_image; task_tail && image < last_image; ++image) {
            const int64_t group = image % p.groups;
            const int64_t c_offset = (image * p.rows + row0) * p.positions + p.positions - tail_cols;
            PointwiseStrip<T> t;
            t.depth = p.depth;
            t.a = p.a + group * p.a_group_stride + row0 * p.a_row_stride;
            t.a_row_stride = p.a_row_stride;
            t.a_col_stride = p.a_col_stride;
            t.b = tail_b + (image - first_image) * tail_cols * p.depth;
            t.b_row_stride = p.depth;
            t.c = p.c + c_offset;
            t.ldc = p.positions;
            t.rows = row_end - row0;
            t.cols = tail_cols;
            t.bias = p.bias != nullptr ? p.bias + group * p.rows + row0 : nullptr;
            t.residual = p.residual != nullptr ? p.residual + c_offset : nullptr;
            t.relu = p.relu;
            kernel.tail(t);
            if (p.activation != nullptr) p.activation(t.c, t.rows, t.cols, t.ldc, 1);
        }
        // The strips spread their columns themselves with spread_stores: then only the tail's.
        const int64_t spread_from = spread_stores ? (has_tail ? p.positions - tail_cols : p.positions) : q0;
        if (p.scatter != nullptr && spread_from < p.positions) {
            // The task's input positions: from its first output's (0 for the first block) to
            // the next block's first output's (the image's end for the last block).
            const int64_t q_end = block_begin(block + 1);
            const int64_t i_begin = spread_from == 0 ? 0 : input_position(*p.scatter, spread_from);
            const int64_t i_end = q_end == p.positions ? p.scatter->in_size() : input_position(*p.scatter, q_end);
            for (int64_t image = first_image; image < last_image; ++image) {
                kernel.spread_columns(*p.scatter, p.c + (image * p.rows + row0) * p.positions + spread_from,
                                      p.positions, row_end - row0, spread_from, q_end, i_begin, i_end,
                                      p.scatter_to + (image * p.rows + row0) * p.scatter->in_size());
            }
        }
    };
    // Each thread its own share of the tasks first (for_each_claimed_affine): called again, it
    // rewrites outputs its own cache holds (a strided backward data's spread dx above all). Batch
    // 1, 2 threads, same-process A/B at real-time priority, median: ResNet-18's 64->128 1x1/2
    // backward data 0.93x the time of tasks claimed in turn (batch 32 0.89-0.91x), MobileNet-v2's
    // 24->144 forward 0.92-0.97x; ResNet-18's 1x1/2 forward, the others' backward data even.
    cpu::for_each_claimed_affine(split.tasks(), threads, run_task);
}

// Positions of the output grid (all axes stride s, no padding) in the input grid.
bool strided(const WindowGeometry& g) {
    for (int d = 0; d < 3; ++d) {
        if (g.out[d] != g.in[d]) return true;
    }
    return false;
}

// compact (channels x out) <- x (channels x in) at the strided positions, or the reverse with
// zeros between (scatter).
template <class T, bool kScatter, int64_t kStride>
void move_strided_rows(const WindowGeometry& g, int64_t channels, const T* from, T* to) {
    const int64_t in_size = g.in_size();
    const int64_t out_size = g.out_size();
    cpu::parallel_for(channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            const T* source = from + c * (kScatter ? out_size : in_size);
            T* target = to + c * (kScatter ? in_size : out_size);
            if constexpr (kScatter) std::fill(target, target + in_size, T(0));
            for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
                for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
                    const int64_t row = (o0 * g.stride[0] * g.in[1] + o1 * g.stride[1]) * g.in[2];
                    const int64_t q = (o0 * g.out[1] + o1) * g.out[2];
                    if constexpr (kScatter) {
                        move_row<T, true, kStride>(source + q, g.out[2], g.stride[2], target + row);
                    } else {
                        move_row<T, false, kStride>(source + row, g.out[2], g.stride[2], target + q);
                    }
                }
            }
        }
    });
}

template <class T, bool kScatter>
void move_strided(const WindowGeometry& g, int64_t channels, const T* from, T* to) {
#if defined(MYELIN_X86_64_KERNELS)
    // Gathered stride-2 rows (ResNet's 1x1/2 shortcuts) in AVX-512 registers: this file's baseline
    // build moves four lanes at a time, 13% of ResNet-18's 64->128 1x1/2 forward at batch 1 on one
    // thread; the pointwise filter's gathers, A/B in one process: batch 1, 1 thread 0.95-0.98x the
    // time; batch 32, 1 thread, 64->128 0.92-0.95x, 128->256 0.96-0.98x, 256->512 1.00-1.03x.
    // Inside a pool task (the filter's chunks) parallel_for runs inline.
    if constexpr (!kScatter && std::is_same_v<T, float>) {
        if (gathers_stride2_rows(g)) {
            const int64_t in_size = g.in_size(), out_size = g.out_size();
            cpu::parallel_for(channels, 1, [&](int64_t begin, int64_t end) {
                gather_stride2_rows_avx512(from + begin * in_size, end - begin, in_size, g.out[1], g.stride[1] * g.in[2],
                                           g.out[2], to + begin * out_size);
            });
            return;
        }
    }
#endif
    if (g.stride[2] == 1) return move_strided_rows<T, kScatter, 1>(g, channels, from, to);
    if (g.stride[2] == 2) return move_strided_rows<T, kScatter, 2>(g, channels, from, to);
    move_strided_rows<T, kScatter, 0>(g, channels, from, to);
}

}  // namespace

template <class T>
void gather_strided_positions(const WindowGeometry& g, int64_t channels, const T* x, T* compact) {
    move_strided<T, false>(g, channels, x, compact);
}

bool is_pointwise_geometry(const WindowGeometry& g) {
    for (int d = 0; d < 3; ++d) {
        if (g.kernel[d] != 1 || g.pad_begin[d] != 0 || g.pad_end[d] != 0) return false;
        if (g.out[d] < 1 || (g.out[d] - 1) * g.stride[d] >= g.in[d]) return false;
    }
    return true;
}

template <class T>
void conv_pointwise_forward(const ConvArgs& a) {
    const WindowGeometry& g = a.geometry;
    PointwiseGemm<T> p;
    p.images = a.batch * a.groups;
    p.groups = a.groups;
    p.rows = a.out_channels / a.groups;
    p.depth = a.channels / a.groups;
    p.positions = g.out_size();
    p.a = static_cast<const T*>(a.w.data);
    p.a_row_stride = p.depth;
    p.a_col_stride = 1;
    p.a_group_stride = p.rows * p.depth;
    p.b = static_cast<const T*>(a.x.data);
    // Strided: on several threads each task gathers its own columns, which saves the separate
    // gather pass's parallel region and its hand-over (ResNet-18's 1x1/2 layers at batch 1, 2
    // threads, best of 1200 interleaved calls on a loaded machine: 0.69-0.94x the time); on one
    // thread there is no region to save and the separate pass measured 2-3% faster (1.01-1.03x
    // with the tasks' AVX-512 gather too, Zen 5). Lost at 1 thread, 2026-12-07: each column
    // chunk's columns (kL1ColumnBytes) gathered just before its panels, the next chunk's lines of
    // x prefetched into L2 meanwhile: 64->128 1.04-1.09x the time (1.06x with the prefetch).
    // Lost too: the tasks' gather on one thread for 7x7 outputs (B's rows then 48 apart, the tail
    // column from x): 256->512 forward and prepared 1.02-1.03x main's time (CPU samples 1.00x).
    // Nor did the separate pass win at batch 32 on 2 threads, its region then small against the
    // call (2026-12-07, one way round, 7 rounds): ResNet-18's layer4 1x1/2 forward and prepared
    // 0.98-1.0x the time, layer2 and layer3 0.96-1.14x (loaded machine).
    // Lost too, 2026-12-07 (batch 1, 1 thread, AVX-512, against main): the tasks' columns gathered
    // straight into packed tiles of 48 (a tile's depth rows adjacent, a strip call per tile), so
    // that the tiles read B's lines in order: 64->128 1.16-1.20x the time, 128->256 1.11-1.13x,
    // 256->512 1.07-1.10x (swapped 0.88-0.94x): perf put the column gather at twice the row
    // gather's time and the tiles at the same (depth rows of all tiles in turn, the tiles 12 KiB
    // apart, a 4 KiB multiple, or a line more; or tile by tile, x's rows read out of order); the
    // compact rows copied into tiles after the gather (pack_tiles) 1.13-1.14x, its tiles ~7%
    // faster. The tiles' B from compact rows is not latency bound: an L1 prefetch 6 depth steps
    // ahead on every panel measured 0.99-1.02x, the next tile's columns into L2 on every panel
    // 1.02-1.03x, the compact block on a cache line 0.97-1.01x.
    if (strided(g) && cpu::thread_pool().thread_count() > 1) {
        p.strided_b = &g;
    } else if (strided(g)) {
        std::vector<T>& compact = thread_buffer<T, CompactImages>();
        compact.resize(static_cast<size_t>(a.batch * a.channels * p.positions));
        move_strided<T, false>(g, a.batch * a.channels, p.b, compact.data());
        p.b = compact.data();
    }
    p.c = static_cast<T*>(a.y.data);
    p.bias = a.has_bias ? static_cast<const T*>(a.bias.data) : nullptr;
    p.residual = a.has_residual ? static_cast<const T*>(a.residual.data) : nullptr;
    p.relu = a.activation == MLN_UNARY_OP_RELU;
    p.activation = p.relu ? nullptr : select_gemm_activation<T>(a.activation);
    p.prefetch_b = p.images * p.depth * p.positions * static_cast<int64_t>(sizeof(T)) >= kForwardPrefetchBytes;
    p.shared_tails = !a.batch_invariant_sums;
    p.prefetch_c = p.images * p.rows * p.positions * static_cast<int64_t>(sizeof(T)) >= kStorePrefetchBytes;
    run_pointwise_gemm(p);
}

template <class T>
void conv_pointwise_backward_data(const ConvArgs& a) {
    const WindowGeometry& g = a.geometry;
    PointwiseGemm<T> p;
    p.images = a.batch * a.groups;
    p.groups = a.groups;
    p.rows = a.channels / a.groups;
    p.depth = a.out_channels / a.groups;
    p.positions = g.out_size();
    // A = W_g^T: A(i, k) = W_g[k][i].
    p.a = static_cast<const T*>(a.w.data);
    p.a_row_stride = 1;
    p.a_col_stride = p.rows;
    p.a_group_stride = p.rows * p.depth;
    p.b = static_cast<const T*>(a.y.data);
    T* dx = static_cast<T*>(a.x.data);
    p.c = dx;
    const bool scatter = strided(g);
    const PointwiseSpreadsPlanes spreads_planes = pointwise_kernel<T>(cpu::active_isa()).spreads_planes;
    const bool spread_in_tasks =
        scatter && (g.out[2] >= kSpreadMinRow || (spreads_planes != nullptr && spreads_planes(g)));
    if (scatter) {
        std::vector<T>& compact = thread_buffer<T, CompactImages>();
        compact.resize(static_cast<size_t>(a.batch * a.channels * p.positions));
        p.c = compact.data();
    }
    // The first panel of a task reads its block of dy from memory, depth (out_channels) rows
    // at once; prefetching the next tile's columns measured faster there (1 thread, batch 32,
    // loaded machine, 4 paired runs: MobileNet-v2 16->96 at 112x112 1.08-1.37x -> 0.98-1.23x
    // oneDNN's time, 32->16 at 112x112 1.42-1.63x -> 1.27-1.44x); the forward pass does it only
    // where x comes from memory (kForwardPrefetchBytes). Even, 2026-12-07 (Zen 5, batch 32, 2
    // threads, both ways round, 7 rounds, twice): shallow tiles prefetching 64 depth steps ahead
    // (4 tiles at 16 deep, 1 from 64), 32->16 @112 0.98-1.03x the time (main 1.02-1.05x swapped),
    // the forward's 32->16 0.95-1.01x (0.95-1.07x), the other 112x112, 56x56 and 28x28 layers even.
    p.prefetch_b = true;
    p.prefetch_b_l1 = true;
    p.prefetch_c = p.images * p.rows * p.positions * static_cast<int64_t>(sizeof(T)) >= kStorePrefetchBytes;
    PointwiseSpreadPlan plan;
    if (spread_in_tasks) {
        p.scatter = &g;
        p.scatter_to = dx;
        // The strips' stores spread dx themselves (spread_stores) where the kernel spreads planes
        // (input twice the output, rows of at most 16 outputs), those planes are whole registers
        // and dx stays in cache: no pass over the compact dx after the GEMM (the dx stores
        // remain). Zen 5, same-process A/B against main both ways round (min / median, loaded
        // machine, 2026-12-07): ResNet-18's layer3 1x1/2 (28 x 28 planes) batch 1, 1 thread,
        // 0.96-0.98x the time in 7 of 10 runs, even in the others; 2 threads 0.92-0.96x in 5 of
        // 10, even (0.98-1.03x) in the others. Lost: layer4's 14 x 14 planes (not whole registers:
        // stores across lines) 1.02-1.06x, layer2's rows of 28 (the row spread) 1.00x on 1 thread
        // and 1.10x on 2, layer3 at batch 32 (dx to memory) 1.04-1.06x on 2 threads. Again,
        // 2026-12-07, batch 1, 1 thread, CPU samples against main: layer2 1.01x; with each tile's
        // dx lines fetched for writing (prefetchw) before its depth loop 1.07x (layer3 1.01x).
        const PointwiseKernelInfo<T> kernel = pointwise_kernel<T>(cpu::active_isa());
        const int64_t dx_bytes = a.batch * a.channels * g.in_size() * static_cast<int64_t>(sizeof(T));
        if (kernel.spreads_in_stores && spreads_planes != nullptr && spreads_planes(g) &&
            g.in_size() % kernel.lanes == 0 && dx_bytes < kStorePrefetchBytes) {
            plan = make_spread_plan(g, kernel.lanes, thread_scratch<SpreadPlanTables>());
            p.spread_plan = &plan;
        }
    }
    run_pointwise_gemm(p);
    if (scatter && !spread_in_tasks) move_strided<T, true>(g, a.batch * a.channels, p.c, dx);
}

template <class T>
void conv_pointwise_backward_filter(const ConvArgs& a) {
    const WindowGeometry& g = a.geometry;
    const PointwiseKernelInfo<T> kernel = pointwise_kernel<T>(cpu::active_isa());
    const int64_t rows = a.out_channels / a.groups;  // of dy per group
    const int64_t cols = a.channels / a.groups;      // of x per group
    const int64_t positions = g.out_size();
    const int64_t lanes = kernel.lanes;
    if (positions < kDotMinPositions) return conv_pointwise_backward_filter_gemm<T>(a);
    // The kernel's A rows are x's, dW written transposed, where x's channels fill its tiles of
    // rows better than dy's (MobileNet-v2 144->32, 192->32: 32 rows of dy in tiles of 6 computed
    // 36), or as well and x has more: B, the operand whose chunk stays in L2, is then the one with
    // fewer rows, so chunks are longer (96->24 and 144->24 at 56x56: one chunk per image instead
    // of 4-5; 32->16 at 112x112: 3 instead of 5; 1 thread, CPU time, A/B in one process on a
    // loaded machine: AVX-512 0.72-0.84x, 0.74-0.81x and 0.89-0.90x the time at batch 1,
    // 0.75-0.92x at batch 8 and 32; AVX2 0.87-0.95x).
    const int64_t padded_rows = ceil_div(rows, kernel.dot_rows) * kernel.dot_rows;
    const int64_t padded_cols = ceil_div(cols, kernel.dot_rows) * kernel.dot_rows;
    const bool x_as_a =
        padded_cols * rows < padded_rows * cols || (padded_cols * rows == padded_rows * cols && rows < cols);
    const int64_t a_rows = x_as_a ? cols : rows;
    const int64_t b_rows = x_as_a ? rows : cols;
    // Chunks: blocks of one image's positions (large images), or of whole images.
    const int64_t max_block =
        std::max<int64_t>(lanes, kDotBlockBytes / (b_rows * static_cast<int64_t>(sizeof(T))) / lanes * lanes);
    int64_t blocks = ceil_div(positions, max_block);
    const int64_t block = ceil_div(ceil_div(positions, blocks), lanes) * lanes;
    blocks = ceil_div(positions, block);
    const int64_t images_per_chunk = blocks > 1 ? 1 : std::max<int64_t>(1, std::min(a.batch, max_block / positions));
    const int64_t image_chunks = ceil_div(a.batch, images_per_chunk);
    // Images of one block (28x28, 32x32) whose GEMM fills the micro-kernel's column tiles take
    // the GEMM path (AVX-512 f32, 1 thread, CPU time: MobileNet-v2 144->32, 32->192, 192->32 at
    // 28x28 0.74-0.79x the dot kernel's time at batch 1, 0.67-0.75x at batch 2-8; ResNet-18's
    // 64->128 /2 0.75x, 0.70-0.84x; 32->96 0.73x, 64->96 0.82x). Since its tiles sum in place with
    // a masked last column tile, 4/5 filled is enough (batch 1: 56->112 @ 28 0.84-0.87x, 80, 104,
    // 208 columns 0.89-0.91x, 88 @ 17 0.58x; at 3/4, 48 and 96 columns 1.0-1.1x, 40 columns
    // 1.10-1.14x). Measured on AVX-512 only: other ISAs keep the dot kernel. (From batch 16 these
    // shapes' partial sums already send them to the GEMM.)
    if (blocks == 1 && std::is_same_v<T, float> && cpu::active_isa() == MLN_ISA_AVX512 &&
        pointwise_filter_gemm_fills_columns(a, sgemm_microkernel(MLN_ISA_AVX512).nr)) {
        return conv_pointwise_backward_filter_gemm<T>(a);
    }
    const int64_t row_tiles = ceil_div(a_rows, kernel.dot_rows);
    const int64_t col_tiles = ceil_div(b_rows, kernel.dot_cols);
    const int64_t tiles = a.groups * row_tiles * col_tiles;
    const int64_t tile_size = kernel.dot_rows * kernel.dot_cols * lanes;
    // Reduction slices: runs of image chunks, each summed into its own copy of dW (the rule of
    // conv_pointwise_filter.hpp, shared with the GEMM path). Threads then split the images, not
    // only the tiles: a range of tiles reads all of B against its share of A, so two ranges read
    // B twice (batch 32, 2 threads, loaded machine: 32->16 at 112x112 0.73-0.80x the CPU time,
    // 144->24 at 56x56 0.82-0.93x; 1 thread within 1.5%).
    const int64_t filter_size = a.out_channels * cols;
    const int64_t slices = pointwise_filter_slices(image_chunks, a.batch * (a.channels + a.out_channels) * positions, filter_size);
    const int64_t slice_chunks = ceil_div(image_chunks, slices) * blocks;  // at most
    if (slice_chunks > 1 && tiles * tile_size * static_cast<int64_t>(sizeof(T)) > kDotPartialBytes) {
        return conv_pointwise_backward_filter_gemm<T>(a);
    }
    const T* x = static_cast<const T*>(a.x.data);
    if (strided(g)) {
        std::vector<T>& compact = thread_buffer<T, CompactImages>();
        compact.resize(static_cast<size_t>(a.batch * a.channels * positions));
        move_strided<T, false>(g, a.batch * a.channels, x, compact.data());
        x = compact.data();
    }
    const T* dy = static_cast<const T*>(a.y.data);
    // Per operand: its tensor, channels per image.
    const T* a_source = x_as_a ? x : dy;
    const T* b_source = x_as_a ? dy : x;
    const int64_t a_channels = x_as_a ? a.channels : a.out_channels;
    const int64_t b_channels = x_as_a ? a.out_channels : a.channels;
    T* dw = static_cast<T*>(a.w.data);
    std::vector<T> slice_sums(static_cast<size_t>((slices - 1) * filter_size));
    // Offsets of a tile's first rows of A and B in a chunk.
    auto first_a = [&](int64_t chunk, int64_t tile) {
        const int64_t group = tile / (row_tiles * col_tiles);
        const int64_t row = tile / col_tiles % row_tiles * kernel.dot_rows;
        return (chunk / blocks * images_per_chunk * a_channels + group * a_rows + row) * positions + chunk % blocks * block;
    };
    auto first_b = [&](int64_t chunk, int64_t tile) {
        const int64_t group = tile / (row_tiles * col_tiles);
        const int64_t col = tile % col_tiles * kernel.dot_cols;
        return (chunk / blocks * images_per_chunk * b_channels + group * b_rows + col) * positions + chunk % blocks * block;
    };
    // Tasks: (slice, range of tiles), with as few ranges as fill the pool: each range walks
    // every chunk of its slice, so it reads all of the slice's B (and its rows of A) once; the
    // pool's default of four ranges per thread read B four times per thread (16->96 at 112x112,
    // batch 8: 2 threads took 3x the time of 1).
    const int64_t threads = cpu::thread_pool().thread_count();
    const int64_t ranges = parts_to_fill_threads(slices, tiles, threads);
    cpu::for_each_claimed(slices * ranges, threads, [&](int64_t task) {
        const int64_t slice = task / ranges;
        const int64_t begin = tiles * (task % ranges) / ranges;
        const int64_t end = tiles * (task % ranges + 1) / ranges;
        const int64_t first_chunk = image_chunks * slice / slices * blocks;
        const int64_t end_chunk = image_chunks * (slice + 1) / slices * blocks;
        T* dw_slice = slice > 0 ? slice_sums.data() + (slice - 1) * filter_size : dw;
        std::vector<T>& partials = thread_buffer<T, FilterPartials>();
        const bool carry = end_chunk - first_chunk > 1;
        if (carry) partials.resize(static_cast<size_t>((end - begin) * tile_size));
        for (int64_t chunk = first_chunk; chunk < end_chunk; ++chunk) {
            const int64_t n = chunk / blocks * images_per_chunk;
            const int64_t p0 = chunk % blocks * block;
            // The tile's coordinates step along without divisions (their 64-bit divides were
            // 8% of 144->32 at 28x28, 192 tiles of 49 steps each).
            int64_t group = begin / (row_tiles * col_tiles);
            int64_t row = begin / col_tiles % row_tiles * kernel.dot_rows;
            int64_t col = begin % col_tiles * kernel.dot_cols;
            const T* a_chunk = a_source + first_a(chunk, 0);
            const T* b_chunk = b_source + first_b(chunk, 0);
            for (int64_t tile = begin; tile < end; ++tile) {
                if (tile > begin) {
                    col += kernel.dot_cols;
                    if (col >= b_rows) {
                        col = 0;
                        row += kernel.dot_rows;
                        if (row >= a_rows) {
                            row = 0;
                            ++group;
                        }
                    }
                }
                PointwiseDot<T> d;
                d.a = a_chunk + (group * a_rows + row) * positions;
                d.a_row_stride = positions;
                d.a_image_stride = a_channels * positions;
                d.rows = std::min<int64_t>(kernel.dot_rows, a_rows - row);
                d.b = b_chunk + (group * b_rows + col) * positions;
                d.b_row_stride = positions;
                d.b_image_stride = b_channels * positions;
                d.cols = std::min<int64_t>(kernel.dot_cols, b_rows - col);
                d.positions = std::min(block, positions - p0);
                d.images = std::min(images_per_chunk, a.batch - n);
                d.partial = carry ? partials.data() + (tile - begin) * tile_size : nullptr;
                d.resume = chunk > first_chunk;
                // The first tile of a row of tiles brings its rows of A in from memory; it
                // fetches the next row of tiles' rows at the same time. Likewise the thread's
                // first row of tiles for B's rows, and its last tile of a chunk for the next
                // chunk's first tile (1 thread: 4-7% off the 112x112 layers at batch 1, 6-16%
                // off the 112x112 and 56x56 ones at batch 8).
                if (col == 0 && row + kernel.dot_rows < a_rows) d.a_prefetch = kernel.dot_rows * positions;
                if (tile - begin < col_tiles && col + kernel.dot_cols < b_rows) d.b_prefetch = kernel.dot_cols * positions;
                if (tile + 1 == end && chunk + 1 < end_chunk) {
                    d.a_prefetch = first_a(chunk + 1, begin) - first_a(chunk, tile);
                    d.b_prefetch = first_b(chunk + 1, begin) - first_b(chunk, tile);
                }
                if (chunk + 1 == end_chunk) {
                    T* dw_group = dw_slice + group * rows * cols;
                    d.c = x_as_a ? dw_group + col * cols + row : dw_group + row * cols + col;
                    d.c_row_stride = x_as_a ? 1 : cols;
                    d.c_col_stride = x_as_a ? cols : 1;
                }
                kernel.dot(d);
            }
        }
    });
    add_slice_sums(dw, slice_sums.data(), slices, filter_size);
}

template void gather_strided_positions<float>(const WindowGeometry&, int64_t, const float*, float*);
template void gather_strided_positions<double>(const WindowGeometry&, int64_t, const double*, double*);
template void conv_pointwise_forward<float>(const ConvArgs&);
template void conv_pointwise_forward<double>(const ConvArgs&);
template void conv_pointwise_backward_data<float>(const ConvArgs&);
template void conv_pointwise_backward_data<double>(const ConvArgs&);
template void conv_pointwise_backward_filter<float>(const ConvArgs&);
template void conv_pointwise_backward_filter<double>(const ConvArgs&);

}  // namespace mln::kernels
