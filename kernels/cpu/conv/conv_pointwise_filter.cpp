// Pointwise backward filter by GEMM (conv_pointwise_filter.hpp):
//   dW_g (Mg x Cg) = sum over images n of dy_ng (Mg x P) * x_ng^T (P x Cg)
// The images are cut into slices fixed by the shape; each (slice, group) task sums its images
// into its own copy of dW (slice 0's is dW itself) and the copies are added in slice order at
// the end, so every element of dW is summed in one order whatever the thread count. Within a
// slice each image is a GEMM read in place, but for images of very few positions: their dy rows
// and x rows are copied side by side in chunks, one GEMM of depth (chunk images x P) per chunk
// (kChunkDepth), or, where a slice has several such images and dW is small enough, both
// operands packed straight from the images into panels that run across them (sum_images_across).
// AVX-512 f32 does neither: tiles of dW are summed over a chunk's images in registers, A read in
// place (sum_images_in_place).
// Where x has more rows than dy the GEMM may run transposed (dW^T = x rows * dy rows^T;
// gemm_transposed).
//
// Threading: tasks of (slice, group, block of the GEMMs' rows), each GEMM on its task's thread
// (GEMM called inside a parallel region runs on the calling thread: pool policy).
#include "kernels/cpu/conv/conv_pointwise_filter.hpp"

#include <algorithm>
#include <bit>
#include <type_traits>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_pointwise.hpp"
#include "kernels/cpu/conv/gemm_rowmajor.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"
#include "kernels/cpu/gemm/gemm_pack.hpp"

