#pragma once
// hub::outbox::OutboxRelay — publishes the rows of the `outbox` table to
// Kafka and deletes them once Kafka has them.  Runs in every `hubworker run`
// process; any number of relays may share one database.  In `run`, the lanes
// hand their committed rows to an OutboxPublisher, and the relay only takes
// rows older than RelayOptions::grace_ms (a worker killed after COMMIT, a
// failed delivery); without publishers (grace 0) it publishes everything.
//
// Delivery contract
//   Writers insert outbox rows in the same transaction as their effects (and,
//   without a publisher, NOTIFY hub_outbox before COMMIT).  A row is deleted only after its Kafka
//   delivery report says "delivered" (acks=all, idempotent producer): at least
//   once.  A crash, a lost connection or a Stop deadline between delivery and
//   DELETE means the row is published again (consumers dedupe by the event's
//   (source, id)).  Nothing is ever deleted unpublished.
//
// Shards and ownership
//   Rows carry shard = outbox::OutboxShard(kafka_key), 0..kOutboxShards-1.  A
//   relay owns a shard while its connection holds the session advisory lock
//   (kRelayLockClass, shard); only the owner reads, publishes and deletes that
//   shard's rows, so no row is published by two live relays at once and one
//   key's rows are published by one relay in id order.
//   * Every relay also holds the shared lock (kRelayLockClass, kOutboxShards)
//     as a membership mark; counting its holders in pg_locks gives the number
//     of live relays N, and each relay aims for ceil(shards / N) shards: it
//     takes free shards while below that (every round, so the shards of a dead
//     relay — whose locks died with its session — are picked up within a
//     round), and hands back its highest shards while above it, between rounds
//     (nothing of theirs is in flight then).
//   * If the connection breaks, every lock is gone with it: the relay forgets
//     all ownership, reconnects with backoff and competes for shards again.
//     Automatic reconnection inside libpqxx is switched off and the backend pid
//     is checked, so ownership is never assumed on a new session.
//
// One round
//   1. take free shards (one statement for all of them), 2. SELECT up to
//   `batch` of the oldest rows, shard after shard in (shard, id) key order,
//   ids bounded by CutoffId() (one statement), 3. produce
//   them all (key = kafka_key, value = payload, header content-type:
//   application/cloudevents+json plus the row's `headers`), 4. wait for every
//   delivery report, 5. DELETE the delivered (shard, id) pairs (one
//   statement) — per shard only the prefix before the first failed row: the
//   rest of that shard is published again after the failed row, so the last
//   copy of every event of a key comes after its predecessors.  (If Kafka
//   took a later event Y of the key while an earlier X failed — possible only
//   when deliveries fail, e.g. timeouts while a broker is down — the topic
//   holds Y, X, Y: consumers dedupe the second Y by identity.)
//   Failed rows stay and are retried next round after a backoff of 0.1–5 s
//   (counted in metrics.outbox_publish_errors).  A round that filled its batch is followed
//   at once by the next; otherwise the relay waits for NOTIFY hub_outbox, at
//   most poll_ms (fallback when a notification is lost).
//
// Known limits: a row Kafka rejects for good (too large, not authorised) is
// retried forever with backoff and holds back the rest of its shard; the log
// names its id and hub_outbox_oldest_age_seconds grows.  With the producer's
// gapless guarantee such a rejection is a fatal producer error: the producer
// is recreated and everything in flight with it fails and is retried.
//
// Measured (OutboxRelayTest.OneRelayThroughput: 100,000 rows of 400 bytes,
// durable PostgreSQL 15, librdkafka mock broker, 2 cores): 55,000–120,000
// rows/s, 27,000 at worst with a load average of 8 from other builds.
//
// Order caveat: ids are handed out at INSERT and become visible at COMMIT, so
// two concurrent transactions writing the same key could commit out of id
// order.  Writers of one key are serialised (one key -> one input partition ->
// one lane), which is what keeps per-key order end to end.
//
// Threads: after Start() the relay's own thread does everything with its own
// pqxx connection (one connection per thread).  Without Start(), PublishOnce()
// drives the relay on the caller's thread (tests); never both.  Stop() is
// called from the owner's thread.  Metrics are atomics.
#include <bitset>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "common/metrics.hpp"
#include "outbox/shard.hpp"
#include "common/clock.hpp"
#include "outbox/grace_cutoff.hpp"
#include "kafka/producer.hpp"


