#!/usr/bin/env bash
# Capacity (issue 19): the most requests/s the workload mix of bench/workload/run.sh gets, closed
# loop (every connection sends its next request as soon as the last is answered, no delay), from
# a cluster of 1 replica and then of 3 on this same machine; per route requests/s and latency,
# with the CPU model. Each size gets a fresh cluster of its own (scripts/cluster.sh, state in
# .cluster-capacity, nginx on --port), seeded the same way. Writes replicas-N.json and summary.md.
#
#   bench/workload/capacity.sh [--duration S] [--connections C] [--replicas "1 3"] [--port P]
#                              [--out DIR] [run.sh option...]
#
#   --duration     seconds of load per cluster size (DURATION, 120)
#   --connections  connections, closed loop (CONNECTIONS, 16)
#   --replicas     cluster sizes, in order (REPLICAS_LIST, "1 3")
#   --port         nginx's port; replicas on the next ones (9380)
#   --out          folder of the results (default bench/results/workload/capacity-<UTC time>)
#   other options go to run.sh (--tenants, --users, --mix, --gen-tokens, --seed)
#
# Environment: what scripts/cluster.sh takes (POPI_BIN, POPI_MODEL, every POPI_* setting: the
# replicas share the cores, POPI_THREADS = cores / replicas unless set); POPI_RATE_LIMIT and
# POPI_RATE_BURST default to 100000 here (the per-key limit would otherwise be what is measured);
# CAPACITY_NICE (10) is the niceness everything runs at.
set -euo pipefail
cd "$(dirname "$0")/../.."
want_nice=${CAPACITY_NICE:-10}
if (($(nice) < want_nice)); then exec nice -n $((want_nice - $(nice))) "$0" "$@"; fi
export POPI_CLUSTER_DIR=${POPI_CLUSTER_DIR:-.cluster-capacity}
# shellcheck source=common.sh
source bench/workload/common.sh

usage() {
  sed -n '8,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
fail() {
  echo "capacity: $*" >&2
  exit 1
}

duration=${DURATION:-120} connections=${CONNECTIONS:-16} sizes=${REPLICAS_LIST:-1 3} port=9380 out="" pass=()
while (($#)); do
  case $1 in
    --duration) duration=${2:-}; shift 2 || usage ;;
    --connections) connections=${2:-}; shift 2 || usage ;;
    --replicas) sizes=${2:-}; shift 2 || usage ;;
    --port) port=${2:-}; shift 2 || usage ;;
    --out) out=${2:-}; shift 2 || usage ;;
    --rate | --url | --keys-file | --no-setup | --setup-only | --save-keys) fail "$1 is capacity.sh's to set" ;;
    -h | --help) usage ;;
    *) pass+=("$1"); shift ;;
  esac
done
[[ $duration =~ ^[1-9][0-9]*$ ]] || fail "--duration must be whole seconds, not \"$duration\""
[[ $connections =~ ^[1-9][0-9]*$ ]] || fail "--connections must be 1 or more, not \"$connections\""
[[ $sizes =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] || fail "--replicas takes cluster sizes such as \"1 3\", not \"$sizes\""
export POPI_RATE_LIMIT=${POPI_RATE_LIMIT:-100000} POPI_RATE_BURST=${POPI_RATE_BURST:-100000}
out=${out:-bench/results/workload/capacity-$(date -u +%Y%m%dT%H%MZ)}
mkdir -p "$out"
out=$(realpath "$out")
cpu=$(workload_cpu_model)

cluster_up=0 load_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$load_pid" ]; then
    kill -TERM "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
  fi
  if ((cluster_up)); then scripts/cluster.sh down || status=1; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "capacity: $cpu; closed loop, $connections connections, $duration s per size; sizes: $sizes -> $out"
for n in $sizes; do
  echo "capacity: --- $n replica(s) ---"
  scripts/cluster.sh up --replicas "$n" --port "$port"
  cluster_up=1
  threads=$(sed -n 's/^declare -x POPI_THREADS="\{0,1\}\([0-9]*\)"\{0,1\}$/\1/p' "$workload_state/replica.env")
  bench/workload/run.sh --rate 0 --duration "$duration" --connections "$connections" --out "$out/replicas-$n.json" \
    ${pass[@]+"${pass[@]}"} >"$out/replicas-$n.log" 2>&1 &
  load_pid=$!
  status=0
  wait "$load_pid" || status=$?
  load_pid=""
  cat "$out/replicas-$n.log"
  ((status == 0)) || fail "the workload failed on $n replica(s) (status $status; $out/replicas-$n.log)"
  python3 - "$out/replicas-$n.json" "$n" "${threads:-?}" <<'PY'
import json, sys
path, n, threads = sys.argv[1:]
result = json.load(open(path))
result.update(replicas=int(n), popi_threads_per_replica=threads)
json.dump(result, open(path, "w"), indent=2)
PY
  scripts/cluster.sh down
  cluster_up=0
done

python3 - "$out" "$cpu" "$sizes" <<'PY' | tee "$out/summary.md"
import json, sys
out, cpu, sizes = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split()]
runs = {n: json.load(open(f"{out}/replicas-{n}.json")) for n in sizes}
first = runs[sizes[0]]
print(f"# Capacity: closed loop, {first['connections']} connections, {first['duration_s']:.0f} s per cluster size\n")
print(f"CPU: {cpu}. Finished {runs[sizes[-1]]['finished_at']}. Mix `{first['mix']}`, {first['tenants']} tenants x "
      f"{first['users_per_tenant']} users, generations of {first['gen_tokens']} tokens; popi engine threads per replica: "
      + ", ".join(f"{n} replica(s): {runs[n]['popi_threads_per_replica']}" for n in sizes) + ".\n")
routes = list(first["routes"])
header = "| route | " + " | ".join(f"{n} replica(s): req/s (p50 / p99 ms, errors)" for n in sizes)
if len(sizes) > 1:
    header += f" | {sizes[-1]} vs {sizes[0]} |"
else:
    header += " |"
print(header)
print("|---" * (header.count("|") - 1) + "|")
def cell(route):
    if route is None:
        return "-"
    lat = route["latency_ms"]
    p50 = "-" if lat["p50"] is None else f"{lat['p50']:.0f}"
    p99 = "-" if lat["p99"] is None else f"{lat['p99']:.0f}"
    return f"{route['requests_per_s']:.2f} ({p50} / {p99}, {route['errors']})"
for name in routes:
    row = [cell(runs[n]["routes"].get(name)) for n in sizes]
    line = f"| {name} | " + " | ".join(row)
    if len(sizes) > 1:
        a = runs[sizes[0]]["routes"].get(name, {}).get("requests_per_s") or 0
        b = runs[sizes[-1]]["routes"].get(name, {}).get("requests_per_s") or 0
        line += f" | {b / a:.2f}x |" if a else " | - |"
    else:
        line += " |"
    print(line)
tot = [runs[n]["total"] for n in sizes]
line = "| **total** | " + " | ".join(f"**{t['requests_per_s']:.2f}** ({t['errors']} errors)" for t in tot)
if len(sizes) > 1:
    line += f" | **{tot[-1]['requests_per_s'] / tot[0]['requests_per_s']:.2f}x** |" if tot[0]["requests_per_s"] else " | - |"
else:
    line += " |"
print(line)
PY
echo "capacity: results in $out"
