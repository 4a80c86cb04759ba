#!/usr/bin/env bash
# A realistic popi workload (issue 19) with wrk: several tenants and users, a mix of feedback
# batches, summary reads with ETags, refreshes, short generations and chat completions, at a
# steady rate or closed loop. Prints per-route requests/s, latency p50/p95/p99 and errors by
# status, and writes them as JSON. bench/workload/README.md says what it measures and why wrk.
#
#   bench/workload/run.sh [--url URL] [--duration S] [--rate R] [--connections C] [--tenants T]
#                         [--users U] [--mix SPEC] [--gen-tokens N] [--out FILE]
#                         [--seed put|refresh|none] [--keys-file F] [--admin-key K] [--no-setup]
#                         [--setup-only] [--save-keys F]
#
#   --url          popi or its proxy (default: the local cluster's nginx, from POPI_CLUSTER_DIR)
#   --duration     seconds of load (DURATION, 60)
#   --rate         requests/s over all connections, steady; 0 = closed loop, as fast as answered (RATE, 10)
#   --connections  connections, one wrk thread each (CONNECTIONS, 8)
#   --tenants      tenants, one key each (TENANTS, 3; at least 3)
#   --users        users per tenant (USERS, 8)
#   --mix          route weights (MIX, feedback:25,summary:60,refresh:3,generate:6,chat:6)
#   --gen-tokens   max_tokens of generations and chat completions (GEN_TOKENS, 12)
#   --out          the JSON result (OUT; default POPI_CLUSTER_DIR/workload/<run>/result.json)
#   --seed         how each user's first summary is made before the load: put (PUT summary,
#                  unpinned; default), refresh (POST refresh, wait up to SEED_WAIT=180 s), none
#   --keys-file    reuse keys: lines "TENANT<TAB>KEY" (written by every run into its folder)
#   --admin-key    make tenants and keys over the admin API (WORKLOAD_ADMIN_KEY) instead of
#                  scripts/cluster.sh key (which needs the local cluster's database)
#   --no-setup     no tenants, keys or seed feedback: with --keys-file, against users seeded before
#   --setup-only   tenants, keys and seed, no load;  --save-keys F: copy the keys there (mode 600)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=common.sh
source bench/workload/common.sh

usage() {
  sed -n '7,27p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
fail() {
  echo "workload: $*" >&2
  exit 1
}

url="" duration=${DURATION:-60} rate=${RATE:-10} connections=${CONNECTIONS:-8} tenants=${TENANTS:-3}
users=${USERS:-8} mix=${MIX:-feedback:25,summary:60,refresh:3,generate:6,chat:6} gen_tokens=${GEN_TOKENS:-12}
out=${OUT:-} seed=${SEED:-put} keys_file="" admin_key=${WORKLOAD_ADMIN_KEY:-} setup=1 load=1 save_keys=""
while (($#)); do
  case $1 in
    --url) url=${2:-}; shift 2 || usage ;;
    --duration) duration=${2:-}; shift 2 || usage ;;
    --rate) rate=${2:-}; shift 2 || usage ;;
    --connections) connections=${2:-}; shift 2 || usage ;;
    --tenants) tenants=${2:-}; shift 2 || usage ;;
    --users) users=${2:-}; shift 2 || usage ;;
    --mix) mix=${2:-}; shift 2 || usage ;;
    --gen-tokens) gen_tokens=${2:-}; shift 2 || usage ;;
    --out) out=${2:-}; shift 2 || usage ;;
    --seed) seed=${2:-}; shift 2 || usage ;;
    --keys-file) keys_file=${2:-}; shift 2 || usage ;;
    --admin-key) admin_key=${2:-}; shift 2 || usage ;;
    --no-setup) setup=0; shift ;;
    --setup-only) load=0; shift ;;
    --save-keys) save_keys=${2:-}; shift 2 || usage ;;
    *) usage ;;
  esac
