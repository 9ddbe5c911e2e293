#!/usr/bin/env bash
# Fuzzes what parses untrusted input: builds the libFuzzer targets of
# tests/fuzz (clang, AddressSanitizer + UndefinedBehaviorSanitizer) into
# build-fuzz/ and runs each for HUB_FUZZ_SECONDS (default 60), starting from
# the seed corpus in tests/fuzz/corpus/<target> and what earlier runs kept in
# .local/fuzz/<target>.  A crash, leak, hang (10 s), memory blow-up (2 GiB)
# or sanitizer report fails the run; the input that did it is left in
# .local/fuzz/findings/ (replay it: build-fuzz/bin/<target> <file>).
# Called by scripts/test.sh; by hand: HUB_FUZZ_SECONDS=600 bash scripts/fuzz.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seconds=${HUB_FUZZ_SECONDS:-60}
build=build-fuzz

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DHUB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build "$build" -j2 >"$build/build.log" 2>&1 || { tail -n 30 "$build/build.log" >&2; exit 1; }

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/sanitizers/ubsan.supp"
export ASAN_OPTIONS="detect_leaks=1"
mkdir -p .local/fuzz/findings
status=0
for target in fuzz_envelope fuzz_workflow fuzz_http_response fuzz_webhook_signature; do
  corpus=.local/fuzz/${target#fuzz_}
  mkdir -p "$corpus"
  echo "fuzz.sh: $target for ${seconds}s"
  if ! "$build/bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix=.local/fuzz/findings/"$target"- "$corpus" "tests/fuzz/corpus/${target#fuzz_}" \
      >".local/fuzz/$target.log" 2>&1; then
    echo "fuzz.sh: $target FOUND A PROBLEM (input in .local/fuzz/findings/):" >&2
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" ".local/fuzz/$target.log" | head -n 20 >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units" ".local/fuzz/$target.log" | sed "s/^/fuzz.sh: $target /"
  fi
done
exit "$status"
