// Myelin convolution (public C API, mln_conv_forward) against oneDNN, on the conv layers of
// ResNet-18 (224x224 input), f32, NCHW.
//
// Myelin reads and writes plain NCHW. oneDNN runs its forward primitive with the layouts it
// prefers (format_tag::any): source, weights and destination are reordered once, outside the
// timing, so its figure is its best case, as in a framework that keeps activations blocked.
// Both run in one process on the same data in alternating timed batches; each figure is the
// median per-call time over the batches. Outputs are compared before timing.
//
//   conv_vs_onednn [--batch N] [--batches N] [--threads N]
#include <myelin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

struct Layer {
    const char* name;
    int64_t in_channels, out_channels, size, kernel, stride, pad;
    int count;  // how many times ResNet-18 has this exact conv
};

// ResNet-18's convolutions: the stem, then per stage the 3x3 convs and the 1x1 stride-2
// downsample of the shortcut.
const Layer kResNet18[] = {
    {"conv1 7x7/2", 3, 64, 224, 7, 2, 3, 1},       {"layer1 3x3", 64, 64, 56, 3, 1, 1, 4},
    {"layer2 3x3/2", 64, 128, 56, 3, 2, 1, 1},     {"layer2 3x3", 128, 128, 28, 3, 1, 1, 3},
    {"layer2 down 1x1/2", 64, 128, 56, 1, 2, 0, 1}, {"layer3 3x3/2", 128, 256, 28, 3, 2, 1, 1},
    {"layer3 3x3", 256, 256, 14, 3, 1, 1, 3},      {"layer3 down 1x1/2", 128, 256, 28, 1, 2, 0, 1},
    {"layer4 3x3/2", 256, 512, 14, 3, 2, 1, 1},    {"layer4 3x3", 512, 512, 7, 3, 1, 1, 3},
    {"layer4 down 1x1/2", 256, 512, 14, 1, 2, 0, 1},
};

constexpr double kBatchSeconds = 0.05;

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "conv_vs_onednn: %s\n", message.c_str());
    std::exit(1);
}

void check(mln_status status, const char* what) {
    if (status != MLN_STATUS_OK) fail(std::string(what) + ": " + mln_last_error());
}

mln_tensor_desc nchw(float* data, int64_t n, int64_t c, int64_t h, int64_t w) {
    mln_tensor_desc desc{};
    desc.data = data;
    desc.dtype = MLN_DTYPE_F32;
    desc.rank = 4;
    const int64_t shape[4] = {n, c, h, w};
    int64_t stride = 1;
    for (int d = 3; d >= 0; --d) {
        desc.shape[d] = shape[d];
        desc.strides[d] = stride;
        stride *= shape[d];
    }
    return desc;
}

