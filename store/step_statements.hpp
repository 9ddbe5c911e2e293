#pragma once
// Named statements of durable steps (schemas/sql/0016): parking an execution,
// claiming due steps with a lease, and resuming.  Times are parameters, read
// from the worker's clock, never the server's now().
#include <pqxx/pqxx>

namespace hub::store {

namespace sql {
// ($1 org, $2 execution ids, $3 node ids, $4 kinds, $5 due times, $6 trigger events,
//  $7 node outputs, $8 requests (null for delays))
inline constexpr const char* kInsertSteps = "hub_insert_steps";
inline constexpr const char* kNotifySteps = "hub_notify_steps";
// ($1 limit, $2 now, $3 lease ms, $4 owner) -> organization_id, execution_id, node_id, due_us, attempts,
// trigger, kind, node_outputs, request ('' for none), calls
inline constexpr const char* kClaimSteps = "hub_claim_steps";
// ($1 execution ids, $2 node ids, $3 owner) -> the rows this owner still holds, locked
inline constexpr const char* kLockOwnedSteps = "hub_lock_owned_steps";
// ($1 execution ids, $2 node ids)
inline constexpr const char* kDeleteSteps = "hub_delete_steps";
// A call to try again later: ($1 execution ids, $2 node ids, $3 due times, $4 calls made)
inline constexpr const char* kRescheduleSteps = "hub_reschedule_steps";
// ($1 now) -> microseconds since the epoch at which the next step can be
// claimed (null: none), steps waiting, and of them due at $1
inline constexpr const char* kStepsOutlook = "hub_steps_outlook";
// Under the tenant: ($1 execution ids) -> the executions to resume
inline constexpr const char* kLoadParkedExecutions = "hub_load_parked_executions";
// Under the tenant: the next state of resumed executions
inline constexpr const char* kUpdateExecutions = "hub_update_executions";
}  // namespace sql

inline constexpr const char* kStepsChannel = "hub_steps";

void PrepareStepStatements(pqxx::connection& conn);

}  // namespace hub::store
