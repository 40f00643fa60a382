// AVX-512 pieces the depthwise files share: the 16 x 16 f32 transpose of the channel-blocked
// layout of conv_depthwise_blocked.hpp (each transposed row stored where its caller says) and the
// flat plane's column masks. For the AVX-512 depthwise files only.
// GCC 12 warns inside its own AVX-512 unpack intrinsics (a self-initialized undefined operand,
// GCC bug 105593); the pragma must precede the first inclusion of the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "kernels/cpu/common/transpose_avx512.hpp"
#include "kernels/cpu/conv/conv_depthwise_blocked.hpp"

namespace mln::kernels {
namespace {

// The channel-blocked layout's tile transposed in registers; f64 keeps the portable tile.
struct Avx512Tile {
    static void transpose_rows(const float* src, int64_t src_stride, float* const* dst_rows) {
        __m512 r[16];
        for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * src_stride);
        transpose16x16(r);
        for (int i = 0; i < 16; ++i) _mm512_storeu_ps(dst_rows[i], r[i]);
    }
    static void transpose_rows(const double* src, int64_t src_stride, double* const* dst_rows) {
        PortableTile::transpose_rows(src, src_stride, dst_rows);
    }
};

// The flat plane's column masks (a plane read as one row, 16 outputs a register across row ends
// of `width`): lane l of register r, tap column kw, is valid where (r * 16 + l) % width + kw -
// pad_w lies inside the row. They repeat every `period` = width / gcd(width, 16) registers:
// masks[r * 3 + kw] for r < period.
inline void build_flat_column_masks(int64_t width, int64_t period, int64_t pad_w, std::vector<__mmask16>& masks) {
    masks.resize(static_cast<size_t>(period * 3));
    for (int64_t r = 0; r < period; ++r) {
        for (int64_t kw = 0; kw < 3; ++kw) {
            __mmask16 valid = 0;
            for (int64_t lane = 0; lane < 16; ++lane) {
                const int64_t column = (r * 16 + lane) % width + kw - pad_w;
                if (column >= 0 && column < width) valid = static_cast<__mmask16>(valid | (1u << lane));
            }
            masks[static_cast<size_t>(r * 3 + kw)] = valid;
        }
    }
}

}  // namespace
}  // namespace mln::kernels
