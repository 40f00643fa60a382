// The process-wide pool of worker threads that CPU kernels share.
//
// Concurrency policy: one parallel region runs at a time. A caller that finds the pool busy
// (another thread's region is running) or that is itself inside a region (a nested call) runs
// its whole range inline on its own thread. So two threads calling kernels at once never
// oversubscribe the cores and never wait on each other, and nesting cannot deadlock.
//
// Threads are persistent: workers sleep on a condition variable between regions. The calling
// thread takes part in its own region, so a pool of N threads has N-1 workers.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu/function_ref.hpp"

namespace mln::cpu {

// Receives a half-open index range [begin, end).
using RangeBody = FunctionRef<void(int64_t begin, int64_t end)>;

class ThreadPool {
public:
    static constexpr int32_t kMaxThreads = 1024;

    explicit ThreadPool(int32_t thread_count);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    // Threads that run a region, the caller included.
    int32_t thread_count() const;
    // 1..kMaxThreads. Waits for a running region to finish, then replaces the workers.
    void set_thread_count(int32_t count);

    // Calls body on disjoint chunks that cover [0, count) exactly once, each chunk at least
    // `grain` long except the last. Runs inline when the range is one chunk, the pool has one
    // thread, the pool is busy or the caller is inside a region. Rethrows the first exception
    // a chunk threw, after every started chunk has finished.
    void parallel_for(int64_t count, int64_t grain, RangeBody body);

private:
    void start_workers(int32_t worker_count);
    void stop_workers();
    void worker_loop(int32_t index, uint64_t seen_generation);
    void run_chunks();

    std::mutex dispatch_mutex_;  // held by the thread whose region runs
    mutable std::mutex mutex_;   // guards the fields below
    std::condition_variable wake_;
    std::condition_variable done_;
    std::vector<std::thread> workers_;  // replaced only while dispatch_mutex_ is held
    uint64_t generation_ = 0;
    bool stopping_ = false;

