#include "consumers/consume_loop.hpp"

#include <algorithm>
#include <thread>

#include "common/error.hpp"
#include "common/log.hpp"
#include "kafka/config.hpp"

namespace hub::consumers {
ConsumeLoop::ConsumeLoop(ConsumeOptions opts, const SchemaRegistry& schemas, producers::DeadLetterSink& dead_letters,
                         common::Metrics& metrics)
    : opts_(std::move(opts)),
      retry_policy_{opts_.retry_max_attempts, std::chrono::milliseconds(opts_.retry_base_ms),
                    std::chrono::milliseconds(opts_.retry_max_backoff_ms)},
      clock_(*opts_.clock),
      metrics_(metrics) {
  std::unique_ptr<RdKafka::Conf> conf = kafka::MakeConsumerConf(
      opts_.brokers, opts_.kafka_config, {opts_.group, opts_.fetch_wait_ms, opts_.session_timeout_ms});
  std::string err;
  if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("kafka consumer callbacks: " + err);

  LaneOptions lo;
  lo.database_url = opts_.database_url;
  lo.catalogue = opts_.catalogue;
  lo.deps = opts_.deps;
  lo.deps.topic_prefix = opts_.topic_prefix;
  lo.deps.clock = opts_.clock;
  lo.batch_max = opts_.batch_max;
  lo.on_outbox_committed = opts_.on_outbox_committed;
  lo.batch_linger_us = opts_.batch_linger_us;
  for (int i = 0; i < opts_.lanes; ++i)
    lanes_.push_back(std::make_unique<Lane>(i, lo, schemas, dead_letters, completions_, metrics_));
  staged_.resize(lanes_.size());

  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer_) throw std::runtime_error("cannot create kafka consumer: " + err);
  std::vector<std::string> topics;
  for (const auto& t : opts_.catalogue->ConsumedTypes()) topics.push_back(opts_.topic_prefix + t);
  RdKafka::ErrorCode rc = consumer_->subscribe(topics);
  if (rc != RdKafka::ERR_NO_ERROR) throw std::runtime_error("subscribe failed: " + RdKafka::err2str(rc));
  lag_sampler_ = std::make_unique<LagSampler>(*consumer_, metrics_.consumer_lag,
                                              std::chrono::milliseconds(opts_.lag_interval_ms));
}

ConsumeLoop::~ConsumeLoop() {
  if (lag_sampler_) lag_sampler_->Stop();
  for (auto& l : lanes_) l->Stop();
  if (consumer_ && !closed_) consumer_->close();
  // librdkafka before 2.3.0 aborts when a cooperative-sticky consumer that
  // joined its group but never got an assignment is destroyed
  // (rd_kafka_sticky_assignor_state_destroy asserts on the state it never
  // made: librdkafka issue 4312).  Such a consumer is stopping before it did
  // anything; it has left the group, and its handle is left to the process's
  // exit rather than aborting it.
  if (consumer_ && !ever_assigned_ && RdKafka::version() < 0x020300ff) {
    common::LogDebug("kafka consumer left unreleased: it never had an assignment (librdkafka < 2.3.0)", {});
    (void)consumer_.release();
  }
}

void ConsumeLoop::RequestStop(std::chrono::milliseconds drain_for) {
  drain_ms_ = drain_for.count();
  stop_ = true;
}

Lane& ConsumeLoop::LaneFor(const Key& k) {
  return *lanes_[static_cast<size_t>(k.second) % lanes_.size()];
}

void ConsumeLoop::Dispatch(std::unique_ptr<RdKafka::Message> msg) {
  Key key{msg->topic_name(), msg->partition()};
  auto it = parts_.find(key);
  if (it == parts_.end()) return;  // not (or no longer) assigned
  Partition& p = it->second;
  if (p.retry.paused() || msg->offset() < p.next_offset) return;  // fetched before a seek: will come again
  LaneMessage lm;
  lm.part = p.shared;
  lm.epoch = p.shared->epoch.load(std::memory_order_relaxed);
  lm.isolate = p.retry.Isolate(msg->offset());
  lm.give_up_reason = p.retry.TakeGiveUpReason(msg->offset());
  p.next_offset = msg->offset() + 1;
  if (p.unfinished.empty() || msg->offset() > p.unfinished.back().first) {
    const RdKafka::MessageTimestamp ts = msg->timestamp();
    p.unfinished.emplace_back(msg->offset(),
                              ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE ? -1 : ts.timestamp);
  }
  lm.msg = std::move(msg);
  ++inflight_;
  staged_[static_cast<size_t>(key.second) % lanes_.size()].push_back(std::move(lm));
}

