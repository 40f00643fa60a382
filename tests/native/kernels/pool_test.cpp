// Pooling: kernels against the direct reference twin, gradients by finite differences, and
// argument validation.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/text.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::test {
namespace {

struct PoolCase {
    std::vector<int64_t> x_shape;
    std::vector<int64_t> kernel, strides, dilations, pads_begin, pads_end;
    int32_t ceil_mode;
    int32_t count_include_pad;
};

mln_pool_params params_of(const PoolCase& c) {
    mln_pool_params p{};
    p.spatial_rank = static_cast<int32_t>(c.kernel.size());
    for (size_t i = 0; i < c.kernel.size(); ++i) {
        p.kernel[i] = c.kernel[i];
        p.strides[i] = c.strides[i];
        p.dilations[i] = c.dilations[i];
        p.pads_begin[i] = c.pads_begin[i];
        p.pads_end[i] = c.pads_end[i];
    }
    p.ceil_mode = c.ceil_mode;
    p.count_include_pad = c.count_include_pad;
    return p;
}

// Output shape computed here independently: floor or ceil division, and with ceil_mode the
// last window must start before the end padding.
std::vector<int64_t> y_shape_of(const PoolCase& c) {
    std::vector<int64_t> shape = {c.x_shape[0], c.x_shape[1]};
    for (size_t i = 0; i < c.kernel.size(); ++i) {
        const int64_t in = c.x_shape[2 + i];
        const double span = static_cast<double>(c.dilations[i] * (c.kernel[i] - 1) + 1);
        const double q = (static_cast<double>(in + c.pads_begin[i] + c.pads_end[i]) - span) /
                         static_cast<double>(c.strides[i]);
        int64_t out = static_cast<int64_t>(c.ceil_mode != 0 ? std::ceil(q) : std::floor(q)) + 1;
        if (c.ceil_mode != 0 && (out - 1) * c.strides[i] >= in + c.pads_begin[i]) --out;
        shape.push_back(out);
    }
    return shape;
}

std::string describe(const PoolCase& c) {
    auto list = [](const std::vector<int64_t>& v) {
        std::string s;
        for (int64_t e : v) s += std::to_string(e) + ",";
        return s;
    };
    return cat("x=", list(c.x_shape), " k=", list(c.kernel), " s=", list(c.strides), " d=", list(c.dilations),
               " pb=", list(c.pads_begin), " pe=", list(c.pads_end), " ceil=", c.ceil_mode,
               " include_pad=", c.count_include_pad);
}

std::vector<PoolCase> cases() {
    return {
        {{2, 3, 7, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        {{2, 3, 7, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1, 1},
        {{1, 2, 8, 8}, {2, 2}, {3, 3}, {1, 1}, {0, 0}, {0, 0}, 1, 0},
        {{1, 2, 9, 10}, {3, 2}, {2, 3}, {2, 1}, {2, 0}, {0, 1}, 0, 1},
        {{2, 2, 6, 7}, {3, 3}, {2, 2}, {1, 1}, {0, 1}, {2, 0}, 1, 1},
        {{3, 2, 13}, {4}, {3}, {1}, {2}, {1}, 1, 0},
        {{1, 2, 5, 6, 7}, {2, 3, 2}, {2, 1, 2}, {1, 1, 2}, {1, 1, 0}, {0, 1, 1}, 0, 1},
        {{0, 3, 5, 5}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{1, 1, 1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{2, 17, 3, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0, 1},
    };
}

// Max pooling with a workspace of Tap (u8 or i32): y as with indices, the taps as the reference
// computes them, and the backward from them the bits of the backward from the i64 indices.
template <class T, class Tap>
void check_workspace(mln_device* device, const mln_pool_params& p, HostTensor<T>& x, HostTensor<T>& dy,
                     HostTensor<T>& y_want, HostTensor<T>& dx_from_indices) {
    SCOPED_TRACE(sizeof(Tap) == 1 ? "u8 workspace" : "i32 workspace");
    HostTensor<T> y(y_want.shape()), dx(x.shape()), dx_want(x.shape()), y_reference(y_want.shape());
    HostTensor<Tap> taps(y_want.shape()), taps_want(y_want.shape());
    ASSERT_EQ(mln_pool_forward(device, MLN_POOL_MODE_MAX, &p, x.desc(), y.desc(), taps.desc()), MLN_STATUS_OK)
        << mln_last_error();
    const TensorView taps_view = taps_want.view();
    reference::pool_forward(MLN_POOL_MODE_MAX, p, x.view(), y_reference.view(), &taps_view);
    EXPECT_TRUE(same_elements(y, y_want));
    EXPECT_TRUE(same_elements(taps, taps_want));
    for (int64_t i = 0; i < dx.count(); ++i) dx.at(i) = std::numeric_limits<T>::quiet_NaN();
    ASSERT_EQ(mln_pool_backward(device, MLN_POOL_MODE_MAX, &p, dy.desc(), taps.desc(), dx.desc()), MLN_STATUS_OK)
        << mln_last_error();
    const TensorView used_taps = taps.view();
    reference::pool_backward(MLN_POOL_MODE_MAX, p, dy.view(), &used_taps, dx_want.view());
    EXPECT_TRUE(same_elements(dx, dx_from_indices));
    EXPECT_TRUE(near_all(dx, dx_want, std::numeric_limits<T>::epsilon() * 1024));
}

template <class T>
void check_case(mln_device* device, const PoolCase& c) {
    SCOPED_TRACE(describe(c));
    const mln_pool_params p = params_of(c);
    const double tol = std::numeric_limits<T>::epsilon() * 64;
    HostTensor<T> x(c.x_shape), dy(y_shape_of(c));
    fill_random(x);
    fill_random(dy);
    for (mln_pool_mode mode : {MLN_POOL_MODE_MAX, MLN_POOL_MODE_AVERAGE}) {
        SCOPED_TRACE(mode == MLN_POOL_MODE_MAX ? "max" : "average");
        HostTensor<T> y(y_shape_of(c)), y_want(y_shape_of(c));
        HostTensor<int64_t> indices(y_shape_of(c)), indices_want(y_shape_of(c));
        const bool max = mode == MLN_POOL_MODE_MAX;
        ASSERT_EQ(mln_pool_forward(device, mode, &p, x.desc(), y.desc(), max ? indices.desc() : nullptr), MLN_STATUS_OK)
            << mln_last_error();
        const TensorView indices_view = indices_want.view();
        reference::pool_forward(mode, p, x.view(), y_want.view(), max ? &indices_view : nullptr);
        EXPECT_TRUE(near_all(y, y_want, tol));
        if (max) {
            EXPECT_TRUE(same_elements(indices, indices_want));
        }

        HostTensor<T> dx(c.x_shape), dx_want(c.x_shape);
        for (int64_t i = 0; i < dx.count(); ++i) dx.at(i) = std::numeric_limits<T>::quiet_NaN();
        ASSERT_EQ(mln_pool_backward(device, mode, &p, dy.desc(), max ? indices.desc() : nullptr, dx.desc()),
                  MLN_STATUS_OK)
            << mln_last_error();
        const TensorView used_indices = indices.view();
        reference::pool_backward(mode, p, dy.view(), max ? &used_indices : nullptr, dx_want.view());
        EXPECT_TRUE(near_all(dx, dx_want, tol * 16));
        if (max) {
            check_workspace<T, uint8_t>(device, p, x, dy, y, dx);
            check_workspace<T, int32_t>(device, p, x, dy, y, dx);
        }
    }
}

class PoolTest : public CpuDeviceTest {};

TEST_F(PoolTest, MatchesReferenceF32AndF64) {
    for (const PoolCase& c : cases()) {
        check_case<float>(device_, c);
        check_case<double>(device_, c);
    }
}

// storage_order 1: indices column-major within each (n, c) plane, as the reference computes them.
TEST_F(PoolTest, ColumnMajorIndicesMatchReference) {
    for (const PoolCase& c : {cases()[0], cases()[3], cases()[6]}) {
        SCOPED_TRACE(describe(c));
        mln_pool_params p = params_of(c);
        p.storage_order = 1;
        HostTensor<float> x(c.x_shape), y(y_shape_of(c)), y_want(y_shape_of(c));
        HostTensor<int64_t> indices(y_shape_of(c)), indices_want(y_shape_of(c));
        fill_random(x);
        ASSERT_EQ(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, x.desc(), y.desc(), indices.desc()), MLN_STATUS_OK)
            << mln_last_error();
        const TensorView indices_view = indices_want.view();
        reference::pool_forward(MLN_POOL_MODE_MAX, p, x.view(), y_want.view(), &indices_view);
        EXPECT_TRUE(same_elements(indices, indices_want));
    }
    // A 2 x 3 plane: the maximum at (row 0, column 2) is row-major 2 and column-major 2 * 2 + 0 = 4.
    mln_pool_params p{};
    p.spatial_rank = 2;
    p.kernel[0] = 2;
    p.kernel[1] = 3;
    p.strides[0] = p.strides[1] = 1;
    p.dilations[0] = p.dilations[1] = 1;
    p.storage_order = 1;
    HostTensor<float> x({1, 1, 2, 3}), y({1, 1, 1, 1}), dx({1, 1, 2, 3});
    HostTensor<int64_t> indices({1, 1, 1, 1});
    const float values[] = {1.0f, 2.0f, 9.0f, 3.0f, 4.0f, 5.0f};
    for (int i = 0; i < 6; ++i) x.at(i) = values[i];
    ASSERT_EQ(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, x.desc(), y.desc(), indices.desc()), MLN_STATUS_OK);
    EXPECT_EQ(indices.at(0), 4);
    EXPECT_TRUE(failed_with(mln_pool_backward(device_, MLN_POOL_MODE_MAX, &p, y.desc(), indices.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"the backward reads row-major indices"}));
    p.storage_order = 2;
    EXPECT_TRUE(failed_with(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, x.desc(), y.desc(), indices.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"params.storage_order is 2"}));
}

TEST_F(PoolTest, MaxPropagatesNaNAndKeepsTheFirstOfTies) {
    mln_pool_params p{};
    p.spatial_rank = 1;
    p.kernel[0] = 3;
    p.strides[0] = 3;
    p.dilations[0] = 1;
    HostTensor<float> x({1, 1, 6}), y({1, 1, 2});
    HostTensor<int64_t> indices({1, 1, 2});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float values[] = {1.0f, nan, 5.0f, 2.0f, 2.0f, 1.0f};
    for (int i = 0; i < 6; ++i) x.at(i) = values[i];
    ASSERT_EQ(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, x.desc(), y.desc(), indices.desc()), MLN_STATUS_OK);
    EXPECT_TRUE(std::isnan(y.at(0)));
    EXPECT_EQ(indices.at(0), 1);
    EXPECT_EQ(y.at(1), 2.0f);
    EXPECT_EQ(indices.at(1), 3);
}

// Rows wide enough for whole registers of outputs (16 lanes and more) with edge columns on both
// sides: strides 1 and 2 (plain and shuffled loads), 3 (gathers), dilation, asymmetric
// padding, 1-d and 3-d windows. Max: values are few and repeated (ties) with NaN sprinkled in;
// average: with and without count_include_pad.
TEST_F(PoolTest, VectorPathsMatchReferenceAtEveryIsa) {
    std::vector<PoolCase> wide = {
        {{2, 3, 9, 112}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        {{1, 2, 5, 71}, {3, 2}, {1, 1}, {1, 1}, {1, 0}, {1, 1}, 0, 0},
        {{1, 2, 4, 101}, {2, 3}, {1, 3}, {1, 2}, {0, 2}, {1, 1}, 1, 0},
        {{2, 1, 67}, {5}, {2}, {1}, {2}, {2}, 0, 0},
        {{1, 2, 3, 4, 53}, {2, 2, 3}, {1, 2, 1}, {1, 1, 1}, {1, 0, 1}, {0, 1, 1}, 0, 0},
        {{1, 1, 7, 40}, {7, 7}, {1, 1}, {1, 1}, {3, 3}, {3, 3}, 0, 0},
        // Rows of 8, 9, 16, 17, 32 and 33 vector columns at 3x3/2 pad 1 (whole and overlapping
        // registers of both widths); stride 1 of 16; a 3-d window; a tall plane.
        {{1, 2, 11, 19}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        {{1, 2, 10, 21}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        {{1, 2, 9, 35}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        {{2, 1, 8, 37}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        {{1, 2, 7, 67}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        {{1, 1, 13, 69}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        {{1, 2, 6, 18}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{1, 1, 5, 4, 37}, {3, 2, 3}, {2, 1, 2}, {1, 1, 1}, {1, 0, 1}, {1, 1, 1}, 0, 0},
        {{1, 1, 600, 140}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        // Rows of fewer outputs than a register: one register reading on into the next rows,
        // the plane's last rows one output at a time.
        {{2, 3, 28, 28}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{2, 3, 14, 14}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{1, 2, 7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        {{1, 2, 9, 19}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {0, 1}, 0, 0},
        {{2, 3, 20}, {2}, {2}, {1}, {0}, {0}, 0, 0},
        {{1, 2, 6, 11}, {2, 2}, {3, 3}, {1, 2}, {0, 1}, {0, 1}, 0, 0},
        // Windows whose taps skip over x (no element: -inf, index -1), on rows and columns.
        {{1, 2, 1, 1}, {2, 2}, {1, 1}, {5, 5}, {4, 4}, {1, 1}, 0, 0},
        {{1, 2, 3, 2}, {2, 2}, {1, 1}, {4, 4}, {3, 3}, {1, 2}, 0, 0},
        // Row ends read clipped at every stride (2x2/2, 3x3/1, gathers), 3-d windows sharing
        // cached rows across depth, dilated rows.
        {{2, 2, 5, 37}, {2, 2}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1, 0},
        {{1, 2, 6, 35}, {3, 3}, {1, 1}, {1, 1}, {2, 1}, {0, 1}, 0, 0},
        {{1, 2, 5, 50}, {3, 4}, {2, 3}, {1, 1}, {1, 2}, {1, 1}, 1, 0},
        {{1, 1, 5, 6, 40}, {3, 3, 3}, {1, 2, 2}, {2, 1, 1}, {2, 1, 1}, {2, 1, 1}, 0, 0},
        {{1, 1, 9, 33}, {3, 3}, {2, 2}, {3, 2}, {3, 2}, {3, 2}, 0, 0},
    };
    // Windows covering the plane (global pooling: average runs as row sums), planes of 1, 7,
    // 15, 16, 17, 49 and 196 elements, one padded.
    const std::vector<PoolCase> global = {
        {{3, 2, 1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{2, 3, 1, 7}, {1, 7}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{1, 5, 3, 5}, {3, 5}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{2, 2, 4, 4}, {4, 4}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{1, 3, 17}, {17}, {1}, {1}, {0}, {0}, 0, 0},
        {{3, 7, 7, 7}, {7, 7}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{2, 3, 14, 14}, {14, 14}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{2, 3, 5, 5}, {7, 7}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
        {{1, 2, 2, 3, 4}, {2, 3, 4}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, 0, 0},
    };
    wide.insert(wide.end(), global.begin(), global.end());
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float infinity = std::numeric_limits<float>::infinity();
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const PoolCase& c : wide) {
            // Special values: none, NaN now and then, or -inf for a third of x (windows of
            // only -inf, where the first tap inside x must win over the padding).
            for (int special : {0, 1, 2}) {
                const bool with_nan = special == 1;
                SCOPED_TRACE(cat(describe(c), " isa=", static_cast<int>(isa), " special=", special));
                mln_pool_params p = params_of(c);
                HostTensor<float> x(c.x_shape), y(y_shape_of(c)), y_want(y_shape_of(c)), y_plain(y_shape_of(c));
                HostTensor<int64_t> indices(y_shape_of(c)), indices_want(y_shape_of(c));
                for (int64_t i = 0; i < x.count(); ++i) {
                    x.at(i) = static_cast<float>(uniform_int(-3, 3));
                    if (with_nan && uniform_int(0, 40) == 0) x.at(i) = nan;
                    if (special == 2 && uniform_int(0, 2) == 0) x.at(i) = -infinity;
                }
                ASSERT_EQ(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, x.desc(), y.desc(), indices.desc()),
                          MLN_STATUS_OK)
                    << mln_last_error();
                ASSERT_EQ(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, x.desc(), y_plain.desc(), nullptr),
                          MLN_STATUS_OK)
                    << mln_last_error();
                const TensorView indices_view = indices_want.view();
                reference::pool_forward(MLN_POOL_MODE_MAX, p, x.view(), y_want.view(), &indices_view);
                EXPECT_TRUE(same_elements(y, y_want)) << "max";
                EXPECT_TRUE(same_elements(y_plain, y_want)) << "max without indices";
                EXPECT_TRUE(same_elements(indices, indices_want)) << "max indices";
                HostTensor<float> dy(y_shape_of(c)), dx(c.x_shape);
                fill_random(dy);
                ASSERT_EQ(mln_pool_backward(device_, MLN_POOL_MODE_MAX, &p, dy.desc(), indices.desc(), dx.desc()),
                          MLN_STATUS_OK)
                    << mln_last_error();
                check_workspace<float, uint8_t>(device_, p, x, dy, y, dx);
                check_workspace<float, int32_t>(device_, p, x, dy, y, dx);
                for (int32_t include_pad : {0, 1}) {
                    p.count_include_pad = include_pad;
                    if (!with_nan) fill_random(x);
                    ASSERT_EQ(mln_pool_forward(device_, MLN_POOL_MODE_AVERAGE, &p, x.desc(), y.desc(), nullptr),
                              MLN_STATUS_OK)
                        << mln_last_error();
                    reference::pool_forward(MLN_POOL_MODE_AVERAGE, p, x.view(), y_want.view(), nullptr);
                    EXPECT_TRUE(near_all(y, y_want, std::numeric_limits<float>::epsilon() * 64))
                        << "average include_pad=" << include_pad;
                }
            }
        }
    }
}

// L = sum(y * r): the backward of r must match central differences of L (average pooling is
// linear; max is piecewise linear and random data has no ties).
// Global average pooling at every ISA, forward and backward, against the reference, with
// NaN and infinities spreading to their plane only.
TEST_F(PoolTest, GlobalAverageMatchesReferenceAtEveryIsa) {
    const std::vector<PoolCase> global = {
        {{5, 3, 1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{2, 3, 1, 7}, {1, 7}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 1},
        {{1, 5, 3, 5}, {3, 5}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{2, 2, 4, 4}, {4, 4}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{1, 3, 17}, {17}, {1}, {1}, {0}, {0}, 0, 0},
        {{3, 70, 7, 7}, {7, 7}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{2, 3, 14, 14}, {14, 14}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0},
        {{2, 3, 5, 5}, {7, 7}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0, 1},
        {{2, 3, 5, 5}, {7, 7}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0, 0},
    };
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const PoolCase& c : global) {
            for (bool special : {false, true}) {
                SCOPED_TRACE(cat(describe(c), " isa=", static_cast<int>(isa), " special=", special));
                const mln_pool_params p = params_of(c);
                HostTensor<float> x(c.x_shape), y(y_shape_of(c)), y_want(y_shape_of(c)), dy(y_shape_of(c));
                HostTensor<float> dx(c.x_shape), dx_want(c.x_shape);
                fill_random(x);
                fill_random(dy);
                if (special) {
                    x.at(0) = std::numeric_limits<float>::quiet_NaN();
                    x.at(x.count() - 1) = std::numeric_limits<float>::infinity();
                    dy.at(0) = -std::numeric_limits<float>::infinity();
                }
                ASSERT_EQ(mln_pool_forward(device_, MLN_POOL_MODE_AVERAGE, &p, x.desc(), y.desc(), nullptr), MLN_STATUS_OK)
                    << mln_last_error();
                reference::pool_forward(MLN_POOL_MODE_AVERAGE, p, x.view(), y_want.view(), nullptr);
                EXPECT_TRUE(near_all(y, y_want, std::numeric_limits<float>::epsilon() * 16));
                ASSERT_EQ(mln_pool_backward(device_, MLN_POOL_MODE_AVERAGE, &p, dy.desc(), nullptr, dx.desc()),
                          MLN_STATUS_OK)
                    << mln_last_error();
                reference::pool_backward(MLN_POOL_MODE_AVERAGE, p, dy.view(), nullptr, dx_want.view());
                EXPECT_TRUE(near_all(dx, dx_want, std::numeric_limits<float>::epsilon() * 16));
            }
        }
    }
}

TEST_F(PoolTest, GradientsMatchFiniteDifferences) {
    for (const PoolCase& c : {cases()[1], cases()[3], cases()[6]}) {
        SCOPED_TRACE(describe(c));
        const mln_pool_params p = params_of(c);
        for (mln_pool_mode mode : {MLN_POOL_MODE_MAX, MLN_POOL_MODE_AVERAGE}) {
            const bool max = mode == MLN_POOL_MODE_MAX;
            HostTensor<double> x(c.x_shape), r(y_shape_of(c)), y(y_shape_of(c)), dx(c.x_shape);
            HostTensor<int64_t> indices(y_shape_of(c));
            fill_random(x);
            fill_random(r);
            ASSERT_EQ(mln_pool_forward(device_, mode, &p, x.desc(), y.desc(), max ? indices.desc() : nullptr),
                      MLN_STATUS_OK);
            ASSERT_EQ(mln_pool_backward(device_, mode, &p, r.desc(), max ? indices.desc() : nullptr, dx.desc()),
                      MLN_STATUS_OK);
            auto loss = [&] {
                EXPECT_EQ(mln_pool_forward(device_, mode, &p, x.desc(), y.desc(), nullptr), MLN_STATUS_OK);
                double sum = 0.0;
                for (int64_t i = 0; i < y.count(); ++i) sum += y.at(i) * r.at(i);
                return sum;
            };
            for (int64_t i = 0; i < x.count(); ++i) {
                const double saved = x.at(i);
                x.at(i) = saved + 1e-6;
                const double plus = loss();
                x.at(i) = saved - 1e-6;
                const double minus = loss();
                x.at(i) = saved;
                EXPECT_NEAR(dx.at(i), (plus - minus) / 2e-6, 1e-6) << (max ? "max" : "average") << " element " << i;
            }
        }
    }
}

TEST_F(PoolTest, RejectsBadArgumentsWithClearMessages) {
    mln_pool_params p{};
    p.spatial_rank = 2;
    p.kernel[0] = p.kernel[1] = 2;
    p.strides[0] = p.strides[1] = 2;
    p.dilations[0] = p.dilations[1] = 1;
    HostTensor<float> x({1, 2, 5, 5}), y({1, 2, 2, 2}), bad_y({1, 2, 3, 2}), dx({1, 2, 5, 5});
    HostTensor<int64_t> indices({1, 2, 2, 2});
    HostTensor<float> indices_f32({1, 2, 2, 2});
    EXPECT_TRUE(failed_with(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, x.desc(), bad_y.desc(), nullptr),
                            MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_pool_forward: y is 1x2x3x2 but x 1x2x5x5 with kernel=[2,2]", "gives 1x2x2x2"}));
    EXPECT_TRUE(failed_with(mln_pool_forward(device_, static_cast<mln_pool_mode>(7), &p, x.desc(), y.desc(), nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"mode is 7"}));
    EXPECT_TRUE(failed_with(mln_pool_forward(device_, MLN_POOL_MODE_AVERAGE, &p, x.desc(), y.desc(), indices.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"indices must be null for average pooling"}));
    EXPECT_TRUE(failed_with(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, x.desc(), y.desc(), indices_f32.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"indices has dtype f32 but must be i64", "or u8 or i32"}));
    EXPECT_TRUE(failed_with(mln_pool_backward(device_, MLN_POOL_MODE_MAX, &p, y.desc(), nullptr, dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_pool_backward: indices is null"}));
    for (int64_t i = 0; i < indices.count(); ++i) indices.at(i) = 0;
    indices.at(5) = 3;  // plane (0, 1) covers [25, 50)
    EXPECT_TRUE(failed_with(mln_pool_backward(device_, MLN_POOL_MODE_MAX, &p, y.desc(), indices.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"indices element 4 is 0 but must be -1 or in [25, 50)"}));
    // -1 (a window without elements) passes; the first bad element is named, whichever plane
    // a thread reaches first.
    for (int64_t i = 0; i < indices.count(); ++i) indices.at(i) = i < 4 ? 0 : 25;
    indices.at(1) = -1;
    indices.at(6) = std::numeric_limits<int64_t>::min();
    indices.at(7) = 50;
    EXPECT_TRUE(failed_with(mln_pool_backward(device_, MLN_POOL_MODE_MAX, &p, y.desc(), indices.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"indices element 6 is -9223372036854775808 but must be -1 or in [25, 50)"}));
    indices.at(6) = 25;
    indices.at(2) = -2;
    EXPECT_TRUE(failed_with(mln_pool_backward(device_, MLN_POOL_MODE_MAX, &p, y.desc(), indices.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"indices element 2 is -2 but must be -1 or in [0, 25)"}));
    indices.at(2) = 0;
    indices.at(7) = 49;
    HostTensor<float> dy({1, 2, 2, 2});
    for (int64_t i = 0; i < dy.count(); ++i) dy.at(i) = static_cast<float>(i + 1);
    ASSERT_EQ(mln_pool_backward(device_, MLN_POOL_MODE_MAX, &p, dy.desc(), indices.desc(), dx.desc()), MLN_STATUS_OK)
        << mln_last_error();
    EXPECT_EQ(dx.at(0), 1.0f + 3.0f + 4.0f);  // element 1 is -1: no share
    EXPECT_EQ(dx.at(25), 5.0f + 6.0f + 7.0f);
    EXPECT_EQ(dx.at(49), 8.0f);
    p.pads_begin[1] = 2;
    EXPECT_TRUE(failed_with(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, x.desc(), y.desc(), nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"smaller than the dilated window extent 2"}));
    p.pads_begin[1] = 1;
    // The workspace: 2x2 windows, the first column's in the padding (its taps 0 and 2). A tap past
    // the window or in the padding is named (the lowest such element); 255 (no element) passes.
    HostTensor<float> y3({1, 2, 2, 3});
    HostTensor<uint8_t> taps3({1, 2, 2, 3});
    for (int64_t i = 0; i < taps3.count(); ++i) taps3.at(i) = 1;
    taps3.at(3) = 4;
    taps3.at(9) = 2;
    EXPECT_TRUE(failed_with(mln_pool_backward(device_, MLN_POOL_MODE_MAX, &p, y3.desc(), taps3.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"indices element 3 is 4 but must be a tap of its window inside dx",
                                                          "(the window has 4 taps) or 255"}));
    taps3.at(3) = 2;
    EXPECT_TRUE(failed_with(mln_pool_backward(device_, MLN_POOL_MODE_MAX, &p, y3.desc(), taps3.desc(), dx.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"indices element 3 is 2 but must be a tap"}));
    taps3.at(3) = 255;
    taps3.at(9) = 1;
    for (int64_t i = 0; i < y3.count(); ++i) y3.at(i) = static_cast<float>(i + 1);
    ASSERT_EQ(mln_pool_backward(device_, MLN_POOL_MODE_MAX, &p, y3.desc(), taps3.desc(), dx.desc()), MLN_STATUS_OK)
        << mln_last_error();
    // Tap 1 is the window's first row, second column: x's (0, 0), (0, 2), (0, 4), (2, 2), (2, 4).
    EXPECT_EQ(dx.at(0), 1.0f);
    EXPECT_EQ(dx.at(2), 2.0f);
    EXPECT_EQ(dx.at(2 * 5 + 0), 0.0f);  // output (1, 0) is 255: no share
    EXPECT_EQ(dx.at(2 * 5 + 2), 5.0f);
    EXPECT_EQ(dx.at(25 + 2 * 5 + 4), 12.0f);
    p.pads_begin[1] = 0;
    // u8 holds windows of up to 255 taps; i32 any the kernels take.
    p.kernel[0] = 16;
    p.kernel[1] = 16;
    p.strides[0] = p.strides[1] = 1;
    HostTensor<float> big_x({1, 1, 16, 16}), big_y({1, 1, 1, 1});
    HostTensor<uint8_t> big_taps({1, 1, 1, 1});
    EXPECT_TRUE(failed_with(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, big_x.desc(), big_y.desc(), big_taps.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"indices is a u8 workspace but the window has 256 taps (at most 255)"}));
    p.kernel[0] = p.kernel[1] = 2;
    p.strides[0] = p.strides[1] = 2;
    p.pads_begin[1] = 0;
    p.kernel[0] = 0;
    EXPECT_TRUE(failed_with(mln_pool_forward(device_, MLN_POOL_MODE_MAX, &p, x.desc(), y.desc(), nullptr),
                            MLN_STATUS_INVALID_ARGUMENT, {"params.kernel[0] is 0"}));
}

}  // namespace
}  // namespace mln::test
