// GatherElements, ScatterElements (every reduction), GatherND (batch_dims), ScatterND and Trilu
// against their reference twins; scatter-add as gather_elements' adjoint; argument validation.
#include <cmath>
#include <string>
#include <vector>

#include "core/text.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::test {
namespace {

template <class I>
void fill_indices(HostTensor<I>& indices, int64_t axis_size) {
    for (int64_t i = 0; i < indices.count(); ++i) indices.at(i) = static_cast<I>(uniform_int(-axis_size, axis_size - 1));
}

template <class T>
void fill_small(HostTensor<T>& tensor) {
    for (int64_t i = 0; i < tensor.count(); ++i) tensor.at(i) = static_cast<T>(uniform_int(-4, 4));
}

struct ElementCase {
    std::vector<int64_t> table_shape;
    int32_t axis;
    std::vector<int64_t> indices_shape;
};

template <class T, class I>
void check_elements(mln_device* device, const ElementCase& c) {
    SCOPED_TRACE(cat("table rank ", c.table_shape.size(), " axis ", c.axis, " sizeof(T) ", sizeof(T)));
    const int32_t axis = c.axis < 0 ? c.axis + static_cast<int32_t>(c.table_shape.size()) : c.axis;
    const int64_t axis_size = c.table_shape[static_cast<size_t>(axis)];
    HostTensor<T> x(c.table_shape), y(c.indices_shape), y_want(c.indices_shape);
    HostTensor<I> indices(c.indices_shape);
    fill_small(x);
    fill_indices(indices, axis_size);
    ASSERT_EQ(mln_gather_elements(device, x.desc(), c.axis, indices.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::gather_elements<T>(x.view(), axis, indices.view(), y_want.view());
    EXPECT_TRUE(same_elements(y, y_want)) << "gather_elements";

    for (mln_scatter_reduction reduction : {MLN_SCATTER_REDUCTION_NONE, MLN_SCATTER_REDUCTION_ADD,
                                            MLN_SCATTER_REDUCTION_MUL, MLN_SCATTER_REDUCTION_MAX,
                                            MLN_SCATTER_REDUCTION_MIN}) {
        HostTensor<T> table(c.table_shape), table_want(c.table_shape);
        fill_small(table);
        for (int64_t i = 0; i < table.count(); ++i) table_want.at(i) = table.at(i);
        ASSERT_EQ(mln_scatter_elements(device, reduction, y.desc(), c.axis, indices.desc(), table.desc()), MLN_STATUS_OK)
            << mln_last_error();
        reference::scatter_elements<T>(reduction, y.view(), axis, indices.view(), table_want.view());
        EXPECT_TRUE(same_elements(table, table_want)) << "scatter_elements reduction " << reduction;
    }
}

class ElementIndexTest : public CpuDeviceTest {};

TEST_F(ElementIndexTest, GatherAndScatterElementsMatchReference) {
    const std::vector<ElementCase> cases = {
        {{4, 5, 3}, 0, {6, 5, 3}}, {{4, 5, 3}, 1, {4, 2, 3}}, {{4, 5, 3}, -1, {2, 3, 7}},
        {{6}, 0, {9}},             {{3, 4}, 1, {3, 0}},       {{40, 33}, 0, {50, 20}},
    };
    for (const ElementCase& c : cases) {
        check_elements<float, int64_t>(device_, c);
        check_elements<double, int32_t>(device_, c);
        check_elements<int32_t, int32_t>(device_, c);
        check_elements<int64_t, int64_t>(device_, c);
    }
}

// <gather_elements(x), u> = <x, scatter_elements_add(u) on zeros>: the gradient of GatherElements.
TEST_F(ElementIndexTest, ScatterAddIsTheAdjointOfGatherElements) {
    HostTensor<double> x({5, 4}), y({7, 4}), u({7, 4}), dx({5, 4});
    HostTensor<int64_t> indices({7, 4});
    fill_random(x);
    fill_random(u);
    fill_indices(indices, 5);
    ASSERT_EQ(mln_gather_elements(device_, x.desc(), 0, indices.desc(), y.desc()), MLN_STATUS_OK);
    ASSERT_EQ(mln_scatter_elements(device_, MLN_SCATTER_REDUCTION_ADD, u.desc(), 0, indices.desc(), dx.desc()),
              MLN_STATUS_OK);
    double left = 0.0, right = 0.0;
    for (int64_t i = 0; i < y.count(); ++i) left += y.at(i) * u.at(i);
    for (int64_t i = 0; i < x.count(); ++i) right += x.at(i) * dx.at(i);
    EXPECT_NEAR(left, right, 1e-10 * (1 + std::fabs(left)));
}

TEST_F(ElementIndexTest, ElementIndexingRejectsBadIndicesAndShapes) {
    HostTensor<float> x({3, 5}), y({2, 2});
    HostTensor<int64_t> indices({2, 2});
    indices.at(3) = 5;
    for (int64_t i = 0; i < y.count(); ++i) y.at(i) = 42.0f;
    EXPECT_TRUE(failed_with(mln_gather_elements(device_, x.desc(), 1, indices.desc(), y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_gather_elements: indices[1,1] is 5 but x has 5 along axis 1 (valid -5..4)"}));
    for (int64_t i = 0; i < y.count(); ++i) EXPECT_EQ(y.at(i), 42.0f);
    indices.at(3) = 0;
    HostTensor<int64_t> wide({4, 2});
    HostTensor<float> wide_y({4, 2});
    EXPECT_TRUE(failed_with(mln_gather_elements(device_, x.desc(), 1, wide.desc(), wide_y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"dimension 0 of indices exceeds x's"}));
    HostTensor<int64_t> flat({4});
    EXPECT_TRUE(failed_with(mln_scatter_elements(device_, MLN_SCATTER_REDUCTION_NONE, y.desc(), 0, flat.desc(), x.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"indices is 4 but must have y's rank 2"}));
    EXPECT_TRUE(failed_with(mln_scatter_elements(device_, static_cast<mln_scatter_reduction>(7), y.desc(), 0,
                                                 indices.desc(), x.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"reduction is 7"}));
    HostTensor<uint8_t> bytes({3, 5}), byte_updates({2, 2});
    EXPECT_TRUE(failed_with(mln_scatter_elements(device_, MLN_SCATTER_REDUCTION_MUL, byte_updates.desc(), 0,
                                                 indices.desc(), bytes.desc()),
                            MLN_STATUS_NOT_SUPPORTED, {"support f32, f64, i32 and i64"}));
    EXPECT_EQ(mln_scatter_elements(device_, MLN_SCATTER_REDUCTION_NONE, byte_updates.desc(), 0, indices.desc(),
                                   bytes.desc()),
              MLN_STATUS_OK);
}

struct NdCase {
    std::vector<int64_t> table_shape;
    int32_t batch_dims;
    std::vector<int64_t> indices_shape;
};

std::vector<int64_t> nd_rows_shape(const NdCase& c) {
    std::vector<int64_t> shape(c.indices_shape.begin(), c.indices_shape.end() - 1);
    const size_t first = static_cast<size_t>(c.batch_dims + c.indices_shape.back());
    shape.insert(shape.end(), c.table_shape.begin() + static_cast<std::ptrdiff_t>(first), c.table_shape.end());
    return shape;
}

template <class T, class I>
void check_nd(mln_device* device, const NdCase& c) {
    SCOPED_TRACE(cat("table rank ", c.table_shape.size(), " batch_dims ", c.batch_dims, " depth ", c.indices_shape.back()));
    HostTensor<T> x(c.table_shape), y(nd_rows_shape(c)), y_want(nd_rows_shape(c));
    HostTensor<I> indices(c.indices_shape);
    fill_small(x);
    const int64_t depth = c.indices_shape.back();
    for (int64_t i = 0; i < indices.count(); ++i) {
        const int64_t n = c.table_shape[static_cast<size_t>(c.batch_dims + i % depth)];
        indices.at(i) = static_cast<I>(uniform_int(-n, n - 1));
    }
    ASSERT_EQ(mln_gather_nd(device, x.desc(), c.batch_dims, indices.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
    reference::gather_nd<T>(x.view(), c.batch_dims, indices.view(), y_want.view());
    EXPECT_TRUE(same_elements(y, y_want)) << "gather_nd";
    for (mln_scatter_reduction reduction : {MLN_SCATTER_REDUCTION_NONE, MLN_SCATTER_REDUCTION_ADD,
                                            MLN_SCATTER_REDUCTION_MUL, MLN_SCATTER_REDUCTION_MAX,
                                            MLN_SCATTER_REDUCTION_MIN}) {
        HostTensor<T> table(c.table_shape), table_want(c.table_shape);
        fill_small(table);
        for (int64_t i = 0; i < table.count(); ++i) table_want.at(i) = table.at(i);
        ASSERT_EQ(mln_scatter_nd(device, reduction, y.desc(), c.batch_dims, indices.desc(), table.desc()), MLN_STATUS_OK)
            << mln_last_error();
        reference::scatter_nd<T>(reduction, y.view(), c.batch_dims, indices.view(), table_want.view());
        EXPECT_TRUE(same_elements(table, table_want)) << "scatter_nd reduction " << reduction;
    }
}

TEST_F(ElementIndexTest, GatherAndScatterNdMatchReference) {
    const std::vector<NdCase> cases = {
        {{4, 5, 3}, 0, {6, 1}}, {{4, 5, 3}, 0, {2, 3, 2}}, {{4, 5, 3}, 0, {7, 3}}, {{4, 5, 3}, 1, {4, 2, 2}},
        {{2, 3, 4, 2}, 2, {2, 3, 5, 1}}, {{6}, 0, {9, 1}},  {{3, 4}, 0, {0, 2}},
    };
    for (const NdCase& c : cases) {
        check_nd<float, int64_t>(device_, c);
        check_nd<double, int32_t>(device_, c);
        check_nd<int32_t, int64_t>(device_, c);
        check_nd<int64_t, int32_t>(device_, c);
    }
}

TEST_F(ElementIndexTest, NdIndexingRejectsBadIndicesAndShapes) {
    HostTensor<float> x({3, 5}), y({2});
    HostTensor<int64_t> indices({2, 2});
    indices.at(2) = -4;
    EXPECT_TRUE(failed_with(mln_gather_nd(device_, x.desc(), 0, indices.desc(), y.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"indices tuple 1 (flat element 2) holds -4 but x 3x5 has 3 along dimension 0 (valid -3..2)"}));
    HostTensor<int64_t> deep({2, 3});
    EXPECT_TRUE(failed_with(mln_gather_nd(device_, x.desc(), 0, deep.desc(), y.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"its last dimension (3) must be 1..2"}));
    HostTensor<float> bad_y({2, 5});
    EXPECT_TRUE(failed_with(mln_gather_nd(device_, x.desc(), 0, indices.desc(), bad_y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"y is 2x5 but x 3x5 addressed by indices 2x2 with batch_dims 0 gives 2"}));
    EXPECT_TRUE(failed_with(mln_gather_nd(device_, x.desc(), 2, indices.desc(), y.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"batch_dims is 2"}));
}

TEST_F(ElementIndexTest, TriluMatchesReferenceForEveryDiagonal) {
    for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{4, 5}, {2, 3, 3}, {3, 1, 6}, {5, 2}, {0, 4}}) {
        for (int64_t k : {-7, -2, -1, 0, 1, 3, 9}) {
            for (int32_t upper : {0, 1}) {
                SCOPED_TRACE(cat("rank ", shape.size(), " k ", k, " upper ", upper));
                HostTensor<float> x(shape), y(shape), y_want(shape);
                fill_random(x);
                ASSERT_EQ(mln_trilu(device_, upper, k, x.desc(), y.desc()), MLN_STATUS_OK) << mln_last_error();
                reference::trilu<float>(upper != 0, k, x.view(), y_want.view());
                EXPECT_TRUE(same_elements(y, y_want));
                HostTensor<int64_t> xi(shape), yi(shape), yi_want(shape);
                fill_small(xi);
                ASSERT_EQ(mln_trilu(device_, upper, k, xi.desc(), yi.desc()), MLN_STATUS_OK) << mln_last_error();
                reference::trilu<int64_t>(upper != 0, k, xi.view(), yi_want.view());
                EXPECT_TRUE(same_elements(yi, yi_want));
            }
        }
    }
}

TEST_F(ElementIndexTest, TriluRejectsVectorsAndShapeMismatch) {
    HostTensor<float> v({4}), m({2, 2}), other({2, 3});
    EXPECT_TRUE(failed_with(mln_trilu(device_, 1, 0, v.desc(), v.desc()), MLN_STATUS_INVALID_ARGUMENT,
                            {"mln_trilu: x is 4 but must have rank >= 2"}));
    EXPECT_FALSE(mln_trilu(device_, 1, 0, m.desc(), other.desc()) == MLN_STATUS_OK);
}

}  // namespace
}  // namespace mln::test
