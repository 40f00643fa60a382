// MobileNet's depthwise convolutions (2-d, 3 x 3, undilated) straight in NCHW on AVX-512, f32:
// no channel-blocked copy in or out (conv_depthwise_strips.hpp), which cost more than the sums
// themselves on these memory-bound layers. Three shapes of the loop:
// - stride 1 with output rows as wide as the input's (pad 1 both sides): the plane read as one
//   flat row, 16 outputs a register across row ends, every tap a constant offset in that row and
//   a lane mask (precomputed once per call) for the borders;
// - forward at stride 2 along rows (wide rows: conv_depthwise_3x3.cpp): per output row, 32
//   inputs loaded in two registers and split into the even and odd elements (the three taps of
//   the row) by permutes, two output rows a step where both lie inside (the source row between
//   them split once);
// - forward and filter on rows of <= 16 source columns and <= 8 outputs (7 x 7 planes, stride 2
//   from 14 x 14): two channels' rows in one register, each tap picked by a permute (the forward
//   at row stride 1 keeps a source row's taps for the next two output rows).
// Backward data at stride 1 is the forward loop with the flipped filter (flat, or two channels a
// register on rows of <= 8); at stride 2 (rows of dy
// of <= 8 two channels a register, as the forward's) it makes the
// even and odd columns of a dx row from shifted dy rows and interleaves them, two dx rows a step
// (each dy row loaded once for both). Backward filter is
// nine dot products per channel summed in registers over the batch (stride 2: the forward's
// even/odd split), 16 channels' sums reduced across lanes together. Padding taps are masked out
// of the sums (not multiplied by a zero), so NaN and Inf weights reach exactly the outputs of the
// reference twin.
#pragma once

#include <cstdint>

#include "core/nn_args.hpp"

namespace mln::kernels {

// Whether the geometry is 2-d 3 x 3 undilated and: stride 1 with out width == in width (every
// pass); or (forward) row stride 2 with rows of 14+ outputs, (backward data) stride 2 x 2 with
// rows of 9+ outputs or of <= 8 from <= 16 (two channels a register), (backward filter) stride
// 2 x 2 with rows of 14+ outputs
// (conv_depthwise_3x3.cpp says why).
bool depthwise_3x3_nchw_forward_applies(const WindowGeometry& g);
bool depthwise_3x3_nchw_backward_data_applies(const WindowGeometry& g);
bool depthwise_3x3_nchw_backward_filter_applies(const WindowGeometry& g);
// Whether a 2-d 3 x 3 geometry at row stride 1 or 2 has source rows of <= 16 columns and rows of
// <= 8 outputs: the forward and filter kernels then put two channels in a register.
bool depthwise_3x3_pairs_fit(const WindowGeometry& g);
// Whether backward data at stride 2 x 2 has dy rows of <= 8 columns and dx rows of <= 16: two
// channels a register then.
bool depthwise_3x3_backward_data_pairs_fit(const WindowGeometry& g);

#if defined(MYELIN_X86_64_KERNELS)
// Same contracts as the channel-blocked kernels (conv_depthwise.hpp, conv_depthwise_backward.hpp),
// for any number of consecutive channels of one image (filter: all images).
void conv_depthwise_3x3_forward_avx512(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                       int64_t channels, float* y);
void conv_depthwise_3x3_backward_data_avx512(const float* dy, const float* w, const WindowGeometry& g,
                                             int64_t channels, float* dx);
void conv_depthwise_3x3_backward_filter_avx512(const float* x, const float* dy, const WindowGeometry& g,
                                               int64_t channels, int64_t images, int64_t x_image_stride,
                                               int64_t dy_image_stride, float* dw);
// The same contract at AVX2, for the geometries of depthwise_3x3_nchw_backward_filter_applies
// (any row stride, column stride 1 or 2): row registers read in place at pad 1, else eight
// channels at a time copied to channel-minor order (conv_depthwise_3x3_backward_filter_avx2.cpp).
void conv_depthwise_3x3_backward_filter_avx2(const float* x, const float* dy, const WindowGeometry& g,
                                             int64_t channels, int64_t images, int64_t x_image_stride,
                                             int64_t dy_image_stride, float* dw);
// The forward and backward data at AVX2 (conv_depthwise_3x3_avx2.cpp) where their geometry
// applies: 2-d 3 x 3 undilated, stride 1 with rows as wide as the input's (any row pads; pads
// summing to 2 across the columns; one loop for both passes), or stride 2 x 2 (the forward's in
// conv_depthwise_3x3_forward_stride2_avx2.cpp).
bool depthwise_3x3_nchw_applies_avx2(const WindowGeometry& g);
void conv_depthwise_3x3_forward_avx2(const float* x, const float* w, const float* bias, const WindowGeometry& g,
                                     int64_t channels, float* y);
void conv_depthwise_3x3_backward_data_avx2(const float* dy, const float* w, const WindowGeometry& g, int64_t channels,
                                           float* dx);
void conv_depthwise_3x3_forward_stride2_avx2(const float* x, const float* w, const float* bias,
                                             const WindowGeometry& g, int64_t channels, float* y);
// The forward at AVX2 on planes of at most kDepthwise3x3ChannelMinorMaxPositions positions in
// and out, stride 1 or 2 x 2, eight channels at a time in channel-minor order
// (conv_depthwise_3x3_forward_channel_minor_avx2.cpp; conv_depthwise_3x3_forward_avx2 takes it
// first). Up to 16 x 16: on 28 x 28 planes (copies of 25 KiB each way, past Zen 3's L1) it ran
// dw192 @ 28 and dw192/2 0.88x and 0.73x the row registers' time at batch 1 but 1.2-1.4x over 64
// images from memory; on 56 x 56 0.98-1.02x at batch 1.
constexpr int64_t kDepthwise3x3ChannelMinorMaxPositions = 256;
bool depthwise_3x3_channel_minor_forward_fits(const WindowGeometry& g);
void conv_depthwise_3x3_forward_channel_minor_avx2(const float* x, const float* w, const float* bias,
                                                   const WindowGeometry& g, int64_t channels, float* y);
#endif

}  // namespace mln::kernels
