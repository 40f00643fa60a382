// Batch and group normalization (layer norm runs as group norm with one group). f32 runs the
// vector span kernels of norm_spans.hpp at the active ISA; f64 runs the plain loops below.
// Statistics are two-pass (mean, then the mean of squared deviations, centred on the exact
// mean; streamed short planes centre each block of images on its own mean and combine the
// blocks exactly), so a large mean does not cancel the variance. Backward, with xhat = (x - mean) * invstd
// and g = dy * scale:
//   dx = invstd * (g - mean_set(g) - xhat * mean_set(g * xhat)),
//   dscale[c] = sum dy * xhat, dbias[c] = sum dy over the elements of channel c.
// Every sum runs in a fixed order inside one task, and partial sums are combined in a fixed
// order: results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/blocking.hpp"
#include "kernels/cpu/common/streaming_stores.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/nn_kernels.hpp"
#include "kernels/cpu/norm/norm_spans.hpp"

namespace mln::kernels {
namespace {

template <class T>
const T* data_of(const TensorView& view, bool present) {
    return present ? static_cast<const T*>(view.data) : nullptr;
}

struct Moments {
    double mean;
    double invstd;
};

// Statistics of `blocks` blocks of `length` elements, `stride` apart.
template <class T>
Moments moments(const T* x, int64_t blocks, int64_t length, int64_t stride, double epsilon, double* variance) {
    const double count = static_cast<double>(blocks * length);
    double sum = 0.0;
    for (int64_t b = 0; b < blocks; ++b) {
        for (int64_t i = 0; i < length; ++i) sum += static_cast<double>(x[b * stride + i]);
    }
    const double mean = sum / count;
    double squares = 0.0;
    for (int64_t b = 0; b < blocks; ++b) {
        for (int64_t i = 0; i < length; ++i) {
            const double d = static_cast<double>(x[b * stride + i]) - mean;
            squares += d * d;
        }
    }
    *variance = squares / count;
    return {mean, 1.0 / std::sqrt(*variance + epsilon)};
}

// y = (x - mean) * invstd * scale + bias over blocks of one channel.
template <class T>
void normalize_blocks(const T* x, T* y, int64_t blocks, int64_t length, int64_t stride, double mean, double invstd,
                      double scale, double bias) {
    // Centre in double before scaling: folding the mean into one multiply-add (a*x + b)
    // cancels catastrophically when |mean| is large against the spread.
    const double a = invstd * scale;
    for (int64_t blk = 0; blk < blocks; ++blk) {
        const T* xb = x + blk * stride;
        T* yb = y + blk * stride;
        for (int64_t i = 0; i < length; ++i) yb[i] = static_cast<T>((static_cast<double>(xb[i]) - mean) * a + bias);
    }
}

// ---- f64: plain loops ----------------------------------------------------------------------

template <class T>
void batch_norm_training_typed(const NormArgs& a) {
    const int64_t plane = a.channels * a.spatial;
    const T* x = static_cast<const T*>(a.x.data);
    T* y = static_cast<T*>(a.y.data);
    const T* scale = data_of<T>(a.scale, a.has_scale);
    const T* bias = data_of<T>(a.bias, a.has_bias);
    T* mean_out = static_cast<T*>(a.mean.data);
    T* invstd_out = static_cast<T*>(a.invstd.data);
    cpu::parallel_for(a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            double variance = 0.0;
            const Moments m = moments(x + c * a.spatial, a.batch, a.spatial, plane, a.epsilon, &variance);
            normalize_blocks(x + c * a.spatial, y + c * a.spatial, a.batch, a.spatial, plane, m.mean, m.invstd,
                             scale != nullptr ? static_cast<double>(scale[c]) : 1.0,
                             bias != nullptr ? static_cast<double>(bias[c]) : 0.0);
            mean_out[c] = static_cast<T>(m.mean);
            invstd_out[c] = static_cast<T>(m.invstd);
            if (a.has_running) {
                T& running_mean = static_cast<T*>(a.running_mean.data)[c];
                T& running_var = static_cast<T*>(a.running_var.data)[c];
                running_mean = static_cast<T>(a.momentum * running_mean + (1.0 - a.momentum) * m.mean);
                running_var = static_cast<T>(a.momentum * running_var + (1.0 - a.momentum) * variance);
            }
        }
    });
}

template <class T>
void batch_norm_inference_typed(const NormArgs& a) {
    const int64_t plane = a.channels * a.spatial;
    const T* x = static_cast<const T*>(a.x.data);
    T* y = static_cast<T*>(a.y.data);
    const T* scale = data_of<T>(a.scale, a.has_scale);
    const T* bias = data_of<T>(a.bias, a.has_bias);
    const T* running_mean = static_cast<const T*>(a.running_mean.data);
    const T* running_var = static_cast<const T*>(a.running_var.data);
    cpu::parallel_for(a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + a.epsilon);
            normalize_blocks(x + c * a.spatial, y + c * a.spatial, a.batch, a.spatial, plane,
                             static_cast<double>(running_mean[c]), invstd,
                             scale != nullptr ? static_cast<double>(scale[c]) : 1.0,
                             bias != nullptr ? static_cast<double>(bias[c]) : 0.0);
        }
    });
}

