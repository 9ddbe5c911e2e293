#pragma once
// Time as the program reads it.  Everything below worker/ takes a Clock
// instead of calling std::chrono directly, so that backoffs, grace periods,
// timestamps and timers can be tested on a ManualClock without waiting.
// (Blocking waits -- a condition variable's deadline, a poll timeout -- still
// sleep in real time: they bound how long a thread waits, not what it decides.)
#include <atomic>
#include <chrono>
#include <cstdint>

namespace hub::common {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Wall-clock time, microseconds since the Unix epoch: timestamps that are
  // stored or sent.
  virtual int64_t NowUnixMicros() const = 0;
  // Monotonic time: intervals, deadlines, backoff.
  virtual SteadyTime Steady() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowUnixMicros() const override;
  SteadyTime Steady() const override { return std::chrono::steady_clock::now(); }
};

// Starts at the given times and moves only when told.  Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t unix_us = 1'700'000'000'000'000) : unix_us_(unix_us), steady_ns_(0) {}
  int64_t NowUnixMicros() const override { return unix_us_.load(); }
  SteadyTime Steady() const override { return SteadyTime(std::chrono::nanoseconds(steady_ns_.load())); }
  void Advance(std::chrono::nanoseconds d) {
    unix_us_ += std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    steady_ns_ += d.count();
  }

 private:
  std::atomic<int64_t> unix_us_;
  std::atomic<int64_t> steady_ns_;
};

}  // namespace hub::common
