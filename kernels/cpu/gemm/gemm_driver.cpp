// Cache-blocked, packed, multithreaded GEMM (BLIS loop structure), plus an unpacked path for
// small matrices.
//
// Packed path (see PackedSchedule below for the tasks and their order):
//   for each NC column block                          -> pack B for all of K (shared by the
//                                                        threads, double-buffered)
//     for each MC row block (one task each)
//       for each KC depth block                       -> pack A block (the member's buffer)
//         for each NR column panel, each MR row panel -> micro-kernel (+ fused epilogue on
//                                                        the last depth block)
// Threads claim tasks in order from one counter, so they split M dynamically and a thread
// that starts late or shares its core with another process slows only its own task.
//
// Unblocked path (up to moderate sizes, one thread or a team): no cache blocking; each C tile
// is one micro-kernel call over all of K. Operands are read in place where that is fast (see
// plan_unblocked), else packed whole once and shared by the team. A B with contiguous rows is
// packed by the first row tile run against each panel, on the way (GemmCopyingMicroKernel),
// instead of in a pass before any product, where one thread runs the product or the team's
// blocks span all rows. Zen 5, CPU time per call, median of 61 alternating batches under load,
// against packing first, one thread: 256^3 0.99x (A transposed 0.99x), 128x256x784
// 0.95-0.99x, 784x256x128 and 512^3 1.00x; two threads (wall time, the fastest of 301 batches,
// a machine loaded 4x over: medians meaningless): 256^3 0.82-0.97x, 784x256x128 0.94-0.95x,
// 128x256x784 0.74-0.75x. Any other B packed whole (transposed: no copying kernel reads it) is
// packed by the same blocks, each panel just before its first row tile, instead of by the team
// in a pass that every block waited for: Zen 5, two threads, gemm_vs_openblas (median of 9
// batches, 2 runs, GFLOP/s before / after) NT 128x784x256 243-258 / 318-319, 128x256x128
// 224-239 / 267-283, 256x128x128 254-279 / 279-310, 256^3 302-310 / 334-356, 128x128x256
// 180-245 / 280-295 (one member still packs it whole first: plan_b_packing).
//
// beta applies to the first depth block only; later blocks accumulate (beta 1). The epilogue
// (bias, residual, activation) runs on each tile right after its last depth block.
#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <new>
#include <thread>

#include "core/dtype.hpp"
#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/gemm/gemm_epilogue.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"
#include "kernels/cpu/gemm/gemm_pack.hpp"

