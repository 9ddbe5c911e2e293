#include "consumers/lane.hpp"

#include <map>

#include "common/ids.hpp"
#include "common/log.hpp"
#include "consumers/workflow_triggered_handler.hpp"

namespace hub::consumers {

void CompletionQueue::Push(std::vector<Completion>&& c) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& x : c) items_.push_back(std::move(x));
}

std::vector<Completion> CompletionQueue::Take() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Completion> out;
  out.swap(items_);
  return out;
}

namespace {
std::vector<std::unique_ptr<BatchHandler>> MakeHandlers(const std::string& prefix) {
  std::vector<std::unique_ptr<BatchHandler>> h;
  h.push_back(std::make_unique<WorkflowTriggeredHandler>(prefix));
  return h;
}
}  // namespace

Lane::Lane(int index, LaneOptions opts, const SchemaRegistry& schemas, producers::DeadLetterSink& dead_letters,
           CompletionQueue& completions, common::Metrics& metrics)
    : index_(index),
      opts_(std::move(opts)),
      parser_(schemas),
      applier_(opts_.database_url, MakeHandlers(opts_.topic_prefix), metrics),
      dead_letters_(dead_letters),
      completions_(completions),
      metrics_(metrics) {
  thread_ = std::thread([this] { Run(); });
}

Lane::~Lane() { Stop(); }

void Lane::Push(std::vector<LaneMessage>&& msgs) {
  if (msgs.empty()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& m : msgs) queue_.push_back(std::move(m));
  }
  msgs.clear();
  cv_.notify_one();
}

size_t Lane::queued() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

void Lane::WaitCurrentBatch() {
  std::unique_lock<std::mutex> l(mu_);
  const uint64_t seq = batch_seq_;
  idle_cv_.wait(l, [&] { return !busy_ || batch_seq_ != seq; });
}

void Lane::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

common::InputKind Lane::KindOf(std::string_view type) {
  if (type == "order.submitted") return common::InputKind::kOrderSubmitted;
  if (type == "integration.webhook") return common::InputKind::kIntegrationWebhook;
  return common::InputKind::kWorkflowTriggered;
}

void Lane::Run() {
  std::vector<LaneMessage> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      const size_t n = std::min(queue_.size(), static_cast<size_t>(opts_.batch_max));
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      busy_ = true;
    }
    try {
      ProcessBatch(batch);
    } catch (const std::exception& e) {
      // ProcessBatch reports its own failures; reaching here is a bug.  The
      // batch is reported failed so that it is retried, never lost.
      common::LogError("unexpected error in lane", {{"lane", index_}, {"error", e.what()}});
      std::map<SharedPartition*, Completion> per;
      for (auto& m : batch) {
        Completion& c = per[m.part.get()];
        if (!c.part) {
          c.part = m.part;
          c.epoch = m.epoch;
          c.failed_at = m.msg->offset();
          c.error = e.what();
        }
        ++c.retired;
      }
      std::vector<Completion> out;
      for (auto& [_, c] : per) out.push_back(std::move(c));
      completions_.Push(std::move(out));
    }
    batch.clear();
    {
      std::lock_guard<std::mutex> l(mu_);
      busy_ = false;
      ++batch_seq_;
    }
    idle_cv_.notify_all();
  }
}