namespace mln::kernels {
namespace {

// Slices at most: enough to occupy the threads at batch >= 8.
constexpr int64_t kMaxSlices = 8;
// The slices' copies of dW take at most this share of the inputs' elements: each copy is a pass
// over dW and the final sum reads them all. (Under a cap of 16 MiB of copies instead,
// MobileNet-v2's 7x7 layers at batch 32 summed 8 copies of up to 1.6 MB against 2-10 MB of
// inputs; one slice by this share took 0.79-0.86x the time, 1 thread, CPU time.)
constexpr int64_t kPartialsShare = 16;
// Images of few positions are copied side by side, in chunks of consecutive images until the
// GEMM's depth reaches kChunkDepth, so that dW (the GEMM's C) is read and written once per chunk
// rather than per image. From 49 positions up a GEMM per image read in place measured faster
// than copying to 512 deep (MobileNet-v2 at batch 32, 1 thread, CPU time, both orders: 14x14
// layers 0.83-0.98x, 7x7 0.87-0.96x the time), but where dW_g is larger (kLargeFilterBytes: it
// is then read from L3 for each image) chunks of kLargeFilterChunkDepth paid for their copies
// (7x7 layers at batch 32, 1 thread, CPU time, A/B in one process, loaded machine, 3 runs:
// 320->1280 0.91-0.95x, 960->320 0.94-0.98x, 160->960 0.84-0.97x, 960->160 0.94-1.06x; smaller
// filters lost: 576->160 0.97-1.04x; at 14x14 2 images per chunk took 1.0-1.2x the time).
constexpr int64_t kChunkDepth = 64;
constexpr int64_t kLargeFilterBytes = 512 << 10;
constexpr int64_t kLargeFilterChunkDepth = 256;

// Where x has more channels than dy per group the GEMM may run transposed (x's rows as its A,
// dW^T as C). The GEMM driver reads A in place and packs B, transposing its columns, so
// transposed it packs dy, the operand with fewer rows. C is then a contiguous dW^T per slice (a
// strided C would go through a scratch tile and a scalar merge per micro-kernel call), turned
// into dW by the final sum over the slices. Taken where dy has at most kMaxRowsTransposed rows
// (dy's 32 rows as A ran at 80-105 GFLOP/s, x's at 140: MobileNet-v2 144->32 and 192->32 at
// 28x28, batch 32, 1 thread: 0.59x and 0.73x the time), or where the images have at least
// kMinPositionsTransposed positions: MobileNet-v2 at 14x14, batch 32, 1 thread, CPU time, A/B
// in one process, loaded machine: 192->64 0.88x, 384->64 0.88x, 384->96 0.93x, 576->96 0.86x
// the time; at 7x7 it lost (960->160 and 960->320 1.08x, 576->160 0.98x). The transpose at the
// end is paid once per call, the packing it saves per image: positions are a reason only where
// the packing saved is kPackingPerTransposed times dW's elements. (With a scalar transpose that
// took 4: at batch 1 the same 14x14 layers took 1.03-1.09x the time transposed, at batch 4
// 0.93-0.95x. Transposed in AVX-512 registers, a tile at a time like the packing, 1: at batch 1
// 384->64 0.93-0.95x, 192->64 0.95-0.96x, 384->96 0.98x, 576->96 0.96x; 1 thread, A/B in one
// process, min and median of 21 batches.)
constexpr int64_t kMaxRowsTransposed = 32;
constexpr int64_t kMinPositionsTransposed = 128;
constexpr int64_t kPackingPerTransposed = 1;
// Where the rows are split between threads (one slice, 2 threads) the 14x14 layers at batch 1
// kept the split of dy's rows: transposed there they took 1.0-1.4x the time (peer benchmark, 2
// threads, loaded machine, 2 runs each), so the rule that held before the AVX-512 transpose stays.
constexpr int64_t kSplitPackingPerTransposed = 4;

// A strided layer takes at least kStridedMinSlices slices, given kStridedMinSliceImages images
// per slice: where one slice's rows were split between 2 threads, each gathered all of x's
// strided positions (ResNet-18's 256->512 /2 at batch 32, 2 threads, A/B in one process, loaded
// machine: 0.83-0.87x the time; 1 thread 0.99-1.03x, the second copy of dW against the batch).
constexpr int64_t kStridedMinSlices = 2;
constexpr int64_t kStridedMinSliceImages = 8;

// Blocks of the GEMMs' rows (dW's rows, or dW^T's) are cut at multiples of this many rows.
constexpr int64_t kRowBlockAlign = 16;

// The broadcast kernel transposes an operand of kBroadcastMinChannels to kBroadcastMaxChannels
// channels (8 channels of x against 40 of dy at 28x28 took 1.3-1.5x the dot kernel's time, in
// a one-register form since replaced by the quad form, not measured there) where the other has at
// least kBroadcastRowsPerLane times as many rows as the transposed one has lanes (each position
// is transposed once for that many FMAs per lane: 32 -> 16 with x's 32 channels transposed
// against 16 rows of dy took 1.12-1.28x the time at batch 8 and 32; dy's 16 against x's 32 rows
// at 112x112 0.92x at batch 1, 0.87-0.89x at batch 8, 0.46-0.91x at batch 32, 16 -> 32 0.92x
// at batch 1: 1 thread, A/B in one process, fastest calls, loaded machine), on images of at
// least kBroadcastMinPositions positions (below, the GEMM path's rules apply). 1 thread, CPU
// time, A/B in one process against the dot kernel, loaded machine, batch 1 / 8 / 32:
// MobileNet-v2 16->96 at 112x112 0.84-0.86x / 0.74x / 0.68x, 24->144 at 56x56 0.91-0.93x /
// 0.79x / 0.89x, 144->24 0.89-0.92x / 0.77x / 0.86x, 96->24 0.89-0.96x / 0.89x / 0.95x; 16->96
// at 17x17 to 56x56 0.68-0.93x, 16->256 at 28x28 0.68-0.80x, 64->16 at 28x28 0.75-0.98x.
constexpr int64_t kBroadcastMinChannels = 9;
constexpr int64_t kBroadcastMaxChannels = 32;
constexpr int64_t kBroadcastRowsPerLane = 2;
constexpr int64_t kBroadcastMinPositions = 256;
// AVX2 transposes any count of channels, in groups of 32 columns (conv_pointwise_filter_avx2.cpp),
// from kBroadcastMinPositionsAvx2 positions: against the GEMM path (both operands packed per
// image), MobileNet-v2's 14x14 layers took 0.82-0.94x the time at batch 1 (1 thread) and 32 (2
// threads), the 7x7 ones 1.15-1.43x (batch 1; Zen 3, A/B in one process, loaded machine).
constexpr int64_t kBroadcastMinPositionsAvx2 = 128;

// The broadcast kernel's lanes per register; floats per transposed block of B (256 KiB, so that
// it stays in L2 while every tile of A's rows streams past it); threads' ranges of A's rows cut
// at multiples of kBroadcastRangeAlign rows into near-equal shares (32 rows on 2 threads as 16 +
// 16, not one full tile of 24 against 8).
constexpr int64_t kBroadcastLanes = 16;
constexpr int64_t kBroadcastLanesAvx2 = 8;
constexpr int64_t kBroadcastBlockFloats = 64 << 10;
constexpr int64_t kBroadcastRangeAlign = 8;
// Below kBroadcastMinUnits images, each image is cut into that many parts (of at least
// kBroadcastMinPartPositions positions), summed as separate units: at batch 1 two threads then
// take a part each, each transposing its half of B (rather than a half of A's rows each, both
// transposing all of B: 2 threads, fastest calls, loaded machine: 32->16 at 112x112 0.80x the
// time, 16->96 0.93x; 1 thread 0.99-1.00x at 112x112, 1.01-1.02x at 56x56).
constexpr int64_t kBroadcastMinUnits = 2;
constexpr int64_t kBroadcastMinPartPositions = 256;
struct BroadcastTransposed;
struct BroadcastSums;

// Whether the broadcast kernel may transpose an operand of `channels` channels against `rows`
// rows of the other.
bool broadcast_transposes(int64_t channels, int64_t rows) {
    const bool within_max = cpu::active_isa() != MLN_ISA_AVX512 || channels <= kBroadcastMaxChannels;
    return channels >= kBroadcastMinChannels && within_max &&
           rows >= kBroadcastRowsPerLane * ceil_div(channels, int64_t{16}) * 16;
}

// Per-thread scratch (thread_scratch.hpp): a chunk's x rows and dy rows side by side.
struct ChunkColumns;
struct ChunkRows;
// A strided layer's chunk of x at its output positions.
struct ChunkCompact;

// to[r * images * positions + i * positions + p] = from[i * image_stride + r * positions + p]:
// `rows` rows of `images` consecutive images side by side.
template <class T>
void copy_rows_side_by_side(const T* from, int64_t rows, int64_t images, int64_t image_stride, int64_t positions,
                            T* to) {
    const int64_t depth = images * positions;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t i = 0; i < images; ++i) {
            const T* row = from + i * image_stride + r * positions;
            std::copy(row, row + positions, to + r * depth + i * positions);
        }
    }
}

// The panel gather takes rows of at least this many outputs: a register transpose per piece of
// up to 16 outputs of a row, half empty at 7 (driver's figures).
constexpr int64_t kPanelGatherMinRow = 12;

// A strided layer's `rows` rows of x at its output positions, for `images` images image_stride
// apart, compact (image after image) in the thread's scratch.
template <class T>
const T* gather_images(const WindowGeometry& geometry, int64_t rows, const T* x, int64_t images,
                       int64_t image_stride, int64_t positions) {
    std::vector<T>& compact = thread_buffer<T, ChunkCompact>();
    compact.resize(static_cast<size_t>(images * rows * positions));
    for (int64_t i = 0; i < images; ++i) {
        gather_strided_positions(geometry, rows, x + i * image_stride, compact.data() + i * rows * positions);
    }
    return compact.data();
}

// By the shape alone (the driver adds the threads' split of the rows).
bool gemm_transposed(const ConvArgs& a) {
    const int64_t channels = a.channels / a.groups;
    const int64_t out_channels = a.out_channels / a.groups;
    const int64_t positions = a.geometry.out_size();
    const bool packing_pays = a.batch * positions * (channels - out_channels) >=
                              kPackingPerTransposed * out_channels * channels;
    return channels > out_channels &&
           (out_channels <= kMaxRowsTransposed || (positions >= kMinPositionsTransposed && packing_pays));
}

