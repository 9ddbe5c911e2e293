-- Dead letters that `hubworker dlq redrive` re-published to their source
-- topic.  A topic cannot be edited, so the mark lives here: a letter with a
-- row is not redriven again (unless asked with --again).  The row is inserted
-- in the transaction that commits only after the broker acknowledged the
-- redriven event, so a failed publish leaves no mark.  The worker's own
-- bookkeeping, like outbox: no row-level security.
CREATE TABLE dead_letter_redrives (
  topic          text NOT NULL,      -- the dead-letter topic
  kafka_partition int NOT NULL,
  kafka_offset   bigint NOT NULL,
  source_topic   text NOT NULL,      -- where it was re-published
  error_class    text NOT NULL,      -- why it had been dead-lettered
  redriven_to    text NOT NULL,      -- "<partition>:<offset>" of the re-published event
  redriven_at    timestamptz NOT NULL,
  PRIMARY KEY (topic, kafka_partition, kafka_offset)
);