template <class T>
void batch_norm_backward_typed(const NormArgs& a) {
    const int64_t plane = a.channels * a.spatial;
    const double count = static_cast<double>(a.batch * a.spatial);
    const T* x = static_cast<const T*>(a.x.data);
    const T* dy = static_cast<const T*>(a.dy.data);
    T* dx = static_cast<T*>(a.dx.data);
    const T* scale = data_of<T>(a.scale, a.has_scale);
    const T* mean = static_cast<const T*>(a.mean.data);
    const T* invstd = static_cast<const T*>(a.invstd.data);
    cpu::parallel_for(a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            const double mu = mean[c];
            const double r = invstd[c];
            const double gamma = scale != nullptr ? static_cast<double>(scale[c]) : 1.0;
            double sum_dy = 0.0;
            double sum_dy_xhat = 0.0;
            for (int64_t n = 0; n < a.batch; ++n) {
                const int64_t base = n * plane + c * a.spatial;
                for (int64_t s = 0; s < a.spatial; ++s) {
                    const double g = dy[base + s];
                    sum_dy += g;
                    sum_dy_xhat += g * (static_cast<double>(x[base + s]) - mu) * r;
                }
            }
            if (a.has_dscale) static_cast<T*>(a.dscale.data)[c] = static_cast<T>(sum_dy_xhat);
            if (a.has_dbias) static_cast<T*>(a.dbias.data)[c] = static_cast<T>(sum_dy);
            if (count == 0.0) continue;
            const double mean_g = gamma * sum_dy / count;
            const double mean_g_xhat = gamma * sum_dy_xhat / count;
            for (int64_t n = 0; n < a.batch; ++n) {
                const int64_t base = n * plane + c * a.spatial;
                for (int64_t s = 0; s < a.spatial; ++s) {
                    const double xhat = (static_cast<double>(x[base + s]) - mu) * r;
                    dx[base + s] = static_cast<T>(r * (gamma * dy[base + s] - mean_g - xhat * mean_g_xhat));
                }
            }
        }
    });
}

template <class T>
void group_norm_forward_typed(const NormArgs& a) {
    const int64_t group_channels = a.channels / a.groups;
    const int64_t length = group_channels * a.spatial;
    const T* x = static_cast<const T*>(a.x.data);
    T* y = static_cast<T*>(a.y.data);
    const T* scale = data_of<T>(a.scale, a.has_scale);
    const T* bias = data_of<T>(a.bias, a.has_bias);
    T* mean_out = static_cast<T*>(a.mean.data);
    T* invstd_out = static_cast<T*>(a.invstd.data);
    cpu::parallel_for(a.batch * a.groups, 1, [&](int64_t begin, int64_t end) {
        for (int64_t set = begin; set < end; ++set) {
            double variance = 0.0;
            const Moments m = moments(x + set * length, 1, length, 0, a.epsilon, &variance);
            mean_out[set] = static_cast<T>(m.mean);
            invstd_out[set] = static_cast<T>(m.invstd);
            for (int64_t k = 0; k < group_channels; ++k) {
                const int64_t c = set % a.groups * group_channels + k;
                const int64_t offset = set * length + k * a.spatial;
                normalize_blocks(x + offset, y + offset, 1, a.spatial, 0, m.mean, m.invstd,
                                 scale != nullptr ? static_cast<double>(scale[c]) : 1.0,
                                 bias != nullptr ? static_cast<double>(bias[c]) : 0.0);
            }
        }
    });
}

template <class T>
void group_norm_backward_typed(const NormArgs& a) {
    const int64_t group_channels = a.channels / a.groups;
    const int64_t length = group_channels * a.spatial;
    const T* x = static_cast<const T*>(a.x.data);
    const T* dy = static_cast<const T*>(a.dy.data);
    T* dx = static_cast<T*>(a.dx.data);
    const T* scale = data_of<T>(a.scale, a.has_scale);
    const T* mean = static_cast<const T*>(a.mean.data);
    const T* invstd = static_cast<const T*>(a.invstd.data);
    auto gamma_of = [&](int64_t c) { return scale != nullptr ? static_cast<double>(scale[c]) : 1.0; };
    // dx, one (image, group) set per task.
    cpu::parallel_for(a.batch * a.groups, 1, [&](int64_t begin, int64_t end) {
        for (int64_t set = begin; set < end; ++set) {
            const double mu = mean[set];
            const double r = invstd[set];
            const int64_t first_channel = set % a.groups * group_channels;
            const T* xs = x + set * length;
            const T* dys = dy + set * length;
            double sum_g = 0.0;
            double sum_g_xhat = 0.0;
            for (int64_t k = 0; k < group_channels; ++k) {
                const double gamma = gamma_of(first_channel + k);
                for (int64_t s = k * a.spatial; s < (k + 1) * a.spatial; ++s) {
                    const double g = gamma * static_cast<double>(dys[s]);
                    sum_g += g;
                    sum_g_xhat += g * (static_cast<double>(xs[s]) - mu) * r;
                }
            }
            const double mean_g = sum_g / static_cast<double>(length);
            const double mean_g_xhat = sum_g_xhat / static_cast<double>(length);
            T* dxs = dx + set * length;
            for (int64_t k = 0; k < group_channels; ++k) {
                const double gamma = gamma_of(first_channel + k);
                for (int64_t s = k * a.spatial; s < (k + 1) * a.spatial; ++s) {
                    const double xhat = (static_cast<double>(xs[s]) - mu) * r;
                    dxs[s] = static_cast<T>(r * (gamma * static_cast<double>(dys[s]) - mean_g - xhat * mean_g_xhat));
                }
            }
        }
    });
    if (!a.has_dscale && !a.has_dbias) return;
    // dscale, dbias: one channel per task, summed over images in order.
    cpu::parallel_for(a.channels, 16, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            const int64_t group = c / group_channels;
            double sum_dy = 0.0;
            double sum_dy_xhat = 0.0;
            for (int64_t n = 0; n < a.batch; ++n) {
                const int64_t set = n * a.groups + group;
                const double mu = mean[set];
                const double r = invstd[set];
                const int64_t base = (n * a.channels + c) * a.spatial;
                for (int64_t s = 0; s < a.spatial; ++s) {
                    const double g = dy[base + s];
                    sum_dy += g;
                    sum_dy_xhat += g * (static_cast<double>(x[base + s]) - mu) * r;
                }
            }
            if (a.has_dscale) static_cast<T*>(a.dscale.data)[c] = static_cast<T>(sum_dy_xhat);
            if (a.has_dbias) static_cast<T*>(a.dbias.data)[c] = static_cast<T>(sum_dy);
        }
    });
}

