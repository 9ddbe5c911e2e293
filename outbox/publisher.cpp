#include "outbox/publisher.hpp"

#include <algorithm>

#include <pqxx/pqxx>

#include "common/log.hpp"
#include "outbox/message.hpp"
#include "store/pg_array.hpp"

namespace hub::outbox {
namespace {

constexpr std::chrono::milliseconds kDeliveryMargin{5000};

}  // namespace

OutboxPublisher::OutboxPublisher(PublisherOptions options, kafka::KafkaProducer& producer, common::Metrics& metrics)
    : options_(std::move(options)), producer_(producer), metrics_(metrics) {}

OutboxPublisher::~OutboxPublisher() { Stop(std::chrono::steady_clock::now()); }

void OutboxPublisher::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

bool OutboxPublisher::Submit(outbox::CommittedOutbox&& rows) {
  if (rows.rows.empty()) return true;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Backpressure: the lane waits for room rather than leaving the rows to
    // the relay, which would publish them only after its grace period.  A
    // batch larger than the whole bound goes in when the queue is empty.
    space_cv_.wait(lock, [&] {
      return stopping_ || !started_ || queued_messages_ == 0 ||
             queued_messages_ + rows.rows.size() <= options_.max_queued;
    });
    if (stopping_ || !started_) return false;
    queued_messages_ += rows.rows.size();
    queue_.push_back(std::move(rows));
    ++batches_submitted_;
  }
  cv_.notify_one();
  return true;
}

bool OutboxPublisher::WaitPublished(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = batches_submitted_;
  return published_cv_.wait_until(lock, deadline, [&] { return batches_published_ >= target || stopping_; }) &&
         batches_published_ >= target;
}

size_t OutboxPublisher::Queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_messages_;
}

void OutboxPublisher::Stop(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_deadline_.Set(deadline);
  cv_.notify_one();
  space_cv_.notify_all();
  published_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxPublisher::Run() {
  std::vector<outbox::CommittedOutbox> round;
  for (;;) {
    round.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto ready = [&] { return !queue_.empty() || stopping_; };
      if (delivered_.empty()) {
        cv_.wait(lock, ready);
      } else if (!cv_.wait_until(lock, first_delivered_ + std::chrono::milliseconds(options_.delete_delay_ms),
                                 ready)) {
        lock.unlock();
        DeleteDelivered(true);  // nothing new for a while: delete what was delivered
        continue;
      }
      if (queue_.empty() || (stopping_ && std::chrono::steady_clock::now() >= stop_deadline_.Get())) {
        if (!queue_.empty())
          common::LogWarn("outbox publisher stopped with rows queued; the relay publishes them",
                          {{"messages", queued_messages_}});
        batches_published_ += queue_.size();  // given up: the relay publishes them
        queue_.clear();
        queued_messages_ = 0;
        published_cv_.notify_all();
        lock.unlock();
        DeleteDelivered(true);
        return;
      }
      size_t taken = 0;
      while (!queue_.empty() && (taken == 0 || taken + queue_.front().rows.size() <= options_.max_per_round)) {
        taken += queue_.front().rows.size();
        round.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_messages_ -= taken;
    }
    space_cv_.notify_all();
    try {
      Publish(round);
    } catch (const std::exception& e) {
      // Not expected (deliveries report their own failures); the rows stay
      // in the outbox and the relay publishes them after its grace period.
      common::LogError("outbox publisher round failed; the relay publishes its rows", {{"error", e.what()}});
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      batches_published_ += round.size();
    }
    published_cv_.notify_all();
  }
}

void OutboxPublisher::Publish(std::vector<outbox::CommittedOutbox>& batches) {
  std::deque<std::string> storage;  // header strings parsed from the rows
  std::vector<kafka::ProducerMessage> messages;
  for (const auto& b : batches) {
    for (const auto& r : b.rows) {
      messages.emplace_back();
      BuildOutboxMessage(b.topic(r), b.key(r), b.payload(r), b.headers(r), storage, messages.back());
    }
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(producer_.options().message_timeout_ms) + kDeliveryMargin;
  std::vector<kafka::Delivery> deliveries = producer_.ProduceBatch(messages, deadline, &stop_deadline_);

  size_t delivered = 0, failed = 0, i = 0;
  const kafka::Delivery* first_failure = nullptr;
  for (const auto& b : batches) {
    for (const auto& r : b.rows) {
      const kafka::Delivery& d = deliveries[i++];
      if (d.ok) {
        if (delivered_.empty()) first_delivered_ = std::chrono::steady_clock::now();
        delivered_.Add(r.shard, r.id);
        ++delivered;
      } else {
        ++failed;
        if (!first_failure) first_failure = &d;
      }
    }
  }
  metrics_.outbox_published.fetch_add(delivered);
  if (failed > 0) {
    metrics_.outbox_publish_errors.fetch_add(failed);
    common::LogWarn("outbox rows not published from memory; the relay retries them after its grace period",
                    {{"failed", failed},
                     {"error", first_failure->error},
                     {"permanent", first_failure->retry == common::Retry::kPermanent ? "true" : "false"}});
  }
  DeleteDelivered(false);
}

void OutboxPublisher::DeleteDelivered(bool force) {
  if (delivered_.empty()) return;
  if (!force && delivered_.size() < options_.delete_batch &&
      std::chrono::steady_clock::now() < first_delivered_ + std::chrono::milliseconds(options_.delete_delay_ms))
    return;
  const size_t rows = delivered_.size();
  // Two attempts (the second on a fresh connection).  A row that stays is
  // published again by the relay: a duplicate, never a loss.
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!conn_ || !conn_->is_open()) {
        conn_ = std::make_unique<pqxx::connection>(options_.database_url);
        {
          // Losing a DELETE in a crash only means publishing the row again.
          pqxx::nontransaction setup(*conn_);
          setup.exec("SET synchronous_commit = off");
        }
        PrepareDeleteDelivered(*conn_);
      }
      delivered_.DeleteFrom(*conn_);
      return;
    } catch (const std::exception& e) {
      conn_.reset();
      if (attempt == 1) {
        delivered_.Clear();
        common::LogWarn("published outbox rows could not be deleted; the relay will publish them again",
                        {{"rows", rows}, {"error", e.what()}});
      }
    }
  }
}

}  // namespace hub::outbox
