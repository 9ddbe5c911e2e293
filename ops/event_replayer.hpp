#pragma once
// `hubworker replay` of events read from a topic, one event per transaction,
// through the family's real handler (the catalogue's BatchHandler):
//
//  * dry run: in a transaction that is always rolled back, the execution the
//    event recorded is set aside, the handler loads and applies the event
//    again (writes, counters, outbox events in memory), what it wrote is
//    read back, and an execution that parks at a delay or an outside call is
//    carried to its end in memory with the recorded answers (no call is made;
//    a call without one is "not recorded").  The result is compared with what
//    was recorded (ops/execution_diff).  Nothing is committed.
//  * reprocess: the event runs again for real as a new execution (an id
//    derived from the run), past processed_events on purpose, marked
//    replay_of the original execution, and its completion event and
//    notifications flagged as replays; committed with its outbox rows, which
//    are handed to `on_committed` to publish.
//
// The tenant is set per event as the worker does (SET LOCAL
// app.organization_id; row-level security applies).  Confined to one thread.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "common/clock.hpp"
#include "consumers/batch_applier.hpp"
#include "consumers/envelope.hpp"
#include "consumers/event_catalogue.hpp"
#include "consumers/schema_registry.hpp"
#include "ops/dead_letter_record.hpp"
#include "ops/execution_diff.hpp"
#include "outbox/rows.hpp"

namespace hub::ops {

struct EventSelection {
  std::string key, event_id, type, organization;  // "" any
};

struct EventReplayOptions {
  std::string database_url;
  const consumers::EventCatalogue* catalogue = nullptr;  // required
  consumers::HandlerDeps deps;  // a dry run replaces deps.clock by its own
  bool reprocess = false;
  std::string run_id;                           // reprocess: unique per run (new execution ids derive from it)
  consumers::OutboxCommitted on_committed;      // reprocess: publishes committed rows (null: the relays do)
  EventSelection selection;
};

struct EventOutcome {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string type, key, organization, event_id, execution_id;
  // same | different | not-recorded (a call had no recorded answer) |
  // not-compared (a dry run of a family with no recorded outcome to compare:
  // its emits are listed) | dead-letter (the worker would refuse it) |
  // refused (the database refused its writes) | unsupported (no handler) |
  // reprocessed
  std::string verdict;
  std::string reason;                     // dead-letter / unsupported: why
  std::vector<Difference> differences;    // dry run
  std::vector<std::string> not_recorded;  // nodes without a recorded answer
  std::string written;                    // what the handler wrote (status, notifications, steps)
  std::vector<std::string> emits;         // "<topic> <key>" of the events it emits
  std::string new_execution_id;           // reprocess
};

class EventReplayer {
 public:
  EventReplayer(EventReplayOptions options, const consumers::SchemaRegistry& schemas);
  ~EventReplayer();
  // Null when the event is not selected.  Throws on database failures.
  std::optional<EventOutcome> Replay(const RawMessage& message);

 private:
  void DryRun(consumers::WorkItem& item, consumers::BatchHandler& handler, EventOutcome& out);
  void DryRunUncompared(consumers::WorkItem& item, consumers::BatchHandler& handler, EventOutcome& out);
  void Reprocess(consumers::WorkItem& item, consumers::BatchHandler& handler, EventOutcome& out);
  // False (and the outcome says why) when the organisation does not exist.
  bool EnterTenant(pqxx::transaction_base& txn, const std::string& org, EventOutcome& out);

  EventReplayOptions options_;
  common::ManualClock clock_;  // each event runs at the time its execution started
  consumers::EnvelopeParser parser_;
  std::vector<std::unique_ptr<consumers::BatchHandler>> handlers_;
  std::unique_ptr<pqxx::connection> conn_;
  outbox::OutboxBatch outbox_;
};

}  // namespace hub::ops
