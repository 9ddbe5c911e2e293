-- Outbox rows that can never be published: the producer refuses the message
-- itself, before sending it, because it is larger than message.max.bytes
-- (librdkafka's default, 1,000,000 bytes, is below the brokers' default
-- limit; HUB_KAFKA_CONFIG can set it).  Left in the outbox, such a row was
-- retried forever and held back every later row of its shard (1/64 of the
-- keys).  The relay moves it here instead, in one statement, logs it and counts
-- it (hub_outbox_quarantined_total, alert HubOutboxRowsQuarantined); the rows
-- after it are published.  Nothing is lost: once the cause is fixed (e.g. the
-- topic's limit raised), an operator puts a row back with
--   INSERT INTO outbox (shard, topic, kafka_key, payload, headers)
--     SELECT shard, topic, kafka_key, payload, headers FROM outbox_quarantine WHERE id = ...;
--   DELETE FROM outbox_quarantine WHERE id = ...;
-- Not tenant data (like outbox): no row-level security.
CREATE TABLE outbox_quarantine (
  id             bigint NOT NULL,   -- the row's outbox id
  shard          smallint NOT NULL,
  topic          text NOT NULL,
  kafka_key      text NOT NULL,
  payload        text NOT NULL,
  headers        jsonb NOT NULL,
  created_at     timestamptz NOT NULL,
  quarantined_at timestamptz NOT NULL DEFAULT now(),
  error          text NOT NULL,     -- why the broker refused it
  PRIMARY KEY (shard, id)
);
