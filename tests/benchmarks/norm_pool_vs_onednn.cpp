// Myelin pooling, batch normalization and layer normalization (public C API) against oneDNN,
// f32, on ResNet-18's pooling and batch-norm shapes and on transformer layer norms.
//
// Myelin reads and writes plain layouts (NCHW, or rows x features). oneDNN pools plain NCHW (its
// jit pooling takes it); on plain NCHW its batch norm picks a generic kernel (ncsp_bnorm) many
// times slower, so it gets its blocked layout (nChw16c) instead, reordered once outside the
// timing, as in a framework that keeps activations blocked: its figure is its best case.
// Forward training and backward compute the statistics (Myelin: mean and 1/std; oneDNN: mean
// and variance) and, for max pooling, the argmax (Myelin: its u8 workspace, the tap within the
// window, and in the "i64" rows ONNX's int64 indices; oneDNN: its u8 workspace). Each case runs both in one process on the same data in
// alternating timed batches; each figure is the median per-call time over the batches. The
// outputs (y, and dx for backward) are compared before timing.
//
//   norm_pool_vs_onednn [--batch N] [--batches N] [--threads N] [--only SUBSTRING]
// (--only: just the cases whose name holds SUBSTRING; the memory-bound rows move 20-40% with the
// machine's load, so a few rows run back to back compare better than one pass over all.)
#include <myelin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <dnnl.hpp>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "peer_bench.hpp"

namespace {

constexpr double kBatchSeconds = 0.05;
constexpr float kEpsilon = 1e-5f;

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "norm_pool_vs_onednn: %s\n", message.c_str());
    std::exit(1);
}

void check(mln_status status, const char* what) {
    if (status != MLN_STATUS_OK) fail(std::string(what) + ": " + mln_last_error());
}

using peer_bench::contiguous;
// Every buffer starts on a cache line, as a runtime allocates its tensors (malloc puts large blocks
// 16 bytes past a page, which splits every 64-byte access in two for both libraries).
using Floats = peer_bench::AlignedVector<float>;

mln_tensor_desc f32(Floats& v, std::vector<int64_t> shape) {
    return contiguous(v.data(), MLN_DTYPE_F32, std::move(shape));
}

template <class Run>
double time_batch(Run&& run) {
    return peer_bench::seconds_per_call(run, kBatchSeconds);
}
using peer_bench::median;

std::mt19937 g_rng(7);

Floats random_vector(int64_t count, float low, float high) {
    std::uniform_real_distribution<float> uniform(low, high);
    Floats v(static_cast<size_t>(count));
    for (float& x : v) x = uniform(g_rng);
    return v;
}

int64_t product(const std::vector<int64_t>& dims) {
    int64_t p = 1;
    for (int64_t d : dims) p *= d;
    return p;
}

struct Bench {
    int batches;
    std::string only;
    double total_myelin = 0.0, total_onednn = 0.0;

    // Compares `got` with `want`, then times both runs; prints one row.
    // `unblock` (optional) brings oneDNN's output back to the plain layout of `want`.
    void run(const std::string& name, double megabytes, const std::function<void()>& run_myelin,
             const std::function<void()>& run_onednn, const Floats& got, const Floats& want,
             double tolerance, const std::function<void()>& unblock = {}) {
        if (name.find(only) == std::string::npos) return;
        run_myelin();
        run_onednn();
        if (unblock) unblock();
        double worst = 0.0;
        for (size_t i = 0; i < got.size(); ++i) {
            const double d = std::fabs(static_cast<double>(got[i]) - want[i]) / (1.0 + std::fabs(want[i]));
            if (!(d <= worst)) worst = d;
        }
        if (!(worst <= tolerance)) fail(name + ": outputs differ by " + std::to_string(worst));
        std::vector<double> myelin_times, onednn_times;
        for (int b = 0; b < batches; ++b) {
            if (b % 2 == 0) {
                myelin_times.push_back(time_batch(run_myelin));
                onednn_times.push_back(time_batch(run_onednn));
            } else {
                onednn_times.push_back(time_batch(run_onednn));
                myelin_times.push_back(time_batch(run_myelin));
            }
        }
        const double tm = median(myelin_times) * 1e3, to = median(onednn_times) * 1e3;
        std::printf("%-44s %9.1f %10.3f %10.3f %7.2f %9.1f\n", name.c_str(), megabytes, tm, to, tm / to,
                    megabytes / tm);
        total_myelin += tm;
        total_onednn += to;
    }
};

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

