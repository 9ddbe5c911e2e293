#include "consumers/workflows/triggered_handler.hpp"

#include <map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/ids.hpp"
#include "common/log.hpp"
#include "consumers/workflows/notification_rows.hpp"
#include "consumers/workflows/completion.hpp"
#include "engine/cloud_event.hpp"
#include "store/pg_array.hpp"
#include "store/statements.hpp"
#include "consumers/workflows/statements.hpp"

namespace hub::workflows {

using consumers::WorkItem;
namespace {

std::string_view StringField(const rapidjson::Value& obj, const char* key) {
  auto m = obj.FindMember(key);
  if (m == obj.MemberEnd() || !m->value.IsString()) return {};
  return {m->value.GetString(), m->value.GetStringLength()};
}

std::string ValueJson(const rapidjson::Value* v) {
  if (!v) return "{}";
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v->Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}


}  // namespace

std::string ExecutionIdOf(const WorkItem& item, std::string_view org) {
  if (item.replay_of.empty())
    return common::TimeOrderedUuid(item.env.time_unix_us / 1000, org, item.env.source, item.env.id);
  return common::TimeOrderedUuid(item.env.time_unix_us / 1000, org, item.env.source,
                                 item.env.id + "\x1freplay\x1f" + item.replay_run);
}

WorkflowTriggeredHandler::WorkflowTriggeredHandler(std::string topic_prefix, engine::ExecutionLimits limits,
                                                   size_t max_event_bytes, const common::Clock& clock)
    : completed_topic_(std::move(topic_prefix) + "workflow.completed"),
      limits_(limits),
      max_event_bytes_(max_event_bytes),
      clock_(clock) {}

void WorkflowTriggeredHandler::Prepare(pqxx::connection& conn) { PrepareStatements(conn); }

void WorkflowTriggeredHandler::Load(pqxx::transaction_base& txn, const std::string& org,
                                    const std::vector<WorkItem*>& items) {
  std::map<std::string_view, std::shared_ptr<const engine::CompiledWorkflow>> wanted;
  for (auto* it : items) wanted[StringField(it->env.data(), "workflowId")] = nullptr;
  cache_.Load(txn, org, wanted);
  for (auto* it : items) {
    std::string_view wid = StringField(it->env.data(), "workflowId");
    auto w = wanted.find(wid);
    if (w == wanted.end() || !w->second) {
      it->Fail(common::ErrorClass::kNotFound,
               "workflow '" + std::string(wid) + "' not found in organization '" + org +
                   "' (it does not exist, or belongs to another organization)");
    } else {
      it->loaded = w->second;
    }
  }
}

void WorkflowTriggeredHandler::Apply(pqxx::transaction_base& txn, const std::string& org,
                                     const std::vector<WorkItem*>& fresh, outbox::OutboxBatch& outbox) {
  if (fresh.empty()) return;
  using store::PgArray;
  using store::PgElement;
  PgArray id(PgElement::kText), workflow_id(PgElement::kText), status(PgElement::kText),
      started(PgElement::kTimestamptz), completed(PgElement::kTimestamptz), duration(PgElement::kInt4),
      inputs(PgElement::kJsonb), output(PgElement::kJsonb), error(PgElement::kText), logs(PgElement::kJsonb),
      nodes(PgElement::kInt4), tokens(PgElement::kInt4), cost(PgElement::kFloat8), trig_id(PgElement::kText),
      trig_source(PgElement::kText), triggered_by(PgElement::kText), correlation(PgElement::kText),
      traceparent(PgElement::kText), next_node(PgElement::kText), node_outputs(PgElement::kJsonb);
  // Executions that parked: one durable step per parked node (schemas/sql/0016).
  PgArray s_exec(PgElement::kText), s_node(PgElement::kText), s_kind(PgElement::kText),
      s_due(PgElement::kTimestamptz), s_trigger(PgElement::kJsonb), s_request(PgElement::kJsonb);
  NotificationRows notifications;
  struct Counter {
    int n = 0;
    int64_t last_us = 0;
  };
  std::map<std::string, Counter> counters;
  // One "execution finished" line per execution, written after the commit.
  const bool log_finished = common::LogEnabled(common::LogLevel::kInfo);
  const std::string log_ts = log_finished ? common::LogTimestamp() : std::string();
  engine::ExecutionResult result;
  PgArray replay_ids(PgElement::kText), replay_of(PgElement::kText);  // replay --reprocess only

  for (auto* it : fresh) {
    const auto& wf = *static_cast<const engine::CompiledWorkflow*>(it->loaded.get());
    const rapidjson::Value& data = it->env.data();
    // Derived from the trigger's identity, which is scoped by organisation;
    // a reprocess's from the run too, so that it is a new execution.
    const int64_t start_us = clock_.NowUnixMicros();
    const std::string exec_id = ExecutionIdOf(*it, org);
    auto in = data.FindMember("input");
    const rapidjson::Value* input = in != data.MemberEnd() ? &in->value : nullptr;

    if (it->refused.empty()) {
      engine::RunWorkflow(wf, engine::TriggerInput{&it->env.doc, input, exec_id, start_us}, limits_, result);
    } else {
      result = engine::ExecutionResult{};
      result.status = engine::ExecutionStatus::kFailed;
      result.error = engine::Excerpt(it->refused, engine::kMaxErrorBytes);
    }
    const int64_t end_us = clock_.NowUnixMicros();
    const int64_t duration_ms = (end_us - start_us) / 1000;

    const bool parked = result.status == engine::ExecutionStatus::kRunning;
    engine::WorkflowCompleted ev;
    ev.organization_id = org;
    ev.workflow_id = wf.id;
    ev.execution_id = exec_id;
    ev.duration_ms = duration_ms;
    ev.trigger_event_id = it->env.id;
    ev.trigger_time = it->env.time;
    ev.correlation_id = StringField(data, "correlationId");
    ev.traceparent = it->env.traceparent;
    ev.now_unix_us = end_us;
    ev.replay_of = it->replay_of;
    MarkReplay(result, it->replay_of);
    if (!it->replay_of.empty()) {
      replay_ids.Add(exec_id);
      replay_of.Add(it->replay_of);
    }
    std::string completion = parked ? std::string() : CompletionWithin(ev, result, max_event_bytes_);
    if (log_finished && !parked) AppendFinishedLog(outbox.log_lines(), log_ts, ev, result);

    id.Add(exec_id);
    workflow_id.Add(wf.id);
    status.Add(engine::ToString(result.status));
    it->outcome_failed = result.status == engine::ExecutionStatus::kFailed;
    started.AddTimestamp(start_us);
    if (parked) {
      completed.AddNull();
      duration.AddNull();
      next_node.Add(result.waiting_at);
      node_outputs.Add(result.nodes_json);
      const std::string trigger_json = ValueJson(&it->env.doc);
      for (const auto& p : result.parked) {
        s_exec.Add(exec_id);
        s_node.Add(p.node_id);
        s_kind.Add(p.kind);
        s_due.AddTimestamp(p.due_us);
        s_trigger.Add(trigger_json);
        if (p.request.empty()) s_request.AddNull();
        else s_request.Add(p.request);
      }
    } else {
      completed.AddTimestamp(end_us);
      duration.AddInt(duration_ms);
      next_node.AddNull();
      node_outputs.AddNull();
    }
    inputs.Add(ValueJson(input));
    if (result.error.empty()) {
      output.Add(result.output_json);
      error.AddNull();
    } else {
      output.AddNull();
      error.Add(result.error);
    }
    logs.Add(result.logs_json);
    nodes.AddInt(result.nodes_executed);
    tokens.AddInt(result.tokens_used);
    cost.AddFloat(result.cost);
    trig_id.Add(it->env.id);
    trig_source.Add(it->env.source);
    auto opt = [](std::string_view v, store::PgArray& a) { v.empty() ? a.AddNull() : a.Add(v); };
    opt(StringField(data, "triggeredBy"), triggered_by);
    opt(StringField(data, "correlationId"), correlation);
    opt(it->env.traceparent, traceparent);

    for (const auto& n : result.notifications) notifications.Add(n);
    Counter& c = counters[wf.id];
    ++c.n;
    c.last_us = std::max(c.last_us, end_us);

    if (!parked) outbox.Add(completed_topic_, wf.id, std::move(completion));
  }

  txn.exec_prepared(sql::kInsertExecutions, id.param(), org, workflow_id.param(), status.param(),
                    started.param(), completed.param(), duration.param(), inputs.param(), output.param(),
                    error.param(), logs.param(), nodes.param(), tokens.param(), cost.param(), trig_id.param(),
                    trig_source.param(), triggered_by.param(), correlation.param(), traceparent.param(),
                    next_node.param(), node_outputs.param());
  if (replay_ids.size() > 0)
    txn.exec_prepared(sql::kMarkReplays, replay_ids.param(), replay_of.param());
  if (s_exec.size() > 0) {
    txn.exec_prepared(workflows::sql::kInsertSteps, org, s_exec.param(), s_node.param(), s_kind.param(), s_due.param(),
                      s_trigger.param(), s_request.param());
    txn.exec_prepared(workflows::sql::kNotifySteps);  // wakes the step runners at commit
  }
  notifications.Insert(txn, org);
  PgArray c_id(PgElement::kText), c_n(PgElement::kInt4), c_t(PgElement::kTimestamptz);
  for (const auto& [wid, c] : counters) {
    c_id.Add(wid);
    c_n.AddInt(c.n);
    c_t.AddTimestamp(c.last_us);
  }
  txn.exec_prepared(sql::kBumpWorkflowCounters, c_id.param(), c_n.param(), c_t.param());
}

}  // namespace hub::workflows
