-- Durable steps of workflow executions.  An execution that reaches a node
-- which waits (a `delay` now; outside calls next) is committed RUNNING with
-- what it has produced so far (output, logs, nodes_executed) and the node to
-- resume at (next_node); one row here says when it is due.  Any worker claims
-- due rows with FOR UPDATE SKIP LOCKED and a lease, resumes the execution and
-- commits its next state, effects and completion event together with the
-- row's deletion.  A crash or a lost lease leaves the row to be claimed again
-- once the lease has passed; a resumed node whose result was committed is
-- never run again (the row is gone in the same transaction).
--
-- The worker's own table, like outbox (no row-level security): claims are
-- made across organisations; the resume transaction then sets the tenant.
ALTER TABLE workflow_executions ADD COLUMN next_node text;

CREATE TABLE execution_steps (
  organization_id text NOT NULL,
  execution_id    text NOT NULL COLLATE "C",
  node_id         text NOT NULL,
  kind            text NOT NULL,          -- 'delay'
  due_at          timestamptz NOT NULL,   -- from the worker's clock
  lease_until     timestamptz,            -- a claim holds the row until then
  lease_owner     text,
  attempts        int NOT NULL DEFAULT 0, -- claims so far (a lease that keeps expiring shows here)
  trigger         jsonb NOT NULL,         -- the trigger event, for {{trigger.*}} and the completion event
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (execution_id, node_id)
);
CREATE INDEX execution_steps_due_idx ON execution_steps (due_at);
