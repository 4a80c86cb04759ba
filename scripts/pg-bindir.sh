#!/usr/bin/env bash
# Prints the folder holding PostgreSQL's server binaries (initdb, pg_ctl, postgres).
set -euo pipefail
for dir in "${POPI_PG_BINDIR:-}" "$(pg_config --bindir 2>/dev/null || true)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
    exit 0
  fi
done
echo "no PostgreSQL server binaries found; install the postgresql package" >&2
exit 1
