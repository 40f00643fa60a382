#include "cpu/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace mln::test {
namespace {

// Runs parallel_for and checks that every index was visited exactly once.
void expect_exact_cover(cpu::ThreadPool& pool, int64_t count, int64_t grain) {
    std::vector<std::atomic<int>> visits(static_cast<size_t>(count));
    pool.parallel_for(count, grain, [&](int64_t begin, int64_t end) {
        ASSERT_LE(0, begin);
        ASSERT_LT(begin, end);
        ASSERT_LE(end, count);
        for (int64_t i = begin; i < end; ++i) visits[static_cast<size_t>(i)].fetch_add(1);
    });
    for (int64_t i = 0; i < count; ++i) ASSERT_EQ(visits[static_cast<size_t>(i)].load(), 1) << "index " << i;
}

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
    cpu::ThreadPool pool(4);
    for (int64_t count : {0, 1, 2, 7, 64, 1000, 100003}) {
        for (int64_t grain : {1, 3, 64, 5000}) expect_exact_cover(pool, count, grain);
    }
}

// for_each_claimed_ahead runs every index once, and the `next` each task is given is the index
// its thread runs after it (count after its last), always later than its own.
TEST(ThreadPool, ClaimedAheadTasksKnowTheirThreadsNextIndex) {
    for (int64_t count : {0, 1, 2, 7, 100}) {
        for (int64_t members : {1, 2, 3}) {
            std::mutex mutex;
            std::vector<std::vector<std::pair<int64_t, int64_t>>> runs;  // per thread: (index, next)
            cpu::for_each_claimed_ahead(
                count, members,
                [&] {
                    std::lock_guard lock(mutex);
                    runs.emplace_back();
                    return runs.size() - 1;
                },
                [&](int64_t index, int64_t next, size_t thread) {
                    std::lock_guard lock(mutex);
                    runs[thread].emplace_back(index, next);
                });
            std::vector<int> visits(static_cast<size_t>(count));
            for (const auto& run : runs) {
                for (size_t i = 0; i < run.size(); ++i) {
                    ASSERT_LT(run[i].first, run[i].second) << "count " << count;
                    ++visits[static_cast<size_t>(run[i].first)];
                    EXPECT_EQ(run[i].second, i + 1 < run.size() ? run[i + 1].first : count) << "count " << count;
                }
            }
            for (int64_t i = 0; i < count; ++i) EXPECT_EQ(visits[static_cast<size_t>(i)], 1) << "index " << i;
        }
    }
}

// for_each_claimed_affine runs every index once; the indices a thread runs from its own share
// (share pool_thread_index() % members of equal contiguous ones) are that share's first ones, in
// order: others take from a share's far end only.
TEST(ThreadPool, AffineClaimsRunEachThreadsShareFromItsStart) {
    for (int64_t count : {0, 1, 2, 7, 100, 1001}) {
        for (int64_t members : {1, 2, 3, 8}) {
            std::mutex mutex;
            std::vector<std::pair<int32_t, std::vector<int64_t>>> runs;  // per thread: (pool index, indices)
            cpu::for_each_claimed_affine(
                count, members,
                [&] {
                    std::lock_guard lock(mutex);
                    runs.emplace_back(cpu::pool_thread_index(), std::vector<int64_t>{});
                    return runs.size() - 1;
                },
                [&](int64_t index, size_t thread) {
                    std::lock_guard lock(mutex);
                    runs[thread].second.push_back(index);
                });
            std::vector<int> visits(static_cast<size_t>(count));
            const int64_t shares = std::min(members, count);
            for (const auto& [pool_index, indices] : runs) {
                const int64_t own = pool_index % std::max<int64_t>(shares, 1);
                const int64_t begin = own * count / std::max<int64_t>(shares, 1);
                const int64_t end = (own + 1) * count / std::max<int64_t>(shares, 1);
                int64_t expected = begin;
                for (int64_t index : indices) {
                    ASSERT_LE(0, index);
                    ASSERT_LT(index, count);
                    ++visits[static_cast<size_t>(index)];
                    if (index >= begin && index < end) {
                        EXPECT_EQ(index, expected++) << "count " << count;
                    }
                }
            }
            for (int64_t i = 0; i < count; ++i) EXPECT_EQ(visits[static_cast<size_t>(i)], 1) << "index " << i;
        }
    }
}

TEST(ThreadPool, UsesSeveralThreads) {
    cpu::ThreadPool pool(4);
    std::mutex mutex;
    std::set<std::thread::id> ids;
    for (int round = 0; round < 50 && ids.size() < 2; ++round) {
        pool.parallel_for(64, 1, [&](int64_t, int64_t) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
            std::lock_guard lock(mutex);
            ids.insert(std::this_thread::get_id());
        });
    }
    EXPECT_GE(ids.size(), 2u);
}

TEST(ThreadPool, SmallWorkRunsInline) {
    cpu::ThreadPool pool(4);
    std::thread::id seen;
    pool.parallel_for(10, 100, [&](int64_t begin, int64_t end) {
        EXPECT_EQ(begin, 0);
        EXPECT_EQ(end, 10);
        seen = std::this_thread::get_id();
    });
    EXPECT_EQ(seen, std::this_thread::get_id());
}

TEST(ThreadPool, ThreadCountCanChange) {
    cpu::ThreadPool pool(3);
    EXPECT_EQ(pool.thread_count(), 3);
    pool.set_thread_count(1);
    EXPECT_EQ(pool.thread_count(), 1);
    expect_exact_cover(pool, 5000, 10);
    pool.set_thread_count(6);
    EXPECT_EQ(pool.thread_count(), 6);
    expect_exact_cover(pool, 5000, 10);
}

TEST(ThreadPool, ConcurrentCallersAndNestingAreCorrect) {
    cpu::ThreadPool pool(4);
    std::vector<std::thread> callers;
    std::atomic<int64_t> total{0};
    for (int t = 0; t < 4; ++t) {
        callers.emplace_back([&] {
            for (int round = 0; round < 20; ++round) {
                pool.parallel_for(100, 1, [&](int64_t begin, int64_t end) {
                    for (int64_t i = begin; i < end; ++i) {
                        // Nested regions run inline on the calling thread.
                        pool.parallel_for(10, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
                    }
                });
            }
        });
    }
    for (auto& caller : callers) caller.join();
    EXPECT_EQ(total.load(), 4 * 20 * 100 * 10);
}

TEST(ThreadPool, RethrowsTheFirstException) {
    cpu::ThreadPool pool(4);
    EXPECT_THROW(pool.parallel_for(1000, 1,
                                   [&](int64_t begin, int64_t) {
                                       if (begin >= 500) throw std::runtime_error("chunk failed");
                                   }),
                 std::runtime_error);
    expect_exact_cover(pool, 1000, 1);  // still usable
}

}  // namespace
}  // namespace mln::test
