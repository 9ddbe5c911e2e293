// Backoff, give-up, stuck time and the relay's grace period, on a manual
// clock: decisions about time are tested without waiting for it.
#include <gtest/gtest.h>

#include <chrono>

#include "common/clock.hpp"
#include "consumers/partition_retry.hpp"
#include "outbox/grace_cutoff.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using consumers::BackoffDelay;
using consumers::PartitionRetry;
using consumers::RetryPolicy;

TEST(Backoff, DoublesFromTheBaseUpToTheCapWithEqualJitter) {
  const RetryPolicy p{5, 100ms, 30000ms};
  EXPECT_EQ(BackoffDelay(p, 1, 1.0), 100ms);
  EXPECT_EQ(BackoffDelay(p, 1, 0.0), 50ms);  // jitter keeps at least half
  EXPECT_EQ(BackoffDelay(p, 2, 1.0), 200ms);
  EXPECT_EQ(BackoffDelay(p, 5, 1.0), 1600ms);
  EXPECT_EQ(BackoffDelay(p, 9, 1.0), 25600ms);
  EXPECT_EQ(BackoffDelay(p, 10, 1.0), 30000ms);  // capped
  EXPECT_EQ(BackoffDelay(p, 1000, 1.0), 30000ms);
  EXPECT_EQ(BackoffDelay(p, 1000, 0.0), 15000ms);
}

TEST(PartitionRetry, ThePartitionResumesWhenItsBackoffHasPassedOnTheClock) {
  common::ManualClock clock;
  const RetryPolicy policy{5, 100ms, 30000ms};
  PartitionRetry r;
  EXPECT_EQ(r.OnFailure(policy, 7, "deadlock", true, clock.Steady(), 1.0), 100ms);
  EXPECT_TRUE(r.paused());
  EXPECT_TRUE(r.Isolate(7));
  EXPECT_FALSE(r.Isolate(8));
  clock.Advance(99ms);
  EXPECT_FALSE(r.ResumeIfDue(clock.Steady()));
  clock.Advance(1ms);
  EXPECT_TRUE(r.ResumeIfDue(clock.Steady()));
  EXPECT_FALSE(r.paused());
  // The same event fails again: the wait doubles.
  EXPECT_EQ(r.OnFailure(policy, 7, "deadlock", true, clock.Steady(), 1.0), 200ms);
  EXPECT_EQ(r.attempts(), 2);
}

TEST(PartitionRetry, TheLastAttemptIsFollowedByTheDeadLetterOnce) {
  common::ManualClock clock;
  const RetryPolicy policy{3, 100ms, 30000ms};
  PartitionRetry r;
  for (int i = 0; i < 2; ++i) {
    EXPECT_GT(r.OnFailure(policy, 4, "e" + std::to_string(i), true, clock.Steady(), 0.5), 0ms);
    EXPECT_EQ(r.TakeGiveUpReason(4), "");
  }
  EXPECT_EQ(r.OnFailure(policy, 4, "serialization failure", true, clock.Steady(), 0.5), 0ms);  // no wait
  EXPECT_EQ(r.TakeGiveUpReason(5), "");  // only for the event itself
  EXPECT_EQ(r.TakeGiveUpReason(4), "gave up after 3 attempts; last error: serialization failure");
  EXPECT_EQ(r.TakeGiveUpReason(4), "");  // once
  r.OnDone(4);
  EXPECT_EQ(r.fail_offset(), -1);
  EXPECT_FALSE(r.Isolate(4));
}

TEST(PartitionRetry, AnOutageNeverGivesTheEventUpButTheWaitStillGrows) {
  common::ManualClock clock;
  const RetryPolicy policy{2, 100ms, 1000ms};
  PartitionRetry r;
  std::chrono::milliseconds last{};
  for (int i = 0; i < 50; ++i) {
    last = r.OnFailure(policy, 9, "database unreachable", /*counts_attempt=*/false, clock.Steady(), 1.0);
    EXPECT_EQ(r.TakeGiveUpReason(9), "");
    clock.Advance(last);
    EXPECT_TRUE(r.ResumeIfDue(clock.Steady()));
  }
  EXPECT_EQ(last, 1000ms);
  EXPECT_EQ(r.attempts(), 0);
}

TEST(PartitionRetry, StuckTimeGrowsUntilThePartitionGetsPastTheEvent) {
  common::ManualClock clock;
  const RetryPolicy policy{5, 100ms, 30000ms};
  PartitionRetry r;
  EXPECT_EQ(r.StuckFor(clock.Steady()), 0ns);
  r.OnFailure(policy, 3, "dead letter not delivered", false, clock.Steady(), 1.0);
  clock.Advance(10min);
  r.OnFailure(policy, 3, "dead letter not delivered", false, clock.Steady(), 1.0);
  clock.Advance(5min);
  EXPECT_EQ(r.StuckFor(clock.Steady()), 15min);
  r.OnDone(2);  // not past it yet
  EXPECT_EQ(r.StuckFor(clock.Steady()), 15min);
  r.OnDone(3);
  EXPECT_EQ(r.StuckFor(clock.Steady()), 0ns);
}

TEST(GraceCutoff, RowsBelongToTheRelayOnceTheyAreOlderThanTheGrace) {
  common::ManualClock clock;
  outbox::GraceCutoff cutoff(100ms);
  const auto grace = 40000ms;
  // Samples of the last outbox id every 100 ms: id 10 * n at n * 100 ms.
  for (int n = 0; n <= 1000; ++n) {
    if (cutoff.WantsSample(clock.Steady())) cutoff.AddSample(clock.Steady(), 10 * n);
    if (n < 400) {
      EXPECT_EQ(cutoff.Cutoff(clock.Steady(), grace), 0) << n;  // nothing is 40 s old yet
    }
    clock.Advance(100ms);
  }
  // Now = 100.1 s: rows inserted by 60.1 s (the sample then: id 6010) are old enough.
  EXPECT_EQ(cutoff.Cutoff(clock.Steady(), grace), 6010);
  EXPECT_FALSE(cutoff.WantsSample(clock.Steady() - 50ms));
}

}  // namespace
}  // namespace hub