dnnl::engine g_engine(dnnl::engine::kind::cpu, 0);
dnnl::stream g_stream(g_engine);

dnnl::memory wrap(Floats& v, const dims& d, tag t) { return dnnl::memory({d, dt::f32, t}, g_engine, v.data()); }

tag plain_tag(size_t rank) { return rank == 2 ? tag::nc : rank == 4 ? tag::nchw : tag::ncdhw; }

// ---- Pooling --------------------------------------------------------------------------------

void pooling(Bench& bench, mln_device* device, const char* label, bool max, int64_t n, int64_t c, int64_t size,
             int64_t kernel, int64_t stride, int64_t pad) {
    const int64_t out = (size + 2 * pad - kernel) / stride + 1;
    Floats x = random_vector(n * c * size * size, -1.0f, 1.0f);
    Floats y(static_cast<size_t>(n * c * out * out)), y_dnnl(y.size());
    Floats dy = random_vector(static_cast<int64_t>(y.size()), -1.0f, 1.0f);
    Floats dx(x.size()), dx_dnnl(x.size());
    peer_bench::AlignedVector<int64_t> indices(y.size());
    peer_bench::AlignedVector<uint8_t> taps(y.size());
    mln_pool_params params{};
    params.spatial_rank = 2;
    for (int i = 0; i < 2; ++i) {
        params.kernel[i] = kernel;
        params.strides[i] = stride;
        params.dilations[i] = 1;
        params.pads_begin[i] = params.pads_end[i] = pad;
    }
    params.count_include_pad = 0;
    const mln_pool_mode mode = max ? MLN_POOL_MODE_MAX : MLN_POOL_MODE_AVERAGE;
    const mln_tensor_desc xd = f32(x, {n, c, size, size}), yd = f32(y, {n, c, out, out});
    const mln_tensor_desc dyd = f32(dy, {n, c, out, out}), dxd = f32(dx, {n, c, size, size});
    const mln_tensor_desc id = contiguous(indices.data(), MLN_DTYPE_I64, {n, c, out, out});
    const mln_tensor_desc wd = contiguous(taps.data(), MLN_DTYPE_U8, {n, c, out, out});

    const dims src_dims = {n, c, size, size}, dst_dims = {n, c, out, out};
    const dnnl::algorithm algorithm = max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
    const dnnl::memory::desc src_md(src_dims, dt::f32, tag::nchw), dst_md(dst_dims, dt::f32, tag::nchw);
    const dnnl::pooling_forward::primitive_desc fwd_pd(
        {dnnl::prop_kind::forward_training, algorithm, src_md, dst_md, {stride, stride}, {kernel, kernel}, {pad, pad},
         {pad, pad}},
        g_engine);
    const dnnl::pooling_backward::primitive_desc bwd_pd(
        {algorithm, src_md, dst_md, {stride, stride}, {kernel, kernel}, {pad, pad}, {pad, pad}}, g_engine, fwd_pd);
    dnnl::memory src = wrap(x, src_dims, tag::nchw), dst = wrap(y_dnnl, dst_dims, tag::nchw);
    dnnl::memory diff_dst = wrap(dy, dst_dims, tag::nchw), diff_src = wrap(dx_dnnl, src_dims, tag::nchw);
    dnnl::memory workspace(fwd_pd.workspace_desc(), g_engine);
    dnnl::pooling_forward forward(fwd_pd);
    dnnl::pooling_backward backward(bwd_pd);

    const double in_mb = static_cast<double>(x.size()) * 4e-6, out_mb = static_cast<double>(y.size()) * 4e-6;
    const std::string shape = std::string(label) + " " + std::to_string(n) + "x" + std::to_string(c) + "x" +
                              std::to_string(size) + "x" + std::to_string(size);
    // Max: the workspace rows, then the i64 rows (forward and backward through the indices).
    for (const bool i64 : max ? std::vector<bool>{false, true} : std::vector<bool>{false}) {
        const mln_tensor_desc* argmax = !max ? nullptr : i64 ? &id : &wd;
        const double argmax_mb = !max ? 0.0 : out_mb * (i64 ? 2.0 : 0.25);
        const std::string suffix = i64 ? " i64" : "";
        // The backward reads the argmax of a forward, also where --only skips the forward's row.
        check(mln_pool_forward(device, mode, &params, &xd, &yd, argmax), "mln_pool_forward");
        forward.execute(g_stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, workspace}});
        g_stream.wait();
        bench.run(
            shape + " fwd" + suffix, in_mb + out_mb + argmax_mb,
            [&] { check(mln_pool_forward(device, mode, &params, &xd, &yd, argmax), "mln_pool_forward"); },
            [&] {
                forward.execute(g_stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, workspace}});
                g_stream.wait();
            },
            y, y_dnnl, 1e-6);
        bench.run(
            shape + " bwd" + suffix, in_mb + out_mb + argmax_mb,
            [&] { check(mln_pool_backward(device, mode, &params, &dyd, argmax, &dxd), "mln_pool_backward"); },
            [&] {
                backward.execute(g_stream,
                                 {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src}, {DNNL_ARG_WORKSPACE, workspace}});
                g_stream.wait();
            },
            dx, dx_dnnl, 1e-5);
    }
}

