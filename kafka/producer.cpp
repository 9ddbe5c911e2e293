#include "kafka/producer.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>

#include "common/log.hpp"

namespace hub::kafka {

namespace {

constexpr std::chrono::milliseconds kDeadlineMargin{5000};
constexpr int kPollMs = 100;
constexpr std::chrono::milliseconds kCutOffCheck{50};
constexpr std::chrono::milliseconds kWarmUpMax{2000};
constexpr std::chrono::milliseconds kRecreateWait{5000};
constexpr std::chrono::milliseconds kInFlightGrace{2000};

}  // namespace

common::Retry ClassifyKafkaError(int code) {
  switch (static_cast<RdKafka::ErrorCode>(code)) {
    // The broker will refuse this message, or this client, however often we ask.
    case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
    case RdKafka::ERR_INVALID_MSG:
    case RdKafka::ERR_INVALID_RECORD:
    case RdKafka::ERR_RECORD_LIST_TOO_LARGE:
    case RdKafka::ERR_TOPIC_EXCEPTION:
    case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
    case RdKafka::ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RdKafka::ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RdKafka::ERR_SASL_AUTHENTICATION_FAILED:
    case RdKafka::ERR__AUTHENTICATION:
    case RdKafka::ERR_INVALID_REQUIRED_ACKS:
    case RdKafka::ERR_UNSUPPORTED_VERSION:
    case RdKafka::ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RdKafka::ERR_UNSUPPORTED_COMPRESSION_TYPE:
    case RdKafka::ERR__INVALID_ARG:
    case RdKafka::ERR__NOT_IMPLEMENTED:
      return common::Retry::kPermanent;
    // Timeouts, transport, leader changes, purges after a fatal error (the
    // handle is recreated), unknown topic (may be created): try again.
    default:
      return common::Retry::kTransient;
  }
}

// Slots of one ProduceBatch call.  Freed when the waiter and every message
// handed to librdkafka have let go of it (a message may outlive the waiter when
// the deadline passes first).
struct KafkaProducer::Batch {
  explicit Batch(size_t n) : results(n), done(n, 0), slots(n), pending(n) {
    for (size_t i = 0; i < n; ++i) slots[i] = Slot{this, i};
  }

  void Resolve(size_t i, Delivery d) {
    std::lock_guard<std::mutex> lk(mu);
    if (done[i]) return;
    results[i] = std::move(d);
    done[i] = 1;
    if (--pending == 0) cv.notify_all();
  }

  static void Release(Batch* b) {
    if (b->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete b;
  }

  std::mutex mu;
  std::condition_variable cv;
  std::vector<Delivery> results;  // guarded by mu
  std::vector<char> done;         // guarded by mu
  std::vector<Slot> slots;        // msg_opaque of message i is &slots[i]
  size_t pending;                 // guarded by mu
  std::atomic<size_t> refs{1};    // the waiter + messages inside librdkafka
};

// librdkafka callbacks.  Delivery reports and error events run on the poll
// thread (inside poll()); log events may come from librdkafka's threads.
class KafkaProducer::Callbacks : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
 public:
  explicit Callbacks(std::atomic<bool>& fatal) : fatal_(fatal) {}

  void dr_cb(RdKafka::Message& m) override {
    auto* slot = static_cast<Slot*>(m.msg_opaque());
    if (slot == nullptr) return;
    Delivery d;
    if (m.err() == RdKafka::ERR_NO_ERROR) {
      d.ok = true;
      d.partition = m.partition();
      d.offset = m.offset();
    } else {
      d.retry = ClassifyKafkaError(m.err());
      d.error = RdKafka::err2str(m.err());
    }
    Batch* batch = slot->batch;
    batch->Resolve(slot->index, std::move(d));
    Batch::Release(batch);
  }

  void event_cb(RdKafka::Event& e) override {
    switch (e.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (e.fatal()) {
          common::LogError("kafka producer fatal error", {{"error", RdKafka::err2str(e.err())}, {"detail", e.str()}});
          fatal_.store(true);
        } else {
          // Mostly transient (broker down, all brokers down); librdkafka retries.
          common::LogWarn("kafka producer error", {{"error", RdKafka::err2str(e.err())}, {"detail", e.str()}});
        }
        break;
      case RdKafka::Event::EVENT_LOG:
        LogKafkaEvent(e);
        break;
      default:
        break;
    }
  }