// to[i * to_stride + j] = from[j * from_stride + i] for i < rows, j < cols, in square tiles that
// keep a tile's lines of both sides in L1; in registers where the ISA has them (f32 AVX-512: 16
// x 16 shuffled, rather than 256 scalar loads and stores).
constexpr int64_t kTransposeTile = 16;
template <class T>
void transpose_tiles(const T* from, int64_t from_stride, int64_t rows, int64_t cols, T* to, int64_t to_stride) {
    bool in_registers = false;
#if defined(MYELIN_X86_64_KERNELS)
    in_registers = std::is_same_v<T, float> && cpu::active_isa() == MLN_ISA_AVX512;
#endif
    for (int64_t row0 = 0; row0 < rows; row0 += kTransposeTile) {
        const int64_t tile_rows = std::min(kTransposeTile, rows - row0);
        for (int64_t col0 = 0; col0 < cols; col0 += kTransposeTile) {
            const int64_t tile_cols = std::min(kTransposeTile, cols - col0);
            const T* tile_from = from + col0 * from_stride + row0;
            T* tile_to = to + row0 * to_stride + col0;
#if defined(MYELIN_X86_64_KERNELS)
            if constexpr (std::is_same_v<T, float>) {
                if (in_registers) {
                    transpose_tile_avx512(tile_from, from_stride, tile_rows, tile_cols, tile_to, to_stride);
                    continue;
                }
            }
#endif
            for (int64_t i = 0; i < tile_rows; ++i) {
                for (int64_t j = 0; j < tile_cols; ++j) tile_to[i * to_stride + j] = tile_from[j * from_stride + i];
            }
        }
    }
}

// Uninitialized storage for the slices' sums (each is written by its first GEMM, beta 0).
struct SliceSums;

// Images of at most kAcrossMaxPositions positions, many to a slice, are summed by packing
// both operands straight from the images into panels whose depth runs across them (up to
// kAcrossDepth deep, in blocks of kAcrossRowBlockBytes of A's rows): each tile of dW is read
// and written once per depth block rather than once per image, and the micro-kernel runs deep.
// A is dy's rows, taken where dy has no more rows than x (the extra packing, of A, is then the
// smaller one; x's rows as A, writing dW^T, took 1.00-1.07x the time on 1 thread, 0.92-1.16x on
// 2: MobileNet-v2 160->960 at 7x7, ResNet-18's 256->512 /2). Where dW_g is larger than
// kAcrossMaxFilterBytes the GEMMs per chunk stay (it no longer stays in L2 beside the blocks).
// Such a call takes at least kAcrossMinSlices slices, so that 2 threads each pack their own
// images rather than both packing all of B.
// Against a GEMM per image (or per chunk), batch 32, A/B in one process, min / median of 21
// alternating batches, loaded machine: MobileNet-v2 576->160 at 7x7 0.88-0.98x the time on 1
// thread, 0.75-0.97x on 2; 960->160 0.95-1.01x, 0.93-0.97x. Lost: 960->320 (1.2 MB of dW)
// 1.02-1.06x, 320->1280 (1.6 MB) 1.06-1.13x; at 14x14 with A packed from dy, the larger
// operand, 1.2x; A read in place per image instead of packed (B packed across images, each
// tile of dW kept in L1 over a block's images) measured the same as a GEMM per image.
// (AVX-512 f32 sums in place instead, sum_images_in_place: 576->160 at batch 32 0.91-0.93x the
// time on 2 threads, 0.99-1.03x on 1; 960->160 0.94-0.95x, 0.93-0.94x; a second slice there
// took 1.06-1.16x.)
constexpr int64_t kAcrossMaxPositions = 64;
constexpr int64_t kAcrossDepth = 512;
constexpr int64_t kAcrossRowBlockBytes = 384 << 10;
constexpr int64_t kAcrossMaxFilterBytes = 768 << 10;
constexpr int64_t kAcrossMinSlices = 2;
// ... given at least kAcrossMinSliceImages images per slice: fewer did not pay for the second
// copy of dW (1 thread: 160->960 at batch 4 1.12x the time, with x as A; 576->160 at batch 8
// 1.05x).
constexpr int64_t kAcrossMinSliceImages = 8;

// Per-thread scratch: a block of A's rows and a panel of B's, packed across images.
struct AcrossRows;
struct AcrossColumns;

// A depth block's operands: image i's rows of A at a + i * a_image_stride (row stride: the
// positions), likewise B's.
template <class T>
struct AcrossBlock {
    const T* a;
    int64_t a_image_stride;
    const T* b;
    int64_t b_image_stride;
};

