-- Enumerated types of the platform (shared/seeds: AI-HUB session 1, AI Garage
-- session 1).  Type names are the Prisma enum names in snake_case; values are
-- exactly the seeds' UPPER values.

CREATE TYPE agent_status       AS ENUM ('IDLE', 'BUSY', 'OFFLINE', 'ERROR');
CREATE TYPE team_structure     AS ENUM ('HIERARCHICAL', 'COLLABORATIVE', 'PIPELINE', 'DEMOCRATIC');
CREATE TYPE team_role          AS ENUM ('LEADER', 'WORKER', 'COORDINATOR', 'SPECIALIST');
CREATE TYPE execution_status   AS ENUM ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED');
CREATE TYPE integration_status AS ENUM ('CONNECTED', 'DISCONNECTED', 'ERROR', 'TESTING');
CREATE TYPE template_category  AS ENUM ('SALES', 'SUPPORT', 'MARKETING', 'DATA_PROCESSING', 'AUTOMATION',
                                        'ANALYTICS', 'CONTENT', 'COMMUNICATION');
CREATE TYPE difficulty_level   AS ENUM ('BEGINNER', 'INTERMEDIATE', 'ADVANCED', 'EXPERT');

CREATE TYPE complexity_level   AS ENUM ('SIMPLE', 'MODERATE', 'COMPLEX', 'ENTERPRISE');
CREATE TYPE order_status       AS ENUM ('DRAFT', 'SUBMITTED', 'IN_REVIEW', 'APPROVED', 'IN_PROGRESS',
                                        'TESTING', 'COMPLETED', 'DELIVERED', 'CANCELLED', 'REJECTED');
CREATE TYPE order_priority     AS ENUM ('LOW', 'NORMAL', 'HIGH', 'URGENT');
CREATE TYPE agent_category     AS ENUM ('SALES', 'SUPPORT', 'ANALYSIS', 'CONTENT', 'AUTOMATION', 'RESEARCH');
CREATE TYPE ai_tool_category   AS ENUM ('AUTOMATION', 'ANALYTICS', 'INTEGRATION', 'UI', 'API', 'WORKFLOW');
CREATE TYPE log_level          AS ENUM ('DEBUG', 'INFO', 'WARN', 'ERROR');

-- workflow_executions is polymorphic: it tracks AI automation workflows
-- (automation_workflows) and transaction workflows (the platform's `workflows`).
CREATE TYPE workflow_type      AS ENUM ('AUTOMATION', 'TRANSACTION');

-- Keeps updated_at current on every UPDATE of a table that has the column.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
