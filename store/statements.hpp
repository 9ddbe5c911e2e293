#pragma once
// Every SQL statement of the processing path, by name (STYLE.md #8).  Batched:
// each takes whole columns as array parameters.
namespace hub::store::sql {

// Records identities; returns only those not seen before (the rest are duplicates).
inline constexpr const char* kInsertProcessed = "hub_insert_processed";
// Records identities none of which may have been seen: fails (unique_violation) otherwise.
inline constexpr const char* kInsertProcessedNew = "hub_insert_processed_new";
inline constexpr const char* kInsertOutbox = "hub_insert_outbox";
inline constexpr const char* kNotifyOutbox = "hub_notify_outbox";
inline constexpr const char* kOrganizationExists = "hub_organization_exists";
inline constexpr const char* kLoadWorkflows = "hub_load_workflows";
inline constexpr const char* kInsertExecutions = "hub_insert_executions";
inline constexpr const char* kInsertNotifications = "hub_insert_notifications";
inline constexpr const char* kBumpWorkflowCounters = "hub_bump_workflow_counters";

}  // namespace hub::store::sql