 private:
  std::atomic<bool>& fatal_;
};

KafkaProducer::KafkaProducer(ProducerOptions options)
    : options_(std::move(options)), callbacks_(std::make_unique<Callbacks>(fatal_)) {
  conf_ = MakeKafkaConf(options_.brokers, {});
  SetKafkaProperty(*conf_, "client.id", options_.client_id);
  SetKafkaProperty(*conf_, "enable.idempotence", "true");
  // Without it, a batch the broker rejects for good (INVALID_RECORD, ...) is
  // failed while librdkafka bumps the epoch, renumbers and SENDS the
  // partition's later batches: they are written ahead of the failed messages,
  // which their owner can only publish again after them (per-key order broken,
  // successors duplicated).  With it, such an error is fatal instead: nothing
  // more is sent, the poll thread recreates the handle, every message still
  // outstanding fails (transient) and is produced again in order.
  // (Message timeouts are not covered: see linger_ms in the header.)
  SetKafkaProperty(*conf_, "enable.gapless.guarantee", "true");
  SetKafkaProperty(*conf_, "acks", "all");
  SetKafkaProperty(*conf_, "linger.ms", std::to_string(options_.linger_ms));
  SetKafkaProperty(*conf_, "message.timeout.ms", std::to_string(options_.message_timeout_ms));
  SetKafkaProperty(*conf_, "batch.num.messages", "10000");
  SetKafkaProperty(*conf_, "queue.buffering.max.messages", "1000000");
  SetKafkaProperty(*conf_, "partitioner", "murmur2_random");
  SetKafkaProperty(*conf_, "socket.nagle.disable", "true");
  // One request in flight per broker.  Callers produce a batch and wait for
  // all of it, so a round is normally one request per broker anyway; with more
  // in flight, a broker that does not set TCP_NODELAY (the embedded mock
  // broker) sends pipelined responses into Nagle + delayed ACK: ~45 ms stalls
  // instead of ~4 ms rounds (measured).  Raise it with HUB_KAFKA_CONFIG on
  // high-latency links to a real cluster; idempotence keeps order up to 5.
  SetKafkaProperty(*conf_, "max.in.flight.requests.per.connection", "1");
  ApplyKafkaConfig(*conf_, options_.extra);
  std::string value;
  if (conf_->get("enable.idempotence", value) != RdKafka::Conf::CONF_OK || value != "true") {
    throw common::ConfigError(
        "HUB_KAFKA_CONFIG: enable.idempotence must stay true (the outbox relay relies on it for per-key order)");
  }
  if (conf_->get("enable.gapless.guarantee", value) != RdKafka::Conf::CONF_OK || value != "true") {
    throw common::ConfigError(
        "HUB_KAFKA_CONFIG: enable.gapless.guarantee must stay true (the outbox relay relies on it for per-key order)");
  }
  std::string err;
  if (conf_->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(callbacks_.get()), err) != RdKafka::Conf::CONF_OK ||
      conf_->set("event_cb", static_cast<RdKafka::EventCb*>(callbacks_.get()), err) != RdKafka::Conf::CONF_OK) {
    throw std::logic_error("librdkafka callbacks: " + err);
  }
  handle_.reset(RdKafka::Producer::create(conf_.get(), err));
  // Conflicting properties (e.g. acks=1 with idempotence) are only detected here.
  if (!handle_) throw common::ConfigError("HUB_KAFKA_CONFIG: cannot create the Kafka producer: " + err);
  poll_thread_ = std::thread([this] { PollLoop(); });
}

KafkaProducer::~KafkaProducer() {
  // Let the poll thread serve the last delivery reports for a moment.  Every
  // caller has had its answer by now (ProduceBatch returned), so this only
  // saves duplicates of messages a caller stopped waiting for.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (OutstandingMessages() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop_.store(true);
  poll_thread_.join();
  std::unique_lock<std::shared_mutex> lk(handle_mu_);
  if (handle_) DrainAndDestroyHandle(std::move(handle_), 2000);
}

