#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster: a temporary folder, a unix socket only,
# password authentication, stopped and removed afterwards even when the command fails.
# Exports DATABASE_URL, plus POPI_TEST_PGDATA / POPI_TEST_PGBIN / POPI_TEST_PGUSER so tests can
# restart the server (fault tests).
set -euo pipefail
# shellcheck source=lib/pg-cluster.sh
source "$(dirname "$0")/lib/pg-cluster.sh"
pg_cluster_tools
dir=$(mktemp -d /tmp/popi-pg.XXXXXX)

stop() {
  pg_cluster_stop "$dir" immediate
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

pg_cluster_create "$dir" 200
export DATABASE_URL=$PG_URL
export POPI_TEST_PGDATA="$dir/data" POPI_TEST_PGBIN="$PG_BINDIR" POPI_TEST_PGUSER="$PG_OWNER"
echo "test database: unix socket in $dir"
"$@"
