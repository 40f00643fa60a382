#include "core/shape.hpp"

#include "core/error.hpp"
#include "test_support.hpp"

namespace mln::test {
namespace {

TEST(Shape, ToString) {
    const int64_t dims[] = {2, 0, 7};
    EXPECT_EQ(shape_to_string(3, dims), "2x0x7");
    EXPECT_EQ(shape_to_string(0, dims), "scalar");
}

TEST(Shape, BroadcastShapes) {
    HostTensor<float> a({4, 1, 3});
    HostTensor<float> b({5, 1});
    const Shape s = broadcast_shapes("a", a.view(), "b", b.view());
    ASSERT_EQ(s.rank, 3);
    EXPECT_EQ(s.dims[0], 4);
    EXPECT_EQ(s.dims[1], 5);
    EXPECT_EQ(s.dims[2], 3);
    HostTensor<float> scalar({});
    EXPECT_EQ(broadcast_shapes("a", scalar.view(), "b", scalar.view()).rank, 0);
    HostTensor<float> zero({0, 3});
    HostTensor<float> one({1, 3});
    EXPECT_EQ(broadcast_shapes("a", zero.view(), "b", one.view()).dims[0], 0);
    try {
        HostTensor<float> c({5, 2});
        broadcast_shapes("a", a.view(), "b", c.view());
        FAIL() << "expected an error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), MLN_STATUS_INVALID_ARGUMENT);
        EXPECT_STREQ(error.what(), "a is 4x1x3 and b is 5x2: dimension 2 (3 vs 2) cannot broadcast");
    }
}

TEST(Shape, BroadcastViewUsesZeroStrides) {
    HostTensor<float> b({5, 1});
    const int64_t shape[] = {4, 5, 3};
    const TensorView v = broadcast_view(b.view(), 3, shape);
    EXPECT_EQ(v.rank, 3);
    EXPECT_EQ(v.element_count, 60);
    EXPECT_EQ(v.strides[0], 0);
    EXPECT_EQ(v.strides[1], 1);
    EXPECT_EQ(v.strides[2], 0);
}

}  // namespace
}  // namespace mln::test
