#include "consumers/workflows/completion.hpp"

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

}  // namespace hub::workflows
