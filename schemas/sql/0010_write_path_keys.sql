-- Cheaper keys on the processing path (measured with tests/bench: the
-- database's W1 ceiling, PERFORMANCE.md).  Every event inserts one row into
-- processed_events, workflow_executions, notifications and outbox; a random
-- text key costs a B-tree descent with collation-aware comparisons per index
-- per row, which profiling showed to be the largest single cost.

-- processed_events: the primary key is a 16-byte digest of the identity
-- instead of the two text columns, which stay for reading.  Length-prefixed
-- so that no two (source, event_id) pairs share an input.  INSERT ... ON
-- CONFLICT DO NOTHING dedupes on it exactly as before.
ALTER TABLE processed_events
  ADD COLUMN identity uuid NOT NULL
  GENERATED ALWAYS AS (md5(length(source)::text || ':' || source || event_id)::uuid) STORED;
ALTER TABLE processed_events DROP CONSTRAINT processed_events_pkey;
ALTER TABLE processed_events ADD PRIMARY KEY (identity);

-- outbox: the relay reads (shard, id) ranges and deletes (shard, id) pairs, so
-- one index on (shard, id) serves both; the separate id key was one more
-- insertion and one more dead entry per event.
ALTER TABLE outbox DROP CONSTRAINT outbox_pkey;
DROP INDEX outbox_shard_id_idx;
ALTER TABLE outbox ADD PRIMARY KEY (shard, id);

-- notifications.user_id -> users: the seed foreign key ran one referential
-- query and one KEY SHARE lock of the same users row per inserted
-- notification.  The same guarantees, per statement instead of per row:
--  * insert/update: every user_id must be a visible user, locked FOR KEY SHARE
--    (as the foreign key does) so that a concurrent delete waits or fails;
--    under row security "visible" also means of the transaction's
--    organisation, which the foreign key did not check;
--  * deleting users deletes their notifications (was ON DELETE CASCADE);
--  * a referenced users.id cannot change (was NO ACTION).
ALTER TABLE notifications DROP CONSTRAINT notifications_user_id_fkey;

CREATE FUNCTION hub_check_notification_users() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  uid text;
BEGIN
  -- One lookup per distinct user of the statement (a batch has a handful).
  FOR uid IN SELECT DISTINCT user_id FROM new_notifications LOOP
    PERFORM 1 FROM users WHERE id = uid FOR KEY SHARE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'insert or update on table "notifications" violates foreign key constraint "notifications_user_id_fkey"'
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = format('Key (user_id)=(%s) is not present in table "users".', uid);
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER notifications_user_exists_insert
  AFTER INSERT ON notifications
  REFERENCING NEW TABLE AS new_notifications
  FOR EACH STATEMENT EXECUTE FUNCTION hub_check_notification_users();
CREATE TRIGGER notifications_user_exists_update
  AFTER UPDATE ON notifications
  REFERENCING NEW TABLE AS new_notifications
  FOR EACH STATEMENT EXECUTE FUNCTION hub_check_notification_users();

CREATE FUNCTION hub_delete_user_notifications() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM notifications n USING deleted_users d WHERE n.user_id = d.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER users_delete_notifications
  AFTER DELETE ON users
  REFERENCING OLD TABLE AS deleted_users
  FOR EACH STATEMENT EXECUTE FUNCTION hub_delete_user_notifications();

CREATE FUNCTION hub_keep_notification_user_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM notifications WHERE user_id = OLD.id) THEN
    RAISE EXCEPTION 'update on table "users" violates foreign key constraint "notifications_user_id_fkey" on table "notifications"'
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key (id)=(%s) is still referenced from table "notifications".', OLD.id);
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER users_keep_notification_user_id
  BEFORE UPDATE OF id ON users
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
  EXECUTE FUNCTION hub_keep_notification_user_id();
