#include "consumers/workflows/completion.hpp"

#include <cstdio>

#include "common/json_text.hpp"
#include "common/log.hpp"

namespace hub::workflows {

std::string CompletionWithin(engine::WorkflowCompleted ev, engine::ExecutionResult& result, size_t max_event_bytes) {
  ev.status = engine::ToString(result.status);
  ev.output_json = result.output_json;
  ev.error = result.error;
  ev.nodes_executed = result.nodes_executed;
  ev.tokens_used = result.tokens_used;
  ev.cost = result.cost;
  std::string completion = engine::BuildWorkflowCompleted(ev);
  if (completion.size() <= max_event_bytes) return completion;
  const size_t size = completion.size();
  result.status = engine::ExecutionStatus::kFailed;
  result.error = "the completion event would be " + std::to_string(size) + " bytes, over the producer's limit of " +
                 std::to_string(max_event_bytes) +
                 " bytes (message.max.bytes less room for the key and headers); the output was not kept";
  result.output_json = "{}";
  result.notifications.clear();
  ev.status = engine::ToString(result.status);
  ev.output_json = result.output_json;
  ev.error = result.error;
  return engine::BuildWorkflowCompleted(ev);
}

void MarkReplay(engine::ExecutionResult& result, std::string_view replay_of) {
  if (replay_of.empty()) return;
  for (auto& n : result.notifications) {
    // metadata_json is the engine's object: {"executionId":..,...}.
    if (n.metadata_json.size() < 2 || n.metadata_json.back() != '}') continue;
    n.metadata_json.pop_back();
    n.metadata_json += n.metadata_json.size() > 1 ? ",\"replayOf\":" : "\"replayOf\":";
    common::AppendJsonString(n.metadata_json, replay_of);
    n.metadata_json += '}';
  }
}

void AppendFinishedLog(std::string& out, std::string_view ts, const engine::WorkflowCompleted& ev,
                       const engine::ExecutionResult& result) {
  char duration[24], nodes[24];
  const int d = std::snprintf(duration, sizeof duration, "%lld", static_cast<long long>(ev.duration_ms));
  const int n = std::snprintf(nodes, sizeof nodes, "%d", result.nodes_executed);
  // "00-<trace id>-<span id>-01" -> the trace id.
  const std::string_view trace = ev.traceparent.size() >= 35 ? ev.traceparent.substr(3, 32) : std::string_view();
  common::AppendLogRecord(out, common::LogLevel::kInfo, ts, "execution finished",
                          {{"execution", ev.execution_id},
                           {"workflow", ev.workflow_id},
                           {"organization", ev.organization_id},
                           {"status", engine::ToString(result.status)},
                           {"duration_ms", std::string_view(duration, static_cast<size_t>(d))},
                           {"nodes", std::string_view(nodes, static_cast<size_t>(n))},
                           {"trace_id", trace},
                           {"error", result.error}});
}

}  // namespace hub::workflows
