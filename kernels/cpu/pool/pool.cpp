// Max and average pooling over the 3-d WindowGeometry, one (image, channel) plane per task.
// Window taps are clipped to x per dimension up front, so the inner loops test nothing.
// Backward passes zero a plane and add into it in a fixed order: deterministic for any
// thread count (a plane's indices never leave the plane).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "cpu/thread_pool.hpp"
#include "cpu/isa.hpp"
#include "kernels/cpu/common/streaming_stores.hpp"
#include "kernels/cpu/nn_kernels.hpp"
#include "kernels/cpu/pool/max_pool_planes.hpp"
#include "kernels/cpu/pool/pool_plane.hpp"
#include "kernels/cpu/pool/pool_taps.hpp"
#include "kernels/cpu/reduce/row_sums.hpp"

namespace mln::kernels {
namespace {

// Whether max pooling writes or reads the workspace (u8 or i32: each maximum's tap within its
// window, row-major over the kernel, 255 or -1 for a window without an element of x) rather
// than the i64 flat positions.
bool has_workspace(const PoolArgs& a) { return a.has_indices && a.indices.dtype != MLN_DTYPE_I64; }

// The window of output (od, oh, ow): its taps inside x, and the divisor of average pooling.
struct Window {
    TapRange taps[3];
    int64_t start[3];
    double divisor;
};

Window window_at(const PoolArgs& a, const int64_t* o) {
    const WindowGeometry& g = a.geometry;
    Window w;
    double inside = 1.0;
    double padded = 1.0;
    for (int d = 0; d < 3; ++d) {
        w.start[d] = o[d] * g.stride[d] - g.pad_begin[d];
        w.taps[d] = taps_within(w.start[d], g.dilation[d], g.kernel[d], 0, g.in[d]);
        inside *= static_cast<double>(w.taps[d].size());
        padded *= static_cast<double>(
            taps_within(w.start[d], g.dilation[d], g.kernel[d], -g.pad_begin[d], g.in[d] + g.pad_end[d]).size());
    }
    w.divisor = a.count_include_pad ? padded : inside;
    return w;
}

// Calls visit(position in the plane) for every tap of `w` inside x, in row-major tap order.
template <class Visit>
void for_each_tap(const WindowGeometry& g, const Window& w, Visit&& visit) {
    for (int64_t j0 = w.taps[0].lo; j0 < w.taps[0].hi; ++j0) {
        const int64_t i0 = w.start[0] + j0 * g.dilation[0];
        for (int64_t j1 = w.taps[1].lo; j1 < w.taps[1].hi; ++j1) {
            const int64_t row = (i0 * g.in[1] + w.start[1] + j1 * g.dilation[1]) * g.in[2];
            for (int64_t j2 = w.taps[2].lo; j2 < w.taps[2].hi; ++j2) visit(row + w.start[2] + j2 * g.dilation[2]);
        }
    }
}

template <class Body>
void for_each_output(const WindowGeometry& g, Body&& body) {
    int64_t o[3];
    int64_t flat = 0;
    for (o[0] = 0; o[0] < g.out[0]; ++o[0]) {
        for (o[1] = 0; o[1] < g.out[1]; ++o[1]) {
            for (o[2] = 0; o[2] < g.out[2]; ++o[2]) body(static_cast<const int64_t*>(o), flat++);
        }
    }
}

// The tap within window `w` of the row-major plane position i: row-major over the kernel.
int64_t tap_within(const WindowGeometry& g, const Window& w, int64_t i) {
    const int64_t at[3] = {i / (g.in[2] * g.in[1]), (i / g.in[2]) % g.in[1], i % g.in[2]};
    int64_t tap = 0;
    for (int d = 0; d < 3; ++d) tap = tap * g.kernel[d] + (at[d] - w.start[d]) / g.dilation[d];
    return tap;
}

// The column-major position within a plane of the row-major position i (spatial dims seen as 3-d).
int64_t column_major(const WindowGeometry& g, int64_t i) {
    const int64_t w = i % g.in[2];
    const int64_t h = (i / g.in[2]) % g.in[1];
    const int64_t d = i / (g.in[2] * g.in[1]);
    return (w * g.in[1] + h) * g.in[0] + d;
}

// Whether the only output's window takes every element of the plane (global pooling): its taps
// inside x are distinct positions, so as many as the plane has elements cover it.
bool window_covers_plane(const PoolArgs& a) {
    const WindowGeometry& g = a.geometry;
    if (g.out_size() != 1) return false;
    const int64_t origin[3] = {0, 0, 0};
    const Window w = window_at(a, origin);
    for (int d = 0; d < 3; ++d) {
        if (w.taps[d].size() != g.in[d]) return false;
    }
    return true;
}

// Global pooling's divisor: the only output window's.
double global_divisor(const PoolArgs& a) {
    const int64_t origin[3] = {0, 0, 0};
    return window_at(a, origin).divisor;
}

// Planes per task of global pooling: about 16 Ki elements each.
int64_t global_plane_grain(int64_t in_size) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, in_size)); }

