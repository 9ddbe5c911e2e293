-- No planner statistics for payload columns that no query filters, joins or
-- sorts on.  Every event adds a row to workflow_executions and notifications,
-- so autoanalyze runs on them again and again while they grow, and it spent
-- most of its time computing most-common values and histograms of the logs,
-- input and output documents: ANALYZE of workflow_executions (100,000 W1
-- rows) took 657-730 ms, 214-232 ms without them; of notifications 313 ms,
-- 120 ms.  During the benchmark's
-- 10 s runs at half the maximum rate, the autovacuum/autoanalyze pass over
-- the fresh tables was the one episode of 100+ ms latencies (PERFORMANCE.md).
-- A query that does filter on one of these columns still plans, with the
-- default selectivity estimates.
ALTER TABLE workflow_executions
  ALTER COLUMN input SET STATISTICS 0,
  ALTER COLUMN output SET STATISTICS 0,
  ALTER COLUMN error SET STATISTICS 0,
  ALTER COLUMN logs SET STATISTICS 0;

ALTER TABLE notifications
  ALTER COLUMN message SET STATISTICS 0,
  ALTER COLUMN metadata SET STATISTICS 0;

ALTER TABLE outbox
  ALTER COLUMN payload SET STATISTICS 0,
  ALTER COLUMN headers SET STATISTICS 0;
