#pragma once
// One info line per finished execution, read from the workflow.completed
// events of a committed batch: the commit has happened, so a line never
// reports an execution that was rolled back, and both places where
// executions finish (the trigger's batch, the step runner) are covered.
#include <string>

#include "outbox/rows.hpp"

namespace hub::worker {

// Logs "execution finished" (execution, workflow, organization, status,
// duration_ms, nodes, trace_id, error) for each row of `rows` on
// `completed_topic`.  Does nothing below info level.
void LogFinishedExecutions(const outbox::CommittedOutbox& rows, const std::string& completed_topic);

}  // namespace hub::worker
