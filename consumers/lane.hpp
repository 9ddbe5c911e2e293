#pragma once
// A processing lane: one thread, one database connection, a queue of messages
// from the partitions mapped to it.  A partition always maps to the same lane,
// so its events are applied in offset order; different lanes (partitions)
// proceed in parallel.
//
// Threads: Push/WaitCurrentBatch/Stop are called by the consume-loop thread;
// everything else runs on the lane's own thread.  Results go back through a
// CompletionQueue that only the consume-loop thread drains.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafkacpp.h>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "consumers/batch_applier.hpp"
#include "consumers/envelope.hpp"
#include "consumers/event_catalogue.hpp"
#include "consumers/schema_registry.hpp"
#include "producers/dead_letter_sink.hpp"

namespace hub::consumers {

// State of a partition that lanes need to see: its epoch is bumped by the
// consume loop whenever the partition is revoked or seeks back for a retry;
// messages dispatched under an older epoch are dropped unprocessed (they will
// be delivered again).
struct SharedPartition {
  std::string topic;
  int32_t partition = 0;
  std::atomic<uint32_t> epoch{0};
  // Set by the partition's lane when it reports a failure under `epoch`: its
  // later messages of that epoch are dropped too, so nothing after the
  // failure point is applied (out of order, and stored past it) before the
  // consume loop rewinds.  Only that lane reads or writes it.
  uint32_t failed_epoch = UINT32_MAX;
};

struct LaneMessage {
  std::unique_ptr<RdKafka::Message> msg;
  std::shared_ptr<SharedPartition> part;
  uint32_t epoch = 0;
  std::string give_up_reason;  // non-empty: dead-letter without processing
  // The partition is being retried: apply its events of this batch one per
  // transaction, so a failure is charged to the event that caused it.
  bool isolate = false;
};

// What a lane did with one partition's messages of one batch.
struct Completion {
  std::shared_ptr<SharedPartition> part;
  uint32_t epoch = 0;          // the epoch of the live messages it reports on
  int64_t done_through = -1;  // every offset <= this is finished (applied, duplicate or dead-lettered)
  int64_t failed_at = -1;     // >= 0: transient failure here; later offsets not done either
  std::string error;
  bool counts_attempt = true;  // false: the database/broker was unreachable (not the event's fault)
  int retired = 0;             // messages taken off the in-flight count
};

class CompletionQueue {
 public:
  void Push(std::vector<Completion>&& c);
  std::vector<Completion> Take();
  // Until something is pushed or `timeout` passes (returns at once when
  // something is queued).
  void WaitForPush(std::chrono::milliseconds timeout);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Completion> items_;
};

struct LaneOptions {
  std::string database_url;
  const EventCatalogue* catalogue = nullptr;  // required: event types and their handlers
  HandlerDeps deps;                           // what the handlers are built with (clock required)
  int batch_max = 2000;
  OutboxCommitted on_outbox_committed;  // null: the relays publish (NOTIFY)
  // A lane that wakes up to fewer than batch_max events waits up to this long
  // for more: fewer, larger transactions when events trickle in.
  int batch_linger_us = 0;
};

class Lane {
 public:
  Lane(int index, LaneOptions opts, const SchemaRegistry& schemas, producers::DeadLetterSink& dead_letters,
       CompletionQueue& completions, common::Metrics& metrics);
  ~Lane();
  void Push(std::vector<LaneMessage>&& msgs);
  // Blocks until the batch in progress (if any) has finished.
  void WaitCurrentBatch();
  // Processes what is queued, then stops the thread.
  void Stop();
  size_t queued() const;

 private:
  void Run();
  using Completions = std::map<SharedPartition*, Completion>;
  using LiveItems = std::vector<std::pair<WorkItem*, LaneMessage*>>;

  // One batch, in four steps: take the live messages as work items (parsed,
  // validated, routed to their family), apply them, dead-letter the settled
  // failures, and mark the offsets done.
  void ProcessBatch(std::vector<LaneMessage>& batch);
  LiveItems TakeLive(std::vector<LaneMessage>& batch, Completions& per);
  void ToWorkItem(const LaneMessage& m, WorkItem& it);
  void ApplyItems(const LiveItems& live, Completions& per);
  void SendDeadLetters(const LiveItems& live, Completions& per);
  // Marks what finished (done_through) and counts it; `batch_seconds` is the
  // processing time charged to each of its events.
  void Settle(const LiveItems& live, Completions& per, int64_t now_us, double batch_seconds);
  // Records a failure at `offset` unless the partition failed earlier.
  static void FailPartition(Completions& per, SharedPartition* part, int64_t offset, const std::string& error,
                            bool counts_attempt);
  // Whether `item` lies before its partition's failure point (if any).
  static bool Settled(const Completions& per, const WorkItem& item, const LaneMessage& m);
  // Marks the partitions that failed (SharedPartition::failed_epoch), then
  // hands the completions to the consume loop.
  void Report(std::map<SharedPartition*, Completion>& per);
  static bool Live(const LaneMessage& m);

  const int index_;
  const LaneOptions opts_;
  EnvelopeParser parser_;
  BatchApplier applier_;
  producers::DeadLetterSink& dead_letters_;
  CompletionQueue& completions_;
  common::Metrics& metrics_;

  mutable std::mutex mu_;
  // Work items reused from batch to batch (their envelopes recycle parse
  // memory), so the hot path does not allocate per event.  Lane thread only.
  std::vector<std::unique_ptr<WorkItem>> pool_;

  std::condition_variable cv_;       // work arrived / stop
  std::condition_variable idle_cv_;  // a batch finished
  std::deque<LaneMessage> queue_;
  bool busy_ = false;
  uint64_t batch_seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hub::consumers
