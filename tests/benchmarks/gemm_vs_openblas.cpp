// Myelin sgemm (public C API, mln_gemm) against OpenBLAS cblas_sgemm, side by side.
//
// For every shape, transpose combination and thread count both libraries run in the same
// process on the same data, in alternating timed batches (the side that goes first alternates
// too), so load from other processes hits both alike. Each side's figure is the median over
// the batches of the per-call time in a batch (--min: the fastest batch, which on a machine
// shared with other work approaches the unloaded figure; use enough --batches). Both results are checked against each other.
// A second table times Myelin's fused epilogues against the plain GEMM of the same shape.
//
// With --baseline, another build of Myelin (a libmyelin.so loaded with dlopen, as conv_vs_build
// does) takes OpenBLAS's place: the same-process A/B of a change. Both builds work on the same
// operands, each with its own device; the table gives this build's and the baseline's time per
// call and the ratios this build / baseline of the fastest and the median batch, for the plain
// product or with --epilogue the fused one (the epilogue-cost table is left out).
//
//   gemm_vs_openblas [--json] [--quick] [--min] [--batch-ms MS] [--batches N] [--threads 1,2]
//                    [--shapes MxNxK,...] [--baseline /path/to/libmyelin.so]
//                    [--epilogue none|bias-relu|bias-relu-residual]
//
// OpenBLAS picks its kernels by CPU (the core it picked is printed); Debian's 0.3.21 runs its
// AVX2 (Haswell) kernels on Zen 5, OPENBLAS_CORETYPE=SkylakeX its AVX-512 ones: the strict peer.
//
// Linux only (it re-executes itself through /proc/self/exe to configure OpenBLAS's threads).
#include <cblas.h>
#include <myelin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "baseline_library.hpp"
#include "peer_bench.hpp"

namespace {

struct Shape {
    int64_t m, n, k;
};

// The fused epilogue of the timed calls (--epilogue; baseline mode only).
enum class Epilogue { kNone, kBiasRelu, kBiasReluResidual };

struct Options {
    bool json = false;
    bool quick = false;
    bool fastest = false;  // --min: report the fastest batch instead of the median
    int batches = 7;
    std::vector<int> threads = {1, 2};
    std::vector<Shape> shapes;  // empty: the default list
    std::string baseline;       // a libmyelin.so to compare with instead of OpenBLAS
    Epilogue epilogue = Epilogue::kNone;
};

// Each timed batch lasts at least this long by default, so timer resolution and one-off stalls
// vanish in the median. With --min, shorter batches (--batch-ms 2) are likelier to run whole
// while the machine is free.
constexpr double kDefaultBatchSeconds = 0.03;
double g_batch_seconds = kDefaultBatchSeconds;

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "gemm_vs_openblas: %s\n", message.c_str());
    std::exit(1);
}

// The C API functions this program calls on a build of Myelin, typed from myelin.h (a changed
// signature is a compile error rather than a wrong call into the baseline).
struct GemmApi {
    decltype(&mln_last_error) last_error;
    decltype(&mln_device_create) device_create;
    decltype(&mln_device_destroy) device_destroy;
    decltype(&mln_device_set_thread_count) device_set_thread_count;
    decltype(&mln_gemm) gemm;
};

const GemmApi kLinkedApi = {mln_last_error, mln_device_create, mln_device_destroy, mln_device_set_thread_count,
                            mln_gemm};

GemmApi load_baseline(const std::string& path) {
    const peer_bench::BaselineLibrary library(path, fail);
    GemmApi api{};
    library.resolve("mln_last_error", api.last_error);
    library.resolve("mln_device_create", api.device_create);
    library.resolve("mln_device_destroy", api.device_destroy);
    library.resolve("mln_device_set_thread_count", api.device_set_thread_count);
    library.resolve("mln_gemm", api.gemm);
    return api;
}

void check(const GemmApi& api, mln_status status, const char* what) {
    if (status != MLN_STATUS_OK) fail(std::string(what) + ": " + api.last_error());
}

void check(mln_status status, const char* what) { check(kLinkedApi, status, what); }

