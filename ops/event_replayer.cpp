#include "ops/event_replayer.hpp"

#include "common/error.hpp"
#include "common/ids.hpp"
#include "consumers/workflows/triggered_handler.hpp"
#include "ops/execution_records.hpp"
#include "ops/execution_replay.hpp"
#include "ops/recorded_calls.hpp"
#include "store/connection.hpp"
#include "store/statements.hpp"

namespace hub::ops {
namespace {

// The family whose recorded outcome (its executions) a dry run compares with.
constexpr std::string_view kWorkflowTriggered = "workflow.triggered";

std::string Summary(const StoredExecution& e) {
  std::string s = "workflow_executions " + e.id + " " + e.record.status + ", " +
                  std::to_string(e.record.nodes_executed) + " nodes, " +
                  std::to_string(e.record.notifications.size()) + " notifications";
  return s;
}

}  // namespace

EventReplayer::EventReplayer(EventReplayOptions options, const consumers::SchemaRegistry& schemas)
    : options_(std::move(options)), parser_(schemas) {
  // A dry run reads time from its own clock, set per event; a reprocess
  // from the one it is given (the system's).
  if (!options_.reprocess || !options_.deps.clock) options_.deps.clock = &clock_;
  handlers_ = options_.catalogue->MakeHandlers(options_.deps);
}

EventReplayer::~EventReplayer() = default;

bool EventReplayer::EnterTenant(pqxx::transaction_base& txn, const std::string& org, EventOutcome& out) {
  store::SetTenant(txn, org);
  if (!txn.exec_prepared(store::sql::kOrganizationExists, org).empty()) return true;
  out.verdict = "dead-letter";
  out.reason = "organization '" + org + "' does not exist (or was deleted)";
  return false;
}

std::optional<EventOutcome> EventReplayer::Replay(const RawMessage& m) {
  const EventSelection& sel = options_.selection;
  if (!sel.key.empty() && m.key != sel.key) return std::nullopt;
  EventOutcome out;
  out.topic = m.topic;
  out.partition = m.partition;
  out.offset = m.offset;
  out.key = m.key;
  std::string_view type = m.topic;
  const std::string& prefix = options_.deps.topic_prefix;
  if (type.substr(0, prefix.size()) == prefix) type.remove_prefix(prefix.size());
  out.type = std::string(type);
  if (!sel.type.empty() && out.type != sel.type) return std::nullopt;

  consumers::WorkItem item;
  item.in.topic = m.topic;
  item.in.partition = m.partition;
  item.in.offset = m.offset;
  item.in.key = m.key;
  item.in.value = m.value;
  for (const auto& [n, v] : m.headers) item.in.headers.emplace_back(n, v);
  item.family = options_.catalogue->IndexOf(type);
  if (item.family < 0) {
    if (!sel.event_id.empty() || !sel.organization.empty()) return std::nullopt;
    out.verdict = "dead-letter";
    out.reason = "type \"" + out.type + "\" is not an event type of the catalogue";
    return out;
  }
  try {
    parser_.Parse(item.in, type, item.env);
  } catch (const common::PermanentError& e) {
    if (!sel.event_id.empty() || !sel.organization.empty()) return std::nullopt;
    out.verdict = "dead-letter";
    out.reason = std::string(common::ToString(e.error_class())) + ": " + e.what();
    return out;
  }
  out.event_id = item.env.id;
  out.organization = item.env.organization_id;
  if (!sel.event_id.empty() && out.event_id != sel.event_id) return std::nullopt;
  if (!sel.organization.empty() && out.organization != sel.organization) return std::nullopt;
  consumers::BatchHandler* handler = handlers_[static_cast<size_t>(item.family)].get();
  if (!handler) {
    out.verdict = "unsupported";
    out.reason = "the worker does not consume " + out.type + " yet";
    return out;
  }
  if (!conn_ || !conn_->is_open()) {
    conn_ = store::ConnectWorker(options_.database_url);
    outbox::PrepareStatements(*conn_);
    for (auto& h : handlers_)
      if (h) h->Prepare(*conn_);
  }
  try {
    if (options_.reprocess) Reprocess(item, *handler, out);
    else if (out.type == kWorkflowTriggered) DryRun(item, *handler, out);
    else DryRunUncompared(item, *handler, out);
  } catch (const pqxx::sql_error& e) {
    // The database refused the event's writes (the worker would record a
    // FAILED execution with this reason): this event's outcome, not the run's.
    // (Serialization failures and lost connections are not sql_errors in
    // libpqxx 6: they end the run.)
    outbox_.Clear();
    out.verdict = "refused";
    out.reason = e.what();
  } catch (...) {
    outbox_.Clear();
    conn_.reset();
    throw;
  }
  return out;
}

void EventReplayer::DryRun(consumers::WorkItem& item, consumers::BatchHandler& handler, EventOutcome& out) {
  pqxx::work txn(*conn_);  // never committed
  const std::string org = item.env.organization_id;
  if (!EnterTenant(txn, org, out)) return;
  const std::string exec_id = workflows::ExecutionIdOf(item, org);
  out.execution_id = exec_id;
  const std::optional<StoredExecution> recorded = LoadExecution(txn, exec_id);
  const RecordedCalls calls = LoadRecordedCalls(txn, exec_id);
  // The handler runs at the time the original started: a delay then ends
  // when it did.
  const int64_t at = recorded ? recorded->started_us : item.env.time_unix_us;
  clock_.Advance(std::chrono::microseconds(at - clock_.NowUnixMicros()));
  if (recorded) SetAsideForDryRun(txn, exec_id);

  std::vector<consumers::WorkItem*> items{&item};
  handler.Load(txn, org, items);
  ExecutionRecord replayed;
  if (item.state == consumers::ItemState::kFailed) {
    out.verdict = "dead-letter";
    out.reason = std::string(common::ToString(item.error_class)) + ": " + item.reason;
    if (recorded)
      out.differences.push_back({"execution", recorded->record.status, "(none: dead letter)"});
    outbox_.Clear();
    return;
  }
  handler.Apply(txn, org, items, outbox_);
  const outbox::CommittedOutbox emitted = outbox_.TakeCommitted();
  for (const auto& row : emitted.rows)
    out.emits.push_back(std::string(emitted.topic(row)) + " " + std::string(emitted.key(row)));
  const std::optional<StoredExecution> written = LoadExecution(txn, exec_id);
  if (!written) {
    out.verdict = "different";
    out.differences.push_back({"execution", recorded ? recorded->record.status : "(none)", "(none written)"});
    return;
  }
  out.written = Summary(*written);
  const auto* wf = static_cast<const engine::CompiledWorkflow*>(item.loaded.get());
  if (written->record.status == "RUNNING" && wf) {
    // Parked at a delay or a call: carried to its end in memory.
    out.written += ", parked at a durable step";
    const ReplayedExecution rest =
        ReplayExecution(*wf, item.env.doc, exec_id, written->started_us, calls, options_.deps.limits);
    replayed = RecordOf(rest.result, rest.notifications);
    out.not_recorded = rest.not_recorded;
    if (rest.result.status != engine::ExecutionStatus::kRunning)
      out.emits.push_back(options_.deps.topic_prefix + "workflow.completed " + wf->id +
                          " (after its steps)");
  } else {
    replayed = written->record;
  }
  txn.abort();
  if (recorded) out.differences = DiffExecutions(recorded->record, replayed);
  else out.differences.push_back({"execution", "(none recorded)", replayed.status});
  out.verdict = !out.not_recorded.empty() ? "not-recorded" : out.differences.empty() ? "same" : "different";
}

void EventReplayer::DryRunUncompared(consumers::WorkItem& item, consumers::BatchHandler& handler,
                                     EventOutcome& out) {
  pqxx::work txn(*conn_);  // never committed
  const std::string org = item.env.organization_id;
  if (!EnterTenant(txn, org, out)) return;
  clock_.Advance(std::chrono::microseconds(item.env.time_unix_us - clock_.NowUnixMicros()));
  std::vector<consumers::WorkItem*> items{&item};
  handler.Load(txn, org, items);
  if (item.state == consumers::ItemState::kFailed) {
    out.verdict = "dead-letter";
    out.reason = std::string(common::ToString(item.error_class)) + ": " + item.reason;
    return;
  }
  handler.Apply(txn, org, items, outbox_);
  const outbox::CommittedOutbox emitted = outbox_.TakeCommitted();
  for (const auto& row : emitted.rows)
    out.emits.push_back(std::string(emitted.topic(row)) + " " + std::string(emitted.key(row)));
  txn.abort();
  out.verdict = "not-compared";
  out.reason = "no recorded outcome of " + out.type + " to compare with: what it would emit is listed";
}

void EventReplayer::Reprocess(consumers::WorkItem& item, consumers::BatchHandler& handler, EventOutcome& out) {
  pqxx::work txn(*conn_);
  const std::string org = item.env.organization_id;
  if (!EnterTenant(txn, org, out)) return;
  if (out.type == kWorkflowTriggered) {
    out.execution_id = workflows::ExecutionIdOf(item, org);
    item.replay_of = out.execution_id;
    item.replay_run = options_.run_id;
    out.new_execution_id = workflows::ExecutionIdOf(item, org);
  }
  if (options_.deps.clock == &clock_)
    clock_.Advance(std::chrono::microseconds(common::NowUnixMicros() - clock_.NowUnixMicros()));
  std::vector<consumers::WorkItem*> items{&item};
  handler.Load(txn, org, items);
  if (item.state == consumers::ItemState::kFailed) {
    out.verdict = "dead-letter";
    out.reason = std::string(common::ToString(item.error_class)) + ": " + item.reason;
    out.new_execution_id.clear();
    return;
  }
  handler.Apply(txn, org, items, outbox_);
  outbox_.Flush(txn, /*notify=*/!options_.on_committed);
  txn.commit();
  outbox::CommittedOutbox committed = outbox_.TakeCommitted();
  for (const auto& row : committed.rows)
    out.emits.push_back(std::string(committed.topic(row)) + " " + std::string(committed.key(row)));
  if (options_.on_committed && !committed.rows.empty()) options_.on_committed(std::move(committed));
  out.verdict = "reprocessed";
}

}  // namespace hub::ops