done
[[ $duration =~ ^[1-9][0-9]*$ ]] || fail "--duration must be whole seconds, not \"$duration\""
[[ $rate =~ ^[0-9]+([.][0-9]+)?$ ]] || fail "--rate must be a number (0: closed loop), not \"$rate\""
[[ $connections =~ ^[1-9][0-9]*$ ]] || fail "--connections must be 1 or more, not \"$connections\""
if ! [[ $tenants =~ ^[0-9]+$ ]] || ((tenants < 3)); then fail "--tenants must be 3 or more, not \"$tenants\""; fi
if ! [[ $users =~ ^[1-9][0-9]*$ ]] || ((users > 999)); then fail "--users must be 1-999, not \"$users\""; fi
[[ $gen_tokens =~ ^[1-9][0-9]*$ ]] || fail "--gen-tokens must be 1 or more, not \"$gen_tokens\""
[[ $mix =~ ^[a-z_]+[:=][0-9.]+(,[a-z_]+[:=][0-9.]+)*$ ]] || fail "--mix: ROUTE:WEIGHT,... (routes feedback, summary, refresh, generate, chat), not \"$mix\""
[[ $seed =~ ^(put|refresh|none)$ ]] || fail "--seed must be put, refresh or none, not \"$seed\""
((setup)) || [ -n "$keys_file" ] || fail "--no-setup needs --keys-file"
((setup || load)) || fail "--no-setup and --setup-only leave nothing to do"

if [ -z "$url" ]; then
  workload_load_cluster || fail "no cluster in $workload_state (scripts/cluster.sh up, or --url)"
  url="http://127.0.0.1:$PORT"
  # cluster.sh key runs POPI_BIN: the binary this cluster runs unless told otherwise.
  export POPI_BIN=${POPI_BIN:-$BIN}
fi
url=${url%/}
workload_need_wrk || exit 1

run_id="wl$(date -u +%Y%m%d%H%M%S)-$$"
work="$workload_state/workload/$run_id"
mkdir -p "$work"
out=${out:-$work/result.json}
mkdir -p "$(dirname "$out")"
out=$(realpath -m "$out")

wrk_pid="" seed_pids=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid
  for pid in ${wrk_pid:+"$wrk_pid"} ${seed_pids[@]+"${seed_pids[@]}"}; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$url/readyz" || true)
[ "$code" = 200 ] || fail "$url/readyz answers ${code/000/nothing}, not 200"

