// Compiled with AVX-512: the depthwise 3 x 3 filter gradient on the flat plane (stride 1, output
// rows as wide as the input's; conv_depthwise_3x3.hpp). The plane is read as one flat row, 16
// outputs a register across row ends: output p takes tap (kh, kw) from flat source position
// p + first_tap + kh width + kw. Each source row of a register is loaded once (16 columns, then
// the next 16, carried to the next register) and the kw = 1, 2 taps are that pair shifted by
// valignd, not three unaligned loads per row. A tap outside the source is masked out of the
// sums (not multiplied by a zero), so NaN and Inf reach exactly the sums of the reference twin.
#include "kernels/cpu/conv/conv_depthwise_filter_avx512.hpp"

#include <numeric>
#include <vector>

namespace mln::kernels::depthwise_filter {
namespace {

__mmask16 lanes_below(int64_t n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : n <= 0 ? 0u : (1u << n) - 1u); }
// Lanes i with begin <= i < end.
__mmask16 lanes_between(int64_t begin, int64_t end) {
    return static_cast<__mmask16>(lanes_below(end) & ~lanes_below(begin));
}

// The lane masks of a register near the plane's borders: tap[kh * 3 + kw] the lanes whose tap
// lies in the source (and whose output exists), load[kh][h] the lanes of the h-th 16 floats
// source row kh loads that lie in the plane, dy the outputs.
struct BorderRegister {
    __mmask16 tap[kTaps];
    __mmask16 load[3][2];
    __mmask16 dy;
};

// The flat plane of a stride-1 geometry with out width == in width. Lane masks of the three
// column taps repeat every `period` registers (width / gcd(width, 16)): column_masks[r * 3 + kw]
// holds the lanes of register r (mod period) whose tap column kw lies in the row. Registers
// [interior_begin, interior_end) have every tap row in the source for all 16 lanes and load
// inside the plane (unmasked); the others take their masks from borders (the first
// interior_begin registers, then those from interior_end).
struct FlatFilterPlane {
    int64_t width, size, first_tap, period, registers, interior_begin, interior_end;
    const __mmask16* column_masks;
    const BorderRegister* borders;

    // The masks of the last plane a thread built, kept for its next call: building them for a
    // 14 x 14 plane took half as long as the sums of the 16 channels a call gets.
    struct Cache {
        int64_t key[5] = {-1, -1, -1, -1, -1};
        std::vector<__mmask16> column_masks;
        std::vector<BorderRegister> borders;
    };

