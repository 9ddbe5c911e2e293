#include "consumers/workflows/step_runner.hpp"

#include <map>
#include <optional>
#include <random>
#include <set>

#include <rapidjson/document.h>

#include "common/ids.hpp"
#include "common/log.hpp"
#include "consumers/partition_retry.hpp"
#include "consumers/workflows/notification_rows.hpp"
#include "consumers/workflows/completion.hpp"
#include "store/connection.hpp"
#include "store/pg_array.hpp"
#include "store/statements.hpp"
#include "consumers/workflows/statements.hpp"

namespace hub::workflows {
namespace {

using store::PgArray;
using store::PgElement;

std::string_view StringAt(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return {};
  auto m = obj.FindMember(key);
  if (m == obj.MemberEnd() || !m->value.IsString()) return {};
  return {m->value.GetString(), m->value.GetStringLength()};
}

// What one call means for its node: its output, its failure, or (retryable
// non-empty) a reason to try again later.
struct CallVerdict {
  std::string output, error, retryable;
  int64_t retry_after_ms = -1;  // the answer's Retry-After, if any
};

CallVerdict Judge(const clients::HttpOutcome& o) {
  CallVerdict v;
  switch (o.kind) {
    case clients::HttpOutcome::Kind::kResponse:
      if (engine::RetryableStatus(o.response.status))
        v.retryable = "the call answered HTTP " + std::to_string(o.response.status);
      else if (o.response.status >= 400)
        v.error = "the call answered HTTP " + std::to_string(o.response.status);
      else
        v.output = engine::HttpNodeOutput(o.response);
      break;
    case clients::HttpOutcome::Kind::kRetryable:
      v.retryable = o.error;
      break;
    case clients::HttpOutcome::Kind::kRefused:
      v.error = o.error;
      break;
  }
  v.retry_after_ms = o.retry_after_ms;
  return v;
}

CallVerdict Judge(const clients::ModelOutcome& o, const engine::ModelCall& call) {
  CallVerdict v;
  switch (o.answer.kind) {
    case engine::ModelAnswer::Kind::kAnswer:
      v.output = engine::AgentNodeOutput(call, o.answer, o.provider);
      break;
    case engine::ModelAnswer::Kind::kRetryable:
      v.retryable = o.answer.error;
      break;
    case engine::ModelAnswer::Kind::kError:
      v.error = o.answer.error;
      break;
  }
  v.retry_after_ms = o.retry_after_ms;
  return v;
}

// hub_step_calls_total's outcome of a model call (HttpOutcome::Kind order).
size_t CallOutcomeIndex(const engine::ModelAnswer& a) {
  return a.kind == engine::ModelAnswer::Kind::kRetryable ? 1 : 0;
}

// Index of a step kind in common::Metrics::kStepTypes.
size_t TypeIndex(const std::string& kind) { return kind == "http_request" ? 1 : kind == "ai_agent" ? 2 : 0; }
enum Outcome : size_t { kCompletedStep = 0, kFailedStep = 1, kRetriedStep = 2, kCancelledStep = 3 };

const rapidjson::Value* MemberAt(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto m = obj.FindMember(key);
  return m == obj.MemberEnd() ? nullptr : &m->value;
}

}  // namespace

// A parked execution as a round of resumes leaves it.
struct Execution {
  std::string id, workflow_id, status, output, logs, node_outputs, error, waiting_at, completion, trigger_text;
  std::string replay_of;  // an execution of `replay --reprocess`: the one it re-ran
  int64_t tokens_used = 0;  // what its model calls used so far
  double cost = 0;
  bool has_node_outputs = false;
  bool changed = false;
  bool ended = false;  // in this round
  int nodes_executed = 0;
  int64_t started_us = 0, duration_ms = 0;
  std::vector<engine::ParkedStep> parked;  // new steps to insert
  std::vector<engine::NotificationWrite> notifications;
};

struct WorkflowStepRunner::Claimed {
  std::string org, execution_id, node_id, trigger_text, kind, nodes_text, request_text;
  int64_t due_us = 0;
  int calls = 0;  // made before this round
  std::optional<CallVerdict> verdict;  // http_request, ai_agent: what this round's call says
  engine::NodeRetry retry;             // of the stored request
  int64_t timeout_ms = 0;              // ai_agent: of the stored request
};

class WorkflowStepRunner::Listener : public pqxx::notification_receiver {
 public:
  Listener(pqxx::connection_base& conn, bool& notified)
      : pqxx::notification_receiver(conn, workflows::kStepsChannel), notified_(notified) {}
  void operator()(const std::string&, int) override { notified_ = true; }

