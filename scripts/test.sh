#!/usr/bin/env bash
# THE test command (README): installs missing packages, builds into build/,
# starts a throwaway PostgreSQL cluster (fast, non-durable settings) under
# .local/, and runs every test label (unit, pg, e2e, ...) with ctest.  The
# cluster is stopped and removed on exit, whatever happens.  Exits with
# ctest's status (or 1 when the fuzzers of scripts/fuzz.sh, run after a full
# ctest run, find a problem).  Extra arguments go to ctest (e.g. -L pg,
# -R Migrate) and skip the fuzzers.
# HUB_BUILD_DIR overrides the build folder (default build/), so that several
# people sharing one work tree need not share a build.
#
#   bash scripts/test.sh --sanitize=address   # ASan + UBSan build in build-asan/, every test
#   bash scripts/test.sh --sanitize=thread    # TSan build in build-tsan/, every test
#
# A sanitizer report fails the test it happens in (the worker processes the
# end-to-end tests start are sanitized too).  No fuzzing in these runs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

sanitize=""
if [ $# -gt 0 ] && [[ "$1" == --sanitize* ]]; then
  sanitize=${1#--sanitize}
  sanitize=${sanitize#=}
  sanitize=${sanitize:-address}
  shift
fi

# The configure presets of CMakePresets.json (default, asan, tsan); the
# sanitizer options below are those of its test presets.
case "$sanitize" in
  "") preset=default ;;
  address) preset=asan ;;
  thread) preset=tsan ;;
  *) echo "test.sh: --sanitize takes address or thread, not '$sanitize'" >&2; exit 2 ;;
esac

bash scripts/install-deps.sh

if [ -n "$sanitize" ]; then
  build=${HUB_BUILD_DIR:-build-$preset}
  supp="$root/tests/sanitizers"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
else
  build=${HUB_BUILD_DIR:-build}
fi
cmake --preset "$preset" -B "$build"
cmake --build "$build" -j2

mkdir -p .local
chmod 755 .local
pgdir="$root/.local/pg-test-$$"
cleanup() {
  bash scripts/pg.sh stop "$pgdir" || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
# Ctrl-C / SIGTERM: run the EXIT trap and stop.
trap 'exit 130' INT
trap 'exit 143' TERM

HUB_TEST_DATABASE_URL=$(bash scripts/pg.sh start "$pgdir" --fast | tail -n 1)
export HUB_TEST_DATABASE_URL
echo "test.sh: PostgreSQL at $HUB_TEST_DATABASE_URL"

status=0
ctest --test-dir "$build" --output-on-failure "$@" || status=$?
# The fuzzers (a bounded run each), unless only some tests were asked for.
if [ $# -eq 0 ] && [ -z "$sanitize" ]; then
  bash scripts/fuzz.sh || status=1
fi
exit "$status"
