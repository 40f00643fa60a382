// The f32 inner loops of batch, group and layer normalization, one table per ISA (scalar,
// AVX2, AVX-512; bodies in norm_spans_body.hpp). The loop drivers in norm.cpp own the
// threading and the order of every sum; these kernels sum a span or a column strip.
//
// Centring: mean is carried as hi + lo floats. For x within a factor 2 of hi, x - hi is exact
// (Sterbenz), so (x - hi) - lo keeps the deviation accurate to an ulp of the deviation even
// when |mean| is large against the spread; a single f32 mean would lose log2(|mean|/spread)
// bits. Sums add f32 registers over at most kSumChunk elements (or kColumnRows rows) and
// carry the totals in double; sums of x are shifted by an element of the set. That keeps the statistics within a few ulp of a double sum.
#pragma once

#include <myelin.h>

#include <cstdint>

namespace mln::kernels {

struct SplitMean {
    float hi;
    float lo;
};

inline SplitMean split_mean(double mean) {
    const float hi = static_cast<float>(mean);
    return {hi, static_cast<float>(mean - static_cast<double>(hi))};
}

// Sums of g and g * (x - mean) over a span, g = dy or gamma * dy.
struct GradSums {
    double g;
    double g_deviation;
};

// A set of `blocks` spans of `length` contiguous floats, `stride` floats apart (a channel of
// batch norm: one span per image; one span: blocks 1). Outputs share the input's layout.
struct Spans {
    int64_t blocks;
    int64_t length;
    int64_t stride;
};

inline Spans one_span(int64_t length) { return {1, length, length}; }

struct NormSpanKernels {
    // Sum of x - shift over the set. A shift near the mean (an element of the set) keeps the
    // f32 partial sums small, so they lose nothing to a large mean.
    double (*sum)(const float* x, Spans s, float shift);
    // Sum of (x - mean)^2.
    double (*squared_deviation)(const float* x, Spans s, SplitMean mean);
    // y = (x - mean) * a + b. `stream` (here and below): write y with non-temporal stores, for
    // outputs that would not stay in cache.
    void (*normalize)(const float* x, float* y, Spans s, SplitMean mean, float a, float b, bool stream);
    // y = (x - mean) * invstd * scale[i] + bias[i] over one span.
    void (*normalize_each)(const float* x, float* y, int64_t n, SplitMean mean, float invstd, const float* scale,
                           const float* bias);
    // Layer norm of `sets` sets of `length` floats back to back: per set, mean (about the set's
    // first element, as sum) and variance (as squared_deviation) into mean and invstd, then
    // y = (x - mean) * invstd * scale[i] + bias[i]. One call for many short sets, so one set's
    // statistics overlap the next one's loads.
    void (*normalize_sets)(const float* x, float* y, int64_t sets, int64_t length, double epsilon,
                           const float* scale, const float* bias, float* mean, float* invstd);
    // g = dy (gamma null) or gamma[i] * dy, i the position within the span.
    GradSums (*grad_sums)(const float* x, const float* dy, const float* gamma, Spans s, SplitMean mean);
    // dx = ((gamma * dy - mean_g) - (x - mean) * c) * invstd. invstd scales last, so a set
    // whose g all equal mean_g gives 0 exactly (g is rounded as in the sums).
    void (*grad_apply)(const float* x, const float* dy, float* dx, Spans s, SplitMean mean, float gamma,
                       float mean_g, float c, float invstd, bool stream);
    // The same with gamma[i]; also dscale[i] += dy * (x - mean) * invstd and dbias[i] += dy.
    void (*grad_apply_each)(const float* x, const float* dy, float* dx, int64_t n, SplitMean mean, float invstd,
                            const float* gamma, float mean_g, float c, float* dscale, float* dbias);

    // Channel forms, for short planes streamed in memory order: `images` images `image_stride`
    // floats apart, each with `channels` spans of `length` floats back to back; per-channel
    // arrays and outputs. Each channel's sums build up in f32 registers over all the images
    // (no horizontal sum per span) and reach double once per call: callers keep a call's
    // elements per channel near kSumChunk.
    // sums[c] = sum of x - shift[c].
    void (*channel_sums)(const float* x, int64_t images, int64_t image_stride, int64_t channels, int64_t length,
                         const float* shift, double* sums);
    // squares[c] = sum of (x - mean[c])^2.
    void (*channel_squared_deviations)(const float* x, int64_t images, int64_t image_stride, int64_t channels,
                                       int64_t length, const float* mean_hi, const float* mean_lo, double* squares);
    // sum_dy[c] = sum of dy; sum_dy_deviation[c] = sum of dy * (x - mean[c]).
    void (*channel_grad_sums)(const float* x, const float* dy, int64_t images, int64_t image_stride, int64_t channels,
                              int64_t length, const float* mean_hi, double* sum_dy, double* sum_dy_deviation);
    // Consecutive-span forms: `spans` spans of `length` floats back to back (channels of an
    // image), span j with its channel's parameters at index j of each array.
    // y = (x - mean[j]) * a[j] + b[j].
    void (*span_normalize)(const float* x, float* y, int64_t spans, int64_t length, const float* mean_hi,
                           const float* mean_lo, const float* a, const float* b, bool stream);
    // dx = ((gamma[j] * dy - mean_g[j]) - (x - mean[j]) * c[j]) * invstd[j].
    void (*span_grad_apply)(const float* x, const float* dy, float* dx, int64_t spans, int64_t length,
                            const float* mean_hi, const float* gamma, const float* mean_g, const float* c,
                            const float* invstd, bool stream);

    // Column forms: `rows` rows `stride` floats apart, `cols` wide; per-column arrays.
    // sums[j] = sum over rows of x[r][j] - shift[j].
    void (*column_sums)(const float* x, int64_t rows, int64_t stride, int64_t cols, const float* shift, double* sums);
    // squares[j] = sum over rows of (x[r][j] - mean[j])^2.
    void (*column_squared_deviations)(const float* x, int64_t rows, int64_t stride, int64_t cols,
                                      const float* mean_hi, const float* mean_lo, double* squares);
    // y[r][j] = (x[r][j] - mean[j]) * a[j] + b[j].
    void (*column_normalize)(const float* x, float* y, int64_t rows, int64_t stride, int64_t cols,
                             const float* mean_hi, const float* mean_lo, const float* a, const float* b);
    // sum_dy[j] = sum of dy[r][j]; sum_dy_deviation[j] = sum of dy[r][j] * (x[r][j] - mean[j]).
    void (*column_grad_sums)(const float* x, const float* dy, int64_t rows, int64_t stride, int64_t cols,
                             const float* mean_hi, const float* mean_lo, double* sum_dy, double* sum_dy_deviation);
    // dx[r][j] = ((gamma[j] * dy[r][j] - mean_g[j]) - (x[r][j] - mean[j]) * c[j]) * invstd[j].
    void (*column_grad_apply)(const float* x, const float* dy, float* dx, int64_t rows, int64_t stride,
                              int64_t cols, const float* mean_hi, const float* mean_lo, const float* gamma,
                              const float* mean_g, const float* c, const float* invstd);
};

const NormSpanKernels& norm_span_kernels_scalar();
#if defined(MYELIN_X86_64_KERNELS)
const NormSpanKernels& norm_span_kernels_avx2();
const NormSpanKernels& norm_span_kernels_avx512();
#endif

// The table for `isa`.
const NormSpanKernels& norm_span_kernels(mln_isa isa);

}  // namespace mln::kernels
