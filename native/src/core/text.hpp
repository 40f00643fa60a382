// Message building. g++ 12 ships no <format>, so messages are concatenated with a stream.
#pragma once

#include <sstream>
#include <string>
#include <utility>

namespace mln {

// Concatenates the stream representations of all arguments: cat("a is ", 2, "x", 3).
template <class... Args>
std::string cat(Args&&... args) {
    std::ostringstream stream;
    (stream << ... << std::forward<Args>(args));
    return stream.str();
}

}  // namespace mln