// ---- f32: the span kernels of the active ISA -------------------------------------------------

// Batch norm treats a channel as `batch` spans of `spatial` contiguous floats (one kernel call
// per pass over the channel) when spatial is at least this long; shorter planes (down to 1 for
// NxC), which would leave most of a register's lanes masked off, run as column strips over the
// images.
constexpr int64_t kMinSpanSpatial = 16;
// Group norm backward with spatial 1 (layer norm) sums dscale and dbias per block of this many
// images, then adds the blocks in order: fixed partials for any thread count.
constexpr int64_t kGradBlockImages = 32;
// Column strips are at least this many floats wide, so a thread reads whole cache lines, and
// hold at most kStripCacheFloats (or one kMinStripFloats-wide strip) so that a strip's passes
// after the first read it from L2.
constexpr int64_t kMinStripFloats = 256;
constexpr int64_t kStripCacheFloats = int64_t{1} << 16;

// Batch norm planes shorter than these stream the images in memory order, each pass over all
// of them: a channel-major walk reads `batch` spans a plane apart, restarting the hardware
// prefetcher at each (and at each 4 KB page); its backward sums pass over a 32x64x56x56
// channel reads 25 GB/s where a memory-order pass reads over 50. Longer planes run channel by
// channel, the passes after the first reading part of the channel from cache. Zen 5, 1
// thread, batch 32, same-process A/B streamed / channel by channel time: backward 28x28
// 0.72-0.80, 56x56 0.88-1.0, 112x112 streamed 1.1-1.15; forward training 28x28 0.80-0.87,
// 56x56 0.9-1.2 (its extra normalize pass over memory costs what the walk saves).
constexpr int64_t kStreamForwardBelowSpatial = 1024;
constexpr int64_t kStreamBackwardBelowSpatial = 4096;
// Spans per streaming task, at least, in floats.
constexpr int64_t kStreamGrainFloats = 8192;

// The streaming passes' per-span sums and per-channel parameters, kept by the calling thread
// between calls: resizing a warm buffer writes nothing, where fresh vectors would zero (and
// page in) them on every call.
struct StreamScratch {
    std::vector<double> first, second;
    std::vector<float> shift, hi, lo, gain, offset;
};

StreamScratch& stream_scratch(const NormArgs& a, int64_t blocks) {
    StreamScratch& s = thread_scratch<StreamScratch>();
    const size_t sums = static_cast<size_t>(blocks * a.channels), channels = static_cast<size_t>(a.channels);
    s.first.resize(sums);
    s.second.resize(sums);
    for (std::vector<float>* v : {&s.shift, &s.hi, &s.lo, &s.gain, &s.offset}) v->resize(channels);
    return s;
}

// Streaming statistics run blocks of images (a channel's elements in a block near the f32 sum
// chunk of the channel kernels) times groups of channels as tasks; the blocks' double sums add
// up in block order, whatever the thread count. Tried and lost (Zen 5, 1 thread, batch 32,
// same-process A/B time): groups of as many channels as fit 512 KiB over the whole batch
// running all their passes back to back (y or dx while the group is in L2): 7x7 forward
// training / backward 1.04-1.06x / 1.08-1.10x, 14x14 1.08-1.13x / 1.05-1.25x, 28x28 1.47-1.69x
// / 1.18-1.46x; 128 KiB groups worse still.
constexpr int64_t kStreamBlockFloats = 1024;
constexpr int64_t kStreamGroupChannels = 64;

struct ImageBlocks {
    int64_t images, count, groups;
};

ImageBlocks image_blocks(const NormArgs& a) {
    const int64_t images = std::max<int64_t>(1, kStreamBlockFloats / a.spatial);
    return {images, ceil_div(a.batch, images), ceil_div(a.channels, kStreamGroupChannels)};
}

// Calls run(first image, images, first channel, channels, block) on every (block, group) task.
template <class Run>
void for_image_blocks(const NormArgs& a, const ImageBlocks& b, Run&& run) {
    cpu::parallel_for(b.count * b.groups, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            const int64_t block = t / b.groups, c0 = t % b.groups * kStreamGroupChannels;
            const int64_t n0 = block * b.images;
            run(n0, std::min(b.images, a.batch - n0), c0, std::min(kStreamGroupChannels, a.channels - c0), block);
        }
    });
}

bool streams_stores(const NormArgs& a) {
    return a.batch * a.channels * a.spatial * static_cast<int64_t>(sizeof(float)) >= kStreamingStoreBytes;
}

bool streams_images(const NormArgs& a, int64_t below_spatial) {
    return a.batch > 0 && a.spatial >= kMinSpanSpatial && a.spatial < below_spatial;
}

