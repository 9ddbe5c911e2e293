-- Least privilege.  `hubworker migrate` runs as the role that owns the schema
-- (it creates and alters tables); `hubworker run` runs as hub_worker, which
-- owns nothing, cannot create or alter anything, and may only read and write
-- rows of the tables the worker uses -- each listed below with what it needs.
-- Not being the owner, hub_worker is always subject to row-level security.
--
-- hub_worker is created by whoever sets up the cluster (scripts/run.sh, the
-- deploy manifests), because creating roles needs a privilege the schema owner
-- should not have.  Worker pods log in as hub_worker or as a role granted
-- membership of it (GRANT hub_worker TO pod_role).  A migration that adds a
-- table the worker uses grants it here-style in the same file.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hub_worker') THEN
    RAISE EXCEPTION 'the role hub_worker does not exist'
      USING HINT = 'create it before migrating (as a superuser): CREATE ROLE hub_worker LOGIN PASSWORD ''...'' '
                   'NOSUPERUSER NOBYPASSRLS; the worker runs as it, the migration only grants it row access';
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO hub_worker;

-- Read: the start-up check, the tenant check, workflow definitions.
GRANT SELECT ON schema_migrations, organizations TO hub_worker;
GRANT SELECT ON automation_workflows TO hub_worker;
-- The per-batch counters are the only columns of a workflow the worker writes.
GRANT UPDATE (execution_count, last_executed) ON automation_workflows TO hub_worker;
-- notifications' user check locks the user row (FOR KEY SHARE), which needs
-- UPDATE on some column: updated_at is the one that changes nothing users see.
GRANT SELECT, UPDATE (updated_at) ON users TO hub_worker;

-- Written by the consume path, the step runner and the outbox relay.
GRANT SELECT, INSERT, UPDATE, DELETE ON workflow_executions, execution_steps TO hub_worker;
GRANT SELECT, INSERT, DELETE ON notifications TO hub_worker;
GRANT SELECT, INSERT ON processed_events, execution_call_results TO hub_worker;
GRANT SELECT, INSERT, DELETE ON outbox, outbox_quarantine TO hub_worker;
-- USAGE for the ids of new rows, SELECT for the relay's cut-off (last_value).
GRANT USAGE, SELECT ON SEQUENCE outbox_id_seq TO hub_worker;
-- `hubworker dlq redrive` marks what it redrove (operators may run it as the worker role).
GRANT SELECT, INSERT, UPDATE, DELETE ON dead_letter_redrives TO hub_worker;
