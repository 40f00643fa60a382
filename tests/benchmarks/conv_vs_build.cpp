// Myelin's convolutions (mln_conv_forward, mln_conv_forward_prepared, mln_conv_backward_data,
// mln_conv_backward_filter) against ANOTHER BUILD of Myelin, layer by layer on conv_vs_onednn's
// layers: the check on a merge that no layer got slower. A ratio to oneDNN moves with the load
// and hides a layer that got 1.3x slower; two builds timed in one process, in alternating
// batches, share the load.
//
// The build under test is the library this program links; the baseline is a libmyelin.so loaded
// with dlopen, its C API looked up by name. Each build gets its own device (same thread count);
// both work on the same tensors, since where a buffer lies matters too (one depthwise layer ran
// 15% faster on one of two separately allocated copies of its tensors, same library). Outputs
// are compared before timing; then each round times one short batch of calls per build, this
// build first in even rounds and the baseline first in odd ones, and each build's minimum and
// median per-call time over the rounds are reported with the ratios this build / baseline.
//
//   conv_vs_build --baseline /path/to/libmyelin.so [--layers resnet18|mobilenet_v2]
//                 [--pass forward|forward-prepared|forward-both|backward-data|backward-filter|all]
//                 [--batch N] [--threads N] [--rounds N] [--only SUBSTRING] [--json]
#include <myelin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "baseline_library.hpp"
#include "conv_layers.hpp"
#include "peer_bench.hpp"

namespace {

using namespace conv_layers;

// Batches of a few milliseconds: many rounds fit in a quiet moment of a shared machine. With
// worker threads, a pause before each batch lets the other build's workers stop spinning
// (Myelin's spin 0.2 ms); one thread has none to wait for.
constexpr double kBatchSeconds = 0.005;
constexpr auto kWorkerPause = std::chrono::milliseconds(1);
constexpr double kDifferenceLimit = 1e-4;

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "conv_vs_build: %s\n", message.c_str());
    std::exit(1);
}

// The C API functions this program calls, typed from myelin.h, so that a changed signature is a
// compile error here rather than a wrong call into the baseline.
struct ConvApi {
    decltype(&mln_last_error) last_error;
    decltype(&mln_device_create) device_create;
    decltype(&mln_device_destroy) device_destroy;
    decltype(&mln_device_set_thread_count) device_set_thread_count;
    decltype(&mln_device_get_thread_count) device_get_thread_count;
    decltype(&mln_conv_forward) conv_forward;
    decltype(&mln_conv_weights_create) conv_weights_create;
    decltype(&mln_conv_weights_destroy) conv_weights_destroy;
    decltype(&mln_conv_forward_prepared) conv_forward_prepared;
    decltype(&mln_conv_backward_data) conv_backward_data;
    decltype(&mln_conv_backward_filter) conv_backward_filter;
};

const ConvApi kLinkedApi = {mln_last_error,          mln_device_create,         mln_device_destroy,
                            mln_device_set_thread_count, mln_device_get_thread_count, mln_conv_forward,
                            mln_conv_weights_create, mln_conv_weights_destroy,   mln_conv_forward_prepared,
                            mln_conv_backward_data,  mln_conv_backward_filter};

ConvApi load_baseline(const std::string& path) {
    const peer_bench::BaselineLibrary library(path, fail);
    ConvApi api{};
    library.resolve("mln_last_error", api.last_error);
    library.resolve("mln_device_create", api.device_create);
    library.resolve("mln_device_destroy", api.device_destroy);
    library.resolve("mln_device_set_thread_count", api.device_set_thread_count);
    library.resolve("mln_device_get_thread_count", api.device_get_thread_count);
    library.resolve("mln_conv_forward", api.conv_forward);
    library.resolve("mln_conv_weights_create", api.conv_weights_create);
    library.resolve("mln_conv_weights_destroy", api.conv_weights_destroy);
    library.resolve("mln_conv_forward_prepared", api.conv_forward_prepared);
    library.resolve("mln_conv_backward_data", api.conv_backward_data);
    library.resolve("mln_conv_backward_filter", api.conv_backward_filter);
    return api;
}