namespace mln::kernels {
namespace {

// Blocking, in bytes so that float and double fill the caches alike: an MC x KC block of A and
// a KC x NR panel of B in L2 (1 MiB on Zen 5), a K x NC block of B in L3. Each depth block
// costs a pass over the block's C (load, add, store, a tile's rows often a power of two apart):
// fewer passes gain more than a B panel in L1 (KC 256, 32 KiB) did, and the hardware prefetcher
// keeps the micro-kernel fed from L2. Zen 5, same-process A/B (median of 10-12 alternating
// batches, GFLOP/s, KC 256 / MC 240 against KC 1024 / MC 128): 2048^3 one thread 175-190 /
// 185-201, two threads 328-334 / 356-368; 1024^3 one thread 197 / 202, two threads 300 / 331.
// MC 80-200 at KC 1024 and KC 2048 / MC 64 measured the same as MC 128, MC 240 and 512 at
// KC 1024 1-5% slower. On Zen 3 too (32 KiB L1, AVX2 kernel, one thread, same-process A/B,
// median time of 101 batches) KC 256 lost: 128x256x784 1.01-1.04x, 512^3 1.01x, 1024^3 1.01-1.02x,
// 256x256x512 1.01-1.03x. The 240-row bound (Zen 3, KC 256) stays for shallow products. Tried at
// 2048^3, not faster: prefetching the next B panel into L2 during the current one's tiles
// (0.95-0.96x), the next A block before its packing (0.97-0.99x), NC for 8-16 MiB of packed B
// (fewer repacks of A; 0.98-1.01x).
constexpr int64_t kDepthBlockBytes = 1024 * 4;
constexpr int64_t kRowBlockBytes = 240 * 4;
constexpr int64_t kPackedABlockBytes = 512 << 10;
// Packed B for a whole column block (K x NC), double-buffered: a share of the 32 MiB L3.
constexpr int64_t kPackedBBytes = 4 << 20;
// The unblocked path (gemm_unblocked) reads B in place up to this size even when its rows are
// strided or far apart: it then stays in L1 (48 KiB on Zen 5), where packing it would cost
// more than it saves (64^3 on Zen 5: 200 GFLOP/s with B in place, 188 packed; 96^3 with the
// AVX2 kernel 111 / 104; 128^3, B 64 KiB: 205 / 209). Each B panel serves every row tile, so
// it must stay in L1, which a large B read in place with a power-of-two row stride does not.
// In row tile order B streams from L2 either way, yet B of 128 KiB in place was no faster
// (784x256x128, one thread, same-process A/B: 0.99-1.01x).
constexpr int64_t kInPlaceBBytes = 48 << 10;
// A transposed (its columns contiguous) is read in place up to this size (half of L2 on Zen 5).
// Each A panel is read once per column panel, from L2 either way, and packing A whole costs a
// copy before any product, which a team shares across cores and waits for. In place against
// packed whole (Zen 5, one thread, CPU time per call, median of 7 runs under load): 256^3
// 177 / 179 us, 128x256x784 287 / 287, 784x256x128 266 / 274. At 512^3 (1 MiB, row stride
// 2 KiB: an A panel falls into two L1 sets) the runs disagreed, so it stays packed on one
// thread. A team reads it in place at any size: packed, each member packed a share that every
// block then read, and waited for the others' shares first. Zen 5, two threads, same-process
// A/B (median of 21-31 alternating batches, time in place / packed): TN 512^3 0.92-0.94,
// 768x256x512 0.81, 384x384x768 0.81, 1000x128x512 0.83, 1000x128x1024 (A^T 4 MB) 0.80,
// 640x200x1024 0.94; TT 512^3 0.89, 512x256x1024 0.91. One thread, 512^3 TT: 1.04-1.06.
constexpr int64_t kInPlaceTransposedABytes = 512 << 10;
// ... and only while A's rows (op(a)'s columns) are shorter than a page: from 4 KiB on, each
// depth step of an in-place panel falls on a new page. Packed instead (Zen 5, one thread, CPU
// time, min of 21 batches, TN / TT): 1024x1024x64 1.16 / 1.14x, 2048x512x32 1.15 / 1.14x,
// 1024x256x64 1.09 / 1.11x, 1024x128x128 1.07 / 1.06x; 768x768x64 (3 KiB rows) stays in place.
constexpr int64_t kPageBytes = 4096;
// The most the unblocked path packs (A and B together). Up to there it ran as fast as or faster
// than the blocked path on Zen 5 (one thread, min of batches): 128x256x784 208 / 194 GFLOP/s,
// 512^3 212 / 209, 256^3 with A transposed 210 / 188; at 768^3, whose packed B alone is
// 2.3 MiB, the blocked path was ahead with A transposed (190 / 194).
constexpr int64_t kUnblockedPackedBytes = 2 << 20;
// Blocks of C tiles per team member on the unblocked path. One: blocks span all rows (split by
// columns while there are columns enough) and each reads all of A: a second block per member
// read A again (a few hundred KiB at 784x256x128, beside C and the residual in L2). Zen 5, two
// threads, same-process A/B (median of 21-31 alternating batches, time one / two blocks per
// member): 784x256x128 0.98-0.99 (with bias + ReLU + residual 0.98), 256^3 0.98, NT 0.98,
// 128x128x256 0.96, 128x256x784 0.99, 512^3 0.98; gemm_vs_openblas (2 runs per library) agreed.
// The tail that two blocks were to shorten did not show: with another real-time process taking
// one core half the time (0.5 ms on, 0.5 ms off), 784x256x128 1.01, 256^3 0.90, 128x128x256 1.00.
constexpr int64_t kUnblockedBlocksPerMember = 1;
// Tile order on the unblocked path. Column panel by column panel (all row tiles against one B
// panel, which stays in L1), the C tiles and residual tiles of one B panel lie down a column of
// row-major matrices, 2 lines per row at one row stride (1 KiB for N = 256), so they crowd a
// few L2 sets and evict A; in strips of kStripTiles row tiles, or row tile by row tile (one
// tile of A against every B panel of the block), each C and residual row is taken whole.
// Strips where such a strip of A and a B panel fit in L1 (48 KiB on Zen 5): 784x256x128 on
// Zen 5 (one thread, CPU time per call, median of 5 runs under load, all rows / strips of 2, 4,
// 8 tiles): plain 270 / 269, 272 / 267, 272 / 269 us; with bias + ReLU + residual 298 / 289,
// 305 / 287, 303 / 290. Deeper products gain nothing: 256^3 173 / 172, 128x256x784 268 / 272;
// 64^3 and 128^3, all in L1, stay within 1%.
// Row tile by row tile reads all of the block's B again for every row tile, so it is taken only
// where the block's B fits in half of L2 (1 MiB) and a tile of A and a B panel in half of L1.
// Against strips of 4 (Zen 5, one thread, CPU time per call, median of 41-121 alternating
// batches, 2-3 runs under load), with bias + ReLU + residual: 784x256x128 0.96-0.99x,
// 256x1024x64 0.86-0.88x, 128x2048x64 0.84x, 512x512x128 0.97x; plain products 0.98-1.01x.
// Beyond those limits it lost: B up to 1 MiB, 128x1024x256 fused 1.06x and 64x2048x128 plain
// 1.02x; a tile of A and a B panel up to all of L1, 128x128x256 with A transposed 1.01-1.02x.
// Only for kernels that measured faster (GemmMicroKernelInfo::row_tile_order): the AVX2 float
// kernel run on Zen 5 gave 0.99-1.01x, the AVX-512 double one 1.00-1.05x (256x1024x64 plain
// 1.04-1.05x, fused 1.05-1.07x; 784x256x128 fused 1.01-1.02x). Prefetching the next row tile
// of A (in place) across the current one's tiles lost (784x256x128, one thread, 1.01-1.02x),
// as did walking every other row tile's panels backwards, so the turn's B panel is read again
// from L1 (bias + ReLU + residual, --baseline, 41 batches: 1.00-1.02x, swapped 0.99-1.01;
// 2026-12-07).
// In a team whose blocks share out the columns, strips of kStripTiles instead of row tile order
// measured even (Zen 5, two threads, --baseline both ways round, 31 batches, 2026-12-07):
// 784x256x128 0.96-1.01 plain and with bias + ReLU + residual, 1024x128x64 0.91-1.04,
// 256x512x128 1.01-1.03.
constexpr int64_t kStripTiles = 4;
constexpr int64_t kStripL1Bytes = 48 << 10;
constexpr int64_t kRowTileL1Bytes = 24 << 10;
constexpr int64_t kRowTileBBytes = 512 << 10;
// Row blocks per member in a team, and the fewest MR tiles in a row block (each block reloads
// the B panels from L2, so very thin blocks would cost more than they balance).
constexpr int64_t kRowBlocksPerMember = 2;
constexpr int64_t kMinimumRowBlockTiles = 8;
// A full tile's residual is read only by its kernel's epilogue; for tiles deeper than this,
// the driver prefetches it as the kernel starts (unless the kernel does at every depth:
// GemmMicroKernelInfo::prefetches_residual, the AVX2 ones). Where C is walked down its columns (512^3
// unblocked, the packed path), the hardware prefetcher did not bring it in by then. Zen 5,
// one thread, bias + ReLU + residual, same-process A/B, median of 21 alternating batches, time
// with / without: 512^3 0.95-1.00, 1024^3 0.98-0.99. In shallower tiles (784x256x128 in row
// tile order, 256^3) it changed nothing; nor, on two threads (784x256x128, blocks a few panels
// wide walking down C), did prefetching the next row tile's residual after each tile (0.99-1.01x).
// Taken at every depth again (784x256x128, median of 61 batches, 3 runs): NN 0.997-1.006, TN
// 0.999-1.001, 64^3 1.009. What the residual costs there follows where it comes from: a loop of
// the kernel over the tiles in row tile order (B packed), bias + ReLU + residual against plain,
// cost 1.02-1.03x time with 8 residual rows read over and over (L1), 1.03-1.04x with 64 (64 KiB),
// 1.06-1.07x with 256, 1.07-1.10x with all 784 (800 KiB, from L3); prefetching it from the kernel
// (at its start, half way down K, the next tile's, the next row tile's into L1 or L2) got back
// 0-2% of that. Zen 5 again (gemm_vs_openblas --baseline, bias + ReLU + residual, fastest / median
// of 301 batches, 2 runs each way round, time at every depth / from 256): 784x256x128
// 0.98-1.02, 64^3 0.99-1.02, 128x128x256 and 256^3 0.98-1.03; prefetching the next row tile's
// residual tile by tile (a loop of the kernel over 784x256x128's tiles) into L1 1.00-1.01, into
// L2 1.00-1.01; in the library too (run_unblocked_block in row tile order: before each tile, the
// next row tile's rows of its columns, prefetcht1), 784x256x128 fused, --baseline, 61 batches,
// 2 runs each way round: 0.99-1.02x main's time, swapped 0.97-1.00x (2026-12-07).
constexpr int64_t kPrefetchResidualMinDepth = 256;

// A grow-only, cache-line aligned buffer (one per calling thread, reused across calls).
template <class T>
class Workspace {
public:
    T* get(int64_t count) {
        if (count > capacity_) {
            data_.reset(new (std::align_val_t(64)) T[static_cast<size_t>(count)]);
            capacity_ = count;
        }
        return data_.get();
    }

private:
    struct Free {
        void operator()(T* p) const { ::operator delete[](p, std::align_val_t(64)); }
    };
    std::unique_ptr<T[], Free> data_;
    int64_t capacity_ = 0;
};

// The bias as a zero-padded vector (thread_scratch.hpp, beside the packing workspace).
struct BiasVector;

template <class T>
struct Problem {
    MatrixRef<T> a;
    MatrixRef<T> b;
    T* c;
    int64_t c_row_stride;
    int64_t c_col_stride;
    int64_t m, n, k;
    T alpha;
    T beta;
    const T* bias;  // contiguous, padded with zeros to a multiple of NR; nullptr for none
    MatrixRef<T> residual;
    bool has_residual;
    bool residual_in_kernel;  // unit column stride: the micro-kernel adds it
    bool relu_in_kernel;      // the activation is ReLU and nothing comes after the kernel
    bool has_epilogue;        // bias, residual or activation
    bool epilogue_in_kernel;  // the micro-kernel does all of it (GemmTileExtras)
    GemmActivation<T> activation;
    GemmMicroKernelInfo<T> micro;
};

// Runs `kernel`, or where b_copy is given the micro-kernel that also packs the B panel it reads
// there (GemmCopyingMicroKernel; any A strides, so it stands in for either kernel).
template <class T>
MLN_ALWAYS_INLINE void run_kernel(const Problem<T>& p, GemmMicroKernel<T> kernel, T* b_copy,
                                                      int64_t depth, const T* a, int64_t a_row_stride,
                                                      int64_t a_col_stride, const T* b, int64_t b_row_stride, T* c,
                                                      int64_t ldc, T beta, const GemmTileExtras<T>* extras) {
    if (b_copy != nullptr) {
        p.micro.strided_copying_b(depth, a, a_row_stride, a_col_stride, b, b_row_stride, b_copy, c, ldc, p.alpha,
                                  beta, extras);
        return;
    }
    kernel(depth, a, a_row_stride, a_col_stride, b, b_row_stride, c, ldc, p.alpha, beta, extras);
}

// One MR x NR tile (rows x cols valid) of C at (row, col) from the given operands: any tile,
// any epilogue (compute_tile below takes the common case inline). With b_copy, the B panel read
// is also packed there (run_kernel). An edge tile of unit-stride C goes straight to C through
// the edge micro-kernel where the set has one (and no B panel is to be copied).
template <class T>
void compute_any_tile(const Problem<T>& p, GemmMicroKernel<T> kernel, int64_t depth, const T* a,
                      int64_t a_row_stride, int64_t a_col_stride, const T* b, int64_t b_row_stride, int64_t row,
                      int64_t col, int64_t rows, int64_t cols, T beta, bool last, T* b_copy) {
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    T* const c_tile = p.c + row * p.c_row_stride + col * p.c_col_stride;
    const bool full = rows == mr && cols == nr;
    if (p.c_col_stride == 1 && (full || (p.micro.edge != nullptr && b_copy == nullptr))) {
        const GemmTileExtras<T> extras{p.bias != nullptr ? p.bias + col : nullptr,
                                       p.residual_in_kernel ? &p.residual(row, col) : nullptr,
                                       p.residual.row_stride, p.relu_in_kernel};
        const bool fused = last && (extras.bias != nullptr || extras.residual != nullptr || extras.relu);
        if (full) {
            run_kernel<T>(p, kernel, b_copy, depth, a, a_row_stride, a_col_stride, b, b_row_stride, c_tile,
                          p.c_row_stride, beta, fused ? &extras : nullptr);
        } else {
            p.micro.edge(static_cast<int>(rows), static_cast<int>(cols), depth, a, a_row_stride, a_col_stride, b,
                         b_row_stride, c_tile, p.c_row_stride, p.alpha, beta, fused ? &extras : nullptr);
        }
        if (!last) return;
        if (p.has_residual && !p.residual_in_kernel) {
            for (int64_t i = 0; i < rows; ++i) {
                for (int64_t j = 0; j < cols; ++j) c_tile[i * p.c_row_stride + j] += p.residual(row + i, col + j);
            }
        }
        if (p.activation != nullptr && !p.relu_in_kernel) p.activation(c_tile, rows, cols, p.c_row_stride, 1);
        return;
    }
    // Edge tile (without an edge kernel) or strided C: compute into scratch, then merge the valid part.
    T tile[kMaxMicroTile];
    run_kernel<T>(p, kernel, b_copy, depth, a, a_row_stride, a_col_stride, b, b_row_stride, tile, nr, T(0), nullptr);
    for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
            T& target = c_tile[i * p.c_row_stride + j * p.c_col_stride];
            T value = beta == T(0) ? tile[i * nr + j] : tile[i * nr + j] + beta * target;
            if (last && p.bias != nullptr) value += p.bias[col + j];
            if (last && p.has_residual) value += p.residual(row + i, col + j);
            target = value;
        }
    }
    if (last && p.activation != nullptr) p.activation(c_tile, rows, cols, p.c_row_stride, p.c_col_stride);
}

