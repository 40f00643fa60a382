// Compiled with AVX2 + FMA: the NCHW 3 x 3 depthwise kernels (conv_depthwise_3x3.hpp) of the
// forward at stride 1 and of backward data, by rows of 8-lane blocks. Stride 1, rows as wide as
// the input's, is one loop for both passes (backward data: the forward with the flipped filter
// over dy, pads 2 - the forward's), two output rows a step (the two source rows between them
// loaded once for both); stride 2 backward data makes the even and odd columns of a dx row from
// two shifted dy loads and interleaves them, two dx rows a step, as the AVX-512 file's. Blocks at
// the row ends take each tap on the lanes whose source lies in the row only (stride 1: plain loads,
// masked where they could leave the tensor, each filter column's sum over the source rows ANDed
// with the tap's lanes; stride 2: masked loads, the weights ANDed with the tap's lanes), so a NaN
// or Inf weight or neighbour reaches exactly the reference's outputs.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cpu/common/force_inline.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3.hpp"
#include "kernels/cpu/conv/conv_depthwise_3x3_stride2_data.hpp"

namespace mln::kernels {
namespace {

constexpr int64_t kTaps = 9;
constexpr int64_t kPrefetchBytes = int64_t{8} << 10;

// Lanes i with begin <= i < end, all ones where set.
__m256i lanes_between(int64_t begin, int64_t end) {
    alignas(32) int32_t lanes[8];
    for (int64_t i = 0; i < 8; ++i) lanes[i] = i >= begin && i < end ? -1 : 0;
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
}

bool all_lanes(__m256i m) { return _mm256_movemask_ps(_mm256_castsi256_ps(m)) == 0xFF; }

// w on the lanes of m, 0 on the others: a tap outside the source left out as a product 0 x 0
// with the masked load's 0 (w may be NaN or Inf): an AND a weight where blending each FMA back
// on the lanes of its mask took a blend a product.
MLN_ALWAYS_INLINE __m256 weight_on(__m256 w, __m256i m) { return _mm256_and_ps(w, _mm256_castsi256_ps(m)); }

template <bool Masked>
MLN_ALWAYS_INLINE __m256 load_on(const float* at, __m256i m) {
    if constexpr (Masked) return _mm256_maskload_ps(at, m);
    (void)m;
    return _mm256_loadu_ps(at);
}

// Masked: stored on the lanes of m, unless whole. Masked stores are slow on Zen 3: with every
// row's last block stored masked, MobileNet-v2 dw384 @ 14 (batch 1, one thread) ran as slow as
// the channel-blocked kernels; 0.62x their time with the blocks shifted to end at the row's end.
template <bool Masked>
MLN_ALWAYS_INLINE void store_on(float* at, __m256i m, bool whole, __m256 v) {
    if (Masked && !whole) {
        _mm256_maskstore_ps(at, m, v);
    } else {
        _mm256_storeu_ps(at, v);
    }
}

// A filter row's three weights, each in every lane.
struct RowWeights {
    __m256 w[3];
};

struct Filter {
    RowWeights rows[3];

