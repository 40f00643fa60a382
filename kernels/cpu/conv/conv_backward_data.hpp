// Backward data of a convolution that is neither depthwise nor pointwise, for what the
// flipped-filter forward path does not take (strides above 1, small images): by polyphase
// (strides above 1 with many positions: stride-1 forward convolutions, one per phase of dx; or
// phases 7, 14 or 28 wide, the phases' forwards fused; at the end of this file) or
// else by columns + col2im. Per image and group:
//   columns (depth x P) = W_g^T (depth x Mg) * dy_g (Mg x P),   dx_g = col2im(columns)
// as an implicit GEMM over chunks of input channels: a task computes the column rows of its
// channels (kernel-size rows each) into a buffer that stays in L2 and folds them into dx at once
// (im2col.hpp), so no column matrix of a whole image goes through memory. Both operands are read
// in place: A = W_g^T through the strided micro-kernel (8 consecutive weights per output
// channel), B = dy's rows (contiguous positions); only a partial last panel of either is packed,
// zero-padded, and A panels that serve many NR panels (large images). Packing W^T cost as much
// as the arithmetic when the images are small (ResNet-18's 7x7 layers: 42% of the time in the
// transposing A pack of the GEMM it replaced, each weight used for 49 positions only).
//
// Tasks: (image, group, chunk of input channels), claimed dynamically; chunks are cut smaller
// (down to one channel) until the tasks fill the pool. Each dx element is summed by col2im in a
// fixed order from column values whose sums do not depend on the tiles, so the result of the
// column path does not depend on the thread count.
//
// Loop nest of one task (dy's partial last NR panel is packed before the tasks):
//   for each KC block of output channels
//     for each NC block of positions (L2)
//       for each MR panel of the chunk's rows -> (partial, or many NR panels: packed) A panel, L1
//         for each NR panel of the block      -> micro-kernel into the columns buffer (L2)
//   col2im of the chunk's channels, one dx row at a time (im2col.hpp)
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/common/streaming_stores.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_backward_tile.hpp"
#include "kernels/cpu/conv/conv_implicit_gemm.hpp"
#include "kernels/cpu/conv/conv_winograd.hpp"
#include "kernels/cpu/conv/im2col.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"
#include "kernels/cpu/gemm/gemm_pack.hpp"

#if defined(MYELIN_X86_64_KERNELS)
#include <xmmintrin.h>
#endif