// Asks for the first and last cache line of each of a tile's rows (a micro-kernel row is at
// most 2 lines).
template <class T>
MLN_ALWAYS_INLINE void prefetch_tile(const T* tile, int64_t row_stride, int rows, int cols) {
    for (int i = 0; i < rows; ++i) {
        prefetch_for_read(tile + i * row_stride);
        prefetch_for_read(tile + i * row_stride + cols - 1);
    }
}

// compute_any_tile, with a full tile of unit-stride C whose epilogue the micro-kernel does
// handed to the micro-kernel in place: a call less per tile (64^3 is 16 tiles of 512 cycles).
template <class T>
MLN_ALWAYS_INLINE void compute_tile(const Problem<T>& p, GemmMicroKernel<T> kernel, int64_t depth,
                                                        const T* a, int64_t a_row_stride, int64_t a_col_stride,
                                                        const T* b, int64_t b_row_stride, int64_t row, int64_t col,
                                                        int64_t rows, int64_t cols, T beta, bool last,
                                                        T* b_copy = nullptr) {
    if (rows == p.micro.mr && cols == p.micro.nr && p.c_col_stride == 1 && (!last || p.epilogue_in_kernel)) {
        T* const c_tile = p.c + row * p.c_row_stride + col;
        if (!last || !p.has_epilogue) {
            run_kernel<T>(p, kernel, b_copy, depth, a, a_row_stride, a_col_stride, b, b_row_stride, c_tile,
                          p.c_row_stride, beta, nullptr);
            return;
        }
        const GemmTileExtras<T> extras{p.bias != nullptr ? p.bias + col : nullptr,
                                       p.has_residual ? &p.residual(row, col) : nullptr, p.residual.row_stride,
                                       p.relu_in_kernel};
        if (extras.residual != nullptr && !p.micro.prefetches_residual && depth > kPrefetchResidualMinDepth) {
            prefetch_tile(extras.residual, p.residual.row_stride, p.micro.mr, p.micro.nr);
        }
        run_kernel<T>(p, kernel, b_copy, depth, a, a_row_stride, a_col_stride, b, b_row_stride, c_tile, p.c_row_stride,
                      beta, &extras);
        return;
    }
    compute_any_tile(p, kernel, depth, a, a_row_stride, a_col_stride, b, b_row_stride, row, col, rows, cols, beta,
                     last, b_copy);
}

