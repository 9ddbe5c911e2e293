#pragma once
// Builds outgoing structured CloudEvents as JSON text, without a DOM.
#include <cstdint>
#include <string>
#include <string_view>

namespace hub::engine {

// The `source` attribute of every event this worker emits.
inline constexpr std::string_view kEventSource = "urn:hub:worker";

// Appends {"specversion":"1.0","id":..,"source":..,"type":..,"time":..,
// ["traceparent":..,] "subject":..,"datacontenttype":"application/json","data":
// — the caller appends the data object and then a closing '}'.
// `replay_of` (optional) becomes the extension attribute "replayof": the
// event comes from `hubworker replay --reprocess` re-running that execution.
void BeginCloudEvent(std::string& out, std::string_view id, std::string_view type, int64_t time_unix_us,
                     std::string_view traceparent, std::string_view subject, std::string_view replay_of = {});

struct WorkflowCompleted {
  std::string_view organization_id;
  std::string_view workflow_id;
  std::string_view execution_id;
  std::string_view status;       // COMPLETED | FAILED | CANCELLED
  std::string_view output_json;  // used when error is empty
  std::string_view error;
  int nodes_executed = 0;
  int64_t tokens_used = 0;
  double cost = 0;
  int64_t duration_ms = 0;
  std::string_view trigger_event_id;
  std::string_view trigger_time;
  std::string_view correlation_id;  // optional
  std::string_view traceparent;     // optional, carried from the trigger
  std::string_view replay_of;       // optional: the execution a reprocess re-ran
  int64_t now_unix_us = 0;
};

// The `workflow.completed` event; its id is the execution id, so a re-published
// copy has the same identity.
std::string BuildWorkflowCompleted(const WorkflowCompleted& c);

}  // namespace hub::engine
