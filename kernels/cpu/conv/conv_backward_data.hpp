// Backward data of a convolution by columns + col2im, for what the flipped-filter forward path
// does not take (strides above 1, small images), neither depthwise nor pointwise. Per image and
// group:
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
// fixed order from column values whose sums do not depend on the tiles, so the result does not
// depend on the thread count.
//
// Loop nest of one task:
//   for each KC block of output channels      -> partial last NR panel of dy packed
//     for each NC block of positions (L2)
//       for each MR panel of the chunk's rows -> (partial, or many NR panels: packed) A panel, L1
//         for each NR panel of the block      -> micro-kernel into the columns buffer (L2)
//   col2im of the chunk's channels
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_backward_tile.hpp"
#include "kernels/cpu/conv/conv_implicit_gemm.hpp"
#include "kernels/cpu/conv/im2col.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"
#include "kernels/cpu/gemm/gemm_pack.hpp"

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
};

template <class T>
struct Workspace {
    std::vector<T> columns, a_panel, b_panel;
};

template <class T>
void run_task(const Plan<T>& p, int64_t task, Workspace<T>& ws) {
    const ConvArgs& a = *p.args;
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    const int64_t chunk = task % p.chunks;
    task /= p.chunks;
    const int64_t g = task % a.groups;
    const int64_t n = task / a.groups;
    const int64_t c0 = chunk * p.chunk_channels;
    const int64_t channels = std::min(p.chunk_channels, p.group_channels - c0);
    const int64_t r0 = c0 * p.kernel_size;
    const int64_t rows = channels * p.kernel_size;
    const int64_t positions = p.out_size;
    const int64_t full_cols = positions / nr * nr;
    const int64_t partial_cols = positions - full_cols;
    const T* dy = p.dy + (n * a.out_channels + g * p.group_out_channels) * positions;
    const T* w = p.w + g * p.group_out_channels * p.depth + r0;  // A(i, k) = w[i + k * depth]
    T* const columns = ws.columns.data();
    for (int64_t k0 = 0; k0 < p.group_out_channels; k0 += p.out_channel_block) {
        const int64_t kc = std::min(p.out_channel_block, p.group_out_channels - k0);
        const bool first = k0 == 0;
        const T* dy_block = dy + k0 * positions;
        const T* w_block = w + k0 * p.depth;
        if (partial_cols > 0) {
            pack_b_panels(MatrixRef<T>{dy_block + full_cols, positions, 1}, 0, kc, 0, partial_cols, nr,
                          p.micro.packers, ws.b_panel.data());
        }
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
                    accumulate_tile(kernel, mr, nr, kc, a_data, a_row_stride, a_col_stride, ws.b_panel.data(), nr,
                                    c + full_cols, positions, panel_rows, partial_cols, first);
                }
            }
        }
    }
    col2im_channels(columns, a.geometry, 0, channels, p.dx + (n * a.channels + g * p.group_channels + c0) * p.in_size);
}

// dx for a convolution that is neither depthwise nor pointwise, batch >= 1.
template <class T>
void conv_backward_data(const ConvArgs& a) {
    Plan<T> p{};
    p.args = &a;
    p.micro = implicit_gemm::micro_kernel<T>(cpu::active_isa());
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
    auto fills_pool = [&](int64_t tasks) {
        return threads <= 1 || (tasks >= threads && (tasks % threads == 0 || tasks >= 4 * threads));
    };
    p.chunk_channels = std::clamp<int64_t>(kMaxChunkRows / p.kernel_size, 1, p.group_channels);
    for (;;) {
        p.chunks = ceil_div(p.group_channels, p.chunk_channels);
        if (p.chunk_channels == 1 || fills_pool(a.batch * a.groups * p.chunks)) break;
        p.chunk_channels = std::min(p.chunk_channels - 1, ceil_div(p.group_channels, p.chunks + 1));
    }
    const int64_t tasks = a.batch * a.groups * p.chunks;
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    cpu::for_each_claimed(
        tasks, threads,
        [&]() -> Workspace<T>& {
            Workspace<T>& ws = thread_scratch<Workspace<T>>();
            ws.columns.resize(static_cast<size_t>(p.chunk_channels * p.kernel_size * p.out_size));
            ws.a_panel.resize(static_cast<size_t>(mr * p.out_channel_block));
            ws.b_panel.resize(static_cast<size_t>(nr * p.out_channel_block));
            return ws;
        },
        [&](int64_t task, Workspace<T>& ws) { run_task(p, task, ws); });
}

}  // namespace backward_data
}  // namespace mln::kernels
