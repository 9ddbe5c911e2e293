#!/usr/bin/env bash
# The README's main command: everything needed to see hubworker work on a fresh
# Debian 12 machine.  Installs missing packages, builds, starts a local
# PostgreSQL (unprivileged user, data in .local/pg-run, a free port), runs
# `hubworker migrate`, starts `hubworker run` with the embedded Kafka-protocol
# broker, saves the workflows of examples/, publishes demo events with
# `hubworker demo`, triggers one example with `hubworker trigger --wait` and
# shows what happened in this run.  The worker keeps running until Ctrl-C;
# `--once` stops after the summary.
#
# For tests: HUB_BUILD_DIR (default build), HUB_SKIP_BUILD=1 (use what is
# built), HUB_STATE_DIR (default .local; pg-run/ and run/ go there).
set -euo pipefail
cd "$(dirname "$0")/.."
ONCE=0
[[ "${1:-}" == "--once" ]] && ONCE=1
BUILD=${HUB_BUILD_DIR:-build}
STATE=${HUB_STATE_DIR:-.local}

if [[ "${HUB_SKIP_BUILD:-0}" != 1 ]]; then
  bash scripts/install-deps.sh
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2
fi
BIN=$BUILD/bin/hubworker
RUN=$STATE/run
mkdir -p "$RUN"
export HUB_LOG_FORMAT=text           # people read this; production keeps json

# Durable settings (the defaults): this is the real thing, not a test cluster.
ADMIN_URL=$(bash scripts/pg.sh start "$STATE/pg-run" | tail -n 1)
PORT=${ADMIN_URL##*:}; PORT=${PORT%%/*}
# Two roles, neither superuser nor BYPASSRLS: hub owns the schema (migrate,
# the demo's seeding, `workflow apply` and the other tools), hub_worker runs the
# worker with only the row access the migrations grant it, so it can neither
# change the schema nor escape row-level security.
psql -X -q "$ADMIN_URL" -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'CREATE ROLE hub LOGIN PASSWORD ''hub'' NOSUPERUSER NOBYPASSRLS'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hub') \gexec
SELECT 'CREATE ROLE hub_worker LOGIN PASSWORD ''hub_worker'' NOSUPERUSER NOBYPASSRLS'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hub_worker') \gexec
SELECT 'CREATE DATABASE hub OWNER hub' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'hub') \gexec
SQL
export HUB_DATABASE_URL="postgresql://hub:hub@127.0.0.1:${PORT}/hub"
WORKER_DATABASE_URL="postgresql://hub_worker:hub_worker@127.0.0.1:${PORT}/hub"
export HUB_KAFKA_BROKERS=""          # empty: `run` starts the embedded broker in-process
export HUB_HTTP_ADDR="${HUB_HTTP_ADDR:-127.0.0.1:9464}"
export HUB_FETCH_WAIT_MS=5           # the embedded broker answers empty fetches only after this wait
export HUB_HTTP_ALLOWLIST=127.0.0.1  # the demo's local endpoint (below) is the only host workflows may call

"$BIN" migrate >"$RUN/migrate.log" 2>&1 || { cat "$RUN/migrate.log"; exit 1; }

# A local HTTP endpoint for the demo's calling workflow (answers {"ok":true}).
"$BUILD/bin/hub_bench_w1" stub --delay-ms 5 >"$RUN/endpoint.out" 2>"$RUN/endpoint.log" &
ENDPOINT_PID=$!
ENDPOINT=""
for _ in $(seq 1 100); do ENDPOINT=$(head -n 1 "$RUN/endpoint.out" 2>/dev/null || true); [[ -n "$ENDPOINT" ]] && break; sleep 0.1; done

LOG=$RUN/worker.log
HUB_DATABASE_URL="$WORKER_DATABASE_URL" "$BIN" run >"$LOG" 2>&1 &
WORKER=$!
cleanup() {
  kill -TERM "$WORKER" 2>/dev/null && wait "$WORKER" 2>/dev/null || true
  kill -TERM "$ENDPOINT_PID" 2>/dev/null || true
  bash scripts/pg.sh stop "$STATE/pg-run" >/dev/null || true
  echo
  echo "Stopped hubworker (with its embedded broker), the demo endpoint and PostgreSQL."
  echo "The database stays in $STATE/pg-run and the next run reuses it; the worker's log is $LOG."
}
trap cleanup EXIT
trap 'exit 0' INT TERM

BROKERS=""
for _ in $(seq 1 300); do
  BROKERS=$(grep -o 'broker started.* bootstrap=[^ ]*' "$LOG" | head -n 1 | sed 's/.*bootstrap=//' || true)
  grep -q ' hubworker running' "$LOG" && [[ -n "$BROKERS" ]] && break
  kill -0 "$WORKER" 2>/dev/null || { echo "hubworker run exited:"; cat "$LOG"; exit 1; }
  sleep 0.1
done
[[ -n "$BROKERS" ]] || { echo "hubworker run did not start:"; cat "$LOG"; exit 1; }
export HUB_KAFKA_BROKERS="$BROKERS"
# The running demo's settings, for commands in another terminal.
cat >"$RUN/env" <<EOF
# Written by scripts/run.sh: the settings of the running demo.  source $RUN/env
# HUB_DATABASE_URL is the schema owner's, for the tools (workflow apply, trigger,
# watch, dlq, replay); the worker itself runs as $WORKER_DATABASE_URL.
export HUB_DATABASE_URL='$HUB_DATABASE_URL'
export HUB_KAFKA_BROKERS='$BROKERS'
export HUB_LOG_FORMAT=text
EOF

