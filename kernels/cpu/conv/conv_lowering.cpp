#include "kernels/cpu/conv/conv_lowering.hpp"

#include "kernels/cpu/conv/conv_lowering_body.hpp"

namespace mln::kernels {

void lower_column_panels_scalar(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, float* packed) {
    lower_column_panels_body<float, LoopPieceCopier<float>>(x, g, pc, kc, q0, cols, nr, packed);
}
void lower_column_panels_scalar(const double* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, double* packed) {
    lower_column_panels_body<double, LoopPieceCopier<double>>(x, g, pc, kc, q0, cols, nr, packed);
}

}  // namespace mln::kernels