void ConsumeLoop::FlushStaged() {
  for (size_t i = 0; i < staged_.size(); ++i) lanes_[i]->Push(std::move(staged_[i]));
  metrics_.inflight = inflight_;
}

void ConsumeLoop::HandleCompletions() {
  std::vector<Completion> done = completions_.Take();
  if (done.empty()) return;
  std::vector<Key> store;
  for (auto& c : done) {
    inflight_ -= c.retired;
    Key key{c.part->topic, c.part->partition};
    auto it = parts_.find(key);
    if (it == parts_.end() || it->second.shared != c.part) continue;  // revoked meanwhile
    Partition& p = it->second;
    if (c.done_through > p.stored_through) {
      p.stored_through = c.done_through;
      p.retry.OnDone(c.done_through);
      store.push_back(key);
      while (!p.unfinished.empty() && p.unfinished.front().first <= c.done_through) p.unfinished.pop_front();
      metrics_.consumer_lag.Processed(key.first, key.second, c.done_through + 1);
    }
    if (c.failed_at >= 0 && c.epoch == p.shared->epoch.load()) {
      // Rewind: everything dispatched after failed_at is dropped by the lanes
      // (new epoch) and fetched again after the seek.
      p.shared->epoch.fetch_add(1, std::memory_order_acq_rel);
      std::uniform_real_distribution<double> jitter(0.0, 1.0);
      const auto delay = p.retry.OnFailure(retry_policy_, c.failed_at, c.error, c.counts_attempt, clock_.Steady(),
                                           jitter(rng_));
      p.next_offset = c.failed_at;
      std::unique_ptr<RdKafka::TopicPartition> tp(RdKafka::TopicPartition::create(key.first, key.second));
      std::vector<RdKafka::TopicPartition*> v{tp.get()};
      consumer_->pause(v);
      std::unique_ptr<RdKafka::TopicPartition> seek_tp(
          RdKafka::TopicPartition::create(key.first, key.second, c.failed_at));
      RdKafka::ErrorCode rc = consumer_->seek(*seek_tp, 0);
      common::LogWarn("partition rewinds for retry",
                      {{"topic", key.first}, {"partition", key.second}, {"offset", c.failed_at},
                       {"attempt", p.retry.attempts()}, {"retry", p.retry.retries()},
                       {"backoff_ms", static_cast<int64_t>(delay.count())},
                       {"seek", RdKafka::err2str(rc)}, {"error", c.error}});
    }
  }
  StoreOffsets(store);
  metrics_.inflight = inflight_;
}

void ConsumeLoop::StoreOffsets(const std::vector<Key>& keys) {
  if (keys.empty()) return;
  std::vector<RdKafka::TopicPartition*> offs;
  for (const auto& k : keys) {
    const Partition& p = parts_.at(k);
    offs.push_back(RdKafka::TopicPartition::create(k.first, k.second, p.stored_through + 1));
  }
  RdKafka::ErrorCode rc = consumer_->offsets_store(offs);
  if (rc != RdKafka::ERR_NO_ERROR) common::LogWarn("offsets_store failed", {{"error", RdKafka::err2str(rc)}});
  RdKafka::TopicPartition::destroy(offs);
}

void ConsumeLoop::ResumeDueRetries() {
  const auto now = clock_.Steady();
  std::vector<RdKafka::TopicPartition*> resume;
  for (auto& [k, p] : parts_) {
    if (p.retry.ResumeIfDue(now) && !bp_paused_ && !stop_)
      resume.push_back(RdKafka::TopicPartition::create(k.first, k.second));
  }
  if (!resume.empty()) {
    consumer_->resume(resume);
    RdKafka::TopicPartition::destroy(resume);
  }
}