// Calls body(first span, its channel, span count) on ranges of the batch * channels spans
// (channel c of image n is span n * channels + c, all back to back), split at image ends so
// that per-channel arrays index from the range's first channel.
template <class Body>
void for_span_ranges(const NormArgs& a, Body&& body) {
    const int64_t grain = std::max<int64_t>(1, kStreamGrainFloats / a.spatial);
    cpu::parallel_for(a.batch * a.channels, grain, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end;) {
            const int64_t c = p % a.channels;
            const int64_t count = std::min(end - p, a.channels - c);
            body(p, c, count);
            p += count;
        }
    });
}

float parameter(const float* values, int64_t c, float absent) { return values != nullptr ? values[c] : absent; }

// Scale and bias as arrays (1 and 0 where absent), for the kernels that read them per element.
struct AffineArrays {
    std::vector<float> ones, zeros;
    const float* scale;
    const float* bias;
    AffineArrays(const float* s, const float* b, int64_t channels) {
        if (s == nullptr) ones.assign(static_cast<size_t>(channels), 1.0f);
        if (b == nullptr) zeros.assign(static_cast<size_t>(channels), 0.0f);
        scale = s != nullptr ? s : ones.data();
        bias = b != nullptr ? b : zeros.data();
    }
};

void store_batch_statistics(const NormArgs& a, int64_t c, double mean, double variance, double invstd) {
    static_cast<float*>(a.mean.data)[c] = static_cast<float>(mean);
    static_cast<float*>(a.invstd.data)[c] = static_cast<float>(invstd);
    if (!a.has_running) return;
    float& running_mean = static_cast<float*>(a.running_mean.data)[c];
    float& running_var = static_cast<float*>(a.running_var.data)[c];
    running_mean = static_cast<float>(a.momentum * running_mean + (1.0 - a.momentum) * mean);
    running_var = static_cast<float>(a.momentum * running_var + (1.0 - a.momentum) * variance);
}

// Calls body(c0, c1) on channel ranges whose column strips are at least kMinStripFloats wide
// and, where the batch allows, at most kStripCacheFloats large.
template <class Body>
void for_channel_strips(const NormArgs& a, Body&& body) {
    const int64_t spatial = std::max<int64_t>(1, a.spatial);
    const int64_t grain = std::max<int64_t>(1, kMinStripFloats / spatial);
    const int64_t cached = std::max(grain, kStripCacheFloats / std::max<int64_t>(1, spatial * a.batch));
    cpu::parallel_for(a.channels, grain, [&](int64_t begin, int64_t end) {
        for (int64_t c0 = begin; c0 < end; c0 += cached) body(c0, std::min(end, c0 + cached));
    });
}

