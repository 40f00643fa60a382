// Inlining forced or forbidden where it was measured to matter (a kernel's inner step kept in
// registers beside its loop; a loop kept out of a caller whose registers it would spill), spelled
// for each compiler: GCC and Clang take attributes, MSVC its own keywords.
#pragma once

#if defined(_MSC_VER) && !defined(__clang__)
#define MLN_ALWAYS_INLINE __forceinline
#define MLN_NOINLINE __declspec(noinline)
#define MLN_LAMBDA_ALWAYS_INLINE [[msvc::forceinline]]
#else
#define MLN_ALWAYS_INLINE __attribute__((always_inline)) inline
#define MLN_NOINLINE __attribute__((noinline))
#define MLN_LAMBDA_ALWAYS_INLINE __attribute__((always_inline))
#endif
