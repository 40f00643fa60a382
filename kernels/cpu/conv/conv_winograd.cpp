// The Winograd F(4x4, 3x3) driver (conv_winograd.hpp) and the scalar transforms.
//
// Two schedules, with the same arithmetic for every output (the same bits at any thread count):
//
// Blocked: tiles are numbered over (image, tile row, tile column) and cut into blocks of about
// kTransformedBlockBytes of V (a multiple of the micro-kernel's NR). U of all filters is made
// once per call. A task is one block and a group of chunks of output channels: it transforms the
// block's input (V: 36 x channels x tiles, in L2), then for each chunk (about kChunkBytes of M)
// runs the 36 GEMMs M[xi] = U[xi] V[xi] through the packed micro-kernel (U's panels are already
// packed; V's rows are read in place, NR columns at a time) and the output transform, which
// stores y with the epilogue. Tasks are claimed from one counter. Chunk groups split a block's
// output channels between threads only where blocks alone do not fill the pool: each such task
// repeats the block's input transform.
//
// Shared input (several threads, fewer than two blocks each: batch 1, small images): V of all
// tiles by all threads (slices of channels), then one task per chunk of output channels, which
// makes U of its own filters (in L2: U of all filters is never written) and runs the GEMMs and
// the output transform over all tiles. No work is repeated, U is read once in all, and the
// chunks share the threads evenly.
#include "kernels/cpu/conv/conv_winograd.hpp"

#include <algorithm>
#include <vector>

#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_winograd_body.hpp"
#include "kernels/cpu/gemm/gemm_epilogue.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"