 private:
  bool& notified_;
};

WorkflowStepRunner::WorkflowStepRunner(StepRunnerOptions options, common::Metrics& metrics)
    : options_(std::move(options)), metrics_(metrics) {}

WorkflowStepRunner::~WorkflowStepRunner() { Stop(); }

void WorkflowStepRunner::Start() {
  thread_ = std::thread([this] { Run(); });
}

void WorkflowStepRunner::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void WorkflowStepRunner::Connect() {
  if (conn_ && conn_->is_open()) return;
  listener_.reset();
  conn_ = store::ConnectWorker(options_.database_url);
  outbox::PrepareStatements(*conn_);
  PrepareStatements(*conn_);
  listener_ = std::make_unique<Listener>(*conn_, notified_);  // LISTEN hub_steps
  notified_ = true;  // steps may have been parked while nobody listened
}

void WorkflowStepRunner::Run() {
  int failures = 0;
  while (!stop_) {
    try {
      Connect();
      const size_t resumed = RunOnce();
      failures = 0;
      if (resumed < static_cast<size_t>(options_.batch)) WaitForWork();
    } catch (const std::exception& e) {
      outbox_.Clear();
      listener_.reset();
      conn_.reset();
      ++failures;
      common::LogWarn("step runner round failed; steps stay for a later round", {{"error", e.what()}});
      // Backoff, interruptible by Stop().
      for (int i = 0; i < std::min(failures, 10) * 5 && !stop_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  listener_.reset();
  conn_.reset();
}

void WorkflowStepRunner::WaitForWork() {
  int64_t wait_ms = options_.max_wait_ms;
  {
    pqxx::nontransaction q(*conn_);
    const int64_t now_us = options_.clock->NowUnixMicros();
    auto outlook = q.exec_prepared1(workflows::sql::kStepsOutlook, common::FormatRfc3339(now_us));
    if (!outlook[0].is_null()) wait_ms = std::clamp<int64_t>((outlook[0].as<int64_t>() - now_us) / 1000, 0, wait_ms);
    metrics_.steps_waiting = outlook[1].as<int64_t>();
    metrics_.steps_due = outlook[2].as<int64_t>();
  }
  // In slices, so that Stop() is seen within 200 ms; a slice only waits on
  // the socket, it does not query.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  notified_ = false;
  while (!notified_ && !stop_) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    const int64_t slice = std::min<int64_t>(left, 200);
    conn_->await_notification(slice / 1000, (slice % 1000) * 1000);
  }
}

size_t WorkflowStepRunner::RunOnce() {
  Connect();
  const int64_t now_us = options_.clock->NowUnixMicros();
  const auto claimed_at = options_.clock->Steady();
  std::vector<Claimed> claimed;
  {
    pqxx::work t(*conn_);
    auto rows = t.exec_prepared(workflows::sql::kClaimSteps, options_.batch, common::FormatRfc3339(now_us),
                                options_.lease_ms, options_.owner);
    t.commit();
    for (const auto& r : rows) {
      Claimed c;
      c.org = r[0].as<std::string>();
      c.execution_id = r[1].as<std::string>();
      c.node_id = r[2].as<std::string>();
      c.due_us = r[3].as<int64_t>();
      // Claimed before by a worker whose lease ran out (crashed, or too slow).
      if (r[4].as<int>() > 1) metrics_.step_leases_expired.fetch_add(1, std::memory_order_relaxed);
      c.trigger_text = r[5].as<std::string>();
      c.kind = r[6].as<std::string>();
      c.nodes_text = r[7].as<std::string>();
      c.request_text = r[8].as<std::string>();
      c.calls = r[9].as<int>();
      metrics_.steps_started[TypeIndex(c.kind)].fetch_add(1, std::memory_order_relaxed);
      claimed.push_back(std::move(c));
    }
  }
  if (claimed.empty()) return 0;
  Call(claimed);
  try {
    return Resume(claimed, claimed_at);
  } catch (...) {
    outbox_.Clear();
    throw;
  }
}

void WorkflowStepRunner::Call(std::vector<Claimed>& claimed) {
  std::vector<Claimed*> calls;
  for (auto& c : claimed)
    if (c.kind == "http_request" || c.kind == "ai_agent") calls.push_back(&c);
  if (calls.empty()) return;
  // The model calls of ai_agent steps: their requests, and the agents they
  // name, read under each step's tenant before any call is made.
  std::vector<std::optional<engine::ModelCall>> model_calls(calls.size());
  PrepareModelCalls(calls, model_calls);
  if (!pool_) pool_ = std::make_unique<consumers::CallPool>(static_cast<size_t>(std::max(1, options_.concurrency)));
  pool_->RunAll(calls.size(), [&](size_t i) {
    Claimed& c = *calls[i];
    const std::string idempotency_key = c.execution_id + ":" + c.node_id;
    // The call ends before the lease does, so no other worker calls again meanwhile.
    const int64_t lease_left_ms = options_.lease_ms - 1000;
    if (c.kind == "ai_agent") {
      if (c.verdict) return;  // refused before any call (PrepareModelCalls)
      const clients::ModelOutcome outcome =
          options_.models->Complete(*model_calls[i], std::min<int64_t>(c.timeout_ms, lease_left_ms), idempotency_key);
      if (outcome.called)
        metrics_.step_calls[CallOutcomeIndex(outcome.answer)].fetch_add(1, std::memory_order_relaxed);
      c.verdict = Judge(outcome, *model_calls[i]);
      return;
    }
    engine::HttpRequestSpec spec;
    std::string why;
    clients::HttpOutcome outcome;
    if (!engine::FromJson(c.request_text, spec, why)) {
      outcome.kind = clients::HttpOutcome::Kind::kRefused;
      outcome.error = why;
    } else if (!options_.http) {
      outcome.kind = clients::HttpOutcome::Kind::kRefused;
      outcome.error = "this worker has no HTTP client";
    } else {
      c.retry = spec.retry;
      spec.timeout_ms = std::min<int64_t>(spec.timeout_ms, lease_left_ms);
      outcome = options_.http->Send(spec, {{"Idempotency-Key", idempotency_key}});
    }
    metrics_.step_calls[static_cast<size_t>(outcome.kind)].fetch_add(1, std::memory_order_relaxed);
    c.verdict = Judge(outcome);
  });
}

void WorkflowStepRunner::PrepareModelCalls(const std::vector<Claimed*>& calls,
                                           std::vector<std::optional<engine::ModelCall>>& model_calls) {
  std::vector<engine::AgentRequestSpec> specs(calls.size());
  std::map<std::string, std::set<std::string>> agents_by_org;  // the agents to read, per organisation
  for (size_t i = 0; i < calls.size(); ++i) {
    Claimed& c = *calls[i];
    if (c.kind != "ai_agent") continue;
    std::string why;
    if (!engine::FromJson(c.request_text, specs[i], why)) {
      c.verdict = CallVerdict{{}, why, {}};
    } else if (!options_.models) {
      c.verdict = CallVerdict{{}, "this worker has no model client", {}};
    } else {
      c.retry = specs[i].retry;
      c.timeout_ms = specs[i].timeout_ms;
      if (!specs[i].agent_id.empty()) agents_by_org[c.org].insert(specs[i].agent_id);
    }
  }
  // (organisation, agent id) -> its settings, or why it cannot be used.
  std::map<std::pair<std::string, std::string>, std::pair<engine::ModelSettings, std::string>> agents;
  if (!agents_by_org.empty()) {
    pqxx::read_transaction t(*conn_);
    for (const auto& [org, ids] : agents_by_org) {
      store::SetTenant(t, org);  // row-level security: only this organisation's agents
      PgArray a(PgElement::kText);
      for (const auto& id : ids) a.Add(id);
      for (const auto& r : t.exec_prepared(workflows::sql::kLoadAgents, a.param())) {
        auto& entry = agents[{org, r[0].as<std::string>()}];
        if (!r[1].as<bool>()) {
          entry.second = "agent '" + engine::Excerpt(r[0].as<std::string>()) + "' is inactive (is_active = false)";
          continue;
        }
        std::string why;
        if (!engine::AgentSettings(r[2].as<std::string>(), r[3].as<std::string>(), entry.first, why))
          entry.second = "agent '" + engine::Excerpt(r[0].as<std::string>()) + "': " + why;
      }
    }
    t.commit();
  }
  for (size_t i = 0; i < calls.size(); ++i) {
    Claimed& c = *calls[i];
    if (c.kind != "ai_agent" || c.verdict) continue;
    engine::ModelSettings agent;
    if (!specs[i].agent_id.empty()) {
      auto found = agents.find({c.org, specs[i].agent_id});
      if (found == agents.end()) {
        c.verdict = CallVerdict{{}, "agent '" + engine::Excerpt(specs[i].agent_id) +
                                        "' does not exist in this organisation", {}};
        continue;
      }
      if (!found->second.second.empty()) {
        c.verdict = CallVerdict{{}, found->second.second, {}};
        continue;
      }
      agent = found->second.first;
    }
    model_calls[i] = engine::ResolveModelCall(agent, specs[i]);
  }
}

size_t WorkflowStepRunner::Resume(std::vector<Claimed>& claimed, common::Clock::SteadyTime claimed_at) {
  const common::Clock& clock = *options_.clock;
  const std::string completed_topic = options_.topic_prefix + "workflow.completed";
  pqxx::work txn(*conn_);

  // Only the steps whose lease this runner still holds: one that ran out may
  // have been claimed (and resumed) by another worker meanwhile.
  PgArray ke(PgElement::kText), kn(PgElement::kText);
  for (const auto& c : claimed) {
    ke.Add(c.execution_id);
    kn.Add(c.node_id);
  }
  std::set<std::pair<std::string, std::string>> owned;
  for (const auto& r : txn.exec_prepared(workflows::sql::kLockOwnedSteps, ke.param(), kn.param(), options_.owner))
    owned.emplace(r[0].as<std::string>(), r[1].as<std::string>());
  std::map<std::string, std::vector<Claimed*>> by_org;
  for (auto& c : claimed)
    if (owned.count({c.execution_id, c.node_id})) by_org[c.org].push_back(&c);

  const int64_t now_us = clock.NowUnixMicros();
  PgArray done_e(PgElement::kText), done_n(PgElement::kText), ended(PgElement::kText);
  PgArray r_exec(PgElement::kText), r_node(PgElement::kText), r_due(PgElement::kTimestamptz),
      r_calls(PgElement::kInt4);
  size_t resumed = 0, parked_again = 0;
  std::string log_ts;  // of the "execution finished" lines of this round
  std::vector<std::pair<size_t, size_t>> finished;  // (type, outcome) of each step settled here
  for (auto& [org, items] : by_org) {
    store::SetTenant(txn, org);
    PgArray ids(PgElement::kText);
    for (auto* c : items) ids.Add(c->execution_id);
    const pqxx::result rows = txn.exec_prepared(workflows::sql::kLoadParkedExecutions, ids.param());
    // Each execution's state as this round leaves it: steps of one execution
    // (branches) resume one after another, each from the state the one before
    // left.
    std::map<std::string_view, Execution> executions;
    std::vector<Execution*> order;  // as loaded
    for (const auto& r : rows) {
      Execution& e = executions[std::string_view(r[0].c_str(), r[0].size())];
      e.id = r[0].as<std::string>();
      e.workflow_id = r[1].as<std::string>();
      e.status = r[2].as<std::string>();
      e.output = r[3].as<std::string>();
      e.logs = r[4].as<std::string>();
      e.nodes_executed = r[5].as<int>();
      e.has_node_outputs = !r[6].is_null();
      if (e.has_node_outputs) e.node_outputs = r[6].as<std::string>();
      e.started_us = r[7].as<int64_t>();
      e.replay_of = r[8].as<std::string>();
      e.tokens_used = r[9].as<int64_t>();
      e.cost = r[10].as<double>();
      order.push_back(&e);
    }
    std::map<std::string_view, std::shared_ptr<const engine::CompiledWorkflow>> wanted;
    for (const auto* e : order) wanted[e->workflow_id] = nullptr;
    cache_.Load(txn, org, wanted);

    // What settled calls answered, recorded for replay (schemas/sql/0020).
    PgArray c_exec(PgElement::kText), c_node(PgElement::kText), c_kind(PgElement::kText),
        c_output(PgElement::kJsonb), c_error(PgElement::kText), c_attempts(PgElement::kInt4),
        c_at(PgElement::kTimestamptz);
    engine::ExecutionResult result;
    for (auto* c : items) {
      // What this round's call says, for an http_request: the node's output,
      // its failure, or another attempt later (the step stays).
      std::string node_output, node_error;
      int attempts = c->calls;
      if (c->verdict) {
        attempts = c->calls + 1;
        CallVerdict& verdict = *c->verdict;
        node_output = std::move(verdict.output);
        node_error = std::move(verdict.error);
        const std::string& retryable = verdict.retryable;
        if (!retryable.empty() && attempts < c->retry.max_attempts) {
          const consumers::RetryPolicy policy{c->retry.max_attempts, std::chrono::milliseconds(c->retry.backoff_ms),
                                              std::chrono::milliseconds(3600000)};
          int64_t wait_ms =
              consumers::BackoffDelay(policy, attempts, std::uniform_real_distribution<double>(0, 1)(rng_)).count();
          wait_ms = std::max(wait_ms, std::min<int64_t>(verdict.retry_after_ms, 3600000));
          finished.emplace_back(TypeIndex(c->kind), kRetriedStep);
          r_exec.Add(c->execution_id);
          r_node.Add(c->node_id);
          r_due.AddTimestamp(now_us + wait_ms * 1000);
          r_calls.AddInt(attempts);
          continue;  // a durable timer, not a sleeping thread
        }
        if (!retryable.empty())
          node_error = "failed after " + std::to_string(attempts) + " attempt" + (attempts == 1 ? "" : "s") +
                       "; the last: " + retryable;
      }
      done_e.Add(c->execution_id);  // the claimed step goes, whatever happens below
      done_n.Add(c->node_id);
      auto found = executions.find(c->execution_id);
      if (found == executions.end()) continue;  // the execution was deleted
      Execution& e = found->second;
      if (e.ended || (e.status != "RUNNING" && e.status != "CANCELLED")) continue;  // finished meanwhile
      if (c->verdict && e.status == "RUNNING") {
        c_exec.Add(c->execution_id);
        c_node.Add(c->node_id);
        c_kind.Add(c->kind);
        node_error.empty() && !node_output.empty() ? c_output.Add(node_output) : c_output.AddNull();
        node_error.empty() ? c_error.AddNull() : c_error.Add(node_error);
        c_attempts.AddInt(attempts);
        c_at.AddTimestamp(now_us);
      }
      rapidjson::Document trigger;
      trigger.Parse(c->trigger_text.data(), c->trigger_text.size());
      const rapidjson::Value* data = MemberAt(trigger, "data");
      const rapidjson::Value* input = data ? MemberAt(*data, "input") : nullptr;
      engine::ResumePoint point;
      point.node_id = c->node_id;
      point.output_json = e.output;
      point.logs_json = e.logs;
      point.nodes_executed = e.nodes_executed;
      point.waited_until_us = c->due_us;
      // Steps parked before node outputs moved to the execution carry them.
      point.nodes_json = e.has_node_outputs ? std::string_view(e.node_outputs) : std::string_view(c->nodes_text);
      point.node_output_json = node_output;
      point.node_error = node_error;
      point.attempts = attempts;
      point.tokens_used = e.tokens_used;
      point.cost = e.cost;
      auto wf = wanted.find(e.workflow_id);
      if (e.status == "CANCELLED") {
        // The platform cancelled it while it waited: it stops before the node.
        result = engine::ExecutionResult{};
        result.status = engine::ExecutionStatus::kCancelled;
        result.error = "the execution was cancelled before node '" + c->node_id + "' ran";
        result.output_json = e.output;
        result.logs_json = e.logs;
        result.nodes_executed = e.nodes_executed;
        result.tokens_used = e.tokens_used;
        result.cost = e.cost;
      } else if (wf == wanted.end() || !wf->second) {
        result = engine::ExecutionResult{};
        result.status = engine::ExecutionStatus::kFailed;
        result.error = "workflow '" + e.workflow_id + "' no longer exists; the execution cannot go on";
        result.output_json = e.output;
        result.logs_json = e.logs;
        result.nodes_executed = e.nodes_executed;
        result.tokens_used = e.tokens_used;
        result.cost = e.cost;
      } else {
        engine::RunWorkflow(*wf->second, engine::TriggerInput{&trigger, input, c->execution_id, now_us},
                            options_.limits, result, &point);
      }
      metrics_.steps_resumed.fetch_add(1, std::memory_order_relaxed);
      MarkReplay(result, e.replay_of);
      finished.emplace_back(TypeIndex(c->kind), result.status == engine::ExecutionStatus::kFailed      ? kFailedStep
                                                : result.status == engine::ExecutionStatus::kCancelled ? kCancelledStep
                                                                                                       : kCompletedStep);
      metrics_.step_timer_lag.Observe(static_cast<double>(std::max<int64_t>(0, now_us - c->due_us)) / 1e6);
      ++resumed;
      e.changed = true;
      if (result.status == engine::ExecutionStatus::kRunning) {
        e.node_outputs = std::move(result.nodes_json);
        e.has_node_outputs = true;
        e.waiting_at = std::move(result.waiting_at);
        if (e.trigger_text.empty()) e.trigger_text = c->trigger_text;
        for (auto& p : result.parked) e.parked.push_back(std::move(p));
      } else {
        engine::WorkflowCompleted ev;
        ev.organization_id = org;
        ev.workflow_id = e.workflow_id;
        ev.execution_id = c->execution_id;
        ev.duration_ms = (now_us - e.started_us) / 1000;
        ev.trigger_event_id = StringAt(trigger, "id");
        ev.trigger_time = StringAt(trigger, "time");
        ev.correlation_id = data ? StringAt(*data, "correlationId") : std::string_view();
        ev.traceparent = StringAt(trigger, "traceparent");
        ev.now_unix_us = now_us;
        ev.replay_of = e.replay_of;
        e.completion = CompletionWithin(ev, result, options_.max_event_bytes);  // may fail it (too large)
        if (common::LogEnabled(common::LogLevel::kInfo)) {
          if (log_ts.empty()) log_ts = common::LogTimestamp();
          AppendFinishedLog(outbox_.log_lines(), log_ts, ev, result);
        }
        e.duration_ms = ev.duration_ms;
        e.error = std::move(result.error);
        e.ended = true;
        e.parked.clear();  // nothing it parked waits any more
      }
      e.status = engine::ToString(result.status);
      e.logs = std::move(result.logs_json);
      e.nodes_executed = result.nodes_executed;
      e.tokens_used = result.tokens_used;
      e.cost = result.cost;
      e.output = std::move(result.output_json);
      for (auto& n : result.notifications) e.notifications.push_back(std::move(n));
    }

    PgArray u_id(PgElement::kText), u_status(PgElement::kText), u_completed(PgElement::kTimestamptz),
        u_duration(PgElement::kInt4), u_output(PgElement::kJsonb), u_error(PgElement::kText),
        u_logs(PgElement::kJsonb), u_nodes(PgElement::kInt4), u_next(PgElement::kText),
        u_node_outputs(PgElement::kJsonb), u_tokens(PgElement::kInt4), u_cost(PgElement::kFloat8);
    NotificationRows notifications;
    PgArray s_exec(PgElement::kText), s_node(PgElement::kText), s_kind(PgElement::kText),
        s_due(PgElement::kTimestamptz), s_trigger(PgElement::kJsonb), s_request(PgElement::kJsonb);
    for (auto* e : order) {
      if (!e->changed) continue;
      u_id.Add(e->id);
      u_status.Add(e->status);
      u_logs.Add(e->logs);
      u_nodes.AddInt(e->nodes_executed);
      u_tokens.AddInt(e->tokens_used);
      u_cost.AddFloat(e->cost);
      for (const auto& n : e->notifications) notifications.Add(n);
      if (e->status == "RUNNING") {
        u_completed.AddNull();
        u_duration.AddNull();
        u_output.Add(e->output);
        u_error.AddNull();
        u_next.Add(e->waiting_at);
        u_node_outputs.Add(e->node_outputs);
        for (const auto& p : e->parked) {
          s_exec.Add(e->id);
          s_node.Add(p.node_id);
          s_kind.Add(p.kind);
          s_due.AddTimestamp(p.due_us);
          s_trigger.Add(e->trigger_text);
          if (p.request.empty()) s_request.AddNull();
          else s_request.Add(p.request);
          ++parked_again;
        }
        continue;
      }
      u_completed.AddTimestamp(now_us);
      u_duration.AddInt(e->duration_ms);
      if (e->error.empty()) {
        u_output.Add(e->output);
        u_error.AddNull();
      } else {
        u_output.AddNull();
        u_error.Add(e->error);
      }
      u_next.AddNull();
      u_node_outputs.AddNull();
      ended.Add(e->id);  // its other steps (branches still waiting) go too
      outbox_.Add(completed_topic, e->workflow_id, e->completion);
    }
    if (u_id.size() > 0)
      txn.exec_prepared(workflows::sql::kUpdateExecutions, u_id.param(), u_status.param(), u_completed.param(),
                        u_duration.param(), u_output.param(), u_error.param(), u_logs.param(), u_nodes.param(),
                        u_next.param(), u_node_outputs.param(), u_tokens.param(), u_cost.param());
    notifications.Insert(txn, org);
    if (c_exec.size() > 0)
      txn.exec_prepared(workflows::sql::kInsertCallResults, org, c_exec.param(), c_node.param(), c_kind.param(),
                        c_output.param(), c_error.param(), c_attempts.param(), c_at.param());
    if (s_exec.size() > 0)
      txn.exec_prepared(workflows::sql::kInsertSteps, org, s_exec.param(), s_node.param(), s_kind.param(),
                        s_due.param(), s_trigger.param(), s_request.param());
  }
  if (ended.size() > 0) txn.exec_prepared(workflows::sql::kDeleteExecutionSteps, ended.param());
  if (done_e.size() > 0) txn.exec_prepared(workflows::sql::kDeleteSteps, done_e.param(), done_n.param());
  if (r_exec.size() > 0)
    txn.exec_prepared(workflows::sql::kRescheduleSteps, r_exec.param(), r_node.param(), r_due.param(), r_calls.param());
  if (parked_again > 0 || r_exec.size() > 0) txn.exec_prepared(workflows::sql::kNotifySteps);
  outbox_.Flush(txn, /*notify=*/!options_.on_committed);
  txn.commit();
  // Counted once committed: a round that fails is claimed and counted again.
  const double took = std::chrono::duration<double>(clock.Steady() - claimed_at).count();
  for (const auto& [type, outcome] : finished) {
    metrics_.steps_finished[type][outcome].fetch_add(1, std::memory_order_relaxed);
    metrics_.step_duration.Observe(took);
  }
  if (outbox_.size() > 0) {
    if (options_.on_committed) options_.on_committed(outbox_.TakeCommitted());
    else outbox_.Clear();
  }
  return resumed;
}

}  // namespace hub::workflows
