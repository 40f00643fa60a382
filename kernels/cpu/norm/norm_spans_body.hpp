// Bodies of the NormSpanKernels, written once on a FloatLanes type and compiled per ISA file
// (norm_spans.cpp, norm_spans_avx2.cpp, norm_spans_avx512.cpp). Internal linkage keeps the
// differently compiled copies apart.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/common/float_lanes.hpp"
#include "kernels/cpu/common/prefetch.hpp"
#include "kernels/cpu/common/rounded.hpp"
#include "kernels/cpu/common/streaming_stores.hpp"
#include "kernels/cpu/norm/norm_spans.hpp"

namespace mln::kernels {
namespace {

// f32 registers sum at most this many elements before their total moves to double: a lane
// adds at most kSumChunk / width terms in f32.
constexpr int64_t kSumChunk = 1024;
// Column forms: strips of at most kColumnWidth columns keep their f32 sums on the stack and
// move them to double every kColumnRows rows.
constexpr int64_t kColumnWidth = 256;
constexpr int64_t kColumnRows = 64;

// g = gamma * dy is rounded (common/rounded.hpp) as in the sums, for a set of equal g to give
// dx = 0 exactly.

template <class V>
struct NormSpans {
    using Reg = typename V::Reg;

    // The tail of a span of at least a register: the register ending the span, loaded whole,
    // of which the lanes in `mask` (the last ones) are new. AMD runs masked loads slowly; a
    // masked store of the new lanes leaves the lanes before them as written (y may be x).
    struct Tail {
        typename V::Mask mask;
    };
    static Reg load(const float* p, AllLanes) { return V::load(p, AllLanes{}); }
    static Reg load(const float* p, Tail) { return V::load(p, AllLanes{}); }
    template <class M>
    static Reg load(const float* p, M m) { return V::load(p, m); }
    static Reg keep(Reg v, AllLanes) { return v; }
    static Reg keep(Reg v, Tail t) { return V::keep(v, t.mask); }
    template <class M>
    static Reg keep(Reg v, M m) { return V::keep(v, m); }
    static void store(float* p, Reg v, AllLanes) { V::store(p, v, AllLanes{}); }
    static void store(float* p, Reg v, Tail t) { V::store(p, v, t.mask); }
    template <class M>
    static void store(float* p, Reg v, M m) { V::store(p, v, m); }

    // f(offset, lanes) over the registers of [at, at + length), of a span that holds `before`
    // more elements before at: whole registers, then the tail as a Tail register (spans of at
    // least a register) or a masked one.
    template <class F>
    static void span_registers(int64_t at, int64_t length, F&& f, int64_t before = 0) {
        int64_t i = 0;
        for (; i + V::width <= length; i += V::width) f(at + i, AllLanes{});
        if (i == length) return;
        if (before + length >= V::width) f(at + length - V::width, Tail{V::last(length - i)});
        else f(at + i, V::first(length - i));
    }

    static constexpr uintptr_t kRegisterBytes = V::width * sizeof(float);
    static bool on_boundary(const float* p) { return reinterpret_cast<uintptr_t>(p) % kRegisterBytes == 0; }

    // Elements from anchor + at to the next register boundary, where that is inside a span of
    // `length`; 0 on a boundary. Walks that start with these as one masked register load and
    // store whole registers that never straddle two cache lines: spans 16 bytes past a line
    // (malloc's large blocks) split every load, 1.15-1.35x batch norm time, 1 thread.
    static int64_t head_lanes(const float* anchor, int64_t at, int64_t length) {
        const uintptr_t address = reinterpret_cast<uintptr_t>(anchor + at);
        if (address % sizeof(float) != 0) return 0;
        const int64_t head = static_cast<int64_t>((kRegisterBytes - address % kRegisterBytes) % kRegisterBytes / sizeof(float));
        return head < length ? head : 0;
    }

    // span_registers on anchor's register boundaries: the head (head_lanes) first.
    template <class F>
    static void aligned_registers(const float* anchor, int64_t at, int64_t length, F&& f) {
        const int64_t head = head_lanes(anchor, at, length);
        if (head > 0) f(at, V::first(head));
        span_registers(at + head, length - head, f, head);
    }

    // aligned_registers with two accumulator chains (two halve the add latency): f(offset,
    // lanes, accumulator) with `first` for the head, the tail and every other whole register,
    // `second` for the whole registers between. `before` as in span_registers, less the head.
    // The accumulators are the caller's named variables: an array of the two, indexed by the
    // chain, kept the first on the stack (layer norm 2048x256 forward 1.08x time, 1 thread).
    template <class Acc, class F>
    static void paired_registers(const float* anchor, int64_t at, int64_t length, Acc& first, Acc& second, F&& f,
                                 int64_t before = 0) {
        int64_t i = head_lanes(anchor, at, length);
        if (i > 0) f(at, V::first(i), first);
        for (; i + 2 * V::width <= length; i += 2 * V::width) {
            f(at + i, AllLanes{}, first);
            f(at + i + V::width, AllLanes{}, second);
        }
        span_registers(at + i, length - i, [&](int64_t j, auto m) { f(j, m, first); }, before + i);
    }