void batch_norm_training_f32(const NormArgs& a) {
    const bool stream = streams_stores(a);
    const NormSpanKernels& k = norm_span_kernels(cpu::active_isa());
    const int64_t plane = a.channels * a.spatial;
    const double count = static_cast<double>(a.batch * a.spatial);
    const float* x = static_cast<const float*>(a.x.data);
    float* y = static_cast<float*>(a.y.data);
    const float* scale = data_of<float>(a.scale, a.has_scale);
    const float* bias = data_of<float>(a.bias, a.has_bias);
    if (streams_images(a, kStreamForwardBelowSpatial)) {
        // Two passes in memory order. Each (block, group) task sums its block about the channel's
        // first element, then its squared deviations about the block's own mean while the block
        // is in L2; the blocks combine exactly (Chan et al.): M2 = sum of M2_b + n_b (mean_b -
        // mean)^2. Then y.
        const int64_t channels = a.channels, spatial = a.spatial;
        const ImageBlocks blocks = image_blocks(a);
        StreamScratch& scratch = stream_scratch(a, blocks.count);
        std::vector<float>& shift = scratch.shift;
        for (int64_t c = 0; c < channels; ++c) shift[static_cast<size_t>(c)] = x[c * spatial];
        double* sums = scratch.first.data();
        double* squares = scratch.second.data();
        for_image_blocks(a, blocks, [&](int64_t n0, int64_t images, int64_t c0, int64_t group, int64_t block) {
            const float* xb = x + n0 * plane + c0 * spatial;
            double* block_sums = sums + block * channels + c0;
            k.channel_sums(xb, images, plane, group, spatial, shift.data() + c0, block_sums);
            float block_hi[kStreamGroupChannels], block_lo[kStreamGroupChannels];
            for (int64_t j = 0; j < group; ++j) {
                const SplitMean m = split_mean(shift[static_cast<size_t>(c0 + j)] +
                                               block_sums[j] / static_cast<double>(images * spatial));
                block_hi[j] = m.hi;
                block_lo[j] = m.lo;
            }
            k.channel_squared_deviations(xb, images, plane, group, spatial, block_hi, block_lo,
                                         squares + block * channels + c0);
        });
        std::vector<float>& hi = scratch.hi;
        std::vector<float>& lo = scratch.lo;
        std::vector<float>& gain = scratch.gain;
        std::vector<float>& offset = scratch.offset;
        for (int64_t c = 0; c < channels; ++c) {
            const double first = shift[static_cast<size_t>(c)];
            double total = 0.0;
            for (int64_t block = 0; block < blocks.count; ++block) total += sums[block * channels + c];
            const double mean = first + total / count;
            double m2 = 0.0;
            for (int64_t block = 0; block < blocks.count; ++block) {
                const double n = static_cast<double>(std::min(blocks.images, a.batch - block * blocks.images) * spatial);
                const double d = first + sums[block * channels + c] / n - mean;
                m2 += squares[block * channels + c] + n * d * d;
            }
            const double variance = m2 / count;
            const double invstd = 1.0 / std::sqrt(variance + a.epsilon);
            const SplitMean m = split_mean(mean);
            const size_t i = static_cast<size_t>(c);
            hi[i] = m.hi;
            lo[i] = m.lo;
            gain[i] = static_cast<float>(invstd * parameter(scale, c, 1.0f));
            offset[i] = parameter(bias, c, 0.0f);
            store_batch_statistics(a, c, mean, variance, invstd);
        }
        for_span_ranges(a, [&](int64_t p, int64_t c, int64_t count) {
            k.span_normalize(x + p * spatial, y + p * spatial, count, spatial, hi.data() + c, lo.data() + c,
                             gain.data() + c, offset.data() + c, stream);
        });
        return;
    }
    if (a.spatial >= kMinSpanSpatial) {
        const Spans spans{a.batch, a.spatial, plane};
        cpu::parallel_for(a.channels, 1, [&](int64_t begin, int64_t end) {
            for (int64_t c = begin; c < end; ++c) {
                // The channel's three passes run back to back, so the second and third read it
                // from L1/L2 where it fits (up to 14x14 planes at batch 32).
                const float* xc = x + c * a.spatial;
                const float shift = a.batch > 0 ? xc[0] : 0.0f;
                const double mean = shift + k.sum(xc, spans, shift) / count;
                const SplitMean m = split_mean(mean);
                const double variance = k.squared_deviation(xc, spans, m) / count;
                const double invstd = 1.0 / std::sqrt(variance + a.epsilon);
                const float gain = static_cast<float>(invstd * parameter(scale, c, 1.0f));
                k.normalize(xc, y + c * a.spatial, spans, m, gain, parameter(bias, c, 0.0f), stream);
                store_batch_statistics(a, c, mean, variance, invstd);
            }
        });
        return;
    }
    for_channel_strips(a, [&](int64_t c0, int64_t c1) {
        const int64_t cols = (c1 - c0) * a.spatial;
        const size_t n = static_cast<size_t>(cols);
        std::vector<double> sums(n), squares(n);
        std::vector<float> hi(n), lo(n), gain(n), shift(n);
        std::vector<double> means(static_cast<size_t>(c1 - c0));
        const float* xs = x + c0 * a.spatial;
        // Shifted by the first image's values (row 0 of the strip).
        k.column_sums(xs, a.batch, plane, cols, xs, sums.data());
        for (int64_t c = c0; c < c1; ++c) {
            double sum = 0.0;
            for (int64_t s = 0; s < a.spatial; ++s) {
                const size_t j = static_cast<size_t>((c - c0) * a.spatial + s);
                sum += sums[j] + static_cast<double>(xs[j]) * static_cast<double>(a.batch);
            }
            const double mean = sum / count;
            means[static_cast<size_t>(c - c0)] = mean;
            const SplitMean m = split_mean(mean);
            std::fill_n(hi.begin() + (c - c0) * a.spatial, a.spatial, m.hi);
            std::fill_n(lo.begin() + (c - c0) * a.spatial, a.spatial, m.lo);
        }
        k.column_squared_deviations(xs, a.batch, plane, cols, hi.data(), lo.data(), squares.data());
        for (int64_t c = c0; c < c1; ++c) {
            double total = 0.0;
            for (int64_t s = 0; s < a.spatial; ++s) total += squares[static_cast<size_t>((c - c0) * a.spatial + s)];
            const double variance = total / count;
            const double invstd = 1.0 / std::sqrt(variance + a.epsilon);
            std::fill_n(gain.begin() + (c - c0) * a.spatial, a.spatial, static_cast<float>(invstd * parameter(scale, c, 1.0f)));
            std::fill_n(shift.begin() + (c - c0) * a.spatial, a.spatial, parameter(bias, c, 0.0f));
            store_batch_statistics(a, c, means[static_cast<size_t>(c - c0)], variance, invstd);
        }
        k.column_normalize(xs, y + c0 * a.spatial, a.batch, plane, cols, hi.data(), lo.data(), gain.data(), shift.data());
    });
}

void batch_norm_inference_f32(const NormArgs& a) {
    const bool stream = streams_stores(a);
    const NormSpanKernels& k = norm_span_kernels(cpu::active_isa());
    const int64_t plane = a.channels * a.spatial;
    const float* x = static_cast<const float*>(a.x.data);
    float* y = static_cast<float*>(a.y.data);
    const float* scale = data_of<float>(a.scale, a.has_scale);
    const float* bias = data_of<float>(a.bias, a.has_bias);
    const float* running_mean = static_cast<const float*>(a.running_mean.data);
    const float* running_var = static_cast<const float*>(a.running_var.data);
    auto gain_of = [&](int64_t c) {
        return static_cast<float>(parameter(scale, c, 1.0f) / std::sqrt(static_cast<double>(running_var[c]) + a.epsilon));
    };
    if (a.spatial >= kMinSpanSpatial) {
        // Images in memory order, each channel's span with its parameters.
        StreamScratch& scratch = stream_scratch(a, 0);
        std::vector<float>& lo = scratch.lo;
        std::vector<float>& gain = scratch.gain;
        std::vector<float>& offset = scratch.offset;
        std::fill(lo.begin(), lo.end(), 0.0f);
        for (int64_t c = 0; c < a.channels; ++c) {
            gain[static_cast<size_t>(c)] = gain_of(c);
            offset[static_cast<size_t>(c)] = parameter(bias, c, 0.0f);
        }
        for_span_ranges(a, [&](int64_t p, int64_t c, int64_t count) {
            k.span_normalize(x + p * a.spatial, y + p * a.spatial, count, a.spatial, running_mean + c, lo.data() + c,
                             gain.data() + c, offset.data() + c, stream);
        });
        return;
    }
    // Per-column parameters once, then whole images per task.
    const size_t n = static_cast<size_t>(plane);
    std::vector<float> hi(n), lo(n, 0.0f), gain(n), shift(n);
    for (int64_t c = 0; c < a.channels; ++c) {
        const int64_t first = c * a.spatial;
        std::fill_n(hi.begin() + first, a.spatial, running_mean[c]);
        std::fill_n(gain.begin() + first, a.spatial, gain_of(c));
        std::fill_n(shift.begin() + first, a.spatial, parameter(bias, c, 0.0f));
    }
    const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, plane));
    cpu::parallel_for(a.batch, grain, [&](int64_t begin, int64_t end) {
        k.column_normalize(x + begin * plane, y + begin * plane, end - begin, plane, plane, hi.data(), lo.data(),
                           gain.data(), shift.data());
    });
}