// c (rows x cols, row stride ldc) = sum over `images` images n of A_n (rows x positions) *
// B_n^T (positions x cols), where `prepare(first, count)` gives the AcrossBlock of images
// first .. first + count - 1 (so a strided layer gathers a block's images once). Depth block by
// depth block in image order (fixed by the shape). (Prefetching the next block's sources while
// one is computed, a few lines per tile, measured 0.98-1.02x the time: not kept.)
template <class T, class Prepare>
void sum_images_across(const GemmMicroKernelInfo<T>& micro, int64_t rows, int64_t cols, int64_t images,
                       int64_t positions, Prepare&& prepare, T* c, int64_t ldc) {
    const int64_t mr = micro.mr;
    const int64_t nr = micro.nr;
    const int64_t block_images = std::max<int64_t>(1, kAcrossDepth / positions);
    const int64_t max_depth = std::min(block_images, images) * positions;
    const int64_t row_block = std::max<int64_t>(
        mr, kAcrossRowBlockBytes / (max_depth * static_cast<int64_t>(sizeof(T))) / mr * mr);
    std::vector<T>& a_packed = thread_buffer<T, AcrossRows>();
    a_packed.resize(static_cast<size_t>(std::min(row_block, ceil_div(rows, mr) * mr) * max_depth));
    std::vector<T>& b_packed = thread_buffer<T, AcrossColumns>();
    b_packed.resize(static_cast<size_t>(nr * max_depth));
    T edge_tile[kMaxMicroTile];
    for (int64_t n0 = 0; n0 < images; n0 += block_images) {
        const int64_t count = std::min(block_images, images - n0);
        const int64_t depth = count * positions;
        const T beta = n0 == 0 ? T(0) : T(1);
        const AcrossBlock<T> block = prepare(n0, count);
        for (int64_t r0 = 0; r0 < rows; r0 += row_block) {
            const int64_t block_rows = std::min(row_block, rows - r0);
            for (int64_t i = 0; i < block_rows; i += mr) {
                for (int64_t n = 0; n < count; ++n) {
                    const MatrixRef<T> image{block.a + n * block.a_image_stride + (r0 + i) * positions, positions, 1};
                    pack_a_panels(image, 0, std::min(mr, block_rows - i), 0, positions, static_cast<int>(mr),
                                  micro.packers, a_packed.data() + i * depth + n * positions * mr);
                }
            }
            for (int64_t j = 0; j < cols; j += nr) {
                const int64_t tile_cols = std::min(nr, cols - j);
                for (int64_t n = 0; n < count; ++n) {
                    const MatrixRef<T> image{block.b + n * block.b_image_stride + j * positions, 1, positions};
                    pack_b_panels(image, 0, positions, 0, tile_cols, static_cast<int>(nr), micro.packers,
                                  b_packed.data() + n * positions * nr);
                }
                for (int64_t i = 0; i < block_rows; i += mr) {
                    const int64_t tile_rows = std::min(mr, block_rows - i);
                    T* tile = c + (r0 + i) * ldc + j;
                    const T* a_panel = a_packed.data() + i * depth;
                    if (tile_rows == mr && tile_cols == nr) {
                        micro.packed(depth, a_panel, 1, mr, b_packed.data(), nr, tile, ldc, T(1), beta, nullptr);
                        continue;
                    }
                    micro.packed(depth, a_panel, 1, mr, b_packed.data(), nr, edge_tile, nr, T(1), T(0), nullptr);
                    for (int64_t r = 0; r < tile_rows; ++r) {
                        for (int64_t col = 0; col < tile_cols; ++col) {
                            const T sum = edge_tile[r * nr + col];
                            tile[r * ldc + col] = beta == T(0) ? sum : tile[r * ldc + col] + sum;
                        }
                    }
                }
            }
        }
    }
}

// The sums in place take the largest power of two of slices up to the shape's count: an odd
// count (5 or 7 at 14x14) underfilled 2 threads, which then split each slice's rows, every task
// packing all of the slice's B. Zen 5, batch 32, 2 threads, same-process A/B, 5 rounds:
// MobileNet-v2 384->96 @ 14 (5 slices -> 4) 0.94-0.95x the time, 384->64 and 64->384 (7 -> 4)
// 0.88-0.95x; 8 slices instead measured the same.
int64_t in_place_slices(int64_t shape_slices) {
    return static_cast<int64_t>(std::bit_floor(static_cast<uint64_t>(shape_slices)));  // shape_slices >= 1
}

#if defined(MYELIN_X86_64_KERNELS)
// Per-thread scratch: B's panels packed across a chunk's images (sum_images_in_place).
struct InPlaceColumns;
// A chunk of sum_images_in_place takes at most this many floats of the smaller operand (which
// then stays in L2 while the other streams past it, a row tile or a panel at a time). Against 64
// Ki floats (batch 32, A/B in one process, loaded machine): 14x14 layers 0.95-0.98x the time on 1
// thread, 0.96-0.99x on 2; 7x7 0.96-1.01x. (Chunks by B's floats alone, with row tiles always the
// outer loop, left 960->320 one image a chunk: 1.04x main's time on 1 thread.) 192 Ki floats (one
// chunk of 8 images at 14x14), 2026-12-08, batch 32, 2 threads, both ways round: 14x14 layers
// 0.93-0.97x the time in one run, even (0.98-1.02x) in the next; 7x7 even: not kept.
constexpr int64_t kInPlaceChunkFloats = 128 << 10;
// Where A (its rows over the batch) takes at least this much, it comes from memory and each tile
// of sum_images_in_place fetches the next tile's rows of A as it goes. Zen 5, batch 32, 2
// threads, same-process A/B against main, 9 rounds, both ways round: MobileNet-v2 14x14 layers
// 0.89-0.95x the time, 7x7 0.96-0.98x. Lost at batch 1 (A in cache): 7x7 layers 1.02-1.08x.
constexpr int64_t kNextTilePrefetchBytes = int64_t{1} << 20;

// Images per chunk of sum_images_in_place, by dW's rows and columns per group (not a task's
// rows, which follow the threads' split: the chunks fix the order of the sums).
int64_t in_place_chunk_images(int64_t out_channels, int64_t channels, int64_t positions) {
    const int64_t smaller = std::min(out_channels, channels) * positions;
    return std::max<int64_t>(1, kInPlaceChunkFloats / std::max<int64_t>(smaller, 1));
}