    // Spans shorter than this write from their start, not from out's register boundaries: the
    // masked head register costs more than the split lines it saves (1 thread, same-process A/B
    // time, batch norm forward training / backward / inference: 32x512x7x7 0.94-0.97x /
    // 0.95-1.0x / 0.88-0.98x, 32x64x5x5 0.89x / 0.90x / 0.85x; 9x9 and 11x11 gain nothing).
    static constexpr int64_t kAlignedWriteLength = 4 * V::width;

    // out[i] = value(i, lanes) over the span [at, at + length), on out's register boundaries
    // (spans of kAlignedWriteLength and more, or streamed). With `stream`, the whole registers
    // are written with non-temporal stores (the caller fences), with the streams' prefetch
    // (streaming_stores.hpp): batch norm 32x64x112x112 and 32x64x56x56, 2 threads, same process
    // both ways round against main, forward training 0.83-0.93x the time, backward 0.80-0.89x,
    // inference 0.84-0.99x; batch norm 8192x768 even (0.96-1.04x), 2026-12-07.
    template <class F>
    static void write_registers(float* out, int64_t at, int64_t length, bool stream, F&& value) {
        const int64_t head = stream || length >= kAlignedWriteLength ? head_lanes(out, at, length) : 0;
        if (head > 0) {
            const auto m = V::first(head);
            store(out + at, value(at, m), m);
        }
        int64_t i = head;
        if constexpr (V::width > 1) {
            if (stream && on_boundary(out + at + i)) {
                for (; i + V::width <= length; i += V::width) {
                    prefetch_stream_ahead_at_block(out + at + i);
                    V::stream(out + at + i, value(at + i, AllLanes{}));
                }
            }
        }
        span_registers(at + i, length - i, [&](int64_t j, auto m) { store(out + j, value(j, m), m); }, i);
    }

    // Orders the non-temporal stores of write_registers before what follows.
    static void fence_streams(bool stream) {
#if defined(__AVX2__)
        if (stream) _mm_sfence();
#else
        (void)stream;
#endif
    }

    // (x - mean), 0 in lanes that are not the call's.
    template <class M>
    static Reg deviation(const float* x, int64_t i, Reg hi, Reg lo, M m) {
        return keep(V::sub(V::sub(load(x + i, m), hi), lo), m);
    }
    template <class M>
    static Reg deviation(const float* x, int64_t i, SplitMean mean, M m) {
        return deviation(x, i, V::set1(mean.hi), V::set1(mean.lo), m);
    }

    // Runs body(offset of the piece in x, its position in the span, its length) over pieces of
    // the spans of `s` in order, and flush() whenever the next piece would take the elements
    // summed since the last flush past kSumChunk, and once at the end. Short spans (a 7x7
    // plane) share one chunk, so their f32 registers move to double once per kSumChunk
    // elements, not once per span.
    template <class Body, class Flush>
    static void for_chunks(Spans s, Body&& body, Flush&& flush) {
        int64_t pending = 0;
        for (int64_t blk = 0; blk < s.blocks; ++blk) {
            for (int64_t start = 0; start < s.length; start += kSumChunk) {
                const int64_t length = std::min(kSumChunk, s.length - start);
                if (pending + length > kSumChunk) {
                    flush();
                    pending = 0;
                }
                body(blk * s.stride + start, start, length);
                pending += length;
            }
        }
        flush();
    }

    // Sum of term(i, lanes) (registers, 0 in lanes not the call's) over the set, chunked, on
    // anchor's register boundaries.
    template <class Term>
    static double chunked_sum(const float* anchor, Spans s, Term&& term) {
        double total = 0.0;
        Reg a = V::zero(), b = V::zero();
        for_chunks(
            s,
            [&](int64_t at, int64_t, int64_t length) {
                paired_registers(anchor, at, length, a, b,
                                 [&](int64_t i, auto m, Reg& acc) { acc = V::add(acc, term(i, m)); });
            },
            [&] {
                total += V::sum(V::add(a, b));
                a = b = V::zero();
            });
        return total;
    }

    // f(offset in x, lanes) over the registers of every span.
    template <class F>
    static void for_spans(Spans s, F&& f) {
        for (int64_t blk = 0; blk < s.blocks; ++blk) span_registers(blk * s.stride, s.length, f);
    }

    // Sets of several spans ask for the next span's line as they read each register: their
    // first pass reads spans a plane apart, where the hardware prefetcher starts over (batch
    // norm forward training channel by channel, 1 thread, same-process A/B CPU time:
    // 32x64x56x56 0.86-0.89x, 32x64x112x112 0.95x). grad_sums (x and dy) measured 1.03-1.05x
    // slower with it on 112x112.
    static double sum(const float* x, Spans s, float shift) {
        const Reg v = V::set1(shift);
        if (s.blocks > 1) {
            return chunked_sum(x, s, [&](int64_t i, auto m) {
                prefetch_for_read(x + i + s.stride);
                return keep(V::sub(load(x + i, m), v), m);
            });
        }
        return chunked_sum(x, s, [&](int64_t i, auto m) { return keep(V::sub(load(x + i, m), v), m); });
    }

    static double squared_deviation(const float* x, Spans s, SplitMean mean) {
        return chunked_sum(x, s, [&](int64_t i, auto m) {
            const Reg d = deviation(x, i, mean, m);
            return V::mul(d, d);
        });
    }

