// Gather, scatter-add and pad against the reference twins; scatter-add as gather's adjoint,
// determinism across thread counts, and argument validation.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/text.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::test {
namespace {

struct GatherCase {
    std::vector<int64_t> table_shape;
    int32_t axis;
    std::vector<int64_t> indices_shape;
};

std::vector<int64_t> rows_shape(const GatherCase& c) {
    const int32_t axis = c.axis < 0 ? c.axis + static_cast<int32_t>(c.table_shape.size()) : c.axis;
    std::vector<int64_t> shape(c.table_shape.begin(), c.table_shape.begin() + axis);
    shape.insert(shape.end(), c.indices_shape.begin(), c.indices_shape.end());
    shape.insert(shape.end(), c.table_shape.begin() + axis + 1, c.table_shape.end());
    return shape;
}

std::vector<GatherCase> gather_cases() {
    return {
        {{4, 5, 3}, 0, {2, 3}}, {{4, 5, 3}, 1, {7}},   {{4, 5, 3}, 2, {2, 2}}, {{4, 5, 3}, -1, {}},
        {{6}, 0, {9}},          {{3, 4}, 1, {0}},      {{10, 33}, 0, {17}},    {{2, 300, 2}, 1, {5}},
        {{0, 4}, 1, {3}},
    };
}

template <class I>
void fill_indices(HostTensor<I>& indices, int64_t axis_size) {
    for (int64_t i = 0; i < indices.count(); ++i) indices.at(i) = static_cast<I>(uniform_int(-axis_size, axis_size - 1));
}

template <class T, class I>
void check_gather_and_scatter(mln_device* device, const GatherCase& c) {
    SCOPED_TRACE(cat("table rank ", c.table_shape.size(), " axis ", c.axis, " indices rank ", c.indices_shape.size(),
                     " sizeof(T) ", sizeof(T), " sizeof(I) ", sizeof(I)));
    const int32_t axis = c.axis < 0 ? c.axis + static_cast<int32_t>(c.table_shape.size()) : c.axis;
    HostTensor<T> x(c.table_shape), y(rows_shape(c)), y_want(rows_shape(c));
    HostTensor<I> indices(c.indices_shape);
    for (int64_t i = 0; i < x.count(); ++i) x.at(i) = static_cast<T>(uniform_int(-50, 50));
    fill_indices(indices, c.table_shape[static_cast<size_t>(axis)]);
    ASSERT_EQ(mln_gather(device, x.desc(), c.axis, indices.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::gather<T>(x.view(), axis, indices.view(), y_want.view());
    EXPECT_TRUE(same_elements(y, y_want)) << "gather";

    HostTensor<T> table(c.table_shape), table_want(c.table_shape);
    for (int64_t i = 0; i < table.count(); ++i) table.at(i) = table_want.at(i) = static_cast<T>(uniform_int(-50, 50));
    ASSERT_EQ(mln_scatter_add(device, y.desc(), c.axis, indices.desc(), table.desc()), MLN_STATUS_OK)
        << mln_last_error();
    reference::scatter_add<T>(y.view(), axis, indices.view(), table_want.view());
    EXPECT_TRUE(same_elements(table, table_want)) << "scatter_add";
}

class IndexingTest : public CpuDeviceTest {};

TEST_F(IndexingTest, GatherAndScatterAddMatchReference) {
    for (const GatherCase& c : gather_cases()) {
        check_gather_and_scatter<float, int64_t>(device_, c);
        check_gather_and_scatter<double, int32_t>(device_, c);
        check_gather_and_scatter<int32_t, int32_t>(device_, c);
        check_gather_and_scatter<int64_t, int64_t>(device_, c);
    }
}

// <gather(x), u> = <x, scatter_add(u)>: scatter-add is gather's adjoint (its gradient).
TEST_F(IndexingTest, ScatterAddIsTheAdjointOfGather) {
    HostTensor<double> x({7, 4}), y({3, 5, 4}), u({3, 5, 4}), dx({7, 4});
    HostTensor<int64_t> indices({3, 5});
    fill_random(x);
    fill_random(u);
    fill_indices(indices, 7);
    ASSERT_EQ(mln_gather(device_, x.desc(), 0, indices.desc(), y.desc()), MLN_STATUS_OK);
    ASSERT_EQ(mln_scatter_add(device_, u.desc(), 0, indices.desc(), dx.desc()), MLN_STATUS_OK);
    double left = 0.0, right = 0.0;
    for (int64_t i = 0; i < y.count(); ++i) left += y.at(i) * u.at(i);
    for (int64_t i = 0; i < x.count(); ++i) right += x.at(i) * dx.at(i);
    EXPECT_NEAR(left, right, 1e-10 * (1 + std::fabs(left)));
}

// Many updates to few rows (an embedding gradient): bitwise the same with 1 thread and with 3.
TEST_F(IndexingTest, ScatterAddIsDeterministicAcrossThreadCounts) {
    HostTensor<float> updates({400, 700});
    HostTensor<int32_t> indices({400});
    fill_random(updates);
    fill_indices(indices, 5);
    std::vector<std::vector<float>> results;
    at_thread_counts(device_, {1, 3, 2}, [&] {
        HostTensor<float> table({5, 700});
        ASSERT_EQ(mln_scatter_add(device_, updates.desc(), 0, indices.desc(), table.desc()), MLN_STATUS_OK);
        results.push_back(table.storage());
    });
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)), 0);
    EXPECT_EQ(std::memcmp(results[0].data(), results[2].data(), results[0].size() * sizeof(float)), 0);
}

