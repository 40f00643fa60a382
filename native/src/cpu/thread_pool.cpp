#include "cpu/thread_pool.hpp"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "cpu/topology.hpp"

namespace mln::cpu {
namespace {

// Set while this thread runs chunks of a region, so a nested parallel_for runs inline.
thread_local bool t_in_region = false;
// pool_thread_index(): set by each worker for its lifetime.
thread_local int32_t t_pool_index = 0;

// Chunks per thread: a few, so uneven chunk costs still balance.
constexpr int64_t kChunksPerThread = 4;

// How long an idle worker keeps polling for the next region before it sleeps. Kernels in a
// training step come back to back; a futex wake-up costs several microseconds, which is a
// large share of a small GEMM. It also covers a peer library's OpenMP region between calls:
// timed in conv_vs_onednn's order (batches of oneDNN calls between Myelin's, 2 threads, ResNet-18's
// batch-1 3x3/2 to 14x14), the worker took up 99% of the regions 0.4-0.9 us after they were
// published, as with Myelin alone; only a batch's first call found it asleep (15-600 us).
constexpr auto kWorkerSpin = std::chrono::microseconds(200);

// How long the calling thread, done with its chunks, polls for the workers to finish theirs
// before it sleeps: halves of a batch-1 layer end microseconds apart, and a sleeping caller
// costs a futex wake-up (tens of microseconds on a VM whose vCPU halted) on every call.
constexpr auto kCallerSpin = std::chrono::microseconds(100);

}  // namespace

void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
}

ThreadPool::ThreadPool(int32_t thread_count) { start_workers(std::clamp(thread_count, 1, kMaxThreads) - 1); }

ThreadPool::~ThreadPool() { stop_workers(); }

int32_t ThreadPool::thread_count() const {
    std::lock_guard lock(mutex_);
    return static_cast<int32_t>(workers_.size()) + 1;
}

void ThreadPool::set_thread_count(int32_t count) {
    std::lock_guard dispatch(dispatch_mutex_);
    stop_workers();
    start_workers(std::clamp(count, 1, kMaxThreads) - 1);
}

void ThreadPool::start_workers(int32_t worker_count) {
    std::vector<std::thread> workers;
    workers.reserve(static_cast<size_t>(worker_count));
    uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        stopping_ = false;
        generation = generation_;
    }
    // Each worker starts from the generation current now (no region can start meanwhile: the
    // caller holds dispatch_mutex_ or is the constructor), so a region that begins before the
    // thread first runs is still seen as new.
    for (int32_t i = 0; i < worker_count; ++i) {
        workers.emplace_back([this, i, generation] { worker_loop(i, generation); });
    }
    std::lock_guard lock(mutex_);
    workers_ = std::move(workers);
}

void ThreadPool::stop_workers() {
    std::vector<std::thread> workers;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        workers.swap(workers_);
    }
    wake_.notify_all();
    for (auto& worker : workers) worker.join();
}

int32_t pool_thread_index() { return t_pool_index; }

void ThreadPool::worker_loop(int32_t index, uint64_t seen) {
    t_pool_index = index + 1;
    for (;;) {
        const auto spin_until = std::chrono::steady_clock::now() + kWorkerSpin;
        for (int polls = 1; published_generation_.load(std::memory_order_acquire) == seen; ++polls) {
            cpu_relax();
            if (polls % 64 == 0 && std::chrono::steady_clock::now() >= spin_until) break;
        }
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            if (index >= engaged_workers_ || unstarted_workers_ == 0) continue;
            --unstarted_workers_;
        }
        run_chunks();
        std::lock_guard lock(mutex_);
        if (pending_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.notify_one();
    }
}

void ThreadPool::run_chunks() {
    t_in_region = true;
    for (;;) {
        const int64_t begin = next_begin_.fetch_add(chunk_, std::memory_order_relaxed);
        if (begin >= count_) break;
        try {
            (*body_)(begin, std::min(begin + chunk_, count_));
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!error_) error_ = std::current_exception();
            next_begin_.store(count_, std::memory_order_relaxed);  // stop handing out chunks
        }
    }
    t_in_region = false;
}

void ThreadPool::parallel_for(int64_t count, int64_t grain, RangeBody body) {
    if (count <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    if (count <= grain || t_in_region) {
        body(0, count);
        return;
    }
    std::unique_lock dispatch(dispatch_mutex_, std::try_to_lock);
    if (!dispatch.owns_lock() || workers_.empty()) {
        body(0, count);
        return;
    }
    const int64_t threads = static_cast<int64_t>(workers_.size()) + 1;
    const int64_t chunk = std::max(grain, (count + threads * kChunksPerThread - 1) / (threads * kChunksPerThread));
    const int64_t chunks = (count + chunk - 1) / chunk;
    if (chunks <= 1) {
        body(0, count);
        return;
    }
    std::exception_ptr error;
    {
        std::lock_guard lock(mutex_);
        body_ = &body;
        count_ = count;
        chunk_ = chunk;
        next_begin_.store(0, std::memory_order_relaxed);
        engaged_workers_ = static_cast<int32_t>(std::min<int64_t>(chunks - 1, threads - 1));
        unstarted_workers_ = engaged_workers_;
        pending_workers_.store(engaged_workers_, std::memory_order_relaxed);
        error_ = nullptr;
        ++generation_;
        published_generation_.store(generation_, std::memory_order_release);
    }
    wake_.notify_all();
    run_chunks();
    {
        // Every chunk is claimed: a worker that has not started would find none. Waiting for
        // it to be scheduled cost a loaded machine milliseconds a call (Zen 5 VM, 2 vCPUs, load
        // 10: 128x128x256 sgemm on 2 threads 31-35 GFLOP/s at best, 1 thread alone 220).
        std::lock_guard lock(mutex_);
        pending_workers_.fetch_sub(unstarted_workers_, std::memory_order_relaxed);
        unstarted_workers_ = 0;
    }
    const auto spin_until = std::chrono::steady_clock::now() + kCallerSpin;
    for (int polls = 1; pending_workers_.load(std::memory_order_acquire) != 0; ++polls) {
        cpu_relax();
        if (polls % 64 == 0 && std::chrono::steady_clock::now() >= spin_until) break;
    }
    {
        // The body lives on this stack frame: wait until no worker can still be calling it.
        std::unique_lock lock(mutex_);
        done_.wait(lock, [&] { return pending_workers_.load(std::memory_order_relaxed) == 0; });
        body_ = nullptr;
        error = error_;
        error_ = nullptr;
    }
    if (error) std::rethrow_exception(error);
}

ThreadPool& thread_pool() {
    // Never destroyed: joining threads from a static destructor deadlocks on Windows when the
    // DLL unloads under the loader lock; the OS reclaims the threads at exit.
    static ThreadPool* pool = new ThreadPool(physical_core_count());
    return *pool;
}

}  // namespace mln::cpu
