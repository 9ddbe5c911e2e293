#!/usr/bin/env bash
# The W1 benchmark (PERFORMANCE.md): one command, everything on this machine.
#
#   bash tests/bench/run.sh
#
# Builds Release in build-bench/, starts a DURABLE PostgreSQL (defaults: fsync,
# synchronous_commit, full_page_writes on) in .local/pg-bench, then runs:
#   throughput  N events at full speed with 1, 2, 3 worker processes (one
#               consumer group); the producer keeps produced - completed <= lead
#   latency     1 worker at a fixed 1,000 events/s, then at half the 1-worker
#               full-speed rate (after an unrecorded 2 s warm-up at 500/s)
#   backlog     100,000 events produced BEFORE the worker starts: drain rate and
#               the worker's peak RSS
#   pgbench     the database's own ceiling for W1's writes (same statements and
#               rows, 1,000 events per transaction, as the `hub` role under RLS)
# Every scenario gets a fresh database and a fresh `hubworker broker`.  Results:
# one JSON line per run in $OUT/results.jsonl, a table in $OUT/summary.md.
# Stops everything it started on exit (Ctrl-C included).
#
# Settings (environment):
#   BENCH_EVENTS=200000          events per full-speed run
#   BENCH_WORKERS="1 2 3"        worker process counts of the throughput runs
#   BENCH_MAX_LEAD=50000         produced - completed bound (the mock broker keeps ~5 MiB per partition)
#   BENCH_LOW_RATE=1000          fixed rate of the first latency run (events/s)
#   BENCH_HALF_RATE=             rate of the second latency run; default: half the
#                                1-worker full-speed result of this invocation
#   BENCH_LATENCY_SECONDS=10     length of each latency run.  Keep it short: the mock
#                                broker finds a fetch offset by walking the partition's
#                                message sets (no index), so at a steady rate with small
#                                produce batches its CPU grows with the run (measured:
#                                15% -> 49% of a core over 20 s at 1,000/s; PERFORMANCE.md)
#   BENCH_BACKLOG=100000         events of the backlog run
#   BENCH_BACKLOG_COMPRESSION=none  producer compression of the backlog; the mock keeps
#                                ~5 MiB per partition (100,000 W1 events fit uncompressed,
#                                200,000 do not: the run checks it and says so; lz4 helps)
#   BENCH_PARTITIONS=12          partitions of the broker's topics
#   BENCH_PGBENCH_SECONDS=20  BENCH_PGBENCH_BATCH=1000  BENCH_PGBENCH_CLIENTS="1 2 4"
#   BENCH_PGBENCH_RELAY_CLIENTS=""    clients of a variant that also deletes the rows (off by default:
#                                its DELETE finds them by scanning the shards' index ranges, dead
#                                entries included, unlike the publisher's probes by exact key, and
#                                overstates the cost; pg_stat_statements of a worker run is accurate)
#   BENCH_ADJACENT_CEILING=1     also measure the ceiling (pgbench, 2 clients) right before and right after
#                                each throughput and backlog run, and report the run against the mean of the
#                                two: this machine's speed swings by up to half within minutes (PERFORMANCE.md),
#                                so a ceiling measured ten minutes later says little about the run.  0 = off
#   BENCH_ADJACENT_SECONDS=10    length of each adjacent pgbench
#   BENCH_SCENARIOS="throughput latency backlog pgbench w2"
#   BENCH_W2_EVENTS=20000        executions of each W2 full-speed run (trigger -> http_request to a
#   BENCH_W2_WORKERS="1 3"       local stub answering after BENCH_W2_DELAY_MS=1 -> notification), and the
#   BENCH_W2_RATE=500            fixed rate of the W2 latency run (BENCH_LATENCY_SECONDS long)
#   BENCH_FSYNC_TEST=1           run pg_test_fsync once (machine facts)
#   BENCH_HALF_LINGER_MS=20      the generator's linger.ms in the half-max-rate run.  Its latencies
#                                include it (an event's time is taken before it is produced), but
#                                with 5 ms the mock broker's walk over the many small message sets
#                                (above) grows to ~0.4 core within the 10 s and the tail with it:
#                                p99 99-195 ms with 5, 104-158 with 10, 54-55 with 20 (PERFORMANCE.md)
#   BENCH_FETCH_WAIT_MS=5        fetch.wait.max.ms of the workers (HUB_FETCH_WAIT_MS): the mock
#                                broker holds every fetch that finds no data this long, even
#                                when data arrives meanwhile (a real broker answers at once),
#                                so it is part of the trigger's hop
#   BENCH_READER_FETCH_WAIT_MS=1 the completion reader's.  The reader stands in for a downstream
#                                consumer on a real broker, whose long poll returns when the
#                                completion arrives; 1 ms keeps the mock's hold out of the
#                                measurement (5, the earlier default, added ~4 ms to the p99 at
#                                1,000/s: 19.8-22.1 vs 15.9-17.8 ms in 3 pairs, PERFORMANCE.md)
#   BENCH_READER_FETCH_WAIT_FULL_MS=5  the reader's in the full-speed runs (the backlog run's reader
#                                uses 5 too).  There an event waits seconds behind the lead, so
#                                the mock's hold of 0-5 ms changes nothing, while fetching every
#                                millisecond cost the broker ~30% and the reader ~12% more CPU,
#                                taken from the machine being measured (2 pairs, PERFORMANCE.md)
#   BENCH_PG_STATEMENTS=0        1 = load pg_stat_statements (diagnostics; restarts the
#                                cluster) and write each scenario's top statements
#   BENCH_BUILD_DIR=build-bench  BENCH_OUT=.local/bench/<UTC time>  BENCH_KEEP_PG=0
# Worker tuning knobs (HUB_WORKER_THREADS, HUB_BATCH_MAX, HUB_MAX_INFLIGHT, ...)
# are passed through from the environment.
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${BENCH_EVENTS:-200000}
WORKER_COUNTS=${BENCH_WORKERS:-"1 2 3"}
MAX_LEAD=${BENCH_MAX_LEAD:-50000}
LOW_RATE=${BENCH_LOW_RATE:-1000}
HALF_RATE=${BENCH_HALF_RATE:-}
LAT_SECONDS=${BENCH_LATENCY_SECONDS:-10}
BACKLOG=${BENCH_BACKLOG:-100000}
BACKLOG_COMPRESSION=${BENCH_BACKLOG_COMPRESSION:-none}
PARTITIONS=${BENCH_PARTITIONS:-12}
PGB_SECONDS=${BENCH_PGBENCH_SECONDS:-20}
PGB_BATCH=${BENCH_PGBENCH_BATCH:-1000}
PGB_CLIENTS=${BENCH_PGBENCH_CLIENTS:-"1 2 4"}
PGB_RELAY_CLIENTS=${BENCH_PGBENCH_RELAY_CLIENTS:-""}
ADJACENT=${BENCH_ADJACENT_CEILING:-1}
ADJ_SECONDS=${BENCH_ADJACENT_SECONDS:-10}
SCENARIOS=${BENCH_SCENARIOS:-"throughput latency backlog pgbench w2"}
W2_EVENTS=${BENCH_W2_EVENTS:-20000}
W2_WORKERS=${BENCH_W2_WORKERS:-"1 3"}
W2_RATE=${BENCH_W2_RATE:-500}
W2_DELAY_MS=${BENCH_W2_DELAY_MS:-1}
FSYNC_TEST=${BENCH_FSYNC_TEST:-1}
BUILD=${BENCH_BUILD_DIR:-build-bench}
OUT=${BENCH_OUT:-.local/bench/$(date -u +%Y%m%dT%H%M%SZ)}
PGDIR=.local/pg-bench
KEEP_PG=${BENCH_KEEP_PG:-0}
PG_STATEMENTS=${BENCH_PG_STATEMENTS:-0}
FETCH_WAIT_MS=${BENCH_FETCH_WAIT_MS:-5}
READER_FETCH_WAIT_MS=${BENCH_READER_FETCH_WAIT_MS:-1}
READER_FETCH_WAIT_FULL_MS=${BENCH_READER_FETCH_WAIT_FULL_MS:-5}
FULL_LINGER_MS=${BENCH_FULL_LINGER_MS:-5}
HALF_LINGER_MS=${BENCH_HALF_LINGER_MS:-20}