// Waits (spinning, then yielding) until `ready` holds. The awaited work is always claimed by
// a running member, so the wait ends once that member is scheduled.
template <class Ready>
void wait_until(Ready&& ready) {
    for (int polls = 0; !ready(); ++polls) {
        if (polls >= 2048) std::this_thread::yield();
    }
}

// The packed path as a list of tasks that team members claim in order from one counter, so
// a member that is descheduled (shared cores) delays only the task it holds, never the others.
// Per column block jc (NC columns, B packed for the whole depth K into one of two buffers):
//   pack tasks:    one per (depth block, chunk of NR panels)  -> write B buffer jc % 2
//   compute tasks: one per row block (all depth blocks in order, so a C tile is owned by
//                  one task and the epilogue follows its last depth block)
// A compute task waits until its block's pack tasks are done; a pack task waits until the
// compute tasks of the block that last used its buffer (jc - 2) are done.
template <class T>
struct PackedSchedule {
    int64_t depth_block, row_block, column_block;
    int64_t depth_blocks, row_blocks, column_blocks, pack_chunks, chunk_panels;
    int64_t pack_tasks;  // depth_blocks * pack_chunks
    int64_t tasks_per_column_block;
    T* b_buffers[2];
    T* a_buffers;  // per member: row_block * depth_block
    // One member, B with contiguous rows and a copying micro-kernel: the first row tile run
    // against each full B panel packs it on the way (GemmCopyingMicroKernel); the pack tasks
    // pack only the edge panel.
    bool copy_b;
    std::atomic<int64_t> next_task{0};
    // Tasks finished per buffer, counted over every block that used it: block jc is the
    // (jc / 2)-th user of buffer jc % 2, so the counts say which block is done.
    std::atomic<int64_t> packed[2];
    std::atomic<int64_t> computed[2];
};

template <class T>
void run_pack_task(const Problem<T>& p, PackedSchedule<T>& s, int64_t jc_index, int64_t task) {
    const int nr = p.micro.nr;
    const int64_t buffer = jc_index % 2;
    const int64_t earlier_users = jc_index / 2;
    wait_until([&] { return s.computed[buffer].load(std::memory_order_acquire) >= earlier_users * s.row_blocks; });
    const int64_t jc = jc_index * s.column_block;
    const int64_t nc = std::min(s.column_block, p.n - jc);
    const int64_t pc = task / s.pack_chunks * s.depth_block;
    const int64_t kc = std::min(s.depth_block, p.k - pc);
    const int64_t first_col = s.copy_b ? nc / nr * nr : task % s.pack_chunks * s.chunk_panels * nr;
    if (first_col < nc) {
        // Depth block pc of the buffer starts at pc * padded nc; panel j of it at j * kc.
        T* block = s.b_buffers[buffer] + pc * round_up(nc, nr);
        pack_b_panels(p.b, pc, kc, jc + first_col, std::min(nc - first_col, s.chunk_panels * nr), nr,
                      p.micro.packers, block + first_col * kc);
    }
    s.packed[buffer].fetch_add(1, std::memory_order_acq_rel);
}

template <class T>
void run_compute_task(const Problem<T>& p, PackedSchedule<T>& s, int64_t jc_index, int64_t row_block_index,
                      T* a_buffer) {
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const int64_t buffer = jc_index % 2;
    const int64_t users = jc_index / 2 + 1;
    wait_until([&] { return s.packed[buffer].load(std::memory_order_acquire) >= users * s.pack_tasks; });
    const int64_t jc = jc_index * s.column_block;
    const int64_t nc = std::min(s.column_block, p.n - jc);
    const int64_t ic = row_block_index * s.row_block;
    const int64_t mc = std::min(s.row_block, p.m - ic);
    for (int64_t pc = 0; pc < p.k && mc > 0; pc += s.depth_block) {
        const int64_t kc = std::min(s.depth_block, p.k - pc);
        const bool last = pc + kc == p.k;
        const T beta = pc == 0 ? p.beta : T(1);
        T* const b_block = s.b_buffers[buffer] + pc * round_up(nc, nr);
        pack_a_panels(p.a, ic, mc, pc, kc, mr, p.micro.packers, a_buffer);
        for (int64_t jr = 0; jr < nc; jr += nr) {
            T* const b_panel = b_block + jr * kc;
            const int64_t cols = std::min<int64_t>(nr, nc - jr);
            int64_t ir = 0;
            if (s.copy_b && row_block_index == 0 && cols == nr) {
                compute_tile(p, p.micro.packed, kc, a_buffer, 1, mr, &p.b(pc, jc + jr), p.b.row_stride, ic, jc + jr,
                             std::min<int64_t>(mr, mc), cols, beta, last, b_panel);
                ir = mr;
            }
            for (; ir < mc; ir += mr) {
                compute_tile(p, p.micro.packed, kc, a_buffer + ir * kc, 1, mr, b_panel, nr, ic + ir, jc + jr,
                             std::min<int64_t>(mr, mc - ir), cols, beta, last);
            }
        }
    }
    s.computed[buffer].fetch_add(1, std::memory_order_acq_rel);
}

template <class T>
void run_packed_tasks(const Problem<T>& p, PackedSchedule<T>& s, int32_t index) {
    T* const a_buffer = s.a_buffers + index * s.row_block * s.depth_block;
    const int64_t total = s.column_blocks * s.tasks_per_column_block;
    for (;;) {
        const int64_t task = s.next_task.fetch_add(1, std::memory_order_relaxed);
        if (task >= total) return;
        const int64_t jc_index = task / s.tasks_per_column_block;
        const int64_t local = task % s.tasks_per_column_block;
        if (local < s.pack_tasks) {
            run_pack_task(p, s, jc_index, local);
            continue;
        }
        run_compute_task(p, s, jc_index, local - s.pack_tasks, a_buffer);
    }
}

