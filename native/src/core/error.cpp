#include "core/error.hpp"

#include <cstdio>

namespace mln {
namespace {

constexpr int kMessageCapacity = 1024;
thread_local char t_last_error[kMessageCapacity] = "";

}  // namespace

void clear_last_error() noexcept { t_last_error[0] = '\0'; }

void set_last_error(const char* function, const char* message) noexcept {
    std::snprintf(t_last_error, kMessageCapacity, "%s: %s", function, message);
}

const char* last_error() noexcept { return t_last_error; }

}  // namespace mln
