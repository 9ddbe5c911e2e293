-- automation_workflows.updated_at is the worker's cache key for a compiled
-- workflow definition (engine/workflow.hpp), so it must move when the
-- definition changes and only then: bumping execution_count / last_executed
-- after every run must not invalidate the cache.  The trigger now fires only
-- when a definition column is in the UPDATE's SET list.
DROP TRIGGER automation_workflows_updated_at ON automation_workflows;
CREATE TRIGGER automation_workflows_updated_at
  BEFORE UPDATE OF organization_id, name, description, nodes, edges, variables, is_active, version, tags,
                   template_id, created_by
  ON automation_workflows
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
