#!/usr/bin/env bash
# The README's main command: everything needed to see hubworker work on a fresh
# Debian 12 machine.  Installs missing packages, builds, starts a local
# PostgreSQL (unprivileged user, data in .local/pg-run, a free port), runs
# `hubworker migrate`, starts `hubworker run` with the embedded Kafka-protocol
# broker, publishes demo events with `hubworker demo` and shows what happened.
# The worker keeps running until Ctrl-C; `--once` stops after the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
ONCE=0
[[ "${1:-}" == "--once" ]] && ONCE=1

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
BIN=build/bin/hubworker

# Durable settings (the defaults): this is the real thing, not a test cluster.
ADMIN_URL=$(bash scripts/pg.sh start .local/pg-run | tail -n 1)
PORT=${ADMIN_URL##*:}; PORT=${PORT%%/*}
# The worker's role: owns the tables, but is neither superuser nor BYPASSRLS,
# so row-level security applies to it (FORCE ROW LEVEL SECURITY).
psql -X -q "$ADMIN_URL" -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'CREATE ROLE hub LOGIN PASSWORD ''hub'' NOSUPERUSER NOBYPASSRLS'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hub') \gexec
SELECT 'CREATE DATABASE hub OWNER hub' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'hub') \gexec
SQL
export HUB_DATABASE_URL="postgresql://hub:hub@127.0.0.1:${PORT}/hub"
export HUB_KAFKA_BROKERS=""          # empty: `run` starts the embedded broker in-process
export HUB_HTTP_ADDR="${HUB_HTTP_ADDR:-127.0.0.1:9464}"
export HUB_FETCH_WAIT_MS=5           # the embedded broker answers empty fetches only after this wait
export HUB_HTTP_ALLOWLIST=127.0.0.1  # the demo's local endpoint (below) is the only host workflows may call

"$BIN" migrate

# A local HTTP endpoint for the demo's calling workflow (answers {"ok":true}).
mkdir -p .local/run
build/bin/hub_bench_w1 stub --delay-ms 5 >.local/run/endpoint.out 2>.local/run/endpoint.log &
ENDPOINT_PID=$!
ENDPOINT=""
for _ in $(seq 1 100); do ENDPOINT=$(head -n 1 .local/run/endpoint.out 2>/dev/null || true); [[ -n "$ENDPOINT" ]] && break; sleep 0.1; done

mkdir -p .local/run
LOG=.local/run/worker.log
"$BIN" run >"$LOG" 2>&1 &
WORKER=$!
cleanup() {
  kill -TERM "$WORKER" 2>/dev/null && wait "$WORKER" 2>/dev/null || true
  kill -TERM "$ENDPOINT_PID" 2>/dev/null || true
  bash scripts/pg.sh stop .local/pg-run >/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

BROKERS=""
for _ in $(seq 1 300); do
  BROKERS=$(grep -o '"bootstrap":"[^"]*"' "$LOG" | head -n 1 | cut -d'"' -f4 || true)
  grep -q '"hubworker running"' "$LOG" && [[ -n "$BROKERS" ]] && break
  kill -0 "$WORKER" 2>/dev/null || { echo "hubworker run exited:"; cat "$LOG"; exit 1; }
  sleep 0.1
done
[[ -n "$BROKERS" ]] || { echo "hubworker run did not start:"; cat "$LOG"; exit 1; }

BEFORE=$(psql -X -qtA "$HUB_DATABASE_URL" -c "SELECT count(*) FROM processed_events")
HUB_KAFKA_BROKERS="$BROKERS" "$BIN" demo --events 20 ${ENDPOINT:+--endpoint "$ENDPOINT"}
for _ in $(seq 1 300); do
  NOW=$(psql -X -qtA "$HUB_DATABASE_URL" -c "SELECT count(*) FROM processed_events")
  (( NOW - BEFORE >= 25 )) && break
  sleep 0.1
done
# The waiting and calling workflows' executions finish a few seconds later.
for _ in $(seq 1 100); do
  RUNNING=$(psql -X -qtA "$HUB_DATABASE_URL" -c "SELECT count(*) FROM execution_steps")
  (( RUNNING == 0 )) && break
  sleep 0.1
done

# Row-level security hides every organisation's rows unless app.organization_id
# is set, so the queries below set it, as the worker does.
Q() { psql -X "$HUB_DATABASE_URL" -c "SET app.organization_id = 'org_demo'" -c "$1"; }
echo
echo "== Executions of the demo organisation (workflow_executions)"
Q "SELECT workflow_id, status, count(*) AS executions, max(nodes_executed) AS nodes, max(error) AS error
     FROM workflow_executions GROUP BY 1, 2 ORDER BY 1, 2"
echo "== One execution's step logs"
Q "SELECT id, output, jsonb_pretty(logs) AS logs FROM workflow_executions
    WHERE status = 'COMPLETED' ORDER BY started_at DESC LIMIT 1"
echo "== The calling workflow's steps (http_request -> delay -> condition -> one branch; the other SKIPPED)"
Q "SELECT e->>'nodeId' AS node, e->>'type' AS type, e->>'status' AS status,
          coalesce(e->>'httpStatus', e->>'result', e->>'until', '') AS detail
     FROM (SELECT logs FROM workflow_executions WHERE workflow_id = 'wf_org_demo_call'
            ORDER BY started_at DESC LIMIT 1) x, jsonb_array_elements(x.logs) e"
echo "== Notifications written by the notification steps"
Q "SELECT user_id, title, message FROM notifications ORDER BY created_at DESC LIMIT 3"
echo "== Dead letters (hub.deadletter): the demo's missing-workflow and malformed events"
kcat -C -b "$BROKERS" -t hub.deadletter -o beginning -e -q -f '%h\n' 2>/dev/null \
  | sed 's/,\([a-z_-]*=\)/\n\1/g' | grep -E '^hub-error(-class)?=' | paste - - || echo "(kcat could not read the topic)"
echo
echo "== Outbox (empty once everything is published)"
psql -X "$HUB_DATABASE_URL" -c "SELECT count(*) AS outbox_rows FROM outbox"
cat <<EOF2
== Where to look next
  worker log:          $LOG
  metrics:             curl -s http://$HUB_HTTP_ADDR/metrics | grep '^hub_'
  readiness:           curl -si http://$HUB_HTTP_ADDR/readyz
  completion events:   kcat -C -b $BROKERS -t hub.workflow.completed -o beginning -e
  dead letters:        kcat -C -b $BROKERS -t hub.deadletter -o beginning -e -f '%k %h\n%s\n\n'
  SQL:                 psql "$HUB_DATABASE_URL" -c "SET app.organization_id='org_demo'" -c "SELECT * FROM workflow_executions LIMIT 5"
  more events:         HUB_KAFKA_BROKERS=$BROKERS HUB_DATABASE_URL=$HUB_DATABASE_URL $BIN demo --events 1000
EOF2
if (( ONCE )); then exit 0; fi
echo "hubworker is running (pid $WORKER); Ctrl-C stops it and the database."
wait "$WORKER"
