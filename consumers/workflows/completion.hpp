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

// Appends the "execution finished" log record (execution, workflow,
// organization, status, duration_ms, nodes, trace_id, error) of a finished
// execution to `out`: built where the completion is, from what is in memory,
// and written after the commit (CommittedOutbox::log_lines).  `ts` is the
// round's timestamp (common::LogTimestamp).
void AppendFinishedLog(std::string& out, std::string_view ts, const engine::WorkflowCompleted& ev,
                       const engine::ExecutionResult& result);

}  // namespace hub::workflows
