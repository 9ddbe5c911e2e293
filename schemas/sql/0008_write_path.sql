-- Cheaper writes on the processing path (measured with tests/bench, see
-- PERFORMANCE.md).  Every event inserts one row into processed_events,
-- workflow_executions, notifications and outbox; each index is one more
-- WAL record and B-tree insertion per event.

-- processed_events.processed_at only serves retention (DELETE ... WHERE
-- processed_at < ...), where rows arrive in time order: a BRIN index costs
-- almost nothing per insert and prunes as well as the B-tree did.
DROP INDEX IF EXISTS processed_events_processed_at_idx;
CREATE INDEX processed_events_processed_at_brin ON processed_events USING brin (processed_at);

-- Not among the seeds' notification indexes (user_id, read, (user_id, read));
-- a user's list is served by notifications_user_id_read_idx.
DROP INDEX IF EXISTS notifications_created_at_idx;

-- Each batch bumps execution_count/last_executed of its workflows.  Those
-- columns are in no index, so with free space on the page the UPDATE is HOT
-- and touches none of the table's six indexes.
ALTER TABLE automation_workflows SET (fillfactor = 50);
