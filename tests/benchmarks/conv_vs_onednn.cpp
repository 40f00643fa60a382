// Myelin convolution (public C API: mln_conv_forward, mln_conv_backward_data,
// mln_conv_backward_filter) against oneDNN, on the distinct conv layers of ResNet-18 or
// MobileNet-v2 (224x224 input), f32, NCHW.
//
// Myelin reads and writes plain NCHW. oneDNN runs its primitives (convolution_forward,
// convolution_backward_data, convolution_backward_weights) with the layouts it prefers
// (format_tag::any): inputs are reordered once, outside the timing, so its figure is its best
// case, as in a framework that keeps activations blocked. Both run in one process on the same
// data in alternating timed batches; each figure is the median per-call time over the batches.
// Outputs are compared before timing. Forward adds a bias; the backward passes have none (the
// layers of both networks are followed by batch norm). forward-prepared times Myelin's
// mln_conv_forward_prepared with the weights prepared once outside the timing
// (mln_conv_weights_create), as oneDNN's weight reorder is: an inference engine's constant
// weights; forward times mln_conv_forward, which takes the plain filters every call.
//
//   conv_vs_onednn [--layers resnet18|mobilenet_v2]
//                  [--pass forward|forward-prepared|backward-data|backward-filter|all]
//                  [--batch N] [--batches N] [--threads N] [--only SUBSTRING] [--json]
#include <myelin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "conv_layers.hpp"
#include "peer_bench.hpp"

namespace {

using namespace conv_layers;

constexpr double kBatchSeconds = 0.05;

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "conv_vs_onednn: %s\n", message.c_str());
    std::exit(1);
}

void check(mln_status status, const char* what) {
    if (status != MLN_STATUS_OK) fail(std::string(what) + ": " + mln_last_error());
}

template <class Run>
double time_batch(Run&& run) {
    return peer_bench::seconds_per_call(run, kBatchSeconds, std::chrono::milliseconds(5));
}
using peer_bench::median;

// One layer's tensors in plain NCHW (Myelin's, and the sources of oneDNN's copies) and the
// oneDNN descriptions of them.
struct LayerData : ConvTensors {
    dnnl::memory::dims src_dims, w_dims, dst_dims, strides, pads;
    dnnl::memory::format_tag w_tag;

    LayerData(const Layer& l, int64_t n, std::mt19937& rng) : ConvTensors(l, n, rng) {
        src_dims = {batch, l.in_channels, l.size, l.size};
        dst_dims = {batch, l.out_channels, out, out};
        strides = {l.stride, l.stride};
        pads = {l.pad, l.pad};
        // Grouped weights are G x O/G x I/G x k x k in oneDNN: the same memory as Myelin's
        // O x I/G x k x k.
        if (l.groups == 1) {
            w_dims = {l.out_channels, l.in_channels, l.kernel, l.kernel};
            w_tag = dnnl::memory::format_tag::oihw;
        } else {
            w_dims = {l.groups, l.out_channels / l.groups, l.in_channels / l.groups, l.kernel, l.kernel};
            w_tag = dnnl::memory::format_tag::goihw;
        }
    }

    dnnl::memory::desc any(const dnnl::memory::dims& dims) const {
        return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
    }
    dnnl::memory::desc plain(const dnnl::memory::dims& dims, dnnl::memory::format_tag tag) const {
        return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, tag);
    }
};

// A prepared comparison: both libraries' calls, and the outputs to compare after one call each.
struct Comparison {
    std::function<void()> run_myelin, run_onednn;
    std::function<void()> fetch_onednn;  // reorders oneDNN's output to plain layout
    peer_bench::AlignedVector<float>* mine = nullptr;
    std::vector<float> theirs;
    // Keeps oneDNN objects alive while the lambdas use them.
    std::vector<dnnl::memory> memories;
    std::vector<dnnl::primitive> primitives;
    std::shared_ptr<mln_conv_weights> prepared;  // forward-prepared's weights
};

