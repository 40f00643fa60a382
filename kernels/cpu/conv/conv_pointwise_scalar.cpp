// Portable pointwise strip kernels (the baseline ISA of the target): 4 x 4 scalar tiles, whose
// 16 independent sums the compiler may keep in registers and vectorize as it can.
#include "kernels/cpu/conv/conv_pointwise_body.hpp"

namespace mln::kernels {
namespace {

// One-lane registers: a "masked" tile is just a narrower one (V = its columns), so masks are
// always all-true.
template <class T>
struct ScalarLanes {
    using Scalar = T;
    using Reg = T;
    using Mask = bool;
    static constexpr int64_t width = 1;
    static Mask first(int64_t) { return true; }
    static Reg load(const T* p) { return *p; }
    static Reg load(const T* p, Mask) { return *p; }
    static void store(T* p, Reg v) { *p = v; }
    static void store(T* p, Reg v, Mask) { *p = v; }
    static Reg broadcast(const T* p) { return *p; }
    static Reg set1(T v) { return v; }
    static Reg zero() { return T(0); }
    static Reg add(Reg a, Reg b) { return a + b; }
    static Reg fmadd(Reg a, Reg b, Reg c) { return a * b + c; }
    // As max(0, x) on x86: 0 only where 0 > x, so NaN comes through.
    static Reg relu(Reg x) { return T(0) > x ? T(0) : x; }
    static T sum(Reg v) { return v; }
    static void prefetch(const T*) {}
};

using FloatBody = PointwiseStripBody<ScalarLanes<float>, 4, 4>;
using DoubleBody = PointwiseStripBody<ScalarLanes<double>, 4, 4>;

using FloatDot = PointwiseDotBody<ScalarLanes<float>, 2, 2>;
using DoubleDot = PointwiseDotBody<ScalarLanes<double>, 2, 2>;

void strip_f32(const PointwiseStrip<float>& s) { FloatBody::strip(s); }
void strip_f64(const PointwiseStrip<double>& s) { DoubleBody::strip(s); }
void tail_f32(const PointwiseStrip<float>& s) { FloatBody::tail(s); }
void tail_f64(const PointwiseStrip<double>& s) { DoubleBody::tail(s); }
void dot_f32(const PointwiseDot<float>& d) { FloatDot::dot(d); }
void dot_f64(const PointwiseDot<double>& d) { DoubleDot::dot(d); }

using FloatSpread = PointwiseSpreadBody<ScalarLanes<float>>;
using DoubleSpread = PointwiseSpreadBody<ScalarLanes<double>>;

}  // namespace

PointwiseKernelInfo<float> pointwise_kernel_scalar(float) {
    return {strip_f32, 4, FloatBody::kColumns, tail_f32, dot_f32, 2, 2, 1, 0, 0, FloatSpread::spread_columns};
}
PointwiseKernelInfo<double> pointwise_kernel_scalar(double) {
    return {strip_f64, 4, DoubleBody::kColumns, tail_f64, dot_f64, 2, 2, 1, 0, 0, DoubleSpread::spread_columns};
}

}  // namespace mln::kernels
