#pragma once
// Counting apart from exporting (STYLE.md #9): the pipeline bumps these plain
// atomics; worker/ turns them into Prometheus families at scrape time.  One
// instance per process, created by worker/ and passed by reference.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/partition_lag.hpp"

namespace hub::common {

// Event families (consumers::EventCatalogue) that per-type counters can hold.
inline constexpr int kMaxEventFamilies = 8;

// Fixed-bucket histogram that can be observed from many threads without a lock.
class AtomicHistogram {
 public:
  static constexpr int kBuckets = 14;
  // Upper bounds in seconds: 0.5 ms .. 10 s.
  static constexpr std::array<double, kBuckets> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,    0.25,  0.5,    1,     2.5,   5,    10};
  void Observe(double seconds);
  uint64_t bucket(int i) const { return buckets_[i].load(std::memory_order_relaxed); }  // non-cumulative
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6; }

 private:
  std::array<std::atomic<uint64_t>, kBuckets + 1> buckets_{};  // last = +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
};

struct Metrics {
  // Per event family, one label scheme: `type` is the catalogue's type of the
  // family index (set before any thread uses the metrics), so a family added
  // to the catalogue gets every per-type series (and its dashboard panels,
  // which repeat over `type`) without further work.
  std::vector<std::string> event_types;
  // hub_events_consumed_total{type}
  std::array<std::atomic<uint64_t>, kMaxEventFamilies> events_consumed{};
  // hub_events_processed_total{type} — applied (effects committed)
  std::array<std::atomic<uint64_t>, kMaxEventFamilies> events_processed{};
  // hub_events_failed_total{type} — applied, and the outcome its handler
  // recorded is a failure (e.g. a FAILED execution); part of processed
  std::array<std::atomic<uint64_t>, kMaxEventFamilies> events_failed{};
  // hub_event_processing_seconds{type} — from the start of an event's batch
  // to its commit (or dead letter)
  std::array<AtomicHistogram, kMaxEventFamilies> event_processing{};
  // hub_events_duplicate_total — identity seen before; nothing applied
  std::atomic<uint64_t> events_duplicate{0};
  // hub_events_deadlettered_total{type,class}: [family slot][class], where
  // the slot of an event whose type is not in the catalogue is
  // kUnknownFamilySlot (type="unknown": the label never carries input).
  static constexpr int kUnknownFamilySlot = kMaxEventFamilies;
  static constexpr int FamilySlot(int family) {
    return family >= 0 && family < kMaxEventFamilies ? family : kUnknownFamilySlot;
  }
  std::array<std::array<std::atomic<uint64_t>, 6>, kMaxEventFamilies + 1> events_deadlettered{};
  // Dead letters of one class, all families.
  uint64_t DeadLettered(ErrorClass c) const {
    uint64_t n = 0;
    for (const auto& per_class : events_deadlettered) n += per_class[static_cast<size_t>(c)].load();
    return n;
  }
  // hub_consumer_lag{topic,partition}: messages behind the high watermark per
  // assigned partition (consumers::ConsumeLoop and its sampler).
  PartitionLag consumer_lag;
  // hub_consumer_lag_seconds: age of the oldest event this worker has fetched
  // and not yet finished (its Kafka timestamp to now); 0 when none waits.
  std::atomic<int64_t> consumer_lag_age_ms{0};
  // hub_deadletters_value_omitted_total — dead letters sent without the event's
  // value (too large for the producer); the value stays at its source offset
  std::atomic<uint64_t> deadletters_value_omitted{0};
  // hub_retries_total — transient failures that led to a retry
  std::atomic<uint64_t> retries{0};
  // hub_batches_total, hub_batch_size (histogram of events per batch is kept as sum/count)
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> batch_events{0};
  AtomicHistogram batch_seconds;        // hub_batch_duration_seconds
  AtomicHistogram event_latency;        // hub_event_latency_seconds: event time -> commit
  std::atomic<int64_t> inflight{0};     // hub_inflight_events
  std::atomic<int64_t> partitions_assigned{0};  // hub_partitions_assigned
  std::atomic<int64_t> partitions_paused{0};    // hub_partitions_paused
  // hub_partition_stuck_seconds: how long the oldest partition has been held
  // at an event it cannot get past (failing, being retried, its dead letter
  // not delivered); 0 when every partition moves.
  std::atomic<int64_t> partition_stuck_ms{0};
  std::atomic<uint64_t> rebalances{0};
  // Durable steps (consumers/workflow_step_runner): executions resumed,
  // claims of steps whose earlier lease ran out, steps waiting and of them
  // due (sampled between rounds), and how late a step was resumed.
  std::atomic<uint64_t> steps_resumed{0};         // hub_steps_resumed_total
  std::atomic<uint64_t> step_leases_expired{0};   // hub_step_leases_expired_total
  std::atomic<int64_t> steps_waiting{0};          // hub_steps_waiting
  std::atomic<int64_t> steps_due{0};              // hub_steps_due
  AtomicHistogram step_timer_lag;                 // hub_step_timer_lag_seconds
  // hub_step_calls_total{outcome}: outside calls by outcome (response,
  // retryable, refused), the order of clients::HttpOutcome::Kind; a model
  // call counts as one too (the local provider's included).
  std::array<std::atomic<uint64_t>, 3> step_calls{};
  // By step type (kStepTypes: delay, http_request, ai_agent): hub_steps_started_total
  // (claimed), hub_steps_finished_total{outcome} (kStepOutcomes: completed,
  // failed, retried, cancelled), and hub_step_duration_seconds (claim to the
  // commit of its result).
  static constexpr const char* kStepTypes[3] = {"delay", "http_request", "ai_agent"};
  static constexpr const char* kStepOutcomes[4] = {"completed", "failed", "retried", "cancelled"};
  std::array<std::atomic<uint64_t>, 3> steps_started{};
  std::array<std::array<std::atomic<uint64_t>, 4>, 3> steps_finished{};
  AtomicHistogram step_duration;          // hub_rebalances_total
  // Outbox relay.
  std::atomic<uint64_t> outbox_published{0};     // hub_outbox_published_total
  std::atomic<uint64_t> outbox_publish_errors{0};  // hub_outbox_publish_errors_total
  std::atomic<uint64_t> outbox_quarantined{0};     // hub_outbox_quarantined_total
  std::atomic<int64_t> outbox_pending{0};        // hub_outbox_pending (sampled)
  std::atomic<int64_t> outbox_oldest_age_ms{0};  // hub_outbox_oldest_age_seconds (sampled)
  std::atomic<int64_t> relay_shards_owned{0};    // hub_relay_shards_owned
  // Health, set by the loops; read by /readyz and as gauges.
  std::atomic<bool> db_ok{false};      // hub_database_up
  std::atomic<bool> broker_ok{false};  // hub_broker_up
};

}  // namespace hub::common
