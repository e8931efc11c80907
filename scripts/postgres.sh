#!/usr/bin/env bash
# Installs the PostgreSQL server binaries (initdb, pg_ctl, postgres) the Postgres connector
# tests start (tests/common/postgres.rs), from the machine's packages: Debian's `postgresql`.
# Idempotent: does nothing when the binaries are already there (FJORD_PG_BIN,
# /usr/lib/postgresql/*/bin, pg_config --bindir or PATH: where the harness looks). Installing
# needs root (or sudo) and apt; without them it exits non-zero saying what to install, and
# the tests then fail saying the binaries are missing. The package's own cluster is not
# used: the tests run their own servers in temp dirs.
# Usage: scripts/postgres.sh
set -euo pipefail

have_binaries() {
    local dir
    for dir in "${FJORD_PG_BIN:-}" /usr/lib/postgresql/*/bin "$(pg_config --bindir 2>/dev/null || true)"; do
        [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && return 0
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

die() {
    echo "postgres.sh: error: $*" >&2
    exit 1
}

have_binaries && exit 0
command -v apt-get >/dev/null 2>&1 \
    || die "PostgreSQL server binaries not found and there is no apt-get; install PostgreSQL (initdb, pg_ctl) or set FJORD_PG_BIN"
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    die "PostgreSQL server binaries not found; run as root (or with sudo): apt-get install postgresql"
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
have_binaries || die "apt-get install postgresql ran, but initdb and pg_ctl are still not found"
echo "postgres.sh: installed PostgreSQL server binaries"
