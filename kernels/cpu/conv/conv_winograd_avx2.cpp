// Compiled with AVX2 + FMA: the Winograd transforms 8 tiles (or 8 filters) per register.
#include "kernels/cpu/conv/conv_winograd_body.hpp"

namespace mln::kernels {

WinogradTransforms winograd_transforms_avx2() { return winograd_transforms_of<Avx2Lanes>(); }

}  // namespace mln::kernels
