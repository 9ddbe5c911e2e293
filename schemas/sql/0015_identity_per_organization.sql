-- An event's identity is (source, id) within its organisation.  Globally, one
-- tenant could send an event with the identity another tenant's event will
-- have and make the worker skip that one as a duplicate; and both events would
-- derive the same execution id.  The identity digest now covers the
-- organisation too (length-prefixed, so no two triples share an input).
--
-- Rows recorded before this migration have organization_id '' and keep no
-- meaning for new events: an event applied before it and delivered again
-- after it would be applied again.  Apply it with the consumer groups caught
-- up (README, "Changes to the contract").
ALTER TABLE processed_events ADD COLUMN organization_id text NOT NULL DEFAULT '';
ALTER TABLE processed_events ALTER COLUMN organization_id DROP DEFAULT;
ALTER TABLE processed_events DROP CONSTRAINT processed_events_pkey;
ALTER TABLE processed_events DROP COLUMN identity;
ALTER TABLE processed_events
  ADD COLUMN identity uuid NOT NULL
  GENERATED ALWAYS AS (md5(length(organization_id)::text || ':' || organization_id ||
                           length(source)::text || ':' || source || event_id)::uuid) STORED;
ALTER TABLE processed_events ADD PRIMARY KEY (identity);