// c (rows x cols, row stride ldc) = (first ? 0 : c) + the sum over `images` images n of A_n (rows
// x positions, at a + n * a_image_stride, row stride the positions) * B_n^T (cols x positions):
// B packed across the images into panels of 32 columns (pack_image(n, col0, panel_cols, to):
// image n's columns col0 .. col0 + panel_cols - 1 as a panel of positions x 32 at `to`), every
// tile of c summed over all the images in registers, A read in place (AVX-512 f32). Against
// copying both operands' rows side by side for a GEMM per chunk (kChunkDepth), no copies, and C
// read and written once per chunk where a GEMM per image of 49-196 positions read and wrote it
// per image.
template <class PackImage>
void sum_images_in_place(const float* a, int64_t a_image_stride, int64_t rows, PackImage&& pack_image, int64_t cols,
                         int64_t images, int64_t positions, float* c, int64_t ldc, bool first, bool fetch_ahead) {
    const int64_t depth = images * positions;
    const int64_t panels = ceil_div(cols, kImagesTileMaxCols);
    const int64_t panel_size = kImagesTileMaxCols * depth;
    // The smaller operand in the outer loop's L2, a tile of the other's in L1 for the inner loop.
    // With the panels outer, each is packed just before its tiles (into L1 at 7x7, batch 1).
    // Lost (Zen 5, batch 1, 1 thread, same-process A/B against main, 2026-12-07): panels always
    // outer (B in L1, A's rows from L2) 0.985-1.0x the time at 14x14, 7x7 even; tiles of 6 rows
    // over two panels at once (6 broadcasts per 24 FMAs, A read once per pair) 0.96-1.03x per
    // layer depending on the order of the runs, sums 0.993-0.997x both ways round (noise).
    const bool rows_outer = cols <= rows;
    std::vector<float>& packed = thread_buffer<float, InPlaceColumns>();
    packed.resize(static_cast<size_t>((rows_outer ? panels : 1) * panel_size));
    auto pack = [&](int64_t j, float* panel) {
        const int64_t panel_cols = std::min(kImagesTileMaxCols, cols - j * kImagesTileMaxCols);
        for (int64_t n = 0; n < images; ++n) {
            pack_image(n, j * kImagesTileMaxCols, panel_cols, panel + n * positions * kImagesTileMaxCols);
        }
    };
    auto tile = [&](int64_t i, int64_t j, const float* panel, bool fetch_next) {
        const int64_t next = i + kImagesTileMaxRows;
        const float* next_a =
            fetch_ahead && fetch_next && next + kImagesTileMaxRows <= rows ? a + next * positions : nullptr;
        pointwise_filter_images_tile_avx512(a + i * positions, positions, a_image_stride,
                                            std::min(kImagesTileMaxRows, rows - i), panel, images, positions,
                                            c + i * ldc + j * kImagesTileMaxCols, ldc,
                                            std::min(kImagesTileMaxCols, cols - j * kImagesTileMaxCols), first,
                                            next_a);
    };
    // With fetch_ahead, each tile but the last fetches the next tile's rows of A as it goes (with
    // the rows outer, in the row tile's last panel).
    if (rows_outer) {
        for (int64_t j = 0; j < panels; ++j) pack(j, packed.data() + j * panel_size);
        for (int64_t i = 0; i < rows; i += kImagesTileMaxRows) {
            for (int64_t j = 0; j < panels; ++j) tile(i, j, packed.data() + j * panel_size, j == panels - 1);
        }
    } else {
        for (int64_t j = 0; j < panels; ++j) {
            pack(j, packed.data());
            for (int64_t i = 0; i < rows; i += kImagesTileMaxRows) tile(i, j, packed.data(), true);
        }
    }
}
#endif

}  // namespace

bool gathers_stride2_rows(const WindowGeometry& g) {
    return cpu::active_isa() == MLN_ISA_AVX512 && g.stride[2] == 2 && g.out[0] == 1;
}

#if defined(MYELIN_X86_64_KERNELS)
namespace {

// The broadcast kernel's driver: every element of dW is summed in one order whatever the thread
// count: over the slice's images in order, positions in order within a lane, the slices added in
// order at the end; threads split a slice's rows of A, which changes no sum.
void conv_pointwise_backward_filter_broadcast_f32(const ConvArgs& a) {
    const int64_t positions = a.geometry.out_size();
    const int64_t channels = a.channels;          // of x: dW's columns
    const int64_t out_channels = a.out_channels;  // of dy: dW's rows
    const bool x_as_b = pointwise_filter_broadcast_takes_x(a);
    const int64_t a_rows = x_as_b ? out_channels : channels;
    const int64_t b_rows = x_as_b ? channels : out_channels;
    const float* x = static_cast<const float*>(a.x.data);
    const float* dy = static_cast<const float*>(a.y.data);
    const float* a_source = x_as_b ? dy : x;
    const float* b_source = x_as_b ? x : dy;
    float* dw = static_cast<float*>(a.w.data);
    const int64_t filter_size = out_channels * channels;
    const bool avx512 = cpu::active_isa() == MLN_ISA_AVX512;
    const int64_t lanes = avx512 ? kBroadcastLanes : kBroadcastLanesAvx2;
    const auto block_sums = avx512 ? pointwise_filter_broadcast_block_avx512 : pointwise_filter_broadcast_block_avx2;
    // The sum runs over units: parts of an image's positions (whole images from batch
    // kBroadcastMinUnits on), cut into slices.
    const int64_t parts =
        std::max<int64_t>(1, std::min(kBroadcastMinUnits / a.batch, positions / kBroadcastMinPartPositions));
    auto part_start = [&](int64_t part) {
        return part == parts ? positions : positions * part / parts / lanes * lanes;
    };
    const int64_t units = a.batch * parts;
    const int64_t slices = pointwise_filter_slices(units, a.batch * (channels + out_channels) * positions, filter_size);
    const int64_t width = ceil_div(b_rows, lanes) * lanes;  // of Bt: 16 or 32 (AVX2: 16, 24 or 32)
    const int64_t blocks = ceil_div(positions * width, kBroadcastBlockFloats);
    const int64_t block = ceil_div(ceil_div(positions, blocks), lanes) * lanes;
    // Tasks: (slice, range of A's rows), as few ranges as fill the pool (each range
    // transposes all of its slice's B).
    const int64_t row_units = ceil_div(a_rows, kBroadcastRangeAlign);
    const int64_t threads = cpu::thread_pool().thread_count();
    const int64_t ranges = parts_to_fill_threads(slices, row_units, threads);
    std::vector<float>& slice_sums = thread_buffer<float, SliceSums>();
    slice_sums.resize(static_cast<size_t>((slices - 1) * filter_size));
    cpu::for_each_claimed(slices * ranges, threads, [&](int64_t task) {
        const int64_t slice = task / ranges;
        const int64_t row0 = row_units * (task % ranges) / ranges * kBroadcastRangeAlign;
        const int64_t row_end = std::min(a_rows, row_units * (task % ranges + 1) / ranges * kBroadcastRangeAlign);
        if (row_end <= row0) return;
        std::vector<float>& bt = thread_buffer<float, BroadcastTransposed>();
        bt.resize(static_cast<size_t>(block * width));
        std::vector<float>& acc = thread_buffer<float, BroadcastSums>();
        acc.assign(static_cast<size_t>((row_end - row0) * width), 0.0f);
        for (int64_t unit = units * slice / slices; unit < units * (slice + 1) / slices; ++unit) {
            const int64_t n = unit / parts;
            const float* a_image = a_source + (n * a_rows + row0) * positions;
            const float* b_image = b_source + n * b_rows * positions;
            const int64_t part_end = part_start(unit % parts + 1);
            for (int64_t p0 = part_start(unit % parts); p0 < part_end; p0 += block) {
                const int64_t count = std::min(block, part_end - p0);
                block_sums(b_image + p0, positions, b_rows, width, a_image + p0, positions, row_end - row0, count,
                           bt.data(), acc.data());
            }
        }
        float* dw_slice = slice > 0 ? slice_sums.data() + (slice - 1) * filter_size : dw;
        if (x_as_b) {
            for (int64_t r = row0; r < row_end; ++r) {
                const float* sums = acc.data() + (r - row0) * width;
                std::copy(sums, sums + b_rows, dw_slice + r * channels);
            }
        } else {
            // dW's columns row0 .. row_end - 1 in 16 x 16 register transposes: element by element,
            // a store per line of dW, they took 4% of MobileNet-v2's 144->32 at 28x28 (batch 1).
            transpose_tiles(acc.data(), width, b_rows, row_end - row0, dw_slice + row0, channels);
        }
    });
    add_slice_sums(dw, slice_sums.data(), slices, filter_size);
}

}  // namespace
#endif