void ConsumeLoop::UpdateBackpressure() {
  // Over the limit the loop first holds: it stops calling consume() and the
  // events librdkafka has prefetched (up to queued.max.messages.kbytes) wait
  // there, ready the moment the lanes catch up.  Pausing instead made
  // librdkafka drop them (pause purges a partition's fetched messages), so
  // each resume started from an empty queue and a fresh fetch, and the lanes
  // ran dry at full speed.  A hold does not serve rebalance callbacks, though,
  // so one that lasts (a database outage, a slow batch) turns into a pause,
  // under which consume() runs again.
  constexpr auto kHoldBeforePause = std::chrono::seconds(1);
  const auto now = std::chrono::steady_clock::now();
  if (inflight_ >= opts_.max_inflight) {
    if (!holding_) {
      holding_ = true;
      held_since_ = now;
    }
  } else if (!bp_paused_) {
    holding_ = false;
  }
  std::vector<RdKafka::TopicPartition*> tps;
  if (!bp_paused_ && holding_ && now - held_since_ >= kHoldBeforePause) {
    bp_paused_ = true;
    for (auto& [k, p] : parts_) tps.push_back(RdKafka::TopicPartition::create(k.first, k.second));
    consumer_->pause(tps);
    common::LogInfo("consumption held for over a second: partitions paused for back-pressure",
                    {{"inflight", inflight_}, {"partitions", static_cast<int64_t>(parts_.size())}});
  } else if (bp_paused_ && inflight_ <= opts_.max_inflight / 2 && !stop_) {
    bp_paused_ = false;
    holding_ = false;
    for (auto& [k, p] : parts_)
      if (!p.retry.paused()) tps.push_back(RdKafka::TopicPartition::create(k.first, k.second));
    consumer_->resume(tps);
    common::LogInfo("partitions resumed after back-pressure", {{"inflight", inflight_}});
  }
  int64_t paused = 0;
  std::chrono::nanoseconds stuck{};
  const auto clock_now = clock_.Steady();
  for (auto& [k, p] : parts_) {
    paused += (bp_paused_ || holding_ || p.retry.paused()) ? 1 : 0;
    stuck = std::max(stuck, p.retry.StuckFor(clock_now));
  }
  metrics_.partitions_paused = paused;
  metrics_.partition_stuck_ms = std::chrono::duration_cast<std::chrono::milliseconds>(stuck).count();
  RdKafka::TopicPartition::destroy(tps);
}

void ConsumeLoop::UpdateLagAge() {
  int64_t oldest_ms = -1;
  for (const auto& [k, p] : parts_) {
    if (p.unfinished.empty()) continue;
    const int64_t ts = p.unfinished.front().second;
    if (ts >= 0 && (oldest_ms < 0 || ts < oldest_ms)) oldest_ms = ts;
  }
  const int64_t now_ms = clock_.NowUnixMicros() / 1000;
  metrics_.consumer_lag_age_ms = oldest_ms < 0 ? 0 : std::max<int64_t>(0, now_ms - oldest_ms);
}

bool ConsumeLoop::Run() {
  constexpr int kBurst = 5000;
  bool stopping = false;
  std::chrono::steady_clock::time_point deadline{};
  for (;;) {
    if (!stopping && stop_) {
      stopping = true;
      deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms_.load());
      std::vector<RdKafka::TopicPartition*> tps;
      RdKafka::ErrorCode rc = consumer_->assignment(tps);
      if (rc == RdKafka::ERR_NO_ERROR && !tps.empty()) consumer_->pause(tps);  // stop fetching
      RdKafka::TopicPartition::destroy(tps);
      common::LogInfo("stopping: no new fetches; finishing events in flight", {{"inflight", inflight_}});
    }
    if (stopping) {
      HandleCompletions();
      if (inflight_ == 0) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        common::LogWarn("shutdown deadline reached; events still in flight are left uncommitted and will be "
                        "redelivered", {{"inflight", inflight_}});
        break;
      }
    }
    // Poll a burst: the first call may wait a little, the rest only drain.
    // Held (over the in-flight limit, not paused): wait for the lanes instead.
    int timeout = 10;
    const bool hold = holding_ && !bp_paused_ && !stopping;
    if (hold) completions_.WaitForPush(std::chrono::milliseconds(timeout));
    for (int i = 0; i < (hold ? 0 : kBurst); ++i) {
      std::unique_ptr<RdKafka::Message> msg(consumer_->consume(timeout));
      timeout = 0;
      if (!msg) break;
      const RdKafka::ErrorCode err = msg->err();
      if (err == RdKafka::ERR__TIMED_OUT) break;
      if (err == RdKafka::ERR__PARTITION_EOF) continue;
      if (err != RdKafka::ERR_NO_ERROR) {
        common::LogWarn("consumer error", {{"error", msg->errstr()}});
        break;
      }
      metrics_.broker_ok = true;
      if (!stopping) Dispatch(std::move(msg));
      if (inflight_ >= opts_.max_inflight) break;  // UpdateBackpressure pauses below
    }
    FlushStaged();
    HandleCompletions();
    ResumeDueRetries();
    UpdateBackpressure();
    UpdateLagAge();
  }
  // Offsets of finished events are stored; commit them now, then leave the
  // group (close() runs the revoke callback and commits again).
  HandleCompletions();
  RdKafka::ErrorCode rc = consumer_->commitSync();
  if (rc != RdKafka::ERR_NO_ERROR && rc != RdKafka::ERR__NO_OFFSET)
    common::LogWarn("final commit failed", {{"error", RdKafka::err2str(rc)}});
  const bool clean = inflight_ == 0;
  for (auto& l : lanes_) l->Stop();
  lag_sampler_->Stop();
  consumer_->close();
  closed_ = true;
  return clean;
}

