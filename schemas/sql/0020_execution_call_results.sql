-- What the outside calls of workflow executions answered, kept after the
-- durable step is gone (0016 deletes it when the execution moves on), so
-- that `hubworker replay` re-runs an execution with the recorded answers
-- instead of calling again.  Written by the step runner in the transaction
-- that resumes the execution with the answer: a row exists exactly for the
-- calls whose result the execution used.  `call_index` numbers the calls of
-- one node (0 for an http_request; an agent's model and tool calls next);
-- `kind` says which.  Tenant data (a response may carry the tenant's
-- business data): row-level security as on workflow_executions; deleted with
-- the organisation.
CREATE TABLE execution_call_results (
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  execution_id    text NOT NULL COLLATE "C",
  node_id         text NOT NULL,
  call_index      int NOT NULL DEFAULT 0,
  kind            text NOT NULL,     -- 'http_request'
  output          jsonb,             -- the node's output ({status, headers, body}); null when it failed
  error           text,              -- why it failed for good; null when it answered
  attempts        int NOT NULL,      -- calls made for this result
  recorded_at     timestamptz NOT NULL,  -- from the worker's clock
  PRIMARY KEY (execution_id, node_id, call_index)
);
ALTER TABLE execution_call_results ALTER COLUMN output SET STATISTICS 0;
ALTER TABLE execution_call_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE execution_call_results FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON execution_call_results
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));