bool conv_pointwise_backward_filter_broadcast(const ConvArgs& a) {
#if defined(MYELIN_X86_64_KERNELS)
    const int64_t positions = a.geometry.out_size();
    const mln_isa isa = cpu::active_isa();
    const bool serves = (isa == MLN_ISA_AVX512 || isa == MLN_ISA_AVX2) && a.w.dtype == MLN_DTYPE_F32 && a.groups == 1 &&
                        a.geometry.in_size() == positions &&
                        positions >= (isa == MLN_ISA_AVX512 ? kBroadcastMinPositions : kBroadcastMinPositionsAvx2) &&
                        (broadcast_transposes(a.channels, a.out_channels) ||
                         broadcast_transposes(a.out_channels, a.channels));
    if (!serves) return false;
    conv_pointwise_backward_filter_broadcast_f32(a);
    return true;
#else
    return false;
#endif
}

bool pointwise_filter_broadcast_takes_x(const ConvArgs& a) {
    return broadcast_transposes(a.channels, a.out_channels);
}

bool pointwise_filter_gemm_fills_columns(const ConvArgs& a, int64_t nr) {
    const int64_t channels = a.channels / a.groups;
    const int64_t out_channels = a.out_channels / a.groups;
    const int64_t columns = gemm_transposed(a) ? out_channels : channels;
    return columns * 5 >= ceil_div(columns, nr) * nr * 4;
}

