// Scratch that a kernel keeps per thread between calls (column blocks, packed panels,
// transformed tiles), so that steady calls allocate nothing. One object per (type, tag): the
// tag, a type named by the caller, keeps two scratch areas of one type apart. Internal linkage:
// the callers are compiled with different ISA flags and must not share one copy.
#pragma once

#include <vector>

namespace mln::kernels {
namespace {

template <class Scratch, class Tag = Scratch>
Scratch& thread_scratch() {
    thread_local Scratch scratch;
    return scratch;
}

// A growable per-thread buffer of T named by Tag.
template <class T, class Tag>
std::vector<T>& thread_buffer() {
    return thread_scratch<std::vector<T>, Tag>();
}

}  // namespace
}  // namespace mln::kernels