bool KafkaProducer::WarmUp(const std::vector<std::string>& topics, std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> wl(warm_mu_);
    for (const std::string& t : topics) {
      if (std::find(warm_topics_.begin(), warm_topics_.end(), t) == warm_topics_.end()) warm_topics_.push_back(t);
    }
  }
  std::shared_lock<std::shared_mutex> lk(handle_mu_);
  if (!handle_) return false;
  bool ok = true;
  for (const std::string& name : topics) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(handle_.get(), name, nullptr, err));
    RdKafka::Metadata* metadata = nullptr;
    RdKafka::ErrorCode code =
        topic ? handle_->metadata(false, topic.get(), &metadata, static_cast<int>(timeout.count())) : RdKafka::ERR__INVALID_ARG;
    delete metadata;
    if (code != RdKafka::ERR_NO_ERROR) {
      common::LogWarn("kafka producer: no metadata for topic yet", {{"topic", name}, {"error", RdKafka::err2str(code)}});
      ok = false;
    }
  }
  return ok;
}

void KafkaProducer::WarmUpNewTopics(const std::vector<ProducerMessage>& messages,
                                    std::chrono::steady_clock::time_point deadline) {
  std::vector<std::string> fresh;
  {
    std::lock_guard<std::mutex> wl(warm_mu_);
    std::string_view previous;
    for (const ProducerMessage& m : messages) {
      if (m.topic == previous) continue;
      previous = m.topic;
      std::string topic(m.topic);
      if (std::find(warm_topics_.begin(), warm_topics_.end(), topic) == warm_topics_.end() &&
          std::find(fresh.begin(), fresh.end(), topic) == fresh.end())
        fresh.push_back(std::move(topic));
    }
  }
  if (fresh.empty()) return;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  WarmUp(fresh, std::clamp(left, std::chrono::milliseconds(1), kWarmUpMax));
}

int KafkaProducer::OutstandingMessages() const {
  std::shared_lock<std::shared_mutex> lk(handle_mu_);
  return handle_ ? handle_->outq_len() : 0;
}

void KafkaProducer::PollLoop() {
  while (!stop_.load()) {
    {
      std::shared_lock<std::shared_mutex> lk(handle_mu_);
      if (handle_) handle_->poll(kPollMs);
    }
    if (fatal_.load()) {
      RecreateHandle();
      if (fatal_.load()) {
        std::this_thread::sleep_for(std::chrono::seconds(1));  // creation failed: try again
      } else {
        std::vector<std::string> topics;
        {
          std::lock_guard<std::mutex> wl(warm_mu_);
          topics = warm_topics_;
        }
        WarmUp(topics, std::chrono::seconds(2));
      }
    }
  }
}

void KafkaProducer::RecreateHandle() {
  std::unique_lock<std::shared_mutex> lk(handle_mu_);
  if (handle_) {
    std::string reason;
    handle_->fatal_error(reason);
    common::LogError("recreating the kafka producer after a fatal error", {{"error", reason}});
    // Outstanding messages fail (transient) and are produced again by their
    // owners.  Requests already on the wire are answered first (nothing new is
    // sent after a fatal error): failing them unanswered would report written
    // messages as failed, to be published twice.
    DrainAndDestroyHandle(std::move(handle_), 5000, kInFlightGrace);
  }
  std::string err;
  handle_.reset(RdKafka::Producer::create(conf_.get(), err));
  if (!handle_) {
    common::LogError("cannot recreate the kafka producer", {{"error", err}});
    return;
  }
  fatal_.store(false);
  recreations_.fetch_add(1);
}