template <class T>
void conv_pointwise_backward_filter_gemm(const ConvArgs& a) {
    const WindowGeometry& geometry = a.geometry;
    const int64_t positions = geometry.out_size();
    const int64_t in_size = geometry.in_size();
    const bool strided = in_size != positions;
    const T* x = static_cast<const T*>(a.x.data);
    const int64_t channels = a.channels / a.groups;          // of x per group: dW's columns
    const int64_t out_channels = a.out_channels / a.groups;  // of dy per group: dW's rows
    const int64_t filter_size = a.out_channels * channels;
    const T* dy = static_cast<const T*>(a.y.data);
    T* dw = static_cast<T*>(a.w.data);
    const int64_t shape_slices = std::max(
        pointwise_filter_slices(a.batch, a.batch * (a.channels + a.out_channels) * positions, filter_size),
        strided && a.batch >= kStridedMinSlices * kStridedMinSliceImages ? kStridedMinSlices : int64_t{1});
    // AVX-512 f32 sums the images in place (sum_images_in_place), for every shape the GEMMs per
    // chunk or the packing across images serve elsewhere.
    const bool in_place = std::is_same_v<T, float> && cpu::active_isa() == MLN_ISA_AVX512;
    const bool across = !in_place && positions <= kAcrossMaxPositions && out_channels <= channels &&
                        out_channels * channels * static_cast<int64_t>(sizeof(T)) <= kAcrossMaxFilterBytes &&
                        a.batch >= kAcrossMinSliceImages * std::max(shape_slices, kAcrossMinSlices);
    const int64_t slices = across     ? std::max(shape_slices, kAcrossMinSlices)
                           : in_place ? in_place_slices(shape_slices)
                                      : shape_slices;
    const int64_t chunk_depth = out_channels * channels * static_cast<int64_t>(sizeof(T)) > kLargeFilterBytes
                                    ? kLargeFilterChunkDepth
                                    : kChunkDepth;
    const int64_t chunk_images = std::max<int64_t>(1, chunk_depth / std::max<int64_t>(positions, 1));
    // Tasks: (slice, group, block of the GEMMs' rows), each running its GEMMs on its own thread;
    // the rows are split only as far as filling the pool needs. (Tasks one after another with
    // each GEMM spread over the pool took twice the time on 2 threads: MobileNet-v2's 7x7 layers
    // at batch 32, one slice, GEMMs 49 deep.) Each element of dW is still summed in one order.
    // Claimed with affinity (thread_pool.hpp), so that call after call a thread writes the same
    // slices' rows, lines already in its own cache (2 threads, batch 32, A/B in one process:
    // MobileNet-v2 64->384, 384->64, 384->96 at 14x14, where 7 and 5 slices each split their rows
    // in two, 0.83-0.93x the time in two runs at load 1.5-4, 0.96-1.03x in three at load 9-13;
    // 7x7 layers and ResNet-18's downsamples 0.95-1.01x).
    const int64_t threads = cpu::thread_pool().thread_count();
    const int64_t units = slices * a.groups;
    // Where the rows are split, each block's task packs all of B (and copies it, in chunks): B is
    // then the operand with fewer rows whatever the positions (the orientation changes no bits).
    // The two tasks of a split run one after the other on 1 thread (CPU time, A/B in one process,
    // loaded machine: MobileNet-v2 7x7 at batch 32): 960->160 0.76x, 960->320 0.89x, 576->160
    // 0.95x the time of both packing x; two slices instead of a split took 0.95-1.10x of this.
    const bool rows_split = tasks_underfill(units, threads);
    // (Again only where x's packing saved, x's rows over the batch, is kSplitPackingPerTransposed
    // times dW's elements: at batch 1 the 7x7 layers above took 1.5-1.7x the time transposed.)
    const bool split_transposed =
        channels > out_channels &&
        (out_channels <= kMaxRowsTransposed || a.batch * positions >= kSplitPackingPerTransposed * out_channels);
    const bool transposed = !across && (rows_split ? split_transposed : gemm_transposed(a));
    // A strided layer's x, as B of the sums in place, gathered straight into B's panels where its
    // rows of stride 2 hold kPanelGatherMinRow outputs or more (gathers_stride2_rows), rather
    // than gathered compact and then packed: one pass over x instead of two. ResNet-18's 1x1/2,
    // A/B in one process, 1 thread, min/median: 64->128 (28 outputs a row) batch 1 0.96-0.97x the
    // time, batch 2-12 0.96-0.99x, batch 32 1.01x (x from memory; 1.055x before the panel gather
    // fetched its rows 2 rows ahead); 128->256 (14) 0.97-0.99x; 256->512 (7 outputs: pieces of
    // 16 half empty) took 1.03-1.04x, so it gathers compact.
    const bool gathers_into_panels = in_place && strided && !transposed && gathers_stride2_rows(geometry) &&
                                     geometry.out[2] >= kPanelGatherMinRow;
    const int64_t gemm_rows = transposed ? channels : out_channels;
    const int64_t max_row_blocks = std::max<int64_t>(1, gemm_rows / kRowBlockAlign);
    const int64_t row_blocks = parts_to_fill_threads(units, max_row_blocks, threads);
    auto row_block_start = [&](int64_t block) {
        return block == row_blocks ? gemm_rows : gemm_rows * block / row_blocks / kRowBlockAlign * kRowBlockAlign;
    };
    // The slices' sums: slice 0's is dW itself, but for a transposed GEMM (every slice's dW^T).
    std::vector<T>& sums = thread_buffer<T, SliceSums>();
    sums.resize(static_cast<size_t>((transposed ? slices : slices - 1) * filter_size));
    cpu::for_each_claimed_affine(units * row_blocks, threads, [&](int64_t task) {
        const int64_t slice = task / row_blocks / a.groups;
        const int64_t g = task / row_blocks % a.groups;
        const int64_t row0 = row_block_start(task % row_blocks);
        const int64_t rows = row_block_start(task % row_blocks + 1) - row0;
        if (rows == 0) return;
        T* c;  // the task's rows of dW_g, or of dW_g^T
        if (transposed) {
            c = sums.data() + slice * filter_size + (g * channels + row0) * out_channels;
        } else {
            T* dw_slice = slice > 0 ? sums.data() + (slice - 1) * filter_size : dw;
            c = dw_slice + (g * out_channels + row0) * channels;
        }
        // The rows of x and dy the task reads: all of B's, its block of A's.
        const int64_t x_row0 = transposed ? row0 : 0;
        const int64_t x_rows = transposed ? rows : channels;
        const int64_t dy_row0 = transposed ? 0 : row0;
        const int64_t dy_rows_read = transposed ? out_channels : rows;
        const int64_t first = a.batch * slice / slices;
        const int64_t last = a.batch * (slice + 1) / slices;
        if (across) {
            // A: the task's rows of dy, B: all of x's.
            const T* dy_slice = dy + (first * a.out_channels + g * out_channels + dy_row0) * positions;
            const T* x_slice = x + (first * a.channels + g * channels + x_row0) * in_size;
            auto prepare = [&](int64_t image, int64_t images) {
                const T* x_block = x_slice + image * a.channels * in_size;
                int64_t x_image_stride = a.channels * in_size;
                if (strided) {
                    x_block = gather_images(geometry, x_rows, x_block, images, a.channels * in_size, positions);
                    x_image_stride = x_rows * positions;
                }
                const T* dy_block = dy_slice + image * a.out_channels * positions;
                const int64_t dy_image_stride = a.out_channels * positions;
                return AcrossBlock<T>{dy_block, dy_image_stride, x_block, x_image_stride};
            };
            sum_images_across(gemm_microkernel<T>(cpu::active_isa()), rows, channels, last - first, positions, prepare, c, channels);
        } else {
            const int64_t step_images =
                in_place ? in_place_chunk_images(out_channels, channels, positions) : chunk_images;
            for (int64_t n = first; n < last; n += step_images) {
                const int64_t images = std::min(step_images, last - n);
                const int64_t depth = images * positions;  // of the GEMM
                const T* columns = x + (n * a.channels + g * channels + x_row0) * in_size;
                int64_t column_image_stride = a.channels * positions;
                if (strided && !gathers_into_panels) {
                    // Gathered per chunk, while it stays in cache for the GEMM: a separate pass over
                    // the batch wrote and re-read the compact images (ResNet-18's 1x1/2 layers at
                    // batch 32, 1 thread: 64->128 took 1.5x the time of the same GEMMs at stride 1;
                    // gathered per chunk 0.91-0.93x the time of the separate pass, the others 0.97-1.0x).
                    columns = gather_images(geometry, x_rows, columns, images, a.channels * in_size, positions);
                    column_image_stride = x_rows * positions;
                }
                const T* dy_rows = dy + (n * a.out_channels + g * out_channels + dy_row0) * positions;
#if defined(MYELIN_X86_64_KERNELS)
                if constexpr (std::is_same_v<T, float>) {
                    if (in_place) {
                        // A and B: dy's rows and x's, or x's and dy's where transposed.
                        const int64_t b_rows = transposed ? out_channels : channels;
                        const int64_t dy_image_stride = a.out_channels * positions;
                        const T* a_rows = transposed ? columns : dy_rows;
                        const T* b_rows_data = transposed ? dy_rows : columns;
                        const int64_t b_image_stride = transposed ? dy_image_stride : column_image_stride;
                        auto pack_rows = [&](int64_t image, int64_t col0, int64_t panel_cols, float* panel) {
                            const float* from = b_rows_data + image * b_image_stride + col0 * positions;
                            pointwise_filter_images_panel_avx512(from, positions, panel_cols, positions, panel);
                        };
                        auto gather_rows = [&](int64_t image, int64_t col0, int64_t panel_cols, float* panel) {
                            const float* from = columns + image * a.channels * in_size + col0 * in_size;
                            pointwise_filter_images_panel_stride2_avx512(
                                from, in_size, panel_cols, geometry.out[1], geometry.stride[1] * geometry.in[2],
                                geometry.out[2], a.batch * a.channels * in_size - (from - x), panel);
                        };
                        const int64_t a_image_stride = transposed ? column_image_stride : dy_image_stride;
                        // (x gathered per chunk as A is in cache.)
                        const bool fetch_ahead =
                            !(transposed && strided) &&
                            a.batch * gemm_rows * positions * static_cast<int64_t>(sizeof(float)) >=
                                kNextTilePrefetchBytes;
                        if (gathers_into_panels) {
                            sum_images_in_place(a_rows, a_image_stride, rows, gather_rows, b_rows, images, positions,
                                                c, b_rows, n == first, fetch_ahead);
                        } else {
                            sum_images_in_place(a_rows, a_image_stride, rows, pack_rows, b_rows, images, positions, c,
                                                b_rows, n == first, fetch_ahead);
                        }
                        continue;
                    }
                }
#endif
                if (images > 1) {
                    std::vector<T>& column_buffer = thread_buffer<T, ChunkColumns>();
                    column_buffer.resize(static_cast<size_t>(x_rows * depth));
                    copy_rows_side_by_side(columns, x_rows, images, column_image_stride, positions,
                                           column_buffer.data());
                    columns = column_buffer.data();
                    std::vector<T>& row_buffer = thread_buffer<T, ChunkRows>();
                    row_buffer.resize(static_cast<size_t>(dy_rows_read * depth));
                    copy_rows_side_by_side(dy_rows, dy_rows_read, images, a.out_channels * positions, positions,
                                           row_buffer.data());
                    dy_rows = row_buffer.data();
                }
                const double beta = n == first ? 0.0 : 1.0;
                if (transposed) {
                    // dW_g^T (Cg x Mg) = x rows * dy rows^T.
                    gemm_rowmajor<T>(false, true, rows, out_channels, depth, columns, depth, dy_rows, depth,
                                     c, out_channels, beta);
                } else {
                    gemm_rowmajor<T>(false, true, rows, channels, depth, dy_rows, depth, columns, depth, c,
                                     channels, beta);
                }
            }
        }
        // A single slice's dW^T rows are final: the task turns them into dW's columns while they
        // are in cache, rather than a pass over all of dW^T in a parallel region of its own (on 2
        // threads at batch 1 that pass cost MobileNet-v2's 14x14 layers 1.03-1.2x the time).
        if (transposed && slices == 1) {
            transpose_tiles(c, out_channels, out_channels, rows, dw + g * out_channels * channels + row0, channels);
        }
    });
    if (transposed) {
        if (slices > 1) add_transposed_slice_sums(dw, sums.data(), slices, a.groups, out_channels, channels);
    } else {
        add_slice_sums(dw, sums.data(), slices, filter_size);
    }
}

