#!/usr/bin/env bash
# A soak run (issue 19): the workload of bench/workload/run.sh at a steady rate for a long time
# against the running local cluster (scripts/cluster.sh, POPI_CLUSTER_DIR), while every replica
# is sampled every INTERVAL seconds: RSS, open fds, threads (from /proc) and, from its own
# /metrics (its port, not nginx), popi_db_pool_connections (open, in_use, max), popi_db_pool_waiting,
# popi_refresh_queue_depth, popi_refresh_queue_oldest_due_seconds, popi_refresh_jobs_running,
# popi_http_requests_in_flight and popi_prefix_cache_bytes (part of the RSS). Then the pass/fail
# check (soak_check.py: no series grows beyond its noise after the warm-up, errors under 0.1% of
# requests, no replica restarted) and an SVG of the series (plot.py). Exits 1 if the check fails.
# Rules: bench/workload/README.md.
#
#   bench/workload/soak.sh [--rate R] [--duration S] [--interval S] [--out DIR] [run.sh option...]
#
#   --rate       requests/s, steady (RATE, 5)
#   --duration   seconds of load (DURATION, 3600)
#   --interval   seconds between samples (INTERVAL, 10)
#   --out        folder for samples.csv, workload.json, check.txt, soak.svg and the logs
#                (default bench/results/workload/soak-<UTC time>)
#   other options go to run.sh (--connections, --tenants, --users, --mix, --gen-tokens, --seed,
#   --admin-key); not --url, --out, --keys-file, --no-setup or --setup-only.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=common.sh
source bench/workload/common.sh

usage() {
  sed -n '12,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
fail() {
  echo "soak: $*" >&2
  exit 1
}

rate=${RATE:-5} duration=${DURATION:-3600} interval=${INTERVAL:-10} out="" pass=()
while (($#)); do
  case $1 in
    --rate) rate=${2:-}; shift 2 || usage ;;
    --duration) duration=${2:-}; shift 2 || usage ;;
    --interval) interval=${2:-}; shift 2 || usage ;;
    --out) out=${2:-}; shift 2 || usage ;;
    --url | --keys-file | --no-setup | --setup-only | --save-keys) fail "$1 is soak.sh's to set" ;;
    -h | --help) usage ;;
    *) pass+=("$1"); shift ;;
  esac
done
if ! [[ $rate =~ ^[0-9]+([.][0-9]+)?$ ]] || [[ $rate =~ ^0*([.]0*)?$ ]]; then
  fail "--rate must be a number above 0, not \"$rate\" (capacity.sh measures closed loop)"
fi
[[ $duration =~ ^[1-9][0-9]*$ ]] || fail "--duration must be whole seconds, not \"$duration\""
[[ $interval =~ ^[1-9][0-9]*$ ]] || fail "--interval must be whole seconds, not \"$interval\""
workload_load_cluster || fail "no cluster in $workload_state (scripts/cluster.sh up first)"
out=${out:-bench/results/workload/soak-$(date -u +%Y%m%dT%H%MZ)}
mkdir -p "$out"
out=$(realpath "$out")
keys="$workload_state/soak-keys.tsv"

sampler_pid="" load_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local i
  if [ -n "$load_pid" ]; then
    # run.sh's own trap stops its wrk.
    kill -TERM "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
  fi
  if [ -n "$sampler_pid" ]; then
    touch "$out/.stop"
    for ((i = 0; i < 40; i++)); do kill -0 "$sampler_pid" 2>/dev/null || break; sleep 0.5; done
    kill -TERM "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
  fi
  rm -f "$keys" "$out/.stop"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One CSV row per replica: its pid and /proc figures, then its /metrics gauges (empty when the
# replica or its metrics do not answer).
metric() { awk -v m="$1" '$1 == m { print $2; exit }' <<<"$2"; }
sample() {
  local t=$1 epoch=$2 i pid rss fds threads m
  for ((i = 1; i <= REPLICAS; i++)); do
    rss="" fds="" threads="" m=""
    if pid=$(workload_replica_pid "$i"); then
      rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l || true)
      m=$(curl -s -m 5 "http://127.0.0.1:$((PORT + i))/metrics" || true)
    else
      pid=""
    fi
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$t" "$epoch" "$i" "$pid" "$rss" "$fds" "$threads" \
      "$(metric 'popi_db_pool_connections{state="open"}' "$m")" \
      "$(metric 'popi_db_pool_connections{state="in_use"}' "$m")" \
      "$(metric 'popi_db_pool_connections{state="max"}' "$m")" \
      "$(metric popi_db_pool_waiting "$m")" \
      "$(metric popi_refresh_queue_depth "$m")" \
      "$(metric popi_refresh_queue_oldest_due_seconds "$m")" \
      "$(metric popi_refresh_jobs_running "$m")" \
      "$(metric popi_http_requests_in_flight "$m")" \
      "$(metric popi_prefix_cache_bytes "$m")"
  done
}
# Samples at start + k * interval until the stop file exists, then one last sample.
sampler() {
  local start=$1 k=0 now t
  echo "t_s,epoch_s,replica,pid,rss_kib,fds,threads,db_pool_open,db_pool_in_use,db_pool_max,db_pool_waiting,refresh_queue_depth,refresh_queue_oldest_due_s,refresh_jobs_running,http_requests_in_flight,prefix_cache_bytes" \
    >"$out/samples.csv"
  while :; do
    now=$(date +%s.%N)
    t=$(awk -v a="$start" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
    sample "$t" "$(printf '%.1f' "$now")" >>"$out/samples.csv"
    [ -e "$out/.stop" ] && return 0
    k=$((k + 1))
    # Until the next slot, waking early if the load ended.
    while [ ! -e "$out/.stop" ]; do
      now=$(date +%s.%N)
      awk -v s="$start" -v k="$k" -v i="$interval" -v n="$now" 'BEGIN { exit !(n < s + k * i) }' || break
      sleep 0.5
    done
  done
}

echo "soak: $(workload_cpu_model); $REPLICAS replicas on 127.0.0.1:$((PORT + 1))-$((PORT + REPLICAS)), nginx :$PORT"
echo "soak: $rate requests/s for $duration s, samples every $interval s -> $out"
bench/workload/run.sh --setup-only --save-keys "$keys" ${pass[@]+"${pass[@]}"}

rm -f "$out/.stop"
sampler "$(date +%s.%N)" &
sampler_pid=$!
bench/workload/run.sh --no-setup --keys-file "$keys" --rate "$rate" --duration "$duration" --out "$out/workload.json" \
  ${pass[@]+"${pass[@]}"} >"$out/workload.log" 2>&1 &
load_pid=$!
load_status=0
wait "$load_pid" || load_status=$?
load_pid=""
touch "$out/.stop"
wait "$sampler_pid" || true
sampler_pid=""
rm -f "$out/.stop"
cat "$out/workload.log"
((load_status == 0)) || fail "the workload failed (status $load_status; $out/workload.log)"

python3 bench/workload/plot.py "$out/samples.csv" --out "$out/soak.svg" \
  --title "popi soak: $rate req/s, $duration s, $REPLICAS replicas ($(date -u +%Y-%m-%d))" || echo "soak: the plot failed" >&2
check_status=0
python3 bench/workload/soak_check.py "$out/samples.csv" "$out/workload.json" | tee "$out/check.txt" || check_status=$?
echo "soak: samples $out/samples.csv, plot $out/soak.svg, check $out/check.txt"
# The check's verdict is the exit status.
((check_status == 0))