mln_tensor_desc matrix(float* data, int64_t rows, int64_t cols) {
    mln_tensor_desc desc{};
    desc.data = data;
    desc.dtype = MLN_DTYPE_F32;
    desc.rank = 2;
    desc.shape[0] = rows;
    desc.shape[1] = cols;
    desc.strides[0] = cols;
    desc.strides[1] = 1;
    return desc;
}

mln_tensor_desc vector(float* data, int64_t length) {
    mln_tensor_desc desc{};
    desc.data = data;
    desc.dtype = MLN_DTYPE_F32;
    desc.rank = 1;
    desc.shape[0] = length;
    desc.strides[0] = 1;
    return desc;
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Calls per batch so that one batch lasts about g_batch_seconds.
template <class Call>
int calibrate(Call&& call) {
    call();  // warm-up: page faults, pool start, pack buffers
    int calls = 1;
    for (;;) {
        const double start = now_seconds();
        for (int i = 0; i < calls; ++i) call();
        const double elapsed = now_seconds() - start;
        if (elapsed >= g_batch_seconds || calls >= (1 << 20)) return calls;
        calls = elapsed <= 0.0 ? calls * 8
                               : std::max(calls + 1, static_cast<int>(calls * g_batch_seconds / elapsed * 1.2));
    }
}

template <class Call>
double time_batch(Call&& call, int calls) {
    const double start = now_seconds();
    for (int i = 0; i < calls; ++i) call();
    return (now_seconds() - start) / calls;
}

// One side's seconds per call: the fastest and the median batch.
struct Summary {
    double fastest;
    double median;
    double pick(bool want_fastest) const { return want_fastest ? fastest : median; }
};

Summary summarize(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return {values.front(), n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2])};
}

// Runs the sides in alternating batches; returns each side's seconds per call.
template <class CallA, class CallB>
std::pair<Summary, Summary> interleave_both(int batches, CallA&& a, CallB&& b) {
    const int calls_a = calibrate(a);
    const int calls_b = calibrate(b);
    std::vector<double> times_a;
    std::vector<double> times_b;
    for (int batch = 0; batch < batches; ++batch) {
        if (batch % 2 == 0) {
            times_a.push_back(time_batch(a, calls_a));
            times_b.push_back(time_batch(b, calls_b));
        } else {
            times_b.push_back(time_batch(b, calls_b));
            times_a.push_back(time_batch(a, calls_a));
        }
    }
    return {summarize(times_a), summarize(times_b)};
}

// interleave_both's figure of each side: the median batch, or with `fastest` the fastest one.
template <class CallA, class CallB>
std::pair<double, double> interleave(int batches, bool fastest, CallA&& a, CallB&& b) {
    const auto [sa, sb] = interleave_both(batches, a, b);
    return {sa.pick(fastest), sb.pick(fastest)};
}

struct Operands {
    Shape shape;
    bool transpose_a, transpose_b;
    // On cache lines, as a runtime allocates its tensors (peer_bench.hpp).
    peer_bench::AlignedVector<float> a, b, bias, residual, c_myelin, c_openblas;
    // c_other_desc: the OpenBLAS result's buffer, where the baseline build writes in its place.
    mln_tensor_desc a_desc, b_desc, c_desc, c_other_desc, bias_desc, residual_desc;

    Operands(Shape s, bool ta, bool tb, std::mt19937& rng) : shape(s), transpose_a(ta), transpose_b(tb) {
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        a.resize(static_cast<size_t>(s.m * s.k));
        b.resize(static_cast<size_t>(s.k * s.n));
        bias.resize(static_cast<size_t>(s.n));
        residual.resize(static_cast<size_t>(s.m * s.n));
        for (auto* v : {&a, &b, &bias, &residual}) {
            for (float& x : *v) x = dist(rng);
        }
        c_myelin.assign(static_cast<size_t>(s.m * s.n), 0.0f);
        c_openblas.assign(static_cast<size_t>(s.m * s.n), 0.0f);
        // Stored shapes: a is MxK (KxM when transposed), b is KxN (NxK when transposed), row-major.
        a_desc = ta ? matrix(a.data(), s.k, s.m) : matrix(a.data(), s.m, s.k);
        b_desc = tb ? matrix(b.data(), s.n, s.k) : matrix(b.data(), s.k, s.n);
        c_desc = matrix(c_myelin.data(), s.m, s.n);
        c_other_desc = matrix(c_openblas.data(), s.m, s.n);
        bias_desc = vector(bias.data(), s.n);
        residual_desc = matrix(residual.data(), s.m, s.n);
    }

