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

// thread_scratch's object through a pointer the compiler cannot trace back to the thread_local:
// in this shared library GCC recomputes a thread_local's address (a __tls_get_addr call) at its
// uses, inside loops too, rather than keep it in a register, and propagates it into clones of
// the callees it is passed to (max pooling's plane loop: 62 such calls, 5% of its samples).
template <class Scratch, class Tag = Scratch>
Scratch& thread_scratch_in_register() {
    Scratch* scratch = &thread_scratch<Scratch, Tag>();
#if defined(__GNUC__)
    __asm__("" : "+r"(scratch));
#endif
    return *scratch;
}

}  // namespace
}  // namespace mln::kernels
