#!/usr/bin/env bash
# The chaos run by hand (the short form also runs in scripts/test.sh as the
# ctest "chaos.short", label chaos).  Builds hubworker and hub_chaos, then:
#
#   bash tests/chaos/run.sh                 # short: 20,000 events, 3 workers, 3 kills, each fault once
#   bash tests/chaos/run.sh --long          # long: 200,000 events, 3 workers, 12 kills, each fault 3 times
#   bash tests/chaos/run.sh --seed 42 ...   # further flags go to hub_chaos (a seed replays a schedule)
#
# hub_chaos starts its own PostgreSQL (under .local/), broker and HTTP stub,
# prints its seed and schedule, then one table; exit code 0 when every check
# passed.  HUB_BUILD_DIR overrides the build folder (default build/).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
build=${HUB_BUILD_DIR:-build}

[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build"
cmake --build "$build" --target hubworker hub_chaos -j"${HUB_BUILD_JOBS:-2}"

if [ "${1:-}" = "--long" ]; then
  shift
  set -- --events 200000 --workers 3 --kills 12 --duration 500 "$@"
else
  set -- --events 20000 --workers 3 --kills 3 --duration 50 "$@"
fi
exec "$build/bin/hub_chaos" "$@"