START=$(psql -X -qtA "$HUB_DATABASE_URL" -c "SELECT now()")
BEFORE=$(psql -X -qtA "$HUB_DATABASE_URL" -c "SELECT count(*) FROM processed_events")
"$BIN" demo --events 20 ${ENDPOINT:+--endpoint "$ENDPOINT"}
echo
echo "== Workflows from examples/ (hubworker workflow apply)"
for f in examples/*.json; do
  [[ "$f" == examples/broken.json ]] && continue
  "$BIN" workflow apply "$f"
done
for _ in $(seq 1 300); do
  NOW=$(psql -X -qtA "$HUB_DATABASE_URL" -c "SELECT count(*) FROM processed_events")
  (( NOW - BEFORE >= 25 )) && break
  sleep 0.1
done
echo
echo "== Your own event (hubworker trigger --wait): an order of 250 waits a second, then goes to review"
"$BIN" trigger --workflow wf_order_check --input '{"order":"A-1","amount":250}' --wait || true
# The waiting and calling workflows' executions finish a few seconds later.
for _ in $(seq 1 100); do
  RUNNING=$(psql -X -qtA "$HUB_DATABASE_URL" -c "SELECT count(*) FROM execution_steps")
  (( RUNNING == 0 )) && break
  sleep 0.1
done

# Row-level security hides every organisation's rows unless app.organization_id
# is set, so the queries below set it (at connection), as the worker does.
Q() { PGOPTIONS="-c app.organization_id=org_demo" psql -X -q "$HUB_DATABASE_URL" -c "$1"; }
SINCE="started_at >= '$START'"
echo
echo "== This run's executions in the demo organisation (workflow_executions)"
Q "SELECT workflow_id, status, count(*) AS executions, max(nodes_executed) AS nodes, max(error) AS error
     FROM workflow_executions WHERE $SINCE GROUP BY 1, 2 ORDER BY 1, 2"
echo "== One greeting's steps and output"
Q "SELECT e->>'nodeId' AS node, e->>'type' AS type, e->>'status' AS status,
          coalesce((e->'output')::text, e->>'notificationId', '') AS detail
     FROM (SELECT logs FROM workflow_executions WHERE $SINCE AND workflow_id = 'wf_org_demo_0'
            AND status = 'COMPLETED' ORDER BY started_at DESC LIMIT 1) x, jsonb_array_elements(x.logs) e"
echo "== The calling workflow's steps, in the order they finished (the call and a 1 s delay run as parallel branches; the condition picks one branch, the other is SKIPPED; the notification joins them)"
Q "SELECT e->>'nodeId' AS node, e->>'type' AS type, e->>'status' AS status,
          coalesce(e->>'httpStatus', e->>'result', e->>'until', '') AS detail
     FROM (SELECT logs FROM workflow_executions WHERE $SINCE AND workflow_id = 'wf_org_demo_call'
            ORDER BY started_at DESC LIMIT 1) x, jsonb_array_elements(x.logs) e"
echo "== The demo order's build (order.submitted: four milestones, then the agent it provisioned; built once, on the first run)"
Q "SELECT m.progress, m.name AS milestone, o.status AS order_status, a.name AS agent, a.id AS agent_id
     FROM order_milestones m JOIN custom_agent_orders o ON o.id = m.order_id LEFT JOIN ai_agents a ON a.id = o.agent_id
    WHERE o.id = 'order_org_demo' ORDER BY m.progress"
echo "== Notifications written by this run's notification steps"
Q "SELECT user_id, title, message FROM notifications WHERE created_at >= '$START' ORDER BY created_at DESC LIMIT 3"
echo "== Dead letters (hubworker dlq list): the demo's missing-workflow and malformed events"
HUB_KAFKA_BROKERS="$BROKERS" HUB_LOG_LEVEL=warn "$BIN" dlq list || echo "(dlq list could not read the topic)"
echo
echo "== Outbox (empty once everything is published)"
psql -X -q "$HUB_DATABASE_URL" -c "SELECT count(*) AS outbox_rows FROM outbox"
cat <<EOF2
== Where to look next (in another terminal, first: source $RUN/env)
  send your own event:  $BIN trigger --workflow wf_hello --input '{"name":"Ada"}' --wait
  write a workflow:     $BIN workflow apply examples/hello.json   (README, "Write your own workflow")
  watch executions:     $BIN watch
  worker log:           $LOG
  metrics, readiness:   curl -s http://$HUB_HTTP_ADDR/metrics | grep '^hub_'; curl -si http://$HUB_HTTP_ADDR/readyz
  completion events:    kcat -C -b "\$HUB_KAFKA_BROKERS" -t hub.workflow.completed -o beginning -e
  dead letters:         $BIN dlq list; $BIN dlq show <partition:offset>; $BIN dlq redrive --class not_found
  replay (dry run):     $BIN replay --organization org_demo
  SQL:                  PGOPTIONS='-c app.organization_id=org_demo' psql "\$HUB_DATABASE_URL" -c "SELECT * FROM workflow_executions LIMIT 5"
EOF2
if (( ONCE )); then exit 0; fi
echo "hubworker is running (pid $WORKER); Ctrl-C stops it and the database."
wait "$WORKER"
