#!/usr/bin/env bash
# Installs what hubworker needs to build and test on Debian 12,
# plus `prometheus` (the server for the end-to-end test, and promtool), clang
# (libFuzzer) for scripts/fuzz.sh, and python3-yaml (the checks of
# deploy/compose and the KEDA ScaledObject).  Quick no-op when everything is
# present; `apt-get update` runs only when something is missing.  As root, or
# via sudo.
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  librdkafka-dev libpqxx-dev libpq-dev rapidjson-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libboost-dev libboost-system-dev
  libboost-program-options-dev libssl-dev postgresql-15 kcat curl
  prometheus clang-14 libclang-rt-14-dev python3 python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and not root, and no sudo to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
