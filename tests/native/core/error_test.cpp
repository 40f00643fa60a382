#include "core/error.hpp"

#include <stdexcept>
#include <string>

#include "test_support.hpp"

namespace mln::test {
namespace {

TEST(Guard, ReturnsOkAndClearsMessage) {
    set_last_error("mln_x", "stale");
    EXPECT_EQ(guard("mln_ok", [] {}), MLN_STATUS_OK);
    EXPECT_STREQ(last_error(), "");
}

TEST(Guard, ConvertsEveryExceptionKind) {
    EXPECT_EQ(guard("mln_a", [] { throw Error(MLN_STATUS_NOT_SUPPORTED, "nope 7"); }), MLN_STATUS_NOT_SUPPORTED);
    EXPECT_STREQ(last_error(), "mln_a: nope 7");
    EXPECT_EQ(guard("mln_b", [] { throw std::bad_alloc(); }), MLN_STATUS_OUT_OF_MEMORY);
    EXPECT_STREQ(last_error(), "mln_b: out of memory");
    EXPECT_EQ(guard("mln_c", [] { throw std::runtime_error("boom"); }), MLN_STATUS_INTERNAL);
    EXPECT_STREQ(last_error(), "mln_c: boom");
    EXPECT_EQ(guard("mln_d", [] { throw 42; }), MLN_STATUS_INTERNAL);
    EXPECT_STREQ(last_error(), "mln_d: unknown internal error");
}

TEST(Guard, LongMessagesAreTruncatedNotOverflowed) {
    const std::string long_text(5000, 'z');
    EXPECT_EQ(guard("mln_long", [&] { throw Error(MLN_STATUS_INVALID_ARGUMENT, long_text); }),
              MLN_STATUS_INVALID_ARGUMENT);
    const std::string message = last_error();
    EXPECT_EQ(message.rfind("mln_long: zzz", 0), 0u);
    EXPECT_LT(message.size(), 1024u);
}

}  // namespace
}  // namespace mln::test