namespace mln::kernels {

WinogradTransforms winograd_transforms_scalar() { return winograd_transforms_of<ScalarLanes>(); }

namespace {

// V of one block (36 x channels x tiles floats) at most this much where channels allow, so it
// stays in L2 while every chunk of output channels reads it.
constexpr int64_t kTransformedBlockBytes = 256 << 10;
// M of one chunk (36 x chunk rows x tiles floats) at most this much.
constexpr int64_t kChunkBytes = 256 << 10;
// The 36 planes of V and of M are this many floats (a cache line) further apart than their
// size: the transforms touch all 36 at once, and sizes such as 64 x 32 floats (8 KiB) put every
// plane's line in the same L1 set (12 ways), which cost 2x on the input transform.
constexpr int64_t kPlaneSkew = 16;
// The output transform prefetches the plane this many output channels ahead.
constexpr int64_t kOutputPrefetchPlanes = 2;
// The shared-input schedule where V of all tiles is at most this big (batch 1, small images).
constexpr int64_t kSharedInputBytes = 2 << 20;
// Its tasks' U (36 x channels x chunk rows floats) at most this much, to stay in L2.
constexpr int64_t kChunkWeightsBytes = 512 << 10;
// Channels per task of its input transform.
constexpr int64_t kInputSliceChannels = 16;

struct Plan {
    const ConvArgs* args;
    WinogradTransforms transforms;
    GemmMicroKernelInfo<float> micro;
    int64_t tiles_y, tiles_x, tiles_per_image, tiles;
    int64_t block_tiles, blocks;
    int64_t chunk_rows, chunks, chunk_groups;
    int64_t panels;           // of MR output channels
    const float* u;           // [xi][panel][c][mr]
    int64_t u_xi_stride;
    GemmActivation<float> activation;  // other than ReLU; nullptr for none
    bool relu;
};

// Calls f(image, run, first column of the run in the block) for the runs of tiles [begin, end).
template <class F>
void for_each_run(const Plan& p, int64_t begin, int64_t end, F&& f) {
    for (int64_t t = begin; t < end;) {
        const int64_t image = t / p.tiles_per_image;
        const int64_t in_image = t % p.tiles_per_image;
        WinogradTileRun run{in_image / p.tiles_x, in_image % p.tiles_x, 0};
        run.count = std::min({p.tiles_x - run.tile0, end - t, kWinogradMaxRun});
        f(image, run, t - begin);
        t += run.count;
    }
}

// Per-thread scratch (thread_scratch.hpp): V, M and U.
struct TransformedInput;
struct TransformedOutput;
struct TransformedWeights;

// Zeros in the columns [count, ld) of V's rows of channels [c0, c1): the GEMM's last panel
// reads defined values.
void zero_padding_columns(float* v, int64_t v_xi_stride, int64_t ld, int64_t count, int64_t c0, int64_t c1) {
    if (ld == count) return;
    for (int64_t xi = 0; xi < kWinogradPoints; ++xi) {
        for (int64_t c = c0; c < c1; ++c) {
            float* row = v + xi * v_xi_stride + c * ld;
            std::fill(row + count, row + ld, 0.0f);
        }
    }
}

// V of tiles [begin, end) (columns from 0) for channels [c0, c1).
void transform_input(const Plan& p, int64_t begin, int64_t end, int64_t c0, int64_t c1, float* v,
                     int64_t v_xi_stride, int64_t ld) {
    const ConvArgs& a = *p.args;
    const WindowGeometry& g = a.geometry;
    const float* x = static_cast<const float*>(a.x.data) + c0 * g.in_size();
    for_each_run(p, begin, end, [&](int64_t image, const WinogradTileRun& run, int64_t column) {
        p.transforms.input(x + image * a.channels * g.in_size(), g, c1 - c0, run, v + c0 * ld + column, v_xi_stride,
                           ld);
    });
    zero_padding_columns(v, v_xi_stride, ld, end - begin, c0, c1);
}

// For output channels [m0, m0 + rows): the 36 GEMMs M[xi] = U[xi] V[xi] over V's ld columns
// (tiles [begin, end)), then the output transform storing y. u: the first of the channels' U
// panels ([xi][panel][c][mr], u_xi_stride apart).
void multiply_and_store(const Plan& p, const float* v, int64_t v_xi_stride, int64_t ld, int64_t begin, int64_t end,
                        int64_t m0, int64_t rows, const float* u, int64_t u_xi_stride) {
    const ConvArgs& a = *p.args;
    const WindowGeometry& g = a.geometry;
    const int nr = p.micro.nr;
    const int mr = p.micro.mr;
    const int64_t m_xi_stride = round_up(rows, mr) * ld + kPlaneSkew;
    std::vector<float>& m_buffer = thread_buffer<float, TransformedOutput>();
    m_buffer.resize(static_cast<size_t>(kWinogradPoints * m_xi_stride));
    float* m = m_buffer.data();
    const int64_t panels = ceil_div(rows, mr);
    for (int64_t xi = 0; xi < kWinogradPoints; ++xi) {
        const float* u_xi = u + xi * u_xi_stride;
        const float* v_xi = v + xi * v_xi_stride;
        float* m_xi = m + xi * m_xi_stride;
        for (int64_t panel = 0; panel < panels; ++panel) {
            const float* a_panel = u_xi + panel * mr * a.channels;
            for (int64_t col = 0; col < ld; col += nr) {
                p.micro.packed(a.channels, a_panel, 1, mr, v_xi + col, ld, m_xi + panel * mr * ld + col, ld, 1.0f,
                               0.0f, nullptr);
            }
        }
    }
    const float* bias = a.has_bias ? static_cast<const float*>(a.bias.data) : nullptr;
    const float* residual = a.has_residual ? static_cast<const float*>(a.residual.data) : nullptr;
    float* y = static_cast<float*>(a.y.data);
    const int64_t out_size = g.out_size();
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t channel = m0 + row;
        // Prefetch distance: kOutputPrefetchPlanes output channels, within the image.
        const int64_t ahead = channel + kOutputPrefetchPlanes < a.out_channels ? kOutputPrefetchPlanes * out_size : 0;
        for_each_run(p, begin, end, [&](int64_t image, const WinogradTileRun& run, int64_t column) {
            const int64_t plane = (image * a.out_channels + channel) * out_size;
            p.transforms.output(m + row * ld + column, m_xi_stride, g, run, bias != nullptr ? bias[channel] : 0.0f,
                                residual != nullptr ? residual + plane : nullptr, p.relu, y + plane, ahead);
            if (p.activation != nullptr) {
                const int64_t row0 = run.tile_row * kWinogradTile;
                const int64_t col0 = run.tile0 * kWinogradTile;
                p.activation(y + plane + row0 * g.out[2] + col0, std::min(kWinogradTile, g.out[1] - row0),
                             std::min(kWinogradTile * run.count, g.out[2] - col0), g.out[2], 1);
            }
        });
    }
}

// A task of the blocked schedule: one block of tiles, one group of chunks of output channels.
void run_block_task(const Plan& p, int64_t task) {
    const ConvArgs& a = *p.args;
    const int64_t block = task / p.chunk_groups;
    const int64_t group = task % p.chunk_groups;
    const int64_t begin = block * p.block_tiles;
    const int64_t end = std::min(p.tiles, begin + p.block_tiles);
    const int64_t ld = round_up(end - begin, p.micro.nr);
    const int64_t v_xi_stride = a.channels * ld + kPlaneSkew;
    std::vector<float>& v_buffer = thread_buffer<float, TransformedInput>();
    v_buffer.resize(static_cast<size_t>(kWinogradPoints * v_xi_stride));
    float* v = v_buffer.data();
    transform_input(p, begin, end, 0, a.channels, v, v_xi_stride, ld);
    const int64_t first_chunk = p.chunks * group / p.chunk_groups;
    const int64_t last_chunk = p.chunks * (group + 1) / p.chunk_groups;
    for (int64_t chunk = first_chunk; chunk < last_chunk; ++chunk) {
        const int64_t m0 = chunk * p.chunk_rows;
        multiply_and_store(p, v, v_xi_stride, ld, begin, end, m0, std::min(p.chunk_rows, a.out_channels - m0),
                           p.u + m0 * a.channels, p.u_xi_stride);
    }
}

// The shared-input schedule: V of all tiles by all threads (slices of channels), then one task
// per chunk of output channels, which transforms its own filters (U in L2, never in memory)
// and runs the 36 GEMMs over all tiles.
void run_shared_input(const Plan& p, int64_t threads) {
    const ConvArgs& a = *p.args;
    const int64_t ld = round_up(p.tiles, p.micro.nr);
    const int64_t v_xi_stride = a.channels * ld + kPlaneSkew;
    std::vector<float>& v_buffer = thread_buffer<float, TransformedInput>();
    v_buffer.resize(static_cast<size_t>(kWinogradPoints * v_xi_stride));
    // The workers reach it through the pointer (a thread_local named in the lambda would be
    // each worker's own).
    float* v = v_buffer.data();
    const int64_t slices = ceil_div(a.channels, kInputSliceChannels);
    cpu::for_each_claimed(slices, threads, [&](int64_t slice) {
        const int64_t c0 = slice * kInputSliceChannels;
        transform_input(p, 0, p.tiles, c0, std::min(a.channels, c0 + kInputSliceChannels), v, v_xi_stride, ld);
    });
    const int mr = p.micro.mr;
    const float* w = static_cast<const float*>(a.w.data);
    cpu::for_each_claimed(p.chunks, threads, [&](int64_t chunk) {
        const int64_t m0 = p.panels * chunk / p.chunks * mr;
        const int64_t rows = std::min(p.panels * (chunk + 1) / p.chunks * mr, a.out_channels) - m0;
        const int64_t u_xi_stride = round_up(rows, mr) * a.channels;
        std::vector<float>& u_buffer = thread_buffer<float, TransformedWeights>();
        u_buffer.resize(static_cast<size_t>(kWinogradPoints * u_xi_stride));
        p.transforms.weights(w + m0 * a.channels * 9, rows, a.channels, mr, 0, rows, u_xi_stride, u_buffer.data());
        multiply_and_store(p, v, v_xi_stride, ld, 0, p.tiles, m0, rows, u_buffer.data(), u_xi_stride);
    });
}

// The shared-input schedule where the blocked one gives a thread fewer than two blocks: there
// every thread would stream all of U (2.4 MiB at 128 x 128 channels) for its one block, and the
// blocks (25 + 24 tiles at 28 x 28, batch 1) leave a thread idle when their count is odd. It
// did no better on one thread, and worse with 7 blocks on 2 (64 channels at 56 x 56, batch 1).
bool uses_shared_input(const ConvArgs& a, int64_t tiles, int nr, int64_t blocks, int64_t threads) {
    return threads > 1 && blocks < 2 * threads && kWinogradPoints * a.channels * round_up(tiles, nr) * static_cast<int64_t>(sizeof(float)) <= kSharedInputBytes;
}

}  // namespace