    static void normalize(const float* x, float* y, Spans s, SplitMean mean, float a, float b, bool stream) {
        const Reg va = V::set1(a), vb = V::set1(b);
        for (int64_t blk = 0; blk < s.blocks; ++blk) {
            write_registers(y, blk * s.stride, s.length, stream,
                            [&](int64_t i, auto m) { return V::add(V::mul(deviation(x, i, mean, m), va), vb); });
        }
        fence_streams(stream);
    }

    static void normalize_each(const float* x, float* y, int64_t n, SplitMean mean, float invstd, const float* scale,
                               const float* bias) {
        const Reg r = V::set1(invstd);
        for_lanes<V>(n, [&](int64_t i, auto m) {
            const Reg xhat = V::mul(deviation(x, i, mean, m), r);
            V::store(y + i, V::add(V::mul(xhat, V::load(scale + i, m)), V::load(bias + i, m)), m);
        });
    }

    // normalize_sets asks for the set this many sets ahead of the one it starts: sets one after
    // another, each read three times in quick succession, leave the hardware prefetcher behind
    // (8192x768, 1 thread, same-process A/B CPU time 0.83-0.85x; 2048x256 0.98-0.99x; 4 sets
    // ahead the same). Backward (x and dy ahead, 1 or 2 sets) measured 1.13-1.22x slower.
    static constexpr int64_t kPrefetchSets = 2;
    // Sets shorter than kGroupedSetLength floats run each pass over kSetsAtOnce sets before the
    // next pass: the sums' reductions and 1/sqrt, a chain of dependent latencies per set,
    // overlap (forward, 1 thread, same-process A/B time: 2048x256 0.83-0.88x, 4096x384 0.85x,
    // 4096x512 0.87-0.91x, 8192x128 0.77-0.80x, 512x64 0.93x; 2 at once 0.98x on 2048x256; sets of
    // 768 floats measured 1.19x slower grouped). The same bits: each set's arithmetic is as
    // before.
    static constexpr int64_t kSetsAtOnce = 4;
    static constexpr int64_t kGroupedSetLength = 768;
    static void normalize_sets(const float* x, float* y, int64_t sets, int64_t length, double epsilon,
                               const float* scale, const float* bias, float* mean_out, float* invstd_out) {
        const int64_t grouped = length < kGroupedSetLength ? sets / kSetsAtOnce * kSetsAtOnce : 0;
        normalize_set_groups<kSetsAtOnce>(x, y, grouped, length, epsilon, scale, bias, mean_out, invstd_out);
        normalize_set_groups<1>(x + grouped * length, y + grouped * length, sets - grouped, length, epsilon, scale, bias,
                                mean_out + grouped, invstd_out + grouped);
    }

    // normalize_sets over `sets` (a multiple of AtOnce), AtOnce sets per pass. The prefetch runs
    // a group ahead, at least kPrefetchSets sets.
    template <int64_t AtOnce>
    static void normalize_set_groups(const float* x, float* y, int64_t sets, int64_t length, double epsilon,
                                     const float* scale, const float* bias, float* mean_out, float* invstd_out) {
        constexpr int64_t kAhead = std::max(kPrefetchSets, AtOnce);
        const double count = static_cast<double>(length);
        for (int64_t first = 0; first < sets; first += AtOnce) {
            double mean[AtOnce], invstd[AtOnce];
            SplitMean m[AtOnce];
            for (int64_t g = 0; g < AtOnce; ++g) {
                const int64_t set = first + g;
                const float* xs = x + set * length;
                if (set + kAhead < sets) {
                    const char* ahead = reinterpret_cast<const char*>(xs + kAhead * length);
                    for (int64_t byte = 0; byte < length * int64_t{sizeof(float)}; byte += 64) prefetch_for_read(ahead + byte);
                }
                const float shift = length > 0 ? xs[0] : 0.0f;
                mean[g] = shift + sum(xs, one_span(length), shift) / count;
                m[g] = split_mean(mean[g]);
            }
            for (int64_t g = 0; g < AtOnce; ++g) {
                const float* xs = x + (first + g) * length;
                invstd[g] = 1.0 / std::sqrt(squared_deviation(xs, one_span(length), m[g]) / count + epsilon);
            }
            for (int64_t g = 0; g < AtOnce; ++g) {
                const int64_t set = first + g;
                mean_out[set] = static_cast<float>(mean[g]);
                invstd_out[set] = static_cast<float>(invstd[g]);
                normalize_each(x + set * length, y + set * length, length, m[g], static_cast<float>(invstd[g]), scale, bias);
            }
        }
    }

    static GradSums grad_sums(const float* x, const float* dy, const float* gamma, Spans s, SplitMean mean) {
        GradSums sums{0.0, 0.0};
        Reg g_sum = V::zero(), gd_sum = V::zero();
        for_chunks(
            s,
            [&](int64_t at, int64_t position, int64_t length) {
                // gamma is indexed by the position in the span.
                const int64_t to_position = position - at;
                aligned_registers(x, at, length, [&](int64_t i, auto m) {
                    Reg g = keep(load(dy + i, m), m);
                    if (gamma != nullptr) g = rounded(V::mul(g, load(gamma + (i + to_position), m)));
                    g_sum = V::add(g_sum, g);
                    gd_sum = V::add(gd_sum, V::mul(g, deviation(x, i, mean, m)));
                });
            },
            [&] {
                sums.g += V::sum(g_sum);
                sums.g_deviation += V::sum(gd_sum);
                g_sum = V::zero();
                gd_sum = V::zero();
            });
        return sums;
    }

