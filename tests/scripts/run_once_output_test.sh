#!/usr/bin/env bash
# `scripts/run.sh --once` as a newcomer sees it: it succeeds, shows this run's
# executions (the example workflow triggered with `trigger --wait` among
# them), and its screen has no JSON log line, no librdkafka line, no psql
# command tag and ends with what was stopped.  Uses the binaries already
# built in BUILD_DIR and a PostgreSQL data folder of its own.
#   usage: run_once_output_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$root/.local"
chmod 755 "$root/.local"
state="$root/.local/run-once-test-$$"
out="$state.out"
cleanup() {
  bash "$root/scripts/pg.sh" stop "$state/pg-run" >/dev/null 2>&1 || true
  rm -rf "$state" "$out"
}
trap cleanup EXIT

status=0
HUB_BUILD_DIR="$build" HUB_SKIP_BUILD=1 HUB_STATE_DIR="$state" HUB_HTTP_ADDR=127.0.0.1:0 \
  bash "$root/scripts/run.sh" --once >"$out" 2>&1 || status=$?

fail=0
check() {  # description, command...
  local what=$1
  shift
  if ! "$@"; then
    echo "FAILED: $what"
    fail=1
  fi
}
check "run.sh --once exits 0 (got $status)" test "$status" -eq 0
check "no JSON log line" bash -c "! grep -nE '^\{\"' '$out'"
check "no librdkafka line (its own %N|...| lines or ours)" bash -c "! grep -nE '^%[0-9]\||librdkafka|CONFWARN' '$out'"
check "no psql command tag (SET) on screen" bash -c "! grep -nxE 'SET' '$out'"
check "this run's executions are shown" grep -q "== This run's executions" "$out"
check "the example workflow ran through trigger --wait" grep -qE 'wf_order_check +COMPLETED' "$out"
check "its branch was taken" grep -q 'review order A-1 by hand' "$out"
check "the greetings completed" grep -qE 'wf_org_demo_0 +\| COMPLETED' "$out"
check "the closing line says what was stopped" grep -q '^Stopped hubworker' "$out"
# In a sanitizer build the worker, the stub and the commands are sanitized: a
# report in any of their outputs fails the check.
check "no sanitizer report on screen or in the run's logs" \
  bash -c "! grep -rnE 'SUMMARY: (Address|Leak|Thread|UndefinedBehavior)Sanitizer:' '$out' '$state/run'"
if (( fail )); then
  echo "--- run.sh --once output:"
  cat "$out"
  exit 1
fi
echo "run.sh --once: $(wc -l <"$out") lines, plain text"