    // The region being run.
    const RangeBody* body_ = nullptr;
    // generation_ mirrored for workers that spin briefly before sleeping: a region that comes
    // soon after the last one starts without the latency of a wake-up.
    std::atomic<uint64_t> published_generation_{0};
    int64_t count_ = 0;
    int64_t chunk_ = 0;
    int32_t engaged_workers_ = 0;
    // Engaged workers that have not yet taken up the region. Once the caller has claimed the
    // last chunk it releases them (they would find no chunk), so it does not wait for a worker
    // that another process keeps off its core.
    int32_t unstarted_workers_ = 0;
    // Written under mutex_ (so done_'s waiter misses no wake-up); atomic so the caller can poll
    // it without the lock before it sleeps.
    std::atomic<int32_t> pending_workers_{0};
    std::exception_ptr error_;
    std::atomic<int64_t> next_begin_{0};
};

// The pool all CPU devices share; its default size is the physical core count.
ThreadPool& thread_pool();

// One step of a spin-wait on another thread (pause on x86, a yield elsewhere).
void cpu_relax();

inline void parallel_for(int64_t count, int64_t grain, RangeBody body) {
    thread_pool().parallel_for(count, grain, body);
}

// Runs task(index, state) for every index in [0, count) on at most `members` threads of the
// pool, which claim indices one at a time from a shared counter: a thread that starts late or
// shares its core takes fewer tasks instead of holding up the region. start() runs on each
// thread before its first claim (its workspace, say) and its result is every task's `state`.
template <class Start, class Task>
void for_each_claimed(int64_t count, int64_t members, Start&& start, Task&& task) {
    std::atomic<int64_t> next{0};
    parallel_for(std::min(members, count), 1, [&](int64_t begin, int64_t end) {
        auto&& state = start();
        for (int64_t member = begin; member < end; ++member) {
            for (int64_t index; (index = next.fetch_add(1, std::memory_order_relaxed)) < count;) task(index, state);
        }
    });
}

// for_each_claimed where each thread claims its next index before it runs the current one:
// task(index, next, state), next being the index the thread runs after this one (count where
// none), so that a task can prefetch its successor's inputs. A thread holds one claimed index
// ahead that the others cannot take.
template <class Start, class Task>
void for_each_claimed_ahead(int64_t count, int64_t members, Start&& start, Task&& task) {
    std::atomic<int64_t> next{0};
    parallel_for(std::min(members, count), 1, [&](int64_t begin, int64_t end) {
        auto&& state = start();
        for (int64_t member = begin; member < end; ++member) {
            for (int64_t index = next.fetch_add(1, std::memory_order_relaxed); index < count;) {
                const int64_t following = std::min(count, next.fetch_add(1, std::memory_order_relaxed));
                task(index, following, state);
                index = following;
            }
        }
    });
}

// This thread's place in the pool: 0 for a thread that calls parallel_for (it runs its own
// region's chunks), i + 1 for worker i.
int32_t pool_thread_index();

// for_each_claimed with each member first running its own contiguous share of [0, count) (the
// thread of pool index i takes share i % members), then taking the rest of the others' shares
// from their far ends. A layer called again and again gives each thread the same tasks every
// call, so the outputs it writes are lines already in its own cache: where the tasks are claimed
// in turn, about half of them are lines the other core holds dirty, and each such store waits
// for that core (Zen 5 VM, 2 vCPUs: 241 ns one way between them; rewriting 0.8 MB last written
// by the other core took 32 us, 12 us where this core wrote it). A thread that starts late or
// shares its core still takes fewer tasks. Shares pack into 32 bits: from 2^32 tasks (never a
// kernel's count) it claims in turn instead.
template <class Start, class Task>
void for_each_claimed_affine(int64_t count, int64_t members, Start&& start, Task&& task) {
    if (count >= (int64_t{1} << 32)) return for_each_claimed(count, members, start, task);
    members = std::min(members, count);
    if (members <= 0) return;
    // Share m: [begin, end) packed as end << 32 | begin, the owner taking begin, others end - 1.
    struct alignas(64) Share {
        std::atomic<uint64_t> range;
    };
    std::vector<Share> shares(static_cast<size_t>(members));
    for (int64_t m = 0; m < members; ++m) {
        const uint64_t begin = static_cast<uint64_t>(m * count / members), end = static_cast<uint64_t>((m + 1) * count / members);
        shares[static_cast<size_t>(m)].range.store(end << 32 | begin, std::memory_order_relaxed);
    }
    auto claim = [&](Share& share, bool front) -> int64_t {
        uint64_t range = share.range.load(std::memory_order_relaxed);
        for (;;) {
            const uint64_t begin = range & 0xFFFFFFFFu, end = range >> 32;
            if (begin >= end) return -1;
            const uint64_t claimed = front ? (end << 32 | (begin + 1)) : ((end - 1) << 32 | begin);
            if (share.range.compare_exchange_weak(range, claimed, std::memory_order_relaxed)) {
                return static_cast<int64_t>(front ? begin : end - 1);
            }
        }
    };
    parallel_for(members, 1, [&](int64_t begin, int64_t end) {
        if (begin >= end) return;
        auto&& state = start();
        const int64_t own = pool_thread_index() % members;
        for (int64_t index; (index = claim(shares[static_cast<size_t>(own)], true)) >= 0;) task(index, state);
        for (int64_t other = 1; other < members; ++other) {
            Share& share = shares[static_cast<size_t>((own + other) % members)];
            for (int64_t index; (index = claim(share, false)) >= 0;) task(index, state);
        }
    });
}

// for_each_claimed for tasks without per-thread state: task(index).
template <class Task>
void for_each_claimed(int64_t count, int64_t members, Task&& task) {
    for_each_claimed(count, members, [] { return 0; }, [&](int64_t index, int) { task(index); });
}

// for_each_claimed_affine for tasks without per-thread state: task(index).
template <class Task>
void for_each_claimed_affine(int64_t count, int64_t members, Task&& task) {
    for_each_claimed_affine(count, members, [] { return 0; }, [&](int64_t index, int) { task(index); });
}

}  // namespace mln::cpu