    // One register of grad_apply.
    template <class M>
    static Reg applied(const float* x, const float* dy, int64_t i, M m, Reg hi, Reg lo, Reg vg, Reg vm, Reg vc, Reg r) {
        const Reg centred = V::sub(rounded(V::mul(load(dy + i, m), vg)), vm);
        return V::mul(V::sub(centred, V::mul(deviation(x, i, hi, lo, m), vc)), r);
    }

    static void grad_apply(const float* x, const float* dy, float* dx, Spans s, SplitMean mean, float gamma,
                           float mean_g, float c, float invstd, bool stream) {
        const Reg hi = V::set1(mean.hi), lo = V::set1(mean.lo);
        const Reg vg = V::set1(gamma), vm = V::set1(mean_g), vc = V::set1(c), r = V::set1(invstd);
        for (int64_t blk = 0; blk < s.blocks; ++blk) {
            write_registers(dx, blk * s.stride, s.length, stream,
                            [&](int64_t i, auto m) { return applied(x, dy, i, m, hi, lo, vg, vm, vc, r); });
        }
        fence_streams(stream);
    }

    static void grad_apply_each(const float* x, const float* dy, float* dx, int64_t n, SplitMean mean, float invstd,
                                const float* gamma, float mean_g, float c, float* dscale, float* dbias) {
        const Reg r = V::set1(invstd), vm = V::set1(mean_g), vc = V::set1(c);
        for_lanes<V>(n, [&](int64_t i, auto m) {
            const Reg g = V::load(dy + i, m);
            const Reg d = deviation(x, i, mean, m);
            const Reg centred = V::sub(rounded(V::mul(g, V::load(gamma + i, m))), vm);
            V::store(dx + i, V::mul(V::sub(centred, V::mul(d, vc)), r), m);
            V::store(dscale + i, V::add(V::load(dscale + i, m), V::mul(V::mul(g, d), r)), m);
            V::store(dbias + i, V::add(V::load(dbias + i, m), g), m);
        });
    }

    // Lanes of one register all of channel c (OneChannel), or across a channel boundary:
    // channel c in the lanes of `lower`, c + 1 in those of `upper` (TwoChannels).
    struct OneChannel {
        int64_t c;
    };
    struct TwoChannels {
        int64_t c;
        typename V::Mask lower, upper;
    };
    // A per-channel parameter in the lanes of its channel.
    static Reg channel_value(const float* p, OneChannel ch) { return V::set1(p[ch.c]); }
    static Reg channel_value(const float* p, TwoChannels ch) {
        return V::add(V::keep(V::set1(p[ch.c]), ch.lower), V::keep(V::set1(p[ch.c + 1]), ch.upper));
    }

    // f(offset, lanes, channel) over `spans` spans of `length` >= V::width floats back to back
    // (channels first, first + 1, ...), walked as one run of registers: `head` (< length)
    // masked lanes, whole registers, a channel boundary inside some, then the tail as a Tail
    // register.
    template <class F>
    static void channel_registers(int64_t first, int64_t spans, int64_t length, int64_t head, F&& f) {
        const int64_t total = spans * length;
        int64_t e = 0, c = first, end = length;
        if (head > 0) {
            f(0, V::first(head), OneChannel{first});
            e = head;
        }
        for (; e + V::width <= total; e += V::width) {
            if (e == end) {
                ++c;
                end += length;
            }
            if (e + V::width <= end) {
                f(e, AllLanes{}, OneChannel{c});
                continue;
            }
            const int64_t below = end - e;
            f(e, AllLanes{}, TwoChannels{c, V::first(below), V::last(V::width - below)});
            ++c;
            end += length;
        }
        if (e < total) f(total - V::width, Tail{V::last(total - e)}, OneChannel{first + spans - 1});
    }

