-- Byte-order ("C") collation on the text ids that every processed event adds
-- to a B-tree with values unlike its neighbours': workflow_executions.id (its
-- primary key and UNIQUE (id, organization_id)), workflow_executions.workflow_id
-- and notifications.id.
--
-- Under any other collation -- this project's clusters use C.UTF-8, which
-- PostgreSQL 15 does not treat as "C" -- each comparison of two different ids
-- during an index insertion copies both and calls strcoll.  The ids are opaque
-- ASCII tokens (UUIDs, "<execution id>:<node id>", cuids), so byte order
-- changes no equality and, for ASCII, no ordering that C.UTF-8 gives; other
-- collations only ever sorted them differently by case.  Queries that compare
-- these columns with parameters or default-collation text use the "C" indexes
-- as before (a column's non-default collation wins over the default).
--
-- Measured with tests/bench/db_variants.sh (variant c_collation, PERFORMANCE.md):
-- PostgreSQL CPU per W1 event -5% to -14% in three interleaved pairs.
-- The ALTERs change only the collation of a text column: the tables are not
-- rewritten, their indexes (and the foreign keys that reference
-- (id, organization_id)) are rebuilt.
ALTER TABLE workflow_executions
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN workflow_id TYPE text COLLATE "C";
ALTER TABLE notifications
  ALTER COLUMN id TYPE text COLLATE "C";
