#include "worker/execution_log.hpp"

#include <rapidjson/document.h>

#include "common/log.hpp"

namespace hub::worker {
namespace {

std::string Str(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return "";
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return "";
  if (it->value.IsString()) return std::string(it->value.GetString(), it->value.GetStringLength());
  if (it->value.IsInt64()) return std::to_string(it->value.GetInt64());
  return "";
}

// "00-<trace id>-<span id>-01" -> the trace id.
std::string TraceId(const std::string& traceparent) {
  return traceparent.size() >= 35 ? traceparent.substr(3, 32) : "";
}

}  // namespace

void LogFinishedExecutions(const outbox::CommittedOutbox& rows, const std::string& completed_topic) {
  if (!common::LogEnabled(common::LogLevel::kInfo)) return;
  for (const auto& r : rows.rows) {
    if (rows.topic(r) != completed_topic) continue;
    const std::string_view payload = rows.payload(r);
    rapidjson::Document doc;
    doc.Parse(payload.data(), payload.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("data")) continue;
    const rapidjson::Value& d = doc["data"];
    const std::string status = Str(d, "status");
    const std::string error = Str(d, "error");
    common::LogInfo("execution finished",
                    {{"execution", Str(d, "executionId")}, {"workflow", Str(d, "workflowId")},
                     {"organization", Str(d, "organizationId")}, {"status", status},
                     {"duration_ms", Str(d, "durationMs")}, {"nodes", Str(d, "nodesExecuted")},
                     {"trace_id", TraceId(Str(doc, "traceparent"))}, {"error", error}});
  }
}

}  // namespace hub::worker