# api METHOD PATH KEY BODY OUTFILE: prints the HTTP status; retries 429 and 503 (their
# Retry-After, at most 10 times), as a client would.
api() {
  local method=$1 path=$2 key=$3 body=$4 file=$5 status attempt args=()
  [ -n "$body" ] && args=(-H 'Content-Type: application/json' --data-binary "$body")
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    status=$(curl -s -m 130 -o "$file" -w '%{http_code}' -X "$method" "$url$path" \
      -H "Authorization: Bearer $key" ${args[@]+"${args[@]}"} || true)
    [[ $status == 429 || $status == 503 ]] || break
    sleep "$attempt"
  done
  echo "$status"
}
json() { python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print("" if v is None else v)' "$@"; }

# ---- tenants and keys ---------------------------------------------------------------------------

if [ -n "$keys_file" ]; then
  [ -s "$keys_file" ] || fail "--keys-file $keys_file is empty or missing"
  cp "$keys_file" "$work/keys.tsv"
  chmod 600 "$work/keys.tsv"
  tenants=$(grep -c . "$work/keys.tsv")
else
  : >"$work/keys.tsv"
  chmod 600 "$work/keys.tsv"
  for ((t = 1; t <= tenants; t++)); do
    tenant="workload-$t"
    if [ -n "$admin_key" ]; then
      status=$(api POST /v1/admin/tenants "$admin_key" "{\"name\": \"$tenant\"}" "$work/tenant.json")
      if [ "$status" = 201 ]; then
        tenant_id=$(json "$work/tenant.json" tenant_id)
      elif [ "$status" = 409 ]; then
        [ "$(api GET /v1/admin/tenants "$admin_key" "" "$work/tenants.json")" = 200 ] || fail "GET /v1/admin/tenants failed"
        tenant_id=$(python3 -c 'import json, sys
print(next(t["tenant_id"] for t in json.load(open(sys.argv[1]))["tenants"] if t["name"] == sys.argv[2]))' \
          "$work/tenants.json" "$tenant")
      else
        fail "POST /v1/admin/tenants ($tenant) answered $status: $(cat "$work/tenant.json")"
      fi
      status=$(api POST "/v1/admin/tenants/$tenant_id/keys" "$admin_key" \
        '{"name": "workload", "scopes": ["read", "write", "generate"]}' "$work/key.json")
      [ "$status" = 201 ] || fail "POST /v1/admin/tenants/$tenant_id/keys answered $status: $(cat "$work/key.json")"
      key=$(json "$work/key.json" key)
      rm -f "$work/key.json"
    else
      key=$(scripts/cluster.sh key "$tenant" --name workload 2>"$work/key.err") \
        || fail "scripts/cluster.sh key $tenant failed: $(cat "$work/key.err") (against another server: --admin-key)"
    fi
    printf '%s\t%s\n' "$tenant" "$key" >>"$work/keys.tsv"
  done
fi

# ---- seed: every user gets feedback (and a summary) before the load ------------------------------

seed_user() {
  local key=$1 user=$2 events="" k status file="$work/seed-$3.json"
  for k in 1 2 3 4; do
    events+="{\"id\": \"seed-$user-$k\", \"kind\": \"pair\", \"prompt\": \"Seed question $k?\", "
    events+="\"chosen\": \"First seed reply to question $k.\", \"rejected\": \"Second seed reply to question $k, worded another way.\"}, "
  done
  events+="{\"id\": \"seed-$user-s\", \"kind\": \"statement\", \"text\": \"Synthetic seed note for $user.\"}"
  status=$(api POST "/v1/users/$user/feedback" "$key" "{\"events\": [$events]}" "$file")
  [ "$status" = 200 ] || { echo "seed: POST feedback of $user answered $status: $(cat "$file")"; return 1; }
  case $seed in
    put)
      status=$(api PUT "/v1/users/$user/summary" "$key" \
        "{\"text\": \"Synthetic seed summary of $user for the workload.\", \"pinned\": false}" "$file")
      [ "$status" = 200 ] || { echo "seed: PUT summary of $user answered $status: $(cat "$file")"; return 1; }
      ;;
    refresh)
      status=$(api POST "/v1/users/$user/summary/refresh" "$key" "" "$file")
      [[ $status == 200 || $status == 202 ]] || { echo "seed: POST refresh of $user answered $status: $(cat "$file")"; return 1; }
      ;;
  esac
  rm -f "$file"
}

