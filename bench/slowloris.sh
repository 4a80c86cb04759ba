#!/usr/bin/env bash
# Slowloris check: slowhttptest (Debian) opens 500 connections to `popi serve` and trickles header
# lines forever; every one must be dropped within the header timeout (plus the time to open them
# and the sweeper's tick), while the service stays available. Loopback only, bounded in time.
#
# Usage: bench/slowloris.sh        (env: HEADER_TIMEOUT=10 CONNECTIONS=500 POPI_PORT=28190)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then
  exec scripts/with-test-postgres.sh "$0" "$@"
fi

HEADER_TIMEOUT=${HEADER_TIMEOUT:-10}
CONNECTIONS=${CONNECTIONS:-500}
RATE=${RATE:-250}
POPI_PORT=${POPI_PORT:-28190}

if ! command -v slowhttptest >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slowhttptest >/dev/null
  else
    echo "bench/slowloris.sh: slowhttptest is missing (sudo apt-get install slowhttptest)" >&2; exit 1
  fi
fi

work=$(mktemp -d /tmp/popi-slowloris.XXXXXX)
swift build -c release --product popi >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
ulimit -n 4096
if ss -Hltn "sport = :$POPI_PORT" | grep -q .; then echo "bench/slowloris.sh: port $POPI_PORT is in use; set POPI_PORT" >&2; exit 1; fi
# The attack and the probe share 127.0.0.1: lift the per-address cap, which would refuse both
# beyond 64 connections, so that this checks what the header timeout alone does.
POPI_MAX_CONNECTIONS_PER_ADDRESS=4096 \
  .build/release/popi serve --port "$POPI_PORT" --header-timeout "$HEADER_TIMEOUT" --data-dir "$work/data" >"$work/popi.log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$POPI_PORT/healthz" >/dev/null && break; sleep 0.1; done

# Meanwhile a normal client asks /healthz twice a second: the service must stay available.
(
  end=$((SECONDS + HEADER_TIMEOUT * 2 + 10))
  while [ $SECONDS -lt $end ]; do
    curl -sf -m 2 "http://127.0.0.1:$POPI_PORT/healthz" >/dev/null && echo ok >>"$work/probe" || echo fail >>"$work/probe"
    sleep 0.5
  done
) &
probe=$!

# -H slowloris, -i 2: a new header line every 2 s (well inside any idle timeout), -l: test length.
length=$((HEADER_TIMEOUT * 2 + 10))
slowhttptest -H -c "$CONNECTIONS" -r "$RATE" -i 2 -s 8192 -t GET -u "http://127.0.0.1:$POPI_PORT/healthz" \
  -x 24 -p 3 -l "$length" -g -o "$work/slowloris" >"$work/slowhttptest.log" 2>&1 || true
kill "$probe" 2>/dev/null || true
wait "$probe" 2>/dev/null || true
csv="$work/slowloris.csv"
[ -f "$csv" ] || { cat "$work/slowhttptest.log"; echo "no CSV from slowhttptest"; exit 1; }
sed 's/\x1b\[[0-9;]*m//g' "$work/slowhttptest.log" > "$work/log.txt"

# slowhttptest stops as soon as no connection is left open ("Test ended on Nth second"). All
# connections are open by CONNECTIONS/RATE seconds; each must be gone HEADER_TIMEOUT (+ 1 s of
# sweeper slack) after it opened.
ramp=$(( (CONNECTIONS + RATE - 1) / RATE ))
limit=$((ramp + HEADER_TIMEOUT + 1))
echo "slowloris: $CONNECTIONS connections at $RATE/s, header timeout ${HEADER_TIMEOUT}s, deadline t=${limit}s"
echo "  seconds  closed   pending  connected"
awk -F, 'NR > 1 {printf "  %-8s %-8s %-8s %s\n", $1, $2, $3, $4}' "$csv"
peak=$(awk -F, 'NR > 1 {if ($4 > m) m = $4} END {print m + 0}' "$csv")
ended=$(sed -n 's/.*Test ended on \([0-9]*\).*/\1/p' "$work/log.txt" | tail -1)
reason=$(sed -n 's/.*Exit status: *//p' "$work/log.txt" | head -1)
ok=$(grep -c ok "$work/probe" || true); failed=$(grep -c fail "$work/probe" || true)
echo "peak connected: $peak; test ended at t=${ended:-?}s: $reason; /healthz probes: $ok ok, $failed failed"
if [ "$peak" -ge "$CONNECTIONS" ] && [ -n "$ended" ] && [ "$ended" -le "$limit" ] \
   && echo "$reason" | grep -q "No open connections left" && [ "$failed" -eq 0 ] && [ "$ok" -gt 0 ]; then
  echo "PASS: all $CONNECTIONS slowloris connections dropped within the header timeout; service available throughout"
else
  echo "FAIL"; tail -20 "$work/log.txt"; exit 1
fi
