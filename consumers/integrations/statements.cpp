#include "consumers/integrations/statements.hpp"

namespace hub::integrations {

void PrepareStatements(pqxx::connection& conn) {
  conn.prepare(sql::kLoadIntegrations,
               "SELECT id, provider, is_active, coalesce(credentials ->> 'signingSecret', ''), "
               "coalesce(config ->> 'signatureScheme', '') FROM integrations WHERE id = ANY($1::text[])");
  conn.prepare(sql::kExistingOperations, "SELECT id FROM integration_operations WHERE id = ANY($1::text[])");
  conn.prepare(sql::kSeenSignatures,
               "SELECT s.integration_id, s.replay_key, s.event_source, s.event_id FROM webhook_signatures s "
               "JOIN unnest($1::text[], $2::text[]) AS k(i, r) ON s.integration_id = k.i AND s.replay_key = k.r "
               "WHERE s.expires_at > $3::timestamptz");
  // An expired row of the same signature is taken over; a live one (another
  // lane recorded it meanwhile) is not, and its row is not returned.
  conn.prepare(sql::kRememberSignatures,
               "INSERT INTO webhook_signatures AS s (organization_id, integration_id, replay_key, event_source, "
               "event_id, expires_at) "
               "SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) "
               "ON CONFLICT (organization_id, integration_id, replay_key) DO UPDATE SET "
               "event_source = excluded.event_source, event_id = excluded.event_id, expires_at = excluded.expires_at "
               "WHERE s.expires_at <= $7::timestamptz "
               "RETURNING s.integration_id");
  conn.prepare(sql::kForgetSignatures,
               "DELETE FROM webhook_signatures WHERE integration_id = ANY($1::text[]) AND expires_at <= $2::timestamptz");
  // The containment pre-filter reads only workflows that name the
  // integration somewhere in a node's data; the engine then checks that it
  // is a trigger node listening to the event type.  Bounded: what one
  // webhook may cost does not grow with a tenant's workflows.
  conn.prepare(sql::kListeningWorkflows,
               "SELECT id, nodes::text FROM automation_workflows WHERE is_active "
               "AND nodes @> jsonb_build_array(jsonb_build_object('data', jsonb_build_object('integrationId', $1::text))) "
               "ORDER BY id LIMIT 1000");
  conn.prepare(sql::kInsertOperations,
               "INSERT INTO integration_operations (id, organization_id, integration_id, operation_type, "
               "operation_params, status, result, execution_time_ms, trigger_event_id, traceparent, created_at, "
               "completed_at) "
               "SELECT u.id, $1, u.integration_id, u.operation_type, u.params, u.status, u.result, u.ms, u.trigger, "
               "u.traceparent, u.created_at, u.completed_at "
               "FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::jsonb[], $8::int[], "
               "$9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[]) "
               "AS u(id, integration_id, operation_type, params, status, result, ms, trigger, traceparent, "
               "created_at, completed_at)");
}

}  // namespace hub::integrations