namespace mln::kernels {
namespace backward_data {

// Output channels per depth block of the GEMM (its KC): a KC x NR panel of dy in L1.
constexpr int64_t kOutChannelBlockBytes = 256 * 4;
// A KC x NC block of dy (positions) at most this big, so that it stays in L2 while every MR panel
// of the chunk's rows passes over it (the 7x7/2 stem's 12544 positions streamed dy from L3 once
// per MR panel without).
constexpr int64_t kColumnBlockBytes = 256 << 10;
// Column rows per task at most (128 x 784 positions: 400 KiB in f32, in L2 for col2im).
constexpr int64_t kMaxChunkRows = 128;

template <class T>
struct Plan {
    const ConvArgs* args;
    GemmMicroKernelInfo<T> micro;
    const T* dy;
    const T* w;
    T* dx;
    int64_t group_channels, group_out_channels, depth, kernel_size, out_size, in_size;
    int64_t out_channel_block;
    int64_t column_block;  // positions per block: a multiple of NR
    int64_t chunk_channels, chunks;
    // dy's partial last NR panel of positions per image and group (group_out_channels rows of
    // NR, zero-padded), packed once for all tasks; nullptr when the positions fill whole panels.
    const T* dy_partial;
    // Transposed form: dy^T of each image and group as MR panels of positions (all output
    // channels deep, zero-padded), packed once for all tasks; nullptr otherwise.
    const T* dy_panels;
    bool transposed;  // see run_transposed_task
    // The transposed form's positions: MR panels, then edge tiles (position_panels::position_tiles).
    implicit_gemm::position_panels::PositionTiles tiles{0};
};

struct PartialPanels;
struct TransposedPanels;

template <class T>
struct Workspace {
    std::vector<T> columns, a_panel, phase_rows, columns_t, b_panel;
};

// Task `task`: image n, group g (image_group = n * groups + g) and the chunk of the group's input
// channels from c0, whose rows of the columns are [first_row, first_row + rows) of the depth.
template <class T>
struct TaskChunk {
    int64_t image_group;
    int64_t channels;
    int64_t first_row;
    int64_t rows;
    const T* dy;  // the image's dy rows of the group
    const T* w;   // the group's weights from column first_row
    T* dx;        // the chunk's dx planes
};

template <class T>
TaskChunk<T> task_chunk(const Plan<T>& p, int64_t task) {
    const ConvArgs& a = *p.args;
    const int64_t chunk = task % p.chunks;
    const int64_t image_group = task / p.chunks;
    const int64_t g = image_group % a.groups;
    const int64_t n = image_group / a.groups;
    const int64_t c0 = chunk * p.chunk_channels;
    const int64_t channels = std::min(p.chunk_channels, p.group_channels - c0);
    return {image_group,
            channels,
            c0 * p.kernel_size,
            channels * p.kernel_size,
            p.dy + (n * a.out_channels + g * p.group_out_channels) * p.out_size,
            p.w + g * p.group_out_channels * p.depth + c0 * p.kernel_size,
            p.dx + (n * a.channels + g * p.group_channels + c0) * p.in_size};
}

// Few positions (at most kTransposedMaxPositions): the GEMM transposed, columns^T (P x rows) =
// dy^T * W_g, positions in MR panels of A (then edge tiles where the micro-kernels have an edge
// kernel: position_panels::position_tiles; ResNet-18's layer4 3x3/2 at batch 1 0.91-0.93x the
// time) and the chunk's depth rows in NR panels of B, which
// col2im reads as they are (transposing them into rows of positions first: 1.04-1.07x the time
// of ResNet-18's 3x3 layers at 7x7 and 14x14, Zen 3, batch 1, one thread). A last NR panel of
// positions was mostly padding (ResNet-18's 3x3/2 layers at batch 1: 49 positions = 32 + 17,
// 196 = 6 x 32 + 4); MR panels waste less (49 = 6 x 8 + 1). Zen 5, one thread, CPU time under
// load: ResNet-18's layer4 3x3/2 (49 positions) at batch 1 1.01-1.04 -> 0.86-0.89 ms; layer3's
// (196) 0.77-0.81 either way.
// Both operands are packed: dy^T once for all tasks (p.dy_panels), and per depth block all of
// the chunk's NR panels of W in one pass over its rows. Read in place instead (dy's 6 positions
// at a stride of P, W's 16 rows per panel at a stride of the depth: 18 KiB for 512 channels of
// 3x3, which maps a panel's rows onto 2 of L1's 64 sets), they took ResNet-18's layer4 3x3
// backward data at batch 1 to 1.5x its time now (Zen 3, AVX2, one thread; packing each NR panel
// of W on its own: 1.14x, and 1.07x with chunks of 14 channels, whose 126 rows end in a partial
// panel). Up to 256 positions: layer3's 196 ran 0.94-0.96x the time of the untransposed GEMM.
constexpr int64_t kTransposedMaxPositions = 256;

template <class T>
void run_transposed_task(const Plan<T>& p, int64_t task, Workspace<T>& ws) {
    const ConvArgs& a = *p.args;
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const TaskChunk<T> t = task_chunk(p, task);
    const int64_t rows = t.rows;
    const int64_t positions = p.out_size;
    const implicit_gemm::position_panels::PositionTiles& tiles = p.tiles;
    const T* dy_panels = p.dy_panels + t.image_group * round_up(positions, mr) * p.group_out_channels;
    const T* w = t.w;  // B(k, j) = w[k * depth + j]
    T* const columns_t = ws.columns_t.data();  // (position, row) at position * rows + row
    for (int64_t k0 = 0; k0 < p.group_out_channels; k0 += p.out_channel_block) {
        const int64_t kc = std::min(p.out_channel_block, p.group_out_channels - k0);
        const bool first = k0 == 0;
        const T* dy_block = dy_panels + k0 * mr;
        const T* w_block = w + k0 * p.depth;
        pack_b_panels(MatrixRef<T>{w_block, p.depth, 1}, 0, kc, 0, rows, nr, p.micro.packers, ws.b_panel.data());
        for (int64_t j0 = 0; j0 < rows; j0 += nr) {
            const int64_t cols = std::min<int64_t>(nr, rows - j0);
            const T* b = ws.b_panel.data() + j0 * kc;
            T* const c = columns_t + j0;
            for (int64_t i = 0; i < tiles.panel_rows; i += mr) {
                accumulate_tile(p.micro.packed, mr, nr, kc, dy_block + i * p.group_out_channels, 1, mr, b, nr,
                                c + i * rows, rows, std::min<int64_t>(mr, tiles.panel_rows - i), cols, first);
            }
            for (int tile = 0, i = static_cast<int>(tiles.panel_rows); tile < tiles.tails; i += tiles.tail_rows[tile++]) {
                const int tile_rows = tiles.tail_rows[tile];
                accumulate_edge_tile(p.micro.edge, tile_rows, nr, kc, dy_panels + i * p.group_out_channels + k0 * tile_rows,
                                     b, c + i * rows, rows, cols, first);
            }
        }
    }
    col2im_rows(columns_t, 1, rows, a.geometry, t.channels, t.dx, ws.phase_rows);
}

template <class T>
void run_task(const Plan<T>& p, int64_t task, Workspace<T>& ws) {
    if (p.transposed) return run_transposed_task(p, task, ws);
    const ConvArgs& a = *p.args;
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const TaskChunk<T> t = task_chunk(p, task);
    const int64_t rows = t.rows;
    const int64_t positions = p.out_size;
    const int64_t full_cols = positions / nr * nr;
    const int64_t partial_cols = positions - full_cols;
    const T* dy = t.dy;
    const T* w = t.w;  // A(i, k) = w[i + k * depth]
    T* const columns = ws.columns.data();
    for (int64_t k0 = 0; k0 < p.group_out_channels; k0 += p.out_channel_block) {
        const int64_t kc = std::min(p.out_channel_block, p.group_out_channels - k0);
        const bool first = k0 == 0;
        const T* dy_block = dy + k0 * positions;
        const T* w_block = w + k0 * p.depth;
        const T* dy_partial =
            partial_cols > 0 ? p.dy_partial + (t.image_group * p.group_out_channels + k0) * nr : nullptr;
        for (int64_t j0 = 0; j0 < positions; j0 += p.column_block) {
            const int64_t j_end = std::min(positions, j0 + p.column_block);
            const int64_t full_end = std::min(j_end, full_cols);
            const bool partial = j_end > full_cols;
            // As in the forward implicit GEMM: an A panel serving many NR panels is packed
            // (contiguous reads in the micro-kernel); with few, reading W^T in place costs less.
            const bool packs_a = ceil_div(j_end - j0, nr) >= implicit_gemm::kPackedPanelsMinimum;
            for (int64_t i = 0; i < rows; i += mr) {
                const int64_t panel_rows = std::min<int64_t>(mr, rows - i);
                GemmMicroKernel<T> kernel = p.micro.strided;
                const T* a_data = w_block + i;
                int64_t a_row_stride = 1, a_col_stride = p.depth;
                if (panel_rows < mr || packs_a) {
                    pack_a_panels(MatrixRef<T>{w_block, 1, p.depth}, i, panel_rows, 0, kc, mr, p.micro.packers,
                                  ws.a_panel.data());
                    kernel = p.micro.packed;
                    a_data = ws.a_panel.data();
                    a_row_stride = 1;
                    a_col_stride = mr;
                }
                T* c = columns + i * positions;
                for (int64_t j = j0; j < full_end; j += nr) {
                    accumulate_tile(kernel, mr, nr, kc, a_data, a_row_stride, a_col_stride, dy_block + j,
                                    positions, c + j, positions, panel_rows, nr, first);
                }
                if (partial) {
                    accumulate_tile(kernel, mr, nr, kc, a_data, a_row_stride, a_col_stride, dy_partial, nr,
                                    c + full_cols, positions, panel_rows, partial_cols, first);
                }
            }
        }
    }
    col2im_rows(columns, p.out_size, 1, a.geometry, t.channels, t.dx, ws.phase_rows);
}

// dx for a convolution that is neither depthwise nor pointwise, batch >= 1.
template <class T>
void conv_backward_data(const ConvArgs& a) {
    Plan<T> p{};
    p.args = &a;
    p.micro = gemm_microkernel<T>(cpu::active_isa());
    p.dy = static_cast<const T*>(a.y.data);
    p.w = static_cast<const T*>(a.w.data);
    p.dx = static_cast<T*>(a.x.data);
    p.group_channels = a.channels / a.groups;
    p.group_out_channels = a.out_channels / a.groups;
    p.kernel_size = a.geometry.kernel_size();
    p.depth = p.group_channels * p.kernel_size;
    p.out_size = a.geometry.out_size();
    p.in_size = a.geometry.in_size();
    if (p.out_size == 0 || p.group_out_channels == 0) {
        std::fill(p.dx, p.dx + a.batch * a.channels * p.in_size, T(0));
        return;
    }
    p.out_channel_block = kOutChannelBlockBytes / static_cast<int64_t>(sizeof(T));
    p.column_block = std::max<int64_t>(
        p.micro.nr, kColumnBlockBytes / (std::min(p.out_channel_block, p.group_out_channels) *
                                         static_cast<int64_t>(sizeof(T))) / p.micro.nr * p.micro.nr);
    const int64_t threads = cpu::thread_pool().thread_count();
    p.transposed = p.out_size <= kTransposedMaxPositions;
    p.chunk_channels = std::clamp<int64_t>(kMaxChunkRows / p.kernel_size, 1, p.group_channels);
    if (p.transposed) {
        // Chunks of whole NR panels of rows where that stays under 2 kMaxChunkRows (3x3 at NR 16:
        // 16 channels, 144 rows; at NR 32 it would take 288): no partial panel of W per chunk.
        const int64_t whole_panels = p.micro.nr / std::gcd<int64_t>(p.micro.nr, p.kernel_size);
        const int64_t rounded = round_up(p.chunk_channels, whole_panels);
        if (rounded * p.kernel_size <= 2 * kMaxChunkRows) p.chunk_channels = std::min(rounded, p.group_channels);
    }
    for (;;) {
        p.chunks = ceil_div(p.group_channels, p.chunk_channels);
        if (p.chunk_channels == 1 || tasks_fill_threads(a.batch * a.groups * p.chunks, threads)) break;
        p.chunk_channels = std::min(p.chunk_channels - 1, ceil_div(p.group_channels, p.chunks + 1));
    }
    const int64_t tasks = a.batch * a.groups * p.chunks;
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    // The partial panel of dy once per image and group: each task packing it again cost 12% of
    // ResNet-18's 512-channel 3x3/2 layer at batch 1 (49 positions: 17 in the partial panel, 19
    // tasks). The workers reach the buffer through the pointer.
    const int64_t full_cols = p.out_size / nr * nr;
    if (full_cols < p.out_size && !p.transposed) {
        std::vector<T>& partial_buffer = thread_buffer<T, PartialPanels>();
        partial_buffer.resize(static_cast<size_t>(a.batch * a.out_channels * nr));
        T* partial = partial_buffer.data();
        cpu::parallel_for(a.batch * a.groups, 1, [&](int64_t begin, int64_t end) {
            for (int64_t image_group = begin; image_group < end; ++image_group) {
                pack_b_panels(MatrixRef<T>{p.dy + image_group * p.group_out_channels * p.out_size + full_cols,
                                           p.out_size, 1},
                              0, p.group_out_channels, 0, p.out_size - full_cols, nr, p.micro.packers,
                              partial + image_group * p.group_out_channels * nr);
            }
        });
        p.dy_partial = partial;
    }
    if (p.transposed) {
        const int64_t image_group_size = round_up(p.out_size, mr) * p.group_out_channels;
        std::vector<T>& panels_buffer = thread_buffer<T, TransposedPanels>();
        panels_buffer.resize(static_cast<size_t>(a.batch * a.groups * image_group_size));
        T* panels = panels_buffer.data();
        p.tiles = implicit_gemm::position_panels::position_tiles(p.out_size, mr, p.micro.edge != nullptr);
        cpu::parallel_for(a.batch * a.groups, 1, [&](int64_t begin, int64_t end) {
            for (int64_t image_group = begin; image_group < end; ++image_group) {
                implicit_gemm::position_panels::pack_position_tiles(
                    MatrixRef<T>{p.dy + image_group * p.group_out_channels * p.out_size, 1, p.out_size}, p.tiles,
                    p.group_out_channels, p.micro, panels + image_group * image_group_size);
            }
        });
        p.dy_panels = panels;
    }
    cpu::for_each_claimed(
        tasks, threads,
        [&]() -> Workspace<T>& {
            Workspace<T>& ws = thread_scratch<Workspace<T>>();
            if (p.transposed) {
                ws.columns_t.resize(static_cast<size_t>(p.chunk_channels * p.kernel_size * p.out_size));
                const int64_t rows = round_up(p.chunk_channels * p.kernel_size, nr);
                ws.b_panel.resize(static_cast<size_t>(rows * p.out_channel_block));
            } else {
                ws.columns.resize(static_cast<size_t>(p.chunk_channels * p.kernel_size * p.out_size));
                ws.a_panel.resize(static_cast<size_t>(mr * p.out_channel_block));
            }
            return ws;
        },
        [&](int64_t task, Workspace<T>& ws) { run_task(p, task, ws); });
}


// ---- Polyphase: a strided backward data as stride-1 forward convolutions ----------------------
//
// Along an axis with stride s, dilation r and pad p, dx position i = phase + s j takes dy[o] w[k]
// only from the taps k with (phase + p - k r) divisible by s, at o = j + (phase + p - k r) / s.
// So each phase (one per axis, s of them) of dx is a stride-1 forward convolution of dy with the
// phase's taps (in decreasing k: increasing offsets, s / gcd(s, r) apart, dilation r / gcd(s, r)),
// input and output channels swapped. The phases' taps partition the kernel: the multiply-adds
// are the column path's, without its column buffer and col2im (3x3/2: 1, 2, 2 and 4 taps; the
// 1-tap phase is a pointwise GEMM). Each phase's dx values come out contiguous, in a buffer of a
// slice of images, and one pass interleaves them into dx rows. The rounding is the forward
// convolution's: the same at any thread count except where it splits the depth (one image of
// few position blocks on several threads: conv_implicit_gemm.hpp), unlike the column path's.

// One axis of one phase: its positions j (size), taps and the forward convolution's geometry.
struct PhaseAxis {
    int64_t size = 0;       // positions of dx in the phase
    int64_t taps = 0;       // 0: no tap reaches these positions (dx is 0 there)
    int64_t first_tap = 0;  // the largest k of the phase; tap t is first_tap - t * tap_step
    int64_t tap_step = 1;
    int64_t dilation = 1;
    int64_t pad_begin = 0, pad_end = 0;
};

inline PhaseAxis phase_axis(const WindowGeometry& g, int d, int64_t phase) {
    PhaseAxis axis;
    const int64_t s = g.stride[d], r = g.dilation[d];
    axis.size = phase < g.in[d] ? ceil_div(g.in[d] - phase, s) : 0;
    axis.tap_step = s / std::gcd(s, r);
    axis.dilation = r / std::gcd(s, r);
    int64_t first_offset = 0;
    for (int64_t k = g.kernel[d] - 1; k >= 0; --k) {
        const int64_t offset = phase + g.pad_begin[d] - k * r;  // s * (o - j)
        if (offset % s != 0) continue;
        if (axis.taps++ == 0) {
            axis.first_tap = k;
            first_offset = offset / s;
        }
    }
    axis.pad_begin = -first_offset;
    axis.pad_end = axis.size - g.out[d] - axis.pad_begin + axis.dilation * (axis.taps - 1);
    return axis;
}

// Where the polyphase path serves: dx channels per group (the phase GEMMs' rows) from 32 (the
// 7x7/2 stem's 3 make too short a GEMM), and dx positions per phase (batch x in / phases, the
// GEMMs' columns) from 1024: the phase filters are a pass over all of w, which few columns do
// not repay. Measured on Zen 5, one thread, ResNet-18's 3x3/2 layers against the column path
// (a loaded machine: +-15% from run to run): batch 32 (1568 to 25088 positions per phase)
// 0.8x to 1.07x of its time; batch 1 and 64 channels at 56 (784) even; 196 positions 1.2x to
// 1.6x, 49 positions (512 channels at 7) 2x to 3x slower. Fewer positions take the fused
// forwards where they fit (fused_phase_forwards).
constexpr int64_t kPolyphaseMinChannels = 32;
constexpr int64_t kPolyphaseMinPositions = 1024;
// Images go through the phase forwards and the interleaving pass a slice at a time: a slice's
// phase results (kPolyphaseSliceFilterRatio times the phase filters' bytes, clamped to
// [kPolyphaseMinSliceBytes, kPolyphaseMaxSliceBytes]) are still in L2 when interleaved, yet
// each slice's GEMMs have enough columns to pay for reading all phase filters again. Zen 5, one
// thread, batch 32, same-process A/B CPU time against 8 MiB slices for all: ResNet-18's 3x3/2
// from 64 channels (295 KiB of filters) 1 MiB 0.81-0.87, 2 MiB 0.82-0.90; from 128 (1.2 MiB)
// 2 MiB 0.93; from 256 (4.7 MiB) 1 MiB 1.11, 2 MiB 1.01-1.04.
constexpr int64_t kPolyphaseMinSliceBytes = 1 << 20;
constexpr int64_t kPolyphaseMaxSliceBytes = 8 << 20;
constexpr int64_t kPolyphaseSliceFilterRatio = 2;
// And at least this many positions per phase forward: more than the implicit GEMM's transposed
// form takes (3x3/2 from 128 channels, 2 threads, 980-position forwards split among the threads:
// 1.16-1.33x the time of 8 MiB slices). The slice size changes the forwards' batch, not how each
// sums an output (ConvArgs::batch_invariant_sums: the same bits at any thread count, tested).
constexpr int64_t kPolyphaseMinSlicePositions = implicit_gemm::transposed::kMaxPositions + 1;
// Slices per thread from which each thread takes whole slices (its forwards and interleaving
// inline, its results in its own L2, one fork a call; 2 threads, batch 32, 3x3/2 from 64
// channels 0.73-0.84, from 128 (6 slices) 0.79-0.84, batch 8 from 64 0.73-0.78 of the time of
// 8 MiB slices, each forward split among the threads; batch 4, two slices a thread, 1.31x); with
// fewer the threads split each slice's forwards.
constexpr int64_t kPolyphaseSlicesPerThread = 3;

// Phases along the last axis that one dx row interleaves at most (its stride).
constexpr int64_t kPolyphaseMaxRowPhases = 16;

struct PhaseFilters;
struct PhaseResults;
struct PhasePanelBuffer;

#if defined(MYELIN_X86_64_KERNELS)
// Phases 7 or 14 wide, or a multiple of 14 (ResNet-18's 3x3/2 layers: 7, 14 and 28), take the
// phases' forwards fused in the implicit GEMM's transposed form where the column path would
// serve (few positions) or the phases have kFusedMinImagePositions per image. A task (a range of
// 32-channel panels of dx over a slice of images) pads the slice's images of dy once, and for
// each block of dy channels packs all kernel taps of its 32 dx channels into one w^T panel in L1
// (each phase's rows together), which serves the tiles of every phase of every image
// (padded_positions_tile_avx512 over the padded dy); each weight is read once a slice. Packing
// the phases' panels whole first instead (one pass over w writing 4.7 MB, read back by the
// tiles) cost 44% of layer4's time at batch 1. Every output sums over all depth in one task, in
// the same order: the same bits at any thread count and slicing.
struct FusedPhase {
    WindowGeometry geometry;         // the phase's forward convolution
    PaddedTaps taps;                 // its taps over the common padded dy
    std::vector<PaddingSkip> skips;  // tile t's at t * taps.count
    // Tile t's kernel: phase_tile_avx512's where it fits (ResNet-18's 3x3/2 layers: every tile),
    // padded_positions_tile_avx512's walk over the taps elsewhere.
    std::vector<PaddedTileKernel> kernels;
    int64_t first_row;               // a block of b dy channels has the phase's rows from first_row * b
    int64_t result_offset;           // as Phase's
};

// The positions of a tile's output rows in the padded tile kernels: whole rows where a phase is 7
// or 14 wide, 14-position pieces of rows whose width is a multiple of 14 (ResNet-18's layer2 3x3/2:
// 28); 0 for other widths.
inline int fused_tile_width(int64_t width) {
    if (width == 7 || width == kPositionsTileRows) return static_cast<int>(width);
    return width % kPositionsTileRows == 0 ? kPositionsTileRows : 0;
}

// Positions per phase of an image (dx's over the phases) from which the fused forwards serve
// any batch (3x3/2 into 28x28 and 56x56, not into 14x14: 49 per phase, where at batch 32 on 2
// threads they took 1.03-1.10x the time of the separate forwards, whose panels serve all of a
// slice's images while two threads stream w apiece); and the positions of a slice's phases (the
// images a w^T panel serves) at least. Zen 5, batch 32 on 2 threads, same-process A/B against
// main's separate phase forwards (whose lowering gathers were 20% of their time): ResNet-18's
// layer2 3x3/2 (784 per phase, slices of 1 image) 0.90-0.92x, layer3's (196, slices of 2)
// 0.88-0.93x (of 1 image: 0.85-0.96x, of 4: 0.90-1.13x); one thread, batch 8, against main's
// fused forwards of one image a task, layer4 (slices of 8) 0.83-0.85x; batch 1 unchanged.
// With dx's rows written straight from the sums (FusedRows), layer4's 49 per phase fused at batch
// 32 measured 0.94-1.01x the separate forwards' time on two threads, 0.93-1.01x on one (A/B
// both ways round, not the same way twice): left out.
constexpr int64_t kFusedMinImagePositions = 128;
constexpr int64_t kFusedTaskPositions = 392;

struct FusedPhaseWork;
// Panel rows per block of dy channels (all taps of each): a 64 KiB panel (each tile's sums loaded
// and stored half as often as at 256 rows). Against 256 rows, Zen 5, conv_vs_build both ways round
// (min / median, 2026-12-07): ResNet-18's 3x3/2 at batch 32 on two threads, layer2 0.93-0.98 /
// 0.93-0.97 (256: 1.03-1.04 / 1.03-1.06x of it), layer3 0.97-0.99 / 0.96-0.98 (1.04 / 1.04);
// batch 1, one thread, layer2 0.97 / 0.97-1.03 (1.02-1.03 / 1.03), layer3 and layer4 0.98-1.01.
// Blocks of 128 rows took 1.02-1.08x the time of 256 (one thread, same-process A/B).
constexpr int64_t kFusedBlockRows = 512;

// Where every dx row interleaves two column phases of one width (stride 2 along the rows, an
// even width, every phase with taps: phases (q1, 0) and (q1, 1) are phases[2 q1] and
// phases[2 q1 + 1]), the tasks write dx's rows straight from their sums
// (write_interleaved_sums_avx512), with no results buffer and no interleaving pass (that pass, a
// scalar row loop, and the transposing write before it were 12% of ResNet-18's layer2 3x3/2 at
// batch 1). Zen 5, conv_vs_build against the two passes (min / median, both ways round): batch 1,
// one thread, layer2 0.90 / 0.90 (0.89-0.94 / 0.92-0.95 the other way), layer3 0.93 / 0.93,
// layer4 0.94-0.96 / 0.95; batch 32, two threads, layer2 0.93-0.98 / 0.94-0.97, layer3 0.94-0.98.
struct FusedRows {
    float* dx = nullptr;     // the slice's dx; nullptr: into results
    int64_t rows = 0;        // dx rows of a plane (in[1])
    int64_t row_phases = 0;  // the stride along them
    int64_t width = 0;       // the phases' width (in[2] / 2)
    // Two row phases, dx's rows whole cache lines in pairs (in[2] a multiple of 8, dx 64-byte
    // aligned) and dx too large to stay in cache (kStreamingStoreBytes): rows i and i + 1 written
    // together with non-temporal stores (write_interleaved_row_pair_avx512), no read for ownership.
    // ResNet-18's layer2 3x3/2 (26 MB of dx), batch 32, two threads, conv_vs_build against main
    // (min / median): 0.91-0.97 / 0.91-0.97, main 0.99-1.09 / 1.02-1.07x of it the other way round.
    bool stream = false;
};

// results (as conv_backward_data_polyphase's: each phase's planes of `images` images), or dx
// where rows.dx is set, from dy (`images` images of out_channels x padding.in), w (out_channels x
// channels x kernel_size); tap_phase[k]: the phase of tap k (-1: none), tap_index[k]: its row
// among the phase's taps. Tasks: ranges of 32-channel panels of dx, at most `threads` of them,
// each over all the images: each w^T panel, packed once per task, serves the tiles of every image.
inline void fused_phase_forwards(const float* dy, const float* w, int64_t images, int64_t threads,
                                 int64_t out_channels, int64_t channels, int64_t kernel_size,
                                 const WindowGeometry& padding, const std::vector<FusedPhase>& phases,
                                 const std::vector<int64_t>& tap_phase, const std::vector<int64_t>& tap_index,
                                 const FusedRows& rows, float* results) {
    using namespace implicit_gemm::transposed;
    const PaddedImage layout(padding);
    const int64_t channel_panels = ceil_div(channels, int64_t{kPositionsTileColumns});
    const int64_t ranges = std::min(channel_panels, threads);
    const int64_t block_channels = std::max<int64_t>(1, kFusedBlockRows / kernel_size);
    int64_t positions_all = 0;
    for (const FusedPhase& ph : phases) positions_all += ph.geometry.out_size();
    const int64_t sums_size = positions_all * round_up(channels, int64_t{kPositionsTileColumns});
    const int64_t panel_size = std::max(kFusedBlockRows, kernel_size) * kPositionsTileColumns;
    const int64_t padded_size = round_up(out_channels * layout.plane, implicit_gemm::kAlignElements<float>);
    cpu::for_each_claimed(
        ranges, threads,
        [&] {
            std::vector<float>& buffer = thread_buffer<float, FusedPhaseWork>();
            buffer.resize(static_cast<size_t>(implicit_gemm::kAlignElements<float> + panel_size +
                                              images * (padded_size + sums_size)));
            return implicit_gemm::cache_line_aligned(buffer.data());
        },
        [&](int64_t range, float* workspace) {
            const int64_t c_begin = range * channel_panels / ranges * kPositionsTileColumns;
            const int64_t c_end = std::min(channels, (range + 1) * channel_panels / ranges * kPositionsTileColumns);
            const int64_t ld = round_up(c_end - c_begin, int64_t{kPositionsTileColumns});
            const int64_t image_sums = positions_all * ld;
            float* const panel = workspace;
            float* const padded = panel + panel_size;
            float* const sums = padded + images * padded_size;
            for (int64_t n = 0; n < images; ++n) {
                pad_channels(dy + n * out_channels * padding.in_size(), padding, 0, out_channels,
                             padded + n * padded_size);
            }
            float* tap_rows[kMaxPackedTaps];
            // The w^T panel of dy channels [m0, m0 + block) and dx channels from c0 over every
            // image's tiles, prefetching the weights of the panel of (next_m, next_c) (none where
            // next_c is c_end).
            auto panel_tiles = [&](int64_t m0, int64_t c0, int64_t next_m, int64_t next_c) {
                const int64_t block = std::min(block_channels, out_channels - m0);
                for (int64_t m = m0; m < m0 + block; ++m) {
                    for (int64_t t0 = 0; t0 < kernel_size; t0 += kMaxPackedTaps) {
                        const int64_t t1 = std::min(kernel_size, t0 + kMaxPackedTaps);
                        for (int64_t k = t0; k < t1; ++k) {
                            const int64_t q = tap_phase[static_cast<size_t>(k)];
                            tap_rows[k - t0] = q < 0 ? nullptr
                                                     : panel + (phases[static_cast<size_t>(q)].first_row * block +
                                                                (m - m0) * phases[static_cast<size_t>(q)].taps.count +
                                                                tap_index[static_cast<size_t>(k)]) *
                                                                   kPositionsTileColumns;
                        }
                        pack_tap_columns_avx512(w + (m * channels + c0) * kernel_size, kernel_size,
                                                std::min<int64_t>(kPositionsTileColumns, c_end - c0), t0, t1, tap_rows);
                    }
                }
                // The weights come from L3 or memory: the tiles prefetch the next panel's, a run of
                // its channels' taps (one dy channel) a call, as many as the call has depth steps for.
                const int64_t run_channels = std::clamp<int64_t>(c_end - next_c, 1, kPositionsTileColumns);
                const int64_t run_bytes = run_channels * kernel_size * int64_t{sizeof(float)};
                const int64_t run_lines = ceil_div(run_bytes, int64_t{64});
                const int64_t run_stride = channels * kernel_size * int64_t{sizeof(float)};
                int64_t runs_left = next_c < c_end ? std::min(block_channels, out_channels - next_m) : 0;
                const char* next_run = reinterpret_cast<const char*>(w + (next_m * channels + next_c) * kernel_size);
                for (int64_t n = 0; n < images; ++n) {
                    const float* const image = padded + n * padded_size + m0 * layout.plane;
                    float* phase_sums = sums + n * image_sums + (c0 - c_begin);
                    for (const FusedPhase& ph : phases) {
                        const int64_t positions = ph.geometry.out_size(), width = ph.geometry.out[2];
                        const int64_t kc = block * ph.taps.count;
                        const float* const b = panel + ph.first_row * block * kPositionsTileColumns;
                        for (int64_t q = 0, tile = 0; q < positions; q += kPositionsTileRows, ++tile) {
                            const int64_t runs = std::min(runs_left, kc / run_lines);
                            ph.kernels[static_cast<size_t>(tile)](
                                kc, image + q / width * layout.pitch + q % width, ph.taps,
                                ph.skips.data() + tile * ph.taps.count, 0, layout.pitch, b, phase_sums + q * ld, ld,
                                m0 > 0, PrefetchLines{next_run, run_stride, run_bytes, runs * run_lines});
                            runs_left -= runs;
                            next_run += runs * run_stride;
                        }
                        phase_sums += positions * ld;
                    }
                }
            };
            // One image: blocks of dy channels outermost, each block's rows of the padded image
            // reread from L1 by every panel of dx channels, the sums (all panels) in L2. Several:
            // panels outermost, each panel's sums of all the images in L2 through the blocks (all
            // panels' sums of 4 images of ResNet-18's layer3 are 1.6 MB; panels outermost took
            // 1.02-1.03x the time at batch 1).
            if (images == 1) {
                for (int64_t m0 = 0; m0 < out_channels; m0 += block_channels) {
                    for (int64_t c0 = c_begin; c0 < c_end; c0 += kPositionsTileColumns) {
                        const bool last = c0 + kPositionsTileColumns >= c_end;
                        panel_tiles(m0, c0, last ? m0 + block_channels : m0,
                                    last ? (m0 + block_channels < out_channels ? c_begin : c_end)
                                         : c0 + kPositionsTileColumns);
                    }
                }
            } else {
                for (int64_t c0 = c_begin; c0 < c_end; c0 += kPositionsTileColumns) {
                    for (int64_t m0 = 0; m0 < out_channels; m0 += block_channels) {
                        const bool last = m0 + block_channels >= out_channels;
                        panel_tiles(m0, c0, last ? 0 : m0 + block_channels,
                                    last ? std::min(c0 + kPositionsTileColumns, c_end) : c0);
                    }
                }
            }
            if (rows.dx != nullptr) {
                // Rows of one phase pair after the other. dx's rows in order instead (consecutive
                // rows share cache lines) measured even: 0.97-1.02x at batch 1 and 32.
                const int64_t width = rows.width, plane = rows.rows * 2 * width;
                for (int64_t n = 0; n < images; ++n) {
                    float* const dx_rows = rows.dx + (n * channels + c_begin) * plane;
                    const float* phase_sums = sums + n * image_sums;  // phase (q1, 0)'s
                    if (rows.stream) {
                        // Rows i and i + 1: row i / 2 of phases (0, .) and of phases (1, .).
                        const int64_t first = phases[0].geometry.out_size(), second = phases[2].geometry.out_size();
                        for (int64_t i = 0; i < rows.rows; i += 2) {
                            const float* const even[2] = {phase_sums + i / 2 * width * ld,
                                                          phase_sums + (2 * first + i / 2 * width) * ld};
                            const float* const odd[2] = {even[0] + first * ld, even[1] + second * ld};
                            write_interleaved_row_pair_avx512(even, odd, ld, width, c_end - c_begin, plane,
                                                              dx_rows + i * 2 * width);
                        }
                        continue;
                    }
                    for (int64_t q1 = 0; q1 < rows.row_phases; ++q1) {
                        const int64_t positions = phases[static_cast<size_t>(2 * q1)].geometry.out_size();
                        for (int64_t i = q1; i < rows.rows; i += rows.row_phases) {
                            const float* even = phase_sums + i / rows.row_phases * width * ld;
                            write_interleaved_sums_avx512(even, even + positions * ld, ld, width, c_end - c_begin,
                                                          plane, dx_rows + i * 2 * width);
                        }
                        phase_sums += 2 * positions * ld;
                    }
                }
                if (rows.stream) _mm_sfence();
                return;
            }
            for (int64_t n = 0; n < images; ++n) {
                const float* phase_sums = sums + n * image_sums;
                for (const FusedPhase& ph : phases) {
                    const int64_t positions = ph.geometry.out_size();
                    float* const phase_results =
                        results + ph.result_offset * images + (n * channels + c_begin) * positions;
                    write_transposed_sums_avx512(phase_sums, ld, 1, 0, positions, 0, c_end - c_begin, nullptr, nullptr,
                                                 false, phase_results);
                    phase_sums += positions * ld;
                }
            }
        });
}

// Where a phase's forward takes the implicit GEMM's transposed form (separate phase forwards:
// ResNet-18's layer4 3x3/2 at batch 16 and more), its w^T panels in that form's PackedPanels
// layout (data: depth taps x dy channels deep, blocks of block_depth rows).
struct PhasePanels {
    float* data;
    int64_t taps, block_depth;
};

// The panels of every phase that has them from one pass over w (out_channels x channels x
// kernel_size, read in order: a dy channel's weights at a time, split among the threads): tap
// k of dy channel m to row m * taps + tap_index[k] of phases[tap_phase[k]] (-1: a phase without
// panels), each 32-channel panel's taps through pack_tap_columns_avx512. It replaces a gather of
// w into phase filters (reading w with a stride of channels x kernel_size weights) and a packing
// pass per phase: ResNet-18's layer4 3x3/2 at batch 32 on 2 threads, conv_vs_build against
// main (min / median, loaded machine, 2026-12-07): 0.95 / 0.94 with the gather prefetch below, main
// 1.076 / 1.079x of it the other way round; against the prefetch alone 0.954-0.958 / 0.935-0.962.
// The single-tap phase through the transposed form too (no gather at all, not the pointwise path)
// took 0.975-0.98 / 0.99-1.01x of this: left on the pointwise path. Its filters written in this
// pass (each dy channel's weights in L1, no separate gather) 0.99-1.00 / 0.99-1.00x; the images in
// slices of 2, 4 or 8 (results in L2 for the interleaving; one slice a thread at a time) 1.02-1.03
// / 1.00-1.02x (2026-12-07).
inline void pack_phase_panels(const float* w, int64_t out_channels, int64_t channels, int64_t kernel_size,
                              const std::vector<int64_t>& tap_phase, const std::vector<int64_t>& tap_index,
                              const std::vector<PhasePanels>& phases) {
    const int64_t panels = ceil_div(channels, int64_t{kPositionsTileColumns});
    cpu::parallel_for(out_channels, 4, [&](int64_t begin, int64_t end) {
        float* tap_rows[kMaxPackedTaps];
        for (int64_t m = begin; m < end; ++m) {
            for (int64_t j = 0; j < panels; ++j) {
                for (int64_t t0 = 0; t0 < kernel_size; t0 += kMaxPackedTaps) {
                    const int64_t t1 = std::min(kernel_size, t0 + kMaxPackedTaps);
                    for (int64_t k = t0; k < t1; ++k) {
                        const int64_t q = tap_phase[static_cast<size_t>(k)];
                        if (q < 0) {
                            tap_rows[k - t0] = nullptr;
                            continue;
                        }
                        const PhasePanels& ph = phases[static_cast<size_t>(q)];
                        const int64_t row = m * ph.taps + tap_index[static_cast<size_t>(k)];
                        tap_rows[k - t0] =
                            ph.data + ((row / ph.block_depth * panels + j) * ph.block_depth + row % ph.block_depth) *
                                          kPositionsTileColumns;
                    }
                    pack_tap_columns_avx512(w + (m * channels + j * kPositionsTileColumns) * kernel_size, kernel_size,
                                            std::min<int64_t>(kPositionsTileColumns, channels - j * kPositionsTileColumns),
                                            t0, t1, tap_rows);
                }
            }
        }
    });
}
#endif

// dx by polyphase where it applies (a stride above 1, kPolyphaseMinChannels, no phase whose
// forward convolution would need a negative pad), through `forward` (the forward convolution
// dispatcher); false, leaving dx untouched, elsewhere.
template <class T, class Forward>
bool conv_backward_data_polyphase(const ConvArgs& a, Forward&& forward) {
    const WindowGeometry& g = a.geometry;
    const int64_t phases = g.stride[0] * g.stride[1] * g.stride[2];
    if (phases == 1 || g.stride[2] > kPolyphaseMaxRowPhases || a.channels / a.groups < kPolyphaseMinChannels) {
        return false;
    }
    std::vector<PhaseAxis> axes(static_cast<size_t>(g.stride[0] + g.stride[1] + g.stride[2]));
    const PhaseAxis* axis[3] = {axes.data(), axes.data() + g.stride[0], axes.data() + g.stride[0] + g.stride[1]};
    for (int d = 0; d < 3; ++d) {
        for (int64_t phase = 0; phase < g.stride[d]; ++phase) {
            PhaseAxis& e = axes[static_cast<size_t>(axis[d] - axes.data() + phase)];
            e = phase_axis(g, d, phase);
            if (e.size > 0 && e.taps > 0 && (e.pad_begin < 0 || e.pad_end < 0)) return false;
        }
    }
    // Phase q = (q0, q1, q2), row-major; its filters and results in one buffer each, in order.
    struct Phase {
        const PhaseAxis* axis[3];
        int64_t size, taps, filter_offset, result_offset;  // result offset per image
        // Its forward's w^T panels packed from w (pack_phase_panels) at panels_at, in
        // panel_source's layout; its filters gathered otherwise (from_w false).
        bool from_w = false;
        int64_t panels_at = 0;
        implicit_gemm::transposed::FilterSource panel_source{};
    };
    std::vector<Phase> phase_list(static_cast<size_t>(phases));
    const int64_t group_channels = a.channels / a.groups, group_out_channels = a.out_channels / a.groups;
    int64_t filter_size = 0, image_size = 0;
    for (int64_t q = 0; q < phases; ++q) {
        Phase& ph = phase_list[static_cast<size_t>(q)];
        const int64_t q0 = q / (g.stride[1] * g.stride[2]), q1 = q / g.stride[2] % g.stride[1], q2 = q % g.stride[2];
        ph.axis[0] = axis[0] + q0;
        ph.axis[1] = axis[1] + q1;
        ph.axis[2] = axis[2] + q2;
        ph.size = ph.axis[0]->size * ph.axis[1]->size * ph.axis[2]->size;
        ph.taps = ph.axis[0]->taps * ph.axis[1]->taps * ph.axis[2]->taps;
        ph.filter_offset = filter_size;
        ph.result_offset = image_size * a.channels;
        if (ph.size > 0 && ph.taps > 0) {
            filter_size += a.channels * group_out_channels * ph.taps;
            image_size += ph.size;
        }
    }
    const T* dy = static_cast<const T*>(a.y.data);
    T* dx = static_cast<T*>(a.x.data);
    // Phase ph's forward convolution over `images` images of dy from n0 into `results`, filters
    // `filters` (its phase filters).
    auto phase_forward = [&](const Phase& ph, int64_t n0, int64_t images, const T* filters, T* results) {
        ConvArgs f;
        for (int d = 0; d < 3; ++d) {
            f.geometry.in[d] = g.out[d];
            f.geometry.out[d] = ph.axis[d]->size;
            f.geometry.kernel[d] = ph.axis[d]->taps;
            f.geometry.dilation[d] = ph.axis[d]->dilation;
            f.geometry.pad_begin[d] = ph.axis[d]->pad_begin;
            f.geometry.pad_end[d] = ph.axis[d]->pad_end;
        }
        f.geometry.spatial_rank = g.spatial_rank;
        f.batch = images;
        f.channels = a.out_channels;
        f.out_channels = a.channels;
        f.groups = a.groups;
        f.x = a.y;
        f.x.data = const_cast<T*>(dy + n0 * a.out_channels * g.out_size());
        f.w = a.w;
        f.w.data = const_cast<T*>(filters);
        f.y = a.x;
        f.y.data = results;
        f.batch_invariant_sums = true;  // the slices' sizes depend on the thread count
        return f;
    };
    // Where every phase fits the fused forwards (AVX-512, 2-d, one group, phases 7, 14 or a
    // multiple of 14 wide, at most kMaxPositions each) they serve few positions (the column
    // path's) and images of kFusedMinImagePositions per phase.
    bool fused = false;
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (std::is_same_v<T, float>) {
        fused = cpu::active_isa() == MLN_ISA_AVX512 && a.groups == 1 && g.in[0] == 1 && g.out[0] == 1 &&
                g.kernel[0] == 1 && g.stride[0] == 1 &&
                (a.batch * g.in_size() < kPolyphaseMinPositions * phases ||
                 g.in_size() >= kFusedMinImagePositions * phases);
        for (const Phase& ph : phase_list) {
            if (!fused || ph.size == 0 || ph.taps == 0) continue;
            fused = fused_tile_width(ph.axis[2]->size) > 0 && ph.size <= implicit_gemm::transposed::kMaxPositions &&
                    ph.taps <= PaddedTaps::kMaxTaps;
        }
    }
#endif
    if (!fused && a.batch * g.in_size() < kPolyphaseMinPositions * phases) return false;
    const T* w = static_cast<const T*>(a.w.data);
    // The workers reach the buffers through pointers (a thread_local named in a lambda would be
    // each worker's own).
    std::vector<T>& filter_buffer = thread_buffer<T, PhaseFilters>();
    const int64_t kernel_size = g.kernel_size();
    // The kernel's taps in phase order: each phase's taps as its forward convolution reads them.
    std::vector<int64_t> order;
    order.reserve(static_cast<size_t>(kernel_size));
    for (const Phase& ph : phase_list) {
        if (ph.size == 0 || ph.taps == 0) continue;
        for (int64_t t0 = 0; t0 < ph.axis[0]->taps; ++t0) {
            const int64_t k0 = ph.axis[0]->first_tap - t0 * ph.axis[0]->tap_step;
            for (int64_t t1 = 0; t1 < ph.axis[1]->taps; ++t1) {
                const int64_t k1 = ph.axis[1]->first_tap - t1 * ph.axis[1]->tap_step;
                for (int64_t t2 = 0; t2 < ph.axis[2]->taps; ++t2) {
                    const int64_t k2 = ph.axis[2]->first_tap - t2 * ph.axis[2]->tap_step;
                    order.push_back((k0 * g.kernel[1] + k1) * g.kernel[2] + k2);
                }
            }
        }
    }
    T* filters = nullptr;
#if defined(MYELIN_X86_64_KERNELS)
    // The fused forwards' phases: their taps over dy padded by the largest pads of any phase.
    WindowGeometry padding = g;
    std::vector<FusedPhase> fused_phases;
    std::vector<int64_t> tap_phase(static_cast<size_t>(kernel_size), -1), tap_index(static_cast<size_t>(kernel_size), 0);
    if (fused) {
        for (int d = 0; d < 3; ++d) {
            padding.in[d] = g.out[d];
            padding.pad_begin[d] = padding.pad_end[d] = 0;
        }
        for (const Phase& ph : phase_list) {
            if (ph.size == 0 || ph.taps == 0) continue;
            for (int d = 1; d < 3; ++d) {
                padding.pad_begin[d] = std::max(padding.pad_begin[d], ph.axis[d]->pad_begin);
                padding.pad_end[d] = std::max(padding.pad_end[d], ph.axis[d]->pad_end);
            }
        }
        const implicit_gemm::transposed::PaddedImage layout(padding);
        fused = a.out_channels * layout.plane < (int64_t{1} << 30);
        int64_t first_row = 0;
        const int64_t* k = order.data();
        for (const Phase& ph : phase_list) {
            if (!fused || ph.size == 0 || ph.taps == 0) continue;
            FusedPhase& f = fused_phases.emplace_back();
            f.geometry = phase_forward(ph, 0, 1, nullptr, nullptr).geometry;
            const WindowGeometry& fg = f.geometry;
            f.taps.count = ph.taps;
            f.taps.plane = layout.plane;
            for (int64_t t = 0; t < ph.taps; ++t) {
                const int64_t th = t / fg.kernel[2], tw = t % fg.kernel[2];
                f.taps.offsets[t] = static_cast<int32_t>(
                    (th * fg.dilation[1] + padding.pad_begin[1] - fg.pad_begin[1]) * layout.pitch + tw * fg.dilation[2] +
                    padding.pad_begin[2] - fg.pad_begin[2]);
                tap_phase[static_cast<size_t>(*k)] = static_cast<int64_t>(fused_phases.size()) - 1;
                tap_index[static_cast<size_t>(*k++)] = t;
            }
            const int64_t positions = fg.out_size(), width = fg.out[2];
            const int64_t tiles = ceil_div(positions, int64_t{kPositionsTileRows});
            f.skips.resize(static_cast<size_t>(tiles * ph.taps));
            for (int64_t tile = 0; tile < tiles; ++tile) {
                const int64_t q = tile * kPositionsTileRows, last = std::min(positions, q + kPositionsTileRows) - 1;
                PaddingSkip* const skips = f.skips.data() + tile * ph.taps;
                implicit_gemm::transposed::tile_padding_skips(fg, q / width, last / width, skips);
                // A piece of a wider row keeps only the skips of the row's ends it holds.
                for (int64_t t = 0; t < ph.taps; ++t) {
                    if ((skips[t] == PaddingSkip::kFirstColumn && q % width != 0) ||
                        (skips[t] == PaddingSkip::kLastColumn && q % width + kPositionsTileRows < width)) {
                        skips[t] = PaddingSkip::kNone;
                    }
                }
                const int rows = static_cast<int>(last + 1 - q), tile_width = fused_tile_width(width);
                const PaddedTileKernel kernel = phase_tile_avx512(rows, tile_width, static_cast<int>(fg.kernel[1]),
                                                                  static_cast<int>(fg.kernel[2]), skips);
                f.kernels.push_back(kernel != nullptr ? kernel : padded_positions_tile_avx512(rows, tile_width));
            }
            f.first_row = first_row;
            first_row += ph.taps;
            f.result_offset = ph.result_offset;
        }
    }
#endif
    // The phases whose forwards take the transposed form have their w^T panels packed from w
    // (f32 at AVX-512, one group, more than one tap: a single tap's phase is pointwise; none
    // where Winograd would serve); the others' filters are gathered.
    bool gather = !fused;
#if defined(MYELIN_X86_64_KERNELS)
    std::vector<PhasePanels> panel_phases;
    std::vector<int64_t> panel_phase(static_cast<size_t>(kernel_size), -1), panel_tap(static_cast<size_t>(kernel_size), 0);
    float* panels = nullptr;
    if constexpr (std::is_same_v<T, float>) {
        gather = false;
        int64_t panels_size = 0;
        const int64_t* k = order.data();
        for (Phase& ph : phase_list) {
            if (ph.size == 0 || ph.taps == 0) continue;
            const ConvArgs f = phase_forward(ph, 0, 1, nullptr, nullptr);
            ph.from_w = !fused && a.groups == 1 && ph.taps > 1 && !winograd_wins(f, MLN_DTYPE_F32) &&
                        implicit_gemm::forward_form<float>(f) == implicit_gemm::ForwardForm::kTransposed;
            gather = gather || (!fused && !ph.from_w);
            if (ph.from_w) {
                const implicit_gemm::transposed::FilterSource& source = ph.panel_source =
                    {nullptr, a.out_channels * ph.taps, 0, a.channels, implicit_gemm::transposed::depth_block_unit(f.geometry)};
                ph.panels_at = panels_size;
                panels_size += round_up(implicit_gemm::transposed::packed_panels_size(source), implicit_gemm::kAlignElements<float>);
                for (int64_t t = 0; t < ph.taps; ++t) {
                    panel_phase[static_cast<size_t>(k[t])] = static_cast<int64_t>(panel_phases.size());
                    panel_tap[static_cast<size_t>(k[t])] = t;
                }
                panel_phases.push_back(PhasePanels{
                    nullptr, ph.taps, implicit_gemm::transposed::block_depth_of(0, source.depth, source.block_unit)});
            }
            k += ph.taps;
        }
        if (!panel_phases.empty()) {
            std::vector<float>& panel_buffer = thread_buffer<float, PhasePanelBuffer>();
            panel_buffer.resize(static_cast<size_t>(panels_size + implicit_gemm::kAlignElements<float>));
            panels = implicit_gemm::cache_line_aligned(panel_buffer.data());
            size_t q = 0;
            for (const Phase& ph : phase_list) {
                if (ph.from_w) panel_phases[q++].data = panels + ph.panels_at;
            }
            pack_phase_panels(w, a.out_channels, a.channels, kernel_size, panel_phase, panel_tap, panel_phases);
        }
    }
#endif
    if (gather) {
        // Phase filters: row (group, c) gathers the phase's taps of w[group][m][c] for every m, a
        // few rows at a time, m outermost, so that w is read in order and each phase's rows are
        // written in order (one row at a time read a cache line of w per weight).
        filter_buffer.resize(static_cast<size_t>(filter_size));
        filters = filter_buffer.data();
        // The rows' weights of one m are a run (within a group), group_channels * kernel_size
        // apart from the next m's, a stride the hardware prefetcher did not follow: the loads
        // missed, the gather was ~10% of ResNet-18's layer4 3x3/2 at batch 32 on 2 threads. So
        // each m prefetches the run kGatherAhead m's on (batch 32, 2 threads, conv_vs_build
        // against it, loaded machine: 16 ahead, or 16 rows a run, even).
        constexpr int64_t kGatherRows = 8;
        constexpr int64_t kGatherAhead = 8;
        cpu::parallel_for(ceil_div(a.channels, kGatherRows), 1, [&](int64_t begin, int64_t end) {
            for (int64_t row0 = begin * kGatherRows; row0 < std::min(a.channels, end * kGatherRows); row0 += kGatherRows) {
                const int64_t row1 = std::min(a.channels, row0 + kGatherRows);
                const int64_t first_group = row0 / group_channels;
                const bool one_group = (row1 - 1) / group_channels == first_group;
                const T* const run = w + (first_group * group_out_channels * group_channels + row0 % group_channels) * kernel_size;
                const int64_t run_bytes = (row1 - row0) * kernel_size * static_cast<int64_t>(sizeof(T));
                for (int64_t m = 0; m < group_out_channels; ++m) {
                    if (one_group && m + kGatherAhead < group_out_channels) {
                        const char* ahead = reinterpret_cast<const char*>(run + (m + kGatherAhead) * group_channels * kernel_size);
                        const int64_t skew = static_cast<int64_t>(reinterpret_cast<uintptr_t>(ahead) % 64);
                        prefetch_lines(ahead - skew, run_bytes + skew);
                    }
                    for (int64_t row = row0; row < row1; ++row) {
                        const int64_t group = row / group_channels, c = row % group_channels;
                        const T* src = w + ((group * group_out_channels + m) * group_channels + c) * kernel_size;
                        const int64_t* k = order.data();
                        for (const Phase& ph : phase_list) {
                            if (ph.size == 0 || ph.taps == 0) continue;
                            if (ph.from_w) {
                                k += ph.taps;
                                continue;
                            }
                            T* dst = filters + ph.filter_offset + (row * group_out_channels + m) * ph.taps;
                            for (int64_t t = 0; t < ph.taps; ++t) dst[t] = src[*k++];
                        }
                    }
                }
            }
        });
    }
    // Slices of the images: small where one thread runs them all or each thread takes whole
    // slices; where the threads would split each slice's forwards (too few slices for them), as
    // big as kPolyphaseMaxSliceBytes allows (fewer, larger forwards to split). The fused
    // forwards' slices: kFusedTaskPositions per phase, split or not.
    const int64_t image_bytes = std::max<int64_t>(1, image_size * a.channels * static_cast<int64_t>(sizeof(T)));
    int64_t smallest_phase = std::max<int64_t>(1, image_size);
    for (const Phase& ph : phase_list) {
        if (ph.size > 0 && ph.taps > 0) smallest_phase = std::min(smallest_phase, ph.size);
    }
    const int64_t slice_bytes = std::clamp<int64_t>(kPolyphaseSliceFilterRatio * filter_size * static_cast<int64_t>(sizeof(T)),
                                                    kPolyphaseMinSliceBytes, kPolyphaseMaxSliceBytes);
    int64_t slice_images = std::clamp<int64_t>(
        fused ? ceil_div(kFusedTaskPositions, smallest_phase)
              : std::max(slice_bytes / image_bytes, ceil_div(kPolyphaseMinSlicePositions, smallest_phase)),
        1, a.batch);
    const int64_t threads = cpu::thread_pool().thread_count();
    // The fused forwards' slices go to the threads whole also where they share out evenly (2
    // threads, ResNet-18's layer2 3x3/2 at batch 4: 0.83-0.88x the time of each slice's panels
    // split between the threads, each padding the image; batch 2 0.95x).
    // ResNet-18's layer4 3x3/2 at batch 32 on 2 threads (phase forwards of 49 positions, one
    // slice of 32 images split among the threads) as two slices of 16, one a thread, took
    // 1.08-1.13x the time (conv_vs_build, 2026-12-07): each thread packs all the w^T panels.
    const bool slices_per_thread =
        threads > 1 && (ceil_div(a.batch, slice_images) >= kPolyphaseSlicesPerThread * threads ||
                        (fused && a.batch % (slice_images * threads) == 0));
    if (threads > 1 && !slices_per_thread && !fused) {
        slice_images = std::clamp<int64_t>(kPolyphaseMaxSliceBytes / image_bytes, slice_images, a.batch);
    }
    // Where the fused forwards write dx's rows themselves (FusedRows): no results buffer.
    bool direct_rows = fused && g.stride[2] == 2 && g.in[2] % 2 == 0;
    for (const Phase& ph : phase_list) direct_rows = direct_rows && ph.size > 0 && ph.taps > 0;
    const bool stream_rows = direct_rows && g.stride[1] == 2 && g.in[1] % 2 == 0 && g.in[2] % 8 == 0 &&
                             reinterpret_cast<uintptr_t>(dx) % 64 == 0 &&
                             a.batch * a.channels * g.in_size() * static_cast<int64_t>(sizeof(T)) >= kStreamingStoreBytes;
    const int64_t slice_results = direct_rows ? 0 : slice_images * image_size * a.channels;
    // Slice `slice` of the images: its phase forwards into `results`, then dx's planes from them.
    auto run_slice = [&](int64_t slice, T* results) {
        const int64_t n0 = slice * slice_images, images = std::min(slice_images, a.batch - n0);
        for (const Phase& ph : phase_list) {
            if (fused || ph.size == 0 || ph.taps == 0) continue;
            T* const phase_results = results + ph.result_offset * images;
#if defined(MYELIN_X86_64_KERNELS)
            if constexpr (std::is_same_v<T, float>) {
                if (ph.from_w) {
                    const ConvArgs f = phase_forward(ph, n0, images, nullptr, phase_results);
                    implicit_gemm::transposed::conv_forward<float>(f, ph.panel_source, panels + ph.panels_at);
                    continue;
                }
            }
#endif
            forward(phase_forward(ph, n0, images, filters + ph.filter_offset, phase_results));
        }
#if defined(MYELIN_X86_64_KERNELS)
        if constexpr (std::is_same_v<T, float>) {
            if (fused) {
                const FusedRows rows = direct_rows ? FusedRows{dx + n0 * a.channels * g.in_size(), g.in[1], g.stride[1],
                                                               g.in[2] / 2, stream_rows}
                                                   : FusedRows{};
                fused_phase_forwards(dy + n0 * a.out_channels * g.out_size(), w, images,
                                     slices_per_thread ? 1 : threads, a.out_channels, a.channels, kernel_size, padding,
                                     fused_phases, tap_phase, tap_index, rows, results);
            }
        }
#endif
        if (direct_rows) return;
        // dx rows from the phases' rows: row (i0, i1) of a plane interleaves the rows of phases
        // (i0 % s0, i1 % s1, q2) for every q2; zeros where a phase has no tap.
        const int64_t s0 = g.stride[0], s1 = g.stride[1], s2 = g.stride[2];
        const int64_t rows = g.in[0] * g.in[1];
        cpu::parallel_for(images * a.channels, 1, [&](int64_t begin, int64_t end) {
            const T* src[kPolyphaseMaxRowPhases];
            for (int64_t plane = begin; plane < end; ++plane) {
                T* dx_plane = dx + (n0 * a.channels + plane) * g.in_size();
                for (int64_t row = 0; row < rows; ++row) {
                    const int64_t i0 = row / g.in[1], i1 = row % g.in[1];
                    const int64_t q01 = ((i0 % s0) * s1 + i1 % s1) * s2;
                    for (int64_t q2 = 0; q2 < s2; ++q2) {
                        const Phase& ph = phase_list[static_cast<size_t>(q01 + q2)];
                        src[q2] = ph.size == 0 || ph.taps == 0
                                      ? nullptr
                                      : results + ph.result_offset * images + plane * ph.size +
                                            ((i0 / s0) * ph.axis[1]->size + i1 / s1) * ph.axis[2]->size;
                    }
                    T* out = dx_plane + row * g.in[2];
                    if (s2 == 2 && src[0] != nullptr && src[1] != nullptr) {
                        interleave_phase_pair(src[0], src[1], g.in[2], out);
                    } else {
                        for (int64_t i2 = 0; i2 < g.in[2]; ++i2) {
                            const T* from = src[i2 % s2];
                            out[i2] = from != nullptr ? from[i2 / s2] : T(0);
                        }
                    }
                }
            }
        });
    };
    // Enough slices for every thread: each thread runs whole slices, its forwards and interleaving
    // inline (a pool region's nested loops run on the calling thread), the results in its own
    // buffer and cache, with one fork per call instead of several per slice. Otherwise the
    // slices run one after another, each forward and interleaving pass split among the threads.
    const int64_t slices = ceil_div(a.batch, slice_images);
    // The calling thread's results buffer (made on each worker where the workers take slices).
    auto thread_results = [&] {
        std::vector<T>& buffer = thread_buffer<T, PhaseResults>();
        buffer.resize(static_cast<size_t>(slice_results));
        return buffer.data();
    };
    if (slices_per_thread) {
        cpu::for_each_claimed_affine(slices, threads, thread_results, run_slice);
    } else {
        T* const results = thread_results();
        for (int64_t slice = 0; slice < slices; ++slice) run_slice(slice, results);
    }
    return true;
}

}  // namespace backward_data
}  // namespace mln::kernels
