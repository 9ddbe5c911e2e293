#pragma once
// hub::kafka::KafkaProducer — RAII over one librdkafka producer handle.
//
// Guarantees: idempotent (enable.idempotence=true, acks=all), so librdkafka's
// internal retries neither duplicate nor reorder messages within a partition.
// Gapless (enable.gapless.guarantee=true): a batch the broker rejects for good
// is a fatal error, so no later message of its partition is written ahead of
// it; the handle is then recreated.
// Tuned for low latency (linger.ms=0, no Nagle, one request in flight per
// broker — see the .cpp for the measurement) while allowing large batches
// (10,000 messages, 1,000,000 queued).  Keys are partitioned with murmur2 (the
// Java client's partitioner), so a key lands on the same partition whichever
// client wrote it.  Every default can be overridden with HUB_KAFKA_CONFIG
// except idempotence.
//
// Threads:
//   * The producer owns ONE poll thread.  It runs the librdkafka callbacks
//     (delivery reports, errors) and is the only thread that destroys and
//     recreates the handle after a fatal (idempotence) error.  Only in the
//     destructor, after that thread has been joined, does the destroying
//     thread serve the last delivery reports.
//   * ProduceBatch may be called from any number of threads at once; each call
//     blocks its caller until every message of its batch is resolved.  Calls
//     hold a shared lock on the handle, recreation an exclusive one.
//   * librdkafka's own threads log through common::Log.
//
// Errors are mapped where they enter (STYLE.md #4): a Delivery says ok, or
// failed with common::Retry::kTransient / kPermanent and a message.  Nobody
// outside this file looks at librdkafka error codes.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>
#include <atomic>

#include "common/error.hpp"
#include "kafka/config.hpp"

namespace RdKafka {
class Conf;
class Producer;
}

namespace hub::kafka {

// One message to produce.  Views: the caller keeps the bytes alive for the
// duration of the ProduceBatch call (librdkafka copies them).
struct ProducerMessage {
  std::string_view topic;
  std::string_view key;  // empty = null key
  std::string_view value;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

// The outcome of one message.
struct Delivery {
  bool ok = false;
  common::Retry retry = common::Retry::kTransient;  // meaningful when !ok
  // When !ok: the client refused this message by itself, before sending it
  // (larger than message.max.bytes): publishing it again can never succeed,
  // and no other message is affected.  Errors the broker reports are never
  // "rejected": they concern a whole batch (a batch over the topic's
  // max.message.bytes, an invalid record after an idempotence failure) and
  // its other messages would be wrongly given up.
  bool rejected = false;
  std::string error;                                // when !ok
  int32_t partition = -1;                           // when ok
  int64_t offset = -1;                              // when ok
};

struct ProducerOptions {
  std::string brokers;
  KafkaProperties extra;  // HUB_KAFKA_CONFIG; applied after our defaults
  std::string client_id = "hubworker";
  // 0: relay-side p50 at 1,000 events/s 9.8 -> 6.4 ms against 2 ms.  Safe now
  // that the producer is gapless.  linger.ms only decides how a round is split
  // into batches: with 0 a partition's first messages leave at once and the
  // rest follow in later batches, and it was a rejected EARLY batch that let
  // the later ones through (epoch bump + renumbering) ahead of it -- duplicates
  // and broken key order, not loss: the "lost" rows of the one failed run
  // were on the topic, the test's reader stopped at 401 messages.  2 ms only
  // made the split rarer (it still happened under CPU load).  Not covered by
  // the gapless guarantee: message.timeout.ms expiring for the head of a
  // partition while a later message of the same round is still sent.
  int linger_ms = 0;
  // How long librdkafka retries one message internally (broker down, leader
  // change) before reporting it failed.
  int message_timeout_ms = 30000;
};

// librdkafka error code -> whether producing again may succeed.
common::Retry ClassifyKafkaError(int rdkafka_error_code);

// A deadline that another thread may bring forward while a wait is under way
// (e.g. Stop() during a ProduceBatch).  Thread-safe.
class SharedDeadline {
 public:
  using Clock = std::chrono::steady_clock;
  void Set(Clock::time_point t) { ns_.store(t.time_since_epoch().count()); }
  Clock::time_point Get() const { return Clock::time_point(Clock::duration(ns_.load())); }

