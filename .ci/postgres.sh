#!/usr/bin/env bash
# Bring up a local PostgreSQL server for the Referral Hub test suite (Debian/Ubuntu).
#
#   bash .ci/postgres.sh
#
# Installs Debian's `postgresql` package if missing, creates/starts the `main`
# cluster of the newest installed server version, sets the password of the
# `postgres` superuser, creates the test database if missing, waits until it
# accepts TCP connections on 127.0.0.1, and prints the SQLAlchemy URL to use
# as HUB_TEST_DATABASE_URL on its LAST line of stdout.
#
# Safe to re-run: every step is skipped when already done.
# Overridable: HUB_PG_PASSWORD (default: hub), HUB_PG_DATABASE (default: hub_test),
#              HUB_PG_WAIT_SECONDS (default: 60).
set -euo pipefail

PG_PASSWORD="${HUB_PG_PASSWORD:-hub}"
PG_DATABASE="${HUB_PG_DATABASE:-hub_test}"
WAIT_SECONDS="${HUB_PG_WAIT_SECONDS:-60}"
PG_HOST=127.0.0.1
CLUSTER=main

export DEBIAN_FRONTEND=noninteractive

log() { printf '[postgres.sh] %s\n' "$*"; }
die() { printf '[postgres.sh] ERROR: %s\n' "$*" >&2; exit 1; }

# --- privileges -------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
    as_root() { "$@"; }
    as_postgres() { (cd / && runuser -u postgres -- "$@"); }
else
    command -v sudo >/dev/null 2>&1 || die "must run as root (or have sudo)"
    as_root() { sudo --preserve-env=DEBIAN_FRONTEND "$@"; }
    as_postgres() { (cd / && sudo -u postgres "$@"); }
fi

# --- 1. install --------------------------------------------------------------
pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

if pkg_installed postgresql && command -v pg_ctlcluster >/dev/null 2>&1; then
    log "postgresql package already installed, skipping apt-get"
else
    log "installing postgresql from Debian packages"
    as_root apt-get update -q </dev/null
    as_root apt-get install -y -q --no-install-recommends postgresql </dev/null
fi

# --- 2. version + cluster ----------------------------------------------------
# Newest installed server version (e.g. 15), from /usr/lib/postgresql/<ver>/bin/postgres.
PG_VERSION="$(
    for d in /usr/lib/postgresql/*/bin/postgres; do
        if [ -x "$d" ]; then basename "$(dirname "$(dirname "$d")")"; fi
    done | sort -V | tail -n 1
)"
[ -n "$PG_VERSION" ] || die "no PostgreSQL server binaries found under /usr/lib/postgresql"
log "PostgreSQL server version: $PG_VERSION"

cluster_field() { # $1 = 1-based column of `pg_lsclusters -h` (3=port, 4=status)
    pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$CLUSTER" -v f="$1" \
        '$1 == v && $2 == c { print $f; exit }'
}

if [ -z "$(cluster_field 1)" ]; then
    log "creating cluster $PG_VERSION/$CLUSTER"
    as_root pg_createcluster "$PG_VERSION" "$CLUSTER"
fi

PG_PORT="$(cluster_field 3)"
[ -n "$PG_PORT" ] || die "cannot determine port of cluster $PG_VERSION/$CLUSTER"
if [ "$PG_PORT" != 5432 ]; then
    log "WARNING: cluster $PG_VERSION/$CLUSTER listens on port $PG_PORT, not 5432"
fi

# --- 3. start ----------------------------------------------------------------
cluster_running() { as_root pg_ctlcluster "$PG_VERSION" "$CLUSTER" status >/dev/null 2>&1; }

if cluster_running; then
    log "cluster $PG_VERSION/$CLUSTER already running on port $PG_PORT"
else
    log "starting cluster $PG_VERSION/$CLUSTER on port $PG_PORT"
    # Without systemd (containers), pg_ctlcluster starts the postmaster directly.
    if ! as_root pg_ctlcluster "$PG_VERSION" "$CLUSTER" start; then
        # Tolerate a race with another starter ("already running").
        cluster_running || {
            log "last lines of the server log:"
            tail -n 30 "/var/log/postgresql/postgresql-$PG_VERSION-$CLUSTER.log" >&2 || true
            die "could not start cluster $PG_VERSION/$CLUSTER"
        }
    fi
fi

# --- 4. wait for the local socket, then configure -----------------------------
wait_ready() { # extra pg_isready args...
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        if pg_isready -q -p "$PG_PORT" "$@"; then return 0; fi
        sleep 1
    done
    return 1
}

wait_ready || die "server not ready on its unix socket after ${WAIT_SECONDS}s"

psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@"; }

log "setting password of role postgres"
# Passed as a psql variable so it is quoted correctly by :'pw'.
psql_admin -v pw="$PG_PASSWORD" <<'SQL'
ALTER ROLE postgres WITH SUPERUSER LOGIN PASSWORD :'pw';
SQL

if [ "$(psql_admin -tA -v db="$PG_DATABASE" <<'SQL'
SELECT count(*) FROM pg_database WHERE datname = :'db';
SQL
)" = 1 ]; then
    log "database $PG_DATABASE already exists"
else
    log "creating database $PG_DATABASE"
    as_postgres createdb -p "$PG_PORT" -O postgres "$PG_DATABASE"
fi

# --- 5. wait for TCP on 127.0.0.1 and check password auth ---------------------
wait_ready -h "$PG_HOST" -U postgres -d "$PG_DATABASE" \
    || die "server not accepting TCP connections on $PG_HOST:$PG_PORT after ${WAIT_SECONDS}s"

PGPASSWORD="$PG_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 -tA \
    -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$PG_DATABASE" -c 'SELECT 1' >/dev/null \
    || die "password login as postgres@$PG_HOST:$PG_PORT/$PG_DATABASE failed (check pg_hba.conf)"
log "ready: PostgreSQL $PG_VERSION at $PG_HOST:$PG_PORT, database $PG_DATABASE"

# Last line: the URL for HUB_TEST_DATABASE_URL.
echo "postgresql+asyncpg://postgres:${PG_PASSWORD}@${PG_HOST}:${PG_PORT}/${PG_DATABASE}"
