#include "worker/execution_log.hpp"

#include <cstdio>

#include <rapidjson/document.h>

#include "common/log.hpp"

namespace hub::worker {
namespace {

std::string_view Str(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return {};
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

// A number member as text, into `buf`.
std::string_view Num(const rapidjson::Value& obj, const char* name, char (&buf)[24]) {
  if (!obj.IsObject()) return {};
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsInt64()) return {};
  const int n = std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(it->value.GetInt64()));
  return {buf, static_cast<size_t>(n)};
}

// "00-<trace id>-<span id>-01" -> the trace id.
std::string_view TraceId(std::string_view traceparent) {
  return traceparent.size() >= 35 ? traceparent.substr(3, 32) : std::string_view();
}

}  // namespace

void LogFinishedExecutions(const outbox::CommittedOutbox& rows, const std::string& completed_topic) {
  if (!common::LogEnabled(common::LogLevel::kInfo)) return;
  // On the lane thread after every commit: one timestamp, one buffer and one
  // write(2) per batch, and the parser's memory reused from a stack buffer.
  const std::string ts = common::LogTimestamp();
  std::string lines;
  char buffer[4096];
  for (const auto& r : rows.rows) {
    if (rows.topic(r) != completed_topic) continue;
    const std::string_view payload = rows.payload(r);
    rapidjson::MemoryPoolAllocator<> pool(buffer, sizeof buffer);
    rapidjson::Document doc(&pool);
    doc.Parse(payload.data(), payload.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("data")) continue;
    const rapidjson::Value& d = doc["data"];
    char duration[24], nodes[24];
    common::AppendLogRecord(lines, common::LogLevel::kInfo, ts, "execution finished",
                            {{"execution", Str(d, "executionId")},
                             {"workflow", Str(d, "workflowId")},
                             {"organization", Str(d, "organizationId")},
                             {"status", Str(d, "status")},
                             {"duration_ms", Num(d, "durationMs", duration)},
                             {"nodes", Num(d, "nodesExecuted", nodes)},
                             {"trace_id", TraceId(Str(doc, "traceparent"))},
                             {"error", Str(d, "error")}});
  }
  if (!lines.empty()) common::WriteLog(lines);
}

}  // namespace hub::worker