    void run_myelin(mln_device* device, bool with_bias, mln_unary_op activation, bool with_residual) {
        run_build(kLinkedApi, device, c_desc, with_bias, activation, with_residual);
    }

    void run_build(const GemmApi& api, mln_device* device, const mln_tensor_desc& c, bool with_bias,
                   mln_unary_op activation, bool with_residual) {
        check(api,
              api.gemm(device, &a_desc, transpose_a ? 1 : 0, &b_desc, transpose_b ? 1 : 0, &c, 1.0, 0.0,
                       with_bias ? &bias_desc : nullptr, activation, with_residual ? &residual_desc : nullptr),
              "mln_gemm");
    }

    void run_openblas() {
        const int lda = static_cast<int>(transpose_a ? shape.m : shape.k);
        const int ldb = static_cast<int>(transpose_b ? shape.k : shape.n);
        cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
                    static_cast<int>(shape.m), static_cast<int>(shape.n), static_cast<int>(shape.k), 1.0f, a.data(),
                    lda, b.data(), ldb, 0.0f, c_openblas.data(), static_cast<int>(shape.n));
    }

    // Largest difference relative to the accumulated magnitude (inputs are in [-1, 1]).
    double max_relative_difference() const {
        double worst = 0.0;
        for (size_t i = 0; i < c_myelin.size(); ++i) {
            const double d = std::fabs(static_cast<double>(c_myelin[i]) - c_openblas[i]);
            worst = std::max(worst, std::isnan(d) ? INFINITY : d / std::sqrt(static_cast<double>(shape.k)));
        }
        return worst;
    }
};

const char* trans_name(bool ta, bool tb) {
    static const char* names[] = {"NN", "NT", "TN", "TT"};
    return names[(ta ? 2 : 0) + (tb ? 1 : 0)];
}

double gflops(const Shape& s, double seconds) { return 2.0 * s.m * s.n * s.k / seconds * 1e-9; }

std::vector<int> parse_list(const char* text) {
    std::vector<int> values;
    for (const char* p = text; *p != '\0';) {
        char* end = nullptr;
        const long v = std::strtol(p, &end, 10);
        if (end == p || v < 1) fail(std::string("bad list: ") + text);
        values.push_back(static_cast<int>(v));
        p = *end == ',' ? end + 1 : end;
    }
    return values;
}

// "64x64x64,128x256x784": shapes as MxNxK.
std::vector<Shape> parse_shapes(const char* text) {
    std::vector<Shape> shapes;
    for (const char* p = text; *p != '\0';) {
        long long m = 0, n = 0, k = 0;
        int used = 0;
        if (std::sscanf(p, "%lldx%lldx%lld%n", &m, &n, &k, &used) != 3 || m < 1 || n < 1 || k < 1) {
            fail(std::string("bad shape list (want MxNxK,...): ") + text);
        }
        shapes.push_back({m, n, k});
        p += used;
        if (*p == ',') ++p;
    }
    return shapes;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--json") {
            o.json = true;
        } else if (arg == "--quick") {
            o.quick = true;
        } else if (arg == "--min") {
            o.fastest = true;
        } else if (arg == "--batch-ms" && i + 1 < argc) {
            const double ms = std::atof(argv[++i]);
            if (!(ms > 0.0)) fail("--batch-ms wants a positive number of milliseconds");
            g_batch_seconds = ms * 1e-3;
        } else if (arg == "--batches" && i + 1 < argc) {
            o.batches = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--threads" && i + 1 < argc) {
            o.threads = parse_list(argv[++i]);
        } else if (arg == "--shapes" && i + 1 < argc) {
            o.shapes = parse_shapes(argv[++i]);
        } else if (arg == "--baseline" && i + 1 < argc) {
            o.baseline = argv[++i];
        } else if (arg == "--epilogue" && i + 1 < argc) {
            const std::string name = argv[++i];
            if (name == "none") {
                o.epilogue = Epilogue::kNone;
            } else if (name == "bias-relu") {
                o.epilogue = Epilogue::kBiasRelu;
            } else if (name == "bias-relu-residual") {
                o.epilogue = Epilogue::kBiasReluResidual;
            } else {
                fail("--epilogue wants none, bias-relu or bias-relu-residual");
            }
        } else {
            fail("usage: gemm_vs_openblas [--json] [--quick] [--min] [--batch-ms MS] [--batches N] [--threads 1,2] "
                 "[--shapes MxNxK,...] [--baseline /path/to/libmyelin.so] "
                 "[--epilogue none|bias-relu|bias-relu-residual]");
        }
    }
    return o;
}