void batch_norm_backward_f32(const NormArgs& a) {
    const bool stream = streams_stores(a);
    const NormSpanKernels& k = norm_span_kernels(cpu::active_isa());
    const int64_t plane = a.channels * a.spatial;
    const double count = static_cast<double>(a.batch * a.spatial);
    const float* x = static_cast<const float*>(a.x.data);
    const float* dy = static_cast<const float*>(a.dy.data);
    float* dx = static_cast<float*>(a.dx.data);
    const float* scale = data_of<float>(a.scale, a.has_scale);
    const float* mean = static_cast<const float*>(a.mean.data);
    const float* invstd = static_cast<const float*>(a.invstd.data);
    // Writes dscale, dbias of channel c and returns dx's coefficients (see grad_apply).
    struct Coefficients {
        float gamma, mean_g, c, invstd;
    };
    auto finish_channel = [&](int64_t c, double sum_dy, double sum_dy_deviation) {
        const double r = invstd[c];
        const double gamma = parameter(scale, c, 1.0f);
        if (a.has_dscale) static_cast<float*>(a.dscale.data)[c] = static_cast<float>(sum_dy_deviation * r);
        if (a.has_dbias) static_cast<float*>(a.dbias.data)[c] = static_cast<float>(sum_dy);
        const double mean_g = count > 0.0 ? gamma * sum_dy / count : 0.0;
        const double mean_g_xhat = count > 0.0 ? gamma * sum_dy_deviation * r / count : 0.0;
        return Coefficients{static_cast<float>(gamma), static_cast<float>(mean_g), static_cast<float>(r * mean_g_xhat),
                            static_cast<float>(r)};
    };
    if (streams_images(a, kStreamBackwardBelowSpatial)) {
        const int64_t channels = a.channels, spatial = a.spatial;
        const ImageBlocks blocks = image_blocks(a);
        StreamScratch& scratch = stream_scratch(a, blocks.count);
        double* sum_dy = scratch.first.data();
        double* sum_dy_deviation = scratch.second.data();
        for_image_blocks(a, blocks, [&](int64_t n0, int64_t images, int64_t c0, int64_t group, int64_t block) {
            const int64_t at = n0 * plane + c0 * spatial;
            k.channel_grad_sums(x + at, dy + at, images, plane, group, spatial, mean + c0, sum_dy + block * channels + c0,
                                sum_dy_deviation + block * channels + c0);
        });
        std::vector<float>& gamma = scratch.shift;
        std::vector<float>& mean_g = scratch.hi;
        std::vector<float>& coefficient = scratch.lo;
        std::vector<float>& r = scratch.gain;
        for (int64_t c = 0; c < channels; ++c) {
            double g = 0.0, gd = 0.0;
            for (int64_t block = 0; block < blocks.count; ++block) {
                g += sum_dy[block * channels + c];
                gd += sum_dy_deviation[block * channels + c];
            }
            const Coefficients co = finish_channel(c, g, gd);
            const size_t i = static_cast<size_t>(c);
            gamma[i] = co.gamma;
            mean_g[i] = co.mean_g;
            coefficient[i] = co.c;
            r[i] = co.invstd;
        }
        for_span_ranges(a, [&](int64_t p, int64_t c, int64_t count) {
            k.span_grad_apply(x + p * spatial, dy + p * spatial, dx + p * spatial, count, spatial, mean + c,
                              gamma.data() + c, mean_g.data() + c, coefficient.data() + c, r.data() + c, stream);
        });
        return;
    }
    if (a.spatial >= kMinSpanSpatial) {
        const Spans spans{a.batch, a.spatial, plane};
        cpu::parallel_for(a.channels, 1, [&](int64_t begin, int64_t end) {
            for (int64_t c = begin; c < end; ++c) {
                const SplitMean m = split_mean(mean[c]);
                const int64_t first = c * a.spatial;
                const GradSums s = k.grad_sums(x + first, dy + first, nullptr, spans, m);
                const Coefficients co = finish_channel(c, s.g, s.g_deviation);
                // dx walks the images last to first: the sums pass just read the last ones, so
                // they are still in L2 (a 56x56 channel's x and dy at batch 32, 800 KB, alias
                // into part of L2's sets as their planes lie a channel count apart).
                const int64_t last = first + (a.batch - 1) * plane;
                const Spans reversed{a.batch, a.spatial, -plane};
                k.grad_apply(x + last, dy + last, dx + last, reversed, m, co.gamma, co.mean_g, co.c, co.invstd, stream);
            }
        });
        return;
    }
    for_channel_strips(a, [&](int64_t c0, int64_t c1) {
        const int64_t cols = (c1 - c0) * a.spatial;
        const size_t n = static_cast<size_t>(cols);
        std::vector<double> sum_dy(n), sum_dy_deviation(n);
        std::vector<float> hi(n), lo(n, 0.0f), gamma(n), mean_g(n), coefficient(n), r(n);
        for (int64_t c = c0; c < c1; ++c) std::fill_n(hi.begin() + (c - c0) * a.spatial, a.spatial, mean[c]);
        const int64_t first = c0 * a.spatial;
        k.column_grad_sums(x + first, dy + first, a.batch, plane, cols, hi.data(), lo.data(), sum_dy.data(),
                           sum_dy_deviation.data());
        for (int64_t c = c0; c < c1; ++c) {
            double g = 0.0, gd = 0.0;
            const int64_t at = (c - c0) * a.spatial;
            for (int64_t s = 0; s < a.spatial; ++s) {
                g += sum_dy[static_cast<size_t>(at + s)];
                gd += sum_dy_deviation[static_cast<size_t>(at + s)];
            }
            const Coefficients co = finish_channel(c, g, gd);
            std::fill_n(gamma.begin() + at, a.spatial, co.gamma);
            std::fill_n(mean_g.begin() + at, a.spatial, co.mean_g);
            std::fill_n(coefficient.begin() + at, a.spatial, co.c);
            std::fill_n(r.begin() + at, a.spatial, co.invstd);
        }
        k.column_grad_apply(x + first, dy + first, dx + first, a.batch, plane, cols, hi.data(), lo.data(),
                            gamma.data(), mean_g.data(), coefficient.data(), r.data());
    });
}