if ((setup)); then
  echo "workload: seeding $tenants tenants x $users users (feedback, summary: $seed) at $url"
  t0=$SECONDS
  n=0
  failed=0
  while IFS=$'\t' read -r tenant key; do
    for ((u = 1; u <= users; u++)); do
      n=$((n + 1))
      seed_user "$key" "$(printf 'wl-user-%03d' "$u")" "$n" >"$work/seed-$n.log" 2>&1 &
      seed_pids+=($!)
      # Four at a time: the PUTs score the summary with the model.
      if ((${#seed_pids[@]} >= 4)); then
        wait "${seed_pids[0]}" || failed=$((failed + 1))
        seed_pids=("${seed_pids[@]:1}")
      fi
    done
  done <"$work/keys.tsv"
  for pid in ${seed_pids[@]+"${seed_pids[@]}"}; do wait "$pid" || failed=$((failed + 1)); done
  seed_pids=()
  if ((failed)); then
    cat "$work"/seed-*.log >&2
    fail "$failed of $n users could not be seeded"
  fi
  rm -f "$work"/seed-*.log
  if [ "$seed" = refresh ]; then
    deadline=$((SECONDS + ${SEED_WAIT:-180}))
    while :; do
      unseeded=0
      while IFS=$'\t' read -r tenant key; do
        for ((u = 1; u <= users; u++)); do
          status=$(api GET "/v1/users/$(printf 'wl-user-%03d' "$u")/summary" "$key" "" "$work/summary.json")
          if [ "$status" != 200 ] || [ -z "$(json "$work/summary.json" version)" ]; then unseeded=$((unseeded + 1)); fi
        done
      done <"$work/keys.tsv"
      ((unseeded == 0)) && break
      ((SECONDS < deadline)) || fail "$unseeded users still have no summary after ${SEED_WAIT:-180} s"
      sleep 5
    done
  fi
  echo "workload: seeded $n users in $((SECONDS - t0)) s"
fi
if [ -n "$save_keys" ]; then
  (umask 077 && cp "$work/keys.tsv" "$save_keys")
fi
((load)) || exit 0

# ---- the load -----------------------------------------------------------------------------------

mode="$rate requests/s"
[[ $rate =~ ^0*([.]0*)?$ ]] && mode="closed loop"
echo "workload: $duration s, $mode, $connections connections, mix $mix, $tenants tenants x $users users -> $url"
# CPU seconds (user + system) of the children this shell has waited for, from `times` (run in
# this shell: a subshell has children of its own): the difference around wrk is wrk's own CPU,
# to show what the load generator costs the machine.
children_cpu() { awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, p, "m"); s += p[1] * 60 + p[2] } print s }' "$1"; }
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
times >"$work/times-before"
WL_KEYS_FILE="$work/keys.tsv" WL_USERS=$users WL_USER_PREFIX=wl-user- WL_RATE=$rate WL_CONNECTIONS=$connections \
  WL_MIX=$mix WL_GEN_TOKENS=$gen_tokens WL_RUN_ID=$run_id WL_OUT=$out WL_URL=$url \
  wrk -t "$connections" -c "$connections" -d "${duration}s" --timeout 300s -s bench/workload/workload.lua "$url" \
  >"$work/wrk.log" 2>&1 &
wrk_pid=$!
wrk_status=0
wait "$wrk_pid" || wrk_status=$?
wrk_pid=""
times >"$work/times-after"
wrk_cpu=$(awk -v a="$(children_cpu "$work/times-before")" -v b="$(children_cpu "$work/times-after")" \
  'BEGIN { printf "%.2f", b - a }')
cat "$work/wrk.log"
if ((wrk_status != 0)) || [ ! -s "$out" ]; then fail "wrk failed (status $wrk_status; log $work/wrk.log)"; fi

# What the Lua script cannot know, added to its JSON.
python3 - "$out" "$started" "$(workload_cpu_model)" "$tenants" "$users" "$seed" "$gen_tokens" "$wrk_cpu" <<'PY'
import json, sys
path, started, cpu, tenants, users, seed, gen_tokens, wrk_cpu = sys.argv[1:]
result = json.load(open(path))
result.update(started_at=started, cpu=cpu, tenants=int(tenants), users_per_tenant=int(users), seed=seed,
              gen_tokens=int(gen_tokens), wrk_cpu_s=float(wrk_cpu))
json.dump(result, open(path, "w"), indent=2)
requests = result["total"]["sent"]
per = f", {1000 * float(wrk_cpu) / requests:.3f} ms per request" if requests else ""
print(f"workload: wrk used {float(wrk_cpu):.2f} s of CPU in {result['duration_s']:.0f} s "
      f"({100 * float(wrk_cpu) / result['duration_s']:.2f}% of one core{per})")
PY
echo "workload: result $out"
