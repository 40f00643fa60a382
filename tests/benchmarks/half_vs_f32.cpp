// Myelin on f16/bf16 storage (f32 compute: widen, f32 kernel, narrow) against Myelin on f32,
// same shapes, side by side: the price of the conversions. GEMM for several shapes, then
// unary exp and binary add on one large tensor. As in gemm_vs_openblas, the sides run in
// alternating timed batches in one process and each figure is the median per-call time.
// The last columns check the 16-bit results against the f32 one: max |difference| over
// max |f32 result| (the inputs' own rounding to 16 bits dominates it). A second table times
// the conversions themselves (mln_cast on contiguous tensors) at each ISA against the scalar
// twins.
//
//   half_vs_f32 [--batches N] [--threads N]
#include <myelin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "peer_bench.hpp"

namespace {

constexpr double kBatchSeconds = 0.03;

void check(mln_status status, const char* what) {
    if (status != MLN_STATUS_OK) {
        std::fprintf(stderr, "half_vs_f32: %s: %s\n", what, mln_last_error());
        std::exit(1);
    }
}

mln_tensor_desc tensor(void* data, mln_dtype dtype, const std::vector<int64_t>& shape) {
    return peer_bench::contiguous(data, dtype, shape);
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median per-call seconds of each side over `batches` alternating batches.
std::vector<double> time_sides(const std::vector<std::function<void()>>& sides, int batches) {
    std::vector<int> calls(sides.size());
    for (size_t s = 0; s < sides.size(); ++s) {
        sides[s]();
        const double start = now_seconds();
        sides[s]();
        calls[s] = std::max(1, static_cast<int>(kBatchSeconds / std::max(1e-9, now_seconds() - start)));
    }
    std::vector<std::vector<double>> samples(sides.size());
    for (int b = 0; b < batches; ++b) {
        for (size_t i = 0; i < sides.size(); ++i) {
            const size_t s = (b % 2 == 0) ? i : sides.size() - 1 - i;
            const double start = now_seconds();
            for (int c = 0; c < calls[s]; ++c) sides[s]();
            samples[s].push_back((now_seconds() - start) / calls[s]);
        }
    }
    std::vector<double> medians;
    for (auto& v : samples) {
        std::sort(v.begin(), v.end());
        medians.push_back(v[v.size() / 2]);
    }
    return medians;
}

// Random values as f32 and as the 16-bit copies (via mln_cast).
struct Operand {
    std::vector<float> f32;
    std::vector<uint16_t> f16, bf16;
};

Operand make_operand(mln_device* device, int64_t count, std::mt19937& rng) {
    Operand o;
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    o.f32.resize(static_cast<size_t>(count));
    for (float& v : o.f32) v = dist(rng);
    o.f16.resize(o.f32.size());
    o.bf16.resize(o.f32.size());
    const mln_tensor_desc src = tensor(o.f32.data(), MLN_DTYPE_F32, {count});
    mln_tensor_desc h = tensor(o.f16.data(), MLN_DTYPE_F16, {count});
    mln_tensor_desc b = tensor(o.bf16.data(), MLN_DTYPE_BF16, {count});
    check(mln_cast(device, &src, &h), "cast to f16");
    check(mln_cast(device, &src, &b), "cast to bf16");
    return o;
}

void* data_of(Operand& o, mln_dtype dtype) {
    if (dtype == MLN_DTYPE_F32) return o.f32.data();
    return dtype == MLN_DTYPE_F16 ? static_cast<void*>(o.f16.data()) : static_cast<void*>(o.bf16.data());
}

}  // namespace

int main(int argc, char** argv) {
    int batches = 9;
    int32_t requested_threads = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--batches") == 0 && i + 1 < argc) batches = std::atoi(argv[++i]);
        if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) requested_threads = std::atoi(argv[++i]);
    }
    mln_device* device = nullptr;
    check(mln_device_create(MLN_DEVICE_KIND_CPU, 0, &device), "device");
    check(mln_device_set_thread_count(device, requested_threads), "set threads");
    int32_t threads = 0;
    check(mln_device_get_thread_count(device, &threads), "threads");
    std::mt19937 rng(7);
    const mln_dtype dtypes[] = {MLN_DTYPE_F32, MLN_DTYPE_F16, MLN_DTYPE_BF16};
    std::printf("threads %d; per-call ms (median of %d alternating batches); ratio = 16-bit time / f32 time\n",
                threads, batches);
    std::printf("%-28s %10s %10s %10s %8s %8s %9s %9s\n", "op", "f32", "f16", "bf16", "f16/f32", "bf16/f32", "f16 err",
                "bf16 err");
    // Max |16-bit result - f32 result| / max |f32 result| over `count` elements of `o`.
    const auto relative_error = [&](Operand& o, mln_dtype dtype, int64_t count) {
        std::vector<float> widened(static_cast<size_t>(count));
        const mln_tensor_desc from = tensor(data_of(o, dtype), dtype, {count});
        mln_tensor_desc to = tensor(widened.data(), MLN_DTYPE_F32, {count});
        check(mln_cast(device, &from, &to), "cast back");
        double difference = 0.0, size = 0.0;
        for (int64_t i = 0; i < count; ++i) {
            difference = std::max(difference, std::fabs(static_cast<double>(widened[i]) - o.f32[i]));
            size = std::max(size, std::fabs(static_cast<double>(o.f32[i])));
        }
        return size > 0.0 ? difference / size : difference;
    };
    const int64_t shapes[][3] = {{128, 128, 128}, {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024},
                                 {64, 4096, 1024}, {2048, 256, 2048}};
    for (const auto& s : shapes) {
        const int64_t m = s[0], n = s[1], k = s[2];
        Operand a = make_operand(device, m * k, rng), b = make_operand(device, k * n, rng),
                c = make_operand(device, m * n, rng);
        std::vector<std::function<void()>> sides;
        for (mln_dtype dtype : dtypes) {
            sides.push_back([&, dtype] {
                const mln_tensor_desc da = tensor(data_of(a, dtype), dtype, {m, k});
                const mln_tensor_desc db = tensor(data_of(b, dtype), dtype, {k, n});
                const mln_tensor_desc dc = tensor(data_of(c, dtype), dtype, {m, n});
                check(mln_gemm(device, &da, 0, &db, 0, &dc, 1.0, 0.0, nullptr, MLN_UNARY_OP_IDENTITY, nullptr), "gemm");
            });
        }
        const std::vector<double> t = time_sides(sides, batches);
        const std::string name = "gemm " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
        std::printf("%-28s %10.3f %10.3f %10.3f %8.2f %8.2f %9.1e %9.1e\n", name.c_str(), t[0] * 1e3, t[1] * 1e3,
                    t[2] * 1e3, t[1] / t[0], t[2] / t[0], relative_error(c, MLN_DTYPE_F16, m * n),
                    relative_error(c, MLN_DTYPE_BF16, m * n));
    }
    const int64_t count = int64_t{1} << 22;
    Operand x = make_operand(device, count, rng), y = make_operand(device, count, rng),
            out = make_operand(device, count, rng);
    for (const bool unary : {true, false}) {
        std::vector<std::function<void()>> sides;
        for (mln_dtype dtype : dtypes) {
            sides.push_back([&, dtype] {
                const mln_tensor_desc dx = tensor(data_of(x, dtype), dtype, {count});
                const mln_tensor_desc dy = tensor(data_of(y, dtype), dtype, {count});
                const mln_tensor_desc dout = tensor(data_of(out, dtype), dtype, {count});
                if (unary) {
                    check(mln_unary(device, MLN_UNARY_OP_EXP, 0.0, 0.0, &dx, &dout), "exp");
                } else {
                    check(mln_binary(device, MLN_BINARY_OP_ADD, &dx, &dy, &dout), "add");
                }
            });
        }
        const std::vector<double> t = time_sides(sides, batches);
        const char* name = unary ? "exp 4M elements" : "add 4M elements";
        std::printf("%-28s %10.3f %10.3f %10.3f %8.2f %8.2f %9.1e %9.1e\n", name, t[0] * 1e3, t[1] * 1e3, t[2] * 1e3,
                    t[1] / t[0], t[2] / t[0], relative_error(out, MLN_DTYPE_F16, count), relative_error(out, MLN_DTYPE_BF16, count));
    }
    std::printf("\nmln_cast of 4M contiguous elements, per-call ms at each ISA; ratio = scalar time / ISA time\n");
    std::printf("%-28s %10s %10s %10s %8s %8s\n", "conversion", "scalar", "avx2", "avx512", "avx2 x", "avx512 x");
    mln_isa initial_isa = MLN_ISA_SCALAR;
    check(mln_cpu_get_isa(&initial_isa), "get isa");
    const mln_isa isas[] = {MLN_ISA_SCALAR, MLN_ISA_AVX2, MLN_ISA_AVX512};
    for (const mln_dtype dtype : {MLN_DTYPE_F16, MLN_DTYPE_BF16}) {
        for (const bool narrowing : {true, false}) {
            std::vector<std::function<void()>> sides;
            std::vector<bool> available;
            for (const mln_isa isa : isas) {
                available.push_back(mln_cpu_set_isa(isa) == MLN_STATUS_OK);
                sides.push_back([&, isa, dtype, narrowing] {
                    if (mln_cpu_set_isa(isa) != MLN_STATUS_OK) return;
                    const mln_tensor_desc wide = tensor(x.f32.data(), MLN_DTYPE_F32, {count});
                    const mln_tensor_desc half = tensor(data_of(x, dtype), dtype, {count});
                    check(narrowing ? mln_cast(device, &wide, &half) : mln_cast(device, &half, &wide), "cast");
                });
            }
            const std::vector<double> t = time_sides(sides, batches);
            const std::string name = std::string(narrowing ? "f32 -> " : "") + (dtype == MLN_DTYPE_F16 ? "f16" : "bf16") +
                                     (narrowing ? "" : " -> f32");
            std::printf("%-28s %10.3f", name.c_str(), t[0] * 1e3);
            for (size_t i = 1; i < 3; ++i) available[i] ? std::printf(" %10.3f", t[i] * 1e3) : std::printf(" %10s", "-");
            for (size_t i = 1; i < 3; ++i) available[i] ? std::printf(" %8.2f", t[0] / t[i]) : std::printf(" %8s", "-");
            std::printf("\n");
        }
    }
    check(mln_cpu_set_isa(initial_isa), "restore isa");
    mln_device_destroy(device);
    return 0;
}
