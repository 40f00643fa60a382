// Lowering of a block of the im2col column matrix (im2col.hpp) straight into the packed-B panel
// layout of the GEMM micro-kernels (gemm_microkernel.hpp), without an intermediate row:
// columns [pc, pc+kc) x [q0, q0+cols) go to NR-wide panels, panel s at packed + s*NR*kc, row p
// of it at + p*NR, the last panel padded with zeros. One variant per ISA; the AVX-512 one copies
// a panel's piece of an image row with masked loads and does stride 2 with a two-source permute,
// or, on images under 16 columns wide, gathers 16 columns at once, or, where a stride-1 output
// has the input's size, loads 16 columns at once under a mask of the padding.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/nn_args.hpp"
#include "cpu/isa.hpp"

namespace mln::kernels {

template <class T>
using ColumnPanelLowering = void (*)(const T* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                     int64_t cols, int64_t nr, T* packed);

void lower_column_panels_scalar(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, float* packed);
void lower_column_panels_scalar(const double* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, double* packed);
#if defined(MYELIN_X86_64_KERNELS)
void lower_column_panels_avx2(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                              int64_t cols, int64_t nr, float* packed);
void lower_column_panels_avx2(const double* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                              int64_t cols, int64_t nr, double* packed);
void lower_column_panels_avx512(const float* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, float* packed);
void lower_column_panels_avx512(const double* x, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                                int64_t cols, int64_t nr, double* packed);
#endif

// Stride-2 lowering from polyphase planes (f32, AVX-512 and AVX2): a 2-d, undilated, stride-2 convolution
// whose output is at least half its input per axis (ResNet's 7x7/2 stem and 3x3/2) reads
// each channel as four planes, plane (ph, pw) holding x[2i + ph][2j + pw] at [i][j], out[1] x
// out[2] of them (zeros past the image). Tap (kh, kw) then reads one plane at a fixed shift, so
// a tap's row of the column matrix is the plane's elements q + shift under a mask of the
// padding, as for stride 1 "same": one masked load per 16 columns instead of a strided copy per
// image-row piece. Blocks of at most kMaxPhaseColumns (padded) columns. Measured on Zen 5, one
// thread, lowering alone: the stem's 147 x 12544 columns 0.69-0.82 -> 0.38-0.45 ms plus a
// 0.03 ms split; whole layers against oneDNN (min per call, interleaved): stem 1.56-1.60x ->
// 1.52x, 3x3/2 1.58-1.67x -> 1.37x (56 wide), 1.46x -> 1.37-1.40x (28), 1.65-1.72x -> 1.60x
// (14). Not for 1x1 kernels: they read one plane of the four, and the split cost more than it
// saved (ResNet-18's 1x1/2: 0.094 -> 0.112 ms).
constexpr int64_t kMaxPhaseColumns = 1024;

inline bool phase_planes_apply(const WindowGeometry& g) {
    return g.in[0] == 1 && g.kernel[0] == 1 && g.out[0] == 1 && g.kernel[1] >= 2 && g.kernel[2] >= 2 &&
           g.stride[1] == 2 && g.stride[2] == 2 &&
           g.dilation[1] == 1 && g.dilation[2] == 1 && (g.in[1] + 1) / 2 <= g.out[1] &&
           (g.in[2] + 1) / 2 <= g.out[2] && 4 * g.out[1] * g.out[2] < (int64_t{1} << 30);
}
inline int64_t phase_planes_channel_size(const WindowGeometry& g) { return 4 * g.out[1] * g.out[2]; }
// A plane row's elements: stride per row, lead zeros before its out[2] elements (zeros after them
// to the stride).
struct PhasePlaneRows {
    int64_t stride;
    int64_t lead;
};

// Planes of `channels` consecutive channels of x (phase_planes_apply(g) holds).
template <class T>
using PhasePlaneSplit = void (*)(const T* x, const WindowGeometry& g, int64_t channels, T* planes);

#if defined(MYELIN_X86_64_KERNELS)
void split_phase_planes_avx512(const float* x, const WindowGeometry& g, int64_t channels, float* planes);
// The planes' rows [first_row, first_row + rows) (first_row may be negative: rows above the
// image, zeros like those below it), out[2] wide, row r's element j at r * rows.stride + rows.lead + j
// with zeros around it (dense rows: {out[2], 0}); plane (c, ph, pw) starts at
// planes + (4 c + 2 ph + pw) * plane_stride. split_phase_planes_avx512 is rows [0, out[1]), dense.
void split_phase_planes_rows_avx512(const float* x, const WindowGeometry& g, int64_t channels, int64_t first_row,
                                    int64_t rows, int64_t plane_stride, PhasePlaneRows padded, float* planes);
void split_phase_planes_rows_avx2(const float* x, const WindowGeometry& g, int64_t channels, int64_t first_row,
                                  int64_t rows, int64_t plane_stride, PhasePlaneRows padded, float* planes);
void split_phase_planes_avx2(const float* x, const WindowGeometry& g, int64_t channels, float* planes);
// As ColumnPanelLowering, reading the planes of split_phase_planes_avx512 instead of the image;
// nr a multiple of 16, round_up(cols, nr) <= kMaxPhaseColumns.
void lower_phase_panels_avx512(const float* planes, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                               int64_t cols, int64_t nr, float* packed);
// The same at AVX2 (one masked load per 8 columns, the masks made once per call for each tap), for
// kernels of at most kMaxPhaseTapsAvx2 taps (phase_lowering checks); nr a multiple of 8. Zen 3,
// ResNet-18's 3x3/2 forward against the strided piece copies: see conv_lowering_avx2.cpp.
void lower_phase_panels_avx2(const float* planes, const WindowGeometry& g, int64_t pc, int64_t kc, int64_t q0,
                             int64_t cols, int64_t nr, float* packed);
constexpr int64_t kMaxPhaseTapsAvx2 = 49;
#endif

template <class T>
struct PhaseLowering {
    PhasePlaneSplit<T> split = nullptr;  // nullptr: none at this ISA, type and kernel size
    ColumnPanelLowering<T> lower = nullptr;
};

template <class T>
PhaseLowering<T> phase_lowering(mln_isa isa, const WindowGeometry& g) {
#if defined(MYELIN_X86_64_KERNELS)
    if constexpr (sizeof(T) == 4) {
        if (isa == MLN_ISA_AVX512) return {split_phase_planes_avx512, lower_phase_panels_avx512};
        if (cpu::runs_avx2(isa) && g.kernel[1] * g.kernel[2] <= kMaxPhaseTapsAvx2) {
            return {split_phase_planes_avx2, lower_phase_panels_avx2};
        }
    }
#endif
    (void)isa, (void)g;
    return {};
}

template <class T>
ColumnPanelLowering<T> column_panel_lowering(mln_isa isa) {
#if defined(MYELIN_X86_64_KERNELS)
    if (isa == MLN_ISA_AVX512) return static_cast<ColumnPanelLowering<T>>(lower_column_panels_avx512);
    if (cpu::runs_avx2(isa)) return static_cast<ColumnPanelLowering<T>>(lower_column_panels_avx2);
#endif
    (void)isa;
    return static_cast<ColumnPanelLowering<T>>(lower_column_panels_scalar);
}

}  // namespace mln::kernels