dnnl::memory reordered(const dnnl::memory& user, const dnnl::memory::desc& desc, const dnnl::engine& engine,
                       dnnl::stream& stream) {
    dnnl::memory memory(desc, engine);
    dnnl::reorder(user, memory).execute(stream, const_cast<dnnl::memory&>(user), memory);
    stream.wait();
    return memory;
}

dnnl::convolution_forward::primitive_desc forward_hint(LayerData& d, const dnnl::engine& engine, bool bias) {
    const auto prop = bias ? dnnl::prop_kind::forward_inference : dnnl::prop_kind::forward_training;
    const auto desc = bias ? dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, d.any(d.src_dims),
                                                             d.any(d.w_dims), d.plain({d.layer.out_channels}, dnnl::memory::format_tag::x),
                                                             d.any(d.dst_dims), d.strides, d.pads, d.pads)
                           : dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, d.any(d.src_dims),
                                                             d.any(d.w_dims), d.any(d.dst_dims), d.strides, d.pads, d.pads);
    return dnnl::convolution_forward::primitive_desc(desc, engine);
}

void prepare(Comparison& c, Pass pass, LayerData& d, mln_device* device, const dnnl::engine& engine,
             dnnl::stream& stream) {
    using tag = dnnl::memory::format_tag;
    dnnl::memory user_x(d.plain(d.src_dims, tag::nchw), engine, d.x.data());
    dnnl::memory user_w(d.plain(d.w_dims, d.w_tag), engine, d.w.data());
    dnnl::memory user_y(d.plain(d.dst_dims, tag::nchw), engine, d.y.data());
    const mln_conv_params* params = &d.params;
    if (pass == Pass::kForward || pass == Pass::kForwardPrepared) {
        const auto pd = forward_hint(d, engine, true);
        dnnl::memory src = reordered(user_x, pd.src_desc(), engine, stream);
        dnnl::memory weights = reordered(user_w, pd.weights_desc(), engine, stream);
        dnnl::memory bias(d.plain({d.layer.out_channels}, tag::x), engine, d.bias.data());
        dnnl::memory dst(pd.dst_desc(), engine);
        dnnl::convolution_forward conv(pd);
        c.memories = {src, weights, bias, dst};
        c.primitives = {conv};
        c.run_myelin = [device, params, &d] {
            const mln_tensor_desc x = d.x_desc(), w = d.w_desc(), b = d.bias_desc(), y = d.y_desc();
            check(mln_conv_forward(device, params, &x, &w, &b, MLN_UNARY_OP_IDENTITY, nullptr, &y), "mln_conv_forward");
        };
        if (pass == Pass::kForwardPrepared) {
            const mln_tensor_desc x = d.x_desc(), w = d.w_desc();
            mln_conv_weights* weights = nullptr;
            check(mln_conv_weights_create(device, params, &x, &w, &weights), "mln_conv_weights_create");
            c.prepared.reset(weights, mln_conv_weights_destroy);
            c.run_myelin = [device, weights, &d] {
                const mln_tensor_desc x = d.x_desc(), b = d.bias_desc(), y = d.y_desc();
                check(mln_conv_forward_prepared(device, weights, &x, &b, MLN_UNARY_OP_IDENTITY, nullptr, &y),
                      "mln_conv_forward_prepared");
            };
        }
        c.run_onednn = [conv, src, weights, bias, dst, &stream] {
            conv.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
            stream.wait();
        };
        c.mine = &d.y;
        c.theirs.resize(d.y.size());
        dnnl::memory out(d.plain(d.dst_dims, tag::nchw), engine, c.theirs.data());
        c.fetch_onednn = [dst, out, &stream] {
            dnnl::reorder(dst, out).execute(stream, const_cast<dnnl::memory&>(dst), const_cast<dnnl::memory&>(out));
            stream.wait();
        };
    } else if (pass == Pass::kBackwardData) {
        const auto hint = forward_hint(d, engine, false);
        const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.any(d.src_dims),
                                                         d.any(d.w_dims), d.any(d.dst_dims), d.strides, d.pads, d.pads);
        const dnnl::convolution_backward_data::primitive_desc pd(desc, engine, hint);
        dnnl::memory diff_dst = reordered(user_y, pd.diff_dst_desc(), engine, stream);
        dnnl::memory weights = reordered(user_w, pd.weights_desc(), engine, stream);
        dnnl::memory diff_src(pd.diff_src_desc(), engine);
        dnnl::convolution_backward_data conv(pd);
        c.memories = {diff_dst, weights, diff_src};
        c.primitives = {conv};
        c.run_myelin = [device, params, &d] {
            const mln_tensor_desc dy = d.y_desc(), w = d.w_desc(), dx = d.x_desc();
            check(mln_conv_backward_data(device, params, &dy, &w, &dx), "mln_conv_backward_data");
        };
        c.run_onednn = [conv, diff_dst, weights, diff_src, &stream] {
            conv.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, diff_src}});
            stream.wait();
        };
        c.mine = &d.x;
        c.theirs.resize(d.x.size());
        dnnl::memory out(d.plain(d.src_dims, tag::nchw), engine, c.theirs.data());
        c.fetch_onednn = [diff_src, out, &stream] {
            dnnl::reorder(diff_src, out).execute(stream, const_cast<dnnl::memory&>(diff_src), const_cast<dnnl::memory&>(out));
            stream.wait();
        };
    } else {
        const auto hint = forward_hint(d, engine, false);
        const dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, d.any(d.src_dims),
                                                            d.any(d.w_dims), d.any(d.dst_dims), d.strides, d.pads, d.pads);
        const dnnl::convolution_backward_weights::primitive_desc pd(desc, engine, hint);
        dnnl::memory src = reordered(user_x, pd.src_desc(), engine, stream);
        dnnl::memory diff_dst = reordered(user_y, pd.diff_dst_desc(), engine, stream);
        dnnl::memory diff_weights(pd.diff_weights_desc(), engine);
        dnnl::convolution_backward_weights conv(pd);
        c.memories = {src, diff_dst, diff_weights};
        c.primitives = {conv};
        c.run_myelin = [device, params, &d] {
            const mln_tensor_desc x = d.x_desc(), dy = d.y_desc(), dw = d.w_desc();
            check(mln_conv_backward_filter(device, params, &x, &dy, &dw, nullptr), "mln_conv_backward_filter");
        };
        c.run_onednn = [conv, src, diff_dst, diff_weights, &stream] {
            conv.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, diff_weights}});
            stream.wait();
        };
        c.mine = &d.w;
        c.theirs.resize(d.w.size());
        dnnl::memory out(d.plain(d.w_dims, d.w_tag), engine, c.theirs.data());
        c.fetch_onednn = [diff_weights, out, &stream] {
            dnnl::reorder(diff_weights, out)
                .execute(stream, const_cast<dnnl::memory&>(diff_weights), const_cast<dnnl::memory&>(out));
            stream.wait();
        };
    }
}

