# shellcheck shell=bash
# Sourced by scripts/with-test-postgres.sh and scripts/cluster.sh: a private PostgreSQL cluster in
# a folder of its own, reached only through a unix socket in that folder, with password
# authentication. Tuned for throwaway data (no fsync).
#   pg_cluster_tools              sets PG_BINDIR, PG_OWNER and PG_RUNAS (the server's binaries, and
#                                 the postgres user to run them as when we are root)
#   pg_cluster_create DIR MAXCONN initdb in DIR/data, starts the server (log DIR/server.log) and
#                                 sets PG_URL, a DATABASE_URL for it
#   pg_cluster_start DIR          starts the server of DIR/data again (after pg_cluster_stop)
#   pg_cluster_stop DIR MODE      pg_ctl stop -m MODE (fast, immediate); quiet if nothing runs

pg_cluster_tools() {
  PG_BINDIR=$("$(dirname "${BASH_SOURCE[0]}")/../pg-bindir.sh")
  PG_OWNER=""
  PG_RUNAS=()
  if [ "$(id -u)" -eq 0 ]; then
    PG_OWNER=postgres        # PostgreSQL refuses to run as root
    PG_RUNAS=(runuser -u postgres --)
  fi
}

pg_cluster_create() {
  local dir=$1 max_connections=$2 password
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  # It holds the password: created private (umask 077), whatever the caller's umask.
  (umask 077 && printf '%s\n' "$password" > "$dir/pwfile")
  if [ -n "$PG_OWNER" ]; then chown -R "$PG_OWNER:" "$dir"; fi
  "${PG_RUNAS[@]}" "$PG_BINDIR/initdb" -D "$dir/data" -U popi --pwfile "$dir/pwfile" -A scram-sha-256 \
    -E UTF8 --locale C --no-sync >"$dir/initdb.log" 2>&1 || { rm -f "$dir/pwfile"; cat "$dir/initdb.log" >&2; return 1; }
  rm -f "$dir/pwfile"
  cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
max_connections = $max_connections
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  pg_cluster_start "$dir" || return 1
  # shellcheck disable=SC2034  # the caller's result
  PG_URL="postgresql://popi:$password@/postgres?host=$dir"
}

pg_cluster_start() {
  "${PG_RUNAS[@]}" "$PG_BINDIR/pg_ctl" start -D "$1/data" -w -l "$1/server.log" >/dev/null \
    || { tail -n 20 "$1/server.log" >&2; return 1; }
}

pg_cluster_stop() {
  "${PG_RUNAS[@]}" "$PG_BINDIR/pg_ctl" stop -D "$1/data" -m "$2" -w >/dev/null 2>&1 || true
}