TEST_F(IndexingTest, OutOfRangeIndexFailsNamingValueAndPositionAndWritesNothing) {
    HostTensor<float> x({3, 5}), y({3, 2, 2});
    HostTensor<int64_t> indices({2, 2});
    indices.at(0) = 0;
    indices.at(1) = -5;
    indices.at(2) = 4;
    indices.at(3) = 7;
    for (int64_t i = 0; i < y.count(); ++i) y.at(i) = 42.0f;
    EXPECT_TRUE(failed_with(mln_gather(device_, x.desc(), 1, indices.desc(), y.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_gather: indices[1,1] is 7 but x has 5 along axis 1 (valid -5..4)"}));
    for (int64_t i = 0; i < y.count(); ++i) EXPECT_EQ(y.at(i), 42.0f);
    HostTensor<float> table({3, 5});
    indices.at(3) = -6;
    EXPECT_TRUE(failed_with(mln_scatter_add(device_, y.desc(), 1, indices.desc(), table.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_scatter_add: indices[1,1] is -6 but y has 5 along axis 1"}));
    for (int64_t i = 0; i < table.count(); ++i) EXPECT_EQ(table.at(i), 0.0f);
}

TEST_F(IndexingTest, GatherRejectsBadShapesAxesAndDtypes) {
    HostTensor<float> x({3, 5}), y({3, 2}), bad_y({2, 2});
    HostTensor<int64_t> indices({2});
    HostTensor<float> float_indices({2});
    EXPECT_TRUE(failed_with(mln_gather(device_, x.desc(), 1, indices.desc(), bad_y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT,
                            {"y is 2x2 but x 3x5 indexed along axis 1 by indices 2 gives 3x2"}));
    EXPECT_TRUE(failed_with(mln_gather(device_, x.desc(), 2, indices.desc(), y.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"axis is 2 but x has rank 2 (valid axes are -2..1)"}));
    EXPECT_TRUE(failed_with(mln_gather(device_, x.desc(), 1, float_indices.desc(), y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"indices has dtype f32 but must be i32 or i64"}));
    HostTensor<uint8_t> bytes({3, 5}), byte_rows({3, 2});
    EXPECT_TRUE(failed_with(mln_scatter_add(device_, byte_rows.desc(), 1, indices.desc(), bytes.desc()),
                            MLN_STATUS_NOT_SUPPORTED, {"scatter_add supports f32, f64, i32 and i64"}));
}

struct PadCase {
    std::vector<int64_t> shape, begin, end;
};

template <class T>
void check_pad(mln_device* device, mln_pad_mode mode, const PadCase& c) {
    SCOPED_TRACE(cat("mode ", mode, " rank ", c.shape.size()));
    std::vector<int64_t> y_shape;
    for (size_t d = 0; d < c.shape.size(); ++d) y_shape.push_back(c.shape[d] + c.begin[d] + c.end[d]);
    HostTensor<T> x(c.shape), y(y_shape), y_want(y_shape);
    for (int64_t i = 0; i < x.count(); ++i) x.at(i) = static_cast<T>(uniform_int(-100, 100));
    ASSERT_EQ(mln_pad(device, mode, x.desc(), c.begin.data(), c.end.data(), 7.0, y.desc()), MLN_STATUS_OK)
        << mln_last_error();
    reference::pad<T>(mode, x.view(), c.begin.data(), static_cast<T>(7), y_want.view());
    EXPECT_TRUE(same_elements(y, y_want));
}

TEST_F(IndexingTest, PadMatchesReferenceInEveryModeWithCropping) {
    const std::vector<PadCase> cases = {
        {{3, 4}, {1, 2}, {2, 3}},       {{5}, {4, 0}, {0, 4}},          {{2, 3, 4}, {1, 0, 3}, {0, 1, 2}},
        {{4, 6}, {-1, 2}, {1, -3}},     {{3, 5}, {-3, 0}, {2, -5}},     {{1, 1, 2, 9}, {0, 0, 1, 8}, {0, 0, 1, 8}},
        {{2, 2}, {0, 0}, {0, 0}},       {{6, 1}, {2, 0}, {-2, 0}},
    };
    for (const PadCase& c : cases) {
        for (mln_pad_mode mode : {MLN_PAD_MODE_CONSTANT, MLN_PAD_MODE_REFLECT, MLN_PAD_MODE_EDGE}) {
            bool reflect_ok = true;
            for (size_t d = 0; d < c.shape.size(); ++d) {
                if ((c.begin[d] > 0 || c.end[d] > 0) && (c.begin[d] > c.shape[d] - 1 || c.end[d] > c.shape[d] - 1)) {
                    reflect_ok = false;
                }
            }
            if (mode == MLN_PAD_MODE_REFLECT && !reflect_ok) continue;
            check_pad<float>(device_, mode, c);
            check_pad<int64_t>(device_, mode, c);
        }
    }
}

TEST_F(IndexingTest, PadRejectsBadArguments) {
    HostTensor<float> x({3, 4}), y({5, 4}), bad_y({5, 5});
    const int64_t begin[] = {1, 0};
    const int64_t end[] = {1, 0};
    EXPECT_TRUE(failed_with(mln_pad(device_, MLN_PAD_MODE_CONSTANT, x.desc(), begin, end, 0.0, bad_y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_pad: y is 5x5 but x 3x4 padded gives 5x4"}));
    const int64_t big[] = {3, 0};
    HostTensor<float> y_big({9, 4});
    EXPECT_TRUE(failed_with(mln_pad(device_, MLN_PAD_MODE_REFLECT, x.desc(), big, big, 0.0, y_big.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"reflect pads_begin[0] = 3 and pads_end[0] = 3 must be at most 2"}));
    const int64_t crop[] = {-2, 0};
    HostTensor<float> y_crop({-1 + 2, 4});
    EXPECT_TRUE(failed_with(mln_pad(device_, MLN_PAD_MODE_CONSTANT, x.desc(), crop, crop, 0.0, y_crop.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"crop more than x's dimension 0 (3)"}));
    EXPECT_TRUE(failed_with(mln_pad(device_, static_cast<mln_pad_mode>(9), x.desc(), begin, end, 0.0, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mode is 9"}));
    EXPECT_TRUE(failed_with(mln_pad(device_, MLN_PAD_MODE_EDGE, x.desc(), nullptr, end, 0.0, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"pads_begin and pads_end must not be null"}));
}

}  // namespace
}  // namespace mln::test
