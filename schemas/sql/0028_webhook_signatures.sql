-- Signatures of accepted webhooks, so that a captured request sent again
-- (the same signature under another event identity) is refused as a replay.
-- `replay_key` is SHA-256 of the scheme and the signature, not the signature
-- itself (as hex).  A row is kept until `expires_at`: the signature's timestamp
-- tolerance for timestamped schemes (after it the timestamp check refuses the
-- request anyway), longer for schemes without a timestamp (GitHub's).
-- Times come from the worker's clock.  The event identity says which event
-- first used the signature: the same event delivered again is not a replay.
-- Tenant data: row-level security; deleted with the integration.
CREATE TABLE webhook_signatures (
  organization_id text NOT NULL,
  integration_id  text NOT NULL,
  replay_key      text NOT NULL COLLATE "C",  -- lowercase hex
  event_source    text NOT NULL,
  event_id        text NOT NULL,
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (organization_id, integration_id, replay_key),
  FOREIGN KEY (integration_id, organization_id) REFERENCES integrations (id, organization_id) ON DELETE CASCADE
);
CREATE INDEX webhook_signatures_expires_at_idx ON webhook_signatures (integration_id, expires_at);
ALTER TABLE webhook_signatures ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_signatures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_signatures
  USING (organization_id = current_setting('app.organization_id', true))
  WITH CHECK (organization_id = current_setting('app.organization_id', true));

-- Row access for hub_worker (the role `hubworker run` uses, 0026): the
-- webhook family reads integrations, records operations and remembers
-- signatures.  (0026 has checked that the role exists.)
GRANT SELECT ON integrations TO hub_worker;
GRANT SELECT, INSERT ON integration_operations TO hub_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_signatures TO hub_worker;
