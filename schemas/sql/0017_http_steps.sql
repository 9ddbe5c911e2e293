-- http_request steps (see 0016): the request a step runner sends, rendered
-- when the execution parked, so that every attempt sends the same; the
-- outputs of the nodes finished before it ({{nodes.<id>.output}}), which a
-- resumed execution needs; and how many calls were made (the node's
-- attempts), apart from claims (a lease that ran out is not an attempt).
ALTER TABLE execution_steps ADD COLUMN request jsonb;
ALTER TABLE execution_steps ADD COLUMN node_outputs jsonb NOT NULL DEFAULT '{}';
ALTER TABLE execution_steps ADD COLUMN calls int NOT NULL DEFAULT 0;
