// Max and average pooling over the 3-d WindowGeometry, one (image, channel) plane per task.
// Window taps are clipped to x per dimension up front, so the inner loops test nothing.
// Backward passes zero a plane and add into it in a fixed order: deterministic for any
// thread count (a plane's indices never leave the plane).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

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

// f32 pooling (max with row-major indices) runs the vector plane kernels, whose positions are
// int32 lanes.
bool runs_pool_plane_kernel(const PoolArgs& a) {
    const WindowGeometry& g = a.geometry;
    return a.y.dtype == MLN_DTYPE_F32 && !a.column_major_indices && g.in_size() < (int64_t{1} << 30) &&
           g.stride[2] < (int64_t{1} << 20);
}

void max_pool_forward_planes(const PoolArgs& a) {
    const MaxPoolPlanesKernel kernel = max_pool_planes_kernel(cpu::active_isa());
    const float* x = static_cast<const float*>(a.x.data);
    float* y = static_cast<float*>(a.y.data);
    int64_t* indices = a.has_indices ? static_cast<int64_t*>(a.indices.data) : nullptr;
    const int64_t planes = a.batch * a.channels;
    const int64_t output_bytes =
        planes * a.geometry.out_size() * static_cast<int64_t>(sizeof(float) + (indices != nullptr ? sizeof(int64_t) : 0));
    const bool stream = output_bytes >= kStreamingStoreBytes;
    cpu::parallel_for(planes, 1, [&](int64_t begin, int64_t end) { kernel(x, y, indices, begin, end - begin, a, stream); });
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
    int64_t* indices = a.has_indices ? static_cast<int64_t*>(a.indices.data) : nullptr;
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
    const WindowGeometry& g = a.geometry;
    const int64_t in_size = g.in_size();
    const int64_t out_size = g.out_size();
    const T* dy = static_cast<const T*>(a.y.data);
    T* dx = static_cast<T*>(a.x.data);
    const int64_t* indices = static_cast<const int64_t*>(a.indices.data);
    // Max: indices are checked while scattering; the first bad element (lowest position, for
    // any thread count) is reported after the loop, and dx is then unspecified.
    constexpr int64_t kNoBadIndex = std::numeric_limits<int64_t>::max();
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
                        int64_t seen = first_bad.load();
                        const int64_t position = plane * out_size + i;
                        while (position < seen && !first_bad.compare_exchange_weak(seen, position)) {
                        }
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
