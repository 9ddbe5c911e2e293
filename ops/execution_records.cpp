#include "ops/execution_records.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/ids.hpp"

namespace hub::ops {
namespace {

// Notifications of an execution: ids "<execution id>:<node id>", read as a
// range of the (COLLATE "C") primary key.  ';' follows ':' in byte order.
constexpr const char* kNotificationsOf =
    "SELECT id, user_id, title, message, type, coalesce(metadata::text, '{}') FROM notifications"
    " WHERE id >= $1 || ':' AND id < $1 || ';' ORDER BY id";

int64_t TriggerTimeMs(const std::string& execution_id) {
  // The first 48 bits of a time-ordered execution id (12 hex digits around a dash).
  std::string hex;
  for (char c : execution_id) {
    if (c == '-') continue;
    hex += c;
    if (hex.size() == 12) break;
  }
  if (hex.size() != 12) return -1;
  try {
    return static_cast<int64_t>(std::stoull(hex, nullptr, 16));
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

std::optional<StoredExecution> LoadExecution(pqxx::transaction_base& txn, const std::string& execution_id) {
  const pqxx::result rows = txn.exec_params(
      "SELECT id, workflow_id, organization_id, (extract(epoch FROM started_at) * 1000000)::bigint,"
      " coalesce(input::text, '{}'), coalesce(trigger_event_id, ''), coalesce(trigger_source, ''),"
      " coalesce(triggered_by, ''), coalesce(correlation_id, ''), coalesce(traceparent, ''), coalesce(replay_of, ''),"
      " status::text, coalesce(output::text, ''), coalesce(error, ''), logs::text, nodes_executed, tokens_used,"
      " cost::float8"
      " FROM workflow_executions WHERE id = $1",
      execution_id);
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  StoredExecution e;
  e.id = r[0].as<std::string>();
  e.workflow_id = r[1].as<std::string>();
  e.organization_id = r[2].as<std::string>();
  e.started_us = r[3].as<int64_t>();
  e.input_json = r[4].as<std::string>();
  e.trigger_event_id = r[5].as<std::string>();
  e.trigger_source = r[6].as<std::string>();
  e.triggered_by = r[7].as<std::string>();
  e.correlation_id = r[8].as<std::string>();
  e.traceparent = r[9].as<std::string>();
  e.replay_of = r[10].as<std::string>();
  e.record.status = r[11].as<std::string>();
  e.record.output_json = r[12].as<std::string>();
  e.record.error = r[13].as<std::string>();
  e.record.logs_json = r[14].as<std::string>();
  e.record.nodes_executed = r[15].as<int>();
  e.record.tokens_used = r[16].as<int64_t>();
  e.record.cost = r[17].as<double>();
  for (const auto& n : txn.exec_params(kNotificationsOf, execution_id)) {
    engine::NotificationWrite w;
    w.id = n[0].as<std::string>();
    w.user_id = n[1].as<std::string>();
    w.title = n[2].as<std::string>();
    w.message = n[3].as<std::string>();
    w.type = n[4].as<std::string>();
    w.metadata_json = n[5].as<std::string>();
    e.record.notifications.push_back(std::move(w));
  }
  return e;
}

std::string TriggerOf(const StoredExecution& e) {
  rapidjson::Document input;
  input.Parse(e.input_json.data(), e.input_json.size());
  if (input.HasParseError()) input.SetObject();
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  str("specversion", "1.0");
  str("id", e.trigger_event_id);
  str("source", e.trigger_source);
  str("type", "workflow.triggered");
  const int64_t ms = TriggerTimeMs(e.id);
  if (ms >= 0) str("time", common::FormatRfc3339(ms * 1000));
  if (!e.traceparent.empty()) str("traceparent", e.traceparent);
  w.Key("data");
  w.StartObject();
  str("organizationId", e.organization_id);
  str("workflowId", e.workflow_id);
  w.Key("input");
  input.Accept(w);
  if (!e.triggered_by.empty()) str("triggeredBy", e.triggered_by);
  if (!e.correlation_id.empty()) str("correlationId", e.correlation_id);
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

void SetAsideForDryRun(pqxx::transaction_base& txn, const std::string& execution_id) {
  txn.exec_params("DELETE FROM notifications WHERE id >= $1 || ':' AND id < $1 || ';'", execution_id);
  txn.exec_params("DELETE FROM execution_steps WHERE execution_id = $1", execution_id);
  txn.exec_params("DELETE FROM workflow_executions WHERE id = $1", execution_id);
}

}  // namespace hub::ops