    // acc[c] (K registers per channel) += term(c, offset, lanes, acc[c]) over the registers of
    // every span, in blocks of kChannelBlock channels whose registers stay in L1; out[k][c] =
    // the sum of acc[c][k]'s lanes. prefetch(byte offset) is called on the lines of the span
    // kPrefetchSpans ahead: the walk jumps an image ahead every kChannelBlock spans and the
    // hardware prefetcher stops at 4 KB pages (backward sums of 32x256x14x14 0.83-0.89x time,
    // 32x512x7x7 0.94-0.95x, 1 thread). Spans of kPrefetchBelowLength floats and more (28x28:
    // 1.04-1.06x with it) run long enough for the hardware prefetcher.
    static constexpr int64_t kPrefetchSpans = 8;
    static constexpr int64_t kPrefetchBelowLength = 256;
    static constexpr int64_t kChannelBlock = 64;
    // Spans of at least this many floats sum as two chains in registers (1 thread, same-process
    // A/B CPU time: forward training 32x128x28x28 0.88x, backward 0.94x; 14x14 even; 7x7
    // forward 1.15x, so short spans keep the one chain).
    static constexpr int64_t kSplitSumsLength = 16 * V::width;
    // Spans shorter than kSplitSumsLength in calls of at least this many images walk the
    // images at each register (short_channel_accumulate). 1 thread, same-process A/B CPU time
    // against the span walk below: batch 32 forward training / backward 7x7 0.75x / 0.78x,
    // 14x14 1.0x / 0.97x, 5x5 0.62x / 0.69x, 8x8 0.89x / 1.06x; batch 4 7x7 0.85x / 0.82x,
    // 14x14 1.04x / 0.93x; batch 1 and 2 1.1-1.5x slower.
    static constexpr int64_t kColumnWalkImages = 4;
    template <int K, class Term, class Prefetch>
    static void channel_accumulate(const float* anchor, int64_t images, int64_t image_stride, int64_t channels,
                                   int64_t length, double* const (&out)[K], Term&& term, Prefetch&& prefetch) {
        if (length > kSumChunk) return long_channel_accumulate<K>(anchor, images, image_stride, channels, length, out, term);
        if (length < kSplitSumsLength && images >= kColumnWalkImages) {
            return short_channel_accumulate<K>(anchor, images, image_stride, channels, length, out, term, prefetch);
        }
        Reg acc[kChannelBlock][K];
        for (int64_t c0 = 0; c0 < channels; c0 += kChannelBlock) {
            const int64_t block = std::min(kChannelBlock, channels - c0);
            for (int64_t j = 0; j < block; ++j) {
                for (int k = 0; k < K; ++k) acc[j][k] = V::zero();
            }
            for (int64_t n = 0; n < images; ++n) {
                for (int64_t j = 0; j < block; ++j) {
                    const int64_t c = c0 + j;
                    // The span kPrefetchSpans ahead in this walk (in the next image past the
                    // block's end).
                    const int64_t ahead = j + kPrefetchSpans;
                    const int64_t ahead_image = n + ahead / block;
                    if (length < kPrefetchBelowLength && ahead_image < images) {
                        const int64_t at = ahead_image * image_stride + (c0 + ahead % block) * length;
                        for (int64_t byte = 0; byte < length * int64_t{sizeof(float)}; byte += 64) {
                            prefetch(at * int64_t{sizeof(float)} + byte);
                        }
                    }
                    if (length < kSplitSumsLength) {
                        aligned_registers(anchor, n * image_stride + c * length, length,
                                          [&](int64_t i, auto m) { term(i, m, OneChannel{c}, acc[j]); });
                        continue;
                    }
                    // A long span sums into registers of its own, two sets alternating, and
                    // adds them to the channel's accumulators once: no dependency chain through
                    // acc (memory) or along the whole span.
                    Reg first[K], second[K];
                    for (int k = 0; k < K; ++k) first[k] = second[k] = V::zero();
                    paired_registers(anchor, n * image_stride + c * length, length, first, second,
                                     [&](int64_t i, auto m, Reg(&part)[K]) { term(i, m, OneChannel{c}, part); });
                    for (int k = 0; k < K; ++k) acc[j][k] = V::add(acc[j][k], V::add(first[k], second[k]));
                }
            }
            for (int64_t j = 0; j < block; ++j) {
                for (int k = 0; k < K; ++k) out[k][c0 + j] = V::sum(acc[j][k]);
            }
        }
    }

    // channel_accumulate for spans shorter than kSplitSumsLength. The block of spans lies at the
    // same offsets in each image: each register of it (channel_registers) sums over up to
    // kWalkImages images in registers, two chains alternating, and reaches acc once, its lanes
    // split between two channels where a boundary crosses it. No per-span tail or restart, and
    // the loads stay on register boundaries where the block starts on one. kWalkImages bounds
    // the lines read at once a plane apart: planes a multiple of 4 KB apart share an L1 set
    // (12 ways), and 16 of them (32x256x8x8) measured 1.26x forward time where 8 give 0.88x.
    // prefetch is called a few lines ahead in each image (8x8 backward 1.5x slower without).
    template <int K, class Term, class Prefetch>
    static void short_channel_accumulate(const float* anchor, int64_t images, int64_t image_stride, int64_t channels,
                                         int64_t length, double* const (&out)[K], Term& term, Prefetch& prefetch) {
        // (Prefetching further ahead lost, Zen 5, batch 32, 1 thread, 7x7 and 14x14 forward
        // training and backward: 16 lines even, 1.00-1.02x time; 32 lines 7x7 backward 1.08-1.11x.)
        constexpr int64_t kWalkImages = 8, kLineFloats = 64 / sizeof(float), kPrefetchFloats = 8 * kLineFloats;
        Reg acc[kChannelBlock][K];
        for (int64_t c0 = 0; c0 < channels; c0 += kChannelBlock) {
            const int64_t block = std::min(kChannelBlock, channels - c0);
            for (int64_t j = 0; j < block; ++j) {
                for (int k = 0; k < K; ++k) acc[j][k] = V::zero();
            }
            for (int64_t n0 = 0; n0 < images; n0 += kWalkImages) {
                const int64_t walk = std::min(kWalkImages, images - n0);
                const int64_t start = n0 * image_stride + c0 * length;
                channel_registers(c0, block, length, head_lanes(anchor, start, length), [&](int64_t e, auto m, auto ch) {
                    Reg part[2][K];
                    for (int k = 0; k < K; ++k) part[0][k] = part[1][k] = V::zero();
                    const int64_t at = start + e;
                    if (e % kLineFloats < V::width) {
                        for (int64_t n = 0; n < walk; ++n) prefetch((at + n * image_stride + kPrefetchFloats) * int64_t{sizeof(float)});
                    }
                    int64_t n = 0;
                    for (; n + 2 <= walk; n += 2) {
                        term(at + n * image_stride, m, ch, part[0]);
                        term(at + (n + 1) * image_stride, m, ch, part[1]);
                    }
                    if (n < walk) term(at + n * image_stride, m, ch, part[0]);
                    Reg* const first = acc[ch.c - c0];
                    if constexpr (std::is_same_v<decltype(ch), OneChannel>) {
                        for (int k = 0; k < K; ++k) first[k] = V::add(first[k], V::add(part[0][k], part[1][k]));
                    } else {
                        Reg* const second = acc[ch.c + 1 - c0];
                        for (int k = 0; k < K; ++k) {
                            const Reg v = V::add(part[0][k], part[1][k]);
                            first[k] = V::add(first[k], V::keep(v, ch.lower));
                            second[k] = V::add(second[k], V::keep(v, ch.upper));
                        }
                    }
                });
            }
            for (int64_t j = 0; j < block; ++j) {
                for (int k = 0; k < K; ++k) out[k][c0 + j] = V::sum(acc[j][k]);
            }
        }
    }

