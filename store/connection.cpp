#include "store/connection.hpp"

#include "store/statements.hpp"
#include "store/step_statements.hpp"

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
  conn->prepare(sql::kInsertOutbox,
                "INSERT INTO outbox (shard, topic, kafka_key, payload, headers) "
                "SELECT * FROM unnest($1::smallint[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) "
                "RETURNING shard, id");
  conn->prepare(sql::kNotifyOutbox, "SELECT pg_notify('hub_outbox', '')");
  conn->prepare(sql::kOrganizationExists, "SELECT 1 FROM organizations WHERE id = $1 AND deleted_at IS NULL");
  conn->prepare(sql::kLoadWorkflows,
                "SELECT id, name, is_active, updated_at::text, nodes::text, edges::text, "
                "coalesce(variables::text, '') FROM automation_workflows WHERE id = ANY($1::text[])");
  conn->prepare(sql::kInsertExecutions,
                "INSERT INTO workflow_executions (id, organization_id, workflow_type, workflow_id, status, "
                "started_at, completed_at, duration, input, output, error, logs, nodes_executed, tokens_used, "
                "cost, trigger_event_id, trigger_source, triggered_by, correlation_id, traceparent, next_node) "
                "SELECT u.id, $2, 'AUTOMATION', u.workflow_id, u.status::execution_status, u.started_at, "
                "u.completed_at, u.duration, u.input, u.output, u.error, u.logs, u.nodes_executed, u.tokens_used, "
                "u.cost, u.trigger_event_id, u.trigger_source, u.triggered_by, u.correlation_id, u.traceparent, "
                "u.next_node "
                "FROM unnest($1::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::int[], "
                "$8::jsonb[], $9::jsonb[], $10::text[], $11::jsonb[], $12::int[], $13::int[], $14::float8[], "
                "$15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[]) "
                "AS u(id, workflow_id, status, started_at, completed_at, duration, input, output, error, logs, "
                "nodes_executed, tokens_used, cost, trigger_event_id, trigger_source, triggered_by, "
                "correlation_id, traceparent, next_node)");
  PrepareStepStatements(*conn);
  conn->prepare(sql::kInsertNotifications,
                "INSERT INTO notifications (id, organization_id, user_id, title, message, type, metadata) "
                "SELECT u.id, $2, u.user_id, u.title, u.message, u.type, u.metadata "
                "FROM unnest($1::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) "
                "AS u(id, user_id, title, message, type, metadata)");
  // One row update per workflow per batch, whatever the number of executions.
  conn->prepare(sql::kBumpWorkflowCounters,
                "UPDATE automation_workflows w SET execution_count = w.execution_count + c.n, "
                "last_executed = greatest(coalesce(w.last_executed, c.t), c.t) "
                "FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS c(id, n, t) WHERE w.id = c.id");
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
