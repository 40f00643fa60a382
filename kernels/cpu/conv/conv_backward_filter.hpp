// Backward filter of a convolution (not depthwise, not pointwise) as an implicit GEMM, per group:
//   dW_g (Mg x depth) = sum over images of dy_g (Mg x P) * columns^T (P x depth)
// The GEMM's depth runs over the output positions of every image. The column matrix (im2col.hpp)
// is never whole in memory: for each block of at most KC positions of one image, a task lowers its
// depth rows with the forward's vectorized lowering (conv_lowering.hpp, one panel as wide as the
// block: plain rows of positions). One operand is read in place as the strided micro-kernel's A
// (8 rows of contiguous positions), the other transposed into packed NR-wide B panels
// (gemm_pack.hpp; KC x NR, L1); the packing costs as much as its operand is large, so the smaller
// is packed:
//  - fewer output channels than depth rows (ResNet's 3x3 and 7x7 layers), one image per block:
//    the GEMM transposed, dW^T = columns * dy^T; lowered rows are A, dy's rows packed once per
//    block for all the task's row blocks; C is the task's dW^T tile range, kept per thread and
//    transposed into dW at the end of the task (its tiles stay in L2 as dW's would).
//  - otherwise dy is A in place (only a partial last MR panel packed, zero-padded) and the
//    lowered rows are packed; dW tiles are C.
// C is written with beta 0 on a task's first block and accumulated after.
// At AVX-512 f32 two modes lower nothing: direct mode (run_direct_task; stride 1, and stride 2
// with 16+ channels) reads A, in place of the lowered rows, from a zero-padded copy of the image
// or its padded phase planes; dot mode (run_dot_task; stride 2, few depth rows) sums dy's rows
// against the column rows read from padded phase planes (or, 3 wide with one column of left
// padding, from x's rows in place) as dot products along the positions, or, with fewer output
// channels than depth rows, packs dy's block and multiplies panels of any 7 or 8 depth rows by it.
//
// Parallel unit: tasks of (reduction slice, group, blocks of depth rows = columns of dW, chunk of
// output channels). A reduction slice is a run of (image, position block) pairs summed into its
// own copy of dW (slice 0: dW itself), the copies added in slice order at the end; the slice
// count follows from the shape alone, so every element of dW is summed the same way whatever the
// thread count. Depth rows are split next (no duplicated work); only where slices and rows give
// too few tasks to fill the pool are the output channels chunked, each chunk lowering its own
// copy of the columns.
//
// Loop nest of one task (per image first, at stride 2: its channels split into polyphase planes):
//   for each KC block of positions of its slice -> lowered rows as A: pack dy's rows (NR panels)
//     for each row block                        -> lower rows (L2); per NR panel of dy (L1), over
//                                                  the MR panels of rows: micro-kernel
//   or
//   for each KC block of positions of its slice
//     for each row block                        -> lower rows (L2), transpose into NR panels (of one
//                                                  image, or of several small ones side by side,
//                                                  their dy rows copied side by side)
//       for each NR panel (L1)                  -> over the MR panels of the chunk: micro-kernel
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_backward_filter_rows.hpp"
#include "kernels/cpu/conv/conv_backward_tile.hpp"
#include "kernels/cpu/conv/conv_implicit_gemm.hpp"
#include "kernels/cpu/conv/conv_lowering.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"
#include "kernels/cpu/gemm/gemm_pack.hpp"