namespace hub::outbox {

struct RelayOptions {
  std::string database_url;
  int batch = 2000;    // rows per round
  int poll_ms = 500;   // wait for NOTIFY at most this long
  // outbox_pending / outbox_oldest_age_ms sampling period.  Every relay
  // samples the whole outbox; between autovacuums that reads the key's dead
  // entries too (75 ms per sample in a 1.2M-event run), and the alerts look at
  // ages of a minute and more, so every 5 s is plenty.
  int sample_ms = 5000;
  // Rows younger than this are left to the OutboxPublisher of the worker that
  // committed them (0: publish everything at once, e.g. without publishers).
  // Longer than a publisher's delivery wait (message timeout + margin), so the
  // two publish the same row only after a crash or a failed delivery.
  int grace_ms = 0;
  const common::Clock* clock = nullptr;  // required: the grace period is judged on it
};

class OutboxRelay {
 public:
  OutboxRelay(RelayOptions options, kafka::KafkaProducer& producer, common::Metrics& metrics);
  ~OutboxRelay();  // Stop(now) if still running
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  // Starts the relay thread; it connects (with backoff) by itself.
  void Start();
  // Publishes what is pending in the shards it owns until they are empty or
  // `deadline` passes, releases its locks, closes its connection and joins.
  void Stop(std::chrono::steady_clock::time_point deadline);

  // One round on the caller's thread (tests; not after Start()): connects if
  // needed, takes shards, publishes and deletes.  Returns the rows published.
  // Database failures propagate (ownership is dropped first if the connection
  // broke).
  size_t PublishOnce();

  // Shards currently owned (as last seen by the driving thread).
  int ShardsOwned() const { return shards_owned_.load(); }

 private:
  struct RoundResult {
    size_t selected = 0;
    size_t published = 0;
    size_t failed = 0;
    size_t quarantined = 0;
  };
  class Listener;

  void Run();
  void Connect();
  void Disconnect(bool release_locks);
  void HandleDbFailure(const std::exception& e);
  // Rows younger than grace_ms are left to the publisher that committed them.
  RoundResult Round(bool balance, int grace_ms);
  // The highest outbox id the relay may take now: everything for grace_ms 0,
  // else an id handed out at least grace_ms ago (0: none yet).
  int64_t CutoffId(pqxx::transaction_base& tx, int grace_ms);
  void Balance(bool force);
  void SampleIfDue(bool force);
  void WaitForWork(std::chrono::milliseconds timeout);
  void Nap(std::chrono::milliseconds d);  // interruptible by Stop
  // The owned shards as an array literal, starting the walk at shard `first`.
  pqxx::binarystring OwnedShardsArray(int first = 0) const;
  void SetOwned(int shard, bool owned);

  const RelayOptions options_;
  kafka::KafkaProducer& producer_;
  common::Metrics& metrics_;

  // Confined to the driving thread (the relay thread after Start()).
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<Listener> listener_;
  int backend_pid_ = 0;
  bool notified_ = false;
  std::bitset<outbox::kOutboxShards> owned_;
  int select_from_shard_ = 0;  // where the next round starts walking the owned shards
  // (when, last outbox id handed out), oldest first: see CutoffId().
  GraceCutoff grace_cutoff_;
  int target_shards_ = outbox::kOutboxShards;
  std::chrono::steady_clock::time_point next_balance_{};
  std::chrono::steady_clock::time_point next_sample_{};
  int first_shard_ = 0;  // where this relay starts looking for free shards

  std::atomic<int> shards_owned_{0};
  std::atomic<bool> stop_{false};
  kafka::SharedDeadline stop_deadline_;
  int wake_fd_ = -1;  // eventfd: Stop() wakes the relay thread
  std::thread thread_;
};

}  // namespace hub::outbox