// Seconds per call of `run`, timed over a batch of at least kBatchSeconds.
template <class Run>
double time_batch(Run&& run) {
    using clock = std::chrono::steady_clock;
    int calls = 0;
    const auto start = clock::now();
    double elapsed = 0.0;
    do {
        run();
        ++calls;
        elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < kBatchSeconds);
    return elapsed / calls;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int64_t batch = 1;
    int batches = 7;
    int threads = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--batch" && i + 1 < argc) {
            batch = std::atoll(argv[++i]);
        } else if (arg == "--batches" && i + 1 < argc) {
            batches = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--threads" && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
        } else {
            fail("usage: conv_vs_onednn [--batch N] [--batches N] [--threads N]");
        }
    }
    mln_device* device = nullptr;
    check(mln_device_create(MLN_DEVICE_KIND_CPU, 0, &device), "mln_device_create");
    check(mln_device_set_thread_count(device, threads), "mln_device_set_thread_count");
    int32_t thread_count = 0;
    check(mln_device_get_thread_count(device, &thread_count), "mln_device_get_thread_count");

    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);

    std::printf("ResNet-18 conv layers, batch %lld, f32, Myelin threads %d (oneDNN uses its own default)\n",
                static_cast<long long>(batch), thread_count);
    std::printf("%-20s %5s %8s %12s %12s %8s\n", "layer", "count", "GFLOP", "myelin ms", "onednn ms", "ratio");
    double total_myelin = 0.0, total_onednn = 0.0;
    for (const Layer& layer : kResNet18) {
        const int64_t out = (layer.size + 2 * layer.pad - layer.kernel) / layer.stride + 1;
        std::vector<float> x(static_cast<size_t>(batch * layer.in_channels * layer.size * layer.size));
        std::vector<float> w(static_cast<size_t>(layer.out_channels * layer.in_channels * layer.kernel * layer.kernel));
        std::vector<float> bias(static_cast<size_t>(layer.out_channels));
        std::vector<float> y(static_cast<size_t>(batch * layer.out_channels * out * out));
        std::vector<float> y_onednn(y.size());
        for (float& v : x) v = uniform(rng);
        for (float& v : w) v = uniform(rng) * 0.1f;
        for (float& v : bias) v = uniform(rng);

        mln_conv_params params{};
        params.spatial_rank = 2;
        for (int i = 0; i < 2; ++i) {
            params.strides[i] = layer.stride;
            params.dilations[i] = 1;
            params.pads_begin[i] = params.pads_end[i] = layer.pad;
        }
        params.groups = 1;
        const mln_tensor_desc dx = nchw(x.data(), batch, layer.in_channels, layer.size, layer.size);
        const mln_tensor_desc dw = nchw(w.data(), layer.out_channels, layer.in_channels, layer.kernel, layer.kernel);
        mln_tensor_desc db{};
        db.data = bias.data();
        db.dtype = MLN_DTYPE_F32;
        db.rank = 1;
        db.shape[0] = layer.out_channels;
        db.strides[0] = 1;
        const mln_tensor_desc dy = nchw(y.data(), batch, layer.out_channels, out, out);
        auto run_myelin = [&] { check(mln_conv_forward(device, &params, &dx, &dw, &db, MLN_UNARY_OP_IDENTITY, nullptr, &dy), "mln_conv_forward"); };

        using tag = dnnl::memory::format_tag;
        using dt = dnnl::memory::data_type;
        const dnnl::memory::dims src_dims = {batch, layer.in_channels, layer.size, layer.size};
        const dnnl::memory::dims w_dims = {layer.out_channels, layer.in_channels, layer.kernel, layer.kernel};
        const dnnl::memory::dims dst_dims = {batch, layer.out_channels, out, out};
        const dnnl::memory::dims strides = {layer.stride, layer.stride};
        const dnnl::memory::dims pads = {layer.pad, layer.pad};
        const dnnl::convolution_forward::desc desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
            dnnl::memory::desc(src_dims, dt::f32, tag::any), dnnl::memory::desc(w_dims, dt::f32, tag::any),
            dnnl::memory::desc({layer.out_channels}, dt::f32, tag::x), dnnl::memory::desc(dst_dims, dt::f32, tag::any),
            strides, pads, pads);
        const dnnl::convolution_forward::primitive_desc pd(desc, engine);
        dnnl::memory user_src({src_dims, dt::f32, tag::nchw}, engine, x.data());
        dnnl::memory user_w({w_dims, dt::f32, tag::oihw}, engine, w.data());
        dnnl::memory user_dst({dst_dims, dt::f32, tag::nchw}, engine, y_onednn.data());
        dnnl::memory bias_memory({{layer.out_channels}, dt::f32, tag::x}, engine, bias.data());
        dnnl::memory src(pd.src_desc(), engine), weights(pd.weights_desc(), engine), dst(pd.dst_desc(), engine);
        dnnl::reorder(user_src, src).execute(stream, user_src, src);
        dnnl::reorder(user_w, weights).execute(stream, user_w, weights);
        dnnl::convolution_forward conv(pd);
        auto run_onednn = [&] {
            conv.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias_memory},
                                  {DNNL_ARG_DST, dst}});
            stream.wait();
        };

        run_myelin();
        run_onednn();
        dnnl::reorder(dst, user_dst).execute(stream, dst, user_dst);
        stream.wait();
        double worst = 0.0;
        for (size_t i = 0; i < y.size(); ++i) {
            worst = std::max(worst, static_cast<double>(std::fabs(y[i] - y_onednn[i]) / (1.0f + std::fabs(y_onednn[i]))));
        }
        if (worst > 1e-3) fail(std::string(layer.name) + ": outputs differ by " + std::to_string(worst));

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
        const double tm = median(myelin_times) * 1e3;
        const double to = median(onednn_times) * 1e3;
        const double gflop = 2.0 * static_cast<double>(batch * layer.out_channels * out * out * layer.in_channels *
                                                       layer.kernel * layer.kernel) * 1e-9;
        std::printf("%-20s %5d %8.3f %12.3f %12.3f %8.2f\n", layer.name, layer.count, gflop, tm, to, tm / to);
        total_myelin += tm * layer.count;
        total_onednn += to * layer.count;
    }
    std::printf("%-20s %5s %8s %12.3f %12.3f %8.2f\n", "sum over all convs", "", "", total_myelin, total_onednn,
                total_myelin / total_onednn);
    mln_device_destroy(device);
    return 0;
}