// One build of Myelin: its C API and a CPU device of its own.
struct Build {
    const char* name;
    ConvApi api;
    mln_device* device = nullptr;
    int32_t threads = 0;

    Build(const char* build_name, const ConvApi& build_api, int requested_threads) : name(build_name), api(build_api) {
        check(api.device_create(MLN_DEVICE_KIND_CPU, 0, &device), "mln_device_create");
        check(api.device_set_thread_count(device, requested_threads), "mln_device_set_thread_count");
        check(api.device_get_thread_count(device, &threads), "mln_device_get_thread_count");
    }
    ~Build() { api.device_destroy(device); }
    Build(const Build&) = delete;
    Build& operator=(const Build&) = delete;

    void check(mln_status status, const char* what) const {
        if (status != MLN_STATUS_OK) fail(std::string(name) + " build: " + what + ": " + api.last_error());
    }
};

// One build's calls of one pass on a layer's tensors; forward-prepared's weights are prepared
// here, outside the timing, and released with it.
struct LayerRun {
    const Build& build;
    Pass pass;
    ConvTensors& tensors;
    mln_conv_weights* prepared = nullptr;

    LayerRun(const Build& b, Pass p, ConvTensors& t) : build(b), pass(p), tensors(t) {
        if (pass == Pass::kForwardPrepared) {
            const mln_tensor_desc x = tensors.x_desc(), w = tensors.w_desc();
            build.check(build.api.conv_weights_create(build.device, &tensors.params, &x, &w, &prepared),
                        "mln_conv_weights_create");
        }
    }
    ~LayerRun() { build.api.conv_weights_destroy(prepared); }
    LayerRun(const LayerRun&) = delete;
    LayerRun& operator=(const LayerRun&) = delete;

    void operator()() {
        const ConvApi& api = build.api;
        const mln_tensor_desc x = tensors.x_desc(), w = tensors.w_desc(), y = tensors.y_desc(),
                              bias = tensors.bias_desc();
        switch (pass) {
            case Pass::kForward:
                build.check(api.conv_forward(build.device, &tensors.params, &x, &w, &bias, MLN_UNARY_OP_IDENTITY,
                                             nullptr, &y),
                            "mln_conv_forward");
                break;
            case Pass::kForwardPrepared:
                build.check(api.conv_forward_prepared(build.device, prepared, &x, &bias, MLN_UNARY_OP_IDENTITY,
                                                      nullptr, &y),
                            "mln_conv_forward_prepared");
                break;
            case Pass::kBackwardData:
                build.check(api.conv_backward_data(build.device, &tensors.params, &y, &w, &x),
                            "mln_conv_backward_data");
                break;
            case Pass::kBackwardFilter:
                build.check(api.conv_backward_filter(build.device, &tensors.params, &x, &y, &w, nullptr),
                            "mln_conv_backward_filter");
                break;
        }
    }
};

// Per-call seconds of the rounds' batches of one build.
struct Times {
    double min = 0.0, median = 0.0;
    explicit Times(const std::vector<double>& seconds)
        : min(*std::min_element(seconds.begin(), seconds.end())), median(peer_bench::median(seconds)) {}
    Times(double min_seconds, double median_seconds) : min(min_seconds), median(median_seconds) {}
};

// A regression stands out only where both the typical and the best batch got slower: the median
// alone moves with the load, the minimum alone with one lucky batch.
bool slower(const Times& mine, const Times& base) {
    return mine.median / base.median > 1.05 && mine.min / base.min > 1.03;
}

// %.2e, or null where JSON has no number (NaN from an output that differs).
std::string json_number(double value) {
    if (!std::isfinite(value)) return "null";
    char text[32];
    std::snprintf(text, sizeof text, "%.2e", value);
    return text;
}

