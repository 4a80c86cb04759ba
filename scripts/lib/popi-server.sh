# Sourced by the conformance scripts: starts a release `popi serve` on a free loopback port
# against $DATABASE_URL (run under scripts/with-test-postgres.sh), with a fresh API key, and stops
# it on exit. Sets POPI_URL, POPI_KEY, POPI_SERVER_LOG.
#   popi_server_start SCOPES [serve flags...]

popi_server_bin() {
  if [ -n "${POPI_BIN:-}" ]; then
    echo "$POPI_BIN"
    return
  fi
  echo "building popi (release)" >&2
  swift build -c release --product popi >&2
  echo "$(swift build -c release --show-bin-path)/popi"
}

popi_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

popi_server_stop() {
  if [ -n "${POPI_SERVER_PID:-}" ] && kill -0 "$POPI_SERVER_PID" 2>/dev/null; then
    kill -TERM "$POPI_SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$POPI_SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$POPI_SERVER_PID" 2>/dev/null || true
  fi
  POPI_SERVER_PID=""
  [ -n "${POPI_SERVER_DIR:-}" ] && rm -rf "$POPI_SERVER_DIR"
  POPI_SERVER_DIR=""
}

popi_server_start() {
  local scopes=$1
  shift
  : "${DATABASE_URL:?run under scripts/with-test-postgres.sh (or set DATABASE_URL)}"
  local bin
  bin=$(popi_server_bin)
  POPI_SERVER_DIR=$(mktemp -d /tmp/popi-serve.XXXXXX)
  POPI_SERVER_LOG="$POPI_SERVER_DIR/serve.log"
  local port
  port=$(popi_free_port)
  POPI_URL="http://127.0.0.1:$port"
  "$bin" serve --host 127.0.0.1 --port "$port" --data-dir "$POPI_SERVER_DIR" "$@" >"$POPI_SERVER_LOG" 2>&1 &
  POPI_SERVER_PID=$!
  local deadline=$((SECONDS + ${POPI_START_TIMEOUT:-120}))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$POPI_URL/readyz")" = 200 ]; do
    if ! kill -0 "$POPI_SERVER_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "popi serve did not become ready; its log:" >&2
      tail -n 40 "$POPI_SERVER_LOG" >&2
      return 1
    fi
    sleep 0.2
  done
  POPI_KEY=$("$bin" keys create --data-dir "$POPI_SERVER_DIR" --tenant "conformance-$$" --scopes "$scopes" --name conformance 2>/dev/null)
  [ -n "$POPI_KEY" ] || { echo "popi keys create failed" >&2; return 1; }
  echo "popi serve ready at $POPI_URL (pid $POPI_SERVER_PID, log $POPI_SERVER_LOG)" >&2
}
