#pragma once
// The workflow.completed event of a finished execution, within the producer's
// limit: an event that would be larger turns its execution FAILED (without
// its output and notifications) and says why, instead of being refused by
// the producer for good.  Used where executions finish: the trigger's batch
// and the step runner.
#include <string>

#include "engine/cloud_event.hpp"
#include "engine/workflow.hpp"

namespace hub::workflows {

// `ev` describes the execution except status, output and error, which come
// from `result` (which may be changed as said above).
std::string CompletionWithin(engine::WorkflowCompleted ev, engine::ExecutionResult& result, size_t max_event_bytes);

// An execution of `hubworker replay --reprocess`: its notifications say
// which execution it re-ran (metadata.replayOf), as its completion event does
// (WorkflowCompleted::replay_of).  No-op when `replay_of` is empty.
void MarkReplay(engine::ExecutionResult& result, std::string_view replay_of);

}  // namespace hub::workflows
