// Resize: the separable kernel against the direct reference twin for every mode, values from
// the ONNX operator documentation, the backward pass against finite differences, and argument
// validation.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/text.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::test {
namespace {

mln_resize_params params_of(int32_t mode, int32_t coordinate_mode, const std::vector<double>& scales) {
    mln_resize_params p{};
    p.mode = mode;
    p.coordinate_mode = coordinate_mode;
    p.cubic_coeff_a = -0.75;
    for (size_t d = 0; d < scales.size(); ++d) {
        p.scales[d] = scales[d];
        p.roi_start[d] = 0.0;
        p.roi_end[d] = 1.0;
    }
    return p;
}

// floor(n * scale) per dimension, as ONNX sizes the output from scales.
std::vector<int64_t> scaled_shape(const std::vector<int64_t>& shape, const std::vector<double>& scales) {
    std::vector<int64_t> out;
    for (size_t d = 0; d < shape.size(); ++d) {
        out.push_back(static_cast<int64_t>(std::floor(static_cast<double>(shape[d]) * scales[d])));
    }
    return out;
}

template <class T>
void check_against_reference(mln_device* device, const mln_resize_params& p, const std::vector<int64_t>& x_shape,
                             const std::vector<int64_t>& y_shape) {
    // The kernel and the reference evaluate the cubic weights by different (equal) formulas.
    const double tol = std::numeric_limits<T>::epsilon() * 256;
    HostTensor<T> x(x_shape), y(y_shape), y_want(y_shape), dy(y_shape), dx(x_shape), dx_want(x_shape);
    fill_random(x);
    fill_random(dy);
    for (int64_t i = 0; i < y.count(); ++i) y.at(i) = std::numeric_limits<T>::quiet_NaN();
    for (int64_t i = 0; i < dx.count(); ++i) dx.at(i) = std::numeric_limits<T>::quiet_NaN();
    ASSERT_EQ(mln_resize_forward(device, &p, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::resize_forward(p, x.view(), y_want.view());
    EXPECT_TRUE(near_all(y, y_want, tol));
    ASSERT_EQ(mln_resize_backward(device, &p, dy.desc(), dx.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::resize_backward(p, dy.view(), dx_want.view());
    EXPECT_TRUE(near_all(dx, dx_want, tol * 16));
}

class ResizeTest : public CpuDeviceTest {};

TEST_F(ResizeTest, MatchesReferenceForEveryModeAndCoordinateTransform) {
    struct Shape {
        std::vector<int64_t> x;
        std::vector<double> scales;
    };
    const std::vector<Shape> shapes = {
        {{2, 3, 5, 4}, {1.0, 1.0, 2.0, 1.5}},    // upsample
        {{1, 2, 9, 7}, {1.0, 1.0, 0.6, 0.45}},   // downsample, fractional resized lengths
        {{3, 8}, {0.75, 2.5}},                   // one shrinks, one grows
        {{1, 1, 3, 4, 5}, {1.0, 1.0, 1.7, 0.5, 1.0}},
        {{4, 1}, {1.0, 3.0}},                    // a length-1 input
        {{6}, {1.0 / 6.0}},                      // resized to one element
    };
    for (const Shape& s : shapes) {
        for (int32_t mode = MLN_RESIZE_MODE_NEAREST; mode <= MLN_RESIZE_MODE_CUBIC; ++mode) {
            for (int32_t coordinates = MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL;
                 coordinates <= MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL_SYMMETRIC; ++coordinates) {
                for (int32_t variant = 0; variant < 4; ++variant) {
                    SCOPED_TRACE(cat("x rank ", s.x.size(), " mode ", mode, " coordinates ", coordinates, " variant ",
                                     variant));
                    mln_resize_params p = params_of(mode, coordinates, s.scales);
                    p.nearest_mode = variant;
                    p.exclude_outside = mode != MLN_RESIZE_MODE_NEAREST && variant % 2 == 1 ? 1 : 0;
                    p.cubic_coeff_a = variant < 2 ? -0.75 : -0.5;
                    p.extrapolation_value = 7.5;
                    for (size_t d = 0; d < s.x.size(); ++d) {
                        p.roi_start[d] = variant == 3 ? -0.2 : 0.1 * static_cast<double>(d % 2);
                        p.roi_end[d] = variant == 3 ? 1.3 : 0.9;
                    }
                    check_against_reference<double>(device_, p, s.x, scaled_shape(s.x, s.scales));
                    check_against_reference<float>(device_, p, s.x, scaled_shape(s.x, s.scales));
                }
            }
        }
    }
}

// Values from ONNX's Resize documentation examples (resize.py), computed there by numpy.
TEST_F(ResizeTest, MatchesOnnxDocumentedValues) {
    HostTensor<float> x({1, 1, 2, 4}), y({1, 1, 1, 2});
    for (int i = 0; i < 8; ++i) x.at(i) = static_cast<float>(i + 1);
    // downsample_scales_linear_align_corners: the resized length is 0.6 * 4 = 2.4, not 2.
    mln_resize_params p = params_of(MLN_RESIZE_MODE_LINEAR, MLN_RESIZE_COORDINATE_MODE_ALIGN_CORNERS, {1, 1, 0.6, 0.6});
    ASSERT_EQ(mln_resize_forward(device_, &p, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    EXPECT_NEAR(y.at(0), 1.0, 1e-6);
    EXPECT_NEAR(y.at(1), 3.142857, 1e-6);
    // downsample_scales_linear (half_pixel).
    p = params_of(MLN_RESIZE_MODE_LINEAR, MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL, {1, 1, 0.6, 0.6});
    ASSERT_EQ(mln_resize_forward(device_, &p, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    EXPECT_NEAR(y.at(0), 2.6666665, 1e-6);
    EXPECT_NEAR(y.at(1), 4.3333331, 1e-6);
    // upsample_scales_nearest: each element repeated (2x3 per element).
    HostTensor<float> small({1, 1, 2, 2}), big({1, 1, 4, 6});
    for (int i = 0; i < 4; ++i) small.at(i) = static_cast<float>(i + 1);
    p = params_of(MLN_RESIZE_MODE_NEAREST, MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL, {1, 1, 2, 3});
    ASSERT_EQ(mln_resize_forward(device_, &p, small.desc(), big.desc()), MLN_STATUS_OK) << mln_last_error();
    for (int64_t r = 0; r < 4; ++r) {
        for (int64_t c = 0; c < 6; ++c) EXPECT_EQ(big.at(r * 6 + c), small.at((r / 2) * 2 + c / 3));
    }
}

// L = sum(y * r) is linear in x, so the backward pass must equal its finite differences.
TEST_F(ResizeTest, BackwardMatchesFiniteDifferences) {
    const std::vector<int64_t> x_shape = {1, 2, 4, 5};
    const std::vector<double> scales = {1.0, 1.0, 1.75, 0.6};
    const std::vector<int64_t> y_shape = scaled_shape(x_shape, scales);
    for (int32_t mode = MLN_RESIZE_MODE_NEAREST; mode <= MLN_RESIZE_MODE_CUBIC; ++mode) {
        SCOPED_TRACE(cat("mode ", mode));
        mln_resize_params p = params_of(mode, MLN_RESIZE_COORDINATE_MODE_TF_CROP_AND_RESIZE, scales);
        p.roi_start[3] = -0.25;
        p.exclude_outside = mode == MLN_RESIZE_MODE_CUBIC ? 1 : 0;
        HostTensor<double> x(x_shape), r(y_shape), y(y_shape), dx(x_shape);
        fill_random(x);
        fill_random(r);
        ASSERT_EQ(mln_resize_backward(device_, &p, r.desc(), dx.desc()), MLN_STATUS_OK) << mln_last_error();
        auto loss = [&] {
            EXPECT_EQ(mln_resize_forward(device_, &p, x.desc(), y.desc()), MLN_STATUS_OK);
            double sum = 0.0;
            for (int64_t i = 0; i < y.count(); ++i) sum += y.at(i) * r.at(i);
            return sum;
        };
        for (int64_t i = 0; i < x.count(); ++i) {
            const double saved = x.at(i);
            x.at(i) = saved + 1e-3;
            const double plus = loss();
            x.at(i) = saved - 1e-3;
            const double minus = loss();
            x.at(i) = saved;
            EXPECT_NEAR(dx.at(i), (plus - minus) / 2e-3, 1e-8) << "element " << i;
        }
    }
}

TEST_F(ResizeTest, RejectsBadArgumentsWithClearMessages) {
    HostTensor<float> x({1, 1, 2, 2}), y({1, 1, 4, 4}), flat({4, 4}), empty({1, 0, 2, 2}), wide({1, 2, 4, 4});
    HostTensor<double> y64({1, 1, 4, 4});
    HostTensor<int32_t> xi({1, 1, 2, 2}), yi({1, 1, 4, 4});
    mln_resize_params p = params_of(MLN_RESIZE_MODE_LINEAR, MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL, {1, 1, 2, 2});
    EXPECT_TRUE(failed_with(mln_resize_forward(device_, nullptr, x.desc(), y.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_resize_forward: params is null"}));
    EXPECT_TRUE(failed_with(mln_resize_forward(device_, &p, x.desc(), flat.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"y is 4x4 but x is 1x1x2x2; the ranks must agree"}));
    EXPECT_TRUE(failed_with(mln_resize_forward(device_, &p, x.desc(), y64.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"dtype"}));
    EXPECT_TRUE(failed_with(mln_resize_forward(device_, &p, xi.desc(), yi.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"x has dtype i32 but must be f32 or f64"}));
    EXPECT_TRUE(failed_with(mln_resize_forward(device_, &p, empty.desc(), wide.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"is empty along dimension 1, so there is nothing to interpolate"}));
    p.scales[2] = 0.0;
    EXPECT_TRUE(failed_with(mln_resize_forward(device_, &p, x.desc(), y.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"params.scales[2] is 0 but must be positive and finite"}));
    p.scales[2] = 2.0;
    p.mode = 3;
    EXPECT_TRUE(failed_with(mln_resize_backward(device_, &p, y.desc(), x.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_resize_backward: params.mode is 3"}));
    p.mode = MLN_RESIZE_MODE_LINEAR;
    p.coordinate_mode = 9;
    EXPECT_TRUE(failed_with(mln_resize_forward(device_, &p, x.desc(), y.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"params.coordinate_mode is 9"}));
    p.coordinate_mode = MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL;
    HostTensor<float> strided({1, 1, 4, 4}, {16, 16, 1, 4});
    EXPECT_TRUE(failed_with(mln_resize_forward(device_, &p, x.desc(), strided.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"contiguous"}));
}

}  // namespace
}  // namespace mln::test