// Planes summed per row-sum call: their sums stay on the stack.
constexpr int64_t kGlobalPoolPlanes = 64;

// f32 global average pooling: y = the row sums of x as an [N*C, plane] matrix over the divisor,
// summed in double (the plane kernel sums in f32).
void average_pool_global_f32(const PoolArgs& a) {
    const RowSumsKernel row_sums = row_sums_kernel(cpu::active_isa());
    const int64_t in_size = a.geometry.in_size();
    const double divisor = global_divisor(a);
    const float* x = static_cast<const float*>(a.x.data);
    float* y = static_cast<float*>(a.y.data);
    const int64_t grain = global_plane_grain(in_size);
    cpu::parallel_for(a.batch * a.channels, grain, [&](int64_t begin, int64_t end) {
        double sums[kGlobalPoolPlanes];
        for (int64_t first = begin; first < end; first += kGlobalPoolPlanes) {
            const int64_t planes = std::min(kGlobalPoolPlanes, end - first);
            row_sums(x + first * in_size, planes, in_size, in_size, sums);
            for (int64_t p = 0; p < planes; ++p) y[first + p] = static_cast<float>(sums[p] / divisor);
        }
    });
}

// f32 pooling (max with row-major indices or a workspace) runs the vector plane kernels, whose
// positions are int32 lanes.
bool runs_pool_plane_kernel(const PoolArgs& a) {
    const WindowGeometry& g = a.geometry;
    return a.y.dtype == MLN_DTYPE_F32 && !a.column_major_indices && g.in_size() < (int64_t{1} << 30) &&
           g.stride[2] < (int64_t{1} << 20);
}

void max_pool_forward_planes(const PoolArgs& a) {
    const MaxPoolPlanesKernel kernel = max_pool_planes_kernel(cpu::active_isa());
    const float* x = static_cast<const float*>(a.x.data);
    float* y = static_cast<float*>(a.y.data);
    void* argmax = a.has_indices ? a.indices.data : nullptr;
    const int64_t planes = a.batch * a.channels;
    const int64_t output_bytes =
        planes * a.geometry.out_size() * (int64_t{sizeof(float)} + (a.has_indices ? static_cast<int64_t>(dtype_size(a.indices.dtype)) : 0));
    const bool stream = output_bytes >= kStreamingStoreBytes;
    cpu::parallel_for(planes, 1, [&](int64_t begin, int64_t end) { kernel(x, y, argmax, begin, end - begin, a, stream); });
}

void average_pool_forward_planes(const PoolArgs& a) {
    const PoolPlaneKernel kernel = pool_plane_kernel(cpu::active_isa());
    const int64_t in_size = a.geometry.in_size();
    const int64_t out_size = a.geometry.out_size();
    const float* x = static_cast<const float*>(a.x.data);
    float* y = static_cast<float*>(a.y.data);
    cpu::parallel_for(a.batch * a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t plane = begin; plane < end; ++plane) kernel(x + plane * in_size, y + plane * out_size, a);
    });
}

