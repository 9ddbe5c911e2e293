#pragma once
// The statements every event family's transaction uses (deduplication and
// the tenant check), by name (STYLE.md #8).  Batched: each takes whole
// columns as array parameters.  A family's own statements live with the
// family (e.g. consumers/workflows/statements.hpp), the outbox's in outbox/.
namespace hub::store::sql {

// Records identities; returns only those not seen before (the rest are duplicates).
inline constexpr const char* kInsertProcessed = "hub_insert_processed";
// Records identities none of which may have been seen: fails (unique_violation) otherwise.
inline constexpr const char* kInsertProcessedNew = "hub_insert_processed_new";
inline constexpr const char* kOrganizationExists = "hub_organization_exists";

}  // namespace hub::store::sql