struct Options {
    std::string layers = "resnet18";
    std::vector<Pass> passes = {Pass::kForward};
    int64_t batch = 1;
    int batches = 7;
    int threads = 0;
    bool json = false;
    std::string only;  // layers whose name contains it (all by default)
};

Options parse(int argc, char** argv) {
    Options o;
    const std::string usage = std::string("usage: conv_vs_onednn [--layers resnet18|mobilenet_v2] [--pass ") +
                              kPassChoices + "] [--batch N] [--batches N] [--threads N] [--only SUBSTRING] [--json]";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--batch" && i + 1 < argc) {
            o.batch = std::max<int64_t>(1, std::atoll(argv[++i]));
        } else if (arg == "--batches" && i + 1 < argc) {
            o.batches = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--threads" && i + 1 < argc) {
            o.threads = std::atoi(argv[++i]);
        } else if (arg == "--layers" && i + 1 < argc) {
            o.layers = argv[++i];
            if (!network(o.layers)) fail(usage);
        } else if (arg == "--pass" && i + 1 < argc) {
            o.passes = parse_passes(argv[++i]);
            if (o.passes.empty()) fail(usage);
        } else if (arg == "--only" && i + 1 < argc) {
            o.only = argv[++i];
        } else if (arg == "--json") {
            o.json = true;
        } else {
            fail(usage);
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse(argc, argv);
    const std::vector<Layer>& layers = *network(options.layers);
    mln_device* device = nullptr;
    check(mln_device_create(MLN_DEVICE_KIND_CPU, 0, &device), "mln_device_create");
    check(mln_device_set_thread_count(device, options.threads), "mln_device_set_thread_count");
    int32_t thread_count = 0;
    check(mln_device_get_thread_count(device, &thread_count), "mln_device_get_thread_count");
    const char* cpu_name = "";
    mln_cpu_get_name(&cpu_name);

    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    std::mt19937 rng(7);

    if (options.json) {
        std::printf("{\"cpu\": \"%s\", \"layers\": \"%s\", \"batch\": %lld, \"myelin_threads\": %d, \"passes\": [\n",
                    cpu_name, options.layers.c_str(), static_cast<long long>(options.batch), thread_count);
    } else {
        std::printf("CPU: %s\n%s conv layers, batch %lld, f32, Myelin threads %d (oneDNN uses its own default)\n"
                    "ms = median per-call time over %d alternating batches; ratio = Myelin / oneDNN\n",
                    cpu_name, options.layers.c_str(), static_cast<long long>(options.batch), thread_count,
                    options.batches);
    }
    bool first_pass = true;
    for (Pass pass : options.passes) {
        if (options.json) {
            std::printf("%s  {\"pass\": \"%s\", \"rows\": [\n", first_pass ? "" : ",\n", pass_name(pass));
        } else {
            std::printf("\n%s\n%-20s %5s %8s %12s %12s %8s\n", pass_name(pass), "layer", "count", "GFLOP",
                        "myelin ms", "onednn ms", "ratio");
        }
        first_pass = false;
        double total_myelin = 0.0, total_onednn = 0.0;
        bool first_row = true;
        for (const Layer& layer : layers) {
            if (std::string(layer.name).find(options.only) == std::string::npos) continue;
            LayerData data(layer, options.batch, rng);
            Comparison c;
            prepare(c, pass, data, device, engine, stream);
            c.run_myelin();
            c.run_onednn();
            c.fetch_onednn();
            const double worst = worst_difference(*c.mine, c.theirs);
            if (!(worst <= 1e-4)) {
                fail(std::string(pass_name(pass)) + " " + layer.name + ": outputs differ by " + std::to_string(worst));
            }
            std::vector<double> myelin_times, onednn_times;
            for (int b = 0; b < options.batches; ++b) {
                if (b % 2 == 0) {
                    myelin_times.push_back(time_batch(c.run_myelin));
                    onednn_times.push_back(time_batch(c.run_onednn));
                } else {
                    onednn_times.push_back(time_batch(c.run_onednn));
                    myelin_times.push_back(time_batch(c.run_myelin));
                }
            }
            const double tm = median(myelin_times) * 1e3;
            const double to = median(onednn_times) * 1e3;
            if (options.json) {
                std::printf("%s    {\"layer\": \"%s\", \"count\": %d, \"gflop\": %.4f, \"myelin_ms\": %.4f, "
                            "\"onednn_ms\": %.4f, \"ratio\": %.3f, \"max_difference\": %.2e}",
                            first_row ? "" : ",\n", layer.name, layer.count, data.gflop(), tm, to, tm / to, worst);
            } else {
                std::printf("%-20s %5d %8.3f %12.3f %12.3f %8.2f\n", layer.name, layer.count, data.gflop(), tm, to,
                            tm / to);
            }
            std::fflush(stdout);
            first_row = false;
            total_myelin += tm * layer.count;
            total_onednn += to * layer.count;
        }
        if (options.json) {
            std::printf("\n  ], \"total_myelin_ms\": %.4f, \"total_onednn_ms\": %.4f, \"total_ratio\": %.3f}",
                        total_myelin, total_onednn, total_myelin / total_onednn);
        } else {
            std::printf("%-20s %5s %8s %12.3f %12.3f %8.2f\n", "sum over all convs", "", "", total_myelin,
                        total_onednn, total_myelin / total_onednn);
        }
    }
    if (options.json) std::printf("\n]}\n");
    mln_device_destroy(device);
    return 0;
}
