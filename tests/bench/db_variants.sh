#!/usr/bin/env bash
# Diagnostics for PERFORMANCE.md: what the database's W1 ceiling is made of.
# Runs the W1 pgbench transaction (hub_bench_w1 pgbench-script) against
# variants of the schema and settings, each on a fresh database of the durable
# bench cluster (.local/pg-bench), and prints W1 events/s, PostgreSQL CPU per
# 1,000 events and WAL bytes per event for each.  Changes nothing outside its
# own scratch database; the schema variants exist only there.
#
#   bash tests/bench/db_variants.sh            (after tests/bench/run.sh has built)
#
# Settings: BENCH_BUILD_DIR=build-bench  DBV_SECONDS=15  DBV_CLIENTS=2  DBV_BATCH=1000
#           DBV_VARIANTS="base seed_exec_indexes on_conflict lean_indexes no_rls counters_ff50 no_counters
#                         async_commit batch_100 batch_5000"
# Variants: seed_exec_indexes (workflow_executions with the seeds' separate
# organization_id, started_at and full status indexes, as before migration
# 0011), on_conflict (identities recorded with INSERT ... ON CONFLICT DO
# NOTHING RETURNING, the worker's path after a redelivery, instead of the
# plain INSERT of its optimistic path), lean_indexes (the remaining
# organization_id/status indexes of executions/notifications dropped), no_fk
# (the seed foreign keys that migrations 0009/0010 replaced, a no-op now),
# no_rls (row security not forced on the owner), counters_ff50
# (automation_workflows with fillfactor 50, so the counter UPDATE can be HOT),
# no_counters (no counter UPDATE at all), no_exec_org_key (no UNIQUE (id,
# organization_id) on workflow_executions, nor the composite keys using it), c_collation (byte-order collation on
# the executions' id and workflow_id and the notifications' id), async_commit (synchronous_commit=off:
# the share of the WAL flush), batch_N (N events per transaction).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BENCH_BUILD_DIR:-build-bench}
SECONDS_EACH=${DBV_SECONDS:-15}
CLIENTS=${DBV_CLIENTS:-2}
BATCH=${DBV_BATCH:-1000}
VARIANTS=${DBV_VARIANTS:-"base seed_exec_indexes on_conflict lean_indexes no_rls counters_ff50 no_counters async_commit batch_100 batch_5000"}
BIN=$PWD/$BUILD/bin/hubworker
BENCH=$PWD/$BUILD/bin/hub_bench_w1
PGDIR=.local/pg-bench
OUT=.local/bench/db-variants-$(date -u +%Y%m%dT%H%M%SZ)
[ -x "$BENCH" ] || { echo "build first: bash tests/bench/run.sh (or cmake --build $BUILD --target hub_bench_w1 hubworker)" >&2; exit 1; }
mkdir -p "$OUT"

STARTED=0
cleanup() { if [ "$STARTED" = 1 ]; then bash scripts/pg.sh stop "$PGDIR" >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -f "$PGDIR/postmaster.pid" ]; then
  ADMIN_URL=$(tail -n 1 "$PGDIR/url")
else
  ADMIN_URL=$(bash scripts/pg.sh start "$PGDIR" | tail -n 1)
  STARTED=1
