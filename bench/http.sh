#!/usr/bin/env bash
# HTTP benchmark: release `popi serve` against a Hummingbird 2 server (bench/hummingbird-peer), driven
# by wrk, interleaved, 10 s per run, on two routes:
#   healthz  GET /healthz: the same JSON body; popi's request id, metrics and access log middleware run
#            on it as on every route, the peer answers with no middleware at all;
#   keyed    GET /v1/models with `Authorization: Bearer <key>` (a read key made with `popi keys create`):
#            popi's full API path (request id, metrics and access log, key check against its cache,
#            the key's rate limit, JSON encoding); the peer does the same kinds of work (request id,
#            metrics and an access log line, a bearer key compared with its one key) and answers
#            popi's own JSON bytes.
# Keep-alive at 1 / 64 / 256 connections on both routes, and Connection: close at 64 on /healthz.
# Prints req/s, p99 latency and server CPU per request for each, the popi/peer ratios, the idle RSS
# of both servers before any load, and the CPU model with every table. Only loopback traffic;
# every run is bounded in time. popi's per-key rate limit and failed-auth limit are set out of reach.
#
# Usage: bench/http.sh            (env: DURATION=10 ROUNDS=1 POPI_PORT=28180 PEER_PORT=28181;
#                                  POPI_BIN=path measures that popi build, e.g. an older commit's,
#                                  instead of building this tree's)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then
  # popi serve wants a database; give it a throwaway one like the tests do.
  exec scripts/with-test-postgres.sh "$0" "$@"
fi

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
POPI_PORT=${POPI_PORT:-28180}
PEER_PORT=${PEER_PORT:-28181}

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "bench/http.sh: wrk is missing (sudo apt-get install wrk)" >&2; exit 1
  fi
fi

work=$(mktemp -d /tmp/popi-bench-http.XXXXXX)
echo "building release popi and the Hummingbird peer..."
if [ -n "${POPI_BIN:-}" ]; then
  POPI=$POPI_BIN
else
  swift build -c release --product popi >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
  POPI=.build/release/popi
fi
swift build -c release --package-path bench/hummingbird-peer >"$work/build-peer.log" 2>&1 || { cat "$work/build-peer.log"; exit 1; }
PEER=bench/hummingbird-peer/.build/release/HummingbirdPeer

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for port in "$POPI_PORT" "$PEER_PORT"; do
  # Another process on the port would be measured instead of ours.
  if ss -Hltn "sport = :$port" | grep -q .; then echo "bench/http.sh: port $port is in use; set POPI_PORT / PEER_PORT" >&2; exit 1; fi
done
key=$("$POPI" keys create --data-dir "$work/data" --tenant bench --scopes read --name bench 2>"$work/keys.log") \
  || { cat "$work/keys.log"; exit 1; }
# wrk opens up to 256 connections from one address: lift the per-address cap (a variable, which
# an older POPI_BIN simply ignores). One key makes every keyed request: lift its rate limit.
POPI_MAX_CONNECTIONS_PER_ADDRESS=4096 \
  "$POPI" serve --host 127.0.0.1 --port "$POPI_PORT" --data-dir "$work/data" \
  --rate-limit 1000000000 --rate-burst 1000000000 --auth-failure-rate 1000000 --auth-failure-burst 1000000 \
  >"$work/popi.log" 2>&1 &
