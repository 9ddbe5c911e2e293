#include "consumers/lane.hpp"

#include <map>

#include <librdkafka/rdkafka.h>

#include "common/ids.hpp"
#include "common/log.hpp"

namespace hub::consumers {

void CompletionQueue::Push(std::vector<Completion>&& c) {
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& x : c) items_.push_back(std::move(x));
  }
  cv_.notify_one();
}

void CompletionQueue::WaitForPush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, timeout, [&] { return !items_.empty(); });
}

std::vector<Completion> CompletionQueue::Take() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Completion> out;
  out.swap(items_);
  return out;
}

Lane::Lane(int index, LaneOptions opts, const SchemaRegistry& schemas, producers::DeadLetterSink& dead_letters,
           CompletionQueue& completions, common::Metrics& metrics)
    : index_(index),
      opts_(std::move(opts)),
      parser_(schemas),
      applier_(opts_.database_url, opts_.catalogue->MakeHandlers(opts_.deps), metrics, opts_.on_outbox_committed),
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

bool Lane::Live(const LaneMessage& m) {
  const uint32_t current = m.part->epoch.load(std::memory_order_acquire);
  return m.epoch == current && m.part->failed_epoch != current;
}

void Lane::Report(std::map<SharedPartition*, Completion>& per) {
  std::vector<Completion> out;
  out.reserve(per.size());
  for (auto& [part, c] : per) {
    if (c.failed_at >= 0) part->failed_epoch = c.epoch;
    out.push_back(std::move(c));
  }
  completions_.Push(std::move(out));
}

void Lane::Run() {
  std::vector<LaneMessage> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      if (opts_.batch_linger_us > 0 && queue_.size() < static_cast<size_t>(opts_.batch_max))
        cv_.wait_for(l, std::chrono::microseconds(opts_.batch_linger_us),
                     [&] { return stopping_ || queue_.size() >= static_cast<size_t>(opts_.batch_max); });
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
        if (!c.part) c.part = m.part;
        ++c.retired;
        // Failed at the partition's first live message (stale ones are
        // dropped; see ProcessBatch).
        if (c.failed_at < 0 && Live(m)) {
          c.epoch = m.epoch;
          c.failed_at = m.msg->offset();
          c.error = e.what();
        }
      }
      Report(per);
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
  const common::Clock& clock = *opts_.deps.clock;
  const auto t0 = clock.Steady();
  Completions per;  // by partition
  const LiveItems live = TakeLive(batch, per);
  ApplyItems(live, per);
  SendDeadLetters(live, per);
  const double seconds = std::chrono::duration<double>(clock.Steady() - t0).count();
  Settle(live, per, clock.NowUnixMicros(), seconds);
  metrics_.batches.fetch_add(1, std::memory_order_relaxed);
  metrics_.batch_events.fetch_add(live.size(), std::memory_order_relaxed);
  metrics_.batch_seconds.Observe(seconds);
  Report(per);
}

Lane::LiveItems Lane::TakeLive(std::vector<LaneMessage>& batch, Completions& per) {
  LiveItems live;
  live.reserve(batch.size());
  for (auto& m : batch) {
    Completion& c = per[m.part.get()];
    if (!c.part) c.part = m.part;
    ++c.retired;
    if (!Live(m)) continue;  // revoked, rewound or behind a reported failure: dropped (delivered again)
    // The completion speaks for the live messages only.  After a rewind a
    // batch can start with a partition's stale messages (queued before the
    // seek) and go on with the ones fetched again: a failure among the latter
    // stamped with the stale epoch would be ignored by the consume loop, and
    // the partition would stall (or later offsets would be stored past it).
    c.epoch = m.epoch;
    if (pool_.size() <= live.size()) pool_.push_back(std::make_unique<WorkItem>());
    WorkItem* it = pool_[live.size()].get();
    ToWorkItem(m, *it);
    live.emplace_back(it, &m);
  }
  return live;
}

