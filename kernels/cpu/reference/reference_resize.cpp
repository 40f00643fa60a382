// Resize by definition: every output element sums every input element times the product of
// the per-dimension weights, each weight evaluated from the interpolation kernel at the
// distance between the mapped coordinate and the (border-clamped) tap. O(|x| * |y|).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/reference/reference_indexing.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::reference {
namespace {

// The ONNX coordinate transformations, written out per mode.
double source_coordinate(const mln_resize_params& p, int32_t d, int64_t o, int64_t n, int64_t m) {
    const double scale = p.scales[d];
    const double resized = scale * static_cast<double>(n);
    const double x = static_cast<double>(o);
    const double half_pixel = (x + 0.5) / scale - 0.5;
    if (p.coordinate_mode == MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL) return half_pixel;
    if (p.coordinate_mode == MLN_RESIZE_COORDINATE_MODE_PYTORCH_HALF_PIXEL) return resized > 1.0 ? half_pixel : 0.0;
    if (p.coordinate_mode == MLN_RESIZE_COORDINATE_MODE_ALIGN_CORNERS) {
        return resized > 1.0 ? x * static_cast<double>(n - 1) / (resized - 1.0) : 0.0;
    }
    if (p.coordinate_mode == MLN_RESIZE_COORDINATE_MODE_ASYMMETRIC) return x / scale;
    if (p.coordinate_mode == MLN_RESIZE_COORDINATE_MODE_TF_HALF_PIXEL_FOR_NN) return (x + 0.5) / scale;
    if (p.coordinate_mode == MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL_SYMMETRIC) {
        const double adjustment = static_cast<double>(m) / resized;
        return static_cast<double>(n) / 2.0 * (1.0 - adjustment) + half_pixel;
    }
    // tf_crop_and_resize
    const double last = static_cast<double>(n - 1);
    if (resized > 1.0) return p.roi_start[d] * last + x * (p.roi_end[d] - p.roi_start[d]) * last / (resized - 1.0);
    return (p.roi_start[d] + p.roi_end[d]) / 2.0 * last;
}

// Keys' cubic convolution kernel with parameter a.
double keys(double a, double distance) {
    const double t = std::fabs(distance);
    if (t <= 1.0) return (a + 2.0) * t * t * t - (a + 3.0) * t * t + 1.0;
    if (t < 2.0) return a * t * t * t - 5.0 * a * t * t + 8.0 * a * t - 4.0 * a;
    return 0.0;
}

// Weight of input index i in output index o along dimension d; false when the output lies
// outside the crop (tf_crop_and_resize).
bool weight_1d(const mln_resize_params& p, int32_t d, int64_t o, int64_t i, int64_t n, int64_t m, double& weight) {
    const double c = source_coordinate(p, d, o, n, m);
    if (p.coordinate_mode == MLN_RESIZE_COORDINATE_MODE_TF_CROP_AND_RESIZE && (c < 0.0 || c > static_cast<double>(n - 1))) {
        return false;
    }
    weight = 0.0;
    if (p.mode == MLN_RESIZE_MODE_NEAREST) {
        const double below = std::floor(c);
        double chosen = below;
        if (c != below) {
            const double fraction = c - below;
            const bool up = p.nearest_mode == MLN_RESIZE_NEAREST_MODE_CEIL ||
                            (p.nearest_mode == MLN_RESIZE_NEAREST_MODE_ROUND_PREFER_FLOOR && fraction > 0.5) ||
                            (p.nearest_mode == MLN_RESIZE_NEAREST_MODE_ROUND_PREFER_CEIL && fraction >= 0.5);
            chosen = up ? below + 1.0 : below;
        }
        const double clamped = std::min(std::max(chosen, 0.0), static_cast<double>(n - 1));
        weight = static_cast<int64_t>(clamped) == i ? 1.0 : 0.0;
        return true;
    }
    // The taps around c: two for linear, four for cubic; each reads its clamped index.
    const bool cubic = p.mode == MLN_RESIZE_MODE_CUBIC;
    const auto below = static_cast<int64_t>(std::floor(c));
    double total = 0.0;
    for (int64_t j = below - (cubic ? 1 : 0); j <= below + (cubic ? 2 : 1); ++j) {
        const bool inside = j >= 0 && j < n;
        const double w = cubic ? keys(p.cubic_coeff_a, c - static_cast<double>(j))
                               : std::max(0.0, 1.0 - std::fabs(c - static_cast<double>(j)));
        if (p.exclude_outside != 0 && !inside) continue;
        total += w;
        if (std::min(std::max<int64_t>(j, 0), n - 1) == i) weight += w;
    }
    if (p.exclude_outside != 0) weight /= total;
    return true;
}

// Weight of input index xi in output index yi, or false for an extrapolated output.
bool weight_nd(const mln_resize_params& p, const TensorView& x, const TensorView& y, const int64_t* xi,
               const int64_t* yi, double& weight) {
    weight = 1.0;
    for (int32_t d = 0; d < x.rank; ++d) {
        double w = 0.0;
        if (!weight_1d(p, d, yi[d], xi[d], x.shape[d], y.shape[d], w)) return false;
        weight *= w;
    }
    return true;
}

}  // namespace

void resize_forward(const mln_resize_params& p, const TensorView& x, const TensorView& y) {
    for_each_index(y.rank, y.shape, [&](const int64_t* yi) {
        double sum = 0.0;
        bool extrapolated = false;
        for_each_index(x.rank, x.shape, [&](const int64_t* xi) {
            double w = 0.0;
            if (!weight_nd(p, x, y, xi, yi, w)) {
                extrapolated = true;
            } else if (w != 0.0) {
                sum += w * load_as_double(x, xi);
            }
        });
        store_from_double(y, yi, extrapolated ? p.extrapolation_value : sum);
    });
}

void resize_backward(const mln_resize_params& p, const TensorView& dy, const TensorView& dx) {
    for_each_index(dx.rank, dx.shape, [&](const int64_t* xi) {
        double sum = 0.0;
        for_each_index(dy.rank, dy.shape, [&](const int64_t* yi) {
            double w = 0.0;
            if (weight_nd(p, dx, dy, xi, yi, w) && w != 0.0) sum += w * load_as_double(dy, yi);
        });
        store_from_double(dx, xi, sum);
    });
}

}  // namespace mln::reference