void ConsumeLoop::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                               std::vector<RdKafka::TopicPartition*>& partitions) {
  metrics_.rebalances.fetch_add(1, std::memory_order_relaxed);
  ever_assigned_ = ever_assigned_ || err == RdKafka::ERR__ASSIGN_PARTITIONS;
  const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    for (auto* tp : partitions) {
      Key k{tp->topic(), tp->partition()};
      Partition p;
      p.shared = std::make_shared<SharedPartition>();
      p.shared->topic = k.first;
      p.shared->partition = k.second;
      parts_[k] = std::move(p);
      metrics_.consumer_lag.Assigned(k.first, k.second);
    }
    RdKafka::Error* e = nullptr;
    if (cooperative) e = consumer->incremental_assign(partitions);
    else consumer->assign(partitions);
    if (e) {
      common::LogError("incremental_assign failed", {{"error", e->str()}});
      delete e;
    }
    if (bp_paused_ || stop_) consumer->pause(partitions);
    common::LogInfo("partitions assigned", {{"count", partitions.size()}, {"total", parts_.size()}});
  } else if (err == RdKafka::ERR__REVOKE_PARTITIONS) {
    const bool lost = consumer->assignment_lost();
    // Finish what is in flight for these partitions: messages not started are
    // dropped (new epoch); the batch in progress in each lane completes.
    std::vector<Key> keys;
    for (auto* tp : partitions) {
      Key k{tp->topic(), tp->partition()};
      auto it = parts_.find(k);
      if (it == parts_.end()) continue;
      it->second.shared->epoch.fetch_add(1, std::memory_order_acq_rel);
      keys.push_back(k);
    }
    for (auto& l : lanes_) l->WaitCurrentBatch();
    if (opts_.on_revoke) opts_.on_revoke();
    // Completions of revoked partitions now carry a stale epoch for failures
    // but their done_through offsets are real: store them before giving up.
    HandleCompletions();
    if (!lost) {
      std::vector<RdKafka::TopicPartition*> commit;
      for (const auto& k : keys) {
        const Partition& p = parts_.at(k);
        if (p.stored_through >= 0)
          commit.push_back(RdKafka::TopicPartition::create(k.first, k.second, p.stored_through + 1));
      }
      if (!commit.empty()) {
        RdKafka::ErrorCode rc = consumer->commitSync(commit);
        if (rc != RdKafka::ERR_NO_ERROR)
          common::LogWarn("commit on revoke failed", {{"error", RdKafka::err2str(rc)}});
      }
      RdKafka::TopicPartition::destroy(commit);
    }
    for (const auto& k : keys) {
      parts_.erase(k);
      metrics_.consumer_lag.Revoked(k.first, k.second);
    }
    if (cooperative) {
      RdKafka::Error* e = consumer->incremental_unassign(partitions);
      if (e) {
        common::LogError("incremental_unassign failed", {{"error", e->str()}});
        delete e;
      }
    } else {
      consumer->unassign();
    }
    common::LogInfo("partitions revoked", {{"count", partitions.size()}, {"lost", lost ? "true" : "false"},
                                           {"total", parts_.size()}});
  } else {
    common::LogError("rebalance error", {{"error", RdKafka::err2str(err)}});
    if (cooperative) {
      // Nothing sensible to keep: give up the current assignment.
      RdKafka::Error* e = consumer->incremental_unassign(partitions);
      delete e;
    } else {
      consumer->unassign();
    }
  }
  metrics_.partitions_assigned = static_cast<int64_t>(parts_.size());
}

void ConsumeLoop::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
      if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) metrics_.broker_ok = false;
      common::LogWarn("kafka consumer", {{"error", RdKafka::err2str(event.err())}, {"detail", event.str()}});
      break;
    case RdKafka::Event::EVENT_LOG:
      kafka::LogKafkaEvent(event);
      break;
    default:
      break;
  }
}

}  // namespace hub::consumers
