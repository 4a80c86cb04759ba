#!/usr/bin/env bash
# Prints the folder holding PostgreSQL's server binaries (initdb, pg_ctl, postgres).
set -euo pipefail
shopt -s nullglob
# Debian's versioned folders, newest first (with none, one empty line, skipped below).
mapfile -t versioned < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
for dir in "${POPI_PG_BINDIR:-}" "$(pg_config --bindir 2>/dev/null || true)" "${versioned[@]}"; do
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
    exit 0
  fi
done
echo "no PostgreSQL server binaries found; install the postgresql package" >&2
exit 1
