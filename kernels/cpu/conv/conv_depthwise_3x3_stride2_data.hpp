// Backward data of the NCHW 3 x 3 depthwise kernels at stride 2 x 2 (conv_depthwise_3x3.hpp): which
// taps make dx's even and odd columns from a dy row's two shifted loads, for any register width
// (the AVX2 and AVX-512 files). dx column j takes tap kw from dy column (j + pad - kw) / 2 where
// that is whole, so the even columns (lane i: j0 + 2 i of a block from an even j0) take the taps
// with kw = pad mod 2, the odd ones the others. Odd pad: kw 1 makes the even columns from dy
// column j0 / 2 + i + base (base = (pad - 1) / 2), kw 2 the odd ones from the same column and kw
// 0 from the next (far = +1). Even pad: kw 0 the even ones from j0 / 2 + i + base (base = pad /
// 2) and kw 2 from the previous (far = -1), kw 1 the odd ones from the same.
#pragma once

#include <cstdint>

#include "core/nn_args.hpp"
#include "kernels/cpu/common/force_inline.hpp"

namespace mln::kernels {
namespace {

// The dy row that dx row i takes through filter row kh, or nullptr where none does.
MLN_ALWAYS_INLINE const float* stride2_dy_row(const float* dy, const WindowGeometry& g, int64_t i, int64_t kh) {
    const int64_t t = i + g.pad_begin[1] - kh;
    return t >= 0 && t % 2 == 0 && t / 2 < g.out[1] ? dy + t / 2 * g.out[2] : nullptr;
}

// even/odd += a dy row's taps w[0..2] from its loads at the block's column (near_v) and at
// far (far_v); fma_near(x, w, acc) and fma_far the products on the lanes whose dy column lies in
// the row.
template <bool OddPad, class V, class FmaNear, class FmaFar>
MLN_ALWAYS_INLINE void stride2_data_taps_of(V near_v, V far_v, const V* w, V& even, V& odd, FmaNear&& fma_near,
                                            FmaFar&& fma_far) {
    if constexpr (OddPad) {
        even = fma_near(near_v, w[1], even);
        odd = fma_far(far_v, w[0], fma_near(near_v, w[2], odd));
    } else {
        even = fma_far(far_v, w[2], fma_near(near_v, w[0], even));
        odd = fma_near(near_v, w[1], odd);
    }
}

}  // namespace
}  // namespace mln::kernels
