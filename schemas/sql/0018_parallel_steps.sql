-- Independent branches of a workflow wait (and call out) at the same time:
-- an execution may have several durable steps at once (execution_steps is
-- keyed by (execution_id, node_id) already).  The outputs of its finished
-- nodes ({{nodes.<id>.output}}) therefore belong to the execution, not to
-- one step: each resume reads and writes them under the execution's row lock.
-- Steps parked before this migration still carry them (execution_steps.
-- node_outputs), and are resumed from there.  next_node is the first node,
-- in step order, the execution waits at.
ALTER TABLE workflow_executions ADD COLUMN node_outputs jsonb;