fi
PORT=${ADMIN_URL##*:}
PORT=${PORT%%/*}
PG_PID=$(head -n 1 "$PGDIR/postmaster.pid")
psql -X -q "$ADMIN_URL" -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'CREATE ROLE hub LOGIN PASSWORD ''hub'' NOSUPERUSER NOBYPASSRLS'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hub') \gexec
SELECT 'CREATE ROLE hub_worker LOGIN PASSWORD ''hub_worker'' NOSUPERUSER NOBYPASSRLS'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hub_worker') \gexec
SQL
DB=hub_dbvariants
HUB_URL="postgresql://hub:hub@127.0.0.1:${PORT}/$DB"
DB_ADMIN_URL="postgresql://postgres@127.0.0.1:${PORT}/$DB"

pg_ticks() {
  local t=0 p
  for p in $(pgrep -P "$PG_PID"); do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo $((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PG_PID/stat")))
}

# Foreign keys checked per inserted row (one RI query each, FOR KEY SHARE of
# the parent row), and indexes that one organisation's W1 rows make nearly
# useless (a single organization_id, three statuses).
NO_FK="ALTER TABLE workflow_executions DROP CONSTRAINT IF EXISTS workflow_executions_organization_id_fkey;
ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_organization_id_fkey;
ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_user_id_fkey;"
LEAN_INDEXES="DROP INDEX IF EXISTS workflow_executions_organization_id_idx; DROP INDEX IF EXISTS workflow_executions_status_idx;
DROP INDEX IF EXISTS notifications_organization_id_idx;"
# The seeds' executions indexes, as before migration 0011.
SEED_EXEC_IDX="DROP INDEX workflow_executions_organization_id_started_at_idx; DROP INDEX workflow_executions_status_idx;
CREATE INDEX workflow_executions_organization_id_idx ON workflow_executions (organization_id);
CREATE INDEX workflow_executions_started_at_idx ON workflow_executions (started_at);
CREATE INDEX workflow_executions_status_idx ON workflow_executions (status);"
# Byte-order ("C") collation on the text keys whose values differ row to row;
# under the cluster's C.UTF-8 each comparison of two different ids goes
# through strcoll (PostgreSQL 15 fast-paths only "C" and "POSIX").
C_COLLATION="ALTER TABLE workflow_executions ALTER COLUMN id TYPE text COLLATE \"C\", ALTER COLUMN workflow_id TYPE text COLLATE \"C\";
ALTER TABLE notifications ALTER COLUMN id TYPE text COLLATE \"C\";"
# workflow_executions without UNIQUE (id, organization_id), which exists only
# as the target of the tenant-safe composite foreign keys of agent_executions
# and team_executions (one more B-tree insertion per event); the keys dropped too.
NO_EXEC_ORG_KEY="ALTER TABLE agent_executions DROP CONSTRAINT agent_executions_workflow_execution_id_organization_id_fkey;
ALTER TABLE team_executions DROP CONSTRAINT team_executions_workflow_execution_id_organization_id_fkey;
ALTER TABLE workflow_executions DROP CONSTRAINT workflow_executions_id_organization_id_key;"
NO_RLS="ALTER TABLE workflow_executions NO FORCE ROW LEVEL SECURITY; ALTER TABLE notifications NO FORCE ROW LEVEL SECURITY;
ALTER TABLE automation_workflows NO FORCE ROW LEVEL SECURITY; ALTER TABLE organizations NO FORCE ROW LEVEL SECURITY;"

printf '%-22s %8s %10s %12s %14s %10s\n' variant tps events/s "pg CPU s/1k" "WAL B/event" "flushes/s" | tee "$OUT/summary.txt"
for v in $VARIANTS; do
  batch=$BATCH
  opts=""
  ddl=""
  case "$v" in
    base) ;;
    no_fk) ddl=$NO_FK ;;
    lean_indexes) ddl=$LEAN_INDEXES ;;
    no_fk_lean_indexes) ddl="$NO_FK $LEAN_INDEXES" ;;
    no_rls) ddl=$NO_RLS ;;
    c_collation) ddl=$C_COLLATION ;;
    no_exec_org_key) ddl=$NO_EXEC_ORG_KEY ;;
    seed_exec_indexes) ddl=$SEED_EXEC_IDX ;;
    on_conflict) ;;
    counters_ff50) ddl="ALTER TABLE automation_workflows SET (fillfactor = 50); VACUUM FULL automation_workflows;" ;;
    no_counters) ;;
    async_commit) opts="-c synchronous_commit=off" ;;
    batch_*) batch=${v#batch_} ;;
    *) echo "unknown variant $v" >&2; exit 2 ;;
  esac
  psql -X -q "$ADMIN_URL" -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB OWNER hub"
  HUB_DATABASE_URL="$HUB_URL" "$BIN" migrate >"$OUT/migrate.log" 2>&1
  "$BENCH" seed --database-url "$HUB_URL" 2>/dev/null
  [ -z "$ddl" ] || echo "$ddl" | psql -X -q "$DB_ADMIN_URL" -v ON_ERROR_STOP=1 -f -
  psql -X -q "$DB_ADMIN_URL" -c "VACUUM ANALYZE" -c "CHECKPOINT"
  "$BENCH" pgbench-script --batch "$batch" >"$OUT/$v.sql"
  if [ "$v" = no_counters ]; then sed -i '/^UPDATE automation_workflows/d' "$OUT/$v.sql"; fi
  if [ "$v" = on_conflict ]; then
    sed -i '/^INSERT INTO processed_events/s/;$/ ON CONFLICT DO NOTHING RETURNING organization_id, source, event_id;/' "$OUT/$v.sql"
  fi
  read -r wb0 ws0 < <(psql -X -qtA -F ' ' "$HUB_URL" -c "SELECT wal_bytes, wal_sync FROM pg_stat_wal")
  t0=$(pg_ticks)
  PGOPTIONS="$opts" pgbench -n -M prepared -f "$OUT/$v.sql" -D nclients="$CLIENTS" -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_EACH" "$HUB_URL" \
    >"$OUT/$v.txt" 2>&1 || { tail -n 5 "$OUT/$v.txt" >&2; continue; }
  t1=$(pg_ticks)
  sleep 1.5
  read -r wb1 ws1 < <(psql -X -qtA -F ' ' "$HUB_URL" -c "SELECT wal_bytes, wal_sync FROM pg_stat_wal")
  psql -X -qtA "$DB_ADMIN_URL" -c "SELECT 'counter updates: ' || n_tup_upd || ', HOT: ' || n_tup_hot_upd
    FROM pg_stat_user_tables WHERE relname = 'automation_workflows'" >"$OUT/$v.hot.txt" 2>&1 || true
  tps=$(grep -m1 -o 'tps = [0-9.]*' "$OUT/$v.txt" | cut -d' ' -f3)
  tx=$(grep -m1 -o 'number of transactions actually processed: [0-9]*' "$OUT/$v.txt" | grep -o '[0-9]*$')
  awk -v v="$v" -v tps="$tps" -v b="$batch" -v n="$tx" -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" \
    -v wb0="$wb0" -v wb1="$wb1" -v ws0="$ws0" -v ws1="$ws1" -v s="$SECONDS_EACH" \
    'BEGIN { e = n * b; printf "%-22s %8.2f %10.0f %12.4f %14.0f %10.1f\n", v, tps, tps * b,
             (e > 0 ? (t1 - t0) / hz * 1000 / e : 0), (e > 0 ? (wb1 - wb0) / e : 0), (ws1 - ws0) / s }' | tee -a "$OUT/summary.txt"
done
psql -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
echo "details: $OUT" >&2
