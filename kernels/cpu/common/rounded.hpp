// v, rounded as its own operation. GCC contracts a * b - c into one FMA in C++ even in ISO mode
// wherever FMA is enabled (the ISA files), which keeps the product's rounding error: where a
// vector kernel must round as written (as the scalar code it mirrors), rounded(a * b) - c.
#pragma once

namespace mln::kernels {

template <class R>
R rounded(R v) {
#if defined(__GNUC__) && defined(__FMA__)
    __asm__("" : "+v"(v));
#endif
    return v;
}

}  // namespace mln::kernels