namespace mln::kernels {
namespace backward_filter {

// Positions per block (the GEMM's KC): a KC x NR panel of B stays in L1, as in the GEMM driver.
constexpr int64_t kPositionBlockBytes = 256 * 4;
// Depth rows (columns of dW) per task at most: rows lowered together, so the lowering's set-up per
// call is shared; their lowered and packed copies (2 x 128 KiB at KC 256 in f32) stay in L2.
constexpr int64_t kMaxTaskRows = 128;
// Lowered rows are padded to a multiple of this many positions (the lowering's vector width).
constexpr int64_t kRowAlignment = 16;
// Reduction slices (see conv_backward_filter): up to kBaseReductionSlices, then doubled up to
// kMaxReductionSlices while each slice keeps kMinSliceUnits units (image groups x position blocks)
// or more; their partial copies of dW take at most 1 / kPartialsShare of the inputs' bytes.
constexpr int64_t kBaseReductionSlices = 6;
constexpr int64_t kMaxReductionSlices = 48;
constexpr int64_t kMinSliceUnits = 12;
constexpr int64_t kPartialsShare = 16;
constexpr int64_t kGrownPartialsShare = 64;
// Packed elements that copying one element of dW^T back into dW costs (see lowered_as_a), set
// where ResNet-18's layer2 3x3 at batch 1 (784 positions, a task's 1152 depth rows against 128
// output channels) measured the same either way on one thread.
constexpr int64_t kTransposeCost = 8;

template <class T>
struct Plan {
    const ConvArgs* args;
    GemmMicroKernelInfo<T> micro;
    ColumnPanelLowering<T> lower;
    const T* source;              // what `lower` reads: x, or its polyphase planes
    int64_t source_channel_size;  // elements per channel of source
    // Where set, each task splits its images' channels into polyphase planes itself, just before
    // lowering them (source is then x and the planes are per thread; see conv_backward_filter).
    PhasePlaneSplit<T> split_in_task;
    const T* dy;
    T* dw;
    int64_t group_channels, group_out_channels, depth, out_size;
    int64_t position_block, position_blocks;  // per image
    int64_t block_images;                     // images side by side in one block (small images)
    int64_t image_groups;                     // blocks of block_images images
    // The reduction (image groups x position blocks, image-major) cut into slices of equal
    // length; slice 0 sums into dw, slice s > 0 into partials + (s - 1) * dw_size.
    int64_t reduction_slices, dw_size;
    T* partials;
    // The first unit of slice s (slice s covers [slice_start(s), slice_start(s + 1))).
    int64_t slice_start(int64_t s) const { return s * image_groups * position_blocks / reduction_slices; }
    int64_t task_rows, row_blocks;            // depth rows lowered together: a multiple of NR
    int64_t group_blocks, row_groups;         // row blocks per task
    int64_t chunk_panels, out_chunks;         // MR panels of output channels per task
    // The GEMM transposed, dW^T = columns * dy^T: the lowered rows are A, read in place, and dy
    // is packed, where dy has fewer rows than the columns (see conv_backward_filter).
    bool lowered_as_a;
    // Direct mode (see direct_applies): A read from zero-padded copies of the image's channels,
    // chunk_channels of them per task (channel_chunks per group); padded_w wide, padded_channel
    // apart. Tasks are (slice, group, channel chunk).
    bool direct;
    int64_t padded_w, padded_channel;
    int64_t chunk_channels, channel_chunks;
    DirectRowsKernel<T> rows_kernel;
    DirectRowsAtKernel<T> rows_at_kernel;
    DirectUntranspose<T> untranspose;
    // Dot mode (see dot_applies): tasks are (slice, group); the phase planes of a channel's rows
    // that one position block reads (padded_channel: 4 planes, padded_w wide) with plane_top rows
    // and plane_left columns of margin. dot_prefetch: the inputs come from memory (or dot_panels), so each block
    // prefetches the next one's (run_dot_task) and blocks are shorter (kDotPrefetchBlockPositions,
    // kDotDeepPrefetchBlockPositions). dot_x_rows: the column tiles read x's rows in place (see
    // dot_reads_x_rows), no planes; padded_w and padded_channel then lay out the split rows that
    // the first tile of dy rows stores for the others (run_dot_task). dot_panels: the block's dy
    // packed and panel_rows depth rows at a time multiplied by it from the planes (see dot_takes_panels).
    bool dot, dot_prefetch, dot_x_rows, dot_panels;
    int panel_rows;  // dot_panels: depth rows a panel (MR or kShortPanelRows)
    int64_t plane_top, plane_left;
};

// Per thread: an image's lowered rows, the block's packed NR panels, a packed partial A panel, and
// dy's rows of the block's images side by side.
template <class T>
struct Workspace {
    std::vector<T> lowered, packed, a_panel, dy_rows, dy_packed, dw_t, planes, padded, sums;
    std::vector<int64_t> offsets;
};
// The polyphase planes of stride-2 inputs, the reduction slices' partial dW (thread_scratch.hpp).
struct FilterPhasePlanes;
struct FilterSlicePartials;

// Prefetches the next images' inputs of a task (its channels of x; its rows of dy where dy is A)
// while the current ones are multiplied, a few cache lines per micro-kernel call: at batch > 1
// they come from memory, and the lowering reads many short row pieces that the hardware
// prefetcher does not follow (ResNet-18's 1x1/2 shortcut at batch 32: lowering 35-43% of the
// time without).
class InputPrefetch {
public:
    void add(const void* data, int64_t bytes) {
        if (ranges_ < kMaxRanges && bytes > 0) {
            begin_[ranges_] = static_cast<const char*>(data);
            end_[ranges_++] = static_cast<const char*>(data) + bytes;
            lines_ += (bytes + kLine - 1) / kLine;
        }
    }
    // Spreads the lines over `steps` calls of step().
    void spread(int64_t steps) { per_step_ = (lines_ + steps - 1) / std::max<int64_t>(steps, 1); }
    void step() {
        for (int64_t i = 0; i < per_step_ && range_ < ranges_; ++i) {
            prefetch_for_read(begin_[range_]);
            begin_[range_] += kLine;
            if (begin_[range_] >= end_[range_]) ++range_;
        }
    }

private:
    static constexpr int64_t kLine = 64;
    // Two per image, and a block has at most kPositionBlockBytes / 4 images (of one position).
    static constexpr int kMaxRanges = 2 * kPositionBlockBytes / 4;
    const char* begin_[kMaxRanges];
    const char* end_[kMaxRanges];
    int ranges_ = 0, range_ = 0;
    int64_t lines_ = 0, per_step_ = 0;
};

template <class T>
void run_task(const Plan<T>& p, int64_t task, Workspace<T>& ws) {
    const ConvArgs& a = *p.args;
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const int64_t chunk = task % p.out_chunks;
    task /= p.out_chunks;
    const int64_t t0 = task % p.row_groups * p.group_blocks * p.task_rows;
    const int64_t t1 = std::min(p.depth, t0 + p.group_blocks * p.task_rows);
    task /= p.row_groups;
    const int64_t g = task % a.groups;
    const int64_t slice = task / a.groups;
    const int64_t u_begin = p.slice_start(slice);
    const int64_t u_end = p.slice_start(slice + 1);
    const int64_t m_begin = chunk * p.chunk_panels * mr;
    const int64_t m_end = std::min(p.group_out_channels, m_begin + p.chunk_panels * mr);
    const int64_t partial_rows = (m_end - m_begin) % mr;
    const int64_t full_end = m_end - partial_rows;
    T* const dw_group = (slice == 0 ? p.dw : p.partials + (slice - 1) * p.dw_size) + g * p.group_out_channels * p.depth;
    T* const lowered = ws.lowered.data();
    T* const packed = ws.packed.data();
    T* const a_panel = ws.a_panel.data();
    T* const dy_rows = ws.dy_rows.data();
    T* const dy_packed = ws.dy_packed.data();
    T* const dw_t = ws.dw_t.data();  // dW^T of the task's tile range when p.lowered_as_a
    const int64_t ld_t = m_end - m_begin;
    const int64_t kernel_size = a.geometry.kernel_size();
    const int64_t first_channel = t0 / kernel_size;
    const int64_t task_channels = (t1 - 1) / kernel_size + 1 - first_channel;
    for (int64_t u = u_begin; u < u_end;) {
        const int64_t n = u / p.position_blocks * p.block_images;
        const int64_t block_begin = u % p.position_blocks;
        const int64_t block_end = std::min(p.position_blocks, block_begin + u_end - u);
        const bool at_begin = u == u_begin;
        u += block_end - block_begin;
        const int64_t images = std::min(p.block_images, a.batch - n);
        const T* dy = p.dy + (n * a.out_channels + g * p.group_out_channels) * p.out_size;
        // What the lowering reads of image n's group: one image per block where split in task.
        const T* image_source = p.source + (n * a.channels + g * p.group_channels) * p.source_channel_size;
        if (p.split_in_task) {
            const int64_t plane_size = phase_planes_channel_size(a.geometry);
            p.split_in_task(image_source + first_channel * p.source_channel_size, a.geometry, task_channels,
                            ws.planes.data() + first_channel * plane_size);
            image_source = ws.planes.data();
        }
        InputPrefetch prefetch;
        const int64_t prefetch_end = u < u_end ? std::min(a.batch, n + 2 * images) : n + images;
        for (int64_t i = n + images; i < prefetch_end; ++i) {
            prefetch.add(p.source + (i * a.channels + g * p.group_channels + first_channel) * p.source_channel_size,
                         task_channels * p.source_channel_size * static_cast<int64_t>(sizeof(T)));
            if (!p.lowered_as_a) {  // there, the next position block's dy rows are prefetched
                prefetch.add(p.dy + (i * a.out_channels + g * p.group_out_channels + m_begin) * p.out_size,
                             (m_end - m_begin) * p.out_size * static_cast<int64_t>(sizeof(T)));
            }
        }
        prefetch.spread((block_end - block_begin) * ceil_div(t1 - t0, nr) * ceil_div(m_end - m_begin, mr));
        for (int64_t block = block_begin; block < block_end; ++block) {
            const int64_t q0 = block * p.position_block;
            const int64_t image_kc = std::min(p.position_block, p.out_size - q0);
            const int64_t kc = images * image_kc;
            const int64_t ld = round_up(image_kc, kRowAlignment);
            const bool first = at_begin && block == block_begin;
            if (p.lowered_as_a) {
                // B(k, m) = dy[m][q0 + k]: the chunk's dy rows packed once for all row blocks.
                pack_b_panels(MatrixRef<T>{dy + q0, 1, p.out_size}, 0, kc, m_begin, m_end - m_begin, nr,
                              p.micro.packers, dy_packed);
                // The next block of the slice: of this image, or the first of the next image.
                const bool next_in_image = block + 1 < block_end;
                const int64_t next_q0 = next_in_image ? q0 + image_kc : a.out_channels * p.out_size;
                const int64_t next_kc = std::min(p.position_block, next_in_image ? p.out_size - next_q0 : p.out_size);
                const int64_t element = static_cast<int64_t>(sizeof(T));
                const int64_t next_rows = next_in_image || u < u_end ? m_end - m_begin : 0;
                RowsPrefetch next_dy(dy + m_begin * p.out_size + next_q0, next_rows, next_kc * element,
                                     p.out_size * element, ceil_div(t1 - t0, mr) * ceil_div(m_end - m_begin, nr));
                for (int64_t r0 = t0; r0 < t1; r0 += p.task_rows) {
                    const int64_t rows = std::min(p.task_rows, t1 - r0);
                    // A(j, k) = lowered[j * ld + k], read in place; zero rows complete the last
                    // MR panel (its tile keeps only the valid rows).
                    p.lower(image_source, a.geometry, r0, rows, q0, image_kc, ld, lowered);
                    std::fill(lowered + rows * ld, lowered + round_up(rows, mr) * ld, T(0));
                    for (int64_t s = 0; s * nr < m_end - m_begin; ++s) {
                        const T* b = dy_packed + s * nr * kc;
                        const int64_t cols = std::min<int64_t>(nr, m_end - m_begin - s * nr);
                        for (int64_t i = 0; i < rows; i += mr) {
                            prefetch.step();
                            next_dy.step();
                            accumulate_tile(p.micro.strided, mr, nr, kc, lowered + i * ld, ld, 1, b, nr,
                                            dw_t + (r0 - t0 + i) * ld_t + s * nr, ld_t,
                                            std::min<int64_t>(mr, rows - i), cols, first);
                        }
                    }
                }
                continue;
            }
            // A(m, k) = a_rows[(m - a_first) * a_stride + k]: dy read in place for one image; the
            // rows of several copied side by side.
            const T* a_rows = dy + q0;
            int64_t a_stride = p.out_size, a_first = 0;
            if (images > 1) {
                for (int64_t m = m_begin; m < m_end; ++m) {
                    for (int64_t i = 0; i < images; ++i) {
                        const T* source = dy + (i * a.out_channels + m) * p.out_size + q0;
                        std::copy(source, source + image_kc, dy_rows + (m - m_begin) * kc + i * image_kc);
                    }
                }
                a_rows = dy_rows;
                a_stride = kc;
                a_first = m_begin;
            }
            if (partial_rows > 0) {
                pack_a_panels(MatrixRef<T>{a_rows, a_stride, 1}, full_end - a_first, partial_rows, 0, kc, mr,
                              p.micro.packers, a_panel);
            }
            // Row blocks one after another on this block of positions: its dy rows stay in L2.
            for (int64_t r0 = t0; r0 < t1; r0 += p.task_rows) {
                const int64_t rows = std::min(p.task_rows, t1 - r0);
                const int64_t panels = ceil_div(rows, nr);
                T* const dw = dw_group + r0;
                // Row r of an image's block at lowered + r * ld, then B(i * image_kc + q, j) =
                // lowered[j * ld + q] for image i, into each NR panel.
                for (int64_t i = 0; i < images; ++i) {
                    p.lower(image_source + i * a.channels * p.source_channel_size, a.geometry, r0, rows, q0, image_kc,
                            ld, lowered);
                    // Zero rows complete a partial last panel, so that every panel takes the vector
                    // transpose (the packing's element loop was a third of MobileNet-v2's stem).
                    std::fill(lowered + rows * ld, lowered + panels * nr * ld, T(0));
                    for (int64_t s = 0; s < panels; ++s) {
                        pack_b_panels(MatrixRef<T>{lowered + s * nr * ld, 1, ld}, 0, image_kc, 0, nr, nr,
                                      p.micro.packers, packed + (s * kc + i * image_kc) * nr);
                    }
                }
                for (int64_t s = 0; s < panels; ++s) {
                    const T* b = packed + s * nr * kc;
                    const int64_t cols = std::min<int64_t>(nr, rows - s * nr);
                    for (int64_t m = m_begin; m < full_end; m += mr) {
                        prefetch.step();
                        accumulate_tile(p.micro.strided, mr, nr, kc, a_rows + (m - a_first) * a_stride, a_stride, 1,
                                        b, nr, dw + m * p.depth + s * nr, p.depth, mr, cols, first);
                    }
                    if (partial_rows > 0) {
                        prefetch.step();
                        accumulate_tile(p.micro.packed, mr, nr, kc, a_panel, 1, mr, b, nr,
                                        dw + full_end * p.depth + s * nr, p.depth, partial_rows, cols, first);
                    }
                }
            }
        }
    }
    if (p.lowered_as_a) {
        // dW^T into dW by 16 columns of dW at a time: their 16 rows of dw_t stay in L1 while they
        // are read across (the plain loop missed a line per element: 4% of ResNet-18's layer2 at
        // batch 1, one thread).
        constexpr int64_t kBand = 16;
        for (int64_t j0 = t0; j0 < t1; j0 += kBand) {
            const int64_t j1 = std::min(t1, j0 + kBand);
            for (int64_t m = m_begin; m < m_end; ++m) {
                for (int64_t j = j0; j < j1; ++j) dw_group[m * p.depth + j] = dw_t[(j - t0) * ld_t + m - m_begin];
            }
        }
    }
}

// `count` rows of `bytes` bytes, `stride` bytes apart, for a direct or dot kernel to prefetch over
// `calls` calls (conv_backward_filter_rows.hpp); none where `bytes` is 0.
inline PrefetchRows prefetch_rows(const void* data, int64_t count, int64_t bytes, int64_t stride, int64_t calls) {
    const int64_t lines = ceil_div(bytes, int64_t{64});
    return PrefetchRows{static_cast<const char*>(data), lines > 0 ? count : 0, lines, stride, 0,
                        ceil_div(count * lines, calls)};
}

// Direct mode: the GEMM transposed (dW^T = columns * dy^T, as lowered_as_a) without lowering.
// At stride 1 a column row (c, kh, kw) over the positions of one output row is a contiguous piece
// of the channel's zero-padded copy (padded_w wide): element (oh + kh dh) * padded_w + ow + kw dw.
// So the direct micro-kernel (conv_backward_filter_rows.hpp) reads A in place there, walking the
// block's output rows, MR channels of one tap per panel (a_row_stride: the padded channel size);
// dW^T's rows are kept in (tap, channel) order and put back in dW's order at the end of the task.
// The lowering this replaces was a fifth of ResNet-18's layer1 3x3 (batch 1, one thread; CPU time
// under load 1.36-1.39 -> 1.15-1.20 ms, batch 32 44-47 -> 39 ms; layer2 3x3 1.28-1.31 -> 1.16-1.22,
// batch 32 41-44 -> 36-37). Decided by the shape and ISA alone, since it rounds differently from
// the lowered path: 2-d (or 1-d), rows of at least kDirectMinWidth outputs (narrower ones were
// not measured), fewer output channels than depth rows (dy is the packed operand).
constexpr int64_t kDirectMinWidth = 16;
// Taps at most (the task's table of tap offsets).
constexpr int64_t kMaxDirectTaps = 64;
// A group's dW at most this big: the tiles of dW^T are loaded and stored once per position block,
// from L2 (ResNet-18's layer3 and layer4 3x3, 2.4 and 9.4 MB of dW against 196 and 49 positions
// per image: 1.3x and 2.4x the time of the lowered path).
constexpr int64_t kDirectMaxFilterBytes = 1 << 20;
// Positions per block at most in direct mode (whole output rows), above the lowered path's 256:
// each micro-kernel call loads and stores its dW^T tile and sets up its prefetches once per block,
// while a tile's A piece (MR channels x the block's rows) stays in L1 for all of dy's NR panels,
// which stream from L2 either way (4 x 100 KiB at 784 positions and 128 output channels).
// ResNet-18, conv_vs_build against 256 (min / median, then the other way round), Zen 5, 2026-12-07:
// 28-wide layers one image a block (784), layer1 14 rows (784 of 56-wide); batch 32 on two
// threads layer2 3x3/2 0.96-0.99 / 0.95-0.99, 1.01-1.02 / 1.01-1.02, layer1 3x3 0.97 / 0.98,
// 1.02 / 1.02, layer2 3x3 even; batch 1 one thread 0.96-0.97 / 0.97, 1.04-1.05 / 1.03-1.04.
// Lost: 512 (392 and 448 positions) about half the gain; layer1 whole images (3136 positions, its A
// pieces past L1) 1.04-1.06x of 784 both ways round.
constexpr int64_t kDirectBlockBytes = 1024 * 4;

// At stride 2 (f32 where padded phase planes exist: AVX-512) A is read from the four phase
// planes of each channel (conv_backward_filter_rows.hpp), tap (kh, kw) from plane ((kh - pad)
// mod 2, (kw - pad) mod 2) at a fixed shift, as in dot mode; channels from kDirectMinPhaseChannels
// (an MR panel of one tap holds channels only: the 7x7/2 stem's 3 would fill 3 rows of 8).
// ResNet-18's layer2 3x3/2, one thread, CPU time under load: batch 1 0.67 -> 0.62-0.63 ms,
// batch 32 22.8 -> 21.7 ms.
constexpr int64_t kDirectMinPhaseChannels = 16;

// floor(e / 2) for any sign.
inline int64_t floor_half(int64_t e) { return e >= 0 ? e / 2 : -((1 - e) / 2); }

template <class T>
bool direct_applies(const ConvArgs& a, int64_t group_out_channels, int64_t depth) {
    const WindowGeometry& g = a.geometry;
    const bool stride_1 = g.stride[1] == 1 && g.stride[2] == 1;
    const bool phase_planes = g.stride[1] == 2 && g.stride[2] == 2 && sizeof(T) == 4 &&
                              backward_filter_dot(cpu::active_isa()).phase_rows != nullptr &&
                              a.channels / a.groups >= kDirectMinPhaseChannels && g.in_size() < (int64_t{1} << 30);
    const GemmMicroKernelInfo<T> micro = gemm_microkernel<T>(cpu::active_isa());
    return direct_rows_kernel<T>(cpu::active_isa(), micro.mr, micro.nr) != nullptr &&
           direct_untranspose<T>(cpu::active_isa()) != nullptr && g.in[0] == 1 &&
           g.kernel[0] == 1 && g.out[0] == 1 && g.pad_begin[0] == 0 && (stride_1 || phase_planes) &&
           g.out[2] >= kDirectMinWidth && g.kernel_size() <= kMaxDirectTaps && group_out_channels < depth &&
           group_out_channels * depth * static_cast<int64_t>(sizeof(T)) <= kDirectMaxFilterBytes;
}

// Channels [0, channels) of one image's group (x, in[1] x in[2] each) into padded rows: row ih +
// pad_begin[1] of channel c at padded + c * padded_channel, its elements at pad_begin[2]..; zeros
// around. Channels up to round_up(channels, mr) are zeroed (a partial MR panel reads them).
template <class T>
void pad_channels(const T* x, const WindowGeometry& g, int64_t channels, int64_t padded_channels,
                  int64_t padded_w, int64_t padded_channel, T* padded) {
    const int64_t top = g.pad_begin[1], left = g.pad_begin[2];
    const int64_t padded_h = padded_channel / padded_w;
    for (int64_t c = 0; c < padded_channels; ++c) {
        T* out = padded + c * padded_channel;
        if (c >= channels) {
            std::fill(out, out + padded_channel, T(0));
            continue;
        }
        const T* in = x + c * g.in[1] * g.in[2];
        std::fill(out, out + top * padded_w, T(0));
        for (int64_t ih = 0; ih < g.in[1]; ++ih) {
            T* row = out + (ih + top) * padded_w;
            std::fill(row, row + left, T(0));
            std::copy(in + ih * g.in[2], in + (ih + 1) * g.in[2], row + left);
            std::fill(row + left + g.in[2], row + padded_w, T(0));
        }
        std::fill(out + (g.in[1] + top) * padded_w, out + padded_h * padded_w, T(0));
    }
}

// One dW^T tile (rows x cols of it) of direct mode through p.rows_kernel (or, where a_rows_at is
// set, p.rows_at_kernel: dot mode's panels), as accumulate_tile: edge tiles through a scratch
// tile, added in the same order as full ones.
template <class T>
void accumulate_rows_tile(const Plan<T>& p, int64_t out_rows, int64_t length, const T* a, const int64_t* a_rows_at,
                          const T* b, T* c, int64_t ldc, int64_t rows, int64_t cols, bool first,
                          PrefetchRows* prefetch) {
    const auto kernel = [&](T* tile, int64_t ld, bool beta0) {
        if (a_rows_at != nullptr) {
            p.rows_at_kernel(p.panel_rows, out_rows, length, a, a_rows_at, p.padded_w, b, tile, ld, beta0, prefetch);
        } else {
            p.rows_kernel(out_rows, length, a, p.padded_channel, p.padded_w, b, tile, ld, beta0, prefetch);
        }
    };
    if (rows == (a_rows_at != nullptr ? p.panel_rows : p.micro.mr) && cols == p.micro.nr) {
        kernel(c, ldc, first);
        return;
    }
    T tile[kMaxMicroTile];
    kernel(tile, p.micro.nr, true);
    for (int64_t i = 0; i < rows; ++i) {
        T* target = c + i * ldc;
        const T* source = tile + i * p.micro.nr;
        for (int64_t j = 0; j < cols; ++j) target[j] = first ? source[j] : target[j] + source[j];
    }
}

template <class T>
void run_direct_task(const Plan<T>& p, int64_t task, Workspace<T>& ws) {
    const ConvArgs& a = *p.args;
    const WindowGeometry& geo = a.geometry;
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const int64_t chunk = task % p.channel_chunks;
    task /= p.channel_chunks;
    const int64_t g = task % a.groups;
    const int64_t slice = task / a.groups;
    const int64_t u_begin = p.slice_start(slice);
    const int64_t u_end = p.slice_start(slice + 1);
    const int64_t c0 = chunk * p.chunk_channels;
    const int64_t channels = std::min(p.chunk_channels, p.group_channels - c0);
    const int64_t panel_channels = round_up(channels, mr);  // dW^T rows per tap
    const int64_t kernel_size = geo.kernel_size();
    const int64_t out_channels = p.group_out_channels;
    T* const dw_group = (slice == 0 ? p.dw : p.partials + (slice - 1) * p.dw_size) + g * out_channels * p.depth;
    T* const padded = ws.padded.data();
    T* const dy_packed = ws.dy_packed.data();
    T* const dw_t = ws.dw_t.data();  // row tap * panel_channels + c, out_channels wide
    // Where tap t's piece starts in a padded channel, relative to the output row's.
    int64_t tap_offset[kMaxDirectTaps];
    const bool phases = geo.stride[1] == 2;
    for (int64_t t = 0; t < kernel_size; ++t) {
        const int64_t dh = t / geo.kernel[2] * geo.dilation[1], dw = t % geo.kernel[2] * geo.dilation[2];
        if (phases) {
            const int64_t eh = dh - geo.pad_begin[1], ew = dw - geo.pad_begin[2];
            const int64_t oi = floor_half(eh), oj = floor_half(ew);
            tap_offset[t] = (2 * (eh - 2 * oi) + ew - 2 * oj) * (p.padded_channel / 4) +
                            (oi + p.plane_top) * p.padded_w + oj + p.plane_left;
        } else {
            tap_offset[t] = dh * p.padded_w + dw;
        }
    }
    const int64_t out_w = geo.out[2];
    for (int64_t u = u_begin; u < u_end;) {
        const int64_t n = u / p.position_blocks;
        const int64_t block_begin = u % p.position_blocks;
        const int64_t block_end = std::min(p.position_blocks, block_begin + u_end - u);
        const bool at_begin = u == u_begin;
        u += block_end - block_begin;
        const T* dy = p.dy + (n * a.out_channels + g * out_channels) * p.out_size;
        const T* const image = p.source + (n * a.channels + g * p.group_channels + c0) * geo.in_size();
        // The image's planes whole: each block splitting only its own plane rows (as dot mode's)
        // took 1.02-1.03x the time, both ways round (ResNet-18's layer2 3x3/2, batch 32, two
        // threads, 256-position blocks, 2026-12-07).
        if constexpr (sizeof(T) == 4) {
            if (phases) {
                backward_filter_dot(cpu::active_isa())
                    .phase_rows(image, geo, channels, p.plane_top, p.plane_left, p.padded_channel / 4 / p.padded_w,
                                p.padded_w, 0, p.padded_channel / 4 / p.padded_w, padded);
                std::fill(padded + channels * p.padded_channel, padded + panel_channels * p.padded_channel, T(0));
            }
        }
        if (!phases) pad_channels(image, geo, channels, panel_channels, p.padded_w, p.padded_channel, padded);
        // What comes next from memory at batch > 1, asked for by the micro-kernel calls a few lines
        // at a time: the next image's channels of the chunk over all of this image's calls, the
        // next block's dy rows (of this image or the next) over the block's calls. Rows of dy are
        // pages apart and the image is split or padded in short rows, which the hardware
        // prefetcher does not follow (ResNet-18's layer2 3x3 at batch 32: packing dy and padding
        // x were 5-7% of the time without).
        const int64_t block_calls = kernel_size * ceil_div(channels, mr) * ceil_div(out_channels, nr);
        const int64_t element = static_cast<int64_t>(sizeof(T));
        PrefetchRows next[kPrefetchStreams];
        next[0] = prefetch_rows(image + a.channels * geo.in_size(), u < u_end ? 1 : 0,
                                channels * geo.in_size() * element, 0, (block_end - block_begin) * block_calls);
        for (int64_t block = block_begin; block < block_end; ++block) {
            const int64_t q0 = block * p.position_block;
            const int64_t kc = std::min(p.position_block, p.out_size - q0);
            const bool first_block = at_begin && block == block_begin;
            pack_b_panels(MatrixRef<T>{dy + q0, 1, p.out_size}, 0, kc, 0, out_channels, nr, p.micro.packers,
                          dy_packed);
            const bool next_in_image = block + 1 < block_end;
            const int64_t next_q0 = next_in_image ? q0 + kc : 0;
            next[1] = prefetch_rows((next_in_image ? dy : dy + a.out_channels * p.out_size) + next_q0,
                                    next_in_image || u < u_end ? out_channels : 0,
                                    std::min(p.position_block, p.out_size - next_q0) * element, p.out_size * element,
                                    block_calls);
            // dy's NR panels innermost: the A pieces of a (tap, channel panel), short and scattered,
            // stay in L1 for all of them while dy's panels stream in order (ResNet-18's layer1 3x3,
            // batch 1, one thread: 1.19 -> 1.15 ms CPU time).
            for (int64_t t = 0; t < kernel_size; ++t) {
                for (int64_t c = 0; c < channels; c += mr) {
                    const T* const a_tap = padded + c * p.padded_channel + tap_offset[t];
                    const int64_t tile_rows = std::min<int64_t>(mr, channels - c);
                    for (int64_t s = 0; s * nr < out_channels; ++s) {
                        const T* b = dy_packed + s * nr * kc;
                        const int64_t cols = std::min<int64_t>(nr, out_channels - s * nr);
                        T* const tile = dw_t + (t * panel_channels + c) * out_channels + s * nr;
                        // The block's positions as rectangles of whole output rows, or pieces of
                        // one (a block that starts or ends within a row).
                        for (int64_t q = q0; q < q0 + kc;) {
                            const int64_t oh = q / out_w, ow = q % out_w;
                            const bool whole_rows = ow == 0 && q0 + kc - q >= out_w;
                            const int64_t rows = whole_rows ? (q0 + kc - q) / out_w : 1;
                            const int64_t length = whole_rows ? out_w : std::min(out_w - ow, q0 + kc - q);
                            const T* const a_rows = a_tap + oh * p.padded_w + ow;
                            const T* const b_rows = b + (q - q0) * nr;
                            const bool first = first_block && q == q0;
                            accumulate_rows_tile(p, rows, length, a_rows, nullptr, b_rows, tile, out_channels,
                                                 tile_rows, cols, first, next);
                            q += rows * length;
                        }
                    }
                }
            }
        }
    }
    // dW^T into dW: element (c0 + c) * kernel_size + t of each output channel's filter.
    p.untranspose(dw_t, out_channels, panel_channels, channels, kernel_size, dw_group + c0 * kernel_size, p.depth);
}

// Dot mode: few depth rows at stride 2 (MobileNet-v2's stem: 27 rows against 32 output
// channels), f32 where a dot kernel exists (AVX-512; AVX2 where dot_reads_x_rows). dW(m, j) = sum over positions of dy(m, q)
// * column(j, q) as dot products along the positions (backward_filter_dot_avx512), dy read in
// place and each column row read in place from zero-padded phase planes of the image: tap (kh,
// kw) reads plane ((kh - pad) mod 2, (kw - pad) mod 2) at a fixed shift, contiguous along an
// output row. No lowering, no transposition into panels, no padding rows in the tiles (the GEMM
// path spent 30% of the stem's time lowering, packing and zeroing). Each task (a reduction slice)
// keeps the 16 lane sums of every (m, j) over its positions and adds the lanes up at its end.
// Measured on Zen 5, one thread, CPU time per call under load: the stem at batch 1 0.22 -> 0.20
// ms, at batch 32 10.7 -> 9.3 ms; the dot kernel is then 70% of the time. Tiles of 8 dy rows
// outermost (then blocks of 4 rows of 112: 14 KiB of dy in L1 while the column rows pass): with
// the column tiles outermost 0.22 (blocks of 512 positions) and 0.22-0.24 (2048).
// Depth rows at most: ResNet-18's 7x7/2 stem (147 rows against 64 output channels) takes it
// rather than the lowered GEMM (whose lowering and packing were 18% of its time): one thread,
// CPU time, same-process A/B, median of 11-15 alternating batches: batch 1 0.96-0.99 of the time
// (4 runs; a fifth 1.07), batch 32 0.98-0.99. Where direct mode applies (16 channels or more) it
// keeps it.
constexpr int64_t kDotMaxDepth = 160;
// Positions per block at most: a tile's 8 rows of dy (28 KiB at 9 rows of 112) stay in L1 while
// the block's column rows (L2) pass under them; longer blocks load and store each tile's sums
// less often. With aligned planes (align_dot_planes), MobileNet-v2's stem at batch 1, one thread,
// CPU time per call, same-run A/B in both load orders on a loaded machine: 512 -> 1024 (9 rows)
// 6-11% faster; 768 (6 rows) 0-6%, 1536 and 2048 5-9% slower than 1024.
constexpr int64_t kDotBlockPositions = 1024;
// Positions per block at most where the next block's inputs are prefetched (kDotPrefetchInputBytes):
// shorter than kDotBlockPositions, so that a tile's 8 rows of dy leave L1 room for the lines that the
// prefetches bring in beside them (at 1024 positions they evicted the tile's own rows; with the
// planes, 512 took 0.87-0.95 of the time at batch 8 and 32). Since the column tiles read x's rows
// (dot_reads_x_rows), 5 rows of 112 (17.5 KiB of dy a tile) beat 4: MobileNet-v2's stem at batch
// 32, same-process A/B in both orders on a loaded machine (min / median of 15-21 alternating
// batches): 0.96-0.98 of the time on one thread, 0.97-0.98 on two; conv_vs_build against main
// 0.966 / 0.983 on two threads, 0.977 / 0.986 on one. 3 rows took 1.01-1.05 x the time of 4, 6
// rows 0.975-0.98 x, 7 rows 0.97-0.99 x; at batches 4-16 on one thread the A/B put 5 rows at
// 0.97-1.04 x of 4 depending on the order (noise).
constexpr int64_t kDotPrefetchBlockPositions = 560;
// With this many depth rows or more, the prefetched lines are few per multiply-add and longer
// blocks pay (each tile's sums loaded and stored less often): ResNet-18's 7x7/2 stem (147 rows),
// batch 16 and 32, same-process A/B, loaded machine: 768 positions (6 rows of 112) 0.94-0.98 of
// the time of 512 on one thread, 0.97 on two; 1024 1.11. MobileNet-v2's stem (27 rows, its
// inputs' lines 7 x as many per multiply-add) took 1.03 x the time at 768.
constexpr int64_t kDotDeepRows = 64;
constexpr int64_t kDotDeepPrefetchBlockPositions = 768;
// Inputs (x and dy) of at least this many bytes are prefetched a block ahead (run_dot_task): they
// come from memory. MobileNet-v2's stem, one thread, same-run A/B, loaded machine: batch 32
// 0.81-0.91 of the time (median; min 0.76-0.83); at batch 1 (2.2 MB, in cache) the prefetches cost 4.5%.
// Prefetched inside the dot kernel (CPU time, same-process A/B, 2 runs each): batch 4 (8.8 MB)
// 0.87-0.93 of the time, batch 3 (6.6 MB) 1.0-1.05, batch 2 1.0-1.02, batch 1 1.02-1.03. Zen 5
// (1 MiB L2), 2026-12-07, same-process A/B against main both ways round (min / median), batch 1,
// one thread: from 1 MiB (batch 1 prefetching, blocks of 5 rows) 1.12-1.31 / 1.12-1.34x main's
// time (main 0.87-0.90 / 0.79-0.91x of it the other way round); the next block's x rows alone
// (blocks of 9 rows) 1.05-1.07 / 1.04-1.05x (main 0.98 / 0.96-0.97x of it). With the kernel's
// PrefetchCursor (2026-12-07, batch 1, one thread, min / median against main): the dy stream alone
// (blocks of 5 rows) 1.19-1.20x; the prefetching kernels with empty streams 1.10-1.16x where the
// plain kernels at the same blocks took 1.04-1.09x: the variant costs some 6-10% beyond its
// prefetches (not found: its step loop has no spills left).
constexpr int64_t kDotPrefetchInputBytes = int64_t{8} << 20;

// Where the kernel is 3 wide with one column of left padding (kw - pad: -1, 0, 1), each column tile
// is one tap row (kh) of one channel, and the dot kernel reads it from x's row in place
// (backward_filter_dot_row_avx512: even and odd columns split in registers), with no phase planes:
// the split was 11% of MobileNet-v2's stem at batch 1 (its loads of x missing), the kernel now
// takes those misses and two more shuffles a step. Same-process A/B against the planes
// (conv_vs_build, loaded machine): batch 32, two threads 0.97-0.99 of the time (min and median,
// 3 runs), one thread 0.97-0.99; batch 1, one thread 0.98-1.02; same bits. The shuffles are then
// paid once per block: the first tile of dy rows stores the split rows (10 KB a column tile at 9
// rows of 112, L2) and the other tiles read them back as the planes (two loads and one valignd a
// step; in L1 about 7% fewer cycles a step than three shuffles). MobileNet-v2's stem against main:
// batch 1, one thread 0.95-0.97 (min and median, 4 runs); batch 32, one thread 0.96-0.99.
// The first tile's calls take about 37% of the stem's time at batch 1 (a profile; 25% of the
// multiply-adds). Tried and lost there (Zen 5, batch 1, one thread, same-process A/B against
// main both ways round, min / median this way, then main's time over this one's): tap row 2
// reading tap row 0's split rows one output row further, splitting only its last row (same
// bits) 1.025-1.029 / 1.025-1.029x, 0.97x; the next column tile's rows of x prefetched in the
// first tile's calls, a line a step, into L1 1.08-1.12 / 1.09-1.14x, into L2 1.07 / 1.05-1.08x,
// or all before each call 1.04-1.06 / 1.02-1.04x (0.95-0.98x); the next block's rows of x into
// L2 a share before each other tile's call 1.02-1.05 / 1.02-1.06x (0.87-1.02x); the split rows'
// lines prefetched a row ahead of their stores 1.01-1.02 / 1.01-1.04x (0.98-0.99x). Blocks of 5,
// 6 or 7 rows instead of 9: main's time over theirs 0.94-1.02 (even).
// Profile of the stem at batch 1 (Zen 5, 2026-12-07): the first tile's calls 32% of the time, the
// others' 54%; every block reading one row of x per channel instead (a diagnostic with wrong
// results, x in L1) took 0.95x the time: x's misses are about 5% of the layer.
// The rest is dy (same-process A/B against the first round's merge, batch 1, one thread, min /
// median, 2026-12-07): the tiles reading block 0's positions of dy (all of dy from L2, none from
// L3; wrong results) 0.85-0.88 / 0.83-0.85x the time, dy's first tile always (L1) 0.86 /
// 0.81-0.86x: about 15% of the layer is each tile's first call reading its 32 KiB of dy from L3
// (the other 8 calls read none). Hiding it lost: staggered row windows, each call reading about
// a row of new dy (same bits; against wip/integ, 2026-12-07: batch 1, one thread, min / median,
// then the baseline's time over this one's; batch 32 on two threads): column tile jt's windows
// lagging the block's by 8 - jt rows (the rows before from L2) 1.11 / 1.11x, 0.96 / 0.91x; 1.06x;
// the block's rows in chunks of 3, column tile jt on chunk s - jt at step s (a tile's 9 sums
// live, 3x the calls) 1.15 / 1.14x, 0.86 / 0.86x; 1.08x; in chunks of 1 row 1.60 / 1.89x. The next tile's dy
// prefetched by this tile's calls, a channel row each (a line a step), into L2 1.01-1.02 / 1.01x,
// into L1 1.06-1.08 / 1.04-1.06x; dot_prefetch's dy stream alone at batch 1 1.13x; the tile's own
// dy three rows ahead (8 prefetches a step) 1.35x; row tiles outermost over a slice's blocks (each
// channel's dy read in one run, split rows kept per block) 1.05-1.07 / 1.05-1.06x; column tiles in
// reverse order on odd row tiles (the last split rows still in L1) 1.00 / 0.96-1.01x.
inline bool dot_reads_x_rows(const WindowGeometry& g) {
    return backward_filter_dot(cpu::active_isa()).dot_row != nullptr && g.kernel[2] == kDotCols &&
           g.pad_begin[2] == 1 && g.dilation[2] == 1;
}

template <class T>
bool dot_applies(const ConvArgs& a, int64_t group_out_channels, int64_t depth) {
    const WindowGeometry& g = a.geometry;
    const BackwardFilterDot kernels = backward_filter_dot(cpu::active_isa());
    return sizeof(T) == 4 && kernels.dot != nullptr && (kernels.phase_rows != nullptr || dot_reads_x_rows(g)) &&
           g.in[0] == 1 && g.kernel[0] == 1 && g.out[0] == 1 && g.pad_begin[0] == 0 && g.stride[1] == 2 &&
           g.stride[2] == 2 && g.out[2] >= kernels.lanes && depth >= kDotCols && depth <= kDotMaxDepth &&
           group_out_channels >= kDotRows && g.in_size() < (int64_t{1} << 30);
}

// Dot mode's panels (run_dot_task): where the column rows come from planes and dy has fewer rows
// than the columns, dy's block is packed (as in direct mode) and the direct micro-kernel sums
// panel_rows depth rows at a time against it, each row read in place from its plane (any taps of
// any channels: direct mode's panels hold MR channels of one tap, which the stems' 3 do not fill).
// No lane sums, no loads across cache lines (broadcasts of single elements): ResNet-18's 7x7/2
// stem (147 rows, 64 output channels) ran its 8 x 3 dot tiles at ~75% of the FMA rate and spent
// 4.5% adding lanes; its panels' kernel runs at ~94%, packing dy ~9% of the layer. Zen 5,
// conv_vs_build against main (min / median, then main's time over this one's the other way round),
// 2026-12-08, loaded machine: batch 1 one thread 0.84-0.86 / 0.81-0.84, 1.12-1.18 / 1.12-1.19;
// batch 32 two threads 0.72-0.82 / 0.82-0.86, 1.16 / 1.17. Its blocks prefetch the next one's
// inputs at batch 1 too (dy from L3 while packing: 0.87-0.91 of the time against 0.92-0.93
// without), in dot_prefetch's deep blocks of 6 rows of 112 (9 rows: batch 32 0.84-0.86 of main's
// time against 0.82, batch 1 even). MobileNet-v2's stem (27 rows against 32 output channels, dy
// packed for 27 multiply-adds an element, 27 of 32 rows of 8-row panels useful) took 1.29x its
// x-row dot kernels' time as panels (1.46-1.49x prefetching at batch 1).
template <class T>
bool dot_takes_panels(const ConvArgs& a, int64_t group_out_channels, int64_t depth) {
    const GemmMicroKernelInfo<T> micro = gemm_microkernel<T>(cpu::active_isa());
    return !dot_reads_x_rows(a.geometry) &&
           direct_rows_at_kernel<T>(cpu::active_isa(), micro.mr, micro.nr) != nullptr &&
           direct_untranspose<T>(cpu::active_isa()) != nullptr && group_out_channels < depth && depth >= micro.mr;
}

// The plane rows that the taps read relative to their output row, [min_row, max_row] (0 included).
struct DotTapRows {
    int64_t min_row, max_row;
};
inline DotTapRows dot_tap_rows(const WindowGeometry& geo) {
    DotTapRows rows{0, 0};
    for (int64_t kh = 0; kh < geo.kernel[1]; ++kh) {
        const int64_t oi = floor_half(kh * geo.dilation[1] - geo.pad_begin[1]);
        rows.min_row = std::min(rows.min_row, oi);
        rows.max_row = std::max(rows.max_row, oi);
    }
    return rows;
}

template <class T>
void run_dot_task(const Plan<T>& p, int64_t task, Workspace<T>& ws) {
    if constexpr (sizeof(T) == 4) {
        const ConvArgs& a = *p.args;
        const WindowGeometry& geo = a.geometry;
        const BackwardFilterDot kernels = backward_filter_dot(cpu::active_isa());
        const int64_t g = task % a.groups;
        const int64_t slice = task / a.groups;
        const int64_t u_begin = p.slice_start(slice);
        const int64_t u_end = p.slice_start(slice + 1);
        const int64_t units = p.image_groups * p.position_blocks;
        const int64_t out_channels = p.group_out_channels;
        const int64_t row_tiles = ceil_div(out_channels, kDotRows), col_tiles = ceil_div(p.depth, kDotCols);
        const int64_t lanes = kernels.lanes;
        const int64_t tile_sums = kDotRows * kDotCols * lanes;
        float* const sums = ws.sums.data();
        // dot_panels: pr depth rows a panel against dy's NR-wide panels; dW^T kept panel by panel.
        const int pr = p.panel_rows, nr = p.micro.nr;
        const int64_t depth_panels = p.dot_panels ? ceil_div(p.depth, pr) : 0;
        float* const dy_packed = ws.dy_packed.data();
        float* const dw_t = ws.dw_t.data();
        const int64_t block_calls = p.dot_panels ? depth_panels * ceil_div(out_channels, nr) : row_tiles * col_tiles;
        float* const planes = implicit_gemm::cache_line_aligned(ws.padded.data());
        const int64_t kernel_size = geo.kernel_size();
        const int64_t out_w = geo.out[2];
        const DotTapRows taps = dot_tap_rows(geo);
        const int64_t min_row = taps.min_row, max_row = taps.max_row;
        // The planes hold one block's rows (its output rows' plane rows, [first, end) of the
        // image's), block_plane apart: 61 KB for MobileNet-v2's stem, which stay in L2 under the
        // streams of dy and x where the image's planes (700 KB) did not. Same-run A/B in both
        // load orders, one thread: batch 32 3-5% less time, batch 1 about 2% (the rows it shares
        // with the block before split again: 10 plane rows per 9 output rows).
        const int64_t block_plane = p.padded_channel / 4;
        const int64_t block_plane_h = block_plane / p.padded_w;
        // dot_x_rows: each column tile's rows of x split by the first tile of dy rows, padded_w apart
        // (a margin of `lanes` zeros, the odd columns, the even ones split_even after) in blocks of
        // padded_channel.
        const int64_t split_even = round_up(out_w, lanes);
        if (p.dot_x_rows) {
            for (int64_t r = 0; r < col_tiles * p.padded_channel; r += p.padded_w) {
                std::fill(planes + r, planes + r + lanes, 0.0f);
            }
        }
        // Column row j: its plane and shift, relative to the block's first output row.
        std::vector<int64_t>& column_offset = ws.offsets;
        column_offset.resize(static_cast<size_t>(p.depth));
        for (int64_t j = 0; j < p.depth; ++j) {
            const int64_t c = j / kernel_size, t = j % kernel_size;
            const int64_t eh = t / geo.kernel[2] * geo.dilation[1] - geo.pad_begin[1];
            const int64_t ew = t % geo.kernel[2] * geo.dilation[2] - geo.pad_begin[2];
            const int64_t oi = floor_half(eh), oj = floor_half(ew);
            column_offset[static_cast<size_t>(j)] = (4 * c + 2 * (eh - 2 * oi) + (ew - 2 * oj)) * block_plane +
                                                    (oi - min_row) * p.padded_w + oj + p.plane_left;
        }
        const float* const x = reinterpret_cast<const float*>(p.source);
        // The plane rows that block u reads, [first, end).
        auto plane_rows = [&](int64_t u, int64_t* first, int64_t* end) {
            const int64_t q0 = u % p.position_blocks * p.position_block;
            const int64_t oh = q0 / out_w;
            *first = oh + min_row + p.plane_top;
            *end = oh + std::min(p.position_block, p.out_size - q0) / out_w + max_row + p.plane_top;
        };
        // Each block splits its plane rows (those it shares with the block before it again).
        // Where the inputs are too large to stay in cache between calls, the next block's dy
        // rows and new rows of x are prefetched by the block's dot calls, a line of each per
        // step of 16 positions (each call its share of the lines): they come from memory, dy in
        // rows of 4 KiB, each in a page of its own, that the hardware prefetcher does not enter.
        // A call's share all at once between calls left the misses queued behind one another:
        // MobileNet-v2's stem, batch 32, one thread, same-process A/B under load, in the kernel
        // 0.83-0.93 of the time (min and median over 15-21 alternating runs, 3 runs).
        // Lost there since (batch 32, two threads, conv_vs_build against main, loaded machine,
        // 2026-12-07): the streams as prefetcht1 1.12-1.15x the time, prefetchnta 1.01-1.05x; dy 2
        // or 3 tiles ahead instead of 1 even (0.99-1.06x); row tiles outermost over the slice's
        // blocks (each tile's 8 rows of dy read in runs of ~15 blocks for the hardware prefetcher,
        // x split in registers by every row tile, no prefetches) 1.71x. Without the dy stream
        // 1.30-1.32x, without x's 1.25-1.33x; every image reading image 0's inputs (in cache, no
        // prefetches; wrong results) 0.66-0.73x: memory is about a third of the layer there.
        for (int64_t u = u_begin; u < u_end; ++u) {
            const int64_t n = u / p.position_blocks;
            const int64_t q0 = u % p.position_blocks * p.position_block;
            const int64_t rows = std::min(p.position_block, p.out_size - q0) / out_w;
            const float* dy = reinterpret_cast<const float*>(p.dy) + (n * a.out_channels + g * out_channels) * p.out_size;
            const float* x_image = x + (n * a.channels + g * p.group_channels) * geo.in_size();
            int64_t i0, i1;
            plane_rows(u, &i0, &i1);
            if (!p.dot_x_rows) {
                // The image's plane rows [i0, i1) at rows [0, i1 - i0) (the top margin moved up by i0).
                kernels.phase_rows(x_image, geo, p.group_channels, p.plane_top - i0, p.plane_left, block_plane_h,
                                   p.padded_w, 0, i1 - i0, planes);
            }
            // What comes next from memory: the input rows of block u + 1's plane rows past this
            // block's (all of them in a new image; input row 2 (i - top) + ph of plane row i),
            // spread over all of the block's dot calls, and the dy rows of the next tile of 8
            // (the first of block u + 1 after the last), over the current tile's calls. Past the
            // slice's end too: the thread that runs it usually runs the next slice next
            // (run_plan), whose first block would otherwise come from memory unasked.
            const bool prefetching = p.dot_prefetch && (u + 1 < units || (row_tiles > 1 && !p.dot_panels));
            PrefetchRows next[kPrefetchStreams] = {};
            if (prefetching && u + 1 < units) {
                const int64_t next_n = (u + 1) / p.position_blocks;
                int64_t next_i0, next_i1;
                plane_rows(u + 1, &next_i0, &next_i1);
                if (next_n == n) next_i0 = std::max(next_i0, i1);
                const int64_t ih0 = std::clamp<int64_t>(2 * (next_i0 - p.plane_top), 0, geo.in[1]);
                const int64_t ih1 = std::clamp<int64_t>(2 * (next_i1 - p.plane_top), 0, geo.in[1]);
                const float* next_x_rows = x + (next_n * a.channels + g * p.group_channels) * geo.in_size() + ih0 * geo.in[2];
                next[1] = prefetch_rows(next_x_rows, p.group_channels,
                                        std::max<int64_t>(0, ih1 - ih0) * geo.in[2] * 4, geo.in_size() * 4,
                                        block_calls);
            }
            if (p.dot_panels) {
                // B(k, m) = dy[m][q0 + k], then each panel of depth rows against it (a last panel
                // that the depth leaves short overlaps the one before, in tiles of its own); the next block's dy rows
                // prefetched over all of the block's calls.
                const int64_t kc = rows * out_w;
                pack_b_panels(MatrixRef<float>{dy + q0, 1, p.out_size}, 0, kc, 0, out_channels, nr, p.micro.packers,
                              dy_packed);
                if (prefetching && u + 1 < units) {
                    const int64_t next_q0 = (u + 1) % p.position_blocks * p.position_block;
                    const float* next_dy = reinterpret_cast<const float*>(p.dy) +
                                           ((u + 1) / p.position_blocks * a.out_channels + g * out_channels) * p.out_size +
                                           next_q0;
                    next[0] = prefetch_rows(next_dy, out_channels,
                                            std::min(p.position_block, p.out_size - next_q0) * 4, p.out_size * 4,
                                            block_calls);
                }
                for (int64_t jp = 0; jp < depth_panels; ++jp) {
                    const int64_t j0 = std::min(jp * pr, p.depth - pr);
                    for (int64_t s = 0; s * nr < out_channels; ++s) {
                        accumulate_rows_tile(p, rows, out_w, planes, &column_offset[static_cast<size_t>(j0)],
                                             dy_packed + s * nr * kc, dw_t + jp * pr * out_channels + s * nr,
                                             out_channels, pr, std::min<int64_t>(nr, out_channels - s * nr),
                                             u == u_begin, next);
                    }
                }
                continue;
            }
            // A tile's sums start in registers at the task's first block, rather than from a zeroed
            // buffer (MobileNet-v2's stem at batch 1, one thread, CPU time, same-process A/B in
            // both orders: 3.5-5% less time; 6 slices each cleared 55 KB of sums).
            for (int64_t it = 0; it < row_tiles; ++it) {
                // The last tile overlaps the one before rather than reading past dy's rows;
                // the rows they share come out the same bits in both.
                const int64_t m0 = std::min(it * kDotRows, out_channels - kDotRows);
                if (prefetching) {
                    // dy rows of the tile after this one: one tile's (14 KiB at 448 positions) in L1
                    // beside the planes, where the whole next block's (64 KiB for MobileNet-v2's
                    // stem, 128 for ResNet-18's 7x7) evicted the rows in use.
                    const bool last = it + 1 == row_tiles;
                    const int64_t next_u = last ? u + 1 : u;
                    const int64_t next_m0 = last ? 0 : std::min((it + 1) * kDotRows, out_channels - kDotRows);
                    const int64_t next_q0 = next_u % p.position_blocks * p.position_block;
                    const float* next_dy_rows = reinterpret_cast<const float*>(p.dy) +
                                                (next_u / p.position_blocks * a.out_channels + g * out_channels + next_m0) * p.out_size +
                                                next_q0;
                    next[0] = next_u < units ? prefetch_rows(next_dy_rows, kDotRows,
                                                             std::min(p.position_block, p.out_size - next_q0) * 4,
                                                             p.out_size * 4, col_tiles)
                                             : PrefetchRows{};
                }
                for (int64_t jt = 0; jt < col_tiles; ++jt) {
                    const int64_t j0 = std::min(jt * kDotCols, p.depth - kDotCols);
                    float* const tile_sums_at = sums + (it * col_tiles + jt) * tile_sums;
                    if (p.dot_x_rows) {
                        // Tap row kh of channel c: its output rows [r0, r1) of the block read rows of x.
                        // Worked out once a block instead (run_dot_task's own time 5.6% of the stem's at
                        // batch 1): 0.985-0.997x the time, swapped 0.98-1.01 (even; 2026-12-08).
                        const int64_t c = j0 / kernel_size;
                        const int64_t kh = j0 % kernel_size / kDotCols;
                        const int64_t ih0 = 2 * (q0 / out_w) + kh * geo.dilation[1] - geo.pad_begin[1];
                        const int64_t r0 = std::clamp<int64_t>(ceil_div(-ih0, 2), 0, rows);
                        const int64_t r1 = std::clamp<int64_t>(ceil_div(geo.in[1] - ih0, 2), r0, rows);
                        const float* dy_rows = dy + m0 * p.out_size + q0 + r0 * out_w;
                        // The first tile splits the rows (and stores them where more tiles follow);
                        // the others read them back split.
                        float* const odd = planes + jt * p.padded_channel + lanes;
                        if (it == 0) {
                            const float* const x_row =
                                x_image + c * geo.in_size() + (r1 > r0 ? (ih0 + 2 * r0) * geo.in[2] : 0);
                            float* const split = row_tiles > 1 || kernels.row_splits_first ? odd : nullptr;
                            const DotXRows x_rows{x_row, 2 * geo.in[2], geo.in[2], split, p.padded_w, split_even};
                            kernels.dot_row(r1 - r0, out_w, dy_rows, p.out_size, x_rows, tile_sums_at, u == u_begin,
                                            prefetching ? next : nullptr);
                        } else {
                            const float* const b[kDotCols] = {odd - 1, odd + split_even, odd};
                            kernels.dot(r1 - r0, out_w, dy_rows, p.out_size, b, p.padded_w, tile_sums_at, u == u_begin,
                                        prefetching ? next : nullptr);
                        }
                        continue;
                    }
                    const float* b[kDotCols];
                    for (int j = 0; j < kDotCols; ++j) {
                        b[j] = planes + column_offset[static_cast<size_t>(j0 + j)];
                    }
                    kernels.dot(rows, out_w, dy + m0 * p.out_size + q0, p.out_size, b, p.padded_w, tile_sums_at,
                                u == u_begin, prefetching ? next : nullptr);
                }
            }
        }
        float* const dw_group =
            reinterpret_cast<float*>(slice == 0 ? p.dw : p.partials + (slice - 1) * p.dw_size) + g * out_channels * p.depth;
        if (p.dot_panels) {
            // dW^T's rows before the last panel, then the last panel's (as one channel of one tap each).
            const int64_t last = p.depth - pr;
            p.untranspose(dw_t, out_channels, 0, last, 1, dw_group, p.depth);
            p.untranspose(dw_t + (depth_panels - 1) * pr * out_channels, out_channels, 0, pr, 1, dw_group + last,
                          p.depth);
            return;
        }
        // Each (m, j): its lanes added in one fixed order (the 16-lane sums were 8% of the stem's
        // time at batch 1 added one lane at a time).
        float* const totals = sums + row_tiles * col_tiles * tile_sums;
        kernels.totals(sums, row_tiles * col_tiles * kDotRows * kDotCols, totals);
        for (int64_t it = 0; it < row_tiles; ++it) {
            const int64_t m0 = std::min(it * kDotRows, out_channels - kDotRows);
            for (int64_t jt = 0; jt < col_tiles; ++jt) {
                const int64_t j0 = std::min(jt * kDotCols, p.depth - kDotCols);
                const float* tile = totals + (it * col_tiles + jt) * kDotRows * kDotCols;
                for (int64_t i = 0; i < kDotRows; ++i) {
                    for (int64_t j = 0; j < kDotCols; ++j) dw_group[(m0 + i) * p.depth + j0 + j] = tile[i * kDotCols + j];
                }
            }
        }
    } else {
        (void)p;
        (void)task;
        (void)ws;
    }
}

// The padded phase planes' margins and sizes (stride 2: dot mode, direct mode).
template <class T>
void set_phase_planes(Plan<T>& p) {
    const WindowGeometry& geo = p.args->geometry;
    p.plane_top = ceil_div(geo.pad_begin[1], 2);
    p.plane_left = ceil_div(geo.pad_begin[2], 2);
    const int64_t below = std::max<int64_t>(0, floor_half((geo.kernel[1] - 1) * geo.dilation[1] - geo.pad_begin[1]));
    const int64_t right = std::max<int64_t>(0, floor_half((geo.kernel[2] - 1) * geo.dilation[2] - geo.pad_begin[2]));
    p.padded_w = geo.out[2] + p.plane_left + right;
    p.padded_channel = 4 * p.padded_w * (geo.out[1] + p.plane_top + below);
}

// Dot mode's planes laid out for aligned loads: rows a whole number of vectors long, and extra
// zero columns on the left so that column plane_left (where the taps with no column shift read,
// two of the three of a 3x3 kernel) starts a vector; the buffer starts on a cache line (run_dot_task).
// A load that straddles two cache lines costs about two: MobileNet-v2's stem read 113-wide rows at
// shifts 0 and 1, nearly every load straddling; now a third of them do (the taps at column shift
// -1). Zen 5, one thread, batch 1, CPU time per call, same-run A/B in both load orders on a loaded
// machine: -1% to -11%, same bits.
template <class T>
void align_dot_planes(Plan<T>& p) {
    const int64_t plane_h = p.padded_channel / 4 / p.padded_w;
    const int64_t lanes = backward_filter_dot(cpu::active_isa()).lanes;
    const int64_t lead = (lanes - p.plane_left % lanes) % lanes;
    p.plane_left += lead;
    p.padded_w = round_up(p.padded_w + lead, lanes);
    p.padded_channel = 4 * p.padded_w * plane_h;
}

// Runs the planned tasks on `threads` threads, then adds the slices' partial dW into dW. Each
// thread runs its own contiguous share of the tasks first (for_each_claimed_affine): called again,
// it reads the inputs it read last time, still in its own cache. Batch 1, 2 threads, same-process
// A/B in both orders (batches of 20 calls, real-time priority, loaded machine), median: ResNet-18's
// 7x7/2 stem 0.95-0.97 of the time, MobileNet-v2's stem 0.92-1.02, ResNet-18's 3x3/2 from 64
// channels 0.94-1.04; batch 32 even.
template <class T>
void run_plan(Plan<T>& p, int64_t tasks, int64_t threads) {
    const ConvArgs& a = *p.args;
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    if (p.reduction_slices > 1) {
        std::vector<T>& partials = thread_buffer<T, FilterSlicePartials>();
        partials.resize(static_cast<size_t>((p.reduction_slices - 1) * p.dw_size));
        p.partials = partials.data();
    }
    const int64_t padded_rows = round_up(p.task_rows, nr);
    const int64_t padded_block = round_up(p.position_block, kRowAlignment);
    cpu::for_each_claimed_affine(
        tasks, threads,
        [&]() -> Workspace<T>& {
            Workspace<T>& ws = thread_scratch<Workspace<T>>();
            if (p.dot) {
                // Planes of the group's channels, or each column tile's split rows (dot_x_rows),
                // from the buffer's first cache line (run_dot_task).
                const int64_t planes = p.dot_x_rows ? ceil_div(p.depth, kDotCols) : p.group_channels;
                const int64_t lanes = backward_filter_dot(cpu::active_isa()).lanes;
                ws.padded.resize(static_cast<size_t>(planes * p.padded_channel + implicit_gemm::kAlignElements<T>));
                if (p.dot_panels) {
                    ws.dy_packed.resize(static_cast<size_t>(round_up(p.group_out_channels, nr) * p.position_block));
                    ws.dw_t.resize(static_cast<size_t>(round_up(p.depth, p.panel_rows) * p.group_out_channels));
                    return ws;
                }
                // The tiles' lane sums, then their totals.
                ws.sums.resize(static_cast<size_t>(ceil_div(p.group_out_channels, kDotRows) *
                                                   ceil_div(p.depth, kDotCols) * kDotRows * kDotCols * (lanes + 1)));
                return ws;
            }
            if (p.direct) {
                ws.padded.resize(static_cast<size_t>(round_up(p.chunk_channels, mr) * p.padded_channel));
                ws.dy_packed.resize(static_cast<size_t>(round_up(p.group_out_channels, nr) * p.position_block));
                ws.dw_t.resize(static_cast<size_t>(a.geometry.kernel_size() * round_up(p.chunk_channels, mr) *
                                                   p.group_out_channels));
                return ws;
            }
            const int64_t block_size = p.block_images * p.position_block;
            // Whole NR panels of rows (task_rows) or, as A, whole MR panels (MR need not divide NR).
            ws.lowered.resize(static_cast<size_t>(round_up(p.task_rows, mr) * padded_block));
            ws.packed.resize(static_cast<size_t>(padded_rows * block_size));
            ws.a_panel.resize(static_cast<size_t>(mr * block_size));
            if (p.block_images > 1) ws.dy_rows.resize(static_cast<size_t>(p.chunk_panels * mr * block_size));
            if (p.split_in_task != nullptr) {
                ws.planes.resize(static_cast<size_t>(p.group_channels * phase_planes_channel_size(a.geometry)));
            }
            if (p.lowered_as_a) {
                ws.dy_packed.resize(static_cast<size_t>(round_up(p.chunk_panels * mr, nr) * block_size));
                ws.dw_t.resize(static_cast<size_t>(p.group_blocks * p.task_rows * p.chunk_panels * mr));
            }
            return ws;
        },
        [&](int64_t task, Workspace<T>& ws) {
            if (p.dot) {
                run_dot_task(p, task, ws);
            } else if (p.direct) {
                run_direct_task(p, task, ws);
            } else {
                run_task(p, task, ws);
            }
        });
    if (p.reduction_slices > 1) {
        cpu::parallel_for(p.dw_size, 4096, [&](int64_t begin, int64_t end) {
            for (int64_t slice = 1; slice < p.reduction_slices; ++slice) {
                const T* partial = p.partials + (slice - 1) * p.dw_size;
                for (int64_t i = begin; i < end; ++i) p.dw[i] += partial[i];
            }
        });
    }
}

// dW for a convolution that is neither depthwise nor pointwise (the caller's paths), batch >= 1.
template <class T>
void conv_backward_filter(const ConvArgs& a) {
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
    p.dy = static_cast<const T*>(a.y.data);
    p.dw = static_cast<T*>(a.w.data);
    if (p.out_size == 0 || p.depth == 0) {
        std::fill(p.dw, p.dw + a.out_channels * p.depth, T(0));
        return;
    }
    // Equal position blocks (no thin last one), multiples of the row alignment; in direct mode
    // equal counts of whole output rows (a row longer than a block is cut).
    const int64_t max_block = kPositionBlockBytes / static_cast<int64_t>(sizeof(T));
    p.direct = direct_applies<T>(a, p.group_out_channels, p.depth);
    p.dot = !p.direct && dot_applies<T>(a, p.group_out_channels, p.depth);
    const int64_t input_elements = a.batch * (a.channels * a.geometry.in_size() + a.out_channels * p.out_size);
    p.dot_panels = p.dot && dot_takes_panels<T>(a, p.group_out_channels, p.depth);
    p.dot_prefetch =
        p.dot && (p.dot_panels || input_elements * static_cast<int64_t>(sizeof(T)) >= kDotPrefetchInputBytes);
    p.dot_x_rows = p.dot && dot_reads_x_rows(a.geometry);
    const int64_t out_w = a.geometry.out[2], out_h = a.geometry.out[1];
    if (p.direct && out_w < max_block) {
        const int64_t max_rows = kDirectBlockBytes / static_cast<int64_t>(sizeof(T)) / out_w;
        p.position_block = ceil_div(out_h, ceil_div(out_h, max_rows)) * out_w;
    } else if (p.dot) {
        const int64_t max_rows =
            std::max<int64_t>(1, (!p.dot_prefetch          ? kDotBlockPositions
                                  : p.depth >= kDotDeepRows ? kDotDeepPrefetchBlockPositions
                                                            : kDotPrefetchBlockPositions) /
                                     out_w);
        p.position_block = ceil_div(out_h, ceil_div(out_h, max_rows)) * out_w;
    } else {
        p.position_block = std::min(p.out_size, round_up(ceil_div(p.out_size, ceil_div(p.out_size, max_block)),
                                                         kRowAlignment));
    }
    p.position_blocks = ceil_div(p.out_size, p.position_block);
    // Images smaller than a block go several to a block, so that dW tiles are loaded and stored
    // once per block rather than once per small image (ResNet-18's 7x7 layers at batch 32: 5).
    p.block_images = p.direct || p.dot ? 1 : std::clamp<int64_t>(max_block / p.out_size, 1, a.batch);
    p.image_groups = ceil_div(a.batch, p.block_images);
    // The reduction over images and positions cut into slices of equal length, each summed by its
    // own tasks into its own copy of dW, the copies added in slice order at the end: threads then
    // share the positions rather than dW's columns alone, which, split, have each task read all of
    // dy (ResNet-18 batch 32, 2 threads: layer1's six row blocks read it six times) and balance
    // poorly where they are few (7x7 stem: 5 NR panels, 3 + 2 on 2 threads; MobileNet-v2's
    // stem: one panel, and its columns lowered once per output channel chunk). The count
    // depends on the shape alone, never on the thread count (results stay the same bits at any
    // thread count): the most, up to kBaseReductionSlices and one that 2 or 3 threads divide,
    // whose partials stay within 1 / kPartialsShare of the inputs' bytes; then, for many threads,
    // doubled up to kMaxReductionSlices (48: 3 tasks each on 16 threads) while each slice keeps
    // kMinSliceUnits units and the partials stay within 1 / kGrownPartialsShare of the inputs.
    // At batch 32 that is the stems' dot mode, whose slices were its only tasks: ResNet-18's 7x7/2
    // 608 blocks in 48 slices of 12-13 (was 6 of 101-102: 6 of 16 threads busy; now all 16, the
    // largest share 39 blocks against a mean of 38), MobileNet-v2's 896 in 48 of 18-19 (largest
    // share 57 against 56). Same-process A/B against main's 6 slices (both libraries loaded alike,
    // alternating, both orders, loaded machine): one thread 0.98-1.02 of the time; two threads
    // 0.88 (7x7/2) and 0.95 (3x3/2), a thread that is held up late in the call no longer leaves
    // the other a sixth of the work to wait on. ResNet-18's layer1 3x3 (direct mode, 12 slices
    // and 1.6 MB of partials at kPartialsShare) took 1.01-1.016 x the time on one thread: it keeps 6.
    p.dw_size = a.out_channels * p.depth;
    const int64_t units = p.image_groups * p.position_blocks;
    const int64_t most_slices = std::min(units, 1 + input_elements / (kPartialsShare * p.dw_size));
    p.reduction_slices = std::min(kBaseReductionSlices, most_slices);
    if (p.reduction_slices == 5) p.reduction_slices = 4;
    const int64_t most_grown_slices = std::min(
        {kMaxReductionSlices, units / kMinSliceUnits, input_elements / (kGrownPartialsShare * p.dw_size)});
    while (2 * p.reduction_slices <= most_grown_slices) p.reduction_slices *= 2;

    // Tasks (see the top): the fewest row blocks of at most kMaxTaskRows that fill the pool with
    // equal tasks, then output channel chunks if the row blocks alone cannot. A count of tasks
    // that the threads divide comes first, with row blocks down to half the largest (ResNet-18's
    // layer2 3x3 at batch 1, 2 threads: 12 tasks of 3 NR panels rather than 9 of 4, 5 + 4 a thread).
    const int64_t threads = cpu::thread_pool().thread_count();
    if (p.dot) {
        p.source = static_cast<const T*>(a.x.data);
        set_phase_planes(p);
        align_dot_planes(p);
        // Planes of one position block's rows (run_dot_task).
        const DotTapRows taps = dot_tap_rows(a.geometry);
        p.padded_channel = 4 * p.padded_w * (p.position_block / out_w + taps.max_row - taps.min_row);
        if (p.dot_panels) {
            // Panels of 7 rows where they compute fewer rows than 8 (the 7x7/2 stem's 147: 21 of 7
            // against 19 of 8 whose last overlaps the one before, 3.3% more multiply-adds): Zen 5,
            // conv_vs_build against 8-row panels (min / median, then the other way round),
            // 2026-12-08, loaded machine: batch 1 0.984-0.986 / 0.984-0.989, 1.016-1.022 /
            // 1.011-1.016; batch 32 two threads 0.958 / 0.966, 1.011-1.013.
            p.panel_rows = round_up(p.depth, kShortPanelRows) < round_up(p.depth, mr) ? kShortPanelRows : mr;
            p.rows_at_kernel = direct_rows_at_kernel<T>(cpu::active_isa(), mr, nr);
            p.untranspose = direct_untranspose<T>(cpu::active_isa());
        }
        if (p.dot_x_rows) {
            const int64_t lanes = backward_filter_dot(cpu::active_isa()).lanes;
            p.padded_w = lanes + 2 * round_up(out_w, lanes);
            p.padded_channel = p.padded_w * (p.position_block / out_w);
        }
        run_plan(p, p.reduction_slices * a.groups, threads);
        return;
    }
    if (p.direct) {
        // The fewest chunks of whole MR panels of channels that fill the pool.
        const int64_t channel_panels = ceil_div(p.group_channels, mr);
        int64_t chunks = 1;
        while (!tasks_fill_threads(p.reduction_slices * a.groups * chunks, threads) && chunks < channel_panels) ++chunks;
        p.chunk_channels = std::min(p.group_channels, ceil_div(channel_panels, chunks) * mr);
        p.channel_chunks = ceil_div(p.group_channels, p.chunk_channels);
        p.source = static_cast<const T*>(a.x.data);
        p.rows_kernel = direct_rows_kernel<T>(cpu::active_isa(), mr, nr);
        p.untranspose = direct_untranspose<T>(cpu::active_isa());
        if (a.geometry.stride[1] == 2) {
            set_phase_planes(p);
        } else {
            p.padded_w = a.geometry.in[2] + a.geometry.pad_begin[2] + a.geometry.pad_end[2];
            p.padded_channel = p.padded_w * (a.geometry.in[1] + a.geometry.pad_begin[1] + a.geometry.pad_end[1]);
        }
        run_plan(p, p.reduction_slices * a.groups * p.channel_chunks, threads);
        return;
    }
    const int64_t depth_panels = ceil_div(p.depth, nr);
    const int64_t fewest_blocks = ceil_div(depth_panels, std::max<int64_t>(1, kMaxTaskRows / nr));
    auto row_tasks = [&](int64_t panels) { return p.reduction_slices * a.groups * ceil_div(depth_panels, panels); };
    int64_t panels_per_task = 0;
    for (int64_t blocks = fewest_blocks; threads > 1 && blocks <= std::min(depth_panels, 2 * fewest_blocks); ++blocks) {
        const int64_t tasks = row_tasks(ceil_div(depth_panels, blocks));
        if (tasks >= threads && tasks % threads == 0) {
            panels_per_task = ceil_div(depth_panels, blocks);
            break;
        }
    }
    for (int64_t blocks = fewest_blocks; panels_per_task == 0 && blocks <= depth_panels; ++blocks) {
        if (tasks_fill_threads(row_tasks(ceil_div(depth_panels, blocks)), threads) || blocks == depth_panels) {
            panels_per_task = ceil_div(depth_panels, blocks);
        }
    }
    p.task_rows = panels_per_task * nr;
    p.row_blocks = ceil_div(depth_panels, panels_per_task);
    const int64_t row_panels = ceil_div(p.group_out_channels, mr);
    p.out_chunks = 1;
    while (!tasks_fill_threads(p.reduction_slices * a.groups * p.row_blocks * p.out_chunks, threads) && p.out_chunks < row_panels) {
        ++p.out_chunks;
    }
    p.chunk_panels = ceil_div(row_panels, p.out_chunks);
    p.out_chunks = ceil_div(row_panels, p.chunk_panels);
    // Then, over several images, row blocks merged into equal tasks of several, down to one task
    // per thread: a task passes over each image once for all its row blocks, where separate tasks
    // each read the image's dy again from memory (ResNet-18 batch 32, 1 thread: layer1 104 -> 76
    // ms; 2 threads, one task a thread rather than two or three, same-process A/B, median of 11:
    // layer3 3x3/2 0.86 of the time, layer4 3x3/2 0.98, layer3 and layer4 3x3 0.99; layer3 3x3's
    // six tasks each packed all of dy). At batch 1 the image stays in cache, and finer
    // tasks balance better (2 threads: 7.1-7.8 ms summed over ResNet-18's layers, 8.7-10.6 merged)
    // unless reduction slices already make the tasks many, or one thread runs them all (dy, when
    // packed, is then packed once for all row blocks).
    p.row_groups = p.row_blocks;
    const bool merge = threads <= 1 || a.batch > p.block_images || p.reduction_slices > 1;
    for (int64_t groups = 1; merge && groups < p.row_blocks; ++groups) {
        const int64_t tasks =
            p.reduction_slices * a.groups * ceil_div(p.row_blocks, ceil_div(p.row_blocks, groups)) * p.out_chunks;
        if (p.row_blocks % groups == 0 && tasks % threads == 0) {
            p.row_groups = groups;
            break;
        }
    }
    p.group_blocks = ceil_div(p.row_blocks, p.row_groups);
    p.row_groups = ceil_div(p.row_blocks, p.group_blocks);

    // Which operand is packed: the transposition into panels costs as much as the operand is
    // large, so the smaller one per task, dy where its chunk has fewer rows (output channels) than
    // the task's columns (depth rows; ResNet-18's 3x3 layers on one thread: 9 or 4.5 x fewer).
    // One image per block only (the lowering writes one image's rows). Either way each element of
    // dW is the same chain of multiply-adds, so the choice does not change a bit.
    // The transposition of dW^T back into dW (per task, strided) costs about kTransposeCost
    // packed elements per element of dW, so the choice weighs it against the packing saved over
    // the task's positions (ResNet-18's layer3 3x3 at batch 1, 196 positions: 20% slower with
    // dy packed).
    const int64_t chunk_rows = std::min(p.group_out_channels, p.chunk_panels * mr);
    const int64_t task_depth_rows = std::min(p.depth, p.group_blocks * p.task_rows);
    const int64_t task_positions = a.batch * p.out_size / p.reduction_slices;
    p.lowered_as_a = p.block_images == 1 && chunk_rows < task_depth_rows &&
                     (task_depth_rows - chunk_rows) * task_positions > kTransposeCost * task_depth_rows * chunk_rows;

    // Stride-2 layers read polyphase planes (conv_lowering.hpp). With one image per block and
    // slices of two images or more, each task splits the channels of its rows of each image as it
    // comes to it, so the planes are still in L2 when lowered (ResNet-18 batch 32: 25 MB of planes
    // of layer2's 3x3/2 were written and read back from memory; one thread: 8% less time on it);
    // an image that two slices share is split twice. Otherwise (slices within one image would
    // each split it whole: MobileNet-v2's stem at batch 1, 1.35 x the time) all threads split
    // the whole batch first.
    p.source = static_cast<const T*>(a.x.data);
    p.source_channel_size = a.geometry.in_size();
    const PhaseLowering<T> phases = phase_lowering<T>(cpu::active_isa(), a.geometry);
    if (phases.split != nullptr && phase_planes_apply(a.geometry) &&
        round_up(p.position_block, kRowAlignment) <= kMaxPhaseColumns && p.block_images == 1 &&
        a.batch >= 2 * p.reduction_slices) {
        p.split_in_task = phases.split;
        p.lower = phases.lower;
    } else if (phases.split != nullptr && phase_planes_apply(a.geometry) &&
               round_up(p.position_block, kRowAlignment) <= kMaxPhaseColumns) {
        p.source_channel_size = phase_planes_channel_size(a.geometry);
        std::vector<T>& planes_buffer = thread_buffer<T, FilterPhasePlanes>();
        planes_buffer.resize(static_cast<size_t>(a.batch * a.channels * p.source_channel_size));
        T* planes = planes_buffer.data();
        const T* x = p.source;
        cpu::parallel_for(a.batch * a.channels, 1, [&](int64_t begin, int64_t end) {
            phases.split(x + begin * a.geometry.in_size(), a.geometry, end - begin,
                         planes + begin * p.source_channel_size);
        });
        p.source = planes;
        p.lower = phases.lower;
    }

    const int64_t tasks = p.reduction_slices * a.groups * p.row_groups * p.out_chunks;
    run_plan(p, tasks, threads);
}

}  // namespace backward_filter
}  // namespace mln::kernels