say() { echo "== $*" >&2; }

# ---------------------------------------------------------------- build
if [ -f scripts/install-deps.sh ]; then bash scripts/install-deps.sh >&2; fi
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target hubworker hub_bench_w1 >&2
BIN=$PWD/$BUILD/bin/hubworker
BENCH=$PWD/$BUILD/bin/hub_bench_w1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

# ---------------------------------------------------------------- cleanup
WORKER_PIDS=()
BROKER_PID=""
PG_STARTED=0
stop_pid() {  # pid [seconds]: SIGTERM, wait, then SIGKILL
  local pid=$1 secs=${2:-40} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "pid $pid did not stop within ${secs}s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_workers() {
  local p
  for p in "${WORKER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${WORKER_PIDS[@]}"; do stop_pid "$p" 40; done
  WORKER_PIDS=()
}
stop_broker() {
  if [ -n "$BROKER_PID" ]; then stop_pid "$BROKER_PID" 20; fi
  BROKER_PID=""
}
cleanup() {
  set +e
  stop_workers
  stop_broker
  if [ "$PG_STARTED" = 1 ] && [ "$KEEP_PG" != 1 ]; then bash scripts/pg.sh stop "$PGDIR" >/dev/null 2>&1; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- PostgreSQL (durable)
# Stopped at exit only if this run started it.
[ -f "$PGDIR/postmaster.pid" ] || PG_STARTED=1
ADMIN_URL=$(bash scripts/pg.sh start "$PGDIR" | tail -n 1)
# Diagnostics only (BENCH_PG_STATEMENTS=1): pg_stat_statements needs a preload
# library and a restart; otherwise make sure the cluster runs without it.
want_pss=""
[ "$PG_STATEMENTS" = 1 ] && want_pss=pg_stat_statements
if [ "$(psql -X -qtA "$ADMIN_URL" -c 'SHOW shared_preload_libraries')" != "$want_pss" ]; then
  if [ -n "$want_pss" ]; then
    psql -X -q "$ADMIN_URL" -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >&2
  else
    psql -X -q "$ADMIN_URL" -c "ALTER SYSTEM RESET shared_preload_libraries" >&2
  fi
  bash scripts/pg.sh stop "$PGDIR" >&2
  ADMIN_URL=$(bash scripts/pg.sh start "$PGDIR" | tail -n 1)
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
HUB_URL="postgresql://hub:hub@127.0.0.1:${PORT}/hub_bench"           # the owner: migrate, seed, counts
WORKER_URL="postgresql://hub_worker:hub_worker@127.0.0.1:${PORT}/hub_bench"  # the workers, as in production
DB_ADMIN_URL="postgresql://postgres@127.0.0.1:${PORT}/hub_bench"

fresh_db() {
  psql -X -q "$ADMIN_URL" -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS hub_bench WITH (FORCE)" \
    -c "CREATE DATABASE hub_bench OWNER hub" >&2
  HUB_DATABASE_URL="$HUB_URL" "$BIN" migrate >"$1/migrate.log" 2>&1 || { cat "$1/migrate.log" >&2; return 1; }
  "$BENCH" seed --database-url "$HUB_URL" ${W2_URL:+--w2-url "$W2_URL"} 2>>"$1/bench.log"
  psql -X -q "$DB_ADMIN_URL" -c "VACUUM ANALYZE" -c "CHECKPOINT" >&2
  if [ "$PG_STATEMENTS" = 1 ]; then
    psql -X -q "$DB_ADMIN_URL" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
      -c "SELECT pg_stat_statements_reset()" >/dev/null
  fi
}

# What the database did per execution in a W2 run: transactions committed,
# rows written (inserted + updated + deleted, every table), and with
# BENCH_PG_STATEMENTS=1 statements executed (round trips).  Counters of the
# bench database, read before and after the load.
db_counters() {
  psql -X -qtA -F ' ' "$DB_ADMIN_URL" -c "SELECT
      (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
      (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_all_tables),
      $( [ "$PG_STATEMENTS" = 1 ] && echo "(SELECT coalesce(sum(calls), 0) FROM pg_stat_statements)" || echo "-1" )"
}
db_facts() {  # dir label executions before-counters
  local after
  after=$(db_counters)  # after the workers stopped: their backends flushed their statistics
  read -r c0 r0 s0 <<<"$4"
  read -r c1 r1 s1 <<<"$after"
  awk -v l="$2" -v n="$3" -v c=$((c1 - c0)) -v r=$((r1 - r0)) -v s0="$s0" -v s1="$s1" 'BEGIN {
      printf "%s: per execution %.2f transactions, %.1f rows written", l, c / n, r / n
      if (s0 >= 0) printf ", %.1f statements", (s1 - s0) / n
      printf "\n" }' | tee -a "$1/db_facts.txt" >&2
  cat "$1/db_facts.txt" >>"$OUT/w2_db_facts.txt"
}

# Where the database spent its time in the last scenario (BENCH_PG_STATEMENTS=1).
dump_statements() {  # dir
  [ "$PG_STATEMENTS" = 1 ] || return 0
  psql -X "$DB_ADMIN_URL" -c "SELECT calls, round(total_exec_time::numeric, 0) AS total_ms,
      round(mean_exec_time::numeric, 2) AS mean_ms, rows, wal_bytes, left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 20" >"$1/pg_stat_statements.txt" 2>&1 || true
}

# ---------------------------------------------------------------- machine facts
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "ram: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "postgresql: $(psql -X -qtA "$ADMIN_URL" -c 'SHOW server_version')"
  psql -X -qtA "$ADMIN_URL" -F ' = ' -c "SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings
    WHERE name IN ('fsync','synchronous_commit','full_page_writes','wal_level','wal_sync_method','shared_buffers',
                   'max_wal_size','checkpoint_timeout','commit_delay','wal_buffers','max_connections')
    ORDER BY name" | sed 's/^/pg /'
  echo "workload: 100 W1 workflows, $PARTITIONS partitions, HUB_FETCH_WAIT_MS=$FETCH_WAIT_MS, the reader's fetch.wait.max.ms $READER_FETCH_WAIT_MS (full speed and backlog: $READER_FETCH_WAIT_FULL_MS), worker lanes ${HUB_WORKER_THREADS:-2} (default), batch max ${HUB_BATCH_MAX:-2000}"
} >"$OUT/machine.txt"
if [ "$FSYNC_TEST" = 1 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_test_fsync -s 1 -f "$PWD/$PGDIR/fsync.test" \
      >"$OUT/pg_test_fsync.txt" 2>&1 || true
  else
    /usr/lib/postgresql/15/bin/pg_test_fsync -s 1 -f "$PWD/$PGDIR/fsync.test" >"$OUT/pg_test_fsync.txt" 2>&1 || true
  fi
  rm -f "$PGDIR/fsync.test"
  # First table of pg_test_fsync: one 8 kB write + sync, per method.
  grep -m1 -E '^[[:space:]]+fdatasync[[:space:]]' "$OUT/pg_test_fsync.txt" | awk '{ print "fsync test: one 8 kB write + fdatasync = " $4 " us (" $2 " ops/s)" }' \
    >>"$OUT/machine.txt" || true
fi
cat "$OUT/machine.txt" >&2

# ---------------------------------------------------------------- broker and workers
BROKERS=""
start_broker() {  # dir
  HUB_KAFKA_PARTITIONS=$PARTITIONS "$BIN" broker >"$1/broker.out" 2>"$1/broker.log" &
  BROKER_PID=$!
  local i
  for ((i = 0; i < 300; i++)); do
    BROKERS=$(head -n 1 "$1/broker.out" 2>/dev/null || true)
    [ -n "$BROKERS" ] && return 0
    kill -0 "$BROKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "hubworker broker did not start:" >&2
  cat "$1/broker.log" >&2
  return 1
}

# Last "total" of the worker's partition assignment log lines (0 if none).
assigned() {
  grep -E '"msg":"partitions (assigned|revoked)"' "$1" 2>/dev/null | tail -n 1 |
    grep -o '"total":"[0-9]*"' | grep -o '[0-9]*' || echo 0
}

start_workers() {  # dir count
  local dir=$1 count=$2 i
  WORKER_PIDS=()
  for ((i = 1; i <= count; i++)); do
    HUB_DATABASE_URL="$WORKER_URL" HUB_KAFKA_BROKERS="$BROKERS" HUB_FETCH_WAIT_MS=$FETCH_WAIT_MS HUB_HTTP_ADDR=127.0.0.1:0 \
      HUB_SESSION_TIMEOUT_MS=${HUB_SESSION_TIMEOUT_MS:-6000} HUB_LOG_FORMAT=json HUB_SHUTDOWN_TIMEOUT=30 \
      "$BIN" run >"$dir/worker-$i.log" 2>&1 &
    WORKER_PIDS+=($!)
  done
}

# The partitions of every topic the workers consume: the "hubworker running"
# line lists the topics (one per event family with a handler).
expected_partitions() {  # worker log
  local topics
  topics=$(grep -m1 '"msg":"hubworker running"' "$1" 2>/dev/null | grep -o '"topics":"[^"]*"' | cut -d'"' -f4)
  [ -n "$topics" ] || { echo 0; return; }
  echo $((PARTITIONS * ($(tr -cd ',' <<<"$topics" | wc -c) + 1)))
}

# Until every worker has partitions and together they have all of them.
wait_assigned() {  # dir count
  local dir=$1 count=$2 t i sum ok a want
  for ((t = 0; t < 1200; t++)); do
    sum=0
    ok=1
    for ((i = 1; i <= count; i++)); do
      kill -0 "${WORKER_PIDS[$((i - 1))]}" 2>/dev/null || { echo "worker $i exited:" >&2; tail -n 20 "$dir/worker-$i.log" >&2; return 1; }
      a=$(assigned "$dir/worker-$i.log")
      [ "$a" -gt 0 ] || ok=0
      sum=$((sum + a))
    done
    want=$(expected_partitions "$dir/worker-1.log")
    if [ "$ok" = 1 ] && [ "$want" -gt 0 ] && [ "$sum" = "$want" ]; then return 0; fi
    sleep 0.1
  done
  echo "workers did not get all $(expected_partitions "$dir/worker-1.log") partitions within 120 s" >&2
  return 1
}

scrape_metrics() {  # dir
  local dir=$1 i addr
  for ((i = 1; i <= ${#WORKER_PIDS[@]}; i++)); do
    addr=$(grep -m1 '"msg":"http endpoint listening"' "$dir/worker-$i.log" | grep -o '"addr":"[^"]*"' | cut -d'"' -f4)
    [ -n "$addr" ] && curl -s --max-time 5 "http://$addr/metrics" >"$dir/metrics-$i.txt" 2>/dev/null || true
  done
}

# Batches per worker from the scraped metrics: "events/batch avg, s/batch avg".
batch_facts() {  # dir
  local f
  for f in "$1"/metrics-*.txt; do
    [ -f "$f" ] || continue
    awk '/^hub_batch_size_sum/ {s=$2} /^hub_batch_size_count/ {c=$2}
         /^hub_batch_duration_seconds_sum/ {ds=$2} /^hub_batch_duration_seconds_count/ {dc=$2}
         END { if (c > 0) printf "%s: %d batches, %.0f events/batch, %.1f ms/batch\n", FILENAME, c, s/c, 1000*ds/dc }' "$f"
  done
}

pids_csv() { local IFS=,; echo "${WORKER_PIDS[*]}"; }

run_load() {  # dir label workers bench-args...
  local dir=$1 label=$2 workers=$3
  shift 3
  start_workers "$dir" "$workers"
  wait_assigned "$dir" "$workers" || return 1
  say "$label"
  local rc=0
  "$BENCH" load --brokers "$BROKERS" --database-url "$HUB_URL" --worker-pids "$(pids_csv)" --pg-pid "$PG_PID" --fetch-wait-ms "$READER_FETCH_WAIT_FULL_MS" \
    --broker-pid "$BROKER_PID" --max-lead "$MAX_LEAD" --label "$label" --dump "$dir/latency.csv" "$@" \
    >>"$RESULTS" 2>>"$dir/bench.log" || rc=$?
  tail -n 1 "$dir/bench.log" >&2
  return $rc
}

# pgbench: the W1 transaction (the issue's definition of the DB ceiling), and
# once more with the outbox relay's SELECT + DELETE of the same rows, which
# the worker also pays for (not counted in the ceiling).
# CPU ticks of PostgreSQL: live children, the postmaster, and its reaped children.
pg_ticks() {
  local t=0 p
  for p in $(pgrep -P "$PG_PID") ; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo $((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PG_PID/stat")))
}

run_pgbench() {  # dir clients script label [adjacent_to seconds tag]
  local dir=$1 c=$2 script=$3 label=$4 adjacent_to=${5:-} seconds=${6:-$PGB_SECONDS} tag=${7:-} txt
  txt="$dir/$(basename "$script" .sql)-$c$tag.txt"
  fresh_db "$dir"
  say "$label: $PGB_BATCH events per transaction, $c client(s), ${seconds}s"
  read -r wb0 ws0 < <(psql -X -qtA -F ' ' "$HUB_URL" -c "SELECT wal_bytes, wal_sync FROM pg_stat_wal")
  read -r _ u0 n0 s0 i0 w0 _ </proc/stat
  pt0=$(pg_ticks)
  if pgbench -n -M prepared -f "$script" -D nclients="$c" -c "$c" -j "$c" -T "$seconds" "$HUB_URL" >"$txt" 2>&1; then
    read -r _ u1 n1 s1 i1 w1 _ </proc/stat
    pt1=$(pg_ticks)
    tps=$(grep -m1 -o 'tps = [0-9.]*' "$txt" | cut -d' ' -f3)
    lat=$(grep -m1 -o 'latency average = [0-9.]*' "$txt" | cut -d' ' -f4)
    busy=$(awk -v a=$((u1 + n1 + s1 - u0 - n0 - s0)) -v t=$((u1 + n1 + s1 + i1 + w1 - u0 - n0 - s0 - i0 - w0)) 'BEGIN { printf "%.1f", (t > 0 ? 100 * a / t : 0) }')
    iow=$(awk -v a=$((w1 - w0)) -v t=$((u1 + n1 + s1 + i1 + w1 - u0 - n0 - s0 - i0 - w0)) 'BEGIN { printf "%.1f", (t > 0 ? 100 * a / t : 0) }')
    eps=$(awk -v t="$tps" -v b="$PGB_BATCH" 'BEGIN { printf "%.0f", t * b }')
    sleep 1.5  # statistics reach pg_stat_wal within ~1 s
    read -r wb1 ws1 < <(psql -X -qtA -F ' ' "$HUB_URL" -c "SELECT wal_bytes, wal_sync FROM pg_stat_wal")
    tx=$(grep -m1 -o 'number of transactions actually processed: [0-9]*' "$txt" | grep -o '[0-9]*$')
    walpe=$(awk -v a="$wb0" -v b="$wb1" -v n="$tx" -v e="$PGB_BATCH" 'BEGIN { printf "%.0f", (n > 0 ? (b - a) / (n * e) : 0) }')
    syncs=$(awk -v a="$ws0" -v b="$ws1" -v t="$seconds" 'BEGIN { printf "%.1f", (b - a) / t }')
    pgcpu=$(awk -v a="$pt0" -v b="$pt1" -v hz="$(getconf CLK_TCK)" -v n="$tx" -v e="$PGB_BATCH" \
      'BEGIN { printf "%.4f", (n > 0 ? (b - a) / hz * 1000 / (n * e) : 0) }')
    local key=pgbench_events_per_s extra=""
    [ "$label" = pgbench ] || key=pgbench_relay_events_per_s
    if [ -n "$adjacent_to" ]; then key=adjacent_pgbench_events_per_s; extra="\"adjacent_to\":\"$adjacent_to\","; fi
    echo "{\"label\":\"$label, $c client(s)\",$extra\"clients\":$c,\"batch\":$PGB_BATCH,\"seconds\":$seconds,\"tps\":$tps,\"latency_ms\":$lat,\"$key\":$eps,\"machine_busy_pct\":$busy,\"machine_iowait_pct\":$iow,\"pg_wal_bytes_per_event\":$walpe,\"pg_wal_syncs_per_s\":$syncs,\"pg_cpu_s_per_1k\":$pgcpu}" >>"$RESULTS"
    [ -n "$adjacent_to" ] || dump_statements "$dir"
    [ -f "$dir/pg_stat_statements.txt" ] && mv "$dir/pg_stat_statements.txt" "$dir/pg_stat_statements-$(basename "$script" .sql)-$c.txt"
    say "$label $c client(s): $tps tps x $PGB_BATCH = $eps W1 events/s (latency $lat ms/txn, machine busy $busy%, iowait $iow%)"
  else
    tail -n 5 "$txt" >&2
    say "FAILED: $label $c client(s)"
  fi
}

# The ceiling right before and right after a run (BENCH_ADJACENT_CEILING).
PGB_DIR=$OUT/pgbench
mkdir -p "$PGB_DIR"
"$BENCH" pgbench-script --batch "$PGB_BATCH" >"$PGB_DIR/w1.sql"
adjacent_ceiling() {  # dir label before|after
  [ "$ADJACENT" = 1 ] || return 0
  run_pgbench "$1" 2 "$PGB_DIR/w1.sql" "adjacent ceiling $3 ($2)" "$2" "$ADJ_SECONDS" "-$3"
}

# ---------------------------------------------------------------- scenarios
has() { [[ " $SCENARIOS " == *" $1 "* ]]; }
FULL_1W=""

if has throughput; then
  for w in $WORKER_COUNTS; do
    dir=$OUT/throughput-$w
    mkdir -p "$dir"
    adjacent_ceiling "$dir" "full speed, $w worker(s)" before
    fresh_db "$dir"
    start_broker "$dir"
    if run_load "$dir" "full speed, $w worker(s)" "$w" --events "$N" --linger-ms "$FULL_LINGER_MS"; then :; else say "FAILED: full speed, $w worker(s) (logs in $dir)"; fi
    scrape_metrics "$dir"
    batch_facts "$dir" >&2
    dump_statements "$dir"
    stop_workers
    stop_broker
    adjacent_ceiling "$dir" "full speed, $w worker(s)" after
    if [ "$w" = 1 ]; then
      FULL_1W=$(grep '"label":"full speed, 1 worker(s)"' "$RESULTS" | tail -n 1 | grep -o '"events_per_s":[0-9.]*' | cut -d: -f2 || true)
    fi
  done
fi

if has latency; then
  # Each rate on a fresh database, broker and worker: the mock broker finds a
  # fetch offset by walking the partition's message sets, so the small sets of
  # one run would make every fetch of the next one slower (the broker's CPU in
  # the 10 s half-max run: 4.1 and 4.7 s after the 1,000/s run, 3.4 s fresh).
  for rate in "$LOW_RATE" half; do
    if [ "$rate" = half ]; then
      rate=$HALF_RATE
      if [ -z "$rate" ] && [ -n "$FULL_1W" ]; then rate=$(awk -v r="$FULL_1W" 'BEGIN { printf "%d", r / 2 }'); fi
      if [ -z "$rate" ] || [ "$rate" -lt 1 ]; then say "skipping the half-max-rate run (no 1-worker result; set BENCH_HALF_RATE)"; continue; fi
      label="fixed rate $rate/s (half max, generator linger $HALF_LINGER_MS ms), 1 worker"
      linger="--linger-ms $HALF_LINGER_MS"
    else
      label="fixed rate $rate/s, 1 worker"
      linger=""
    fi
    dir=$OUT/latency-$rate
    mkdir -p "$dir"
    fresh_db "$dir"
    start_broker "$dir"
    start_workers "$dir" 1
    if wait_assigned "$dir" 1; then
      # Warm-up, not recorded: the first completion the relay publishes pays for
      # the producer's topic metadata and the first batches for cold caches;
      # the latency runs measure the steady state.
      "$BENCH" load --brokers "$BROKERS" --events 1000 --rate 500 --label warm-up >/dev/null 2>>"$dir/bench.log" || true
      say "$label"
      "$BENCH" load --brokers "$BROKERS" --database-url "$HUB_URL" --worker-pids "$(pids_csv)" --pg-pid "$PG_PID" --fetch-wait-ms "$READER_FETCH_WAIT_MS" \
        --broker-pid "$BROKER_PID" --max-lead "$MAX_LEAD" --label "$label" --rate "$rate" \
        --events $((rate * LAT_SECONDS)) --dump "$dir/latency.csv" $linger >>"$RESULTS" 2>>"$dir/bench.log" || say "FAILED: $label (logs in $dir)"
      tail -n 1 "$dir/bench.log" >&2
    fi
    scrape_metrics "$dir"
    batch_facts "$dir" >&2
    dump_statements "$dir"
    stop_workers
    stop_broker
  done
fi

if has backlog; then
  dir=$OUT/backlog
  mkdir -p "$dir"
  adjacent_ceiling "$dir" "backlog of $BACKLOG, 1 worker" before
  fresh_db "$dir"
  start_broker "$dir"
  say "backlog: producing $BACKLOG events before any worker runs"
  if RUN_ID=$("$BENCH" produce --brokers "$BROKERS" --events "$BACKLOG" --compression "$BACKLOG_COMPRESSION" \
    --linger-ms 20 2>>"$dir/bench.log"); then
    tail -n 1 "$dir/bench.log" >&2
    start_workers "$dir" 1
    "$BENCH" await --brokers "$BROKERS" --database-url "$HUB_URL" --worker-pids "$(pids_csv)" --pg-pid "$PG_PID" --fetch-wait-ms "$READER_FETCH_WAIT_FULL_MS" \
      --broker-pid "$BROKER_PID" --run-id "$RUN_ID" --events "$BACKLOG" \
      --label "backlog of $BACKLOG, 1 worker" --dump "$dir/latency.csv" >>"$RESULTS" 2>>"$dir/bench.log" || say "FAILED: backlog (logs in $dir)"
    tail -n 1 "$dir/bench.log" >&2
    scrape_metrics "$dir"
    batch_facts "$dir" >&2
    dump_statements "$dir"
    stop_workers
  else
    tail -n 3 "$dir/bench.log" >&2
    say "FAILED: backlog could not be produced"
  fi
  stop_broker
  adjacent_ceiling "$dir" "backlog of $BACKLOG, 1 worker" after
fi

if has w2; then
  # W2: every execution parks at its http_request, is claimed by a step
  # runner, calls the stub and is resumed.
  dir=$OUT/w2-stub
  mkdir -p "$dir"
  "$BENCH" stub --delay-ms "$W2_DELAY_MS" >"$dir/stub.out" 2>"$dir/stub.log" &
  STUB_PID=$!
  for ((i = 0; i < 100; i++)); do W2_URL=$(head -n 1 "$dir/stub.out" 2>/dev/null || true); [ -n "$W2_URL" ] && break; sleep 0.1; done
  export HUB_HTTP_ALLOWLIST=127.0.0.1
  for w in $W2_WORKERS; do
    dir=$OUT/w2-$w
    mkdir -p "$dir"
    fresh_db "$dir"
    start_broker "$dir"
    before=$(db_counters)
    run_load "$dir" "W2 full speed, $w worker(s)" "$w" --events "$W2_EVENTS" --linger-ms "$FULL_LINGER_MS" ||
      say "FAILED: W2 full speed, $w worker(s) (logs in $dir)"
    scrape_metrics "$dir"
    stop_workers
    db_facts "$dir" "W2 full speed, $w worker(s)" "$W2_EVENTS" "$before"
    stop_broker
  done
  dir=$OUT/w2-rate
  mkdir -p "$dir"
  fresh_db "$dir"
  start_broker "$dir"
  before=$(db_counters)
  run_load "$dir" "W2 fixed rate $W2_RATE/s, 1 worker" 1 --events $((W2_RATE * LAT_SECONDS)) --rate "$W2_RATE" \
    --fetch-wait-ms "$READER_FETCH_WAIT_MS" || say "FAILED: W2 fixed rate (logs in $dir)"
  scrape_metrics "$dir"
  stop_workers
  db_facts "$dir" "W2 fixed rate $W2_RATE/s" $((W2_RATE * LAT_SECONDS)) "$before"
  stop_broker
  unset HUB_HTTP_ALLOWLIST W2_URL
  kill -TERM "$STUB_PID" 2>/dev/null || true
  wait "$STUB_PID" 2>/dev/null || true
fi

if has pgbench; then
  dir=$PGB_DIR
  "$BENCH" pgbench-script --batch "$PGB_BATCH" --with-delete 1 >"$dir/w1_relay.sql"
  for c in $PGB_CLIENTS; do run_pgbench "$dir" "$c" "$dir/w1.sql" pgbench; done
  for c in $PGB_RELAY_CLIENTS; do run_pgbench "$dir" "$c" "$dir/w1_relay.sql" "pgbench + outbox delete"; done
fi

# ---------------------------------------------------------------- summary
{
  echo "# W1 benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo '```'
  cat "$OUT/machine.txt"
  echo '```'
  echo
  "$BENCH" summary "$RESULTS"
  if [ -f "$OUT/w2_db_facts.txt" ]; then
    echo
    cat "$OUT/w2_db_facts.txt"
  fi
} >"$OUT/summary.md"
cat "$OUT/summary.md"
echo
echo "results: $RESULTS  logs: $OUT" >&2
