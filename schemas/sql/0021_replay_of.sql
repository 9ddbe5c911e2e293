-- Executions made by `hubworker replay --reprocess` name the execution of the
-- original event they re-ran (null for every other execution).  Their
-- completion events carry the same as the CloudEvents extension attribute
-- `replayof`, and their notifications as metadata.replayOf, so that
-- consumers can tell a replay from a first run.
ALTER TABLE workflow_executions ADD COLUMN replay_of text;
