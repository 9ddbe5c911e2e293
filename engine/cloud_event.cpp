#include "engine/cloud_event.hpp"

#include <cstdio>

#include "common/ids.hpp"
#include "common/json_text.hpp"

namespace hub::engine {
using common::AppendJsonString;

void BeginCloudEvent(std::string& out, std::string_view id, std::string_view type, int64_t time_unix_us,
                     std::string_view traceparent, std::string_view subject, std::string_view replay_of) {
  out += "{\"specversion\":\"1.0\",\"id\":";
  AppendJsonString(out, id);
  out += ",\"source\":";
  AppendJsonString(out, kEventSource);
  out += ",\"type\":";
  AppendJsonString(out, type);
  out += ",\"time\":\"";
  out += common::FormatRfc3339(time_unix_us);
  out += '"';
  if (!traceparent.empty()) {
    out += ",\"traceparent\":";
    AppendJsonString(out, traceparent);
  }
  if (!subject.empty()) {
    out += ",\"subject\":";
    AppendJsonString(out, subject);
  }
  if (!replay_of.empty()) {
    out += ",\"replayof\":";
    AppendJsonString(out, replay_of);
  }
  out += ",\"datacontenttype\":\"application/json\",\"data\":";
}

std::string BuildWorkflowCompleted(const WorkflowCompleted& c) {
  std::string out;
  out.reserve(512 + c.output_json.size() + c.error.size());
  BeginCloudEvent(out, c.execution_id, "workflow.completed", c.now_unix_us, c.traceparent, c.workflow_id,
                  c.replay_of);
  out += "{\"organizationId\":";
  AppendJsonString(out, c.organization_id);
  out += ",\"workflowId\":";
  AppendJsonString(out, c.workflow_id);
  out += ",\"executionId\":";
  AppendJsonString(out, c.execution_id);
  out += ",\"status\":";
  AppendJsonString(out, c.status);
  if (c.error.empty()) {
    out += ",\"output\":";
    out += c.output_json.empty() ? std::string_view("{}") : c.output_json;
  } else {
    out += ",\"error\":";
    AppendJsonString(out, c.error);
  }
  out += ",\"nodesExecuted\":";
  common::AppendJsonInt(out, c.nodes_executed);
  out += ",\"tokensUsed\":";
  common::AppendJsonInt(out, c.tokens_used);
  char cost[32];
  std::snprintf(cost, sizeof cost, "%.2f", c.cost);
  out += ",\"cost\":";
  out += cost;
  out += ",\"durationMs\":";
  common::AppendJsonInt(out, c.duration_ms);
  out += ",\"triggerEventId\":";
  AppendJsonString(out, c.trigger_event_id);
  out += ",\"triggerTime\":";
  AppendJsonString(out, c.trigger_time);
  if (!c.correlation_id.empty()) {
    out += ",\"correlationId\":";
    AppendJsonString(out, c.correlation_id);
  }
  out += "}}";
  return out;
}

}  // namespace hub::engine
