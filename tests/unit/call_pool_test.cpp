// The step runner's call threads: every index of a round runs exactly once,
// at most `threads` at a time, and the threads serve the next round too.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "consumers/call_pool.hpp"

namespace hub::consumers {
namespace {

TEST(CallPool, RunsEveryIndexOnceWithBoundedConcurrencyRoundAfterRound) {
  CallPool pool(4);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::atomic<int>> runs(200);
    std::atomic<int> in_flight{0}, most{0};
    std::atomic<size_t> taken{0};
    pool.RunAll(runs.size(), [&](size_t i) {
      const int now = ++in_flight;
      for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      // Each call waits until the pool is full (or nothing is left to take),
      // so the bound is reached, not just respected.
      ++taken;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (in_flight.load() < 4 && taken.load() < runs.size() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
      ++runs[i];
      --in_flight;
    });
    for (const auto& r : runs) EXPECT_EQ(r.load(), 1);
    EXPECT_LE(most.load(), 4);
  }
  pool.RunAll(0, [](size_t) { FAIL(); });
}

}  // namespace
}  // namespace hub::consumers