const char* epilogue_name(Epilogue epilogue) {
    switch (epilogue) {
        case Epilogue::kNone: return "none";
        case Epilogue::kBiasRelu: return "bias-relu";
        case Epilogue::kBiasReluResidual: return "bias-relu-residual";
    }
    return "?";
}

// --baseline: this build against the baseline build, shape by shape, in alternating batches.
// Returns whether all results agreed.
bool compare_builds(const Options& options, const std::vector<Shape>& shapes, mln_device* device, std::mt19937& rng) {
    const GemmApi base = load_baseline(options.baseline);
    mln_device* base_device = nullptr;
    check(base, base.device_create(MLN_DEVICE_KIND_CPU, 0, &base_device), "baseline mln_device_create");
    const bool bias = options.epilogue != Epilogue::kNone;
    const mln_unary_op activation = bias ? MLN_UNARY_OP_RELU : MLN_UNARY_OP_IDENTITY;
    const bool residual = options.epilogue == Epilogue::kBiasReluResidual;
    const char* cpu_name = "";
    mln_cpu_get_name(&cpu_name);
    const std::string linked_file = peer_bench::library_file_of(reinterpret_cast<const void*>(&mln_gemm));
    if (options.json) {
        std::printf("{\"cpu\": \"%s\", \"this\": \"%s\", \"baseline\": \"%s\", \"epilogue\": \"%s\", \"rows\": [\n",
                    cpu_name, linked_file.c_str(), options.baseline.c_str(), epilogue_name(options.epilogue));
    } else {
        std::printf("CPU: %s\nthis build: %s\nbaseline: %s\nepilogue: %s; time per call over %d alternating "
                    "batches; ratio = this build / baseline\n\n",
                    cpu_name, linked_file.c_str(), options.baseline.c_str(), epilogue_name(options.epilogue),
                    options.batches);
        std::printf("%-18s %-5s %7s %10s %10s %10s %10s %9s %9s\n", "MxNxK", "trans", "threads", "this min",
                    "base min", "this med", "base med", "min", "median");
    }
    bool all_agree = true;
    bool first_json = true;
    for (int threads : options.threads) {
        check(mln_device_set_thread_count(device, threads), "mln_device_set_thread_count");
        check(base, base.device_set_thread_count(base_device, threads), "baseline mln_device_set_thread_count");
        for (const Shape& shape : shapes) {
            for (int t = 0; t < 4; ++t) {
                Operands ops(shape, (t & 2) != 0, (t & 1) != 0, rng);
                const auto [mine, theirs] = interleave_both(
                    options.batches,
                    [&] { ops.run_build(kLinkedApi, device, ops.c_desc, bias, activation, residual); },
                    [&] { ops.run_build(base, base_device, ops.c_other_desc, bias, activation, residual); });
                const double diff = ops.max_relative_difference();
                const bool agree = diff < 1e-5;
                all_agree = all_agree && agree;
                char name[48];
                std::snprintf(name, sizeof name, "%lldx%lldx%lld", static_cast<long long>(shape.m),
                              static_cast<long long>(shape.n), static_cast<long long>(shape.k));
                if (options.json) {
                    std::printf("%s  {\"shape\": \"%s\", \"trans\": \"%s\", \"threads\": %d, \"this_min_us\": %.3f, "
                                "\"baseline_min_us\": %.3f, \"this_median_us\": %.3f, \"baseline_median_us\": %.3f, "
                                "\"min_ratio\": %.4f, \"median_ratio\": %.4f, \"agree\": %s}",
                                first_json ? "" : ",\n", name, trans_name(ops.transpose_a, ops.transpose_b), threads,
                                mine.fastest * 1e6, theirs.fastest * 1e6, mine.median * 1e6, theirs.median * 1e6,
                                mine.fastest / theirs.fastest, mine.median / theirs.median, agree ? "true" : "false");
                    first_json = false;
                } else {
                    std::printf("%-18s %-5s %7d %10.2f %10.2f %10.2f %10.2f %9.3f %9.3f%s\n", name,
                                trans_name(ops.transpose_a, ops.transpose_b), threads, mine.fastest * 1e6,
                                theirs.fastest * 1e6, mine.median * 1e6, theirs.median * 1e6,
                                mine.fastest / theirs.fastest, mine.median / theirs.median,
                                agree ? "" : "  MISMATCH");
                }
                std::fflush(stdout);
            }
        }
    }
    if (options.json) std::printf("\n], \"all_agree\": %s}\n", all_agree ? "true" : "false");
    base.device_destroy(base_device);
    return all_agree;
}

}  // namespace

