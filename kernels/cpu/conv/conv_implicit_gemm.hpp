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
// its blocks. A single image (batch 1, one group) that is short of position blocks (small,
// deep layers) splits the depth instead (depth-slice mode): one slice per thread, each task a
// (slice, position block) pair that lowers only its slice's rows of the columns and multiplies
// them by the matching columns of the weights, all output channels, into y (slice 0) or a
// partial sum (the others); a last pass adds the partial sums and applies the epilogue. Nothing
// is lowered twice and no thread waits for another's lowering, as with the chunks (which
// lowered everything per thread) or a column matrix lowered by all threads before a barrier
// (which cost a pass through memory and balanced 9 coarse tasks poorly). The price: with one
// position block (7x7 and 14x14 images) that is one task per thread, so a thread that shares
// its core delays the layer (more slices would balance, at an extra partial-sum pass each).
//
// Epilogue, per tile: the bias is written into the tile before the first depth block (beta 1
// after), the residual and ReLU are fused into the micro-kernel's store on the last depth
// block, any other activation runs on the tile right after, while it is in L1. Edge tiles
// (partial panels) go through a scratch tile; a partial last column panel keeps its sums there
// over all depth blocks and takes bias, residual and activation on its way to y.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_lowering.hpp"
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
GemmMicroKernelInfo<T> micro_kernel(mln_isa isa) {
    if constexpr (sizeof(T) == 4) {
        return sgemm_microkernel(isa);
    } else {
        return dgemm_microkernel(isa);
    }
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
    int64_t column_block, column_blocks;
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

template <class T>
void compute_tile(const Plan<T>& p, const PanelA<T>& a, const T* b, int64_t kc, const T* bias, const T* residual,
                  T* y, int64_t row, int64_t col, bool first, bool last) {
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const int64_t ldc = p.out_size;
    const int64_t rows = std::min<int64_t>(mr, p.group_out_channels - row);
    const int64_t cols = std::min<int64_t>(nr, p.out_size - col);
    T* const c = y + row * ldc + col;
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
    const int64_t q0 = task % p.column_blocks * p.column_block;
    task /= p.column_blocks;
    const int64_t g = task % a.groups;
    task /= a.groups;
    const int64_t n = task % a.batch;
    const int64_t slice = task / a.batch;
    const int64_t cols = std::min(p.column_block, p.out_size - q0);
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
            for (int64_t s = 0; s < panels; ++s) {
                if (edge_in_sums && rows == mr && s + 1 == panels) {
                    accumulate_edge_tile(p, a_in, packed + s * nr * kc, kc, bias, residual, y,
                                         edge_sums + (panel - first_panel) * mr * nr, panel * mr, q0 + s * nr, first,
                                         final_block, last);
                } else {
                    compute_tile(p, a_in, packed + s * nr * kc, kc, bias, residual, y, panel * mr, q0 + s * nr,
                                 first, last);
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

// y = activation(conv(x, w) + bias + residual) for any groups, through the packed micro-kernels.
template <class T>
void conv_forward(const ConvArgs& a) {
    Plan<T> p{};
    p.args = &a;
    p.micro = micro_kernel<T>(cpu::active_isa());
    p.lower = column_panel_lowering<T>(cpu::active_isa());
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    p.group_channels = a.channels / a.groups;
    p.group_out_channels = a.out_channels / a.groups;
    p.depth = p.group_channels * a.geometry.kernel_size();
    p.out_size = a.geometry.out_size();
    if (p.out_size == 0) return;
    const int64_t threads = cpu::thread_pool().thread_count();
    const int64_t images = a.batch * a.groups;
    // Depth blocks of equal size (as the GEMM driver: no thin last block), within a slice of
    // the depth in depth-slice mode; NC positions in a block from them.
    const int64_t max_depth_block = kDepthBlockBytes / static_cast<int64_t>(sizeof(T));
    auto block_sizes = [&](int64_t depth) {
        const int64_t blocks = std::max<int64_t>(1, ceil_div(depth, max_depth_block));
        p.depth_block = std::min(depth, round_up(ceil_div(depth, blocks), 8));
        const int64_t max_column_block = std::max<int64_t>(
            nr, kColumnBlockBytes / static_cast<int64_t>(sizeof(T)) / std::max<int64_t>(p.depth_block, 1) / nr * nr);
        p.column_blocks = ceil_div(p.out_size, max_column_block);
    };
    block_sizes(p.depth);
    p.row_panels = ceil_div(p.group_out_channels, mr);
    // The parallel unit (see the top): position blocks, more of them if that fills the pool
    // while each keeps at least four NR panels, then chunks of the output channels. One image
    // whose position blocks are too few to balance the pool (small, deep layers at batch 1)
    // takes depth-slice mode instead where each thread's slice keeps kMinSliceDepth.
    auto fills_pool = [&](int64_t tasks) {
        return threads <= 1 || (tasks >= threads && (tasks % threads == 0 || tasks >= 4 * threads));
    };
    p.depth_slices = 1;
    p.slice_depth = std::max<int64_t>(p.depth, 1);
    if (threads > 1 && images == 1 && p.column_blocks < 4 * threads && p.depth >= threads * kMinSliceDepth) {
        p.slice_depth = round_up(ceil_div(p.depth, threads), 8);
        p.depth_slices = ceil_div(p.depth, p.slice_depth);
        block_sizes(p.slice_depth);
    }
    const int64_t fewest_blocks = p.column_blocks;
    for (int64_t blocks = fewest_blocks + 1; p.depth_slices == 1 && blocks <= fewest_blocks + threads; ++blocks) {
        if (fills_pool(images * p.column_blocks) || ceil_div(p.out_size, blocks) < 4 * nr) break;
        if (fills_pool(images * blocks)) p.column_blocks = blocks;
    }
    p.column_block = round_up(ceil_div(p.out_size, p.column_blocks), nr);
    p.column_blocks = ceil_div(p.out_size, p.column_block);
    const int64_t base_tasks = p.depth_slices * images * p.column_blocks;
    p.row_chunks = 1;
    while (!fills_pool(base_tasks * p.row_chunks) && p.row_chunks < p.row_panels) ++p.row_chunks;
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
                                   round_up(p.column_block, nr) * p.depth_block + p.chunk_panels * mr * nr;
    const int64_t padded_block = round_up(p.column_block, nr);
    // Stride-2 layers read polyphase planes (conv_lowering.hpp), split first by all threads.
    p.source = p.x;
    p.source_channel_size = a.geometry.in_size();
    const PhaseLowering<T> phases = phase_lowering<T>(cpu::active_isa());
    if (phases.split != nullptr && phase_planes_apply(a.geometry) && nr % 16 == 0 &&
        padded_block <= kMaxPhaseColumns) {
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
