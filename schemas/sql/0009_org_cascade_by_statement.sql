-- workflow_executions and notifications get one row per processed event.  Their
-- organization_id is denormalised (the seeds isolate executions through the
-- workflow, notifications through the user), and a per-row foreign key to
-- organizations costs a referential check and a KEY SHARE lock of the same
-- organizations row per event — measured ~20% of the database's CPU on the
-- W1 write path (tests/bench/db_variants.sh: 22.5k -> 27.5k events/s).
--
-- Integrity is kept without per-row checks: the worker verifies the
-- organisation once per batch, row-level security only admits rows of the
-- organisation set for the transaction, and deleting an organisation still
-- deletes these rows — by one statement-level trigger instead of per-row
-- cascades.  notifications.user_id -> users (a seed foreign key) stays.
ALTER TABLE workflow_executions DROP CONSTRAINT IF EXISTS workflow_executions_organization_id_fkey;
ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_organization_id_fkey;

CREATE FUNCTION hub_delete_organization_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM workflow_executions w USING deleted_organizations d WHERE w.organization_id = d.id;
  DELETE FROM notifications n USING deleted_organizations d WHERE n.organization_id = d.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER organizations_delete_rows
  AFTER DELETE ON organizations
  REFERENCING OLD TABLE AS deleted_organizations
  FOR EACH STATEMENT EXECUTE FUNCTION hub_delete_organization_rows();
