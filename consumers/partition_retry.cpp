#include "consumers/partition_retry.hpp"

#include <algorithm>
#include <cmath>

namespace hub::consumers {

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry, double jitter01) {
  double base = static_cast<double>(policy.base.count()) * std::pow(2.0, std::min(std::max(retry, 1) - 1, 20));
  base = std::min(base, static_cast<double>(policy.max_backoff.count()));
  const double scale = 0.5 + 0.5 * std::clamp(jitter01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(base * scale));
}

std::chrono::milliseconds PartitionRetry::OnFailure(const RetryPolicy& policy, int64_t offset, std::string error,
                                                    bool counts_attempt, Time now, double jitter01) {
  if (fail_offset_ != offset) {
    if (fail_offset_ < 0) failing_since_ = now;
    fail_offset_ = offset;
    attempts_ = 0;
    retries_ = 0;
  }
  ++retries_;
  if (counts_attempt) ++attempts_;
  last_error_ = std::move(error);
  give_up_ = attempts_ >= policy.max_attempts;
  paused_ = true;
  const auto delay = give_up_ ? std::chrono::milliseconds(0) : BackoffDelay(policy, retries_, jitter01);
  resume_at_ = now + delay;
  return delay;
}

void PartitionRetry::OnDone(int64_t done_through) {
  if (fail_offset_ >= 0 && done_through >= fail_offset_) {
    fail_offset_ = -1;
    attempts_ = 0;
    retries_ = 0;
    give_up_ = false;
  }
}

bool PartitionRetry::ResumeIfDue(Time now) {
  if (!paused_ || now < resume_at_) return false;
  paused_ = false;
  return true;
}

std::string PartitionRetry::TakeGiveUpReason(int64_t offset) {
  if (!give_up_ || offset != fail_offset_) return {};
  give_up_ = false;
  return "gave up after " + std::to_string(attempts_) + " attempts; last error: " + last_error_;
}

std::chrono::nanoseconds PartitionRetry::StuckFor(Time now) const {
  return fail_offset_ >= 0 ? now - failing_since_ : std::chrono::nanoseconds(0);
}

}  // namespace hub::consumers
