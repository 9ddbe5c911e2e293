#pragma once
// The order family's named statements (schemas/sql/0027 grants the worker's
// role what they need).  Times are parameters, read from the worker's clock.
#include <pqxx/pqxx>

namespace hub::orders {

namespace sql {
// ($1 order ids) -> id, status, title, agent_config, created_by ('' for none); locked
inline constexpr const char* kLoadOrders = "hub_load_orders";
// ($1 id, $2 org, $3 name, $4 description ('' none), $5 personality, $6 model_config, $7 capabilities,
//  $8 created_by ('' none), $9 now); a rebuild re-provisions the order's agent
inline constexpr const char* kProvisionAgent = "hub_provision_agent";
// ($1 ids, $2 org, $3 order id, $4 names, $5 stages, $6 progress, $7 now)
inline constexpr const char* kCompleteMilestones = "hub_complete_milestones";
// ($1 ids, $2 org, $3 order id, $4 levels, $5 stages, $6 messages, $7 now)
inline constexpr const char* kAppendBuildLogs = "hub_append_build_logs";
// ($1 order id, $2 status, $3 progress, $4 agent id ('' none), $5 error ('' none), $6 now)
inline constexpr const char* kFinishOrder = "hub_finish_order";
}  // namespace sql

void PrepareStatements(pqxx::connection& conn);

}  // namespace hub::orders