    // channel_accumulate for spans longer than kSumChunk (one image per call): channel by
    // channel, moving the registers to double every kSumChunk elements. Kept apart so that the
    // short-span loop above compiles as before (7x7 forward measured 3-5% slower with the
    // chunking inside it).
    template <int K, class Term>
    static void long_channel_accumulate(const float* anchor, int64_t images, int64_t image_stride, int64_t channels,
                                        int64_t length, double* const (&out)[K], Term& term) {
        for (int64_t c = 0; c < channels; ++c) {
            double total[K] = {};
            for (int64_t n = 0; n < images; ++n) {
                for (int64_t start = 0; start < length; start += kSumChunk) {
                    // Two sets of registers alternate, to halve the add chains (backward sums
                    // of 32x64x56x56, 1 thread, same-process A/B CPU time 0.95x).
                    Reg first[K], second[K];
                    for (int k = 0; k < K; ++k) first[k] = second[k] = V::zero();
                    paired_registers(anchor, n * image_stride + c * length + start, std::min(kSumChunk, length - start),
                                     first, second,
                                     [&](int64_t i, auto m, Reg(&part)[K]) { term(i, m, OneChannel{c}, part); }, start);
                    for (int k = 0; k < K; ++k) total[k] += V::sum(V::add(first[k], second[k]));
                }
            }
            for (int k = 0; k < K; ++k) out[k][c] = total[k];
        }
    }

    static void channel_sums(const float* x, int64_t images, int64_t image_stride, int64_t channels, int64_t length,
                             const float* shift, double* sums) {
        double* const out[1] = {sums};
        channel_accumulate<1>(x, images, image_stride, channels, length, out, [&](int64_t i, auto m, auto ch, Reg(&a)[1]) {
            a[0] = V::add(a[0], keep(V::sub(load(x + i, m), channel_value(shift, ch)), m));
        }, [&](int64_t byte) { prefetch_for_read(reinterpret_cast<const char*>(x) + byte); });
    }

    static void channel_squared_deviations(const float* x, int64_t images, int64_t image_stride, int64_t channels,
                                           int64_t length, const float* mean_hi, const float* mean_lo, double* squares) {
        double* const out[1] = {squares};
        channel_accumulate<1>(x, images, image_stride, channels, length, out, [&](int64_t i, auto m, auto ch, Reg(&a)[1]) {
            const Reg d = keep(V::sub(V::sub(load(x + i, m), channel_value(mean_hi, ch)), channel_value(mean_lo, ch)), m);
            a[0] = V::add(a[0], V::mul(d, d));
        }, [](int64_t) {});  // Its caller just read the block with channel_sums: it is in L2.
    }

    static void channel_grad_sums(const float* x, const float* dy, int64_t images, int64_t image_stride,
                                  int64_t channels, int64_t length, const float* mean_hi, double* sum_dy,
                                  double* sum_dy_deviation) {
        double* const out[2] = {sum_dy, sum_dy_deviation};
        channel_accumulate<2>(x, images, image_stride, channels, length, out, [&](int64_t i, auto m, auto ch, Reg(&a)[2]) {
            const Reg g = keep(load(dy + i, m), m);
            a[0] = V::add(a[0], g);
            a[1] = V::add(a[1], V::mul(g, V::sub(load(x + i, m), channel_value(mean_hi, ch))));
        }, [&](int64_t byte) {
            prefetch_for_read(reinterpret_cast<const char*>(x) + byte);
            prefetch_for_read(reinterpret_cast<const char*>(dy) + byte);
        });
    }

    // K per-span parameter registers.
    template <int K>
    struct SpanParameters {
        Reg r[K];
        const Reg& operator[](int k) const { return r[k]; }
        Reg& operator[](int k) { return r[k]; }
    };