bool winograd_applies(const ConvArgs& a, mln_dtype dtype) {
    const WindowGeometry& g = a.geometry;
    return dtype == MLN_DTYPE_F32 && a.groups == 1 && g.in[0] == 1 && g.kernel[0] == 1 && g.out[0] == 1 &&
           g.kernel[1] == 3 && g.kernel[2] == 3 && g.stride[1] == 1 && g.stride[2] == 1 && g.dilation[1] == 1 &&
           g.dilation[2] == 1;
}

// The transformed weights U (4x the filters) are written and read back once per call and
// each of their panels serves every 32 tiles of a block, so Winograd needs enough tiles per
// call to pay for them: with few tiles the GEMMs stream U from memory. Measured on Zen 5, one
// thread, against the implicit GEMM, ResNet-18 3x3 layers (tiles = batch x tiles per image):
// 64 channels at 56 (196 tiles, U 0.6 MiB) 2x faster; 128 at 28 (49 tiles, U 2.4 MiB) 1.3-1.6x
// faster; 256 at 14: 16 tiles 2.4x slower, 64 even, 512 1.7x faster; 512 at 7: 4 tiles 8x
// slower, 32 even, 128 1.25x faster. Under 32 channels the GEMMs are too shallow for the
// transforms to pay. The shared-input schedule (U in L2) brings 256 at 14, 16 tiles, to 1.1x
// slower on one thread and 1.45x on two (min of 90 calls, loaded machine): the 16 tiles fill
// half of the micro-kernel's 32 columns, so the GEMMs do 2/3 of the implicit GEMM's work.
constexpr int64_t kMinChannels = 32;
constexpr int64_t kMinTiles = 128;
constexpr int64_t kMinTilesSmallFilters = 32;
constexpr int64_t kSmallFilters = 128 * 128;  // out_channels x channels

