-- workflow_executions gets one row per processed event, and each of its
-- indexes costs a B-tree insertion and a WAL record per row (six of them:
-- id, (id, organization_id), organization_id, workflow_id, status,
-- started_at).  Two are folded into cheaper ones without losing a query they
-- served (measured with tests/bench/db_variants.sh variant exec_idx, see
-- PERFORMANCE.md):
--
--  * organization_id and started_at become one (organization_id, started_at)
--    index.  Row-level security adds `organization_id = <tenant>` to every
--    query of the platform's roles, so "an organisation's executions", "…
--    in a time range" and "… newest first" are all served by it; the
--    started_at index alone could only serve a range across organisations.
--  * status is indexed where it is selective: the executions not COMPLETED
--    (pending, running, failed, cancelled: the ones dashboards look for).
--    Completed runs are nearly every row, where a status index would not be
--    used anyway; they are found through (organization_id, started_at).
CREATE INDEX workflow_executions_organization_id_started_at_idx
  ON workflow_executions (organization_id, started_at);
DROP INDEX workflow_executions_organization_id_idx;
DROP INDEX workflow_executions_started_at_idx;

DROP INDEX workflow_executions_status_idx;
CREATE INDEX workflow_executions_status_idx ON workflow_executions (status) WHERE status <> 'COMPLETED';
