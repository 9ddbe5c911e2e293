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

void SetTenant(pqxx::transaction_base& txn, const std::string& organization_id) {
  // Unprepared on purpose: works on any connection (seeding, tools), and it
  // runs once per organisation per batch, not per event.
  txn.exec_params("SELECT set_config('app.organization_id', $1, true)", organization_id);
}

}  // namespace hub::store
