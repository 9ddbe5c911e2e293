-- AI-HUB: templates, automation workflows, executions, agents, teams and
-- integrations (shared/seeds 000, 001).  The seeds' `Workflow` model is
-- `automation_workflows` here (seed 000: `workflows` is the platform's
-- transaction table).
--
-- Tenant consistency: a child row carries its parent's organization_id
-- (denormalised so that row-level security needs no join), and composite
-- foreign keys (parent_id, organization_id) -> parent (id, organization_id)
-- make it impossible for the copy to disagree with the parent.

CREATE TABLE workflow_templates (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  -- NULL: a system template, readable by every organisation.
  organization_id text REFERENCES organizations(id) ON DELETE CASCADE,
  name            varchar(100) NOT NULL,
  description     text NOT NULL,
  category        template_category NOT NULL,
  nodes           jsonb NOT NULL,
  edges           jsonb NOT NULL,
  variables       jsonb,
  icon            varchar(100),
  tags            text[] NOT NULL DEFAULT '{}',
  difficulty      difficulty_level NOT NULL DEFAULT 'BEGINNER',
  estimated_time  integer,
  usage_count     integer NOT NULL DEFAULT 0,
  rating          double precision,
  is_public       boolean NOT NULL DEFAULT false,
  is_featured     boolean NOT NULL DEFAULT false,
  created_by      text REFERENCES users(id) ON DELETE SET NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_templates_organization_id_idx ON workflow_templates (organization_id);
CREATE INDEX workflow_templates_created_by_idx ON workflow_templates (created_by);
CREATE INDEX workflow_templates_category_idx ON workflow_templates (category);
CREATE INDEX workflow_templates_is_public_idx ON workflow_templates (is_public);
CREATE INDEX workflow_templates_is_featured_idx ON workflow_templates (is_featured);
CREATE TRIGGER workflow_templates_updated_at BEFORE UPDATE ON workflow_templates
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE automation_workflows (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name            varchar(100) NOT NULL,
  description     text,
  nodes           jsonb NOT NULL,   -- React Flow nodes
  edges           jsonb NOT NULL,   -- React Flow edges
  variables       jsonb,
  is_active       boolean NOT NULL DEFAULT true,
  version         varchar(20) DEFAULT '1.0.0',
  tags            text[] DEFAULT '{}',
  execution_count integer NOT NULL DEFAULT 0,
  last_executed   timestamptz,
  template_id     text REFERENCES workflow_templates(id) ON DELETE SET NULL,
  created_by      text REFERENCES users(id) ON DELETE CASCADE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX automation_workflows_organization_id_idx ON automation_workflows (organization_id);
CREATE INDEX automation_workflows_created_by_idx ON automation_workflows (created_by);
CREATE INDEX automation_workflows_is_active_idx ON automation_workflows (is_active);
CREATE INDEX automation_workflows_template_id_idx ON automation_workflows (template_id);
CREATE INDEX automation_workflows_created_at_idx ON automation_workflows (created_at);
CREATE TRIGGER automation_workflows_updated_at BEFORE UPDATE ON automation_workflows
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Executions of both kinds of workflow.  workflow_id has no foreign key: it
-- points to automation_workflows or to the transaction `workflows` table,
-- depending on workflow_type.
CREATE TABLE workflow_executions (
  id               text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  workflow_type    workflow_type NOT NULL DEFAULT 'AUTOMATION',
  workflow_id      text NOT NULL,
  status           execution_status NOT NULL DEFAULT 'PENDING',
  started_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  duration         integer,                        -- milliseconds
  input            jsonb,
  output           jsonb,
  error            text,
  logs             jsonb NOT NULL DEFAULT '[]'::jsonb,  -- JSON array of step logs
  nodes_executed   integer NOT NULL DEFAULT 0,
  tokens_used      integer NOT NULL DEFAULT 0,
  cost             numeric(12,2) NOT NULL DEFAULT 0,  -- cents
  -- Which event caused the run (CloudEvent id and source), who, and the trace.
  trigger_event_id text,
  trigger_source   text,
  triggered_by     text,
  correlation_id   text,
  traceparent      text,
  UNIQUE (id, organization_id)
);
CREATE INDEX workflow_executions_organization_id_idx ON workflow_executions (organization_id);
CREATE INDEX workflow_executions_workflow_id_idx ON workflow_executions (workflow_id);
CREATE INDEX workflow_executions_status_idx ON workflow_executions (status);
CREATE INDEX workflow_executions_started_at_idx ON workflow_executions (started_at);

CREATE TABLE ai_agents (
  id                text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id   text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name              varchar(100) NOT NULL,
  description       text,
  avatar            varchar(500),
  personality       jsonb NOT NULL DEFAULT '{}'::jsonb,  -- traits, style, behaviour
  model_config      jsonb NOT NULL DEFAULT '{}'::jsonb,  -- provider, model, parameters
  capabilities      text[] NOT NULL DEFAULT '{}',
  memory            jsonb NOT NULL DEFAULT '{}'::jsonb,
  execution_count   integer NOT NULL DEFAULT 0,
  success_rate      double precision,
  avg_response_time double precision,                  -- milliseconds
  is_active         boolean NOT NULL DEFAULT true,
  status            agent_status NOT NULL DEFAULT 'IDLE',
  created_by        text REFERENCES users(id) ON DELETE CASCADE,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, organization_id)
);
CREATE INDEX ai_agents_organization_id_idx ON ai_agents (organization_id);
CREATE INDEX ai_agents_created_by_idx ON ai_agents (created_by);
CREATE INDEX ai_agents_status_idx ON ai_agents (status);
CREATE INDEX ai_agents_is_active_idx ON ai_agents (is_active);
CREATE TRIGGER ai_agents_updated_at BEFORE UPDATE ON ai_agents
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE agent_teams (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name            varchar(100) NOT NULL,
  description     text,
  structure       team_structure NOT NULL,
  coordination    jsonb NOT NULL DEFAULT '{}'::jsonb,
  execution_count integer NOT NULL DEFAULT 0,
  success_rate    double precision,
  created_by      text REFERENCES users(id) ON DELETE CASCADE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, organization_id)
);
CREATE INDEX agent_teams_organization_id_idx ON agent_teams (organization_id);
CREATE INDEX agent_teams_created_by_idx ON agent_teams (created_by);
CREATE INDEX agent_teams_structure_idx ON agent_teams (structure);
CREATE TRIGGER agent_teams_updated_at BEFORE UPDATE ON agent_teams
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE team_members (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  team_id         text NOT NULL,
  agent_id        text NOT NULL,
  role            team_role NOT NULL,
  priority        integer NOT NULL DEFAULT 0,  -- execution order
  joined_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (team_id, agent_id),
  FOREIGN KEY (team_id, organization_id) REFERENCES agent_teams (id, organization_id) ON DELETE CASCADE,
  FOREIGN KEY (agent_id, organization_id) REFERENCES ai_agents (id, organization_id) ON DELETE CASCADE
);
CREATE INDEX team_members_organization_id_idx ON team_members (organization_id);
CREATE INDEX team_members_team_id_idx ON team_members (team_id);
CREATE INDEX team_members_agent_id_idx ON team_members (agent_id);