// ---- Batch and layer normalization ----------------------------------------------------------

// Batch norm of x (n x c x spatial...) or layer norm of x (rows x features): forward training,
// backward (dx, dscale, dbias), and for batch norm forward inference.
void normalization(Bench& bench, mln_device* device, const std::string& label, bool layer, const std::vector<int64_t>& shape) {
    const int64_t count = product(shape);
    const int64_t features = shape[1];
    const int64_t stats = layer ? shape[0] : shape[1];
    Floats x = random_vector(count, -1.0f, 3.0f), dy = random_vector(count, -1.0f, 1.0f);
    Floats y(static_cast<size_t>(count)), y_dnnl(y.size()), dx(y.size()), dx_dnnl(y.size());
    Floats scale = random_vector(features, 0.5f, 1.5f), shift = random_vector(features, -1.0f, 1.0f);
    Floats dscale(scale.size()), dshift(scale.size()), dscale_dnnl(scale.size()), dshift_dnnl(scale.size());
    Floats mean(static_cast<size_t>(stats)), invstd(mean.size()), mean_dnnl(mean.size()), var_dnnl(mean.size());
    Floats running_mean = random_vector(stats, -0.5f, 0.5f), running_var = random_vector(stats, 0.5f, 1.5f);

    const mln_tensor_desc xd = f32(x, shape), yd = f32(y, shape), dyd = f32(dy, shape), dxd = f32(dx, shape);
    const mln_tensor_desc sd = f32(scale, {features}), bd = f32(shift, {features});
    const mln_tensor_desc dsd = f32(dscale, {features}), dbd = f32(dshift, {features});
    const mln_tensor_desc md = f32(mean, {stats}), vd = f32(invstd, {stats});
    const mln_tensor_desc rmd = f32(running_mean, {stats}), rvd = f32(running_var, {stats});

    // Batch norm of N x C runs in oneDNN as N x C x 1 x 1, which its blocked jit kernel takes.
    dims data_dims(shape.begin(), shape.end());
    if (!layer && data_dims.size() == 2) data_dims = {shape[0], shape[1], 1, 1};
    const tag plain = plain_tag(data_dims.size());
    const tag blocked = data_dims.size() == 4 && features % 16 == 0 && !layer ? tag::nChw16c : plain;
    const dnnl::memory::desc data_md(data_dims, dt::f32, blocked);
    const auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    dnnl::memory user_x = wrap(x, data_dims, plain), user_dy = wrap(dy, data_dims, plain);
    dnnl::memory user_y = wrap(y_dnnl, data_dims, plain), user_dx = wrap(dx_dnnl, data_dims, plain);
    dnnl::memory src(data_md, g_engine), dst(data_md, g_engine), diff_dst(data_md, g_engine), diff_src(data_md, g_engine);
    dnnl::reorder(user_x, src).execute(g_stream, user_x, src);
    dnnl::reorder(user_dy, diff_dst).execute(g_stream, user_dy, diff_dst);
    g_stream.wait();
    auto unblock = [&](dnnl::memory& from, dnnl::memory& to) {
        return [&] {
            dnnl::reorder(from, to).execute(g_stream, from, to);
            g_stream.wait();
        };
    };
    dnnl::memory scale_m = wrap(scale, {features}, tag::x), shift_m = wrap(shift, {features}, tag::x);
    dnnl::memory dscale_m = wrap(dscale_dnnl, {features}, tag::x), dshift_m = wrap(dshift_dnnl, {features}, tag::x);
    dnnl::memory mean_m = wrap(mean_dnnl, {stats}, tag::x), var_m = wrap(var_dnnl, {stats}, tag::x);
    dnnl::memory rmean_m = wrap(running_mean, {stats}, tag::x), rvar_m = wrap(running_var, {stats}, tag::x);

    std::function<void()> myelin_forward, myelin_backward, onednn_forward, onednn_backward, myelin_inference,
        onednn_inference;
    dnnl::primitive forward, backward, inference;
    if (layer) {
        const dnnl::layer_normalization_forward::primitive_desc fwd_pd(
            {dnnl::prop_kind::forward_training, data_md, kEpsilon, flags}, g_engine);
        const dnnl::layer_normalization_backward::primitive_desc bwd_pd(
            {dnnl::prop_kind::backward, data_md, data_md, kEpsilon, flags}, g_engine, fwd_pd);
        forward = dnnl::layer_normalization_forward(fwd_pd);
        backward = dnnl::layer_normalization_backward(bwd_pd);
        myelin_forward = [&] {
            check(mln_layer_norm_forward(device, &xd, 1, &sd, &bd, kEpsilon, &yd, &md, &vd), "mln_layer_norm_forward");
        };
        myelin_backward = [&] {
            check(mln_layer_norm_backward(device, &xd, &dyd, 1, &sd, &md, &vd, &dxd, &dsd, &dbd), "mln_layer_norm_backward");
        };
    } else {
        const dnnl::batch_normalization_forward::primitive_desc fwd_pd(
            {dnnl::prop_kind::forward_training, data_md, kEpsilon, flags}, g_engine);
        const dnnl::batch_normalization_backward::primitive_desc bwd_pd(
            {dnnl::prop_kind::backward, data_md, data_md, kEpsilon, flags}, g_engine, fwd_pd);
        const dnnl::batch_normalization_forward::primitive_desc inf_pd(
            {dnnl::prop_kind::forward_inference, data_md, kEpsilon, flags | dnnl::normalization_flags::use_global_stats},
            g_engine);
        forward = dnnl::batch_normalization_forward(fwd_pd);
        backward = dnnl::batch_normalization_backward(bwd_pd);
        inference = dnnl::batch_normalization_forward(inf_pd);
        // Running statistics are not updated in the timed loop: oneDNN leaves that to the caller.
        myelin_forward = [&] {
            check(mln_batch_norm_forward_training(device, &xd, &sd, &bd, kEpsilon, 0.9, nullptr, nullptr, &yd, &md, &vd),
                  "mln_batch_norm_forward_training");
        };
        myelin_backward = [&] {
            check(mln_batch_norm_backward(device, &xd, &dyd, &sd, &md, &vd, &dxd, &dsd, &dbd), "mln_batch_norm_backward");
        };
        myelin_inference = [&] {
            check(mln_batch_norm_forward_inference(device, &xd, &sd, &bd, &rmd, &rvd, kEpsilon, &yd),
                  "mln_batch_norm_forward_inference");
        };
        onednn_inference = [&] {
            inference.execute(g_stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCALE, scale_m},
                                         {DNNL_ARG_SHIFT, shift_m}, {DNNL_ARG_MEAN, rmean_m}, {DNNL_ARG_VARIANCE, rvar_m}});
            g_stream.wait();
        };
    }
    onednn_forward = [&] {
        forward.execute(g_stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCALE, scale_m},
                                   {DNNL_ARG_SHIFT, shift_m}, {DNNL_ARG_MEAN, mean_m}, {DNNL_ARG_VARIANCE, var_m}});
        g_stream.wait();
    };
    onednn_backward = [&] {
        backward.execute(g_stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_SCALE, scale_m},
                                    {DNNL_ARG_SHIFT, shift_m},
                                    {DNNL_ARG_MEAN, mean_m}, {DNNL_ARG_VARIANCE, var_m}, {DNNL_ARG_DIFF_SRC, diff_src},
                                    {DNNL_ARG_DIFF_SCALE, dscale_m}, {DNNL_ARG_DIFF_SHIFT, dshift_m}});
        g_stream.wait();
    };
    const double mb = static_cast<double>(count) * 4e-6;
    bench.run(label + " fwd train", 2 * mb, myelin_forward, onednn_forward, y, y_dnnl, 1e-4, unblock(dst, user_y));
    bench.run(label + " bwd", 3 * mb, myelin_backward, onednn_backward, dx, dx_dnnl, 1e-3, unblock(diff_src, user_dx));
    if (!layer) {
        bench.run(label + " fwd inference", 2 * mb, myelin_inference, onednn_inference, y, y_dnnl, 1e-4,
                  unblock(dst, user_y));
    }
}

}  // namespace