popi_pid=$!; pids+=("$popi_pid")
wait_healthy() { # port
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.1; done
  echo "server on $1 did not start"; cat "$work"/*.log; exit 1
}
wait_healthy "$POPI_PORT"
auth=(-H "Authorization: Bearer $key")
models=$(curl -sf "${auth[@]}" "http://127.0.0.1:$POPI_PORT/v1/models") || { echo "popi: GET /v1/models failed"; cat "$work/popi.log"; exit 1; }
"$PEER" "$PEER_PORT" "$key" "$models" >"$work/peer.log" 2>&1 &
peer_pid=$!; pids+=("$peer_pid")
wait_healthy "$PEER_PORT"
[ "$(curl -sf "${auth[@]}" "http://127.0.0.1:$PEER_PORT/v1/models")" = "$models" ] \
  || { echo "the peer does not answer popi's /v1/models body"; cat "$work/peer.log"; exit 1; }
if ! { kill -0 "$popi_pid" && kill -0 "$peer_pid"; }; then echo "a server exited"; cat "$work"/*.log; exit 1; fi
sleep 1
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
popi_rss=$(rss "$popi_pid"); peer_rss=$(rss "$peer_pid")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# One wrk run; prints "req/s p99_ms cpu_us_per_request".
run() { # name pid port route connections mode
  local pid=$2 port=$3 route=$4 conns=$5 mode=$6 threads=2 header=() path=/healthz
  [ "$conns" -lt 2 ] && threads=1
  [ "$mode" = close ] && header=(-H "Connection: close")
  [ "$route" = keyed ] && { header+=("${auth[@]}"); path=/v1/models; }
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency "${header[@]}" "http://127.0.0.1:$port$path")
  after=$(cpu_ticks "$pid")
  echo "$out" > "$work/wrk-$1-$route-$conns-$mode.txt"
  local rps p99 requests non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  p99=$(echo "$out" | awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f", v}')
  local cpu_us
  cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  [ -n "$non2xx" ] && echo "  warning: $1 answered $non2xx non-2xx responses" >&2
  echo "$rps $p99 $cpu_us"
}

cpu="$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo) x $(nproc)"
echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  cpu: $cpu  load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "popi: $POPI ($("$POPI" --version 2>/dev/null || echo unknown version))"
echo "idle RSS (MiB): popi $popi_rss  hummingbird $peer_rss"
echo
echo "cpu: $cpu"
printf "%-22s %-12s %10s %9s %12s\n" case server "req/s" "p99 ms" "CPU us/req"
cases=("healthz 1 keepalive" "healthz 64 keepalive" "healthz 256 keepalive"
       "keyed 1 keepalive" "keyed 64 keepalive" "keyed 256 keepalive" "healthz 64 close")
declare -A result
for round in $(seq "$ROUNDS"); do
  for c in "${cases[@]}"; do
    read -r -a args <<<"$c"   # route connections mode
    for server in popi hummingbird; do
      if [ $server = popi ]; then r=$(run popi "$popi_pid" "$POPI_PORT" "${args[@]}"); else r=$(run hummingbird "$peer_pid" "$PEER_PORT" "${args[@]}"); fi
      result["$round $c $server"]=$r
      read -r -a fields <<<"$r"   # req/s p99 CPU
      printf "%-22s %-12s %10s %9s %12s\n" "$c" "$server" "${fields[@]}"
    done
  done
done

echo
echo "ratios popi / hummingbird (req/s higher is better; p99 and CPU lower is better), per round; cpu: $cpu"
printf "%-22s %6s %10s %10s %10s\n" case round "req/s" "p99" "CPU/req"
for round in $(seq "$ROUNDS"); do
  for c in "${cases[@]}"; do
    read -r pr pp pc <<<"${result["$round $c popi"]}"
    read -r hr hp hc <<<"${result["$round $c hummingbird"]}"
    awk -v name="$c" -v round="$round" -v pr="$pr" -v hr="$hr" -v pp="$pp" -v hp="$hp" -v pc="$pc" -v hc="$hc" \
      'BEGIN {printf "%-22s %6s %9.2fx %9.2fx %9.2fx\n", name, round, pr / hr, pp / hp, pc / hc}'
  done
done
if [ "$ROUNDS" -gt 1 ]; then
  echo
  echo "medians over $ROUNDS rounds (ratios of the medians); cpu: $cpu"
  printf "%-22s %12s %12s %8s %9s %9s %8s %9s %9s %8s\n" case "popi req/s" "HB req/s" ratio "popi p99" "HB p99" ratio "popi CPU" "HB CPU" ratio
  median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
  for c in "${cases[@]}"; do
    declare -a m=()
    for server in popi hummingbird; do
      for field in 1 2 3; do
        m+=("$(for round in $(seq "$ROUNDS"); do echo "${result["$round $c $server"]}" | cut -d' ' -f"$field"; done | median)")
      done
    done
    awk -v name="$c" -v pr="${m[0]}" -v pp="${m[1]}" -v pc="${m[2]}" -v hr="${m[3]}" -v hp="${m[4]}" -v hc="${m[5]}" \
      'BEGIN {printf "%-22s %12.0f %12.0f %7.2fx %9.2f %9.2f %7.2fx %9.1f %9.1f %7.2fx\n", name, pr, hr, pr / hr, pp, hp, pp / hp, pc, hc, pc / hc}'
    unset m
  done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