int64_t pointwise_filter_slices(int64_t units, int64_t input_elements, int64_t filter_size) {
    return std::max<int64_t>(1, std::min({units, kMaxSlices, input_elements / kPartialsShare / std::max<int64_t>(filter_size, 1)}));
}

template <class T>
void add_slice_sums(T* dw, const T* copies, int64_t slices, int64_t size) {
    if (slices <= 1) return;
    cpu::parallel_for(size, 1024, [&](int64_t begin, int64_t end) {
        // Copy by copy, in slice order (the same sums as element by element; the loop over the
        // elements vectorizes).
        for (int64_t slice = 1; slice < slices; ++slice) {
            const T* copy = copies + (slice - 1) * size;
            for (int64_t i = begin; i < end; ++i) dw[i] += copy[i];
        }
    });
}

template <class T>
void add_transposed_slice_sums(T* dw, T* copies, int64_t slices, int64_t groups, int64_t rows, int64_t cols) {
    // The copies summed into the first where they lie (contiguous), then that one transposed.
    const int64_t group_size = rows * cols;
    add_slice_sums(copies, copies + groups * group_size, slices, groups * group_size);
    const int64_t row_blocks = ceil_div(rows, kTransposeTile);
    const int64_t col_blocks = ceil_div(cols, kTransposeTile);
    cpu::parallel_for(groups * row_blocks * col_blocks, 16, [&](int64_t begin, int64_t end) {
        for (int64_t block = begin; block < end; ++block) {
            const int64_t g = block / (row_blocks * col_blocks);
            const int64_t row0 = block / col_blocks % row_blocks * kTransposeTile;
            const int64_t col0 = block % col_blocks * kTransposeTile;
            transpose_tiles(copies + g * group_size + col0 * rows + row0, rows,
                            std::min(kTransposeTile, rows - row0), std::min(kTransposeTile, cols - col0),
                            dw + g * group_size + row0 * cols + col0, cols);
        }
    });
}

template void conv_pointwise_backward_filter_gemm<float>(const ConvArgs&);
template void conv_pointwise_backward_filter_gemm<double>(const ConvArgs&);
template void add_slice_sums<float>(float*, const float*, int64_t, int64_t);
template void add_slice_sums<double>(double*, const double*, int64_t, int64_t);
template void add_transposed_slice_sums<float>(float*, float*, int64_t, int64_t, int64_t, int64_t);
template void add_transposed_slice_sums<double>(double*, double*, int64_t, int64_t, int64_t, int64_t);

}  // namespace mln::kernels
