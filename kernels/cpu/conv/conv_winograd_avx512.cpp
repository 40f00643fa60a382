// Compiled with AVX-512: the Winograd transforms 16 tiles (or 16 filters) per register.
#include "kernels/cpu/conv/conv_winograd_body.hpp"

namespace mln::kernels {

WinogradTransforms winograd_transforms_avx512() { return winograd_transforms_of<Avx512Lanes>(); }

}  // namespace mln::kernels
