# shellcheck shell=bash
# Sourced by the conformance and README-sample scripts. popi_server_start starts a release `popi serve` on a free
# loopback port against $DATABASE_URL (run under scripts/with-test-postgres.sh) and sets POPI_URL;
# popi_key SCOPES prints a new key of a fresh tenant; popi_server_stop stops the server.
# Extra `popi serve` flags: POPI_SERVE_FLAGS (a bash array) or the arguments of popi_server_start.

popi_server_bin() {
  if [ -z "${POPI_BIN:-}" ]; then
    echo "building popi (release)" >&2
    swift build -c release --product popi >&2
    POPI_BIN="$(swift build -c release --show-bin-path)/popi"
  fi
  echo "$POPI_BIN"
}

popi_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

popi_server_stop() {
  if [ -n "${POPI_SERVER_PID:-}" ] && kill -0 "$POPI_SERVER_PID" 2>/dev/null; then
    kill -TERM "$POPI_SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$POPI_SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$POPI_SERVER_PID" 2>/dev/null || true
    wait "$POPI_SERVER_PID" 2>/dev/null || true
  fi
  POPI_SERVER_PID=""
  if [ -n "${POPI_SERVER_DIR:-}" ]; then
    [ -n "${POPI_KEEP_LOG:-}" ] && cp "$POPI_SERVER_DIR/serve.log" "$POPI_KEEP_LOG"
    rm -rf "$POPI_SERVER_DIR"
  fi
  POPI_SERVER_DIR=""
}

popi_server_start() {
  : "${DATABASE_URL:?run under scripts/with-test-postgres.sh (or set DATABASE_URL)}"
  local bin port
  bin=$(popi_server_bin)
  POPI_BIN=$bin
  POPI_SERVER_DIR=$(mktemp -d /tmp/popi-serve.XXXXXX)
  POPI_SERVER_LOG="$POPI_SERVER_DIR/serve.log"
  port=$(popi_free_port)
  POPI_URL="http://127.0.0.1:$port"
  "$bin" serve --host 127.0.0.1 --port "$port" --data-dir "$POPI_SERVER_DIR" ${POPI_SERVE_FLAGS[@]+"${POPI_SERVE_FLAGS[@]}"} "$@" \
    >"$POPI_SERVER_LOG" 2>&1 &
  POPI_SERVER_PID=$!
  popi_wait_ready "$POPI_URL" "$POPI_SERVER_PID" "$POPI_SERVER_LOG" "${POPI_START_TIMEOUT:-180}" || return 1
  echo "popi serve ready at $POPI_URL (pid $POPI_SERVER_PID)" >&2
}

# popi_wait_ready URL PID LOG SECONDS: waits until URL/readyz answers 200; fails, showing the
# end of LOG, when PID exits or SECONDS pass first.
popi_wait_ready() {
  local url=$1 pid=$2 log=$3 deadline=$((SECONDS + $4))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; do
    if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "popi did not become ready at $url; the end of its log:" >&2
      tail -n 40 "$log" >&2
      return 1
    fi
    sleep 0.2
  done
}

popi_key() {
  local key
  key=$("$(popi_server_bin)" keys create --tenant "conformance-${1//,/-}-$$-$RANDOM" --scopes "$1" --name conformance 2>/dev/null)
  [ -n "$key" ] || { echo "popi keys create failed" >&2; return 1; }
  echo "$key"
}