template <class T>
void gemm_packed(const Problem<T>& p, int32_t members) {
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    PackedSchedule<T> s;
    // Depth blocks of equal size (1100 = 2 x 552, not 1024 + 76: a thin last block would
    // pay the C tile's load and store for little work).
    const int64_t max_depth_block = kDepthBlockBytes / static_cast<int64_t>(sizeof(T));
    const int64_t depth_blocks = (p.k + max_depth_block - 1) / max_depth_block;
    s.depth_block = std::min(p.k, round_up((p.k + depth_blocks - 1) / depth_blocks, 8));
    s.depth_blocks = (p.k + s.depth_block - 1) / s.depth_block;
    // Row blocks: at most the L2-sized MC; with several members, several blocks per member, so
    // a member that starts late (or runs on a shared core) leaves only a short tail.
    const auto size = static_cast<int64_t>(sizeof(T));
    const int64_t max_rows = std::min(kRowBlockBytes / size, kPackedABlockBytes / (s.depth_block * size));
    const int64_t max_row_block = std::max<int64_t>(mr, max_rows / mr * mr);
    int64_t row_blocks = (p.m + max_row_block - 1) / max_row_block;
    // Where all rows fit one block and B is larger than the kernel set's bound (L2), a team
    // splits the columns instead (GemmMicroKernelInfo::team_column_split_b_bytes).
    const bool split_columns = members > 1 && row_blocks == 1 && p.micro.team_column_split_b_bytes > 0 &&
                               p.k * p.n * size > p.micro.team_column_split_b_bytes;
    if (split_columns) {
        s.row_block = round_up(p.m, mr);
        s.row_blocks = 1;
    } else {
        if (members > 1) row_blocks = std::max<int64_t>(row_blocks, kRowBlocksPerMember * members);
        s.row_block = round_up((p.m + row_blocks - 1) / row_blocks, mr);
        s.row_block = std::min(std::max<int64_t>(s.row_block, kMinimumRowBlockTiles * mr), round_up(p.m, mr));
        // Then a whole number of blocks per member (128 rows: 4 x 32, not 48 + 48 + 32).
        row_blocks = round_up((p.m + s.row_block - 1) / s.row_block, members);
        s.row_block = round_up((p.m + row_blocks - 1) / row_blocks, mr);
        s.row_blocks = (p.m + s.row_block - 1) / s.row_block;
    }
    // Column blocks: packed B (K x NC) within a share of L3; several when M alone cannot
    // feed every member: one per member where the columns are split, else two.
    int64_t column_block = std::max<int64_t>(nr, kPackedBBytes / static_cast<int64_t>(sizeof(T)) / p.k / nr * nr);
    if (split_columns) {
        column_block = std::min(column_block, round_up((p.n + members - 1) / members, nr));
    } else if (s.row_blocks < members) {
        column_block = std::min(column_block, round_up((p.n + 2 * members - 1) / (2 * members), nr));
    }
    s.column_block = std::min(column_block, round_up(p.n, nr));
    s.column_blocks = (p.n + s.column_block - 1) / s.column_block;
    const int64_t panels = (s.column_block + nr - 1) / nr;
    // Packing is shared: chunks are claimed in order like any task, so a member that starts
    // late leaves them to the running ones. With several blocks, double buffering lets it overlap
    // the previous block's compute tasks. With one block (B of K x NC up to 4 MiB), packing it on
    // one member left the others waiting: Zen 5, two threads, 1024^3, same-process A/B (median
    // of 12 alternating batches, GFLOP/s, one packer against shared): NN 405 / 403, NT 380 / 387,
    // TN 396 / 402, TT 374 / 394.
    s.copy_b = members == 1 && p.b.col_stride == 1 && p.k * p.n * size < p.micro.packed_path_copy_b_bytes &&
               p.micro.strided_copying_b != nullptr;
    s.pack_chunks = std::min<int64_t>(members, panels);
    s.chunk_panels = (panels + s.pack_chunks - 1) / s.pack_chunks;
    s.pack_tasks = s.depth_blocks * s.pack_chunks;
    s.tasks_per_column_block = s.pack_tasks + s.row_blocks;
    // Workspace (allocated here, so members never allocate): two B buffers, then A per member.
    const int64_t b_size = round_up(s.column_block, nr) * p.k;
    const int64_t a_size = s.row_block * s.depth_block;
    T* workspace = thread_scratch<Workspace<T>>().get(2 * b_size + members * a_size);
    s.b_buffers[0] = workspace;
    s.b_buffers[1] = workspace + b_size;
    s.a_buffers = workspace + 2 * b_size;
    for (int i = 0; i < 2; ++i) {
        s.packed[i].store(0, std::memory_order_relaxed);
        s.computed[i].store(0, std::memory_order_relaxed);
    }
    // One chunk per member; a member that starts late finds the tasks taken and returns.
    cpu::parallel_for(members, 1, [&](int64_t begin, int64_t end) {
        for (int64_t member = begin; member < end; ++member) run_packed_tasks(p, s, static_cast<int32_t>(member));
    });
}

// The unblocked path: no depth blocking, so each C tile is one micro-kernel call over all of K
// (C loaded and stored once) and no packed block has to be sized to a cache. A is read in place
// when its rows are contiguous or it is small, else packed whole; B is read in place when its rows are
// contiguous and it is small, else packed whole into full-depth panels (read in place, a B
// larger than L1 with a power-of-two row stride falls into a few cache sets).
struct UnblockedPlan {
    bool a_in_place;
    bool b_in_place;
    int64_t a_packed_size;
    int64_t b_packed_size;
};

template <class T>
UnblockedPlan plan_unblocked(const Problem<T>& p, int32_t members) {
    UnblockedPlan plan{};
    const auto bytes = [](int64_t rows, int64_t cols) { return rows * cols * static_cast<int64_t>(sizeof(T)); };
    // A with contiguous rows packed whole on one thread from 64 KiB (the packed kernel's one
    // sequential stream) lost: --baseline, 31 batches, 256^3 NN 1.00-1.05x, swapped 0.94-0.97;
    // 784x256x128 NN 1.04, swapped 0.96 (2026-12-07).
    plan.a_in_place = p.a.col_stride == 1 || ((members > 1 || bytes(p.m, p.k) <= kInPlaceTransposedABytes) &&
                                              bytes(1, p.a.col_stride) < kPageBytes);
    // B transposed is packed (transposed into panels) even when small: a product with both
    // operands transposed run as C^T = B A (the stored operands, NN, into C^T, a view of unit row
    // stride) went through the strided-C scratch tiles and took longer (Zen 5, one thread, min of
    // 21 batches, against TT as it is: 48^3 1.58x, 64^3 1.90x, 2026-12-07); a tile stored
    // transposed from the registers would still move M x N values through shuffles where packing
    // moves K x N.
    plan.b_in_place = p.b.col_stride == 1 && bytes(p.k, p.n) <= kInPlaceBBytes;
    // In place, only the last, partial panel is packed, and not even that with an edge kernel.
    const int64_t edge_panels = p.micro.edge != nullptr ? 0 : 1;
    plan.a_packed_size = p.k * (plan.a_in_place ? edge_panels * p.micro.mr : round_up(p.m, p.micro.mr));
    plan.b_packed_size = p.k * (plan.b_in_place ? edge_panels * p.micro.nr : round_up(p.n, p.micro.nr));
    return plan;
}

