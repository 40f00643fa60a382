// Error handling at the C boundary.
//
// Internal code reports caller errors by throwing mln::Error with a status and a message that
// does not name the entry point; guard() catches everything at the boundary, prefixes the
// entry point's name ("mln_gemm: ...") and stores the text in a thread-local buffer.
//
// Every guarded entry clears the thread's message first, so mln_last_error() returns "" after
// a successful call and the message of the failure otherwise.
#pragma once

#include <myelin.h>

#include <exception>
#include <new>
#include <string>
#include <utility>

namespace mln {

class Error : public std::exception {
public:
    Error(mln_status status, std::string message) : status_(status), message_(std::move(message)) {}

    mln_status status() const noexcept { return status_; }
    const char* what() const noexcept override { return message_.c_str(); }

private:
    mln_status status_;
    std::string message_;
};

// Thread-local message storage. Fixed-size so that reporting an out-of-memory error never
// allocates; longer messages are truncated.
void clear_last_error() noexcept;
void set_last_error(const char* function, const char* message) noexcept;
const char* last_error() noexcept;

// Runs body() and converts every exception into a status plus a message for this thread.
template <class Body>
mln_status guard(const char* function, Body&& body) noexcept {
    clear_last_error();
    try {
        std::forward<Body>(body)();
        return MLN_STATUS_OK;
    } catch (const Error& error) {
        set_last_error(function, error.what());
        return error.status();
    } catch (const std::bad_alloc&) {
        set_last_error(function, "out of memory");
        return MLN_STATUS_OUT_OF_MEMORY;
    } catch (const std::exception& error) {
        set_last_error(function, error.what());
        return MLN_STATUS_INTERNAL;
    } catch (...) {
        set_last_error(function, "unknown internal error");
        return MLN_STATUS_INTERNAL;
    }
}

}  // namespace mln
