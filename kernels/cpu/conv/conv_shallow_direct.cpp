#include "kernels/cpu/conv/conv_shallow_direct.hpp"

#include <algorithm>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_lowering.hpp"
#include "kernels/cpu/gemm/gemm_epilogue.hpp"

namespace mln::kernels::shallow_direct {
namespace {

// Output positions per task (a band of whole output rows): 7 rows of a 112-wide stem output,
// 16 bands per image.
constexpr int64_t kBandPositions = 768;
// Guard elements before and after the planes: lanes outside a mask may point there (never read).
constexpr int64_t kGuard = 64;

// Per-thread scratch (thread_scratch.hpp).
struct BandPlanes;
struct TileMasks;

// Bands of output rows and their planes, and per depth row where its tap reads them.
struct Layout {
    int64_t width, band_rows, bands;
    int64_t first_row;     // the plane row above a band's first output row that its taps read first
    int64_t plane_rows;    // plane rows a band's taps read: band_rows plus the rows above and below
    int64_t plane_stride;  // elements per plane of a band
    int64_t shift_min;     // the smallest column shift (a tap's floor((kw - pad) / 2))
    int64_t shifts;        // distinct column shifts
    std::vector<int32_t> offsets;      // per depth row: from the tile's position in its band's planes
    std::vector<uint8_t> shift_index;  // per depth row: its column shift - shift_min
};

Layout layout_of(const ConvArgs& a, int64_t depth) {
    const WindowGeometry& g = a.geometry;
    Layout l;
    l.width = g.out[2];
    l.band_rows = std::clamp<int64_t>(kBandPositions / l.width, 1, g.out[1]);
    l.bands = ceil_div(g.out[1], l.band_rows);
    // Tap row th = kh - pad reads plane row oh + floor(th / 2): a band of rows [r, r + band_rows)
    // reads plane rows [r + floor(-pad / 2), r + band_rows + floor((k - 1 - pad) / 2)); those
    // outside the image are zeros.
    const int64_t row_min = (-g.pad_begin[1]) >> 1, row_max = (g.kernel[1] - 1 - g.pad_begin[1]) >> 1;
    l.first_row = std::min<int64_t>(0, row_min);
    l.plane_rows = l.band_rows + std::max<int64_t>(0, row_max) - l.first_row;
    l.plane_stride = round_up(l.plane_rows * l.width, 16);
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
    // Offsets are int32: a band's planes stay far below 2^31 elements.
    return cpu::active_isa() == MLN_ISA_AVX512 && a.groups == 1 && depth > 0 && depth <= kMaxDepth &&
           phase_planes_apply(g) && shifts <= 32 &&
           a.channels * 4 * (kBandPositions + (g.kernel[1] + 2) * g.out[2]) < (int64_t{1} << 30);
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
    const int64_t band_planes_size = a.channels * 4 * l.plane_stride;

    // One task: a band of output rows of image n, from its own planes (split here: no pass over
    // the whole input first, and the planes stay in L1/L2 while its tiles read them).
    struct Scratch {
        float* planes;
        uint32_t* masks;
    };
    cpu::for_each_claimed(
        a.batch * l.bands, cpu::thread_pool().thread_count(),
        [&] {
            std::vector<float>& planes = thread_buffer<float, BandPlanes>();
            planes.resize(static_cast<size_t>(band_planes_size + 2 * kGuard));
            std::vector<uint32_t>& masks = thread_buffer<uint32_t, TileMasks>();
            masks.resize(static_cast<size_t>(l.shifts));
            return Scratch{planes.data() + kGuard, masks.data()};
        },
        [&](int64_t task, const Scratch& scratch) {
            const int64_t n = task / l.bands, row = task % l.bands * l.band_rows;
            const int64_t rows = std::min(l.band_rows, g.out[1] - row);
            split_phase_planes_rows_avx512(x + n * a.channels * g.in_size(), g, a.channels, row + l.first_row,
                                           rows + l.plane_rows - l.band_rows, l.plane_stride, scratch.planes);
            const int64_t band_begin = row * l.width, band_end = (row + rows) * l.width;
            for (int64_t q0 = band_begin; q0 < band_end; q0 += kTileColumns) {
                const int64_t cols = std::min<int64_t>(kTileColumns, band_end - q0);
                tile_masks(l, q0, cols, scratch.masks);
                const uint32_t columns = cols == kTileColumns ? ~uint32_t{0} : (uint32_t{1} << cols) - 1;
                for (int64_t panel = 0; panel < panels; ++panel) {
                    const int panel_rows = static_cast<int>(std::min<int64_t>(kTileRows, a.out_channels - panel * kTileRows));
                    const int64_t at = n * y_image + panel * kTileRows * positions + q0;
                    shallow_direct_tile_avx512(depth, packed.data() + panel * depth * kTileRows,
                                               scratch.planes + (q0 - band_begin), l.offsets.data(),
                                               l.shift_index.data(), scratch.masks,
                                               a.has_bias ? bias.data() + panel * kTileRows : nullptr,
                                               residual != nullptr ? residual + at : nullptr, positions, y + at,
                                               panel_rows, columns, relu);
                    if (activation != nullptr) activation(y + at, panel_rows, cols, positions, 1);
                }
            }
        });
#else
    (void)a;
#endif
}

}  // namespace mln::kernels::shallow_direct
