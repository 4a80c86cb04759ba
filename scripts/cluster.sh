#!/usr/bin/env bash
# A local popi cluster: one throwaway PostgreSQL, N `popi serve` replicas on loopback ports and
# nginx (Debian's package) balancing them on one port. README: "Running more than one replica".
#
#   scripts/cluster.sh up [--replicas N] [--port P]   N replicas (default 3) on 127.0.0.1:P+1..P+N,
#                                                     nginx on 127.0.0.1:P (default 8080)
#   scripts/cluster.sh status                         each process, its port and its /readyz
#   scripts/cluster.sh key TENANT [--scopes S] [--name L]   a new key of TENANT (created if new)
#   scripts/cluster.sh down                           stops everything; deletes the database, keeps the logs
#   scripts/cluster.sh replica-stop I [--signal S] [--no-wait]   signal S (TERM) to replica I; waits for it to exit
#   scripts/cluster.sh replica-start I [--no-wait]    starts replica I again, as up did; waits for /readyz
#   scripts/cluster.sh pg-stop [--mode fast|immediate]   stops PostgreSQL (fast by default), keeping its data
#   scripts/cluster.sh pg-start                       starts PostgreSQL again
#   scripts/cluster.sh psql [ARG...]                  psql on the cluster's database
#
# Environment: POPI_BIN (default .build/release/popi), POPI_MODEL (default
# models/SmolLM2-135M-Instruct.Q4_1.gguf), POPI_CLUSTER_DIR (the state: default .cluster), and
# every POPI_* setting of `popi serve` (README, Configuration), which all replicas get.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# shellcheck source=lib/pg-cluster.sh
source scripts/lib/pg-cluster.sh
# shellcheck source=lib/popi-server.sh
source scripts/lib/popi-server.sh
# shellcheck source=lib/debian-packages.sh
source scripts/lib/debian-packages.sh

state=$(realpath -m "${POPI_CLUSTER_DIR:-.cluster}")
bin=${POPI_BIN:-.build/release/popi}
model=${POPI_MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}

usage() {
  echo "usage:" >&2
  sed -n '5,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

fail() {
  echo "cluster: $*" >&2
  exit 1
}

# Alive and not a zombie: a replica killed after `up` exited has no parent shell to reap it.
pid_alive() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${stat:0:1}" != Z ]
}

# The pid in FILE if that process is alive and its command line holds WORD (its --port or
# config path), so that a pid reused by another process is never signalled.
owned_pid() {
  local file=$1 word=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  pid_alive "$pid" && grep -qF -- "$word" <<<"$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  echo "$pid"
}

replica_pid() { owned_pid "$state/popi-$1.pid" "--port $((PORT + $1)) "; }
nginx_pid() { owned_pid "$state/nginx/nginx.pid" "$state/nginx/nginx.conf"; }
postgres_pid() {
  [ -f "$state/pg/data/postmaster.pid" ] || return 1
  local pid
  pid=$(head -n 1 "$state/pg/data/postmaster.pid")
  pid_alive "$pid" && echo "$pid"
}

load_state() {
  [ -f "$state/cluster.env" ] || return 1
  # shellcheck source=/dev/null
  source "$state/cluster.env"   # REPLICAS, PORT, BIN, MODEL
}

# Replica I in the background, with the settings `up` saw (replica.env), so that a replica
# started again later (replica-start) runs as its peers do whatever the caller's environment.
start_replica() {
  local i=$1
  (
    # shellcheck source=/dev/null
    source "$state/replica.env"
    # setsid: the replicas outlive this script and ignore its terminal's signals.
    DATABASE_URL=$(cat "$state/database-url") exec setsid "$BIN" serve --host 127.0.0.1 --port $((PORT + i)) \
      --model "$MODEL" </dev/null >>"$state/logs/popi-$i.log" 2>&1 9>&-
  ) &
  echo $! >"$state/popi-$i.pid"
}

replica_index() {
  if ! [[ ${1:-} =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > REPLICAS)); then fail "no replica \"${1:-}\" (1-$REPLICAS)"; fi
}

running_parts() {
  local i parts=()
  postgres_pid >/dev/null && parts+=(postgres)
  for ((i = 1; i <= REPLICAS; i++)); do
    replica_pid "$i" >/dev/null && parts+=("popi-$i")
  done
  nginx_pid >/dev/null && parts+=(nginx)
  echo "${parts[*]}"
}

