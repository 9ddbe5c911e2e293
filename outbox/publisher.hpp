#pragma once
// hub::outbox::OutboxPublisher — publishes the outbox rows of committed
// transactions straight from memory, then deletes them.
//
// Why: reading the rows back (NOTIFY, wake the relay, SELECT) put a database
// round trip and a relay round between COMMIT and the broker, and the SELECT
// cost PostgreSQL CPU on every event.  The lanes hand each committed batch
// here instead (BatchApplier's commit hook); the relay (OutboxRelay) only
// publishes rows older than its grace period: those of a worker that crashed
// after COMMIT, or whose delivery failed.
//
// Guarantees (unchanged from the relay's): a row is deleted only after the
// broker acknowledged its message, so every committed event is published at
// least once.  A row is published twice only if the worker dies between the
// acknowledgement and the DELETE, or the DELETE fails, or the delivery outlasts
// the relay's grace period.  Per key, messages are produced in commit order
// (a key's rows come from one lane, in order; the queue is FIFO; the producer
// is idempotent); a failed message is left to the relay and so may arrive
// after newer ones of its key.
//
// Memory is bounded: beyond `max_queued` messages, Submit blocks the lane
// until the publisher has taken a round (backpressure: the consumer then
// buffers in Kafka, bounded by HUB_MAX_INFLIGHT).
//
// Threads: Submit from any thread (the lanes); one publishing thread owns the
// database connection used for the DELETEs.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "common/metrics.hpp"
#include "kafka/producer.hpp"
#include "outbox/delivered_rows.hpp"
#include "outbox/rows.hpp"

namespace hub::outbox {

struct PublisherOptions {
  std::string database_url;
  size_t max_queued = 50000;   // messages waiting; beyond this Submit waits
  size_t max_per_round = 10000;  // messages produced together
  // Delivered rows are deleted in one statement once this many are waiting or
  // the oldest has waited delete_delay_ms: at low rates one DELETE per round
  // would cost the database about as much as the events' own writes.
  size_t delete_batch = 2000;
  int delete_delay_ms = 100;
};

class OutboxPublisher {
 public:
  OutboxPublisher(PublisherOptions options, kafka::KafkaProducer& producer, common::Metrics& metrics);
  ~OutboxPublisher();  // Stop(now) if still running
  OutboxPublisher(const OutboxPublisher&) = delete;
  OutboxPublisher& operator=(const OutboxPublisher&) = delete;

  void Start();
  // Takes the rows of one committed transaction, waiting while the queue is
  // full.  False when they were not taken (not started, or stopping): they
  // stay in the outbox for the relay.
  bool Submit(outbox::CommittedOutbox&& rows);
  // Publishes what is queued until it is empty or `deadline` passes (the rest
  // stays in the outbox for the relay), then joins the thread.
  void Stop(std::chrono::steady_clock::time_point deadline);

  // Waits until every batch submitted before the call has been produced and
  // its deliveries are known (delivered, or failed and left to the relay), or
  // `deadline` passes; true in the first case.  A partition being revoked
  // waits here, so that the events its lane committed reach Kafka before the
  // partition's next owner publishes newer ones of the same keys.
  bool WaitPublished(std::chrono::steady_clock::time_point deadline);

  // Messages queued and not yet taken by a round.
  size_t Queued() const;

 private:
  void Run();
  void Publish(std::vector<outbox::CommittedOutbox>& batches);
  // Deletes the delivered rows collected so far (all of them when `force`,
  // else only if enough are waiting or the oldest waited long enough).
  void DeleteDelivered(bool force);

  PublisherOptions options_;
  kafka::KafkaProducer& producer_;
  common::Metrics& metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;        // work for the publishing thread
  std::condition_variable space_cv_;  // room in the queue, for Submit
  std::deque<outbox::CommittedOutbox> queue_;
  size_t queued_messages_ = 0;
  bool stopping_ = false;
  bool started_ = false;
  uint64_t batches_submitted_ = 0;  // Submit() calls that queued a batch
  uint64_t batches_published_ = 0;  // of those, the ones whose round finished (FIFO)
  std::condition_variable published_cv_;
  kafka::SharedDeadline stop_deadline_;

  // Publishing thread only.
  std::unique_ptr<pqxx::connection> conn_;
  DeliveredRows delivered_;  // acknowledged, not yet deleted
  std::chrono::steady_clock::time_point first_delivered_{};
  std::thread thread_;
};

}  // namespace hub::outbox