CREATE TABLE agent_executions (
  id                    text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id       text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  agent_id              text NOT NULL,
  workflow_execution_id text,
  task                  text NOT NULL,
  input                 jsonb NOT NULL DEFAULT '{}'::jsonb,
  output                jsonb,
  status                execution_status NOT NULL DEFAULT 'PENDING',
  started_at            timestamptz NOT NULL DEFAULT now(),
  completed_at          timestamptz,
  duration              integer,
  tokens_used           integer NOT NULL DEFAULT 0,
  cost                  numeric(12,2) NOT NULL DEFAULT 0,
  model                 varchar(100),
  provider              varchar(50),
  FOREIGN KEY (agent_id, organization_id) REFERENCES ai_agents (id, organization_id) ON DELETE CASCADE,
  -- SET NULL of the execution id only: organization_id stays.
  FOREIGN KEY (workflow_execution_id, organization_id) REFERENCES workflow_executions (id, organization_id)
    ON DELETE SET NULL (workflow_execution_id)
);
CREATE INDEX agent_executions_organization_id_idx ON agent_executions (organization_id);
CREATE INDEX agent_executions_agent_id_idx ON agent_executions (agent_id);
CREATE INDEX agent_executions_workflow_execution_id_idx ON agent_executions (workflow_execution_id);
CREATE INDEX agent_executions_status_idx ON agent_executions (status);
CREATE INDEX agent_executions_started_at_idx ON agent_executions (started_at);