 private:
  std::atomic<Clock::rep> ns_{Clock::time_point::max().time_since_epoch().count()};
};

// Thrown by users of the producer when a delivery failed permanently (the
// broker will never take this message as it is: too large, not authorised).
class DeliveryFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class KafkaProducer {
 public:
  // Throws common::ConfigError for a bad HUB_KAFKA_CONFIG item, or an attempt
  // to switch off idempotence.
  explicit KafkaProducer(ProducerOptions options);
  // Flushes for up to 2 s, then fails what is left and stops the poll thread.
  // No ProduceBatch call may be running.
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Produces every message and blocks until each one is delivered or failed,
  // or `deadline` passes: result[i] belongs to messages[i].  A message still
  // unresolved at the deadline is reported failed (transient) although it may
  // yet be delivered — at-least-once, never at-most-once.
  // When `cut_off` is given, the wait also ends once it passes (checked
  // every 50 ms).
  std::vector<Delivery> ProduceBatch(const std::vector<ProducerMessage>& messages,
                                     std::chrono::steady_clock::time_point deadline,
                                     const SharedDeadline* cut_off = nullptr);
  // Same, with deadline = now + message timeout + a margin.
  std::vector<Delivery> ProduceBatch(const std::vector<ProducerMessage>& messages);

  // Fetches metadata for `topics` so that their first messages do not wait for
  // librdkafka's 1 s topic scan (measured: ~1 s added to the first produce to a
  // topic).  Best effort: returns false, after logging, if the broker did not
  // answer within `timeout`.  ProduceBatch does this by itself (at most 2 s)
  // for a topic it has not seen; calling it at start-up only moves the wait
  // there.  The topics are warmed again after a recreation.
  bool WarmUp(const std::vector<std::string>& topics, std::chrono::milliseconds timeout);

  // Messages handed to librdkafka and not yet resolved.
  int OutstandingMessages() const;
  // How many times the handle was recreated after a fatal error.
  uint64_t Recreations() const { return recreations_.load(); }
  const ProducerOptions& options() const { return options_; }
  // Raises a fatal error inside librdkafka, as a broken idempotence state
  // would (tests of the recreation path).
  void InjectFatalErrorForTesting();

  // Implementation details, public only for the callback adapters in the .cpp.
  struct Batch;
  struct Slot {
    Batch* batch;
    size_t index;
  };
  class Callbacks;

 private:
  void PollLoop();
  void WarmUpNewTopics(const std::vector<ProducerMessage>& messages, std::chrono::steady_clock::time_point deadline);
  void RecreateHandle();  // poll thread only; takes the exclusive lock
  // Fails what is still queued, gives requests on the wire `inflight_grace` to
  // be answered, fails the rest, serves the delivery reports and destroys.
  void DrainAndDestroyHandle(std::unique_ptr<RdKafka::Producer> handle, int timeout_ms,
                             std::chrono::milliseconds inflight_grace = std::chrono::milliseconds(0));

  const ProducerOptions options_;
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<RdKafka::Conf> conf_;  // kept to recreate the handle
  mutable std::shared_mutex handle_mu_;
  std::unique_ptr<RdKafka::Producer> handle_;  // guarded by handle_mu_
  std::atomic<bool> fatal_{false};             // set by the error callback
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> recreations_{0};
  std::mutex warm_mu_;
  std::vector<std::string> warm_topics_;  // guarded by warm_mu_; warmed again after recreation
  std::thread poll_thread_;
};

}  // namespace hub::kafka
