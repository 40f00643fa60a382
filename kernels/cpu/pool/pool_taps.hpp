// The taps of a pooling window along one dimension that fall inside a range: shared by the
// driver and the plane kernels.
#pragma once

#include <algorithm>
#include <cstdint>

namespace mln::kernels {

struct TapRange {
    int64_t lo, hi;
    int64_t size() const { return hi - lo; }
};

// Taps j in [0, kernel) with lower <= start + j*dilation < upper.
inline TapRange taps_within(int64_t start, int64_t dilation, int64_t kernel, int64_t lower, int64_t upper) {
    const int64_t lo = start >= lower ? 0 : (lower - start + dilation - 1) / dilation;
    const int64_t hi = start >= upper ? 0 : (upper - start + dilation - 1) / dilation;
    const int64_t clipped_lo = std::min(lo, kernel);
    return {clipped_lo, std::max(clipped_lo, std::min(hi, kernel))};
}

}  // namespace mln::kernels