    // value(offset, lanes, parameters) stored to out over `spans` spans of `length` >= V::width
    // floats back to back, walked as one run of registers on out's boundaries (a masked head
    // register first, the tail as a Tail register): no register per span end, none straddling
    // two cache lines, and with `stream` every whole register non-temporal (the caller fences),
    // so whole lines go out that way, with the streams' prefetch (figures at write_registers).
    // parameters(j) gives span j's registers; a register across
    // the end of span j takes j's in the lanes before it, j + 1's in the rest. The walk span by
    // span that this replaced wrote each span's ends plainly and its middle non-temporally, so
    // planes that are not a multiple of a line left lines half written each way, streamed
    // outputs (16 MiB and more) of 7x7 planes running 15-20x slower per element than 8x8. Zen 5,
    // 1 thread, same-process A/B time against it, min-median both ways round: batch 200 7x7x512
    // inference 0.057-0.065x, forward training 0.09-0.13x, backward 0.15-0.21x; 200x256x14x14
    // 0.23-0.31x / 0.46-0.57x / 0.60-0.62x; 64x128x27x27 inference 0.61-0.77x. Batch 32 (not
    // streamed): 7x7 inference 0.91-0.97x, backward 0.86-0.97x; streamed planes that are a
    // multiple of a line (64x64x56x56, 256x128x28x28) even, 0.93-1.1x, within this loaded
    // machine's spread (main against itself 0.98-1.12x). The functors come by value and capture
    // by value: AVX stores may alias anything, so x, reached through the captured reference,
    // was loaded again at every register (those streamed planes then measured 1.0-1.5x).
    template <int K, class Parameters, class Value>
    static void write_span_run(float* out, int64_t spans, int64_t length, bool stream, Parameters parameters,
                               Value value) {
        const int64_t total = spans * length;
        int64_t e = head_lanes(out, 0, total);
        SpanParameters<K> p = parameters(0);
        if (e > 0) {
            const auto m = V::first(e);
            store(out, value(0, m, p), m);
        }
        // The whole registers, stored by put(offset, register).
        // The loop's own copies of e and p: kept in registers, not reloaded through the
        // captures at each register.
        auto walk = [&](auto&& put) {
            int64_t i = e;
            SpanParameters<K> current = p;
            for (int64_t j = 0;; ++j) {
                const int64_t end = (j + 1) * length;
                for (; i + V::width <= end; i += V::width) put(i, value(i, AllLanes{}, current));
                if (j + 1 == spans) break;
                const SpanParameters<K> next = parameters(j + 1);
                if (i < end) {
                    const auto lower = V::first(end - i), upper = V::last(V::width - (end - i));
                    SpanParameters<K> both;
                    for (int k = 0; k < K; ++k) both[k] = V::add(V::keep(current[k], lower), V::keep(next[k], upper));
                    put(i, value(i, AllLanes{}, both));
                    i += V::width;
                }
                current = next;
            }
            e = i;
            p = current;
        };
        bool streamed = false;
        if constexpr (V::width > 1) {
            streamed = stream && on_boundary(out + e);
            if (streamed) walk([&](int64_t i, Reg v) {
                prefetch_stream_ahead_at_block(out + i);
                V::stream(out + i, v);
            });
        }
        if (!streamed) walk([&](int64_t i, Reg v) { V::store(out + i, v, AllLanes{}); });
        if (e < total) {
            const Tail t{V::last(total - e)};
            store(out + total - V::width, value(total - V::width, t, p), t);
        }
    }

    static void span_normalize(const float* x, float* y, int64_t spans, int64_t length, const float* mean_hi,
                               const float* mean_lo, const float* a, const float* b, bool stream) {
        write_span_run<4>(
            y, spans, length, stream,
            [=](int64_t j) {
                return SpanParameters<4>{{V::set1(mean_hi[j]), V::set1(mean_lo[j]), V::set1(a[j]), V::set1(b[j])}};
            },
            [=](int64_t i, auto m, const SpanParameters<4>& p) {
                return V::add(V::mul(deviation(x, i, p[0], p[1], m), p[2]), p[3]);
            });
        fence_streams(stream);
    }

    static void span_grad_apply(const float* x, const float* dy, float* dx, int64_t spans, int64_t length,
                                const float* mean_hi, const float* gamma, const float* mean_g, const float* c,
                                const float* invstd, bool stream) {
        write_span_run<5>(
            dx, spans, length, stream,
            [=](int64_t j) {
                return SpanParameters<5>{{V::set1(mean_hi[j]), V::set1(gamma[j]), V::set1(mean_g[j]), V::set1(c[j]),
                                         V::set1(invstd[j])}};
            },
            [=](int64_t i, auto m, const SpanParameters<5>& p) {
                return applied(x, dy, i, m, p[0], V::zero(), p[1], p[2], p[3], p[4]);
            });
        fence_streams(stream);
    }

