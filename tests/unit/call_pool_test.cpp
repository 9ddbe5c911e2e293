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
    pool.RunAll(runs.size(), [&](size_t i) {
      const int now = ++in_flight;
      for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
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
