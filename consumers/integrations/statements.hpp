#pragma once
// The integration family's named statements (STYLE.md #8).  All run under
// the transaction's tenant (row-level security); times are parameters from
// the worker's clock, never the server's now().
#include <pqxx/pqxx>

namespace hub::integrations {

namespace sql {
// ($1 integration ids) -> id, provider, is_active, credentials ->> 'signingSecret' ('' when none),
// config ->> 'signatureScheme' ('' when none)
inline constexpr const char* kLoadIntegrations = "hub_load_integrations";
// ($1 operation ids) -> the ids already recorded (the webhook was applied before)
inline constexpr const char* kExistingOperations = "hub_existing_operations";
// ($1 integration ids, $2 replay keys, $3 now) -> integration_id, replay_key, event_source, event_id
// of the signatures still remembered
inline constexpr const char* kSeenSignatures = "hub_seen_signatures";
// ($1 org, $2 integration ids, $3 replay keys, $4 event sources, $5 event ids, $6 expiry, $7 now) ->
// one row per signature recorded (a live row of another event is left alone and not returned)
inline constexpr const char* kRememberSignatures = "hub_remember_signatures";
// ($1 integration ids, $2 now): forgets expired signatures of these integrations
inline constexpr const char* kForgetSignatures = "hub_forget_signatures";
// ($1 integration id) -> id, nodes of the active workflows whose nodes name the integration (the first 1,000 by id)
inline constexpr const char* kListeningWorkflows = "hub_listening_workflows";
// ($1 org, $2 ids, $3 integration ids, $4 operation types, $5 params, $6 statuses, $7 results,
//  $8 execution ms, $9 trigger event ids, $10 traceparents, $11 created at, $12 completed at)
inline constexpr const char* kInsertOperations = "hub_insert_operations";
}  // namespace sql

void PrepareStatements(pqxx::connection& conn);

}  // namespace hub::integrations
