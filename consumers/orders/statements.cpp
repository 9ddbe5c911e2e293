#include "consumers/orders/statements.hpp"

namespace hub::orders {

void PrepareStatements(pqxx::connection& conn) {
  conn.prepare(sql::kLoadOrders,
               "SELECT id, status::text, title, agent_config::text, coalesce(created_by, '') "
               "FROM custom_agent_orders WHERE id = ANY($1::text[]) FOR UPDATE");
  conn.prepare(sql::kProvisionAgent,
               "INSERT INTO ai_agents (id, organization_id, name, description, personality, model_config, "
               "capabilities, created_by, created_at, updated_at) "
               "VALUES ($1, $2, $3, nullif($4, ''), $5::jsonb, $6::jsonb, $7::text[], nullif($8, ''), "
               "$9::timestamptz, $9::timestamptz) "
               "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, "
               "personality = EXCLUDED.personality, model_config = EXCLUDED.model_config, "
               "capabilities = EXCLUDED.capabilities");
  conn.prepare(sql::kCompleteMilestones,
               "INSERT INTO order_milestones (id, organization_id, order_id, name, stage, progress, completed, "
               "completed_at) "
               "SELECT u.id, $2, $3, u.name, u.stage, u.progress, true, $7::timestamptz "
               "FROM unnest($1::text[], $4::text[], $5::text[], $6::int[]) AS u(id, name, stage, progress) "
               "ON CONFLICT (id) DO UPDATE SET progress = EXCLUDED.progress, completed = true, "
               "completed_at = EXCLUDED.completed_at");
  conn.prepare(sql::kAppendBuildLogs,
               "INSERT INTO build_logs (id, organization_id, order_id, level, stage, message, created_at) "
               "SELECT u.id, $2, $3, u.level::log_level, u.stage, u.message, $7::timestamptz "
               "FROM unnest($1::text[], $4::text[], $5::text[], $6::text[]) AS u(id, level, stage, message)");
  conn.prepare(sql::kFinishOrder,
               "UPDATE custom_agent_orders SET status = $2::order_status, progress = $3, agent_id = nullif($4, ''), "
               "error = nullif($5, ''), reviewed_at = coalesce(reviewed_at, $6::timestamptz), "
               "started_at = coalesce(started_at, $6::timestamptz), "
               "completed_at = CASE WHEN $2 = 'COMPLETED' THEN $6::timestamptz ELSE completed_at END "
               "WHERE id = $1");
}

}  // namespace hub::orders
