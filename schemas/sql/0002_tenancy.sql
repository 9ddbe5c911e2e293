-- Organisations (the tenants), their users and memberships, and the
-- organisation-wide logs (shared/seeds 002, 004).  Ids are text so that the
-- platform's cuid()s and uuids both fit; new rows default to a random uuid
-- (gen_random_uuid is built in since PostgreSQL 13: no extension needed).

CREATE TABLE organizations (
  id                text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  name              varchar(255) NOT NULL,
  slug              varchar(100) NOT NULL UNIQUE,
  subscription_tier varchar(50) NOT NULL DEFAULT 'free',
  api_quota_limit   integer NOT NULL DEFAULT 1000,
  api_quota_used    integer NOT NULL DEFAULT 0,
  settings          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  deleted_at        timestamptz
);
CREATE TRIGGER organizations_updated_at BEFORE UPDATE ON organizations
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE users (
  id                text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id   text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  email             varchar(255) NOT NULL UNIQUE,
  username          varchar(100) UNIQUE,
  name              varchar(255),
  role              varchar(50) NOT NULL DEFAULT 'member',
  permissions       jsonb NOT NULL DEFAULT '[]'::jsonb,
  preferences       jsonb NOT NULL DEFAULT '{}'::jsonb,
  ai_settings       jsonb,
  is_active         boolean NOT NULL DEFAULT true,
  last_login_at     timestamptz,
  email_verified_at timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  deleted_at        timestamptz
);
CREATE INDEX users_organization_id_idx ON users (organization_id);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE organization_members (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id         text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role            varchar(50) NOT NULL DEFAULT 'MEMBER',
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, user_id)
);
CREATE INDEX organization_members_user_id_idx ON organization_members (user_id);

CREATE TABLE notifications (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id         text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  title           varchar(200) NOT NULL,
  message         text NOT NULL,
  type            varchar(50) DEFAULT 'info',
  read            boolean DEFAULT false,
  action_url      varchar(500),
  metadata        jsonb,
  created_at      timestamptz DEFAULT now(),
  read_at         timestamptz
);
CREATE INDEX notifications_organization_id_idx ON notifications (organization_id);
CREATE INDEX notifications_user_id_read_idx ON notifications (user_id, read);
CREATE INDEX notifications_created_at_idx ON notifications (created_at);

CREATE TABLE audit_logs (
  id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id         text REFERENCES users(id) ON DELETE SET NULL,
  action          varchar(255) NOT NULL,
  resource_type   varchar(100),
  resource_id     text,
  old_values      jsonb NOT NULL DEFAULT '{}'::jsonb,
  new_values      jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip_address      inet,
  user_agent      text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_organization_id_created_at_idx ON audit_logs (organization_id, created_at);
CREATE INDEX audit_logs_resource_idx ON audit_logs (resource_type, resource_id);

CREATE TABLE api_usage (
  id               text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id          text REFERENCES users(id) ON DELETE SET NULL,
  endpoint         varchar(255) NOT NULL,
  method           varchar(10) NOT NULL,
  tokens_used      integer NOT NULL DEFAULT 0,
  response_time_ms integer,
  status_code      integer,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_usage_organization_id_idx ON api_usage (organization_id);
CREATE INDEX api_usage_created_at_idx ON api_usage (created_at);
