#include "kernels/cpu/conv/conv_phase_direct.hpp"

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/common/streaming_stores.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_lowering.hpp"
#include "kernels/cpu/gemm/gemm_epilogue.hpp"

#if defined(MYELIN_X86_64_KERNELS)
#include <xmmintrin.h>
#endif

namespace mln::kernels::phase_direct {
namespace {

// Output positions per task (a block of whole rows or tiles): 6 rows of a 112-wide stem output,
// 19 blocks per image; more, smaller blocks where the images are too few to fill the threads.
// Zen 5, MobileNet-v2's stem, batch 1, one thread, conv_vs_build against 768 (2026-12-07): 384
// (3-row blocks, planes 21 KB) 1.04-1.10x the time, 1536 within noise. ResNet-18's 3x3/2 from 64
// channels (against main's 2 blocks of 13 and 12 tiles): blocks of 4 or 8 tiles, one block of 25,
// or a call per tile and panel (every panel over one tile's columns) all 1.00-1.02x (median).
constexpr int64_t kBlockPositions = 768;
// Depth per pass over a tile (its columns, kc rows of 128 bytes, read again by every weight
// panel): all of a 3x3 from 64 channels, its 72 KB of columns then read from L2, in one pass
// rather than 3 of 192 from L1 whose partial sums went through y. ResNet-18's 3x3/2 from 64
// channels, same-process A/B in both orders at real-time priority, median: batch 1 one thread
// 0.98 of the time, two threads 0.97-0.98, batch 32 two threads 0.98-0.99. Two blocks of 288
// (the second half's split prefetched across the first's tiles, columns and panel 51 KB) took
// 1.02-1.03x (Zen 5, batch 1, one thread, conv_vs_build both ways round, 2026-12-07); so did,
// 1.00-1.02x, only the first panel in two passes of 288 with the second half's channels split
// between them (their rows prefetched tile by tile): the split's share of the samples fell from
// 8.5 to 5.0%, the other panels' tiles took ~5% more (perf, same load).
constexpr int64_t kBlockDepth = 576;
// Where x and y together take at least this many bytes (they come from memory), each task
// prefetches the next one's input rows if those take at most kPrefetchBlockBytes (L2 holds them
// beside the block's planes: MobileNet-v2's 3x3/2 stem, 43 KB, and ResNet-18's 7x7/2, 54 KB, not
// its 3x3/2 from 64 channels). At batch 32, one thread, same-run A/B against streaming alone on a
// heavily loaded machine (load 10), median time: MobileNet-v2's stem 0.62-0.86, ResNet-18's
// stem 0.86; the prefetch turned off in the same build took 1.28 x the time.
// ResNet-18's 3x3/2 from 64 channels at batch 32, two threads, with the next block's input
// prefetched anyway (blocks of 4, 6 or 13 tiles, prefetcht0 or prefetcht1): 0.98-1.02x the time
// of none once the split reads x's rows in order (conv_lowering_body.hpp); 1.00-1.05x at batch 1.
constexpr int64_t kPrefetchInputBytes = int64_t{16} << 20;
constexpr int64_t kPrefetchBlockBytes = int64_t{128} << 10;
// A tile's columns and weight panel up to this size stay in L1 (48 KiB) over its depth block.
constexpr int64_t kL1TileBytes = int64_t{32} << 10;
// Guard elements before and after the planes: lanes outside a mask may point there (never read).
constexpr int64_t kGuard = 64;

#if defined(MYELIN_X86_64_KERNELS)
// The tile kernel, panel packer and plane split of an ISA (conv_phase_direct.hpp).
struct IsaKernels {
    TileShape tile;
    int64_t max_channels;
    PhaseDirectTiles tiles;
    decltype(&pack_phase_direct_panel_avx512) pack_panel;
    decltype(&split_phase_planes_rows_avx512) split_rows;
    PhaseDirectXRowTiles x_row_tiles;  // nullptr where the ISA has none
};

// nullptr where the ISA has none.
const IsaKernels* isa_kernels(mln_isa isa) {
    static const IsaKernels avx512{kAvx512Tile, kMaxChannels, phase_direct_tiles_avx512,
                                       pack_phase_direct_panel_avx512, split_phase_planes_rows_avx512,
                                       phase_direct_x_row_tiles_avx512};
    static const IsaKernels avx2{kAvx2Tile, kAvx2MaxChannels, phase_direct_tiles_avx2,
                                     pack_phase_direct_panel_avx2, split_phase_planes_rows_avx2, nullptr};
    if (isa == MLN_ISA_AVX512) return &avx512;
    if (isa == MLN_ISA_AVX2) return &avx2;
    return nullptr;
}
#endif

// Per-thread scratch (thread_scratch.hpp).
struct PackedWeights;
struct BlockPlanes;
struct TileMasks;

// Blocks of output positions and their planes, and per depth row where its tap reads them.
struct Layout {
    int64_t width;
    // Blocks are made of units: whole output rows where a row fills a tile (the tiles restart at
    // each block: its planes then hold no partial rows, 17% more rows than its outputs at
    // 6-row blocks of a 3x3 stem instead of 31% at 768 positions, 6% of the layer), else whole
    // tiles (28x28 outputs: 12 + 13 tiles on 2 threads, where 14-row blocks were 13 + 13).
    int64_t unit, units, block_units, blocks;  // per image: block b is units [b, b + 1) * block_units
    int64_t first_row;     // the plane row above a block's first output row that its taps read first
    int64_t halo_rows;     // plane rows its taps read beyond its output rows
    // Rows a whole number of tiles wide: the planes' rows padded with the zeros the column shifts
    // read beside them, so no tile is masked (a masked step takes 37 instructions for an unmasked
    // one's 24 on AVX2), and one kernel call still runs a block's tiles (TileRows). Zen 3, batch 1,
    // one thread, conv_vs_build against main (min / median): ResNet-18's 7x7/2 stem (2 of a row's 7
    // tiles masked before) 0.86-0.89 / 0.84-0.89; MobileNet-v2's 3x3/2 stem (1 of 7) 0.97-1.00;
    // one call per row of tiles instead took 0.87-0.89 and 0.99-1.04. Else dense rows, the masks in
    // the tiles.
    bool padded;
    PhasePlaneRows rows;   // a plane row's stride and lead zeros
    int64_t tile_masks;    // lane masks per tile: shifts with dense rows, none with padded ones
    TileRows tile_rows;    // a block's tiles in its planes' rows
    int64_t plane_stride;  // elements per plane of a block
    int64_t shift_min;     // the smallest column shift (a tap's floor((kw - pad) / 2))
    int64_t shifts;        // distinct column shifts
    std::vector<int32_t> offsets;      // per depth row: from the tile's position in its block's planes
    std::vector<uint8_t> shift_index;  // per depth row: its column shift - shift_min
    // Where the position j of a block (from its first output row's start) is in its planes' rows.
    int64_t plane_position(int64_t j) const { return j / width * rows.stride + j % width; }
    // The lane masks of whole tiles (tile_masks), which depend only on the column of the tile's
    // first position, ow0: shifts of them per multiple of mask_step = gcd(width, tile columns)
    // below width (tiles start at multiples of the tile columns from a row's start, blocks at
    // whole rows or tiles; 7 for a 112-wide output). Computed once per call, not once per tile: ResNet-18's 7x7/2 stem (4
    // shifts), batch 1, one thread, same-run A/B in both load orders on a loaded machine: 0.89-0.96
    // of the time (median); MobileNet-v2's stem (2 shifts) even.
    int64_t mask_step;
    std::vector<uint32_t> whole_tile_masks;
    const uint32_t* masks_of_whole_tile(int64_t q0) const {
        return whole_tile_masks.data() + q0 % width / mask_step * shifts;
    }
};

void tile_masks(const Layout& l, int64_t q0, int64_t cols, uint32_t* masks);

Layout layout_of(const ConvArgs& a, int64_t depth, int64_t tile_columns) {
    const WindowGeometry& g = a.geometry;
    const int64_t threads = cpu::thread_pool().thread_count();
    Layout l;
    l.width = g.out[2];
    l.unit = l.width >= tile_columns ? l.width : tile_columns;
    l.units = ceil_div(g.out_size(), l.unit);
    // As the implicit GEMM's position blocks: more of them while that fills the pool better and
    // each keeps 4 tiles.
    l.blocks = ceil_div(l.units, std::max<int64_t>(1, kBlockPositions / l.unit));
    while (!tasks_fill_threads(a.batch * l.blocks, threads) && g.out_size() >= 4 * tile_columns * (l.blocks + 1)) ++l.blocks;
    l.block_units = ceil_div(l.units, l.blocks);
    // Of the block sizes within a quarter of that, the one whose tasks spread most evenly over the
    // threads (the units the busiest thread runs; the nearest size on ties): MobileNet-v2's stem
    // at batch 1 on 2 threads takes 16 blocks of 7 rows (8 + 8) instead of 19 of 6 (10 + 9):
    // median 0.125-0.128 -> 0.120-0.123 ms (same-run A/B, loaded machine), batch 32 even to -3%;
    // ResNet-18's 7x7/2 stem even.
    if (threads > 1) {
        auto busiest = [&](int64_t units) { return ceil_div(a.batch * ceil_div(l.units, units), threads) * units; };
        const int64_t target = l.block_units;
        for (int64_t units = std::max<int64_t>(1, target * 3 / 4); units <= target * 5 / 4; ++units) {
            const int64_t load = busiest(units), best = busiest(l.block_units);
            if (load < best || (load == best && std::abs(units - target) < std::abs(l.block_units - target))) {
                l.block_units = units;
            }
        }
    }
    l.blocks = ceil_div(l.units, l.block_units);
    // Tap row th = kh - pad reads plane row oh + floor(th / 2): output rows [r0, r1) read plane
    // rows [r0 + floor(-pad / 2), r1 + floor((k - 1 - pad) / 2)); those outside the image are
    // zeros.
    const int64_t row_min = (-g.pad_begin[1]) >> 1, row_max = (g.kernel[1] - 1 - g.pad_begin[1]) >> 1;
    l.first_row = std::min<int64_t>(0, row_min);
    l.halo_rows = std::max<int64_t>(0, row_max) - l.first_row;
    // Output rows a block touches: a block of tiles may start inside a row.
    const int64_t block_rows = ceil_div(l.block_units * l.unit, l.width) + (l.unit == l.width ? 0 : 1);
    l.shift_min = (-g.pad_begin[2]) >> 1;
    l.shifts = ((g.kernel[2] - 1 - g.pad_begin[2]) >> 1) - l.shift_min + 1;
    l.padded = l.width % tile_columns == 0;
    const int64_t lead = std::max<int64_t>(0, -l.shift_min), trail = std::max<int64_t>(0, l.shift_min + l.shifts - 1);
    l.rows = l.padded ? PhasePlaneRows{lead + l.width + trail, lead} : PhasePlaneRows{l.width, 0};
    l.tile_masks = l.padded ? 0 : l.shifts;
    l.tile_rows = l.padded ? TileRows{l.width / tile_columns, l.rows.stride - l.width} : TileRows{1, 0};
    l.plane_stride = round_up((block_rows + l.halo_rows) * l.rows.stride, 16);
    l.offsets.assign(static_cast<size_t>(depth + kPrefetchSteps), 0);
    l.shift_index.resize(static_cast<size_t>(depth));
    for (int64_t p = 0; p < depth; ++p) {
        const int64_t kw = p % g.kernel[2], kh = p / g.kernel[2] % g.kernel[1], c = p / g.kernel_size();
        const int64_t th = kh - g.pad_begin[1], tw = kw - g.pad_begin[2];
        const int64_t plane = c * 4 + (th & 1) * 2 + (tw & 1);
        const int64_t row = (th >> 1) - l.first_row, column = l.rows.lead + (tw >> 1);
        l.offsets[static_cast<size_t>(p)] = static_cast<int32_t>(plane * l.plane_stride + row * l.rows.stride + column);
        l.shift_index[static_cast<size_t>(p)] = static_cast<uint8_t>((tw >> 1) - l.shift_min);
    }
    l.mask_step = std::gcd(l.width, tile_columns);
    l.whole_tile_masks.resize(static_cast<size_t>(l.width / l.mask_step * l.shifts));
    for (int64_t ow0 = 0; ow0 < l.width; ow0 += l.mask_step) {
        tile_masks(l, ow0, tile_columns, l.whole_tile_masks.data() + ow0 / l.mask_step * l.shifts);
    }
    return l;
}

// Lane masks of the tile at q0 (cols positions), per column shift s (masks[s - shift_min]): the
// lanes whose column ow + s stays in [0, width). Row by row: a row's lanes [j0, j1) have columns
// ow0.., so shift s keeps lanes j0 + [max(0, -s - ow0), min(j1 - j0, width - s - ow0)).
void tile_masks(const Layout& l, int64_t q0, int64_t cols, uint32_t* masks) {
    std::fill_n(masks, l.shifts, 0u);
    auto lanes = [](int64_t begin, int64_t end) -> uint32_t {
        if (end <= begin) return 0;
        const uint64_t high = end >= 32 ? ~uint64_t{0} : (uint64_t{1} << end) - 1;
        return static_cast<uint32_t>(high & ~((uint64_t{1} << begin) - 1));
    };
    for (int64_t j0 = 0, ow0 = q0 % l.width; j0 < cols; j0 += l.width - ow0, ow0 = 0) {
        const int64_t run = std::min(cols - j0, l.width - ow0);
        for (int64_t s = 0; s < l.shifts; ++s) {
            const int64_t shift = l.shift_min + s;
            masks[s] |= lanes(j0 + std::max<int64_t>(0, -shift - ow0), j0 + std::min(run, l.width - shift - ow0));
        }
    }
}

#if defined(MYELIN_X86_64_KERNELS)
// The output channels in panels of balanced heights up to the tile's rows: panel i holds channels
// [begin(i), begin(i + 1)), its weights a depth x rows panel at begin(i) * depth.
struct Panels {
    std::vector<int64_t> first_rows;
    Panels(int64_t out_channels, int64_t tile_rows) {
        const int64_t count = ceil_div(out_channels, tile_rows);
        for (int64_t panel = 0; panel <= count; ++panel) first_rows.push_back(panel * out_channels / count);
    }
    int64_t count() const { return static_cast<int64_t>(first_rows.size()) - 1; }
    int64_t begin(int64_t panel) const { return first_rows[static_cast<size_t>(panel)]; }
    int64_t rows(int64_t panel) const { return begin(panel + 1) - begin(panel); }
};

// Whether the call's tiles read x's rows in place (XRowTiles, conv_phase_direct.hpp): no planes, no masks.
bool reads_x_rows(const IsaKernels& isa, const ConvArgs& a) {
    const WindowGeometry& g = a.geometry;
    return isa.x_row_tiles != nullptr && g.kernel[1] == kXRowKernel && g.kernel[2] == kXRowKernel &&
           g.pad_begin[2] == 1 && a.channels <= kXRowMaxChannels && g.out[2] % 16 == 0;
}

// The call's panels: the forward and the prepared filters (pack_filters, unpack_filters) share them.
Panels panels_of(const IsaKernels& isa, const ConvArgs& a) {
    return Panels(a.out_channels, reads_x_rows(isa, a) ? std::min<int64_t>(isa.tile.rows, kXRowTileRows)
                                                        : isa.tile.rows);
}

void pack_all(const IsaKernels& isa, const Panels& panels, int64_t depth, const float* w, float* packed) {
    for (int64_t panel = 0; panel < panels.count(); ++panel) {
        const int64_t m0 = panels.begin(panel);
        isa.pack_panel(w + m0 * depth, depth, panels.rows(panel), packed + m0 * depth);
    }
}
#endif

}  // namespace

bool applies(const ConvArgs& a) {
#if defined(MYELIN_X86_64_KERNELS)
    const WindowGeometry& g = a.geometry;
    const int64_t depth = a.channels / a.groups * g.kernel_size();
    const int64_t shifts = ((g.kernel[2] - 1 - g.pad_begin[2]) >> 1) - ((-g.pad_begin[2]) >> 1) + 1;
    const IsaKernels* isa = isa_kernels(cpu::active_isa());
    // Offsets are int32: a band's planes stay far below 2^31 elements.
    return isa != nullptr && a.groups == 1 && depth > 0 && a.channels <= isa->max_channels &&
           phase_planes_apply(g) && shifts <= 32 &&
           a.channels * 4 * (kBlockPositions + (g.kernel[1] + 4) * g.out[2]) < (int64_t{1} << 30);
#else
    (void)a;
    return false;
#endif
}

void pack_filters(const ConvArgs& a, const float* w, float* packed) {
#if defined(MYELIN_X86_64_KERNELS)
    const IsaKernels& isa = *isa_kernels(cpu::active_isa());
    pack_all(isa, panels_of(isa, a), a.channels * a.geometry.kernel_size(), w, packed);
#else
    (void)a, (void)w, (void)packed;
#endif
}

void unpack_filters(const ConvArgs& a, mln_isa isa, const float* packed, float* w) {
#if defined(MYELIN_X86_64_KERNELS)
    const Panels panels = panels_of(*isa_kernels(isa), a);
    const int64_t depth = a.channels * a.geometry.kernel_size();
    for (int64_t panel = 0; panel < panels.count(); ++panel) {
        const int64_t m0 = panels.begin(panel), rows = panels.rows(panel);
        for (int64_t p = 0; p < depth; ++p) {
            for (int64_t i = 0; i < rows; ++i) w[(m0 + i) * depth + p] = packed[m0 * depth + p * rows + i];
        }
    }
#else
    (void)a, (void)isa, (void)packed, (void)w;
#endif
}

void conv_forward(const ConvArgs& a, const float* prepacked) {
#if defined(MYELIN_X86_64_KERNELS)
    const IsaKernels& isa = *isa_kernels(cpu::active_isa());
    const WindowGeometry& g = a.geometry;
    const bool x_rows = reads_x_rows(isa, a);
    const int64_t tile_columns = isa.tile.columns;
    const int64_t depth = a.channels * g.kernel_size();
    const int64_t positions = g.out_size();
    // Panels of balanced heights, their first rows made once per call, not two divisions per
    // panel of every tile (MobileNet-v2's 27-deep stem, batch 1, one thread, same-process A/B
    // both ways round: 0.993-0.996x).
    const Panels panel_rows = panels_of(isa, a);
    const int64_t panels = panel_rows.count();
    auto first_row = [&](int64_t panel) { return panel_rows.begin(panel); };
    const Layout l = layout_of(a, depth, tile_columns);
    // Weights as one depth x rows panel each, rows contiguous: the panel of channels [m0, m1)
    // starts at m0 * depth. Each thread packs all of them into its own buffer as it starts (steady
    // calls neither allocate nor clear): the tiles of every thread read every panel, and panels
    // one thread packed and the other read moved between the cores' caches twice per call (the
    // packing and the first tiles then waited on the other core's lines). ResNet-18's 3x3/2 from
    // 64 channels, 295 KB of weights, batch 1, 2 threads, same-process A/B at real-time priority,
    // median: 0.90-0.91 of the time of panels claimed by whichever thread came first; one thread,
    // batch 32 and the stems even.
    const float* w = static_cast<const float*>(a.w.data);
    // Prepared filters come packed (pack_filters): the threads read the same panels, which no
    // thread writes.
    auto pack_panels = [&] {
        if (prepacked != nullptr) return prepacked;
        std::vector<float>& packed = thread_buffer<float, PackedWeights>();
        packed.resize(static_cast<size_t>(a.out_channels * depth));
        pack_all(isa, panel_rows, depth, w, packed.data());
        return static_cast<const float*>(packed.data());
    };
    const float* bias = a.has_bias ? static_cast<const float*>(a.bias.data) : nullptr;
    const bool relu = a.activation == MLN_UNARY_OP_RELU;
    const GemmActivation<float> activation = relu ? nullptr : select_gemm_activation<float>(a.activation);
    const float* x = static_cast<const float*>(a.x.data);
    const float* residual = a.has_residual ? static_cast<const float*>(a.residual.data) : nullptr;
    float* y = static_cast<float*>(a.y.data);
    const int64_t y_image = a.out_channels * positions;
    const int64_t block_planes_size = a.channels * 4 * l.plane_stride;
    const int64_t depth_blocks = ceil_div(depth, kBlockDepth);
    const int64_t block_depth = std::min(depth, round_up(ceil_div(depth, depth_blocks), 8));
    // A tile whose columns and weight panel outgrow L1 (read again from L2 by every panel: 106 KB
    // for a 3x3 from 64 channels) prefetches its columns a few steps ahead: ResNet-18's 3x3/2 from
    // 64 channels, same-process A/B, p10 / p25 of the time per call at batch 1: one thread
    // 0.93-0.94x on a loaded machine, 0.98-1.01x on a quiet one, two threads 0.94-0.95x; batch 32
    // on two threads (min / median) 0.95-0.98x. The stems' tiles (27 and 147 deep, in L1) were
    // 1.01-1.03x slower.
    const bool prefetch_columns =
        block_depth * (tile_columns + isa.tile.rows) * static_cast<int64_t>(sizeof(float)) > kL1TileBytes;
    // Large outputs are written with non-temporal stores where every whole tile's rows start on
    // a cache line (they would not stay in cache, and a plain store first reads each line).
    // Below that, the next tile's lines of y prefetched (prefetcht0) before each tile of a call lost:
    // MobileNet-v2's stem (y 1.6 MB), Zen 5, batch 1, one thread, same-process A/B both ways round
    // (min / median): 0.95-1.07 / 1.01-1.08x main's time, main 0.93-0.98 / 0.93x of it. The in-place
    // tiles (x_row_tiles) asking for the next tile's y rows per panel with prefetchw, one or two
    // tiles ahead: 1.01-1.04 / 1.01-1.05x, 1.02 / 1.00-1.03x (same run, loaded; prefetcht0 1.02 / 1.03x).
    const bool stream = a.batch * y_image * static_cast<int64_t>(sizeof(float)) >= kStreamingStoreBytes &&
                        positions % 16 == 0 && l.unit % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 64 == 0;

    // One task: a block of whole tiles of image n, from its own planes (split here: no pass over
    // the whole input first, and the planes stay in L1/L2 while its tiles read them).
    struct Scratch {
        const float* packed;
        float* planes;
        uint32_t* masks;
    };
    // Output rows [row, row + rows) of task's block; its planes hold rows + halo_rows plane rows
    // from row + first_row, plane row i holding input rows 2 i and 2 i + 1.
    const int64_t tasks = a.batch * l.blocks;
    auto block_of = [&](int64_t task, int64_t* begin, int64_t* end, int64_t* row, int64_t* rows) {
        const int64_t block = task % l.blocks;
        *begin = block * l.block_units * l.unit;
        *end = std::min(positions, (block + 1) * l.block_units * l.unit);
        *row = *begin / l.width;
        *rows = ceil_div(*end, l.width) - *row;
    };
    // Where x and y do not stay in cache between calls, each thread claims its next task ahead
    // and prefetches that block's input rows across this block's tiles, where they are few
    // enough to sit in L2 beside this block's planes.
    const int64_t x_image = a.channels * g.in_size();
    const int64_t block_input_bytes = a.channels * 2 * (ceil_div(l.block_units * l.unit, l.width) + 1 + l.halo_rows) *
                                      g.in[2] * static_cast<int64_t>(sizeof(float));
    const bool prefetch = a.batch * (x_image + y_image) * static_cast<int64_t>(sizeof(float)) >= kPrefetchInputBytes &&
                          block_input_bytes <= kPrefetchBlockBytes;
    auto start = [&] {
        const float* packed = pack_panels();
        if (x_rows) return Scratch{packed, nullptr, nullptr};
        std::vector<float>& planes = thread_buffer<float, BlockPlanes>();
        planes.resize(static_cast<size_t>(block_planes_size + 2 * kGuard));
        std::vector<uint32_t>& masks = thread_buffer<uint32_t, TileMasks>();
        masks.resize(static_cast<size_t>(ceil_div(l.block_units * l.unit, tile_columns) * l.tile_masks));
        return Scratch{packed, planes.data() + kGuard, masks.data()};
    };
    // Depth blocks outermost within a task: each splits the planes of the channels it reads
    // first (where the depth takes several blocks, the input rows of the next block's channels
    // are prefetched across this one's tiles), so the split of all but the first block's
    // channels reads L2 instead of waiting for x from L3 before any tile starts; the tiles'
    // partial sums wait in y (L2) between blocks. ResNet-18's 3x3/2 from 64 channels when it took
    // 3 depth blocks of 192, same-process A/B in both orders (batches of calls, real-time
    // priority, loaded machine), median: batch 1 one thread 0.97-0.99 of the time of tiles
    // outermost, two threads 0.97-1.01, batch 32 two threads 0.96-0.97; the stems (one depth
    // block) as before.
    const int64_t kernel_size = g.kernel_size();
    auto channels_through = [&](int64_t depth_end) { return (depth_end - 1) / kernel_size + 1; };
    auto run = [&](int64_t task, int64_t next, const Scratch& scratch) {
        const int64_t n = task / l.blocks;
        int64_t begin, end, row, rows;
        block_of(task, &begin, &end, &row, &rows);
        const float* x_image_n = x + n * x_image;
        const int64_t tiles = ceil_div(end - begin, tile_columns);
        // Tiles per kernel call, a panel at a time: all of the block's, where no input is
        // prefetched (a 27-deep stem's tile is about 300 cycles of multiply-adds, and a call per
        // tile and panel, its arguments, saved registers and the driver's addressing, took 7% of
        // the layer: MobileNet-v2's stem, batch 1, one thread, conv_vs_build 0.93x the time, two
        // threads 0.95-0.96x); one where the next block's input rows are prefetched a little per
        // call, as they were tuned, through the one-tile kernel as before (a loop of tiles there
        // ran batch 32 on two threads at 1.09-1.10x; one tile per call, same code as before, at
        // 1.00-1.01x). The next block's input prefetched at batch 1 too took 1.01-1.10x the time
        // (into L1 over the block's 3 calls, 9 calls of 7 tiles or its 63 tiles; into L2 at once);
        // so did it into L2 (prefetcht1) over calls of 3, 7 or 21 tiles (MobileNet-v2's stem, where
        // the split is 11-12% of the layer in a profile, its loads of x waiting; Zen 5, batch 1, one
        // thread, same-process A/B against main both ways round, min / median: 1.06-1.28 / 1.02-1.10x
        // this way, main 0.92-0.96 / 0.93-0.97x of it the other).
        const int64_t per_call = prefetch ? 1 : tiles;
        const int64_t calls = panels * ceil_div(tiles, per_call);
        RowsPrefetch next_input(x, 0, 0, 0, 1);
        if (prefetch && next < tasks) {
            int64_t next_begin, next_end, next_row, next_rows;
            block_of(next, &next_begin, &next_end, &next_row, &next_rows);
            const int64_t ih0 = std::clamp<int64_t>(2 * (next_row + l.first_row), 0, g.in[1]);
            const int64_t ih1 = std::clamp<int64_t>(2 * (next_row + next_rows + l.first_row + l.halo_rows), 0, g.in[1]);
            next_input = RowsPrefetch(x + next / l.blocks * x_image + ih0 * g.in[2], a.channels,
                                      std::max<int64_t>(0, ih1 - ih0) * g.in[2] * static_cast<int64_t>(sizeof(float)),
                                      g.in_size() * static_cast<int64_t>(sizeof(float)), calls * depth_blocks);
        }
        // The input rows this block's planes hold. Prefetched (prefetcht1, all at once) before
        // the block's split at batch 1: MobileNet-v2's stem 1.01-1.02x the time (Zen 5, one thread).
        const int64_t ih0 = std::clamp<int64_t>(2 * (row + l.first_row), 0, g.in[1]);
        const int64_t ih1 = std::clamp<int64_t>(2 * (row + rows + l.first_row + l.halo_rows), 0, g.in[1]);
        // Each tile's lane masks, tile after tile (whole tiles' from the table).
        for (int64_t t = 0; t < tiles && l.tile_masks > 0 && !x_rows; ++t) {
            const int64_t q0 = begin + t * tile_columns, cols = std::min(tile_columns, end - q0);
            uint32_t* masks = scratch.masks + t * l.tile_masks;
            if (cols == tile_columns) {
                std::copy_n(l.masks_of_whole_tile(q0), l.shifts, masks);
            } else {
                tile_masks(l, q0, cols, masks);
            }
        }
        const int64_t last_cols = end - begin - (tiles - 1) * tile_columns;
        const uint32_t last_columns = last_cols == tile_columns ? ~uint32_t{0} : (uint32_t{1} << last_cols) - 1;
        int64_t split_channels = 0;
        for (int64_t pc = 0; pc < depth; pc += block_depth) {
            const int64_t kc = std::min(block_depth, depth - pc);
            const bool first = pc == 0, last = pc + kc == depth;
            const int64_t needed = channels_through(pc + kc);
            if (needed > split_channels && !x_rows) {
                isa.split_rows(x_image_n + split_channels * g.in_size(), g, needed - split_channels, row + l.first_row,
                               rows + l.halo_rows, l.plane_stride, l.rows,
                               scratch.planes + split_channels * 4 * l.plane_stride);
                split_channels = needed;
            }
            RowsPrefetch next_channels(x, 0, 0, 0, 1);
            if (!last) {
                const int64_t next_needed = channels_through(std::min(depth, pc + kc + block_depth));
                next_channels = RowsPrefetch(
                    x_image_n + split_channels * g.in_size() + ih0 * g.in[2], next_needed - split_channels,
                    std::max<int64_t>(0, ih1 - ih0) * g.in[2] * static_cast<int64_t>(sizeof(float)),
                    g.in_size() * static_cast<int64_t>(sizeof(float)), calls);
            }
            for (int64_t t0 = 0; t0 < tiles; t0 += per_call) {
                const int64_t count = std::min(per_call, tiles - t0), q0 = begin + t0 * tile_columns;
                const uint32_t columns = t0 + count == tiles ? last_columns : ~uint32_t{0};
                const bool stream_y = stream && last && activation == nullptr;
                if (x_rows) {
                    // One depth block (at most 36 deep): first and last; all panels in one call.
                    const XRowTiles source{x_image_n, a.channels, g.in_size(), g.in[1], g.in[2], l.width,
                                           g.pad_begin[1], q0};
                    const XRowPanels weights{scratch.packed, panel_rows.first_rows.data(), panels, depth};
                    const int64_t at = n * y_image + q0;
                    isa.x_row_tiles(count, source, weights, bias, residual != nullptr ? residual + at : nullptr,
                                    positions, y + at, columns, relu, stream_y);
                }
                for (int64_t panel = 0; panel < panels; ++panel) {
                    const int64_t m0 = first_row(panel), panel_rows = first_row(panel + 1) - m0;
                    const int64_t at = n * y_image + m0 * positions + q0;
                    if (!x_rows) {
                        isa.tiles(count, l.tile_rows, l.tile_masks, kc, scratch.packed + m0 * depth + pc * panel_rows,
                                  scratch.planes + l.plane_position(q0 - row * l.width), l.offsets.data() + pc,
                                  l.shift_index.data() + pc, scratch.masks + t0 * l.tile_masks,
                                  bias != nullptr && first ? bias + m0 : nullptr,
                                  residual != nullptr && last ? residual + at : nullptr, positions, y + at,
                                  static_cast<int>(panel_rows), columns, relu && last, !first, stream_y,
                                  prefetch_columns);
                    }
                    if (activation != nullptr && last) {
                        activation(y + at, panel_rows, std::min(count * tile_columns, end - q0), positions, 1);
                    }
                    next_channels.step();
                    next_input.step();
                }
            }
        }
        if (stream) _mm_sfence();
    };
    const int64_t threads = cpu::thread_pool().thread_count();
    if (prefetch) {
        cpu::for_each_claimed_ahead(tasks, threads, start, run);
    } else {
        // Each thread its own share of the blocks first (for_each_claimed_affine): called again,
        // it rewrites outputs it holds in its own cache. MobileNet-v2's stem, batch 1, 2 threads,
        // same-process A/B in both orders (batches of 20 calls, real-time priority on a loaded
        // machine), median per call: 0.82-0.85 of the time of tasks claimed in turn; ResNet-18's
        // 7x7/2 stem 0.97-1.02, its 3x3/2 from 64 channels 0.95-1.04.
        cpu::for_each_claimed_affine(tasks, threads, start,
                                     [&](int64_t task, const Scratch& scratch) { run(task, tasks, scratch); });
    }
#else
    (void)a, (void)prepacked;
#endif
}

}  // namespace mln::kernels::phase_direct
