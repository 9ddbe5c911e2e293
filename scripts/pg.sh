#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for development and tests.
#
#   scripts/pg.sh start DATADIR [--fast]   initdb if needed, start, print the superuser URL
#   scripts/pg.sh stop DATADIR             stop it (no error when it is not running)
#   scripts/pg.sh restart DATADIR          fast shutdown (clients cut), start again on the same port
#
# The server runs as an unprivileged user (`postgres` through runuser when we
# are root, since initdb refuses root; the current user otherwise), listens on
# 127.0.0.1 only, on a free port picked at start (others may hold 5432), with
# its unix socket inside DATADIR and trust authentication for local and
# 127.0.0.1 connections.  --fast turns durability off (fsync,
# synchronous_commit, full_page_writes): for tests only, never benchmarks.
#
# The URL postgresql://postgres@127.0.0.1:PORT/postgres is the last line of
# stdout and is also written to DATADIR/url.  Put data directories under the
# repository's ignored .local/ folder.
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin

usage() {
  echo "usage: $0 start DATADIR [--fast] | stop DATADIR | restart DATADIR" >&2
  exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
datadir=$2
shift 2
fast=0
for a in "$@"; do
  case "$a" in
    --fast) fast=1 ;;
    *) usage ;;
  esac
done

if [ ! -x "$PGBIN/pg_ctl" ]; then
  echo "$0: $PGBIN/pg_ctl not found; install postgresql-15 (scripts/install-deps.sh)" >&2
  exit 1
fi

# Run a command as the unprivileged cluster owner.
if [ "$(id -u)" -eq 0 ]; then
  as_owner() { runuser -u postgres -- "$@"; }
else
  as_owner() { "$@"; }
fi

mkdir -p "$datadir"
datadir=$(cd "$datadir" && pwd)

# True when something accepts TCP connections on 127.0.0.1:$1.
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

is_running() {
  [ -f "$datadir/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" status -D "$datadir" >/dev/null 2>&1
}

start() {
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$datadir"
    # Every ancestor must be traversable by the owner.
    if ! runuser -u postgres -- test -x "$datadir"; then
      d=$(dirname "$datadir")
      while [ "$d" != "/" ]; do
        chmod o+x "$d"
        d=$(dirname "$d")
      done
    fi
  fi
  chmod 700 "$datadir"

  if [ ! -f "$datadir/PG_VERSION" ]; then
    as_owner "$PGBIN/initdb" -D "$datadir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$datadir/../$(basename "$datadir").initdb.log" 2>&1 || {
        cat "$datadir/../$(basename "$datadir").initdb.log" >&2
        exit 1
      }
    rm -f "$datadir/../$(basename "$datadir").initdb.log"
    echo "include_if_exists = 'hub.conf'" | as_owner tee -a "$datadir/postgresql.conf" >/dev/null
  fi

  if is_running; then
    if [ -f "$datadir/url" ]; then
      echo "$0: already running" >&2
      tail -n 1 "$datadir/url"
      return 0
    fi
    echo "$0: a server is running in $datadir but $datadir/url is missing; stop it first" >&2
    exit 1
  fi

  local attempt port
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_busy "$port" && continue
    {
      echo "# Written by scripts/pg.sh at every start."
      echo "port = $port"
      echo "listen_addresses = '127.0.0.1'"
      echo "unix_socket_directories = '$datadir'"
      echo "max_connections = 200"
      if [ "$fast" -eq 1 ]; then
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
      fi
    } | as_owner tee "$datadir/hub.conf" >/dev/null
    if as_owner "$PGBIN/pg_ctl" start -D "$datadir" -l "$datadir/server.log" -w -t 60 >/dev/null; then
      local url="postgresql://postgres@127.0.0.1:$port/postgres"
      echo "$url" | as_owner tee "$datadir/url" >/dev/null
      echo "$url"
      return 0
    fi
    # Most likely the port was taken between the probe and the bind: try another.
    echo "$0: start on port $port failed (attempt $attempt); server.log:" >&2
    tail -n 5 "$datadir/server.log" >&2 || true
  done
  echo "$0: could not start PostgreSQL in $datadir" >&2
  exit 1
}

stop() {
  if [ -f "$datadir/postmaster.pid" ]; then
    as_owner "$PGBIN/pg_ctl" stop -D "$datadir" -m fast -w -t 60 >/dev/null
  fi
}

# Keeps hub.conf (and so the port): clients reconnect to the same URL.
restart() {
  if ! is_running; then
    echo "$0: no server is running in $datadir" >&2
    exit 1
  fi
  as_owner "$PGBIN/pg_ctl" restart -D "$datadir" -m fast -l "$datadir/server.log" -w -t 60 >/dev/null
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  *) usage ;;
esac