void Lane::ProcessBatch(std::vector<LaneMessage>& batch) {
  const auto t0 = std::chrono::steady_clock::now();
  std::map<SharedPartition*, Completion> per;  // by partition
  std::vector<std::unique_ptr<WorkItem>> items;
  items.reserve(batch.size());
  std::vector<std::pair<WorkItem*, LaneMessage*>> live;

  for (auto& m : batch) {
    Completion& c = per[m.part.get()];
    if (!c.part) {
      c.part = m.part;
      c.epoch = m.epoch;
    }
    ++c.retired;
    if (m.part->epoch.load(std::memory_order_acquire) != m.epoch) continue;  // revoked or rewound: drop
    auto it = std::make_unique<WorkItem>();
    RdKafka::Message& km = *m.msg;
    it->in.topic = m.part->topic;  // stable; topic_name() returns a temporary
    it->in.partition = km.partition();
    it->in.offset = km.offset();
    if (km.key()) it->in.key = *km.key();
    it->in.value = std::string_view(static_cast<const char*>(km.payload()), km.len());
    if (const RdKafka::Headers* hs = km.headers()) {
      for (const auto& h : hs->get_all())
        it->in.headers.emplace_back(h.key(), std::string_view(static_cast<const char*>(h.value()), h.value_size()));
    }
    std::string_view type = it->in.topic;
    type.remove_prefix(std::min(type.size(), opts_.topic_prefix.size()));
    it->kind = KindOf(type);
    metrics_.events_consumed[static_cast<int>(it->kind)].fetch_add(1, std::memory_order_relaxed);
    if (!m.give_up_reason.empty()) {
      it->Fail(common::ErrorClass::kInternal, m.give_up_reason);
    } else {
      try {
        parser_.Parse(it->in, type, it->env);
      } catch (const common::PermanentError& e) {
        it->Fail(e.error_class(), e.what());
      }
    }
    live.emplace_back(it.get(), &m);
    items.push_back(std::move(it));
  }

  std::vector<WorkItem*> ptrs;
  ptrs.reserve(items.size());
  for (auto& it : items) ptrs.push_back(it.get());

  bool transient = false;
  std::string transient_error;
  if (!ptrs.empty()) {
    try {
      applier_.Apply(ptrs);
    } catch (const common::TransientError& e) {
      transient = true;
      transient_error = e.what();
    }
  }

  if (transient) {
    // Nothing of this batch committed: every partition restarts at its first
    // live offset (dead letters are not sent; the events are parsed again).
    for (auto& [item, m] : live) {
      Completion& c = per[m->part.get()];
      if (c.failed_at < 0) {
        c.failed_at = item->in.offset;
        c.error = transient_error;
      }
    }
    metrics_.retries.fetch_add(1, std::memory_order_relaxed);
    common::LogWarn("batch failed, will retry", {{"lane", index_}, {"events", ptrs.size()}, {"error", transient_error}});
  } else {
    // Dead letters for permanent failures, then the offsets.
    std::vector<producers::DeadLetter> letters;
    std::vector<WorkItem*> failed;
    for (auto& [item, m] : live) {
      if (item->state != ItemState::kFailed) continue;
      producers::DeadLetter dl;
      dl.source_topic = std::string(item->in.topic);
      dl.source_partition = item->in.partition;
      dl.source_offset = item->in.offset;
      dl.key = std::string(item->in.key);
      dl.value = std::string(item->in.value);
      for (const auto& [k, v] : item->in.headers) dl.headers.emplace_back(std::string(k), std::string(v));
      dl.error_class = item->error_class;
      dl.reason = item->reason;
      letters.push_back(std::move(dl));
      failed.push_back(item);
      common::LogWarn("event dead-lettered",
                      {{"class", common::ToString(item->error_class)}, {"reason", item->reason},
                       {"topic", item->in.topic}, {"partition", item->in.partition}, {"offset", item->in.offset},
                       {"traceparent", item->env.traceparent}});
    }
    bool letters_sent = true;
    std::string dl_error;
    if (!letters.empty()) {
      try {
        dead_letters_.Send(letters);
      } catch (const std::exception& e) {
        letters_sent = false;
        dl_error = std::string("dead letter not delivered: ") + e.what();
      }
    }
    const int64_t now_us = common::NowUnixMicros();
    for (auto& [item, m] : live) {
      Completion& c = per[m->part.get()];
      if (c.failed_at >= 0) continue;
      if (item->state == ItemState::kFailed && !letters_sent) {
        c.failed_at = item->in.offset;  // applied neighbours after it are deduplicated on redelivery
        c.error = dl_error;
        continue;
      }
      c.done_through = item->in.offset;
      if (item->state == ItemState::kApplied) {
        metrics_.events_processed[static_cast<int>(item->kind)].fetch_add(1, std::memory_order_relaxed);
        if (item->env.time_unix_us > 0)
          metrics_.event_latency.Observe(static_cast<double>(now_us - item->env.time_unix_us) / 1e6);
      } else if (item->state == ItemState::kDuplicate) {
        metrics_.events_duplicate.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  metrics_.batches.fetch_add(1, std::memory_order_relaxed);
  metrics_.batch_events.fetch_add(ptrs.size(), std::memory_order_relaxed);
  metrics_.batch_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  std::vector<Completion> out;
  out.reserve(per.size());
  for (auto& [_, c] : per) out.push_back(std::move(c));
  completions_.Push(std::move(out));
}

}  // namespace hub::consumers
