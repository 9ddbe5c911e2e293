#pragma once
// Opening a worker connection: every connection of the worker goes through
// here so that prepared statements are declared in one place per area.
#include <memory>
#include <string>

#include <pqxx/pqxx>

namespace hub::store {

// Connects and prepares every named statement of the processing path.
// Throws pqxx::broken_connection when the server is unreachable.
std::unique_ptr<pqxx::connection> ConnectWorker(const std::string& url);

// Throws std::runtime_error when the role bypasses row-level security
// (superuser or BYPASSRLS): the worker refuses to run without tenant isolation.
void RequireRowSecurity(pqxx::connection& conn);

// When a failure to connect (libpq's message, as in pqxx::broken_connection)
// cannot pass by waiting — the password or the user is refused, the database
// or role does not exist, pg_hba.conf has no entry — what to fix, naming
// HUB_DATABASE_URL; "" when it may be a server not up yet (retry).
std::string ConnectFailureFix(const std::string& libpq_message);

// Sets app.organization_id for the rest of the transaction (SET LOCAL).
void SetTenant(pqxx::transaction_base& txn, const std::string& organization_id);

}  // namespace hub::store