struct Options {
    std::string baseline;
    std::string layers = "resnet18";
    std::vector<Pass> passes = {Pass::kForward};
    int64_t batch = 1;
    int threads = 0;
    int rounds = 15;
    std::string only;
    bool json = false;
};

Options parse(int argc, char** argv) {
    Options o;
    const std::string usage =
        std::string("usage: conv_vs_build --baseline /path/to/libmyelin.so [--layers resnet18|mobilenet_v2] [--pass ") +
        kPassChoices + "] [--batch N] [--threads N] [--rounds N] [--only SUBSTRING] [--json]";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--baseline" && has_value) {
            o.baseline = argv[++i];
        } else if (arg == "--layers" && has_value) {
            o.layers = argv[++i];
            if (!network(o.layers)) fail(usage);
        } else if (arg == "--pass" && has_value) {
            o.passes = parse_passes(argv[++i]);
            if (o.passes.empty()) fail(usage);
        } else if (arg == "--batch" && has_value) {
            o.batch = std::max<int64_t>(1, std::atoll(argv[++i]));
        } else if (arg == "--threads" && has_value) {
            o.threads = std::atoi(argv[++i]);
        } else if (arg == "--rounds" && has_value) {
            o.rounds = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--only" && has_value) {
            o.only = argv[++i];
        } else if (arg == "--json") {
            o.json = true;
        } else {
            fail(usage);
        }
    }
    if (o.baseline.empty()) fail(usage);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse(argc, argv);
    std::vector<const Layer*> layers;
    for (const Layer& layer : *network(options.layers)) {
        if (std::string(layer.name).find(options.only) != std::string::npos) layers.push_back(&layer);
    }
    if (layers.empty()) fail("no " + options.layers + " layer name contains \"" + options.only + "\"");
    Build mine("this", kLinkedApi, options.threads);
    Build base("baseline", load_baseline(options.baseline), options.threads);
    const char* cpu_name = "";
    mln_cpu_get_name(&cpu_name);
    std::mt19937 rng(7);
    const auto pause = std::max(mine.threads, base.threads) > 1 ? kWorkerPause : std::chrono::milliseconds(0);

    const std::string linked_file = peer_bench::library_file_of(reinterpret_cast<const void*>(&mln_conv_forward));
    if (options.json) {
        std::printf("{\"cpu\": \"%s\", \"this\": \"%s\", \"baseline\": \"%s\", \"layers\": \"%s\", \"batch\": %lld, "
                    "\"threads\": %d, \"baseline_threads\": %d, \"rounds\": %d, \"passes\": [\n",
                    cpu_name, linked_file.c_str(), options.baseline.c_str(), options.layers.c_str(),
                    static_cast<long long>(options.batch), mine.threads, base.threads, options.rounds);
    } else {
        std::printf("CPU: %s\nthis build: %s\nbaseline: %s\n"
                    "%s conv layers, batch %lld, f32, threads %d (baseline %d)\n"
                    "us per call, min and median over %d rounds of alternating batches; "
                    "ratio = this build / baseline;\n"
                    "diff = largest output difference relative to scale (DIFFERS above %.0e); "
                    "slower = median ratio > 1.05 and min ratio > 1.03\n",
                    cpu_name, linked_file.c_str(), options.baseline.c_str(), options.layers.c_str(),
                    static_cast<long long>(options.batch), mine.threads, base.threads, options.rounds,
                    kDifferenceLimit);
    }
    bool first_pass = true;
    for (Pass pass : options.passes) {
        if (options.json) {
            std::printf("%s  {\"pass\": \"%s\", \"rows\": [\n", first_pass ? "" : ",\n", pass_name(pass));
        } else {
            std::printf("\n%s\n%-20s %5s %10s %10s %10s %10s %7s %7s %8s\n", pass_name(pass), "layer", "count",
                        "this min", "this med", "base min", "base med", "min", "median", "diff");
        }
        first_pass = false;
        double sums[2][2] = {};  // [this, baseline][min, median], count-weighted
        bool first_row = true;
        for (const Layer* layer : layers) {
            ConvTensors tensors(*layer, options.batch, rng);
            LayerRun runs[2] = {{mine, pass, tensors}, {base, pass, tensors}};
            runs[0]();
            const peer_bench::AlignedVector<float> mine_output = tensors.output(pass);
            runs[1]();
            const double difference = worst_difference(mine_output, tensors.output(pass));
            const bool differs = !(difference <= kDifferenceLimit);
            std::vector<double> seconds[2];
            for (int round = 0; round < options.rounds; ++round) {
                for (int turn = 0; turn < 2; ++turn) {
                    const int side = round % 2 == 0 ? turn : 1 - turn;
                    seconds[side].push_back(peer_bench::seconds_per_call(runs[side], kBatchSeconds, pause));
                }
            }
            const Times times[2] = {Times(seconds[0]), Times(seconds[1])};
            for (int side = 0; side < 2; ++side) {
                sums[side][0] += times[side].min * layer->count;
                sums[side][1] += times[side].median * layer->count;
            }
            const bool is_slower = slower(times[0], times[1]);
            if (options.json) {
                std::printf("%s    {\"layer\": \"%s\", \"count\": %d, \"gflop\": %.4f, \"this_min_us\": %.3f, "
                            "\"this_median_us\": %.3f, \"baseline_min_us\": %.3f, \"baseline_median_us\": %.3f, "
                            "\"min_ratio\": %.3f, \"median_ratio\": %.3f, \"max_difference\": %s, \"differs\": %s, "
                            "\"slower\": %s}",
                            first_row ? "" : ",\n", layer->name, layer->count, tensors.gflop(),
                            times[0].min * 1e6, times[0].median * 1e6, times[1].min * 1e6, times[1].median * 1e6,
                            times[0].min / times[1].min, times[0].median / times[1].median,
                            json_number(difference).c_str(), differs ? "true" : "false", is_slower ? "true" : "false");
            } else {
                std::printf("%-20s %5d %10.1f %10.1f %10.1f %10.1f %7.3f %7.3f %8.1e%s%s\n", layer->name, layer->count,
                            times[0].min * 1e6, times[0].median * 1e6, times[1].min * 1e6, times[1].median * 1e6,
                            times[0].min / times[1].min, times[0].median / times[1].median, difference,
                            differs ? "  DIFFERS" : "", is_slower ? "  slower" : "");
            }
            std::fflush(stdout);
            first_row = false;
        }
        const Times total_mine(sums[0][0], sums[0][1]), total_base(sums[1][0], sums[1][1]);
        const bool total_slower = slower(total_mine, total_base);
        if (options.json) {
            std::printf("\n  ], \"this_min_us\": %.3f, \"this_median_us\": %.3f, \"baseline_min_us\": %.3f, "
                        "\"baseline_median_us\": %.3f, \"min_ratio\": %.3f, \"median_ratio\": %.3f, \"slower\": %s}",
                        total_mine.min * 1e6, total_mine.median * 1e6, total_base.min * 1e6, total_base.median * 1e6,
                        total_mine.min / total_base.min, total_mine.median / total_base.median,
                        total_slower ? "true" : "false");
        } else {
            std::printf("%-20s %5s %10.1f %10.1f %10.1f %10.1f %7.3f %7.3f %8s%s\n", "sum over the convs", "",
                        total_mine.min * 1e6, total_mine.median * 1e6, total_base.min * 1e6, total_base.median * 1e6,
                        total_mine.min / total_base.min, total_mine.median / total_base.median, "",
                        total_slower ? "  slower" : "");
        }
    }
    if (options.json) std::printf("\n]}\n");
    return 0;
}