int main(int argc, char** argv) {
    int64_t batch = 32;
    int batches = 7;
    int threads = 0;
    std::string only;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--batch" && i + 1 < argc) {
            batch = std::atoll(argv[++i]);
        } else if (arg == "--batches" && i + 1 < argc) {
            batches = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--threads" && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
        } else if (arg == "--only" && i + 1 < argc) {
            only = argv[++i];
        } else {
            fail("usage: norm_pool_vs_onednn [--batch N] [--batches N] [--threads N] [--only SUBSTRING]");
        }
    }
    mln_device* device = nullptr;
    check(mln_device_create(MLN_DEVICE_KIND_CPU, 0, &device), "mln_device_create");
    check(mln_device_set_thread_count(device, threads), "mln_device_set_thread_count");
    int32_t thread_count = 0;
    check(mln_device_get_thread_count(device, &thread_count), "mln_device_get_thread_count");
    mln_isa isa = MLN_ISA_SCALAR;
    check(mln_cpu_get_isa(&isa), "mln_cpu_get_isa");

    std::printf("Pooling and normalization, f32, plain layouts, batch %lld (ResNet-18), Myelin ISA %d, threads %d "
                "(oneDNN uses its own default)\n",
                static_cast<long long>(batch), static_cast<int>(isa), thread_count);
    std::printf("%-44s %9s %10s %10s %7s %9s\n", "case", "MB moved", "myelin ms", "onednn ms", "ratio", "GB/s");
    Bench bench{batches, only};
    pooling(bench, device, "maxpool 3x3/2 pad 1", true, batch, 64, 112, 3, 2, 1);
    pooling(bench, device, "avgpool 7x7 global", false, batch, 512, 7, 7, 1, 0);
    const struct {
        const char* name;
        int64_t channels, size;
    } kBatchNorms[] = {{"bn1", 64, 112}, {"layer1", 64, 56}, {"layer2", 128, 28}, {"layer3", 256, 14}, {"layer4", 512, 7}};
    for (const auto& b : kBatchNorms) {
        normalization(bench, device, "batchnorm " + std::string(b.name) + " " + std::to_string(batch) + "x" +
                                         std::to_string(b.channels) + "x" + std::to_string(b.size) + "x" +
                                         std::to_string(b.size),
                      false, {batch, b.channels, b.size, b.size});
    }
    normalization(bench, device, "batchnorm 8192x768", false, {8192, 768});
    normalization(bench, device, "layernorm 8192x768", true, {8192, 768});
    normalization(bench, device, "layernorm 2048x256", true, {2048, 256});
    std::printf("%-44s %9s %10.3f %10.3f %7.2f\n", "sum over all cases", "", bench.total_myelin, bench.total_onednn,
                bench.total_myelin / bench.total_onednn);
    mln_device_destroy(device);
    return 0;
}