CREATE TABLE team_executions (
  id                    text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id       text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  team_id               text NOT NULL,
  workflow_execution_id text,
  task                  text NOT NULL,
  pattern               team_structure NOT NULL,  -- coordination pattern used
  input                 jsonb NOT NULL DEFAULT '{}'::jsonb,
  output                jsonb,
  status                execution_status NOT NULL DEFAULT 'PENDING',
  started_at            timestamptz NOT NULL DEFAULT now(),
  completed_at          timestamptz,
  duration              integer,
  agent_results         jsonb NOT NULL DEFAULT '[]'::jsonb,  -- JSON array, one entry per agent
  FOREIGN KEY (team_id, organization_id) REFERENCES agent_teams (id, organization_id) ON DELETE CASCADE,
  FOREIGN KEY (workflow_execution_id, organization_id) REFERENCES workflow_executions (id, organization_id)
    ON DELETE SET NULL (workflow_execution_id)
);
CREATE INDEX team_executions_organization_id_idx ON team_executions (organization_id);
CREATE INDEX team_executions_team_id_idx ON team_executions (team_id);
CREATE INDEX team_executions_workflow_execution_id_idx ON team_executions (workflow_execution_id);
CREATE INDEX team_executions_status_idx ON team_executions (status);
CREATE INDEX team_executions_started_at_idx ON team_executions (started_at);

CREATE TABLE integrations (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name            varchar(100) NOT NULL,
  provider        varchar(50) NOT NULL,  -- slack, gmail, webhook, http
  credentials     jsonb NOT NULL DEFAULT '{}'::jsonb,  -- encrypted at rest (HUB_SECRET_KEY)
  config          jsonb NOT NULL DEFAULT '{}'::jsonb,
  is_active       boolean NOT NULL DEFAULT true,
  last_tested     timestamptz,
  status          integration_status NOT NULL DEFAULT 'DISCONNECTED',
  created_by      text REFERENCES users(id) ON DELETE CASCADE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, organization_id)
);
CREATE INDEX integrations_organization_id_idx ON integrations (organization_id);
CREATE INDEX integrations_created_by_idx ON integrations (created_by);
CREATE INDEX integrations_provider_idx ON integrations (provider);
CREATE INDEX integrations_status_idx ON integrations (status);
CREATE TRIGGER integrations_updated_at BEFORE UPDATE ON integrations
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One row per operation run for an integration (seed 004; here tied to the
-- integration instead of an orchestration run).
CREATE TABLE integration_operations (
  id                text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id   text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  integration_id    text NOT NULL,
  operation_type    varchar(100) NOT NULL,
  operation_params  jsonb NOT NULL DEFAULT '{}'::jsonb,
  status            varchar(50) NOT NULL DEFAULT 'pending',
  result            jsonb NOT NULL DEFAULT '{}'::jsonb,
  execution_time_ms integer,
  trigger_event_id  text,
  traceparent       text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  completed_at      timestamptz,
  FOREIGN KEY (integration_id, organization_id) REFERENCES integrations (id, organization_id) ON DELETE CASCADE
);
CREATE INDEX integration_operations_organization_id_idx ON integration_operations (organization_id);
CREATE INDEX integration_operations_integration_id_idx ON integration_operations (integration_id, created_at);
CREATE INDEX integration_operations_status_idx ON integration_operations (status);