int main(int argc, char** argv) {
    // OpenBLAS workers busy-wait 2^28 cycles (~0.1 s) after each call by default, which would
    // take a core from the Myelin batch that follows. Give them the window Myelin's workers
    // have (~200 us = 2^19 cycles). OpenBLAS reads the variable when it loads: re-execute once.
    if (std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr) {
        setenv("OPENBLAS_THREAD_TIMEOUT", "19", 1);
        execv("/proc/self/exe", argv);
        fail("could not re-execute with OPENBLAS_THREAD_TIMEOUT set");
    }
    const Options options = parse(argc, argv);
    mln_device* device = nullptr;
    check(mln_device_create(MLN_DEVICE_KIND_CPU, 0, &device), "mln_device_create");
    std::vector<Shape> shapes = {{64, 64, 64},    {128, 128, 128}, {256, 256, 256},  {512, 512, 512},
                                 {1024, 1024, 1024}, {2048, 2048, 2048}, {128, 256, 784}, {128, 128, 256},
                                 {784, 256, 128}};
    if (options.quick) shapes = {{64, 64, 64}, {256, 256, 256}, {512, 512, 512}, {128, 256, 784}};
    if (!options.shapes.empty()) shapes = options.shapes;
    std::mt19937 rng(42);
    if (!options.baseline.empty()) {
        const bool agree = compare_builds(options, shapes, device, rng);
        mln_device_destroy(device);
        if (!agree) std::fprintf(stderr, "gemm_vs_openblas: results differ between the builds\n");
        return agree ? 0 : 1;
    }
    const char* cpu_name = "";
    mln_cpu_get_name(&cpu_name);
    bool all_agree = true;
    bool first_json = true;

    if (options.json) {
        std::printf("{\"cpu\": \"%s\", \"openblas\": \"%s\", \"openblas_core\": \"%s\", \"statistic\": \"%s\", "
                    "\"rows\": [\n",
                    cpu_name, openblas_get_config(), openblas_get_corename(), options.fastest ? "fastest" : "median");
    } else {
        const char* coretype = std::getenv("OPENBLAS_CORETYPE");
        std::printf("CPU: %s\nOpenBLAS: %s (OPENBLAS_THREAD_TIMEOUT=%s)\nOpenBLAS core: %s (OPENBLAS_CORETYPE=%s)\n"
                    "GFLOP/s = 2*M*N*K / %s time per call over %d alternating batches\n\n",
                    cpu_name, openblas_get_config(), std::getenv("OPENBLAS_THREAD_TIMEOUT"), openblas_get_corename(),
                    coretype != nullptr ? coretype : "unset", options.fastest ? "fastest" : "median",
                    options.batches);
        std::printf("%-18s %-5s %7s %10s %10s %7s %9s\n", "MxNxK", "trans", "threads", "Myelin", "OpenBLAS", "ratio",
                    "max|diff|");
    }
    for (int threads : options.threads) {
        check(mln_device_set_thread_count(device, threads), "mln_device_set_thread_count");
        openblas_set_num_threads(threads);
        for (const Shape& shape : shapes) {
            for (int t = 0; t < 4; ++t) {
                Operands ops(shape, (t & 2) != 0, (t & 1) != 0, rng);
                const auto [myelin_s, openblas_s] = interleave(
                    options.batches, options.fastest, [&] { ops.run_myelin(device, false, MLN_UNARY_OP_IDENTITY, false); },
                    [&] { ops.run_openblas(); });
                const double diff = ops.max_relative_difference();
                const bool agree = diff < 1e-5;
                all_agree = all_agree && agree;
                const double mine = gflops(shape, myelin_s);
                const double theirs = gflops(shape, openblas_s);
                char name[48];
                std::snprintf(name, sizeof name, "%lldx%lldx%lld", static_cast<long long>(shape.m),
                              static_cast<long long>(shape.n), static_cast<long long>(shape.k));
                if (options.json) {
                    std::printf("%s  {\"shape\": \"%s\", \"trans\": \"%s\", \"threads\": %d, \"myelin_gflops\": %.2f, "
                                "\"openblas_gflops\": %.2f, \"ratio\": %.3f, \"agree\": %s}",
                                first_json ? "" : ",\n", name, trans_name(ops.transpose_a, ops.transpose_b), threads,
                                mine, theirs, mine / theirs, agree ? "true" : "false");
                    first_json = false;
                } else {
                    std::printf("%-18s %-5s %7d %10.1f %10.1f %7.3f %9.1e%s\n", name,
                                trans_name(ops.transpose_a, ops.transpose_b), threads, mine, theirs, mine / theirs,
                                diff, agree ? "" : "  MISMATCH");
                }
                std::fflush(stdout);
            }
        }
    }

    // Epilogue cost: the same GEMM with fused epilogues, interleaved with the plain one.
    const std::vector<Shape> epilogue_shapes = {{512, 512, 512}, {128, 256, 784}, {784, 256, 128}};
    if (options.json) {
        std::printf("\n], \"epilogues\": [\n");
    } else {
        std::printf("\nFused epilogue cost (Myelin, NN): time of the fused call / time of the plain call\n");
        std::printf("%-18s %7s %10s %14s %14s\n", "MxNxK", "threads", "plain", "bias+relu", "bias+relu+res");
    }
    first_json = true;
    for (int threads : options.threads) {
        check(mln_device_set_thread_count(device, threads), "mln_device_set_thread_count");
        for (const Shape& shape : epilogue_shapes) {
            Operands ops(shape, false, false, rng);
            auto plain = [&] { ops.run_myelin(device, false, MLN_UNARY_OP_IDENTITY, false); };
            const auto [plain_s, bias_relu_s] =
                interleave(options.batches, options.fastest, plain, [&] { ops.run_myelin(device, true, MLN_UNARY_OP_RELU, false); });
            const auto [plain2_s, residual_s] =
                interleave(options.batches, options.fastest, plain, [&] { ops.run_myelin(device, true, MLN_UNARY_OP_RELU, true); });
            char name[48];
            std::snprintf(name, sizeof name, "%lldx%lldx%lld", static_cast<long long>(shape.m),
                          static_cast<long long>(shape.n), static_cast<long long>(shape.k));
            if (options.json) {
                std::printf("%s  {\"shape\": \"%s\", \"threads\": %d, \"plain_gflops\": %.2f, "
                            "\"bias_relu_cost\": %.4f, \"bias_relu_residual_cost\": %.4f}",
                            first_json ? "" : ",\n", name, threads, gflops(shape, plain_s), bias_relu_s / plain_s,
                            residual_s / plain2_s);
                first_json = false;
            } else {
                std::printf("%-18s %7d %10.1f %14.3f %14.3f\n", name, threads, gflops(shape, plain_s),
                            bias_relu_s / plain_s, residual_s / plain2_s);
            }
            std::fflush(stdout);
        }
    }
    if (options.json) std::printf("\n], \"all_agree\": %s}\n", all_agree ? "true" : "false");
    mln_device_destroy(device);
    if (!all_agree) {
        std::fprintf(stderr, "gemm_vs_openblas: results differ between Myelin and OpenBLAS\n");
        return 1;
    }
    return 0;
}
