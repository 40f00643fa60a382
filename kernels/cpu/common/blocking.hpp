// Integer arithmetic of the blocking loops: how many blocks cover a size, a size padded to whole
// blocks, how finely to cut tasks over threads. Internal linkage, as the callers are compiled with
// different ISA flags.
#pragma once

#include <cstdint>

namespace mln::kernels {
namespace {

constexpr int64_t ceil_div(int64_t value, int64_t divisor) { return (value + divisor - 1) / divisor; }
constexpr int64_t round_up(int64_t value, int64_t multiple) { return ceil_div(value, multiple) * multiple; }

// Whether `tasks` equal tasks leave some of `threads` idle at the end and are few enough that
// cutting them finer pays.
constexpr bool tasks_underfill(int64_t tasks, int64_t threads) {
    return tasks % threads != 0 && tasks < 4 * threads;
}

// Whether `tasks` equal tasks keep all of `threads` busy: one thread, or as many tasks as threads
// that do not underfill them (the conv drivers cut their tasks finer until this holds).
constexpr bool tasks_fill_threads(int64_t tasks, int64_t threads) {
    return threads <= 1 || (tasks >= threads && !tasks_underfill(tasks, threads));
}

// Parts (at most max_parts) to cut each of `units` tasks into: as few as fill the threads.
constexpr int64_t parts_to_fill_threads(int64_t units, int64_t max_parts, int64_t threads) {
    int64_t parts = 1;
    while (parts < max_parts && tasks_underfill(units * parts, threads)) ++parts;
    return parts;
}

}  // namespace
}  // namespace mln::kernels