void group_norm_forward_f32(const NormArgs& a) {
    const NormSpanKernels& k = norm_span_kernels(cpu::active_isa());
    const int64_t group_channels = a.channels / a.groups;
    const int64_t length = group_channels * a.spatial;
    const float* x = static_cast<const float*>(a.x.data);
    float* y = static_cast<float*>(a.y.data);
    const float* scale = data_of<float>(a.scale, a.has_scale);
    const float* bias = data_of<float>(a.bias, a.has_bias);
    float* mean_out = static_cast<float*>(a.mean.data);
    float* invstd_out = static_cast<float*>(a.invstd.data);
    if (a.spatial == 1 && a.groups == 1) {
        // Layer norm: parameters per element of the set (1 and 0 where absent), many sets a call.
        const AffineArrays affine(scale, bias, a.channels);
        const int64_t grain = std::max<int64_t>(1, kMinStripFloats * 16 / std::max<int64_t>(1, length));
        cpu::parallel_for(a.batch, grain, [&](int64_t begin, int64_t end) {
            k.normalize_sets(x + begin * length, y + begin * length, end - begin, length, a.epsilon, affine.scale,
                             affine.bias, mean_out + begin, invstd_out + begin);
        });
        return;
    }
    // Spatial 1 (group norm of NxC): parameters per element of the set.
    const bool per_element = a.spatial == 1 && (scale != nullptr || bias != nullptr);
    const AffineArrays affine(per_element ? scale : nullptr, per_element ? bias : nullptr, per_element ? a.channels : 0);
    cpu::parallel_for(a.batch * a.groups, 1, [&](int64_t begin, int64_t end) {
        for (int64_t set = begin; set < end; ++set) {
            const float* xs = x + set * length;
            float* ys = y + set * length;
            const float shift = length > 0 ? xs[0] : 0.0f;
            const double mean = shift + k.sum(xs, one_span(length), shift) / static_cast<double>(length);
            const SplitMean m = split_mean(mean);
            const double variance = k.squared_deviation(xs, one_span(length), m) / static_cast<double>(length);
            const double invstd = 1.0 / std::sqrt(variance + a.epsilon);
            mean_out[set] = static_cast<float>(mean);
            invstd_out[set] = static_cast<float>(invstd);
            const int64_t first_channel = set % a.groups * group_channels;
            if (per_element) {
                k.normalize_each(xs, ys, length, m, static_cast<float>(invstd), affine.scale + first_channel,
                                 affine.bias + first_channel);
                continue;
            }
            for (int64_t c = 0; c < group_channels; ++c) {
                k.normalize(xs + c * a.spatial, ys + c * a.spatial, one_span(a.spatial), m,
                            static_cast<float>(invstd * parameter(scale, first_channel + c, 1.0f)),
                            parameter(bias, first_channel + c, 0.0f), false);
            }
        }
    });
}

