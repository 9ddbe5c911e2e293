-- AI Garage: agent templates, custom agent orders and their build progress
-- (shared/seeds 003).

CREATE TABLE agent_templates (
  id                 text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  -- NULL for system templates (is_system = true), readable by every organisation.
  organization_id    text REFERENCES organizations(id) ON DELETE CASCADE,
  name               varchar(100) NOT NULL,
  description        text,
  category           agent_category NOT NULL,
  icon               varchar(100),
  personality_config jsonb NOT NULL DEFAULT '{}'::jsonb,
  model_config       jsonb NOT NULL DEFAULT '{}'::jsonb,
  tools_config       jsonb NOT NULL DEFAULT '{}'::jsonb,
  memory_config      jsonb NOT NULL DEFAULT '{}'::jsonb,
  tags               text[] NOT NULL DEFAULT '{}',
  is_system          boolean NOT NULL DEFAULT false,
  is_public          boolean NOT NULL DEFAULT false,
  usage_count        integer NOT NULL DEFAULT 0,
  rating             double precision,
  created_by         text REFERENCES users(id) ON DELETE SET NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_templates_organization_id_idx ON agent_templates (organization_id);
CREATE INDEX agent_templates_category_idx ON agent_templates (category);
CREATE INDEX agent_templates_is_public_idx ON agent_templates (is_public);
CREATE INDEX agent_templates_is_system_idx ON agent_templates (is_system);
CREATE TRIGGER agent_templates_updated_at BEFORE UPDATE ON agent_templates
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE custom_agent_orders (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  title           varchar(200) NOT NULL,
  description     text NOT NULL DEFAULT '',
  use_case        text NOT NULL DEFAULT '',
  requirements    jsonb NOT NULL DEFAULT '{}'::jsonb,
  agent_config    jsonb NOT NULL DEFAULT '{}'::jsonb,
  tools_config    jsonb NOT NULL DEFAULT '{}'::jsonb,
  complexity      complexity_level NOT NULL DEFAULT 'MODERATE',
  priority        order_priority NOT NULL DEFAULT 'NORMAL',
  status          order_status NOT NULL DEFAULT 'DRAFT',
  progress        integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  estimated_hours integer,
  actual_hours    integer,
  estimated_cost  numeric(12,2),
  final_cost      numeric(12,2),
  created_by      text REFERENCES users(id) ON DELETE CASCADE,
  assigned_to     text REFERENCES users(id) ON DELETE SET NULL,
  agent_id        text,   -- the agent provisioned by the build
  error           text,   -- why the build failed, when it did
  submitted_at    timestamptz,
  reviewed_at     timestamptz,
  started_at      timestamptz,
  completed_at    timestamptz,
  delivered_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, organization_id),
  FOREIGN KEY (agent_id, organization_id) REFERENCES ai_agents (id, organization_id)
    ON DELETE SET NULL (agent_id)
);
CREATE INDEX custom_agent_orders_organization_id_idx ON custom_agent_orders (organization_id);
CREATE INDEX custom_agent_orders_status_idx ON custom_agent_orders (status);
CREATE INDEX custom_agent_orders_created_by_idx ON custom_agent_orders (created_by);
CREATE INDEX custom_agent_orders_assigned_to_idx ON custom_agent_orders (assigned_to);
CREATE INDEX custom_agent_orders_agent_id_idx ON custom_agent_orders (agent_id);
CREATE INDEX custom_agent_orders_created_at_idx ON custom_agent_orders (created_at);
CREATE TRIGGER custom_agent_orders_updated_at BEFORE UPDATE ON custom_agent_orders
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE order_milestones (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  order_id        text NOT NULL,
  name            varchar(200) NOT NULL,
  description     text,
  stage           varchar(100) NOT NULL,
  progress        integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  due_date        timestamptz,
  completed       boolean NOT NULL DEFAULT false,
  completed_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (order_id, organization_id) REFERENCES custom_agent_orders (id, organization_id) ON DELETE CASCADE
);
CREATE INDEX order_milestones_organization_id_idx ON order_milestones (organization_id);
CREATE INDEX order_milestones_order_id_idx ON order_milestones (order_id);
CREATE INDEX order_milestones_stage_idx ON order_milestones (stage);
CREATE TRIGGER order_milestones_updated_at BEFORE UPDATE ON order_milestones
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Append-only (see the trigger in 0006_row_security.sql).
CREATE TABLE build_logs (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  order_id        text NOT NULL,
  level           log_level NOT NULL DEFAULT 'INFO',
  stage           varchar(100) NOT NULL,
  message         text NOT NULL,
  metadata        jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (order_id, organization_id) REFERENCES custom_agent_orders (id, organization_id) ON DELETE CASCADE
);
CREATE INDEX build_logs_organization_id_idx ON build_logs (organization_id);
CREATE INDEX build_logs_order_id_created_at_idx ON build_logs (order_id, created_at);
CREATE INDEX build_logs_level_idx ON build_logs (level);
