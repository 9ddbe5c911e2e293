#include "consumers/workflows/statements.hpp"

namespace hub::workflows {

void PrepareStatements(pqxx::connection& conn) {
  conn.prepare(sql::kLoadWorkflows,
               "SELECT id, name, is_active, updated_at::text, nodes::text, edges::text, "
               "coalesce(variables::text, '') FROM automation_workflows WHERE id = ANY($1::text[])");
  conn.prepare(sql::kInsertExecutions,
               "INSERT INTO workflow_executions (id, organization_id, workflow_type, workflow_id, status, "
               "started_at, completed_at, duration, input, output, error, logs, nodes_executed, tokens_used, "
               "cost, trigger_event_id, trigger_source, triggered_by, correlation_id, traceparent, next_node, node_outputs) "
               "SELECT u.id, $2, 'AUTOMATION', u.workflow_id, u.status::execution_status, u.started_at, "
               "u.completed_at, u.duration, u.input, u.output, u.error, u.logs, u.nodes_executed, u.tokens_used, "
               "u.cost, u.trigger_event_id, u.trigger_source, u.triggered_by, u.correlation_id, u.traceparent, "
               "u.next_node, u.node_outputs "
               "FROM unnest($1::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::int[], "
               "$8::jsonb[], $9::jsonb[], $10::text[], $11::jsonb[], $12::int[], $13::int[], $14::float8[], "
               "$15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::jsonb[]) "
               "AS u(id, workflow_id, status, started_at, completed_at, duration, input, output, error, logs, "
               "nodes_executed, tokens_used, cost, trigger_event_id, trigger_source, triggered_by, "
               "correlation_id, traceparent, next_node, node_outputs)");
  conn.prepare(sql::kInsertNotifications,
               "INSERT INTO notifications (id, organization_id, user_id, title, message, type, metadata) "
               "SELECT u.id, $2, u.user_id, u.title, u.message, u.type, u.metadata "
               "FROM unnest($1::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) "
               "AS u(id, user_id, title, message, type, metadata)");
  // One row update per workflow per batch, whatever the number of executions.
  conn.prepare(sql::kBumpWorkflowCounters,
               "UPDATE automation_workflows w SET execution_count = w.execution_count + c.n, "
               "last_executed = greatest(coalesce(w.last_executed, c.t), c.t) "
               "FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS c(id, n, t) WHERE w.id = c.id");
  conn.prepare(sql::kMarkReplays,
               "UPDATE workflow_executions e SET replay_of = r.of FROM unnest($1::text[], $2::text[]) AS r(id, of) "
               "WHERE e.id = r.id");
  conn.prepare(sql::kInsertSteps,
               "INSERT INTO execution_steps (organization_id, execution_id, node_id, kind, due_at, trigger, request) "
               "SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[], "
               "$7::jsonb[])");
  conn.prepare(sql::kNotifySteps, "SELECT pg_notify('hub_steps', '')");
  conn.prepare(sql::kClaimSteps,
               "UPDATE execution_steps s SET lease_until = $2::timestamptz + make_interval(secs => $3::int / 1000.0), "
               "lease_owner = $4, attempts = s.attempts + 1 "
               "FROM (SELECT execution_id, node_id FROM execution_steps "
               "      WHERE due_at <= $2::timestamptz AND (lease_until IS NULL OR lease_until <= $2::timestamptz) "
               "      ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) d "
               "WHERE s.execution_id = d.execution_id AND s.node_id = d.node_id "
               "RETURNING s.organization_id, s.execution_id, s.node_id, "
               "(extract(epoch FROM s.due_at) * 1000000)::bigint, s.attempts, s.trigger::text, s.kind, "
               "s.node_outputs::text, coalesce(s.request::text, ''), s.calls");
  conn.prepare(sql::kRescheduleSteps,
               "UPDATE execution_steps s SET due_at = k.due, calls = k.calls, lease_until = NULL, lease_owner = NULL "
               "FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[]) AS k(e, n, due, calls) "
               "WHERE s.execution_id = k.e AND s.node_id = k.n");
  conn.prepare(sql::kLockOwnedSteps,
               "SELECT s.execution_id, s.node_id FROM execution_steps s "
               "JOIN unnest($1::text[], $2::text[]) AS k(e, n) ON s.execution_id = k.e AND s.node_id = k.n "
               "WHERE s.lease_owner = $3 FOR UPDATE OF s");
  conn.prepare(sql::kDeleteExecutionSteps, "DELETE FROM execution_steps WHERE execution_id = ANY($1::text[])");
  conn.prepare(sql::kDeleteSteps,
               "DELETE FROM execution_steps s USING unnest($1::text[], $2::text[]) AS k(e, n) "
               "WHERE s.execution_id = k.e AND s.node_id = k.n");
  conn.prepare(sql::kStepsOutlook,
               "SELECT (extract(epoch FROM min(greatest(due_at, coalesce(lease_until, due_at)))) * 1000000)::bigint, "
               "count(*), count(*) FILTER (WHERE due_at <= $1::timestamptz) FROM execution_steps");
  conn.prepare(sql::kLoadParkedExecutions,
               "SELECT id, workflow_id, status::text, coalesce(output::text, '{}'), logs::text, nodes_executed, "
               "node_outputs::text, (extract(epoch FROM started_at) * 1000000)::bigint, coalesce(replay_of, ''), "
               "tokens_used, cost::float8 "
               "FROM workflow_executions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE");
  conn.prepare(sql::kUpdateExecutions,
               "UPDATE workflow_executions e SET status = u.status::execution_status, completed_at = u.completed_at, "
               "duration = u.duration, output = u.output, error = u.error, logs = u.logs, "
               "nodes_executed = u.nodes_executed, next_node = u.next_node, node_outputs = u.node_outputs, "
               "tokens_used = u.tokens_used, cost = u.cost "
               "FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::jsonb[], $6::text[], "
               "$7::jsonb[], $8::int[], $9::text[], $10::jsonb[], $11::int[], $12::float8[]) "
               "AS u(id, status, completed_at, duration, output, error, logs, nodes_executed, next_node, node_outputs, "
               "tokens_used, cost) "
               "WHERE e.id = u.id");
  conn.prepare(sql::kInsertCallResults,
               "INSERT INTO execution_call_results (organization_id, execution_id, node_id, kind, output, error, "
               "attempts, recorded_at) "
               "SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::int[], "
               "$8::timestamptz[]) ON CONFLICT DO NOTHING");
  conn.prepare(sql::kLoadAgents,
               "SELECT id, is_active, model_config::text, personality::text FROM ai_agents WHERE id = ANY($1::text[])");
}

}  // namespace hub::workflows
