// checked_mul / checked_add at the int64 limits (validation sizes every tensor argument with them).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "core/checked_math.hpp"

namespace mln::test {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

TEST(CheckedMath, MultiplyDetectsOverflowAtTheLimit) {
    int64_t result = -1;
    EXPECT_TRUE(checked_mul(0, kMax, &result));
    EXPECT_EQ(result, 0);
    EXPECT_TRUE(checked_mul(kMax, 1, &result));
    EXPECT_EQ(result, kMax);
    EXPECT_TRUE(checked_mul(int64_t{3037000499}, int64_t{3037000499}, &result));  // floor(sqrt(2^63 - 1))
    EXPECT_EQ(result, int64_t{3037000499} * int64_t{3037000499});
    EXPECT_FALSE(checked_mul(int64_t{3037000500}, int64_t{3037000500}, &result));
    EXPECT_TRUE(checked_mul(kMax / 2, 2, &result));
    EXPECT_EQ(result, kMax - 1);
    EXPECT_FALSE(checked_mul(kMax / 2 + 1, 2, &result));  // exactly 2^63
    EXPECT_FALSE(checked_mul(int64_t{1} << 31, int64_t{1} << 32, &result));
    EXPECT_FALSE(checked_mul(kMax, kMax, &result));
    static_assert([] {
        int64_t r = 0;
        return checked_mul(6, 7, &r) && r == 42;
    }());
}

TEST(CheckedMath, AddDetectsOverflowAtTheLimit) {
    int64_t result = -1;
    EXPECT_TRUE(checked_add(kMax - 5, 5, &result));
    EXPECT_EQ(result, kMax);
    EXPECT_FALSE(checked_add(kMax - 5, 6, &result));
}

}  // namespace
}  // namespace mln::test
