#include "kernels/cpu/conv/conv_shallow_direct.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_lowering.hpp"
#include "kernels/cpu/gemm/gemm_epilogue.hpp"

namespace mln::kernels::shallow_direct {
namespace {

// Tiles per task at batch 1: 256 positions, about 50 tasks for a 112x112 output.
constexpr int64_t kTilesPerTask = 8;
// Guard elements before and after the planes: lanes outside a mask may point there (never read).
constexpr int64_t kGuard = 64;

// Per-thread scratch (thread_scratch.hpp).
struct SharedPlanes;
struct ImagePlanes;
struct TileMasks;

// The layout of one image's padded planes and, per depth row, where its tap reads them.
struct Layout {
    int64_t width, first_row, rows, plane_stride, image_size;
    int64_t shift_min;                   // the smallest column shift (a tap's floor((kw - pad) / 2))
    std::vector<int32_t> offsets;        // per depth row: from the tile's position q in the image's planes
    std::vector<uint8_t> shift_index;    // per depth row: its column shift - shift_min
    int64_t shifts;                      // distinct column shifts
};

Layout layout_of(const ConvArgs& a, int64_t depth) {
    const WindowGeometry& g = a.geometry;
    Layout l;
    l.width = g.out[2];
    // Tap row th = kh - pad reads plane row oh + floor(th / 2): rows [floor(-pad / 2),
    // out + floor((k - 1 - pad) / 2)) hold every row a tap reads; those outside the image are zeros.
    const int64_t row_min = (-g.pad_begin[1]) >> 1, row_max = (g.kernel[1] - 1 - g.pad_begin[1]) >> 1;
    l.first_row = std::min<int64_t>(0, row_min);
    l.rows = g.out[1] + std::max<int64_t>(0, row_max) - l.first_row;
    l.plane_stride = round_up(l.rows * l.width, 16);
    l.image_size = a.channels * 4 * l.plane_stride;
    l.shift_min = (-g.pad_begin[2]) >> 1;
    l.shifts = ((g.kernel[2] - 1 - g.pad_begin[2]) >> 1) - l.shift_min + 1;
    l.offsets.resize(static_cast<size_t>(depth));
    l.shift_index.resize(static_cast<size_t>(depth));
    for (int64_t p = 0; p < depth; ++p) {
        const int64_t kw = p % g.kernel[2], kh = p / g.kernel[2] % g.kernel[1], c = p / g.kernel_size();
        const int64_t th = kh - g.pad_begin[1], tw = kw - g.pad_begin[2];
        const int64_t plane = c * 4 + (th & 1) * 2 + (tw & 1);
        l.offsets[static_cast<size_t>(p)] =
            static_cast<int32_t>(plane * l.plane_stride + ((th >> 1) - l.first_row) * l.width + (tw >> 1));
        l.shift_index[static_cast<size_t>(p)] = static_cast<uint8_t>((tw >> 1) - l.shift_min);
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

}  // namespace

bool applies(const ConvArgs& a) {
#if defined(MYELIN_X86_64_KERNELS)
    const WindowGeometry& g = a.geometry;
    const int64_t depth = a.channels / a.groups * g.kernel_size();
    const int64_t shifts = ((g.kernel[2] - 1 - g.pad_begin[2]) >> 1) - ((-g.pad_begin[2]) >> 1) + 1;
    // Offsets are int32: the planes of one image stay far below 2^31 elements.
    return cpu::active_isa() == MLN_ISA_AVX512 && a.groups == 1 && depth > 0 && depth <= kMaxDepth &&
           phase_planes_apply(g) && shifts <= 64 && a.channels * 4 * (g.out[1] + g.kernel[1]) * g.out[2] < (int64_t{1} << 30);
#else
    (void)a;
    return false;
#endif
}

void conv_forward(const ConvArgs& a) {
#if defined(MYELIN_X86_64_KERNELS)
    const WindowGeometry& g = a.geometry;
    const int64_t depth = a.channels * g.kernel_size();
    const int64_t positions = g.out_size();
    const int64_t panels = ceil_div(a.out_channels, kTileRows);
    const int64_t tiles = ceil_div(positions, kTileColumns);
    const Layout l = layout_of(a, depth);
    // Weights as depth x 8 panels (rows past out_channels zero), bias padded to the panels.
    std::vector<float> packed(static_cast<size_t>(panels * depth * kTileRows), 0.0f);
    std::vector<float> bias(static_cast<size_t>(panels * kTileRows), 0.0f);
    const float* w = static_cast<const float*>(a.w.data);
    for (int64_t m = 0; m < a.out_channels; ++m) {
        float* panel = packed.data() + m / kTileRows * depth * kTileRows + m % kTileRows;
        for (int64_t p = 0; p < depth; ++p) panel[p * kTileRows] = w[m * depth + p];
    }
    if (a.has_bias) std::copy_n(static_cast<const float*>(a.bias.data), a.out_channels, bias.begin());
    const bool relu = a.activation == MLN_UNARY_OP_RELU;
    const GemmActivation<float> activation = relu ? nullptr : select_gemm_activation<float>(a.activation);
    const float* x = static_cast<const float*>(a.x.data);
    const float* residual = a.has_residual ? static_cast<const float*>(a.residual.data) : nullptr;
    float* y = static_cast<float*>(a.y.data);
    const int64_t y_image = a.out_channels * positions;

    // Tiles [first, last) of image n, reading its planes.
    auto run_tiles = [&](int64_t n, const float* planes, int64_t first, int64_t last, uint32_t* masks) {
        for (int64_t tile = first; tile < last; ++tile) {
            const int64_t q0 = tile * kTileColumns;
            const int64_t cols = std::min<int64_t>(kTileColumns, positions - q0);
            tile_masks(l, q0, cols, masks);
            const uint32_t columns = cols == kTileColumns ? ~uint32_t{0} : (uint32_t{1} << cols) - 1;
            for (int64_t panel = 0; panel < panels; ++panel) {
                const int rows = static_cast<int>(std::min<int64_t>(kTileRows, a.out_channels - panel * kTileRows));
                const int64_t at = n * y_image + panel * kTileRows * positions + q0;
                shallow_direct_tile_avx512(depth, packed.data() + panel * depth * kTileRows, planes + q0,
                                           l.offsets.data(), l.shift_index.data(), masks, a.has_bias ? bias.data() + panel * kTileRows : nullptr,
                                           residual != nullptr ? residual + at : nullptr, positions, y + at, rows,
                                           columns, relu);
                if (activation != nullptr) activation(y + at, rows, cols, positions, 1);
            }
        }
    };
    auto masks_buffer = [&] {
        std::vector<uint32_t>& masks = thread_buffer<uint32_t, TileMasks>();
        masks.resize(static_cast<size_t>(l.shifts));
        return masks.data();
    };
    // Plane rows [first, first + rows) of every channel of image x_image into planes.
    auto split = [&](const float* x_image, int64_t channels, int64_t first, int64_t rows, float* planes) {
        split_phase_planes_rows_avx512(x_image, g, channels, l.first_row + first, rows, l.plane_stride,
                                       planes + first * l.width);
    };
    const int64_t threads = cpu::thread_pool().thread_count();
    if (a.batch >= threads) {
        cpu::for_each_claimed(
            a.batch, threads,
            [&] {
                std::vector<float>& buffer = thread_buffer<float, ImagePlanes>();
                buffer.resize(static_cast<size_t>(l.image_size + 2 * kGuard));
                return std::make_pair(buffer.data() + kGuard, masks_buffer());
            },
            [&](int64_t n, const std::pair<float*, uint32_t*>& scratch) {
                split(x + n * a.channels * g.in_size(), a.channels, 0, l.rows, scratch.first);
                run_tiles(n, scratch.first, 0, tiles, scratch.second);
            });
        return;
    }
    // Fewer images than threads: their planes split by all threads (bands of 16 rows of a
    // channel), then tasks of kTilesPerTask tiles.
    std::vector<float>& buffer = thread_buffer<float, SharedPlanes>();
    buffer.resize(static_cast<size_t>(a.batch * l.image_size + 2 * kGuard));
    float* const planes = buffer.data() + kGuard;
    constexpr int64_t kBandRows = 16;
    const int64_t bands = ceil_div(l.rows, kBandRows);
    cpu::parallel_for(a.batch * a.channels * bands, 1, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t band = task % bands, channel = task / bands;  // channel over the batch
            const int64_t first = band * kBandRows;
            split(x + channel * g.in_size(), 1, first, std::min(kBandRows, l.rows - first),
                  planes + channel * 4 * l.plane_stride);
        }
    });
    const int64_t blocks = ceil_div(tiles, kTilesPerTask);
    cpu::for_each_claimed(a.batch * blocks, threads, masks_buffer, [&](int64_t task, uint32_t* masks) {
        const int64_t n = task / blocks, block = task % blocks;
        run_tiles(n, planes + n * l.image_size, block * kTilesPerTask, std::min(tiles, (block + 1) * kTilesPerTask),
                  masks);
    });
#else
    (void)a;
#endif
}

}  // namespace mln::kernels::shallow_direct