template <class T>
void pool_forward_typed(const PoolArgs& a) {
    const WindowGeometry& g = a.geometry;
    const int64_t in_size = g.in_size();
    const int64_t out_size = g.out_size();
    const T* x = static_cast<const T*>(a.x.data);
    T* y = static_cast<T*>(a.y.data);
    int64_t* indices = a.has_indices && !has_workspace(a) ? static_cast<int64_t*>(a.indices.data) : nullptr;
    uint8_t* u8_taps = has_workspace(a) && a.indices.dtype == MLN_DTYPE_U8 ? static_cast<uint8_t*>(a.indices.data) : nullptr;
    int32_t* i32_taps = has_workspace(a) && a.indices.dtype == MLN_DTYPE_I32 ? static_cast<int32_t*>(a.indices.data) : nullptr;
    cpu::parallel_for(a.batch * a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t plane = begin; plane < end; ++plane) {
            const T* xp = x + plane * in_size;
            T* yp = y + plane * out_size;
            for_each_output(g, [&](const int64_t* o, int64_t flat) {
                const Window w = window_at(a, o);
                if (a.mode == MLN_POOL_MODE_AVERAGE) {
                    double sum = 0.0;
                    for_each_tap(g, w, [&](int64_t i) { sum += static_cast<double>(xp[i]); });
                    yp[flat] = static_cast<T>(sum / w.divisor);
                    return;
                }
                // Max: NaN wins (as in mln_reduce), ties keep the first tap.
                T best = -std::numeric_limits<T>::infinity();
                int64_t best_index = -1;
                for_each_tap(g, w, [&](int64_t i) {
                    const T v = xp[i];
                    if (best_index < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
                        best = v;
                        best_index = i;
                    }
                });
                yp[flat] = best;
                if (u8_taps != nullptr || i32_taps != nullptr) {
                    const int64_t tap = best_index < 0 ? -1 : tap_within(g, w, best_index);
                    if (u8_taps != nullptr) u8_taps[plane * out_size + flat] = tap < 0 ? 255 : static_cast<uint8_t>(tap);
                    if (i32_taps != nullptr) i32_taps[plane * out_size + flat] = static_cast<int32_t>(tap);
                }
                if (indices != nullptr) {
                    indices[plane * out_size + flat] =
                        best_index < 0 ? -1
                                       : plane * in_size + (a.column_major_indices ? column_major(g, best_index) : best_index);
                }
            });
        }
    });
}

// The error for indices element i (of plane `plane`), outside its plane.
Error bad_index(const PoolArgs& a, int64_t i, int64_t index) {
    const int64_t in_size = a.geometry.in_size();
    const int64_t plane = i / a.geometry.out_size();
    return Error(MLN_STATUS_INVALID_ARGUMENT,
                 cat("indices element ", i, " is ", index, " but must be -1 or in [", plane * in_size, ", ",
                     (plane + 1) * in_size, "), the flat positions of its (n, c) = (", plane / a.channels, ", ",
                     plane % a.channels, ") plane of dx (", a.x.shape[0], "x", a.x.shape[1], "x...)"));
}

// Lowers `first_bad` to `position` (a bad indices element) unless it holds a lower one.
void note_bad(std::atomic<int64_t>& first_bad, int64_t position) {
    int64_t seen = first_bad.load();
    while (position < seen && !first_bad.compare_exchange_weak(seen, position)) {
    }
}

constexpr int64_t kNoBadIndex = std::numeric_limits<int64_t>::max();

// The error for workspace element i, a tap outside x or past the window.
Error bad_tap(const PoolArgs& a, int64_t i, int64_t tap) {
    return Error(MLN_STATUS_INVALID_ARGUMENT,
                 cat("indices element ", i, " is ", tap, " but must be a tap of its window inside dx (the window has ",
                     a.geometry.kernel_size(), " taps) or ", a.indices.dtype == MLN_DTYPE_U8 ? "255" : "-1",
                     " for a window without an element of dx"));
}

// The outputs [lo, hi) along dimension d whose windows lie wholly inside x (lo = hi when none).
TapRange outputs_inside(const WindowGeometry& g, int d) {
    const int64_t last_tap = (g.kernel[d] - 1) * g.dilation[d];
    const int64_t lo = std::min(g.out[d], (g.pad_begin[d] + g.stride[d] - 1) / g.stride[d]);
    const int64_t past = g.in[d] - last_tap + g.pad_begin[d];  // start + last_tap < in
    const int64_t hi = past <= 0 ? 0 : std::min(g.out[d], (past - 1) / g.stride[d] + 1);
    return {lo, std::max(lo, hi)};
}

// A workspace's taps mapped to x: per tap, its offsets from the window's start along each
// dimension and in the plane (tables: no division per output).
struct TapTable {
    std::vector<int64_t> offsets, plane_offsets;
    uint64_t taps;

    explicit TapTable(const WindowGeometry& g)
        : offsets(static_cast<size_t>(3 * g.kernel_size())), plane_offsets(static_cast<size_t>(g.kernel_size())),
          taps(static_cast<uint64_t>(g.kernel_size())) {
        for (int64_t t = 0; t < g.kernel_size(); ++t) {
            const int64_t k[3] = {t / (g.kernel[1] * g.kernel[2]), t / g.kernel[2] % g.kernel[1], t % g.kernel[2]};
            int64_t* off = offsets.data() + 3 * t;
            for (int d = 0; d < 3; ++d) off[d] = k[d] * g.dilation[d];
            plane_offsets[static_cast<size_t>(t)] = (off[0] * g.in[1] + off[1]) * g.in[2] + off[2];
        }
    }
};