    // flip: the filter turned half a circle (stride 1's transposed convolution).
    Filter(const float* taps, bool flip) {
        for (int64_t t = 0; t < kTaps; ++t) rows[t / 3].w[t % 3] = _mm256_set1_ps(taps[flip ? kTaps - 1 - t : t]);
    }
};

// plane(c, out) for each channel c, out its dx plane. Spill: on rows narrower than a block, a
// block stores all `reach` lanes, those past the row's end overwritten by the rows after it (and
// past the plane's end by the next channels' planes; the last planes, whose stores would pass the
// last plane's end, made in scratch and copied). Against masked stores: MobileNet-v2 dw960 @ 7
// (stride 1) 0.65x the time, dw576/2 @ 14 (stride 2) 0.4x (batch 1, one thread). Tests of
// which rows may spill in the plane's row loop instead made stride 1's rows of 8+ 1.07-1.09x slower.
template <class Plane>
void for_each_plane(int64_t channels, int64_t dx_size, bool spill, int64_t reach, float* dx, Plane&& plane) {
    std::vector<float> scratch(spill ? static_cast<size_t>(dx_size + reach) : 0);
    for (int64_t c = 0; c < channels; ++c) {
        const bool in_scratch = spill && (c + 1) * dx_size + reach > channels * dx_size;
        plane(c, in_scratch ? scratch.data() : dx + c * dx_size);
        if (in_scratch) std::copy(scratch.begin(), scratch.begin() + dx_size, dx + c * dx_size);
    }
}

// block(b, std::true_type) on the column blocks that need lane masks, block(b, std::false_type)
// on the interior ones.
template <class Block, class Each>
MLN_ALWAYS_INLINE void for_each_column_block(const std::vector<Block>& blocks, Each&& each) {
    for (const Block& b : blocks) {
        if (b.interior) {
            each(b, std::false_type{});
        } else {
            each(b, std::true_type{});
        }
    }
}

// ---- Stride 1: dst row r = bias + sum over kh, kw of w[kh][kw] src[r + kh - pad_h][j + kw - pad_w]
// (the forward: src x, dst y; backward data: src dy, dst dx, w flipped, pads 2 - the forward's). ----

// Eight dx columns from j0: tap[kw] the lanes whose dy column j0 + lane + kw - pad_w lies in the
// row and whose dx column in its row; keep[kw] those whose dy column lies in the row or whose dx
// column does not (a lane of rows < 8 stored past the row's end and overwritten, for_each_plane),
// zeroed the taps (bit kw) with a lane off in keep; interior: every tap lane on. The last block of
// a row of 8+ ends at the row's end (overlapping the one before), so that its store is whole.
struct Stride1Block {
    int64_t j0;
    __m256i tap[3];
    __m256 keep[3];
    int zeroed;
    bool interior;
};

std::vector<Stride1Block> stride1_blocks(int64_t width, int64_t pad_w) {
    std::vector<Stride1Block> blocks;
    blocks.reserve(static_cast<size_t>((width + 7) / 8));
    for (int64_t j0 = 0; j0 < width; j0 += 8) {
        Stride1Block b;
        b.j0 = width >= 8 ? std::min(j0, width - 8) : j0;
        b.interior = width - b.j0 >= 8;
        b.zeroed = 0;
        for (int64_t kw = 0; kw < 3; ++kw) {
            const int64_t first = b.j0 + kw - pad_w;  // lane 0's dy column
            b.tap[kw] = lanes_between(std::max(-first, int64_t{0}), std::min(width - first, width - b.j0));
            const __m256i keep = _mm256_or_si256(b.tap[kw], lanes_between(width - b.j0, 8));
            b.keep[kw] = _mm256_castsi256_ps(keep);
            b.interior = b.interior && all_lanes(b.tap[kw]);
            if (!all_lanes(keep)) b.zeroed |= 1 << kw;
        }
        blocks.push_back(b);
    }
    return blocks;
}

// How a block reads tap Kw's eight dy columns and leaves out the lanes whose column lies outside
// the row: MaskLoad, a masked load on the tap's lanes (a plane whose plain loads could leave the
// tensor); else a plain load (reading the neighbour row or plane). The tap's products summed over
// the source rows (a filter column) are then ANDed with the keep lanes where Zeroed has the tap
// (a tap without lanes outside the row has none outside its dst row either, the spilled lanes
// overwritten), which clears a neighbour's NaN or Inf and a NaN or Inf weight's products (times
// the masked load's 0 too) alike: one AND a column sum, where
// ANDing each load and each weight took about two a product. Against that (conv_vs_build, batch
// 1, one thread, vs main): dw384 and dw576 @ 14 0.91-0.92x the time (the other way round
// 1.13-1.14x), dw192 @ 28 0.95-0.98x, but dw960 @ 7 1.02-1.06x (0.96-0.97x). Against masked loads on
// every tap of a border block: dw384 and dw576 @ 14 0.8x the time, dw192 @ 28 0.86x, dw144 @ 56
// 0.9x.
template <int Zeroed, bool MaskLoad>
struct TapLanes {
    template <int Kw>
    static MLN_ALWAYS_INLINE __m256 load(const float* at, const Stride1Block& b) {
        if constexpr (MaskLoad) return _mm256_maskload_ps(at, b.tap[Kw]);
        (void)b;
        return _mm256_loadu_ps(at);
    }
    // Whether in_row clears lanes of tap Kw's sums (else a sum may start from the bias).
    template <int Kw>
    static constexpr bool clears = (Zeroed >> Kw & 1) != 0;
    template <int Kw>
    static MLN_ALWAYS_INLINE __m256 in_row(__m256 sum, const Stride1Block& b) {
        if constexpr (clears<Kw>) return _mm256_and_ps(sum, b.keep[Kw]);
        (void)b;
        return sum;
    }
};

// each(b, TapLanes<Zeroed, MaskLoad>{}) for a border block, its zeroed taps rounded up to {0},
// {2}, {0, 2} or all three (ANDs with all lanes on where a tap needs none), the shapes of pad 1.
template <bool MaskLoad, class Each>
MLN_ALWAYS_INLINE void each_zeroed(const Stride1Block& b, Each&& each) {
    if (b.zeroed == 0) {
        each(b, TapLanes<0, MaskLoad>{});
    } else if (b.zeroed == 1) {
        each(b, TapLanes<1, MaskLoad>{});
    } else if (b.zeroed == 4) {
        each(b, TapLanes<4, MaskLoad>{});
    } else if (b.zeroed == 5) {
        each(b, TapLanes<5, MaskLoad>{});
    } else {
        each(b, TapLanes<7, MaskLoad>{});
    }
}

// each(b, TapLanes<...>{}) on each block: guarded, the plane's plain loads could leave the tensor
// (masked loads, the same sums: a plane's bits do not depend on where a call's channels begin
// and end).
template <class Each>
MLN_ALWAYS_INLINE void for_each_stride1_block(const std::vector<Stride1Block>& blocks, bool guarded, Each&& each) {
    for (const Stride1Block& b : blocks) {
        if (b.interior || (!guarded && b.zeroed == 0)) {
            each(b, TapLanes<0, false>{});
        } else if (guarded) {
            each_zeroed<true>(b, each);
        } else {
            each_zeroed<false>(b, each);
        }
    }
}

// Filter column Kw's taps over Rows consecutive source rows (the first at `at`, its lane 0's
// first tap; filter rows from w[0]) added to sum for a block, the lanes outside the row cleared
// first. The middle column (Kw 1, lanes never cleared at pad 1) chains from sum itself.
template <class Lanes, int Kw, int Rows>
MLN_ALWAYS_INLINE __m256 stride1_column_sum(const float* at, int64_t width, const RowWeights* w, const Stride1Block& b,
                                            __m256 sum) {
    constexpr bool kFromSum = Kw == 1 && !Lanes::template clears<Kw>;
    const __m256 first = Lanes::template load<Kw>(at + Kw, b);
    __m256 column = kFromSum ? _mm256_fmadd_ps(first, w[0].w[Kw], sum) : _mm256_mul_ps(first, w[0].w[Kw]);
    for (int k = 1; k < Rows; ++k) {
        column = _mm256_fmadd_ps(Lanes::template load<Kw>(at + k * width + Kw, b), w[k].w[Kw], column);
    }
    if constexpr (kFromSum) return column;
    return _mm256_add_ps(sum, Lanes::template in_row<Kw>(column, b));
}

// One dx row from Rows consecutive dy rows (the first at `rows`, filter rows from w[0]).
template <int Rows>
MLN_ALWAYS_INLINE void stride1_row(const float* rows, const RowWeights* w, __m256 bias, int64_t width, int64_t pad_w,
                                   const std::vector<Stride1Block>& blocks, bool guarded, float* dx_row) {
    auto block = [&](const Stride1Block& b, auto lanes) MLN_LAMBDA_ALWAYS_INLINE {
        using Lanes = decltype(lanes);
        const float* at = rows + b.j0 - pad_w;
        __m256 sum = stride1_column_sum<Lanes, 1, Rows>(at, width, w, b, bias);
        sum = stride1_column_sum<Lanes, 0, Rows>(at, width, w, b, sum);
        _mm256_storeu_ps(dx_row + b.j0, stride1_column_sum<Lanes, 2, Rows>(at, width, w, b, sum));
    };
    for_each_stride1_block(blocks, guarded, block);
}

// dx rows r and r + 1 from dy rows s .. s + 3 (`rows` at s), a filter column at a time, the
// column's four loads made once for both rows. Against stride1_column_sum for each row (its
// loads repeated, 18 a block of 12): dw960 @ 7 and dw192 @ 28 0.94-0.96x the time; against the
// same sums over arrays of rows and loads (one template for this and stride1_row): 0.83-0.87x
// on the @ 7 to @ 28 layers (the kernel alone in one process, batch 1).
MLN_ALWAYS_INLINE void stride1_row_pair(const float* rows, const Filter& f, __m256 bias, int64_t width, int64_t pad_w,
                                        const std::vector<Stride1Block>& blocks, bool guarded, float* dx_row) {
    auto block = [&](const Stride1Block& b, auto lanes) MLN_LAMBDA_ALWAYS_INLINE {
        using Lanes = decltype(lanes);
        const float* at = rows + b.j0 - pad_w;
        const RowWeights* w = f.rows;
        __m256 upper = bias, lower = bias;
        auto column = [&](auto kw) MLN_LAMBDA_ALWAYS_INLINE {
            constexpr int Kw = decltype(kw)::value;
            constexpr bool kFromSum = Kw == 1 && !Lanes::template clears<Kw>;
            const __m256 v0 = Lanes::template load<Kw>(at + Kw, b);
            const __m256 v1 = Lanes::template load<Kw>(at + width + Kw, b);
            const __m256 v2 = Lanes::template load<Kw>(at + 2 * width + Kw, b);
            const __m256 v3 = Lanes::template load<Kw>(at + 3 * width + Kw, b);
            __m256 u = kFromSum ? _mm256_fmadd_ps(v0, w[0].w[Kw], upper) : _mm256_mul_ps(v0, w[0].w[Kw]);
            __m256 l = kFromSum ? _mm256_fmadd_ps(v1, w[0].w[Kw], lower) : _mm256_mul_ps(v1, w[0].w[Kw]);
            u = _mm256_fmadd_ps(v2, w[2].w[Kw], _mm256_fmadd_ps(v1, w[1].w[Kw], u));
            l = _mm256_fmadd_ps(v3, w[2].w[Kw], _mm256_fmadd_ps(v2, w[1].w[Kw], l));
            upper = kFromSum ? u : _mm256_add_ps(upper, Lanes::template in_row<Kw>(u, b));
            lower = kFromSum ? l : _mm256_add_ps(lower, Lanes::template in_row<Kw>(l, b));
        };
        column(std::integral_constant<int, 1>{});
        column(std::integral_constant<int, 0>{});
        column(std::integral_constant<int, 2>{});
        _mm256_storeu_ps(dx_row + b.j0, upper);
        _mm256_storeu_ps(dx_row + width + b.j0, lower);
    };
    for_each_stride1_block(blocks, guarded, block);
}

// One channel's dst plane at stride 1 (src and dst planes of their own rows, both width wide).
void stride1_plane(const float* dy, const Filter& f, float bias, int64_t dy_rows, int64_t dx_rows, int64_t width,
                   int64_t pad_h, int64_t pad_w, const std::vector<Stride1Block>& blocks, bool guarded, float* dx) {
    const __m256 b = _mm256_set1_ps(bias);
    for (int64_t r = 0; r < dx_rows;) {
        // Filter rows [first, last] have their dy row r + kh - pad_h in the plane.
        const int64_t first = std::max(pad_h - r, int64_t{0});
        const int64_t last = std::min(dy_rows - 1 - r + pad_h, int64_t{2});
        float* dx_row = dx + r * width;
        if (first == 0 && last == 2 && r + 1 < dx_rows && r + 3 - pad_h < dy_rows) {
            // Pairs while both rows have all three dy rows, in a counted loop.
            const int64_t pairs = std::min((dx_rows - r) / 2, (dy_rows - (r + 3 - pad_h) + 1) / 2);
            for (int64_t k = 0; k < pairs; ++k, r += 2) {
                const float* source = dy + (r - pad_h) * width;
                // The two rows the step advances, 8 KiB ahead (past a small plane: the next
                // channels', which the hardware prefetchers did not fetch). Forward, batch 32, 2
                // threads: without it dw384 and dw576 @ 14 ran 1.4-1.6x slower, dw960 @ 7 1.2x;
                // 8 KiB against the rows just after the step's: dw144 @ 56 and dw192 @ 28 0.9x.
                prefetch_lines(reinterpret_cast<const char*>(source) + kPrefetchBytes,
                               2 * width * static_cast<int64_t>(sizeof(float)));
                stride1_row_pair(source, f, b, width, pad_w, blocks, guarded, dx + r * width);
            }
            continue;
        }
        const float* rows = dy + (r + first - pad_h) * width;
        switch (last - first) {
            case 2: stride1_row<3>(rows, f.rows + first, b, width, pad_w, blocks, guarded, dx_row); break;
            case 1: stride1_row<2>(rows, f.rows + first, b, width, pad_w, blocks, guarded, dx_row); break;
            case 0: stride1_row<1>(rows, f.rows + first, b, width, pad_w, blocks, guarded, dx_row); break;
            default: std::fill(dx_row, dx_row + width, bias); break;
        }
        ++r;
    }
}

// ---- Stride 2 x 2: blocks of 16 dx columns, two shifted loads of a dy row for all three taps
// (conv_depthwise_3x3_stride2_data.hpp), the even and odd registers then interleaved. Rows
// likewise: dx row i takes tap row kh from dy row (i + pad - kh) / 2 where whole and inside. ----

// One block of 16 dx columns: near/far the lanes whose dy column (o0 + i, + far) lies in the
// row, low/high the dx columns of the two stored registers (whole: both full); interior: all
// four full. The last block of a row of 16+ ends at the row's end (or one past where that is
// odd), overlapping the one before, so that its stores are whole.
struct Stride2Block {
    int64_t o0;
    __m256i near, far, low, high;
    bool whole, interior;
};

// spill: on rows of < 16 a block stores all 16 lanes (for_each_plane).
std::vector<Stride2Block> stride2_blocks(int64_t dy_width, int64_t dx_width, int64_t base, int64_t far, bool spill) {
    std::vector<Stride2Block> blocks;
    blocks.reserve(static_cast<size_t>((dx_width + 15) / 16));
    for (int64_t j0 = 0; j0 < dx_width; j0 += 16) {
        Stride2Block b;
        const int64_t start = dx_width >= 16 ? std::min(j0, (dx_width - 15) / 2 * 2) : j0;
        b.o0 = start / 2 + base;
        b.near = lanes_between(-b.o0, dy_width - b.o0);
        b.far = lanes_between(-(b.o0 + far), dy_width - (b.o0 + far));
        b.low = lanes_between(0, dx_width - start);
        b.high = lanes_between(0, dx_width - start - 8);
        b.whole = spill || (all_lanes(b.low) && all_lanes(b.high));
        b.interior = all_lanes(b.near) && all_lanes(b.far) && b.whole;
        blocks.push_back(b);
    }
    return blocks;
}

// A dy row's two loads for a block (row: the dy row at the block's column o0).
struct DyLoads {
    __m256 near_v, far_v;
};

template <bool OddPad, bool Masked>
MLN_ALWAYS_INLINE DyLoads stride2_loads(const float* row, const Stride2Block& b) {
    constexpr int64_t far = OddPad ? 1 : -1;
    return {load_on<Masked>(row, b.near), load_on<Masked>(row + far, b.far)};
}

// even/odd += a dy row's taps (filter row rw) for a block.
template <bool OddPad, bool Masked>
MLN_ALWAYS_INLINE void stride2_taps(const DyLoads& v, const RowWeights& rw, const Stride2Block& b, __m256& even,
                                    __m256& odd) {
    auto fma_on = [](__m256i m) MLN_LAMBDA_ALWAYS_INLINE {
        return [m](__m256 x, __m256 wk, __m256 acc) MLN_LAMBDA_ALWAYS_INLINE {
            return _mm256_fmadd_ps(x, Masked ? weight_on(wk, m) : wk, acc);
        };
    };
    stride2_data_taps_of<OddPad>(v.near_v, v.far_v, rw.w, even, odd, fma_on(b.near), fma_on(b.far));
}

// dx[0..15] = the even and odd columns interleaved: unpacklo/hi interleave within each 128-bit
// half (columns 0-3 and 8-11, 4-7 and 12-15), permute2f128 puts the halves in order.
template <bool Masked>
MLN_ALWAYS_INLINE void stride2_store(__m256 even, __m256 odd, const Stride2Block& b, float* dx) {
    const __m256 lo = _mm256_unpacklo_ps(even, odd), hi = _mm256_unpackhi_ps(even, odd);
    store_on<Masked>(dx, b.low, b.whole, _mm256_permute2f128_ps(lo, hi, 0x20));
    store_on<Masked>(dx + 8, b.high, b.whole, _mm256_permute2f128_ps(lo, hi, 0x31));
}

// One dx row from the dy rows a (filter row wa) and, when Two, c (wc).
template <bool OddPad, bool Two>
MLN_ALWAYS_INLINE void stride2_row(const float* a, const RowWeights& wa, const float* c, const RowWeights& wc,
                                   const std::vector<Stride2Block>& blocks, int64_t base, float* dx_row) {
    auto block = [&](const Stride2Block& b, auto masked) MLN_LAMBDA_ALWAYS_INLINE {
        constexpr bool Masked = decltype(masked)::value;
        __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();
        stride2_taps<OddPad, Masked>(stride2_loads<OddPad, Masked>(a + b.o0, b), wa, b, even, odd);
        if constexpr (Two) stride2_taps<OddPad, Masked>(stride2_loads<OddPad, Masked>(c + b.o0, b), wc, b, even, odd);
        stride2_store<Masked>(even, odd, b, dx_row + 2 * (b.o0 - base));
    };
    for_each_column_block(blocks, block);
}

// Two dx rows: row i takes filter row 1 from dy row m alone, row i + 1 filter rows 2 (dy row m)
// and 0 (dy row m + 1); each dy row loaded once for both.
template <bool OddPad>
MLN_ALWAYS_INLINE void stride2_row_pair(const float* m, const Filter& f, int64_t dy_width,
                                        const std::vector<Stride2Block>& blocks, int64_t base, int64_t dx_width,
                                        float* dx_row) {
    auto block = [&](const Stride2Block& b, auto masked) MLN_LAMBDA_ALWAYS_INLINE {
        constexpr bool Masked = decltype(masked)::value;
        const DyLoads upper = stride2_loads<OddPad, Masked>(m + b.o0, b);
        const DyLoads lower = stride2_loads<OddPad, Masked>(m + dy_width + b.o0, b);
        float* dx = dx_row + 2 * (b.o0 - base);
        __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();
        stride2_taps<OddPad, Masked>(upper, f.rows[1], b, even, odd);
        stride2_store<Masked>(even, odd, b, dx);
        even = _mm256_setzero_ps();
        odd = _mm256_setzero_ps();
        stride2_taps<OddPad, Masked>(upper, f.rows[2], b, even, odd);
        stride2_taps<OddPad, Masked>(lower, f.rows[0], b, even, odd);
        stride2_store<Masked>(even, odd, b, dx + dx_width);
    };
    for_each_column_block(blocks, block);
}

template <bool OddPad>
void stride2_backward_data_plane(const float* dy, const Filter& f, const WindowGeometry& g,
                                 const std::vector<Stride2Block>& blocks, int64_t base, float* dx) {
    const int64_t dy_width = g.out[2], dx_width = g.in[2], dy_rows = g.out[1], dx_rows = g.in[1];
    auto dy_row = [&](int64_t i, int64_t kh) { return stride2_dy_row(dy, g, i, kh); };
    for (int64_t i = 0; i < dx_rows;) {
        float* dx_row = dx + i * dx_width;
        const float* top = dy_row(i, 0);
        const float* middle = dy_row(i, 1);
        const float* bottom = dy_row(i, 2);
        if (middle != nullptr && i + 1 < dx_rows && middle + dy_width == dy_row(i + 1, 0)) {
            // Pairs follow each other while both rows exist and the lower dy row does.
            const int64_t m = (middle - dy) / dy_width;
            const int64_t pairs = std::min((dx_rows - i) / 2, dy_rows - 1 - m);
            for (int64_t k = 0; k < pairs; ++k, i += 2) {
                stride2_row_pair<OddPad>(middle + k * dy_width, f, dy_width, blocks, base, dx_width, dx + i * dx_width);
            }
            continue;
        }
        if (middle != nullptr) {
            stride2_row<OddPad, false>(middle, f.rows[1], middle, f.rows[1], blocks, base, dx_row);
        } else if (top != nullptr && bottom != nullptr) {
            stride2_row<OddPad, true>(top, f.rows[0], bottom, f.rows[2], blocks, base, dx_row);
        } else if (top != nullptr) {
            stride2_row<OddPad, false>(top, f.rows[0], top, f.rows[0], blocks, base, dx_row);
        } else if (bottom != nullptr) {
            stride2_row<OddPad, false>(bottom, f.rows[2], bottom, f.rows[2], blocks, base, dx_row);
        } else {
            std::fill(dx_row, dx_row + dx_width, 0.0f);
        }
        ++i;
    }
}

// dst planes (dst_rows x width) = bias + the window sums of the src planes (src_rows x width),
// rows and columns read from (i - pad): the forward, or with the filter flipped and pads 2 - the
// forward's, backward data.
void stride1_planes(const float* src, const float* w, const float* bias, bool flip, int64_t src_rows, int64_t dst_rows,
                    int64_t width, int64_t pad_h, int64_t pad_w, int64_t channels, float* dst) {
    const int64_t src_size = src_rows * width, dst_size = dst_rows * width;
    if (dst_size == 0) return;
    const bool spill = width < 8;
    const std::vector<Stride1Block> blocks = stride1_blocks(width, pad_w);
    for_each_plane(channels, dst_size, spill, 8, dst, [&](int64_t c, float* out) {
        // A plane's loads reach from pad_w (<= 2) before its start to 10 past its end.
        const bool guarded = c * src_size < 2 || (c + 1) * src_size + 10 > channels * src_size;
        stride1_plane(src + c * src_size, Filter(w + c * kTaps, flip), bias != nullptr ? bias[c] : 0.0f, src_rows,
                      dst_rows, width, pad_h, pad_w, blocks, guarded, out);
    });
}

}  // namespace

void conv_depthwise_3x3_forward_avx2(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                     int64_t channels, float* y) {
    // Small planes eight channels at a time (conv_depthwise_3x3_forward_channel_minor_avx2.cpp).
    if (depthwise_3x3_channel_minor_forward_fits(g)) {
        return conv_depthwise_3x3_forward_channel_minor_avx2(x, w, bias, g, channels, y);
    }
    if (g.stride[1] == 2) return conv_depthwise_3x3_forward_stride2_avx2(x, w, bias, g, channels, y);
    stride1_planes(x, w, bias, false, g.in[1], g.out[1], g.in[2], g.pad_begin[1], g.pad_begin[2], channels, y);
}

void conv_depthwise_3x3_backward_data_avx2(const float* dy, const float* w, const WindowGeometry& g, int64_t channels,
                                           float* dx) {
    const int64_t dx_size = g.in_size(), dy_size = g.out_size();
    if (dx_size == 0) return;
    if (g.stride[1] == 1 && g.stride[2] == 1) {
        // The transposed convolution: dy read from (i - (2 - pad)) in each axis.
        stride1_planes(dy, w, nullptr, true, g.out[1], g.in[1], g.in[2], 2 - g.pad_begin[1], 2 - g.pad_begin[2],
                       channels, dx);
        return;
    }
    const int64_t pad_w = g.pad_begin[2];
    const bool odd_pad = pad_w % 2 != 0;
    const int64_t base = odd_pad ? (pad_w - 1) / 2 : pad_w / 2;
    const bool spill = g.in[2] < 16;
    const std::vector<Stride2Block> blocks = stride2_blocks(g.out[2], g.in[2], base, odd_pad ? 1 : -1, spill);
    for_each_plane(channels, dx_size, spill, 16, dx, [&](int64_t c, float* out) {
        const Filter f(w + c * kTaps, false);
        if (odd_pad) {
            stride2_backward_data_plane<true>(dy + c * dy_size, f, g, blocks, base, out);
        } else {
            stride2_backward_data_plane<false>(dy + c * dy_size, f, g, blocks, base, out);
        }
    });
}

}  // namespace mln::kernels
