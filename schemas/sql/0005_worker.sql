-- The worker's own bookkeeping.  Not tenant data: no organization_id, no
-- row-level security.

-- Events waiting to be published.  Written in the same transaction as the
-- effects that caused them; the relay publishes in (shard, id) order and
-- deletes what the broker acknowledged.
CREATE TABLE outbox (
  id         bigserial PRIMARY KEY,
  shard      smallint NOT NULL,                  -- common::OutboxShard(kafka_key), 0..63
  topic      text NOT NULL,                      -- full topic name including prefix
  kafka_key  text NOT NULL,
  payload    text NOT NULL,                      -- structured CloudEvent JSON
  headers    jsonb NOT NULL DEFAULT '{}'::jsonb, -- extra Kafka headers {"name":"value"}
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_shard_id_idx ON outbox (shard, id);

-- Identities (source, id) of applied events: processing one twice has the
-- effect of processing it once.
CREATE TABLE processed_events (
  source          text NOT NULL,
  event_id        text NOT NULL,
  topic           text NOT NULL,
  kafka_partition int NOT NULL,
  kafka_offset    bigint NOT NULL,
  processed_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, event_id)
);
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);