    // Runs add_row(row, strip start, strip width, f32 accumulators...) over strips of
    // kColumnWidth columns and blocks of kColumnRows rows, moving each block's f32 sums into
    // the double outputs.
    template <int K, class AddRow>
    static void column_accumulate(int64_t rows, int64_t cols, double* const (&out)[K], AddRow&& add_row) {
        alignas(64) float acc[K][kColumnWidth];
        for (int64_t c0 = 0; c0 < cols; c0 += kColumnWidth) {
            const int64_t width = std::min(kColumnWidth, cols - c0);
            for (int k = 0; k < K; ++k) std::fill(out[k] + c0, out[k] + c0 + width, 0.0);
            for (int64_t r0 = 0; r0 < rows; r0 += kColumnRows) {
                for (int k = 0; k < K; ++k) std::fill(acc[k], acc[k] + width, 0.0f);
                const int64_t r1 = std::min(rows, r0 + kColumnRows);
                for (int64_t r = r0; r < r1; ++r) add_row(r, c0, width, acc);
                for (int k = 0; k < K; ++k) {
                    for (int64_t j = 0; j < width; ++j) out[k][c0 + j] += static_cast<double>(acc[k][j]);
                }
            }
        }
    }

    template <class M>
    static Reg column_deviation(const float* x, int64_t j, const float* hi, const float* lo, M m) {
        return V::keep(V::sub(V::sub(V::load(x + j, m), V::load(hi + j, m)), V::load(lo + j, m)), m);
    }

    static void column_sums(const float* x, int64_t rows, int64_t stride, int64_t cols, const float* shift,
                            double* sums) {
        double* const out[1] = {sums};
        column_accumulate<1>(rows, cols, out, [&](int64_t r, int64_t c0, int64_t width, float (&acc)[1][kColumnWidth]) {
            const float* row = x + r * stride + c0;
            for_lanes<V>(width, [&](int64_t j, auto m) {
                const Reg v = V::sub(V::load(row + j, m), V::load(shift + c0 + j, m));
                V::store(acc[0] + j, V::add(V::load(acc[0] + j, m), v), m);
            });
        });
    }

    static void column_squared_deviations(const float* x, int64_t rows, int64_t stride, int64_t cols,
                                          const float* mean_hi, const float* mean_lo, double* squares) {
        double* const out[1] = {squares};
        column_accumulate<1>(rows, cols, out, [&](int64_t r, int64_t c0, int64_t width, float (&acc)[1][kColumnWidth]) {
            const float* row = x + r * stride + c0;
            for_lanes<V>(width, [&](int64_t j, auto m) {
                const Reg d = column_deviation(row, j, mean_hi + c0, mean_lo + c0, m);
                V::store(acc[0] + j, V::add(V::load(acc[0] + j, m), V::mul(d, d)), m);
            });
        });
    }

    static void column_normalize(const float* x, float* y, int64_t rows, int64_t stride, int64_t cols,
                                 const float* mean_hi, const float* mean_lo, const float* a, const float* b) {
        for (int64_t r = 0; r < rows; ++r) {
            const float* xr = x + r * stride;
            float* yr = y + r * stride;
            for_lanes<V>(cols, [&](int64_t j, auto m) {
                const Reg d = column_deviation(xr, j, mean_hi, mean_lo, m);
                V::store(yr + j, V::add(V::mul(d, V::load(a + j, m)), V::load(b + j, m)), m);
            });
        }
    }

    static void column_grad_sums(const float* x, const float* dy, int64_t rows, int64_t stride, int64_t cols,
                                 const float* mean_hi, const float* mean_lo, double* sum_dy, double* sum_dy_deviation) {
        double* const out[2] = {sum_dy, sum_dy_deviation};
        column_accumulate<2>(rows, cols, out, [&](int64_t r, int64_t c0, int64_t width, float (&acc)[2][kColumnWidth]) {
            const float* xr = x + r * stride + c0;
            const float* dyr = dy + r * stride + c0;
            for_lanes<V>(width, [&](int64_t j, auto m) {
                const Reg g = V::load(dyr + j, m);
                const Reg d = column_deviation(xr, j, mean_hi + c0, mean_lo + c0, m);
                V::store(acc[0] + j, V::add(V::load(acc[0] + j, m), g), m);
                V::store(acc[1] + j, V::add(V::load(acc[1] + j, m), V::mul(g, d)), m);
            });
        });
    }

    static void column_grad_apply(const float* x, const float* dy, float* dx, int64_t rows, int64_t stride,
                                  int64_t cols, const float* mean_hi, const float* mean_lo, const float* gamma,
                                  const float* mean_g, const float* c, const float* invstd) {
        for (int64_t r = 0; r < rows; ++r) {
            const float* xr = x + r * stride;
            const float* dyr = dy + r * stride;
            float* dxr = dx + r * stride;
            for_lanes<V>(cols, [&](int64_t j, auto m) {
                const Reg centred =
                    V::sub(rounded(V::mul(V::load(dyr + j, m), V::load(gamma + j, m))), V::load(mean_g + j, m));
                const Reg d = column_deviation(xr, j, mean_hi, mean_lo, m);
                V::store(dxr + j, V::mul(V::sub(centred, V::mul(d, V::load(c + j, m))), V::load(invstd + j, m)), m);
            });
        }
    }

    static constexpr NormSpanKernels table{
        sum,          squared_deviation, normalize,        normalize_each,   normalize_sets, grad_sums, grad_apply,
        grad_apply_each, channel_sums, channel_squared_deviations, channel_grad_sums, span_normalize, span_grad_apply,
        column_sums, column_squared_deviations, column_normalize, column_grad_sums, column_grad_apply,
    };
};

}  // namespace
}  // namespace mln::kernels
