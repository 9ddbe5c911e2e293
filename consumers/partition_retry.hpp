#pragma once
// The retry state of one partition: which event it is stuck at, how often that
// event failed, when the partition may resume, and whether the next delivery
// of the event is to be dead-lettered instead of applied.  Pure bookkeeping on
// an injected time, so backoff and give-up are unit-tested on a ManualClock;
// the consume loop does the pausing and seeking it decides.
#include <chrono>
#include <cstdint>
#include <string>

#include "common/clock.hpp"

namespace hub::consumers {

struct RetryPolicy {
  int max_attempts = 5;                                   // failures charged to one event before its dead letter
  std::chrono::milliseconds base{100};                    // first backoff
  std::chrono::milliseconds max_backoff{30000};           // cap of the doubling
};

// Exponential backoff with "equal jitter": base * 2^(retry-1), capped, then
// scaled by `jitter01` mapped to [0.5, 1.0].  retry >= 1.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry, double jitter01);

class PartitionRetry {
 public:
  using Time = common::Clock::SteadyTime;

  // A failure at `offset` (the first event not finished).  `counts_attempt`:
  // the failure is the event's (false for an outage).  Returns how long the
  // partition waits before it is fetched again (zero when the event is given up).
  std::chrono::milliseconds OnFailure(const RetryPolicy& policy, int64_t offset, std::string error,
                                      bool counts_attempt, Time now, double jitter01);
  // Every offset <= done_through finished: a retry sequence behind it ends.
  void OnDone(int64_t done_through);

  bool paused() const { return paused_; }
  // Whether the partition's backoff has passed; then it is no longer paused.
  bool ResumeIfDue(Time now);
  // The event being retried is applied on its own.
  bool Isolate(int64_t offset) const { return fail_offset_ >= 0 && offset == fail_offset_; }
  // For the event being retried after its last attempt: the dead-letter
  // reason (once); "" otherwise.
  std::string TakeGiveUpReason(int64_t offset);
  // How long the partition has not got past one event (zero when it moves).
  std::chrono::nanoseconds StuckFor(Time now) const;

  int64_t fail_offset() const { return fail_offset_; }
  int attempts() const { return attempts_; }
  int retries() const { return retries_; }

 private:
  int64_t fail_offset_ = -1;  // offset of the current retry sequence
  Time failing_since_{};      // start of that sequence
  int attempts_ = 0;          // failures charged to the event at fail_offset_
  int retries_ = 0;           // all retries at fail_offset_ (backoff exponent), outages included
  std::string last_error_;
  bool paused_ = false;
  Time resume_at_{};
  bool give_up_ = false;
};

}  // namespace hub::consumers