# HTTP status and body of URL/readyz, on one line.
readyz() {
  local body code
  body=$(mktemp)
  code=$(curl -s -m 5 -o "$body" -w '%{http_code}' "$1/readyz" || true)
  echo "readyz $code $(tr -d '\n' <"$body")"
  rm -f "$body"
}

# As the servers bind: SO_REUSEADDR, so that connections of a stopped cluster in TIME_WAIT do
# not count, only a listener does.
port_free() {
  python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

write_nginx_conf() {
  local i user=""
  # As root the master reads the config and opens the logs; its workers need no privilege.
  [ "$(id -u)" -eq 0 ] && user="user nobody nogroup;"
  {
    cat <<CONF
# Written by scripts/cluster.sh up.
$user
worker_processes 1;
pid "$state/nginx/nginx.pid";
error_log "$state/logs/nginx-error.log" notice;
events { worker_connections 1024; }
http {
    # Debian's compiled-in paths are under /var/lib/nginx: this nginx keeps everything here.
    client_body_temp_path "$state/nginx/body";
    proxy_temp_path "$state/nginx/proxy";
    fastcgi_temp_path "$state/nginx/fastcgi";
    uwsgi_temp_path "$state/nginx/uwsgi";
    scgi_temp_path "$state/nginx/scgi";
    # msec: when the request ended (epoch seconds, ms), to line up with events such as a kill.
    log_format popi '\$remote_addr [\$time_local] msec=\$msec "\$request" \$status \$body_bytes_sent \$request_time '
                    'upstream=\$upstream_addr upstream_status=\$upstream_status request_id=\$upstream_http_x_request_id';
    access_log "$state/logs/nginx-access.log" popi;
    upstream popi {
        # The replica with the fewest open requests: a request may last 1 ms or minutes (a stream,
        # ?wait=), so taking turns alone would pile long ones on one replica.
        least_conn;
        # Passive health checks: 3 failures within 10 s take a replica out for 10 s.
CONF
    for ((i = 1; i <= REPLICAS; i++)); do
      echo "        server 127.0.0.1:$((PORT + i)) max_fails=3 fail_timeout=10s;"
    done
    cat <<CONF
        # Idle connections kept to the replicas, closed before popi's own 60 s keep-alive
        # timeout so that nginx never sends a request on a connection the replica is closing.
        keepalive 16;
        keepalive_timeout 30s;
    }
    server {
        listen 127.0.0.1:$PORT;
        include "$repo/deploy/nginx/popi-proxy.conf";
    }
}
CONF
  } >"$state/nginx/nginx.conf"
}

# SIGTERM to what runs (SIGQUIT to nginx: its graceful stop), then waits; reports what is left.
stop_all() {
  local i pid pids=() left=()
  if pid=$(nginx_pid); then kill -QUIT "$pid"; pids+=("$pid"); fi
  for ((i = 1; i <= REPLICAS; i++)); do
    if pid=$(replica_pid "$i"); then kill -TERM "$pid"; pids+=("$pid"); fi
  done
  # Replicas finish their in-flight requests for up to --shutdown-grace seconds.
  local deadline=$((SECONDS + ${POPI_SHUTDOWN_GRACE:-10} + 15))
  for pid in ${pids[@]+"${pids[@]}"}; do
    while pid_alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  done
  if postgres_pid >/dev/null; then
    pg_cluster_tools
    pg_cluster_stop "$state/pg" fast
  fi
  read -r -a left <<<"$(running_parts)"
  if ((${#left[@]})); then
    echo "cluster: still running after SIGTERM: ${left[*]} (see: scripts/cluster.sh status; run down again)" >&2
    return 1
  fi
  rm -rf "$state/pg" "$state/nginx" "$state"/popi-*.pid "$state/database-url" "$state/cluster.env" "$state/replica.env"
}

cmd_up() {
  local i pid
  REPLICAS=3 PORT=8080
  while (($#)); do
    case $1 in
      --replicas) REPLICAS=${2:-}; shift 2 || usage ;;
      --port) PORT=${2:-}; shift 2 || usage ;;
      *) usage ;;
    esac
  done
  if ! [[ $REPLICAS =~ ^[0-9]+$ ]] || ((REPLICAS < 1 || REPLICAS > 32)); then
    fail "--replicas must be 1-32, not \"$REPLICAS\""
  fi
  if ! [[ $PORT =~ ^[0-9]+$ ]] || ((PORT < 1024 || PORT + REPLICAS > 65535)); then
    fail "--port must be 1024-$((65535 - REPLICAS)), not \"$PORT\""
  fi
  [ -x "$bin" ] || fail "no popi binary at $bin: build it (make release) or set POPI_BIN"
  [ -f "$model" ] || fail "no model at $model: run make setup or set POPI_MODEL"
  bin=$(realpath "$bin")
  model=$(realpath "$model")

  mkdir -p "$state"
  exec 9>"$state/lock"
  flock -n 9 || fail "another scripts/cluster.sh is working on $state"
  if (
    load_state || exit 1
    [ -n "$(running_parts)" ]
  ); then
    fail "a cluster is already running from $state (scripts/cluster.sh status; scripts/cluster.sh down to stop it)"
  fi
  for ((i = 0; i <= REPLICAS; i++)); do
    port_free $((PORT + i)) || fail "port $((PORT + i)) on 127.0.0.1 is taken (--port P uses P to P+$REPLICAS)"
  done
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    debian_packages_install cluster nginx || exit 1
  fi
  local nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)

  # What a stopped cluster left (its logs, a database a crash did not delete) goes.
  rm -rf "$state/pg" "$state/nginx" "$state/logs" "$state"/popi-*.pid "$state/database-url" "$state/cluster.env" \
    "$state/replica.env"
  mkdir -p "$state/pg" "$state/nginx" "$state/logs"
  chmod 755 "$state"
  pg_cluster_tools
  if [ -n "$PG_OWNER" ] && ! runuser -u "$PG_OWNER" -- test -x "$state"; then
    fail "the $PG_OWNER user, which runs PostgreSQL when we are root, cannot reach $state; set POPI_CLUSTER_DIR to a folder it can reach (e.g. /var/lib/popi-cluster)"
  fi
  # The socket's folder goes into DATABASE_URL as it is, and a socket path holds at most 107 bytes.
  [[ $state =~ ^[A-Za-z0-9/._-]+$ ]] || fail "$state: POPI_CLUSTER_DIR may hold only letters, digits and / . _ -"
  local socket="$state/pg/.s.PGSQL.5432"
  ((${#socket} <= 107)) || fail "$socket is too long for a unix socket; set POPI_CLUSTER_DIR to a shorter path"
  printf 'REPLICAS=%s\nPORT=%s\nBIN=%q\nMODEL=%q\n' "$REPLICAS" "$PORT" "$bin" "$model" >"$state/cluster.env"
  BIN=$bin MODEL=$model

  # From here on a failure stops whatever this run started.
  trap 'echo "cluster: up failed; stopping what it started" >&2; stop_all || true' EXIT
  trap 'exit 130' INT TERM

  # Each replica holds POPI_DB_POOL_SIZE connections and one for LISTEN; room for the CLI too.
  # The daemons must not inherit the lock (fd 9): it would outlive this run.
  pg_cluster_create "$state/pg" $((20 + REPLICAS * (${POPI_DB_POOL_SIZE:-10} + 1))) 9>&-
  (umask 077 && printf '%s\n' "$PG_URL" >"$state/database-url")
  export DATABASE_URL=$PG_URL
  echo "cluster: PostgreSQL on a unix socket in $state/pg"

  # Migrated once, before any replica: serve migrates at start too, under an advisory lock
  # (replicas starting together take turns), so here it only finds nothing pending.
  "$bin" migrate >"$state/logs/migrate.log" 2>&1 || { cat "$state/logs/migrate.log" >&2; fail "popi migrate failed"; }

  # Every client reaches the replicas from nginx's address: the per-address connection cap goes
  # up to the overall one, as docs/operations.md says for a proxy. Engine threads are shared out
  # so that the replicas together use the machine's cores once.
  export POPI_MAX_CONNECTIONS_PER_ADDRESS=${POPI_MAX_CONNECTIONS_PER_ADDRESS:-${POPI_MAX_CONNECTIONS:-4096}}
  local threads
  threads=$(($(nproc) / REPLICAS))
  export POPI_THREADS=${POPI_THREADS:-$((threads > 0 ? threads : 1))}
  local name
  # Every POPI_* setting but the address, as `declare -x` lines (quoted for bash).
  for name in $(compgen -e | grep '^POPI_' | grep -vxE 'POPI_HOST|POPI_PORT' || true); do
    declare -p "$name"
  done >"$state/replica.env"
  for ((i = 1; i <= REPLICAS; i++)); do
    start_replica "$i"
  done
  for ((i = 1; i <= REPLICAS; i++)); do
    popi_wait_ready "http://127.0.0.1:$((PORT + i))" "$(cat "$state/popi-$i.pid")" "$state/logs/popi-$i.log" \
      "${POPI_START_TIMEOUT:-300}" || fail "replica popi-$i did not start (log: $state/logs/popi-$i.log)"
    echo "cluster: popi-$i ready on 127.0.0.1:$((PORT + i))"
  done

  write_nginx_conf
  "$nginx" -t -q -c "$state/nginx/nginx.conf" || fail "nginx refused $state/nginx/nginx.conf"
  "$nginx" -c "$state/nginx/nginx.conf" 9>&- || fail "nginx did not start (log: $state/logs/nginx-error.log)"
  local deadline=$((SECONDS + 10))
  until pid=$(nginx_pid); do
    [ $SECONDS -lt $deadline ] || fail "nginx did not start (log: $state/logs/nginx-error.log)"
    sleep 0.1
  done
  popi_wait_ready "http://127.0.0.1:$PORT" "$pid" "$state/logs/nginx-error.log" 10 || fail "nginx does not answer /readyz"
  trap - EXIT
  echo "cluster: nginx on http://127.0.0.1:$PORT balancing $REPLICAS replica$( ((REPLICAS == 1)) || echo s) (127.0.0.1:$((PORT + 1))-$((PORT + REPLICAS)))"
  echo "cluster: a key: scripts/cluster.sh key TENANT; logs in $state/logs; stop: scripts/cluster.sh down"
}

cmd_status() {
  local i pid status=0 line
  (($# == 0)) || usage
  load_state || { echo "cluster: no cluster in $state (scripts/cluster.sh up starts one)"; exit 1; }
  if pid=$(postgres_pid); then
    printf '%-9s pid %-8s unix socket in %s\n' postgres "$pid" "$state/pg"
  else
    printf '%-9s %-12s unix socket in %s\n' postgres "not running" "$state/pg"
    status=1
  fi
  for ((i = 1; i <= REPLICAS; i++)); do
    if pid=$(replica_pid "$i"); then
      line=$(readyz "http://127.0.0.1:$((PORT + i))")
      [[ $line == "readyz 200 "* ]] || status=1
      printf '%-9s pid %-8s 127.0.0.1:%-5s %s\n' "popi-$i" "$pid" $((PORT + i)) "$line"
    else
      printf '%-9s %-12s 127.0.0.1:%-5s\n' "popi-$i" "not running" $((PORT + i))
      status=1
    fi
  done
  if pid=$(nginx_pid); then
    line=$(readyz "http://127.0.0.1:$PORT")
    [[ $line == "readyz 200 "* ]] || status=1
    printf '%-9s pid %-8s 127.0.0.1:%-5s %s\n' nginx "$pid" "$PORT" "$line"
  else
    printf '%-9s %-12s 127.0.0.1:%-5s\n' nginx "not running" "$PORT"
    status=1
  fi
  exit $status
}

cmd_key() {
  (($# >= 1)) || usage
  local tenant=$1
  shift
  if ! load_state || ! postgres_pid >/dev/null; then
    fail "no cluster is running (scripts/cluster.sh up starts one)"
  fi
  # The replicas' own binary, whatever POPI_BIN says now.
  [ -x "$BIN" ] || fail "no popi binary at $BIN (the one the cluster was started with)"
  DATABASE_URL=$(cat "$state/database-url") "$BIN" keys create --tenant "$tenant" --name cluster "$@"
}

cmd_down() {
  (($# == 0)) || usage
  [ -d "$state" ] || { echo "cluster: no cluster in $state; nothing to stop"; return 0; }
  exec 9>"$state/lock"
  flock -n 9 || fail "another scripts/cluster.sh is working on $state"
  load_state || { echo "cluster: no cluster in $state; nothing to stop"; return 0; }
  local running
  running=$(running_parts)
  stop_all || exit 1
  if [ -n "$running" ]; then
    echo "cluster: stopped ${running// /, }; database deleted, logs kept in $state/logs"
  else
    echo "cluster: nothing was running; cleared the state in $state (logs kept)"
  fi
}

# Stops replica I: signal S (TERM: its graceful shutdown; KILL: a crash), then waits (unless
# --no-wait) up to the shutdown grace and 15 s for it to exit.
cmd_replica_stop() {
  local i=${1:-} signal=TERM wait=1 pid
  shift || usage
  while (($#)); do
    case $1 in
      --signal) signal=${2:-}; shift 2 || usage ;;
      --no-wait) wait=0; shift ;;
      *) usage ;;
    esac
  done
  load_state || fail "no cluster in $state"
  replica_index "$i"
  pid=$(replica_pid "$i") || fail "popi-$i is not running"
  kill -s "$signal" "$pid"
  echo "cluster: sent SIG${signal#SIG} to popi-$i (pid $pid)"
  ((wait)) || return 0
  local deadline=$((SECONDS + ${POPI_SHUTDOWN_GRACE:-10} + 15))
  while pid_alive "$pid"; do
    [ $SECONDS -lt $deadline ] || fail "popi-$i (pid $pid) still runs"
    sleep 0.1
  done
  echo "cluster: popi-$i stopped"
}

cmd_replica_start() {
  local i=${1:-} wait=1 pid
  shift || usage
  case ${1:-} in
    --no-wait) wait=0; shift ;;
    "") ;;
    *) usage ;;
  esac
  load_state || fail "no cluster in $state"
  replica_index "$i"
  if pid=$(replica_pid "$i"); then fail "popi-$i is running already (pid $pid)"; fi
  port_free $((PORT + i)) || fail "port $((PORT + i)) on 127.0.0.1 is taken"
  start_replica "$i"
  pid=$(cat "$state/popi-$i.pid")
  echo "cluster: started popi-$i (pid $pid)"
  ((wait)) || return 0
  popi_wait_ready "http://127.0.0.1:$((PORT + i))" "$pid" "$state/logs/popi-$i.log" "${POPI_START_TIMEOUT:-300}" \
    || fail "replica popi-$i did not start (log: $state/logs/popi-$i.log)"
  echo "cluster: popi-$i ready on 127.0.0.1:$((PORT + i))"
}

cmd_pg_stop() {
  local mode=fast
  case ${1:-} in
    --mode) mode=${2:-}; shift 2 || usage ;;
    "") ;;
    *) usage ;;
  esac
  (($# == 0)) || usage
  [[ $mode == fast || $mode == immediate ]] || fail "--mode must be fast or immediate, not \"$mode\""
  load_state || fail "no cluster in $state"
  postgres_pid >/dev/null || fail "PostgreSQL is not running"
  pg_cluster_tools
  pg_cluster_stop "$state/pg" "$mode"
  if postgres_pid >/dev/null; then fail "PostgreSQL still runs after pg_ctl stop -m $mode"; fi
  echo "cluster: PostgreSQL stopped ($mode)"
}

cmd_pg_start() {
  (($# == 0)) || usage
  load_state || fail "no cluster in $state"
  if postgres_pid >/dev/null; then fail "PostgreSQL is running already"; fi
  pg_cluster_tools
  pg_cluster_start "$state/pg" || fail "PostgreSQL did not start (log: $state/pg/server.log)"
  echo "cluster: PostgreSQL started"
}

cmd_psql() {
  if ! load_state || [ ! -f "$state/database-url" ]; then fail "no cluster in $state"; fi
  local psql
  psql=$(command -v psql || true)
  if [ -z "$psql" ]; then pg_cluster_tools; psql=$PG_BINDIR/psql; fi
  "$psql" "$(cat "$state/database-url")" "$@"
}

(($#)) || usage
command=$1
shift
case $command in
  up) cmd_up "$@" ;;
  status) cmd_status "$@" ;;
  key) cmd_key "$@" ;;
  down) cmd_down "$@" ;;
  replica-stop) cmd_replica_stop "$@" ;;
  replica-start) cmd_replica_start "$@" ;;
  pg-stop) cmd_pg_stop "$@" ;;
  pg-start) cmd_pg_start "$@" ;;
  psql) cmd_psql "$@" ;;
  *) usage ;;
esac