// The unblocked path as tasks that team members claim in order from one counter: first the
// packing (chunks of A's row panels, then of B's column panels: whatever is not read in
// place; the packed operands are shared), then blocks of C tiles, each waiting until all
// packing is done. A waiting member waits only on tasks that running members claimed. Blocks
// split the columns first (a block's B panels stay in cache while A streams past them), the
// rows only where there are too few columns. One member runs the same tasks without a team.
struct UnblockedSchedule {
    int64_t full_rows, full_cols;   // rows / columns read in place; the rest is packed
    int64_t a_chunk_panels, a_chunks, b_chunk_panels, b_chunks;
    int64_t row_block, column_block;  // in rows / columns (multiples of MR / NR)
    int64_t row_blocks, column_blocks;
    int64_t row_strip;  // rows whose tiles run against one B panel before the next (a multiple of MR)
    // B panels packed by the block that uses them rather than before any product (B not read in
    // place, so full_cols is 0): on one member, or in a team whose blocks span all rows (each
    // panel is then used by one block only). Full panels of B with contiguous rows are packed by
    // the first row tile run against them (GemmCopyingMicroKernel, copy_b); in a team, the others
    // (B transposed, or no copying kernel) just before that row tile (pack_b_in_blocks).
    bool copy_b = false;
    bool pack_b_in_blocks = false;
    int64_t b_pack_begin;  // first column the packing before the products covers
    // The last full panel's first column where it and the partial panel after it run as one
    // tile through the edge micro-kernel (GemmMicroKernelInfo::edge_extra_cols; B in place, C
    // of unit column stride), in the block that ends at N; else N.
    int64_t wide_col;
    std::atomic<int64_t> next_task{0};
    std::atomic<int64_t> packed{0};
};

template <class T>
void run_unblocked_block(const Problem<T>& p, const UnblockedSchedule& s, const T* a_packed, T* b_packed,
                         int64_t row_begin, int64_t row_end, int64_t col_begin, int64_t col_end) {
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    for (int64_t strip = row_begin; strip < row_end; strip += s.row_strip) {
        const int64_t strip_end = std::min(row_end, strip + s.row_strip);
        for (int64_t col = col_begin, cols = 0; col < col_end; col += cols) {
            cols = col == s.wide_col && col_end == p.n ? p.n - col : std::min<int64_t>(nr, p.n - col);
            const bool b_in_place = col < s.full_cols;
            T* const b_panel = b_in_place ? nullptr : b_packed + (col - s.full_cols) * p.k;
            const T* const b = b_in_place ? &p.b(0, col) : b_panel;
            const int64_t b_row_stride = b_in_place ? p.b.row_stride : nr;
            auto row_tile = [&](int64_t row, const T* b_tile, int64_t b_tile_row_stride, T* b_copy)
                                MLN_LAMBDA_ALWAYS_INLINE {
                if (row < s.full_rows) {
                    compute_tile(p, p.micro.strided, p.k, &p.a(row, 0), p.a.row_stride, p.a.col_stride, b_tile,
                                 b_tile_row_stride, row, col, std::min<int64_t>(mr, p.m - row), cols, p.beta, true,
                                 b_copy);
                } else {
                    compute_tile(p, p.micro.packed, p.k, a_packed + (row - s.full_rows) * p.k, 1, mr, b_tile,
                                 b_tile_row_stride, row, col, std::min<int64_t>(mr, p.m - row), cols, p.beta, true,
                                 b_copy);
                }
            };
            if (s.pack_b_in_blocks && strip == row_begin) {
                pack_b_panels(p.b, 0, p.k, col, cols, nr, p.micro.packers, b_panel);
            }
            int64_t row = strip;
            if (s.copy_b && strip == row_begin && cols == nr) {
                row_tile(row, &p.b(0, col), p.b.row_stride, b_panel);
                row += mr;
            }
            for (; row < strip_end; row += mr) row_tile(row, b, b_row_stride, nullptr);
        }
    }
}

template <class T>
void run_unblocked_tasks(const Problem<T>& p, UnblockedSchedule& s, T* a_packed, T* b_packed) {
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const int64_t pack_tasks = s.a_chunks + s.b_chunks;
    const int64_t total = pack_tasks + s.row_blocks * s.column_blocks;
    for (;;) {
        const int64_t task = s.next_task.fetch_add(1, std::memory_order_relaxed);
        if (task >= total) return;
        if (task < s.a_chunks) {
            const int64_t row = s.full_rows + task * s.a_chunk_panels * mr;
            pack_a_panels(p.a, row, std::min(p.m - row, s.a_chunk_panels * mr), 0, p.k, mr, p.micro.packers,
                          a_packed + (row - s.full_rows) * p.k);
            s.packed.fetch_add(1, std::memory_order_acq_rel);
            continue;
        }
        if (task < pack_tasks) {
            const int64_t col = s.b_pack_begin + (task - s.a_chunks) * s.b_chunk_panels * nr;
            pack_b_panels(p.b, 0, p.k, col, std::min(p.n - col, s.b_chunk_panels * nr), nr, p.micro.packers,
                          b_packed + (col - s.full_cols) * p.k);
            s.packed.fetch_add(1, std::memory_order_acq_rel);
            continue;
        }
        wait_until([&] { return s.packed.load(std::memory_order_acquire) >= pack_tasks; });
        const int64_t block = task - pack_tasks;
        const int64_t row = block / s.column_blocks * s.row_block;
        const int64_t col = block % s.column_blocks * s.column_block;
        run_unblocked_block(p, s, a_packed, b_packed, row, std::min(p.m, row + s.row_block), col,
                            std::min(p.n, col + s.column_block));
    }
}

// Rows that run against one B panel before the next in a block `columns` wide (see
// kStripTiles): one row tile, a strip of kStripTiles, or all rows.
template <class T>
int64_t unblocked_row_strip(const Problem<T>& p, int64_t columns) {
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const auto size = static_cast<int64_t>(sizeof(T));
    if (p.micro.row_tile_order && p.k * (nr + mr) * size <= kRowTileL1Bytes &&
        p.k * std::min(columns, p.n) * size <= kRowTileBBytes) {
        return mr;
    }
    if (p.k * (nr + kStripTiles * mr) * size <= kStripL1Bytes) return kStripTiles * mr;
    return round_up(p.m, mr);
}

