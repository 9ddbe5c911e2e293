-- Tenant isolation.  Every tenant table (every table with organization_id,
-- and organizations itself) has row-level security ENABLEd and FORCEd: FORCE
-- makes the table owner -- the worker's role, which is neither superuser nor
-- BYPASSRLS -- subject to the policies too.  The tenant of a transaction is
-- the setting app.organization_id (set with SET LOCAL / set_config(.., true));
-- unset, it reads as NULL or '' and no row matches.
--
-- Foreign-key actions (ON DELETE CASCADE / SET NULL) run without row
-- security, as PostgreSQL always does, so deleting an organisation still
-- removes all of its rows.

-- The organisation row itself: keyed on id.
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organizations
  USING (id = current_setting('app.organization_id', true))
  WITH CHECK (id = current_setting('app.organization_id', true));

-- Plain tenant tables: read and write own organisation's rows only.

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE organization_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organization_members
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_logs
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE api_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_usage
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE automation_workflows ENABLE ROW LEVEL SECURITY;
ALTER TABLE automation_workflows FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON automation_workflows
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE workflow_executions ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_executions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workflow_executions
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE ai_agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_agents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ai_agents
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE agent_teams ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_teams FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agent_teams
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE team_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE team_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON team_members
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE agent_executions ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_executions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agent_executions
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE team_executions ENABLE ROW LEVEL SECURITY;
ALTER TABLE team_executions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON team_executions
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE integrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE integration_operations ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration_operations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration_operations
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE custom_agent_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_agent_orders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON custom_agent_orders
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

ALTER TABLE order_milestones ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_milestones FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON order_milestones
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

-- Templates: system templates (organization_id IS NULL) and public ones are
-- readable by every organisation; writes only to the own organisation's rows.

ALTER TABLE workflow_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_templates FORCE ROW LEVEL SECURITY;
CREATE POLICY template_read ON workflow_templates FOR SELECT
  USING (organization_id IS NULL OR is_public
         OR organization_id = current_setting('app.organization_id', true));
CREATE POLICY template_insert ON workflow_templates FOR INSERT
  WITH CHECK (organization_id = current_setting('app.organization_id', true));
CREATE POLICY template_update ON workflow_templates FOR UPDATE
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));
CREATE POLICY template_delete ON workflow_templates FOR DELETE
  USING (organization_id = current_setting('app.organization_id', true));

ALTER TABLE agent_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_templates FORCE ROW LEVEL SECURITY;
CREATE POLICY template_read ON agent_templates FOR SELECT
  USING (organization_id IS NULL OR is_public
         OR organization_id = current_setting('app.organization_id', true));
CREATE POLICY template_insert ON agent_templates FOR INSERT
  WITH CHECK (organization_id = current_setting('app.organization_id', true));
CREATE POLICY template_update ON agent_templates FOR UPDATE
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));
CREATE POLICY template_delete ON agent_templates FOR DELETE
  USING (organization_id = current_setting('app.organization_id', true));

-- build_logs is append-only: policies for SELECT and INSERT only (an UPDATE
-- or DELETE by the worker's role matches no row), and a trigger that stops
-- roles that bypass row security too.  A DELETE is allowed only as the
-- cascade from the parent order or organisation (pg_trigger_depth() > 1: the
-- foreign key's own trigger is running it).
ALTER TABLE build_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE build_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY build_logs_read ON build_logs FOR SELECT
  USING (organization_id = current_setting('app.organization_id', true));
CREATE POLICY build_logs_append ON build_logs FOR INSERT
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

CREATE FUNCTION build_logs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
    RETURN OLD;  -- cascade from custom_agent_orders or organizations
  END IF;
  RAISE EXCEPTION 'build_logs is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'build logs are removed only together with their order or organization';
END;
$$;
CREATE TRIGGER build_logs_no_update_delete BEFORE UPDATE OR DELETE ON build_logs
  FOR EACH ROW EXECUTE FUNCTION build_logs_append_only();
CREATE TRIGGER build_logs_no_truncate BEFORE TRUNCATE ON build_logs
  FOR EACH STATEMENT EXECUTE FUNCTION build_logs_append_only();