void Lane::ToWorkItem(const LaneMessage& m, WorkItem& it) {
  it.Reset();
  RdKafka::Message& km = *m.msg;
  it.in.topic = m.part->topic;  // stable; topic_name() returns a temporary
  it.in.partition = km.partition();
  it.in.offset = km.offset();
  if (km.key()) it.in.key = *km.key();
  it.in.value = std::string_view(static_cast<const char*>(km.payload()), km.len());
  // Header views point into the message's own storage (C API: the C++
  // accessors return copies, which would leave dangling views).
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(km.c_ptr(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* val = nullptr;
    size_t size = 0;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
      it.in.headers.emplace_back(name, std::string_view(val ? static_cast<const char*>(val) : "", size));
  }
  std::string_view type = it.in.topic;
  type.remove_prefix(std::min(type.size(), opts_.deps.topic_prefix.size()));
  it.family = opts_.catalogue->IndexOf(type);
  if (it.family >= 0) metrics_.events_consumed[it.family].fetch_add(1, std::memory_order_relaxed);
  if (!m.give_up_reason.empty()) {
    it.Fail(common::ErrorClass::kInternal, m.give_up_reason);
  } else if (it.family < 0) {
    it.Fail(common::ErrorClass::kSchema, "type: \"" + std::string(type) + "\" is not an event type of the catalogue");
  } else {
    try {
      parser_.Parse(it.in, type, it.env);
    } catch (const common::PermanentError& e) {
      it.Fail(e.error_class(), e.what());
    }
  }
}

void Lane::FailPartition(Completions& per, SharedPartition* part, int64_t offset, const std::string& error,
                         bool counts_attempt) {
  Completion& c = per[part];
  if (c.failed_at >= 0 && c.failed_at <= offset) return;
  c.failed_at = offset;
  c.error = error;
  c.counts_attempt = counts_attempt;
}

bool Lane::Settled(const Completions& per, const WorkItem& item, const LaneMessage& m) {
  // Before its partition's failure point, if there is one.
  const Completion& c = per.at(m.part.get());
  return c.failed_at < 0 || item.in.offset < c.failed_at;
}

void Lane::ApplyItems(const LiveItems& live, Completions& per) {
  // Partitions being retried are applied apart, one event per transaction;
  // the rest of the batch goes in one transaction.
  std::map<SharedPartition*, std::vector<WorkItem*>> isolated;
  for (const auto& [item, m] : live)
    if (m->isolate) isolated[m->part.get()];
  std::vector<WorkItem*> main;
  for (const auto& [item, m] : live) {
    auto iso = isolated.find(m->part.get());
    if (iso != isolated.end()) iso->second.push_back(item);
    else main.push_back(item);
  }
  if (!main.empty()) {
    try {
      applier_.Apply(main);
    } catch (const common::TransientError& e) {
      // Nothing of it committed: each of its partitions restarts at its first
      // live offset (the events are parsed again; no dead letters yet).
      const bool lost = dynamic_cast<const common::ConnectionLost*>(&e) != nullptr;
      for (const auto& [item, m] : live)
        if (!isolated.count(m->part.get())) FailPartition(per, m->part.get(), item->in.offset, e.what(), !lost);
      metrics_.retries.fetch_add(1, std::memory_order_relaxed);
      common::LogWarn("batch failed, will retry", {{"lane", index_}, {"events", main.size()}, {"error", e.what()}});
    }
  }
  for (auto& [part, its] : isolated) {
    std::string error;
    bool lost = false;
    const size_t k = applier_.ApplyEach(its, error, lost);
    if (k < its.size()) {
      FailPartition(per, part, its[k]->in.offset, error, !lost);
      metrics_.retries.fetch_add(1, std::memory_order_relaxed);
      common::LogWarn("event failed again, will retry",
                      {{"topic", part->topic}, {"partition", part->partition}, {"offset", its[k]->in.offset},
                       {"error", error}});
    }
  }
}

void Lane::SendDeadLetters(const LiveItems& live, Completions& per) {
  std::vector<producers::DeadLetter> letters;
  std::vector<std::pair<WorkItem*, LaneMessage*>> lettered;
  for (const auto& [item, m] : live) {
    if (item->state != ItemState::kFailed || !Settled(per, *item, *m)) continue;
    producers::DeadLetter dl;
    dl.source_topic = std::string(item->in.topic);
    dl.source_partition = item->in.partition;
    dl.source_offset = item->in.offset;
    dl.key = std::string(item->in.key);
    dl.value = std::string(item->in.value);
    for (const auto& [k, v] : item->in.headers) dl.headers.emplace_back(std::string(k), std::string(v));
    dl.error_class = item->error_class;
    dl.reason = item->reason;
    dl.traceparent = std::string(item->env.traceparent);
    dl.family = item->family;
    letters.push_back(std::move(dl));
    lettered.emplace_back(item, m);
  }
  if (letters.empty()) return;
  try {
    dead_letters_.Send(letters);
  } catch (const std::exception& e) {
    // Applied neighbours after them are deduplicated on redelivery.
    const std::string why = std::string("dead letter not delivered: ") + e.what();
    for (auto& [item, m] : lettered) FailPartition(per, m->part.get(), item->in.offset, why, false);
    // Not the event's fault either, but the partition cannot move until the
    // letter goes out: counted and logged as a retry, and shown by
    // hub_partition_stuck_seconds while it lasts.
    metrics_.retries.fetch_add(1, std::memory_order_relaxed);
    common::LogError("dead letters not delivered; their partitions wait and retry",
                     {{"letters", letters.size()}, {"error", e.what()}});
  }
}

void Lane::Settle(const LiveItems& live, Completions& per, int64_t now_us, double batch_seconds) {
  for (const auto& [item, m] : live) {
    if (!Settled(per, *item, *m)) continue;
    Completion& c = per[m->part.get()];
    c.done_through = item->in.offset;
    if (item->family >= 0) metrics_.event_processing[item->family].Observe(batch_seconds);
    if (item->state == ItemState::kApplied) {
      metrics_.events_processed[item->family].fetch_add(1, std::memory_order_relaxed);
      if (item->outcome_failed) metrics_.events_failed[item->family].fetch_add(1, std::memory_order_relaxed);
      if (item->env.time_unix_us > 0)
        metrics_.event_latency.Observe(static_cast<double>(now_us - item->env.time_unix_us) / 1e6);
    } else if (item->state == ItemState::kDuplicate) {
      metrics_.events_duplicate.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace hub::consumers
