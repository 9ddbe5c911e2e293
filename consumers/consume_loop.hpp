#pragma once
// The consume loop: the one thread that owns the KafkaConsumer.
//
// Delivery contract: a message's offset is stored (enable.auto.offset.store =
// false) only after the lane reports its event finished — effects committed
// in PostgreSQL, or dead-lettered — and librdkafka's auto-commit then commits
// stored offsets.  A crash before that means redelivery; BatchApplier makes
// redelivery harmless.
//
// Also owned here: cooperative-sticky rebalances (revoked partitions are
// finished and committed before they are given up), retries of transient
// failures per partition (pause, seek back, resume after an exponential
// backoff with jitter; dead letter after the last attempt), backpressure
// (partitions paused while too many events are in flight), the graceful
// stop (stop fetching, finish in flight, commit, leave the group), and the
// lag of the partitions it owns: which they are and how far each is
// processed (hub_consumer_lag, with the watermarks of its LagSampler), and
// the age of the oldest fetched, unfinished event (hub_consumer_lag_seconds).
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <librdkafka/rdkafkacpp.h>

#include "common/metrics.hpp"
#include "common/clock.hpp"
#include "consumers/lag_sampler.hpp"
#include "consumers/lane.hpp"
#include "consumers/partition_retry.hpp"

namespace hub::consumers {

struct ConsumeOptions {
  std::string brokers;
  std::vector<std::pair<std::string, std::string>> kafka_config;
  std::string group = "hub-worker";
  std::string topic_prefix = "hub.";
  const EventCatalogue* catalogue = nullptr;  // required: its consumed types are the subscriptions
  HandlerDeps deps;                           // the lanes' handlers are built with these
  std::string database_url;
  int lanes = 2;
  int batch_max = 2000;
  int batch_linger_us = 0;
  int max_inflight = 20000;
  int fetch_wait_ms = 10;
  int session_timeout_ms = 10000;
  int retry_max_attempts = 10;
  int retry_base_ms = 100;
  int retry_max_backoff_ms = 30000;
  int lag_interval_ms = 5000;  // how often the high watermarks are sampled (hub_consumer_lag)
  const common::Clock* clock = nullptr;  // required: backoff and stuck time are read from it (and handlers' time)
  // Outbox rows of each committed batch, to publish from memory (called on the
  // lane threads).  Null: the relays find them (NOTIFY).
  OutboxCommitted on_outbox_committed;
  // Called when partitions are revoked, after the lanes finished their
  // batches and before the offsets are committed: lets the outbox publisher
  // get those batches' events out before the partitions' next owner
  // publishes newer ones of the same keys.
  std::function<void()> on_revoke;
};

class ConsumeLoop : public RdKafka::RebalanceCb, public RdKafka::EventCb {
 public:
  ConsumeLoop(ConsumeOptions opts, const SchemaRegistry& schemas, producers::DeadLetterSink& dead_letters,
              common::Metrics& metrics);
  ~ConsumeLoop() override;

  // Runs until RequestStop(); then drains until `drain_deadline` (set by
  // RequestStop) and leaves the group.  Returns true when everything in flight
  // finished before the deadline.
  bool Run();
  // Thread-safe; `drain_for` bounds the graceful part of the stop.
  void RequestStop(std::chrono::milliseconds drain_for);

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override;
  void event_cb(RdKafka::Event& event) override;

 private:
  struct Partition {
    std::shared_ptr<SharedPartition> shared;
    int64_t next_offset = -1;     // lowest offset that may be dispatched (guards against stale pre-seek messages)
    int64_t stored_through = -1;  // highest offset whose offset is stored
    PartitionRetry retry;
    // Fetched events not finished yet, oldest first: (offset, Kafka timestamp
    // in ms, -1 if none).  Kept across rewinds (a refetched event is not
    // added twice); the front is the partition's oldest unprocessed event
    // whenever anything after the processed position has been fetched
    // (hub_consumer_lag_seconds).  At most what is in flight.
    std::deque<std::pair<int64_t, int64_t>> unfinished;
  };
  using Key = std::pair<std::string, int32_t>;

  void Dispatch(std::unique_ptr<RdKafka::Message> msg);
  void FlushStaged();
  void HandleCompletions();
  void ApplyCompletion(Completion& c);
  void ResumeDueRetries();
  void UpdateBackpressure();
  void UpdateLagAge();
  void StoreOffsets(const std::vector<Key>& keys);
  Lane& LaneFor(const Key& k);

  ConsumeOptions opts_;
  RetryPolicy retry_policy_;
  const common::Clock& clock_;
  common::Metrics& metrics_;
  CompletionQueue completions_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::vector<std::vector<LaneMessage>> staged_;  // per lane, flushed after each poll burst
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<LagSampler> lag_sampler_;  // stopped before consumer_ is closed
  std::map<Key, Partition> parts_;
  int64_t inflight_ = 0;
  bool bp_paused_ = false;
  // Over max_inflight: consumption is held (consume() not called), which
  // keeps what librdkafka has prefetched; only a hold longer than
  // kHoldBeforePause pauses the partitions (see UpdateBackpressure).
  bool holding_ = false;
  std::chrono::steady_clock::time_point held_since_{};
  bool closed_ = false;  // close() done (it left the group)
  bool ever_assigned_ = false;  // a rebalance gave this consumer an assignment (maybe empty)
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> drain_ms_{30000};
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace hub::consumers
