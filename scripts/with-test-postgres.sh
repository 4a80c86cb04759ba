#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster: a temporary folder, a unix socket only,
# password authentication, stopped and removed afterwards even when the command fails.
# Exports DATABASE_URL, plus POPI_TEST_PGDATA / POPI_TEST_PGBIN / POPI_TEST_PGUSER so tests can
# restart the server (fault tests).
set -euo pipefail
bindir=$("$(dirname "$0")/pg-bindir.sh")
dir=$(mktemp -d /tmp/popi-pg.XXXXXX)
password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
runas=()
owner=""
if [ "$(id -u)" -eq 0 ]; then
  owner=postgres           # PostgreSQL refuses to run as root
  runas=(runuser -u postgres --)
fi

stop() {
  "${runas[@]}" "$bindir/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

# It holds the password: created private (umask 077), whatever the caller's umask.
(umask 077 && printf '%s\n' "$password" > "$dir/pwfile")
[ -n "$owner" ] && chown -R "$owner:" "$dir"
"${runas[@]}" "$bindir/initdb" -D "$dir/data" -U popi --pwfile "$dir/pwfile" -A scram-sha-256 \
  -E UTF8 --locale C --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; exit 1; }
rm -f "$dir/pwfile"
cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
"${runas[@]}" "$bindir/pg_ctl" start -D "$dir/data" -w -l "$dir/server.log" >/dev/null

export DATABASE_URL="postgresql://popi:$password@/postgres?host=$dir"
export POPI_TEST_PGDATA="$dir/data" POPI_TEST_PGBIN="$bindir" POPI_TEST_PGUSER="$owner"
echo "test database: unix socket in $dir"
"$@"