template <class T>
void gemm_unblocked(const Problem<T>& p, const UnblockedPlan& plan, int32_t members) {
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    // Nothing packed (both operands in place): no look-up of the thread's workspace.
    const int64_t packed_size = plan.b_packed_size + plan.a_packed_size;
    T* const workspace = packed_size > 0 ? thread_scratch<Workspace<T>>().get(packed_size) : nullptr;
    T* const b_packed = workspace;
    T* const a_packed = workspace + plan.b_packed_size;
    UnblockedSchedule s;
    // Edge tiles too read the operands in place where the set has an edge micro-kernel.
    const bool edges_in_place = p.micro.edge != nullptr;
    s.full_rows = plan.a_in_place ? (edges_in_place ? p.m : p.m / mr * mr) : 0;
    s.full_cols = plan.b_in_place ? (edges_in_place ? p.n : p.n / nr * nr) : 0;
    const int64_t partial_cols = p.n % nr;
    const bool wide_edge = s.full_cols == p.n && p.c_col_stride == 1 && p.n > nr && partial_cols > 0 &&
                           partial_cols <= p.micro.edge_extra_cols;
    s.wide_col = wide_edge ? p.n - partial_cols - nr : p.n;
    // B packed whole (not read in place) by the blocks that use it where each block owns its
    // columns (UnblockedSchedule::copy_b); with the copying kernel, only the edge panel is packed
    // before the products. Without it, one member packs B whole first: panel by panel in the
    // block measured the same by the median (0.99-1.01x) but 1.01-1.03x by the fastest batch
    // (Zen 5, B transposed, 256x512x392, 512x256x392, 128x512x196, 256x512x1568).
    const auto plan_b_packing = [&](bool blocks_own_columns) {
        const bool by_blocks = !plan.b_in_place && blocks_own_columns;
        s.copy_b = by_blocks && p.b.col_stride == 1 && p.micro.strided_copying_b != nullptr;
        s.pack_b_in_blocks = by_blocks && members > 1 && !s.copy_b;
        s.b_pack_begin = s.copy_b ? p.n / nr * nr : s.pack_b_in_blocks ? p.n : s.full_cols;
    };
    if (members == 1) {  // the same work without the task counter (or the team's divisions: small products)
        s.row_strip = unblocked_row_strip(p, p.n);
        if (s.full_rows < p.m) pack_a_panels(p.a, s.full_rows, p.m - s.full_rows, 0, p.k, mr, p.micro.packers, a_packed);
        plan_b_packing(true);
        if (s.b_pack_begin < p.n) {
            pack_b_panels(p.b, 0, p.k, s.b_pack_begin, p.n - s.b_pack_begin, nr, p.micro.packers,
                          b_packed + (s.b_pack_begin - s.full_cols) * p.k);
        }
        return run_unblocked_block(p, s, a_packed, b_packed, 0, p.m, 0, p.n);
    }
    // Blocks: kUnblockedBlocksPerMember per member, split by columns while there are columns
    // enough, then by rows. Rows first lost (B then packed whole before the products, waited
    // for): Zen 5, two threads, bias + ReLU + residual, gemm_vs_openblas --baseline, min of 21
    // batches: 784x256x128 1.07-1.32x, 256^3 1.26-1.31x, 512^3 1.11-1.14x, 128x256x784
    // 1.40-1.52x (2026-12-07).
    const int64_t row_panels = ceil_div(p.m, mr);
    const int64_t column_panels = ceil_div(p.n, nr);
    const int64_t blocks = kUnblockedBlocksPerMember * members;
    s.column_blocks = std::min(column_panels, blocks);
    s.row_blocks = std::min(row_panels, ceil_div(blocks, s.column_blocks));
    s.column_block = ceil_div(column_panels, s.column_blocks) * nr;
    s.row_block = ceil_div(row_panels, s.row_blocks) * mr;
    s.column_blocks = ceil_div(p.n, s.column_block);
    s.row_blocks = ceil_div(p.m, s.row_block);
    s.row_strip = unblocked_row_strip(p, s.column_block);
    plan_b_packing(s.row_blocks == 1);
    const int64_t a_panels = ceil_div(p.m - s.full_rows, mr);
    const int64_t b_panels = ceil_div(p.n - s.b_pack_begin, nr);
    s.a_chunk_panels = std::max<int64_t>(1, ceil_div(a_panels, members));
    s.a_chunks = ceil_div(a_panels, s.a_chunk_panels);
    s.b_chunk_panels = std::max<int64_t>(1, ceil_div(b_panels, members));
    s.b_chunks = ceil_div(b_panels, s.b_chunk_panels);
    cpu::parallel_for(members, 1, [&](int64_t begin, int64_t end) {
        for (int64_t member = begin; member < end; ++member) run_unblocked_tasks(p, s, a_packed, b_packed);
    });
}

// K == 0: op(a) * op(b) is an empty sum, so c = activation(beta * c + bias + residual).
template <class T>
void gemm_empty_depth(const Problem<T>& p) {
    for (int64_t i = 0; i < p.m; ++i) {
        for (int64_t j = 0; j < p.n; ++j) {
            T& target = p.c[i * p.c_row_stride + j * p.c_col_stride];
            T value = p.beta == T(0) ? T(0) : p.beta * target;
            if (p.bias != nullptr) value += p.bias[j];
            if (p.has_residual) value += p.residual(i, j);
            target = value;
        }
    }
    if (p.activation != nullptr) p.activation(p.c, p.m, p.n, p.c_row_stride, p.c_col_stride);
}