void group_norm_backward_f32(const NormArgs& a) {
    const NormSpanKernels& k = norm_span_kernels(cpu::active_isa());
    const int64_t group_channels = a.channels / a.groups;
    const int64_t length = group_channels * a.spatial;
    const int64_t sets = a.batch * a.groups;
    const float* x = static_cast<const float*>(a.x.data);
    const float* dy = static_cast<const float*>(a.dy.data);
    float* dx = static_cast<float*>(a.dx.data);
    const float* scale = data_of<float>(a.scale, a.has_scale);
    const float* mean = static_cast<const float*>(a.mean.data);
    const float* invstd = static_cast<const float*>(a.invstd.data);
    float* dscale = a.has_dscale ? static_cast<float*>(a.dscale.data) : nullptr;
    float* dbias = a.has_dbias ? static_cast<float*>(a.dbias.data) : nullptr;
    const double inverse_length = 1.0 / static_cast<double>(length);
    if (a.spatial == 1) {
        // One pass per set: dx, and dscale/dbias partials per block of sets.
        const AffineArrays affine(scale, nullptr, scale == nullptr ? a.channels : 0);
        const int64_t blocks = (a.batch + kGradBlockImages - 1) / kGradBlockImages;
        std::vector<float> partial(static_cast<size_t>(2 * blocks * a.channels), 0.0f);
        cpu::parallel_for(blocks, 1, [&](int64_t begin, int64_t end) {
            for (int64_t block = begin; block < end; ++block) {
                float* block_dscale = partial.data() + 2 * block * a.channels;
                float* block_dbias = block_dscale + a.channels;
                const int64_t first_set = block * kGradBlockImages * a.groups;
                for (int64_t set = first_set; set < std::min(sets, first_set + kGradBlockImages * a.groups); ++set) {
                    const int64_t first_channel = set % a.groups * group_channels;
                    const int64_t at = set * length;
                    const SplitMean m = split_mean(mean[set]);
                    const double r = invstd[set];
                    const GradSums s =
                        k.grad_sums(x + at, dy + at, scale != nullptr ? scale + first_channel : nullptr, one_span(length), m);
                    const double mean_g = s.g * inverse_length;
                    const double mean_g_xhat = s.g_deviation * r * inverse_length;
                    k.grad_apply_each(x + at, dy + at, dx + at, length, m, static_cast<float>(r),
                                      affine.scale + first_channel, static_cast<float>(mean_g),
                                      static_cast<float>(r * mean_g_xhat), block_dscale + first_channel,
                                      block_dbias + first_channel);
                }
            }
        });
        if (dscale == nullptr && dbias == nullptr) return;
        cpu::parallel_for(a.channels, 256, [&](int64_t begin, int64_t end) {
            for (int64_t c = begin; c < end; ++c) {
                double ds = 0.0, db = 0.0;
                for (int64_t block = 0; block < blocks; ++block) {
                    ds += partial[static_cast<size_t>(2 * block * a.channels + c)];
                    db += partial[static_cast<size_t>((2 * block + 1) * a.channels + c)];
                }
                if (dscale != nullptr) dscale[c] = static_cast<float>(ds);
                if (dbias != nullptr) dbias[c] = static_cast<float>(db);
            }
        });
        return;
    }
    // Spatial > 1: per (image, channel) sums of dy and dy * (x - mean) serve dx and dscale/dbias.
    std::vector<double> channel_sums(static_cast<size_t>(2 * a.batch * a.channels));
    cpu::parallel_for(sets, 1, [&](int64_t begin, int64_t end) {
        for (int64_t set = begin; set < end; ++set) {
            const int64_t first_channel = set % a.groups * group_channels;
            const SplitMean m = split_mean(mean[set]);
            const double r = invstd[set];
            double sum_g = 0.0, sum_g_deviation = 0.0;
            for (int64_t c = 0; c < group_channels; ++c) {
                const int64_t at = set * length + c * a.spatial;
                const GradSums s = k.grad_sums(x + at, dy + at, nullptr, one_span(a.spatial), m);
                const size_t slot = static_cast<size_t>(2 * (set * group_channels + c));
                channel_sums[slot] = s.g;
                channel_sums[slot + 1] = s.g_deviation;
                const double gamma = parameter(scale, first_channel + c, 1.0f);
                sum_g += gamma * s.g;
                sum_g_deviation += gamma * s.g_deviation;
            }
            const float mean_g = static_cast<float>(sum_g * inverse_length);
            const float coefficient = static_cast<float>(r * r * sum_g_deviation * inverse_length);
            for (int64_t c = 0; c < group_channels; ++c) {
                const int64_t at = set * length + c * a.spatial;
                k.grad_apply(x + at, dy + at, dx + at, one_span(a.spatial), m, parameter(scale, first_channel + c, 1.0f), mean_g,
                             coefficient, static_cast<float>(r), false);
            }
        }
    });
    if (dscale == nullptr && dbias == nullptr) return;
    for (int64_t c = 0; c < a.channels; ++c) {
        double ds = 0.0, db = 0.0;
        for (int64_t n = 0; n < a.batch; ++n) {
            const size_t slot = static_cast<size_t>(2 * (n * a.channels + c));
            ds += channel_sums[slot + 1] * static_cast<double>(invstd[n * a.groups + c / group_channels]);
            db += channel_sums[slot];
        }
        if (dscale != nullptr) dscale[c] = static_cast<float>(ds);
        if (dbias != nullptr) dbias[c] = static_cast<float>(db);
    }
}

}  // namespace

void batch_norm_training(const NormArgs& args) {
    if (args.x.dtype == MLN_DTYPE_F64) return batch_norm_training_typed<double>(args);
    batch_norm_training_f32(args);
}
void batch_norm_inference(const NormArgs& args) {
    if (args.x.dtype == MLN_DTYPE_F64) return batch_norm_inference_typed<double>(args);
    batch_norm_inference_f32(args);
}
void batch_norm_backward(const NormArgs& args) {
    if (args.x.dtype == MLN_DTYPE_F64) return batch_norm_backward_typed<double>(args);
    batch_norm_backward_f32(args);
}
void group_norm_forward(const NormArgs& args) {
    if (args.x.dtype == MLN_DTYPE_F64) return group_norm_forward_typed<double>(args);
    group_norm_forward_f32(args);
}
void group_norm_backward(const NormArgs& args) {
    if (args.x.dtype == MLN_DTYPE_F64) return group_norm_backward_typed<double>(args);
    group_norm_backward_f32(args);
}

}  // namespace mln::kernels