// dx[the element of x of ow's tap] += dy[ow] for the outputs ow in [lo, hi) of one output row,
// whose windows start at start[0], start[1] and start[2] + ow * stride; returns the first ow
// whose tap is bad, or -1. Inside: the windows lie inside x, so the tap's plane offset is its
// element; else each dimension is checked. Unsigned compares count the empty window's 255 / -1
// past the taps. Its own function with the loop's values as parameters, which stay in
// registers: in the plane lambda, captured by reference next to an atomic, the compiler
// reloaded them at every output (ResNet-18's 3x3/2 batch 32, Zen 5, one thread: 2.2x the i64
// backward's time checking every output, 1.15x checking the border only, 1.0x now).
template <bool Inside, class T, class Tap>
int64_t add_row(T* dx, const T* dy, const Tap* row_taps, int64_t lo, int64_t hi, const int64_t* start, int64_t stride,
                const int64_t* in, const TapTable& table, Tap none) {
    const int64_t* offsets = table.offsets.data();
    const int64_t* plane_offsets = table.plane_offsets.data();
    const uint64_t taps = table.taps;
    const int64_t row_start = (start[0] * in[1] + start[1]) * in[2] + start[2];
    for (int64_t ow = lo; ow < hi; ++ow) {
        const Tap tap = row_taps[ow];
        if (static_cast<uint64_t>(static_cast<int64_t>(tap)) >= taps) {
            if (tap == none) continue;
            return ow;
        }
        if constexpr (Inside) {
            dx[row_start + ow * stride + plane_offsets[tap]] += dy[ow];
        } else {
            const int64_t* off = offsets + 3 * static_cast<int64_t>(tap);
            const int64_t d = start[0] + off[0], h = start[1] + off[1], w = start[2] + ow * stride + off[2];
            if ((static_cast<uint64_t>(d) >= static_cast<uint64_t>(in[0])) |
                (static_cast<uint64_t>(h) >= static_cast<uint64_t>(in[1])) |
                (static_cast<uint64_t>(w) >= static_cast<uint64_t>(in[2]))) {
                return ow;
            }
            dx[(d * in[1] + h) * in[2] + w] += dy[ow];
        }
    }
    return -1;
}

// Max pooling backward from the workspace: per output row, the outputs whose windows lie inside
// x (most of them) without checks, the others checked (add_row).
template <class T, class Tap>
void max_pool_backward_taps(const PoolArgs& a) {
    const WindowGeometry& g = a.geometry;
    const int64_t in_size = g.in_size(), out_size = g.out_size();
    const Tap none = std::is_same_v<Tap, uint8_t> ? Tap(255) : Tap(-1);
    const TapTable table(g);
    const TapRange inside[3] = {outputs_inside(g, 0), outputs_inside(g, 1), outputs_inside(g, 2)};
    const T* dy = static_cast<const T*>(a.y.data);
    T* dx = static_cast<T*>(a.x.data);
    const Tap* workspace = static_cast<const Tap*>(a.indices.data);
    std::atomic<int64_t> first_bad{kNoBadIndex};
    cpu::parallel_for(a.batch * a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t plane = begin; plane < end; ++plane) {
            T* dxp = dx + plane * in_size;
            std::fill(dxp, dxp + in_size, T(0));
            int64_t flat = plane * out_size;
            for (int64_t od = 0; od < g.out[0]; ++od) {
                for (int64_t oh = 0; oh < g.out[1]; ++oh, flat += g.out[2]) {
                    const bool row_inside = od >= inside[0].lo && od < inside[0].hi && oh >= inside[1].lo && oh < inside[1].hi;
                    const int64_t lo = row_inside ? inside[2].lo : g.out[2], hi = row_inside ? inside[2].hi : g.out[2];
                    const int64_t start[3] = {od * g.stride[0] - g.pad_begin[0], oh * g.stride[1] - g.pad_begin[1],
                                              -g.pad_begin[2]};
                    const T* dyr = dy + flat;
                    const Tap* taps = workspace + flat;
                    int64_t bad = add_row<false>(dxp, dyr, taps, 0, lo, start, g.stride[2], g.in, table, none);
                    if (bad < 0) bad = add_row<true>(dxp, dyr, taps, lo, hi, start, g.stride[2], g.in, table, none);
                    if (bad < 0) bad = add_row<false>(dxp, dyr, taps, std::max(lo, hi), g.out[2], start, g.stride[2], g.in, table, none);
                    if (bad >= 0) note_bad(first_bad, flat + bad);
                }
            }
        }
    });
    const int64_t bad = first_bad.load();
    if (bad != kNoBadIndex) throw bad_tap(a, bad, static_cast<int64_t>(workspace[bad]));
}