void KafkaProducer::InjectFatalErrorForTesting() {
  std::shared_lock<std::shared_mutex> lk(handle_mu_);
  if (handle_) {
    rd_kafka_test_fatal_error(handle_->c_ptr(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                              "injected by a test");
  }
}

void KafkaProducer::DrainAndDestroyHandle(std::unique_ptr<RdKafka::Producer> handle, int timeout_ms,
                                          std::chrono::milliseconds inflight_grace) {
  handle->purge(RdKafka::Producer::PURGE_QUEUE);
  const auto grace_end = std::chrono::steady_clock::now() + inflight_grace;
  while (handle->outq_len() > 0 && std::chrono::steady_clock::now() < grace_end) handle->poll(10);
  handle->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // Serves the delivery reports of the purged messages, so their batches resolve.
  while (handle->outq_len() > 0 && std::chrono::steady_clock::now() < until) handle->poll(10);
  handle->poll(0);
  handle.reset();
}

std::vector<Delivery> KafkaProducer::ProduceBatch(const std::vector<ProducerMessage>& messages) {
  return ProduceBatch(messages, std::chrono::steady_clock::now() +
                                    std::chrono::milliseconds(options_.message_timeout_ms) + kDeadlineMargin);
}

std::vector<Delivery> KafkaProducer::ProduceBatch(const std::vector<ProducerMessage>& messages,
                                                  std::chrono::steady_clock::time_point deadline,
                                                  const SharedDeadline* cut_off) {
  const size_t n = messages.size();
  if (n == 0) return {};
  // After a fatal error the handle refuses every message until the poll thread
  // has recreated it (milliseconds): wait for that rather than fail the batch.
  for (auto until = std::min(deadline, std::chrono::steady_clock::now() + kRecreateWait);
       fatal_.load() && !stop_.load() && std::chrono::steady_clock::now() < until &&
       !(cut_off && std::chrono::steady_clock::now() >= cut_off->Get());) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  WarmUpNewTopics(messages, cut_off ? std::min(deadline, cut_off->Get()) : deadline);
  auto* batch = new Batch(n);
  auto fail = [&](size_t i, common::Retry retry, std::string error, bool rejected) {
    Delivery d;
    d.retry = retry;
    d.rejected = rejected;
    d.error = std::move(error);
    batch->Resolve(i, std::move(d));
  };
  {
    std::shared_lock<std::shared_mutex> lk(handle_mu_);
    for (size_t i = 0; i < n; ++i) {
      const ProducerMessage& m = messages[i];
      RdKafka::Headers* headers = nullptr;
      if (!m.headers.empty()) {
        headers = RdKafka::Headers::create();
        for (const auto& [name, value] : m.headers) headers->add(std::string(name), value.data(), value.size());
      }
      RdKafka::ErrorCode err = RdKafka::ERR__STATE;
      batch->refs.fetch_add(1, std::memory_order_relaxed);  // the delivery report may come at once
      while (handle_) {
        err = handle_->produce(std::string(m.topic), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                               const_cast<char*>(m.value.data()), m.value.size(),
                               m.key.empty() ? nullptr : m.key.data(), m.key.size(), 0, headers,
                               &batch->slots[i]);
        if (err != RdKafka::ERR__QUEUE_FULL) break;
        // The local queue is full: let the poll thread deliver (and recreate) meanwhile.
        lk.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        lk.lock();
      }
      if (err != RdKafka::ERR_NO_ERROR) {
        delete headers;  // owned by librdkafka only when produce() succeeds
        batch->refs.fetch_sub(1, std::memory_order_relaxed);
        fail(i, handle_ ? ClassifyKafkaError(err) : common::Retry::kTransient,
             handle_ ? RdKafka::err2str(err) : "kafka producer unavailable",
             /*rejected=*/handle_ && err == RdKafka::ERR_MSG_SIZE_TOO_LARGE);
      }
    }
  }
  std::vector<Delivery> results;
  {
    std::unique_lock<std::mutex> lk(batch->mu);
    for (;;) {
      auto until = deadline;
      if (cut_off) until = std::min({until, cut_off->Get(), std::chrono::steady_clock::now() + kCutOffCheck});
      if (batch->cv.wait_until(lk, until, [&] { return batch->pending == 0; })) break;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline || (cut_off && now >= cut_off->Get())) break;
    }
    results = std::move(batch->results);
    for (size_t i = 0; i < n; ++i) {
      if (!batch->done[i]) {
        batch->done[i] = 1;  // a late delivery report is ignored
        results[i] = Delivery{};
        results[i].error = "delivery not confirmed before the deadline";
      }
    }
  }
  Batch::Release(batch);
  return results;
}

}  // namespace hub::kafka
