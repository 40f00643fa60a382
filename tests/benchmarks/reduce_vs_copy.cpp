// Myelin's f32 sum reduction against a memcpy of the same input, side by side: the bandwidth a
// reduce reaches as a fraction of what the machine copies. Rows (a bias gradient: the sum of
// [N, H] over axis 0, which LSTM and dense backward passes run) and, for comparison, the
// contiguous innermost axis. The sides run in alternating timed batches in one process; each
// figure is the median per-call time. GB/s counts the bytes the reduce reads; the copy's counts
// the bytes it reads (its writes are extra traffic the reduce does not have, so a fraction near
// or above 1 means the reduce runs at the memory's pace). Swap the library under the program
// (LD_LIBRARY_PATH=<dir of another libmyelin.so>) to time two builds with one binary.
//
//   reduce_vs_copy [--batches N] [--threads N]
#include <myelin.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "peer_bench.hpp"

namespace {

constexpr double kBatchSeconds = 0.03;

void check(mln_status status, const char* what) {
    if (status != MLN_STATUS_OK) {
        std::fprintf(stderr, "reduce_vs_copy: %s: %s\n", what, mln_last_error());
        std::exit(1);
    }
}

struct Case {
    int64_t rows, columns;
    int32_t axis;
    const char* what;
};

}  // namespace

int main(int argc, char** argv) {
    int batches = 7;
    int32_t threads = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--batches") == 0 && i + 1 < argc) batches = std::atoi(argv[++i]);
        else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: reduce_vs_copy [--batches N] [--threads N]\n");
            return 2;
        }
    }
    mln_device* device = nullptr;
    check(mln_device_create(MLN_DEVICE_KIND_CPU, 0, &device), "device");
    if (threads > 0) check(mln_device_set_thread_count(device, threads), "set threads");
    check(mln_device_get_thread_count(device, &threads), "get threads");

    const Case cases[] = {
        {2048, 256, 0, "LSTM T*B x H bias grad"},
        {2048, 1024, 0, "LSTM T*B x 4H gates"},
        {32, 1024, 0, "batch 32 x 4H"},
        {128, 128, 0, "dense batch 128"},
        {8192, 768, 0, "8192 x 768"},
        {262144, 64, 0, "262144 x 64"},
        {4096, 4096, 0, "64 MiB"},
        {2048, 1024, 1, "rows (axis 1)"},
    };
    std::printf("f32 sum, %d thread(s); GB/s of the input read\n", threads);
    std::printf("%-24s %-14s %4s %10s %10s %10s %10s\n", "case", "shape", "axis", "reduce_ms", "reduce_GB/s", "copy_GB/s", "fraction");
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (const Case& c : cases) {
        const int64_t count = c.rows * c.columns;
        std::vector<float> x(static_cast<size_t>(count)), copy(static_cast<size_t>(count));
        for (float& v : x) v = dist(rng);
        std::vector<float> y(static_cast<size_t>(c.axis == 0 ? c.columns : c.rows));
        const mln_tensor_desc x_desc = peer_bench::contiguous(x.data(), MLN_DTYPE_F32, {c.rows, c.columns});
        const mln_tensor_desc y_desc = peer_bench::contiguous(y.data(), MLN_DTYPE_F32, {static_cast<int64_t>(y.size())});
        auto reduce = [&] { check(mln_reduce(device, MLN_REDUCE_OP_SUM, &x_desc, &c.axis, 1, 0, &y_desc), "reduce"); };
        auto copy_input = [&] { std::memcpy(copy.data(), x.data(), x.size() * sizeof(float)); };
        std::vector<double> reduce_times, copy_times;
        for (int b = 0; b < batches; ++b) {
            if (b % 2 == 0) {
                reduce_times.push_back(peer_bench::seconds_per_call(reduce, kBatchSeconds));
                copy_times.push_back(peer_bench::seconds_per_call(copy_input, kBatchSeconds));
            } else {
                copy_times.push_back(peer_bench::seconds_per_call(copy_input, kBatchSeconds));
                reduce_times.push_back(peer_bench::seconds_per_call(reduce, kBatchSeconds));
            }
        }
        const double bytes = static_cast<double>(count) * sizeof(float);
        const double reduce_s = peer_bench::median(reduce_times), copy_s = peer_bench::median(copy_times);
        char shape[32];
        std::snprintf(shape, sizeof(shape), "%lldx%lld", static_cast<long long>(c.rows), static_cast<long long>(c.columns));
        std::printf("%-24s %-14s %4d %10.4f %10.2f %10.2f %10.2f\n", c.what, shape, c.axis, reduce_s * 1e3, bytes / reduce_s * 1e-9,
                    bytes / copy_s * 1e-9, copy_s / reduce_s);
    }
    mln_device_destroy(device);
    return 0;
}