// Global average pooling backward: each plane of dx is its dy over the divisor.
template <class T>
void average_pool_global_backward(const PoolArgs& a) {
    const int64_t in_size = a.geometry.in_size();
    const double divisor = global_divisor(a);
    const T* dy = static_cast<const T*>(a.y.data);
    T* dx = static_cast<T*>(a.x.data);
    const int64_t grain = global_plane_grain(in_size);
    cpu::parallel_for(a.batch * a.channels, grain, [&](int64_t begin, int64_t end) {
        for (int64_t plane = begin; plane < end; ++plane) {
            std::fill_n(dx + plane * in_size, in_size, static_cast<T>(static_cast<double>(dy[plane]) / divisor));
        }
    });
}

template <class T>
void pool_backward_typed(const PoolArgs& a) {
    if (a.mode == MLN_POOL_MODE_AVERAGE && window_covers_plane(a)) return average_pool_global_backward<T>(a);
    if (has_workspace(a)) {
        if (a.indices.dtype == MLN_DTYPE_U8) return max_pool_backward_taps<T, uint8_t>(a);
        return max_pool_backward_taps<T, int32_t>(a);
    }
    const WindowGeometry& g = a.geometry;
    const int64_t in_size = g.in_size();
    const int64_t out_size = g.out_size();
    const T* dy = static_cast<const T*>(a.y.data);
    T* dx = static_cast<T*>(a.x.data);
    const int64_t* indices = static_cast<const int64_t*>(a.indices.data);
    // Max: indices are checked while scattering; the first bad element (lowest position, for
    // any thread count) is reported after the loop, and dx is then unspecified.
    std::atomic<int64_t> first_bad{kNoBadIndex};
    cpu::parallel_for(a.batch * a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t plane = begin; plane < end; ++plane) {
            T* dxp = dx + plane * in_size;
            const T* dyp = dy + plane * out_size;
            std::fill(dxp, dxp + in_size, T(0));
            if (a.mode == MLN_POOL_MODE_MAX) {
                const int64_t* plane_indices = indices + plane * out_size;
                const int64_t base = plane * in_size;
                for (int64_t i = 0; i < out_size; ++i) {
                    // One unsigned compare: -1 wraps past in_size like every other bad index.
                    const uint64_t at = static_cast<uint64_t>(plane_indices[i]) - static_cast<uint64_t>(base);
                    if (at < static_cast<uint64_t>(in_size)) {
                        dxp[at] += dyp[i];
                    } else if (plane_indices[i] != -1) {
                        note_bad(first_bad, plane * out_size + i);
                        break;
                    }
                }
                continue;
            }
            for_each_output(g, [&](const int64_t* o, int64_t flat) {
                const Window w = window_at(a, o);
                const T share = static_cast<T>(static_cast<double>(dyp[flat]) / w.divisor);
                for_each_tap(g, w, [&](int64_t i) { dxp[i] += share; });
            });
        }
    });
    const int64_t bad = first_bad.load();
    if (bad != kNoBadIndex) throw bad_index(a, bad, indices[bad]);
}

}  // namespace

void pool_forward(const PoolArgs& args) {
    if (args.y.dtype == MLN_DTYPE_F32 && args.mode == MLN_POOL_MODE_AVERAGE && window_covers_plane(args)) {
        return average_pool_global_f32(args);
    }
    if (runs_pool_plane_kernel(args)) {
        return args.mode == MLN_POOL_MODE_MAX ? max_pool_forward_planes(args) : average_pool_forward_planes(args);
    }
    if (args.y.dtype == MLN_DTYPE_F64) return pool_forward_typed<double>(args);
    pool_forward_typed<float>(args);
}

void pool_backward(const PoolArgs& args) {
    if (args.x.dtype == MLN_DTYPE_F64) return pool_backward_typed<double>(args);
    pool_backward_typed<float>(args);
}

}  // namespace mln::kernels
