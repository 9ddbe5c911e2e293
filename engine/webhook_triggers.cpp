#include "engine/webhook_triggers.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/json_text.hpp"
#include "engine/cloud_event.hpp"

namespace hub::engine {
namespace {

using common::AppendJsonString;

std::string_view Str(const rapidjson::Value& v) {
  return v.IsString() ? std::string_view(v.GetString(), v.GetStringLength()) : std::string_view();
}

std::string_view Member(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return {};
  auto m = obj.FindMember(key);
  return m == obj.MemberEnd() ? std::string_view() : Str(m->value);
}

// The node's type as the workflow compiler reads it (engine/workflow.cpp):
// `type` unless it is React-Flow's "default"/"custom", else data.type/kind/nodeType.
std::string_view NodeType(const rapidjson::Value& node) {
  std::string_view t = Member(node, "type");
  if (!t.empty() && t != "default" && t != "custom") return t;
  auto d = node.FindMember("data");
  if (d == node.MemberEnd() || !d->value.IsObject()) return {};
  for (const char* k : {"type", "kind", "nodeType"})
    if (!Member(d->value, k).empty()) return Member(d->value, k);
  return {};
}

bool ListensTo(const rapidjson::Value& data, std::string_view event_type) {
  auto m = data.FindMember("eventTypes");
  if (m == data.MemberEnd() || !m->value.IsArray() || m->value.Empty()) return true;
  for (const auto& e : m->value.GetArray())
    if (Str(e) == event_type || Str(e) == "*") return true;
  return false;
}

// The body as JSON text when it is a JSON object or array that the envelope
// would accept again; "" otherwise (the body then travels as a string only).
std::string PayloadJson(std::string_view body) {
  if (body.empty() || (body.front() != '{' && body.front() != '[') ||
      common::JsonNestsDeeperThan(body, 64))
    return {};
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !(doc.IsObject() || doc.IsArray())) return {};
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

bool TriggerListens(const rapidjson::Value& nodes, std::string_view integration_id, std::string_view event_type) {
  if (!nodes.IsArray()) return false;
  for (const auto& n : nodes.GetArray()) {
    if (!n.IsObject() || NodeType(n) != "trigger") continue;
    auto d = n.FindMember("data");
    if (d == n.MemberEnd() || !d->value.IsObject()) continue;
    if (Member(d->value, "integrationId") == integration_id && ListensTo(d->value, event_type)) return true;
  }
  return false;
}

std::string TriggeredEventId(std::string_view operation_id, std::string_view workflow_id) {
  std::string id(operation_id);
  id += ':';
  id += workflow_id;
  return id;
}

std::string BuildWebhookTriggered(const WebhookContext& c, std::string_view workflow_id) {
  std::string out;
  const std::string payload = PayloadJson(c.body);
  out.reserve(512 + c.body.size() + payload.size());
  BeginCloudEvent(out, TriggeredEventId(c.operation_id, workflow_id), "workflow.triggered", c.now_unix_us,
                  c.traceparent, workflow_id);
  out += "{\"organizationId\":";
  AppendJsonString(out, c.organization_id);
  out += ",\"workflowId\":";
  AppendJsonString(out, workflow_id);
  out += ",\"correlationId\":";
  AppendJsonString(out, c.webhook_event_id);
  out += ",\"input\":{\"integrationId\":";
  AppendJsonString(out, c.integration_id);
  out += ",\"provider\":";
  AppendJsonString(out, c.provider);
  out += ",\"eventType\":";
  AppendJsonString(out, c.event_type);
  out += ",\"operationId\":";
  AppendJsonString(out, c.operation_id);
  out += ",\"body\":";
  AppendJsonString(out, c.body);
  if (!payload.empty()) {
    out += ",\"payload\":";
    out += payload;
  }
  out += "}}}";
  return out;
}

std::string BuildIntegrationProcessed(const WebhookContext& c, std::string_view status,
                                      const std::vector<std::string>& triggered, std::string_view error) {
  std::string out;
  out.reserve(384 + triggered.size() * 40 + error.size());
  BeginCloudEvent(out, c.operation_id, "integration.processed", c.now_unix_us, c.traceparent, c.integration_id);
  out += "{\"organizationId\":";
  AppendJsonString(out, c.organization_id);
  out += ",\"integrationId\":";
  AppendJsonString(out, c.integration_id);
  out += ",\"operationId\":";
  AppendJsonString(out, c.operation_id);
  out += ",\"status\":";
  AppendJsonString(out, status);
  out += ",\"eventType\":";
  AppendJsonString(out, c.event_type);
  out += ",\"triggeredWorkflows\":[";
  for (size_t i = 0; i < triggered.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, triggered[i]);
  }
  out += ']';
  if (!error.empty()) {
    out += ",\"error\":";
    AppendJsonString(out, error);
  }
  out += "}}";
  return out;
}

}  // namespace hub::engine