    FlatFilterPlane(const WindowGeometry& g, Cache& cache)
        : width(g.in[2]), size(g.out[1] * g.in[2]), registers((size + 15) / 16) {
        const int64_t pad_h = g.pad_begin[1], pad_w = g.pad_begin[2], src_rows = g.in[1], out_rows = g.out[1];
        const int64_t in_size = src_rows * width;
        first_tap = -pad_h * width - pad_w;
        // Tap row kh lies in the source for the outputs [row_begin[kh], row_end[kh]).
        int64_t row_begin[3], row_end[3];
        int64_t begin = 0, end = size;
        for (int64_t kh = 0; kh < 3; ++kh) {
            row_begin[kh] = std::clamp(pad_h - kh, int64_t{0}, out_rows) * width;
            row_end[kh] = std::max(row_begin[kh], std::clamp(src_rows + pad_h - kh, int64_t{0}, out_rows) * width);
            begin = std::max(begin, row_begin[kh]);
            end = std::min(end, row_end[kh]);
            // Loads from p + first_tap + kh width to 32 floats past it inside [0, in_size).
            const int64_t offset = first_tap + kh * width;
            begin = std::max(begin, -offset);
            end = std::min(end, in_size - offset - 16);
        }
        interior_begin = std::min(registers, (begin + 15) / 16);
        interior_end = std::clamp(end >= 16 ? (end - 16) / 16 + 1 : int64_t{0}, interior_begin, registers);

        period = width / std::gcd(width, int64_t{16});
        const int64_t key[5] = {width, src_rows, out_rows, pad_h, pad_w};
        if (!std::equal(key, key + 5, cache.key)) {
            build(pad_w, in_size, row_begin, row_end, cache);
            std::copy(key, key + 5, cache.key);
        }
        column_masks = cache.column_masks.data();
        borders = cache.borders.data();
    }

private:
    void build(int64_t pad_w, int64_t in_size, const int64_t* row_begin, const int64_t* row_end, Cache& storage) const {
        storage.column_masks.resize(static_cast<size_t>(period * 3));
        for (int64_t r = 0; r < period; ++r) {
            for (int64_t kw = 0; kw < 3; ++kw) {
                __mmask16 valid = 0;
                for (int64_t lane = 0; lane < 16; ++lane) {
                    const int64_t column = (r * 16 + lane) % width + kw - pad_w;
                    if (column >= 0 && column < width) valid = static_cast<__mmask16>(valid | (1u << lane));
                }
                storage.column_masks[static_cast<size_t>(r * 3 + kw)] = valid;
            }
        }
        storage.borders.clear();
        for (int64_t v = 0; v < registers; ++v) {
            if (v == interior_begin) v = interior_end;
            if (v == registers) break;
            const int64_t p = v * 16;
            const __mmask16* columns = storage.column_masks.data() + (v % period) * 3;
            BorderRegister b;
            b.dy = lanes_below(size - p);
            for (int64_t kh = 0; kh < 3; ++kh) {
                const __mmask16 rows = lanes_between(row_begin[kh] - p, row_end[kh] - p);
                for (int64_t kw = 0; kw < 3; ++kw) b.tap[kh * 3 + kw] = static_cast<__mmask16>(rows & columns[kw]);
                const int64_t at = p + first_tap + kh * width;
                b.load[kh][0] = lanes_between(-at, in_size - at);
                b.load[kh][1] = lanes_between(-at - 16, in_size - at - 16);
            }
            storage.borders.push_back(b);
        }
    }
};

// acc[kw] += d . (the pair (low, high) of one source row shifted by kw), on the lanes of m[kw].
inline void row_products(__m512 low, __m512 high, __m512 d, const __mmask16* m, __m512* acc) {
    const __m512i lo = _mm512_castps_si512(low), hi = _mm512_castps_si512(high);
    acc[0] = _mm512_mask3_fmadd_ps(low, d, acc[0], m[0]);
    acc[1] = _mm512_mask3_fmadd_ps(_mm512_castsi512_ps(_mm512_alignr_epi32(hi, lo, 1)), d, acc[1], m[1]);
    acc[2] = _mm512_mask3_fmadd_ps(_mm512_castsi512_ps(_mm512_alignr_epi32(hi, lo, 2)), d, acc[2], m[2]);
}

// The products of register v near the plane's borders, every load and tap masked (b).
inline void border_register_products(const float* x, const float* dy, const FlatFilterPlane& f, int64_t v,
                                     const BorderRegister& b, __m512* acc) {
    const int64_t p = v * 16;
    const __m512 d = _mm512_maskz_loadu_ps(b.dy, dy + p);
    for (int64_t kh = 0; kh < 3; ++kh) {
        const float* at = x + p + f.first_tap + kh * f.width;
        const __m512 low = _mm512_maskz_loadu_ps(b.load[kh][0], at);
        const __m512 high = _mm512_maskz_loadu_ps(b.load[kh][1], at + 16);
        row_products(low, high, d, b.tap + kh * 3, acc + kh * 3);
    }
}

// acc[tap] += dy . the source at the tap, over one plane.
void flat_plane_filter_sums(const float* x, const float* dy, const FlatFilterPlane& f, __m512* acc) {
    __m512 a[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) a[t] = acc[t];
    const int64_t interior_end = f.interior_end;
    const BorderRegister* border = f.borders;
    int64_t v = 0;
    for (; v < f.interior_begin; ++v) border_register_products(x, dy, f, v, *border++, a);
    if (v < interior_end) {
        int64_t r = v % f.period;
        const float* rows[3];
        __m512 low[3];
        for (int64_t kh = 0; kh < 3; ++kh) {
            rows[kh] = x + f.first_tap + kh * f.width;
            low[kh] = _mm512_loadu_ps(rows[kh] + v * 16);
        }
        for (; v < interior_end; ++v, r = r + 1 == f.period ? 0 : r + 1) {
            const int64_t p = v * 16;
            const __m512 d = _mm512_loadu_ps(dy + p);
            const __mmask16* m = f.column_masks + r * 3;
            for (int64_t kh = 0; kh < 3; ++kh) {
                const __m512 high = _mm512_loadu_ps(rows[kh] + p + 16);
                row_products(low[kh], high, d, m, a + kh * 3);
                low[kh] = high;
            }
        }
    }
    for (; v < f.registers; ++v) border_register_products(x, dy, f, v, *border++, a);
    for (int64_t t = 0; t < kTaps; ++t) acc[t] = a[t];
}

thread_local FlatFilterPlane::Cache t_flat_plane;

}  // namespace

void flat_filter_sums_avx512(const float* x, const float* dy, const WindowGeometry& g, const FilterSumsLayout& l,
                             int64_t channels, int64_t images, float* dw) {
    const FlatFilterPlane f(g, t_flat_plane);
    filter_sums_by_channel_groups(x, dy, l, channels, images, dw, [&](const float* xc, const float* dyc, __m512* acc) {
        flat_plane_filter_sums(xc, dyc, f, acc);
    });
}

}  // namespace mln::kernels::depthwise_filter
