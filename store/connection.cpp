#include "store/connection.hpp"

#include "store/statements.hpp"

namespace hub::store {

std::unique_ptr<pqxx::connection> ConnectWorker(const std::string& url) {
  auto conn = std::make_unique<pqxx::connection>(url);
  conn->prepare(sql::kInsertProcessed,
                "INSERT INTO processed_events (organization_id, source, event_id, topic, kafka_partition, "
                "kafka_offset) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[]) "
                "ON CONFLICT DO NOTHING RETURNING organization_id, source, event_id");
  conn->prepare(sql::kInsertProcessedNew,
                "INSERT INTO processed_events (organization_id, source, event_id, topic, kafka_partition, "
                "kafka_offset) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[])");
  conn->prepare(sql::kOrganizationExists, "SELECT 1 FROM organizations WHERE id = $1 AND deleted_at IS NULL");
  return conn;
}

void RequireRowSecurity(pqxx::connection& conn) {
  pqxx::nontransaction q(conn);
  auto r = q.exec("SELECT rolsuper, rolbypassrls, current_user FROM pg_roles WHERE rolname = current_user");
  if (r.empty()) return;
  if (r[0][0].as<bool>() || r[0][1].as<bool>())
    throw std::runtime_error("database role '" + r[0][2].as<std::string>() +
                             "' is a superuser or has BYPASSRLS, so row-level security would not isolate "
                             "organisations; connect as the worker role (see README)");
}

namespace {
// The quoted name after `prefix` in `text` ("database \"hub\" does not exist").
std::string QuotedAfter(const std::string& text, const std::string& prefix) {
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return "";
  const size_t b = at + prefix.size();
  const size_t e = text.find('"', b);
  return e == std::string::npos ? "" : text.substr(b, e - b);
}
}  // namespace

std::string ConnectFailureFix(const std::string& m) {
  if (m.find("password authentication failed") != std::string::npos ||
      m.find("authentication failed for user") != std::string::npos)
    return "HUB_DATABASE_URL: the server refused the user or password (" +
           QuotedAfter(m, "for user \"") + "); fix them in HUB_DATABASE_URL (postgresql://USER:PASSWORD@host/db)";
  if (m.find("no password supplied") != std::string::npos)
    return "HUB_DATABASE_URL: the server asks for a password and none was given; add it "
           "(postgresql://USER:PASSWORD@host/db)";
  if (const std::string db = QuotedAfter(m, "database \""); !db.empty() && m.find("does not exist") != std::string::npos)
    return "HUB_DATABASE_URL: the database '" + db + "' does not exist; create it (as a superuser: CREATE DATABASE " +
           db + " OWNER <worker role>) or fix the name in HUB_DATABASE_URL";
  if (const std::string role = QuotedAfter(m, "role \""); !role.empty() && m.find("does not exist") != std::string::npos)
    return "HUB_DATABASE_URL: the role '" + role + "' does not exist; create it (as a superuser: CREATE ROLE " + role +
           " LOGIN PASSWORD '...' NOSUPERUSER NOBYPASSRLS) or fix the user in HUB_DATABASE_URL";
  if (m.find("no pg_hba.conf entry") != std::string::npos)
    return "HUB_DATABASE_URL: the server's pg_hba.conf does not let this user connect from here; add an entry for it";
  return "";
}

void SetTenant(pqxx::transaction_base& txn, const std::string& organization_id) {
  // Unprepared on purpose: works on any connection (seeding, tools), and it
  // runs once per organisation per batch, not per event.
  txn.exec_params("SELECT set_config('app.organization_id', $1, true)", organization_id);
}

}  // namespace hub::store
