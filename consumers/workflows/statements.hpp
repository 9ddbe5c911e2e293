#pragma once
// The workflow family's named statements: loading workflows, recording
// executions and notifications, and durable steps (schemas/sql/0016):
// parking an execution, claiming due steps with a lease, and resuming.  Times
// are parameters, read from the worker's clock, never the server's now().
#include <pqxx/pqxx>

namespace hub::workflows {

namespace sql {
// ($1 workflow ids) -> id, name, is_active, updated_at, nodes, edges, variables
inline constexpr const char* kLoadWorkflows = "hub_load_workflows";
inline constexpr const char* kInsertExecutions = "hub_insert_executions";
inline constexpr const char* kInsertNotifications = "hub_insert_notifications";
// One row update per workflow per batch, whatever the number of executions.
inline constexpr const char* kBumpWorkflowCounters = "hub_bump_workflow_counters";
// Executions of `hubworker replay --reprocess`: ($1 execution ids, $2 the executions they re-ran)
inline constexpr const char* kMarkReplays = "hub_mark_replays";
// ($1 org, $2 execution ids, $3 node ids, $4 kinds, $5 due times, $6 trigger events,
//  $7 requests (null for delays))
inline constexpr const char* kInsertSteps = "hub_insert_steps";
inline constexpr const char* kNotifySteps = "hub_notify_steps";
// ($1 limit, $2 now, $3 lease ms, $4 owner) -> organization_id, execution_id, node_id, due_us, attempts,
// trigger, kind, node_outputs, request ('' for none), calls
inline constexpr const char* kClaimSteps = "hub_claim_steps";
// ($1 execution ids, $2 node ids, $3 owner) -> the rows this owner still holds, locked
inline constexpr const char* kLockOwnedSteps = "hub_lock_owned_steps";
// ($1 execution ids, $2 node ids)
inline constexpr const char* kDeleteSteps = "hub_delete_steps";
// Every step of the executions that ended: ($1 execution ids)
inline constexpr const char* kDeleteExecutionSteps = "hub_delete_execution_steps";
// A call to try again later: ($1 execution ids, $2 node ids, $3 due times, $4 calls made)
inline constexpr const char* kRescheduleSteps = "hub_reschedule_steps";
// ($1 now) -> microseconds since the epoch at which the next step can be
// claimed (null: none), steps waiting, and of them due at $1
inline constexpr const char* kStepsOutlook = "hub_steps_outlook";
// Under the tenant: ($1 execution ids) -> the executions to resume, locked in
// id order (two runners resuming branches of one execution take turns):
// id, workflow_id, status, output, logs, nodes_executed, node_outputs,
// started_us, replay_of, tokens_used, cost
inline constexpr const char* kLoadParkedExecutions = "hub_load_parked_executions";
// Under the tenant: the next state of resumed executions (tokens_used and
// cost included: the model calls of ai_agent steps add to them)
inline constexpr const char* kUpdateExecutions = "hub_update_executions";
// Under the tenant: what settled calls answered (schemas/sql/0020), for
// replay.  ($1 org, $2 execution ids, $3 node ids, $4 kinds, $5 outputs (null:
// failed), $6 errors, $7 attempts, $8 recorded at)
inline constexpr const char* kInsertCallResults = "hub_insert_call_results";
// Under the tenant: the agents ai_agent steps name.  ($1 agent ids) -> id,
// is_active, model_config, personality
inline constexpr const char* kLoadAgents = "hub_load_agents";
}  // namespace sql

inline constexpr const char* kStepsChannel = "hub_steps";

// Prepares every statement above on a worker connection.
void PrepareStatements(pqxx::connection& conn);

}  // namespace hub::workflows
