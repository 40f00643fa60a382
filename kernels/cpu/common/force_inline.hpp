// Inlining forced or forbidden where it was measured to matter (a kernel's inner step kept in
// registers beside its loop; a loop kept out of a caller whose registers it would spill), spelled
// for each compiler: GCC and Clang take attributes, MSVC its own keywords. Beside them
// MLN_UNROLL(n), before a loop: unroll it n times (fully, for a loop over a register array's
// constant indices, so that the array stays in registers). MLN_CODE_ALIGNED(n), before a
// function: its code starts on an n-byte boundary, so that its loops' place in the instruction
// fetch windows no longer moves with whatever code is linked before it (MSVC: no such control).
#pragma once

#if defined(_MSC_VER) && !defined(__clang__)
#define MLN_ALWAYS_INLINE __forceinline
#define MLN_NOINLINE __declspec(noinline)
#define MLN_LAMBDA_ALWAYS_INLINE [[msvc::forceinline]]
// MSVC has no unroll pragma (it warns about GCC's and ignores it): its optimizer decides.
#define MLN_UNROLL(n)
#define MLN_CODE_ALIGNED(n)
#else
#define MLN_ALWAYS_INLINE __attribute__((always_inline)) inline
#define MLN_NOINLINE __attribute__((noinline))
#define MLN_LAMBDA_ALWAYS_INLINE __attribute__((always_inline))
// Clang takes GCC's spelling too.
#define MLN_PRAGMA(text) _Pragma(#text)
#define MLN_UNROLL(n) MLN_PRAGMA(GCC unroll n)
#define MLN_CODE_ALIGNED(n) __attribute__((aligned(n)))
#endif