template <class T>
void gemm_typed(const GemmArgs& args, const GemmMicroKernelInfo<T>& micro) {
    if (args.m == 0 || args.n == 0) return;
    // Every member is set below; value-initialising first cost a `rep stos` per call.
    Problem<T> p;
    p.a = {static_cast<const T*>(args.a.data), args.a.strides[0], args.a.strides[1]};
    p.b = {static_cast<const T*>(args.b.data), args.b.strides[0], args.b.strides[1]};
    p.c = static_cast<T*>(args.c.data);
    p.c_row_stride = args.c.strides[0];
    p.c_col_stride = args.c.strides[1];
    p.m = args.m;
    p.n = args.n;
    p.k = args.k;
    p.alpha = static_cast<T>(args.alpha);
    p.beta = static_cast<T>(args.beta);
    p.micro = micro;
    p.bias = nullptr;
    // The bias as a contiguous, zero-padded vector: the micro-kernel loads NR at a time.
    if (args.has_bias) {
        T* bias = thread_scratch<Workspace<T>, BiasVector>().get(round_up(args.n, micro.nr));
        const T* source = static_cast<const T*>(args.bias.data);
        for (int64_t j = 0; j < args.n; ++j) bias[j] = source[j * args.bias.strides[0]];
        std::fill(bias + args.n, bias + round_up(args.n, micro.nr), T(0));
        p.bias = bias;
    }
    p.has_residual = args.has_residual;
    p.residual = {nullptr, 0, 0};
    p.residual_in_kernel = false;
    if (args.has_residual) {
        p.residual = {static_cast<const T*>(args.residual.data), args.residual.strides[0], args.residual.strides[1]};
        p.residual_in_kernel = args.residual.strides[1] == 1;
    }
    p.activation = select_gemm_activation<T>(args.activation);
    p.relu_in_kernel = args.activation == MLN_UNARY_OP_RELU && (!p.has_residual || p.residual_in_kernel);
    p.has_epilogue = p.bias != nullptr || p.has_residual || p.activation != nullptr;
    p.epilogue_in_kernel = (!p.has_residual || p.residual_in_kernel) && (p.activation == nullptr || p.relu_in_kernel);
    if (args.k == 0) {
        gemm_empty_depth(p);
        return;
    }
    // Multiply-adds, in double: the product of three int64 can overflow.
    const double work = static_cast<double>(args.m) * static_cast<double>(args.n) * static_cast<double>(args.k);
    // The team size is asked for only where a team could run (it takes the pool's lock).
    const int32_t threads =
        work >= static_cast<double>(micro.parallel_min_work) ? cpu::thread_pool().thread_count() : 1;
    if (work <= static_cast<double>(micro.unblocked_max_work)) {
        const UnblockedPlan plan = plan_unblocked(p, threads);
        if ((plan.a_packed_size + plan.b_packed_size) * static_cast<int64_t>(sizeof(T)) <= kUnblockedPackedBytes) {
            return gemm_unblocked(p, plan, threads);
        }
    }
    gemm_packed(p, threads);
}

// One matrix product of a batch: args with every operand moved to batch element `index`.
GemmArgs batch_element(const GemmArgs& args, int64_t index) {
    GemmArgs element = args;
    element.batch_rank = 0;
    const auto size = static_cast<int64_t>(dtype_size(args.c.dtype));
    for (int32_t d = args.batch_rank - 1; d >= 0; --d) {
        const int64_t i = index % args.batch_shape[d];
        index /= args.batch_shape[d];
        auto advance = [&](TensorView& view, const int64_t* strides) {
            view.data = static_cast<char*>(view.data) + i * strides[d] * size;
        };
        advance(element.a, args.a_batch_strides);
        advance(element.b, args.b_batch_strides);
        advance(element.c, args.c_batch_strides);
        if (args.has_residual) advance(element.residual, args.residual_batch_strides);
    }
    return element;
}

template <class T>
void gemm_batched(const GemmArgs& args, const GemmMicroKernelInfo<T>& micro) {
    int64_t count = 1;
    for (int32_t d = 0; d < args.batch_rank; ++d) count *= args.batch_shape[d];
    // Small matrices: one thread per matrix (a product run inside the region stays on its
    // thread). Large ones: one after the other, each on the whole team.
    const bool small = static_cast<double>(args.m) * static_cast<double>(args.n) * static_cast<double>(args.k) <
                       static_cast<double>(micro.parallel_min_work);
    cpu::parallel_for(count, small ? 1 : count, [&](int64_t begin, int64_t end) {
        for (int64_t index = begin; index < end; ++index) gemm_typed<T>(batch_element(args, index), micro);
    });
}

// Whether the rows of `view` continue through the batch: batch element (i0, i1, ...) row r sits
// where row ((i0 * s1 + i1) * ... ) * m + r of one tall matrix would.
bool rows_continue_through_batch(const GemmArgs& args, const TensorView& view, const int64_t* batch_strides) {
    int64_t expected = view.strides[0] * args.m;
    for (int32_t d = args.batch_rank - 1; d >= 0; --d) {
        if (args.batch_shape[d] != 1 && batch_strides[d] != expected) return false;
        expected *= args.batch_shape[d];
    }
    return true;
}

// A weight shared by the whole batch (x W with x of shape [..., M, K]) is one product of a tall
// matrix when a, c and the residual step through the batch as through more rows: one large GEMM
// packs W once and threads well where many small ones would not.
bool fold_batch_into_rows(GemmArgs& args) {
    for (int32_t d = 0; d < args.batch_rank; ++d) {
        if (args.b_batch_strides[d] != 0) return false;
    }
    if (!rows_continue_through_batch(args, args.a, args.a_batch_strides) ||
        !rows_continue_through_batch(args, args.c, args.c_batch_strides) ||
        (args.has_residual && !rows_continue_through_batch(args, args.residual, args.residual_batch_strides))) {
        return false;
    }
    for (int32_t d = 0; d < args.batch_rank; ++d) args.m *= args.batch_shape[d];
    args.a.shape[0] = args.c.shape[0] = args.m;
    if (args.has_residual) args.residual.shape[0] = args.m;
    args.batch_rank = 0;
    return true;
}

template <class T>
void gemm_dispatch(const GemmArgs& args, const GemmMicroKernelInfo<T>& micro) {
    if (args.batch_rank == 0) return gemm_typed<T>(args, micro);
    GemmArgs folded = args;
    if (fold_batch_into_rows(folded)) return gemm_typed<T>(folded, micro);
    gemm_batched<T>(args, micro);
}

// The micro-kernel set of each ISA, built once. Built per call, the set came back by value and
// was read at once with wider loads than had stored it: store forwarding failed and the load
// waited for the stores to retire (Zen 5, 8x32x1: gemm_typed's hottest instructions).
template <class T>
const GemmMicroKernelInfo<T>& microkernel_for(mln_isa isa, GemmMicroKernelInfo<T> (*select)(mln_isa)) {
    static const std::array<GemmMicroKernelInfo<T>, MLN_ISA_NEON + 1> table = [select] {
        std::array<GemmMicroKernelInfo<T>, MLN_ISA_NEON + 1> sets;
        for (size_t i = 0; i < sets.size(); ++i) sets[i] = select(static_cast<mln_isa>(i));
        return sets;
    }();
    return table[static_cast<size_t>(isa)];
}

}  // namespace

void gemm(const GemmArgs& args) {
    const mln_isa isa = cpu::active_isa();
    if (args.c.dtype == MLN_DTYPE_F32) return gemm_dispatch<float>(args, microkernel_for<float>(isa, sgemm_microkernel));
    if (args.c.dtype == MLN_DTYPE_F64) {
        return gemm_dispatch<double>(args, microkernel_for<double>(isa, dgemm_microkernel));
    }
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("gemm is not supported for dtype ", dtype_name(args.c.dtype)));
}

}  // namespace mln::kernels