bool winograd_wins(const ConvArgs& a, mln_dtype dtype) {
    if (!winograd_applies(a, dtype) || a.channels < kMinChannels || a.out_channels < kMinChannels) return false;
    const WindowGeometry& g = a.geometry;
    const int64_t tiles = a.batch * ceil_div(g.out[1], kWinogradTile) * ceil_div(g.out[2], kWinogradTile);
    return tiles >= kMinTiles || (tiles >= kMinTilesSmallFilters && a.channels * a.out_channels <= kSmallFilters);
}

void conv_winograd_forward(const ConvArgs& a) {
    const WindowGeometry& g = a.geometry;
    if (a.batch == 0 || a.out_channels == 0 || g.out_size() == 0) return;
    Plan p{};
    p.args = &a;
    p.transforms = winograd_transforms(cpu::active_isa());
    p.micro = sgemm_microkernel(cpu::active_isa());
    const int mr = p.micro.mr;
    const int nr = p.micro.nr;
    p.tiles_y = ceil_div(g.out[1], kWinogradTile);
    p.tiles_x = ceil_div(g.out[2], kWinogradTile);
    p.tiles_per_image = p.tiles_y * p.tiles_x;
    p.tiles = a.batch * p.tiles_per_image;
    const int64_t threads = cpu::thread_pool().thread_count();
    const int64_t point_bytes = kWinogradPoints * static_cast<int64_t>(sizeof(float));
    p.relu = a.activation == MLN_UNARY_OP_RELU;
    p.activation = p.relu ? nullptr : select_gemm_activation<float>(a.activation);
    p.panels = ceil_div(a.out_channels, mr);

    // The blocked schedule's geometry: blocks of tiles whose V stays in L2.
    const int64_t max_block = std::max<int64_t>(nr, kTransformedBlockBytes / point_bytes / std::max<int64_t>(a.channels, 1) / nr * nr);
    p.blocks = ceil_div(p.tiles, max_block);
    p.block_tiles = round_up(ceil_div(p.tiles, p.blocks), nr);
    p.blocks = ceil_div(p.tiles, p.block_tiles);

    if (uses_shared_input(a, p.tiles, nr, p.blocks, threads)) {
        // Chunks of whole panels of output channels, U and M of each in L2, a multiple of the
        // threads and at least two per thread; sizes differ by at most one panel.
        const int64_t ld = round_up(p.tiles, nr);
        const int64_t max_rows = std::min(kChunkWeightsBytes / point_bytes / std::max<int64_t>(a.channels, 1),
                                          kChunkBytes / point_bytes / ld);
        const int64_t max_panels = std::max<int64_t>(1, max_rows / mr);
        p.chunks = std::max(ceil_div(p.panels, max_panels), 2 * threads);
        p.chunks = std::min(round_up(p.chunks, threads), p.panels);
        return run_shared_input(p, threads);
    }

    // From two tasks per thread an uneven split (7 blocks on 2 threads) beats splitting the
    // output channels too, which repeats each block's input transform.
    auto fills_pool = [&](int64_t tasks) {
        return threads <= 1 || (tasks >= threads && (tasks % threads == 0 || tasks >= 2 * threads));
    };
    // Blocks of equal size where they share the threads evenly and cost no more padding:
    // 49 tiles as 25 + 24 (both padded to 32) rather than 32 + 17 on 2 threads.
    const int64_t even_tiles = ceil_div(p.tiles, p.blocks);
    if (threads > 1 && p.blocks % threads == 0 && round_up(even_tiles, nr) * p.blocks <= round_up(p.tiles, nr)) {
        p.block_tiles = even_tiles;
    }
    const int64_t max_chunk = std::max<int64_t>(mr, kChunkBytes / point_bytes / p.block_tiles / mr * mr);
    p.chunks = ceil_div(a.out_channels, max_chunk);
    p.chunk_rows = round_up(ceil_div(a.out_channels, p.chunks), mr);
    p.chunks = ceil_div(a.out_channels, p.chunk_rows);
    p.chunk_groups = 1;
    while (!fills_pool(p.blocks * p.chunk_groups) && p.chunk_groups < p.chunks) ++p.chunk_groups;
    if (!fills_pool(p.blocks * p.chunk_groups)) {
        // Too few chunks to split: smaller ones (at least one panel each).
        while (!fills_pool(p.blocks * p.chunk_groups) && p.chunk_groups < p.panels) ++p.chunk_groups;
        p.chunk_rows = round_up(ceil_div(a.out_channels, p.chunk_groups), mr);
        p.chunks = ceil_div(a.out_channels, p.chunk_rows);
        p.chunk_groups = p.chunks;
    }
    p.u_xi_stride = p.panels * mr * a.channels;

    // U for every filter, once per call, by all threads. The workers reach it through the
    // pointer (a thread_local named in the lambda would be each worker's own).
    std::vector<float>& u_buffer = thread_buffer<float, TransformedWeights>();
    u_buffer.resize(static_cast<size_t>(kWinogradPoints * p.u_xi_stride));
    float* u = u_buffer.data();
    const float* w = static_cast<const float*>(a.w.data);
    cpu::parallel_for(p.panels, 1, [&](int64_t begin, int64_t end) {
        p.transforms.weights(w, a.out_channels, a.channels, mr, begin * mr, end * mr, p.u_xi_stride, u);
    });
    p.u = u;

    const int64_t tasks = p.blocks * p.chunk_groups;
    cpu::for_each_claimed(tasks, threads, [&](int64_t task) { run_block_task(p, task); });
}

}  // namespace mln::kernels
