#!/usr/bin/env bash
# The fault campaign (issue 19): faults injected into a local cluster (scripts/cluster.sh), each
# scenario checked by counting (client logs, nginx's access log, SQL on the cluster's database),
# results printed as a table; exits 1 if any check fails. README: "What survives what".
#
#   scripts/chaos.sh [--quick] [--replicas N] [--port P] [--only 1,2,...]
#
#   1  kill -9 of a replica holding a refresh job   4  SIGTERM to a replica serving a stream
#   2  PostgreSQL restarted (fast, immediate)       5  the upstream API killed mid-stream, then down
#   3  PostgreSQL down when a replica starts        6  PostgreSQL's disk full (a tmpfs; needs root)
#
# --quick (make test, so CI): two replicas, scenario 1 and one immediate restart of scenario 2, in under 3 min.
# Environment: what scripts/cluster.sh takes (POPI_BIN, POPI_MODEL, every POPI_* setting);
# POPI_CLUSTER_DIR defaults to .cluster-chaos; CHAOS_NICE (10) is the niceness everything runs at.
# Small settings unless set: one engine thread, worker and generation per replica, 2 candidates,
# a refresh lease of 15 s.
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything started from here inherits the niceness: the campaign shares the machine.
want_nice=${CHAOS_NICE:-10}
if (($(nice) < want_nice)); then exec nice -n $((want_nice - $(nice))) "$0" "$@"; fi

usage() {
  sed -n '6,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

quick=0 replicas="" port=9180 only=""
while (($#)); do
  case $1 in
    --quick) quick=1; shift ;;
    --replicas) replicas=${2:-}; shift 2 || usage ;;
    --port) port=${2:-}; shift 2 || usage ;;
    --only) only=${2:-}; shift 2 || usage ;;
    *) usage ;;
  esac
done
if ((quick)); then
  replicas=${replicas:-2}
  only=${only:-1,2}
else
  replicas=${replicas:-3}
  only=${only:-1,2,3,4,5,6}
fi
[[ $only =~ ^[1-6](,[1-6])*$ ]] || { echo "chaos: --only takes scenario numbers 1-6, e.g. 1,2" >&2; exit 2; }
if ! [[ $replicas =~ ^[0-9]+$ ]] || ((replicas < 2)); then
  echo "chaos: --replicas must be 2 or more (a fault needs a survivor)" >&2
  exit 2
fi

export POPI_CLUSTER_DIR=${POPI_CLUSTER_DIR:-.cluster-chaos}
state=$(realpath -m "$POPI_CLUSTER_DIR")
export POPI_THREADS=${POPI_THREADS:-1} POPI_WORKERS=${POPI_WORKERS:-1}
export POPI_MAX_CONCURRENT_GENERATIONS=${POPI_MAX_CONCURRENT_GENERATIONS:-1} POPI_CANDIDATES=${POPI_CANDIDATES:-2}
grace=${POPI_SHUTDOWN_GRACE:-10}
api="http://127.0.0.1:$port"
upstream_port=$((port + 20))
hand_port=$((port + 19))   # scenario 3's replica, outside nginx's upstream
work="$state/chaos"
client=(python3 scripts/lib/chaos_client.py)
cluster=(scripts/cluster.sh)
# A short refresh lease, so that scenario 1's crashed job runs again within seconds, not a minute.
export POPI_REFRESH_LEASE=${POPI_REFRESH_LEASE:-15}
lease=$POPI_REFRESH_LEASE
started=$SECONDS

# The fake upstream answers model "fake" for every replica; scenarios 4 and 5 use it.
mkdir -p "$state"
cat >"$state/upstreams.json" <<JSON
{"upstreams": [{"name": "fake", "base_url": "http://127.0.0.1:$upstream_port/v1", "models": {"fake": "fake-model"},
  "timeouts": {"connect": 2, "first_byte": 10, "idle": 5, "total": 60},
  "max_attempts": 2, "breaker_failures": 3, "breaker_open_seconds": 5}]}
JSON
export POPI_UPSTREAMS_FILE="$state/upstreams.json"

# ---- results ----------------------------------------------------------------------------------

rows=()
failures=0
printed=0
# check SCENARIO WHAT EXPECTED MEASURED OK: OK is a command whose status says PASS or FAIL
# ("skip": SKIP, which fails nothing).
check() {
  local scenario=$1 what=$2 expected=$3 measured=$4 result=PASS
  shift 4
  if [ "$1" = skip ]; then
    result=SKIP
  elif ! "$@"; then
    result=FAIL
    failures=$((failures + 1))
  fi
  rows+=("$scenario|$what|$expected|$measured|$result")
  printf 'chaos: %-3s %-4s %s: expected %s, measured %s\n' "$scenario" "$result" "$what" "$expected" "$measured"
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
eq() { [ "$1" = "$2" ]; }
no() { false; }

print_table() {
  ((printed)) && return 0
  printed=1
  local row scenario what expected measured result
  {
    echo "| # | What was checked | Expected | Measured | Result |"
    echo "|---|---|---|---|---|"
    for row in ${rows[@]+"${rows[@]}"}; do
      IFS='|' read -r scenario what expected measured result <<<"$row"
      echo "| $scenario | $what | $expected | $measured | $result |"
    done
  } >"$work/results.md"
  echo
  printf '%s\n' "#|checked|expected|measured|result" ${rows[@]+"${rows[@]}"} | column -t -s '|' -o '  '
  echo
  echo "chaos: ${#rows[@]} checks, $failures failed, $((SECONDS - started)) s; table: $work/results.md, logs: $state/logs, $work"
}

# ---- what this run starts, and stopping it ------------------------------------------------------

load_pid="" upstream_pid="" hand_pid="" tmpfs="" current="" cluster_up=0

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_load
  stop_upstream
  if [ -n "$hand_pid" ] && kill -0 "$hand_pid" 2>/dev/null; then
    kill -TERM "$hand_pid" 2>/dev/null || true
    wait "$hand_pid" 2>/dev/null || true
  fi
  if [ -n "$tmpfs" ]; then
    # PostgreSQL's files on the tmpfs go with it: stop the server first.
    "${cluster[@]}" pg-stop --mode immediate >/dev/null 2>&1 || true
    umount "$tmpfs" 2>/dev/null || umount -l "$tmpfs" 2>/dev/null || true
  fi
  if ((cluster_up)); then "${cluster[@]}" down || status=1; fi
  if ((status != 0)) && [ -n "$current" ]; then
    echo "chaos: stopped during scenario $current (status $status): the checks below are those made before" >&2
    rows+=("$current|the scenario ran to its end|yes|stopped (status $status)|FAIL")
    failures=$((failures + 1))
  fi
  ((${#rows[@]})) && print_table
  if ((status == 0 && failures > 0)); then status=1; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_load NAME RATE OP...: the load client in the background, logging to $work/NAME.log.
start_load() {
  local name=$1 rate=$2
  shift 2
  local ops=()
  for op in "$@"; do ops+=(--op "$op"); done
  rm -f "$work/$name.stop"
  "${client[@]}" load --url "$api" --key "$key" --rate "$rate" --stop-file "$work/$name.stop" \
    --log "$work/$name.log" "${ops[@]}" &
  load_pid=$!
  load_name=$name
}

stop_load() {
  [ -n "$load_pid" ] || return 0
  touch "$work/$load_name.stop"
  wait "$load_pid" 2>/dev/null || true
  load_pid=""
}

start_upstream() {
  python3 scripts/lib/fake_upstream.py --port "$upstream_port" --words 16 --delay 0.4 \
    >>"$work/fake-upstream.log" 2>&1 &
  upstream_pid=$!
  local deadline=$((SECONDS + 10))
  until curl -s -o /dev/null "http://127.0.0.1:$upstream_port/v1/models"; do
    ((SECONDS < deadline)) || { echo "chaos: the fake upstream did not start" >&2; return 1; }
    sleep 0.1
  done
}

# kill -9, as a crash: the fake upstream's open streams are cut.
stop_upstream() {
  [ -n "$upstream_pid" ] || return 0
  kill -KILL "$upstream_pid" 2>/dev/null || true
  wait "$upstream_pid" 2>/dev/null || true
  upstream_pid=""
}

# What `chaos_client.py stats`, `stream-end` and `nginx-log` assign (eval'd into these globals;
# each scenario reads some of them).
# shellcheck disable=SC2034
{
  n=0 ok=0 failed=0 codes="" max_s=0 max_failed_s=0 first_ok_t0=0 first_fail_t0=0 last_fail_t1=0
  inflight_at=0 failed_not_inflight=0
  end="" status=0 t_first=0 t_end=0 events=0 error_code="" answered=0 tried=0
}
stats() { eval "$("${client[@]}" stats "$@")"; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# T + D seconds, to the millisecond (awk's default print would round an epoch time to 6 digits).
plus() { awk -v t="$1" -v d="$2" 'BEGIN { printf "%.3f", t + d }'; }
sql() { "${cluster[@]}" psql -XAtqc "$1"; }
readyz_code() { curl -s -m 5 -o /dev/null -w '%{http_code}' "$1/readyz" || true; }
# check_acked N USER: every event the client logged as acknowledged in $work/sN.log (scenario N)
# is stored for USER.
check_acked() {
  local acked missing
  "${client[@]}" acked --log "$work/s$1.log" | sort -u >"$work/s$1-acked.txt"
  sql "SELECT idempotency_key FROM feedback_events e JOIN users u ON u.id = e.user_id WHERE u.external_id = '$2'" \
    | sort -u >"$work/s$1-stored.txt"
  acked=$(wc -l <"$work/s$1-acked.txt")
  missing=$(comm -23 "$work/s$1-acked.txt" "$work/s$1-stored.txt" | wc -l)
  check "$1" "acknowledged events missing afterwards (of $acked)" "0" "$missing" eq "$missing" 0
}
replica_pid() { cat "$state/popi-$1.pid"; }
# The reclaimed leases every replica counted (the killed one restarts from 0).
lease_reclaims() {
  local i
  for ((i = 1; i <= replicas; i++)); do curl -s -m 5 "http://127.0.0.1:$((port + i))/metrics" || true; done |
    awk '/^popi_refresh_lease_expiries_total\{outcome="reclaimed"\}/ { total += $2 } END { print total + 0 }'
}
# Alive and not a zombie (a replica cluster.sh started has no parent here to reap it).
alive() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${stat:0:1}" != Z ]
}

# Until every replica answers /readyz 200 (up to $1 seconds); prints the seconds it took.
wait_all_ready() {
  local limit=$1 t0 i ready
  t0=$(now)
  while :; do
    ready=0
    for ((i = 1; i <= replicas; i++)); do
      [ "$(readyz_code "http://127.0.0.1:$((port + i))")" = 200 ] && ready=$((ready + 1))
    done
    if ((ready == replicas)); then elapsed "$t0" "$(now)"; return 0; fi
    if le "$limit" "$(elapsed "$t0" "$(now)")"; then echo "never"; return 1; fi
    sleep 0.2
  done
}

# Back to a whole cluster between scenarios: PostgreSQL up, every replica running and ready.
heal() {
  local i
  "${cluster[@]}" status >/dev/null 2>&1 && return 0
  if ! "${cluster[@]}" psql -XAtqc 'SELECT 1' >/dev/null 2>&1; then "${cluster[@]}" pg-start >/dev/null 2>&1 || true; fi
  for ((i = 1; i <= replicas; i++)); do
    if [ "$(readyz_code "http://127.0.0.1:$((port + i))")" = 000 ]; then
      "${cluster[@]}" replica-start "$i" >/dev/null 2>&1 || true
    fi
  done
  wait_all_ready 60 >/dev/null || echo "chaos: the cluster did not heal; later scenarios may fail" >&2
}

# POST a JSON body; prints the HTTP status, the body goes to FILE.
post() {
  curl -s -m 30 -o "$3" -w '%{http_code}' "$api$1" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d "$2" || true
}

json_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$1" "$2" 2>/dev/null || echo "?"; }

# ---- 1: kill -9 of a replica while it holds a refresh job ---------------------------------------

# Twelve pairs and a statement: a refresh of a few seconds, long enough to be caught running.
feedback_body() {
  python3 - "$1" <<'PY'
import json, sys
prefix = sys.argv[1]
topics = ["DNS", "TCP", "RAM", "a CPU", "HTTP", "a compiler", "Git", "Linux", "an index", "TLS", "a hash table", "recursion"]
events = [{"id": f"{prefix}-{i}", "kind": "pair", "prompt": f"What is {t}?", "chosen": f"{t}: one plain line.",
           "rejected": f"{t} is a concept in computing with a long history and many formal definitions, "
                       "which this answer will now describe at length over several paragraphs."}
          for i, t in enumerate(topics)]
events.append({"id": f"{prefix}-s", "kind": "statement", "text": "I want short answers."})
print(json.dumps({"events": events}))
PY
}

scenario_1() {
  echo "chaos: 1. kill -9 of a replica holding a refresh job (POPI_REFRESH_LEASE ${lease} s)"
  local attempt user job="" owner pid victim="" i kill_t0 kill_t1 jstate
  start_load s1 3 "feedback:s1-load:s1" "read:s1-load" models
  sleep 2
  # The refresh may finish before the kill lands (it takes seconds): then again with a new user.
  for attempt in 1 2 3; do
    user="s1-user-$attempt"
    [ "$(post "/v1/users/$user/feedback" "$(feedback_body "$user")" "$work/s1-post.json")" = 200 ] || continue
    # Due now rather than after the debounce.
    [ "$(post "/v1/users/$user/summary/refresh" '{}' "$work/s1-refresh.json")" = 202 ] || continue
    job=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["refresh_job"]["job_id"])' "$work/s1-refresh.json")
    owner=""
    for ((i = 0; i < 600; i++)); do
      owner=$(sql "SELECT lease_owner FROM jobs WHERE id = $job AND state = 'running'")
      [ -n "$owner" ] && break
      sleep 0.05
    done
    [ -n "$owner" ] || continue
    # The worker's name is host-pid-uuid8-index: the pid says which replica runs it.
    pid=$(sed -E 's/.*-([0-9]+)-[0-9A-Fa-f]{8}-[0-9]+$/\1/' <<<"$owner")
    victim=""
    for ((i = 1; i <= replicas; i++)); do [ "$(replica_pid "$i")" = "$pid" ] && victim=$i; done
    [ -n "$victim" ] || continue
    kill_t0=$(now)
    "${cluster[@]}" replica-stop "$victim" --signal KILL >/dev/null
    kill_t1=$(now)
    jstate=$(sql "SELECT state || ' ' || lease_owner FROM jobs WHERE id = $job" || true)
    [ "$jstate" = "running $owner" ] && break
    echo "chaos: 1. job $job was no longer running at the kill ($jstate); again"
    "${cluster[@]}" replica-start "$victim" >/dev/null
    victim=""
  done
  if [ -z "$victim" ]; then
    stop_load
    check 1 "a replica killed while it holds a refresh job" "done" "never caught one running" no
    return 0
  fi
  echo "chaos: 1. killed popi-$victim (pid $pid) holding job $job of $user; waiting for its lease"
  local done_t="" deadline=$((SECONDS + lease + 90))
  while ((SECONDS < deadline)); do
    jstate=$(sql "SELECT state FROM jobs WHERE id = $job")
    if [ "$jstate" != running ] && [ "$jstate" != pending ]; then done_t=$(now); break; fi
    sleep 0.5
  done
  sleep 1
  stop_load
  "${cluster[@]}" replica-start "$victim" >/dev/null

  local attempts versions dup_versions dup_revisions refreshed lost
  jstate=$(sql "SELECT state FROM jobs WHERE id = $job")
  attempts=$(sql "SELECT attempts FROM jobs WHERE id = $job")
  versions=$(sql "SELECT count(*) FROM summary_versions s JOIN users u ON u.id = s.user_id WHERE u.external_id = '$user'")
  dup_versions=$(sql "SELECT count(*) - count(DISTINCT s.version) FROM summary_versions s JOIN users u ON u.id = s.user_id WHERE u.external_id = '$user'")
  dup_revisions=$(sql "SELECT count(*) - count(DISTINCT s.feedback_revision) FROM summary_versions s JOIN users u ON u.id = s.user_id WHERE u.external_id = '$user'")
  refreshed=$(cat "$state_logs"/popi-*.log | grep -c "job_id=$job .*summary refreshed" || true)
  lost=$(sql "SELECT count(*) FROM jobs WHERE state = 'failed' OR (state = 'running' AND lease_expires_at < now())")
  check 1 "killed replica's job $job: final state" "done" "$jstate" eq "$jstate" "done"
  check 1 "job $job claims (killed replica, then one more)" "2" "$attempts" eq "$attempts" 2
  local took=never
  [ -z "$done_t" ] || took=$(elapsed "$kill_t0" "$done_t")
  check 1 "seconds from the kill to the job done (lease $lease s)" "<= $((lease + 30))" "$took" \
    le "${took/never/999}" $((lease + 30))
  check 1 "'summary refreshed' log lines for job $job" "1" "$refreshed" eq "$refreshed" 1
  check 1 "summary versions of $user (dup. versions, dup. revisions)" "1 (0, 0)" \
    "$versions ($dup_versions, $dup_revisions)" eq "$versions $dup_versions $dup_revisions" "1 0 0"
  check 1 "jobs failed or stuck past their lease (all users)" "0" "$lost" eq "$lost" 0
  local reclaims
  reclaims=$(lease_reclaims)
  check 1 "leases reclaimed, popi_refresh_lease_expiries_total{outcome=\"reclaimed\"} of every replica" "1" \
    "$reclaims" eq "$reclaims" 1
  stats --log "$work/s1.log" --at "$kill_t0"
  local inflight=$inflight_at failed_all=$failed codes_all=$codes n_all=$n
  stats --log "$work/s1.log" --at "$kill_t1"
  inflight=$((inflight > inflight_at ? inflight : inflight_at))
  check 1 "client requests failed (of $n_all; in flight at the kill: $inflight)" "<= $inflight" \
    "$failed_all ($codes_all)" le "$failed_all" "$inflight"
  check 1 "killed replica restarted and ready" "200" "$(readyz_code "http://127.0.0.1:$((port + victim))")" \
    eq "$(readyz_code "http://127.0.0.1:$((port + victim))")" 200
}

# ---- 2: PostgreSQL restarted during a feedback load ---------------------------------------------

scenario_2() {
  local modes=(fast immediate) outage=5 recovery_window=1 mode t_stop t_start t_end ready recovered pids_before pids_after
  ((quick)) && modes=(immediate)
  echo "chaos: 2. PostgreSQL restarted (${modes[*]}) during a feedback load"
  # Commits acknowledged only once durable, as a production server does: the throwaway cluster
  # runs with synchronous_commit off, which an immediate shutdown may legitimately undo.
  sql "ALTER SYSTEM SET synchronous_commit = on" >/dev/null
  sql "SELECT pg_reload_conf()" >/dev/null
  pids_before=$(cat "$state"/popi-*.pid | sort | tr '\n' ' ')
  start_load s2 4 "feedback:s2-user:s2" "read:s2-user"
  sleep 4
  for mode in "${modes[@]}"; do
    t_stop=$(now)
    "${cluster[@]}" pg-stop --mode "$mode" >/dev/null
    sleep "$outage"
    "${cluster[@]}" pg-start >/dev/null
    t_start=$(now)
    ready=$(wait_all_ready 30 || true)
    # Past nginx's fail_timeout (10 s), so that whatever it decided during the outage has expired.
    sleep 12
    t_end=$(now)
    stats --log "$work/s2.log" --from "$t_stop" --to "$t_start"
    check 2 "$mode: non-2xx answers while PostgreSQL is down (of $n)" "503 database_unavailable only" "$codes" \
      eval "[[ '$codes' =~ ^503:database_unavailable=[0-9]+\$ ]]"
    check 2 "$mode: slowest failed request, s" "<= 2" "$max_failed_s" le "$max_failed_s" 2
    check 2 "$mode: every replica /readyz 200 after PostgreSQL is up, s" "<= 10" "$ready" le "${ready/never/999}" 10
    stats --log "$work/s2.log" --from "$t_start" --to "$t_end"
    recovered=$(if ((ok > 0)); then elapsed "$t_start" "$first_ok_t0"; else echo never; fi)
    check 2 "$mode: first 2xx through nginx after PostgreSQL is up, s" "<= 5" "$recovered" le "${recovered/never/999}" 5
    # Each replica notices the server is back at its next connection attempt, up to the pool's
    # largest reconnect pause (0.5 s) after it: until then its answers are still the outage's.
    check 2 "$mode: non-2xx answers after PostgreSQL is up (of $n)" "503 database_unavailable only, or none" \
      "$codes" eval "[[ '$codes' =~ ^(503:database_unavailable=[0-9]+|none)\$ ]]"
    stats --log "$work/s2.log" --from "$(plus "$t_start" "$recovery_window")" --to "$t_end"
    check 2 "$mode: failed requests from ${recovery_window} s after PostgreSQL is up (of $n)" "0" "$failed" eq "$failed" 0
  done
  stop_load
  pids_after=$(cat "$state"/popi-*.pid | sort | tr '\n' ' ')
  check 2 "replicas restarted meanwhile" "none" "$([ "$pids_before" = "$pids_after" ] && echo none || echo "pids $pids_before-> $pids_after")" \
    eq "$pids_before" "$pids_after"
  check_acked 2 s2-user
}

# ---- 3: PostgreSQL unreachable when a replica starts -------------------------------------------

scenario_3() {
  echo "chaos: 3. a replica started by hand (port $hand_port, outside nginx) while PostgreSQL is down"
  local t0 t_up alive=1 rc="" exit_s="" codes_seen="" code line served=never ready i
  "${cluster[@]}" pg-stop --mode fast >/dev/null
  t0=$(now)
  (
    # shellcheck source=/dev/null
    source "$state/cluster.env"
    # shellcheck source=/dev/null
    source "$state/replica.env"
    DATABASE_URL=$(cat "$state/database-url") exec "$BIN" serve --host 127.0.0.1 --port "$hand_port" --model "$MODEL"
  ) </dev/null >"$state_logs/popi-hand.log" 2>&1 &
  hand_pid=$!
  for ((i = 0; i < 75; i++)); do
    if ! kill -0 "$hand_pid" 2>/dev/null; then
      alive=0
      exit_s=$(elapsed "$t0" "$(now)")
      rc=0
      wait "$hand_pid" || rc=$?
      hand_pid=""
      break
    fi
    code=$(readyz_code "http://127.0.0.1:$hand_port")
    [[ " $codes_seen " == *" $code "* ]] || codes_seen="${codes_seen:+$codes_seen }$code"
    sleep 0.2
  done
  "${cluster[@]}" pg-start >/dev/null
  t_up=$(now)
  if ((alive)); then
    for ((i = 0; i < 150; i++)); do
      if [ "$(readyz_code "http://127.0.0.1:$hand_port")" = 200 ]; then served=$(elapsed "$t_up" "$(now)"); break; fi
      kill -0 "$hand_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -TERM "$hand_pid" 2>/dev/null || true
    wait "$hand_pid" 2>/dev/null || true
    hand_pid=""
  fi
  ready=$(wait_all_ready 30 || true)
  line=$(grep -m 1 -iE 'database|postgres' "$state_logs/popi-hand.log" | sed -E 's/^Error: //; s/: connection to server.*//' | cut -c 1-70 || true)
  check 3 "replica started with PostgreSQL down, 15 s later" "running, retrying" \
    "$(if ((alive)); then echo running; else echo "exited $rc after $exit_s s"; fi)" eq "$alive" 1
  # While it waits for its database the replica does not listen yet (000: connection refused),
  # which every probe and balancer reads as not ready; it must never answer 200 before then.
  check 3 "its /readyz meanwhile (HTTP codes seen)" "not 200 (000 refused, or 503)" "${codes_seen:-none (exited first)}" \
    eval "[ -n '$codes_seen' ] && [[ ' $codes_seen ' != *' 200 '* ]]"
  check 3 "a log line names the database" "a line" "${line:-none}" eval "[ -n \"\$line\" ]"
  check 3 "serving (/readyz 200) after PostgreSQL is up, s" "<= 30" "$served" le "${served/never/999}" 30
  check 3 "cluster replicas /readyz 200 after PostgreSQL is up, s" "<= 10" "$ready" le "${ready/never/999}" 10
}

# ---- 4: SIGTERM to a replica while it streams ----------------------------------------------------

# The replica whose /metrics shows METRIC above 0 (the fake upstream's stream, a generation).
replica_with() {
  local i value
  for ((i = 1; i <= replicas; i++)); do
    value=$(curl -s -m 2 "http://127.0.0.1:$((port + i))/metrics" | awk -v m="$1" '$1 == m { print $2 }')
    if [ -n "$value" ] && ge "$value" 1; then echo "$i"; return 0; fi
  done
  return 1
}

# Until LOG has a first event (or SECONDS pass).
wait_first_event() {
  local deadline=$((SECONDS + $2))
  until grep -q '"event"' "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

scenario_4() {
  echo "chaos: 4. SIGTERM to a replica while it streams (grace $grace s)"
  local victim="" pid term_t exit_t="" stream_pid deltas i took exited
  start_load s4 4 "feedback:s4-user:s4" "feedback-list:s4-user" models
  sleep 2
  # Streamed by the fake upstream through the replica: 16 words 0.4 s apart, ~6.5 s in flight.
  "${client[@]}" stream --url "$api" --key "$key" --path /v1/users/s4-user/generate --log "$work/s4-stream.log" \
    --body '{"prompt": "Tell me a story.", "generator": "fake", "stream": true, "max_tokens": 16}' &
  stream_pid=$!
  wait_first_event "$work/s4-stream.log" 15 || true
  victim=$(replica_with popi_upstream_calls_in_flight || true)
  if [ -z "$victim" ]; then
    wait "$stream_pid" || true
    stop_load
    check 4 "a replica streaming when SIGTERM comes" "found" "no replica was streaming" no
    return 0
  fi
  pid=$(replica_pid "$victim")
  term_t=$(now)
  "${cluster[@]}" replica-stop "$victim" --no-wait >/dev/null
  wait "$stream_pid" || true
  for ((i = 0; i < (grace + 15) * 10; i++)); do
    alive "$pid" || { exit_t=$(now); break; }
    sleep 0.1
  done
  sleep 3
  stop_load
  eval "$("${client[@]}" stream-end --log "$work/s4-stream.log")"
  deltas=$(grep -c '"event": "delta"' "$work/s4-stream.log" || true)
  took=$(if [ "$t_end" != 0 ]; then elapsed "$term_t" "$t_end"; else echo never; fi)
  exited=$(if [ -n "$exit_t" ]; then elapsed "$term_t" "$exit_t"; else echo never; fi)
  check 4 "the stream popi-$victim served: how it ended" "done" "$end ($deltas deltas)" eq "$end $deltas" "done 16"
  check 4 "stream end after SIGTERM, s" "<= $grace" "$took" le "${took/never/999}" "$grace"
  check 4 "popi-$victim exit after SIGTERM, s" "<= $((grace + 2))" "$exited" le "${exited/never/999}" $((grace + 2))
  eval "$("${client[@]}" nginx-log --log "$state_logs/nginx-access.log" --port $((port + victim)) \
    --from "$(plus "$term_t" 0.05)")"
  check 4 "requests begun after SIGTERM answered by popi-$victim (of $n)" "0" "$answered (sent to it: $tried)" \
    eq "$answered" 0
  stats --log "$work/s4.log" --from "$(plus "$term_t" -1)"
  check 4 "client requests failed from SIGTERM on (of $n)" "0" "$failed ($codes)" eq "$failed" 0
  "${cluster[@]}" replica-start "$victim" >/dev/null
}

# ---- 5: the upstream API killed mid-stream, then refusing connections ---------------------------

# One non-streamed call to the fake upstream through nginx: "status code seconds".
upstream_call() {
  local t0 status
  t0=$(now)
  status=$(post /v1/chat/completions \
    '{"model": "fake", "user": "s5-user", "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]}' \
    "$work/s5-call.json")
  echo "$status $(python3 -c 'import json, sys
try: print(json.load(open(sys.argv[1]))["error"]["code"])
except Exception: print("-")' "$work/s5-call.json") $(elapsed "$t0" "$(now)")"
}

scenario_5() {
  echo "chaos: 5. the upstream API killed mid-stream, then refusing connections, then back"
  local chat_pid gen_pid chat_end gen_end i line calls=() codes_down="" slowest=0 opened=0 other=0 t_up recovered=never after_codes=""
  "${client[@]}" stream --url "$api" --key "$key" --path /v1/chat/completions --log "$work/s5-chat.log" \
    --body '{"model": "fake", "user": "s5-user", "stream": true, "max_tokens": 16, "messages": [{"role": "user", "content": "Tell me a story."}]}' &
  chat_pid=$!
  "${client[@]}" stream --url "$api" --key "$key" --path /v1/users/s5-user/generate --log "$work/s5-generate.log" \
    --body '{"prompt": "Tell me a story.", "generator": "fake", "stream": true, "max_tokens": 16}' &
  gen_pid=$!
  wait_first_event "$work/s5-chat.log" 15 || true
  wait_first_event "$work/s5-generate.log" 15 || true
  sleep 1
  stop_upstream
  wait "$chat_pid" || true
  wait "$gen_pid" || true
  eval "$("${client[@]}" stream-end --log "$work/s5-chat.log")"
  chat_end="$end${error_code:+ $error_code}"
  check 5 "chat completion stream when the upstream dies" "error event" "$chat_end ($events events)" eq "$end" error
  eval "$("${client[@]}" stream-end --log "$work/s5-generate.log")"
  gen_end="$end${error_code:+ $error_code}"
  check 5 "/generate stream when the upstream dies" "error event" "$gen_end ($events events)" eq "$end" error
  # The upstream refuses connections now: calls fail fast, then the breakers (3 failures per
  # replica) answer 503 upstream_unavailable without calling.
  for ((i = 0; i < 15; i++)); do
    line=$(upstream_call)
    calls+=("$line")
    read -r status code secs <<<"$line"
    le "$slowest" "$secs" && slowest=$secs
    case "$status $code" in
      "502 upstream_unreachable") ;;
      "503 upstream_unavailable") opened=$((opened + 1)) ;;
      *) other=$((other + 1)) ;;
    esac
    [[ " $codes_down " == *" $status:$code "* ]] || codes_down="${codes_down:+$codes_down }$status:$code"
    sleep 0.3
  done
  check 5 "calls while it is down answered other than 502/503 upstream_* (of 15)" "0" "$other ($codes_down)" eq "$other" 0
  check 5 "calls refused by an open breaker (503 upstream_unavailable)" ">= 1" "$opened" ge "$opened" 1
  check 5 "slowest call while it is down, s" "<= 3" "$slowest" le "$slowest" 3
  start_upstream
  t_up=$(now)
  for ((i = 0; i < 60; i++)); do
    read -r status code secs <<<"$(upstream_call)"
    if [ "$status" = 200 ]; then recovered=$(elapsed "$t_up" "$(now)"); break; fi
    sleep 0.5
  done
  # Each replica's breaker half-opens 5 s after its own last failure: past that, every call works.
  sleep "$(awk -v t="$t_up" -v now="$(now)" 'BEGIN { d = t + 6 - now; printf "%.1f", (d > 0 ? d : 0) }')"
  for ((i = 0; i < 6; i++)); do
    read -r status code secs <<<"$(upstream_call)"
    [[ " $after_codes " == *" $status:$code "* ]] || after_codes="${after_codes:+$after_codes }$status:$code"
  done
  check 5 "first 200 after the upstream is back, s (breaker open 5 s)" "<= 6" "$recovered" le "${recovered/never/999}" 6
  check 5 "6 calls from 6 s after it is back" "200" "$after_codes" eq "$after_codes" "200:-"
}

# ---- 6: PostgreSQL's disk full ---------------------------------------------------------------------

scenario_6() {
  echo "chaos: 6. PostgreSQL's disk full (its tables on a small tmpfs, WAL on disk)"
  if [ "$(id -u)" -ne 0 ]; then
    check 6 "PostgreSQL's disk full" "run" "skipped: mounting a tmpfs needs root" skip
    return 0
  fi
  local data="$state/pg/data" size avail pg_before pg_after full_t free_t recovered=never n_w codes_w
  "${cluster[@]}" pg-stop --mode fast >/dev/null
  # Tables and indexes (base/) on the tmpfs, WAL (pg_wal/) on the disk: a failed WAL write is a
  # PANIC that stops the server, a relation that cannot grow is an ERROR for its statement.
  size=$(($(du -sm "$data/base" | cut -f1) + 16))
  mv "$data/base" "$data/base.disk"
  mkdir -m 700 "$data/base"
  if ! mount -t tmpfs -o "size=${size}m,mode=700" chaos-pg-base "$data/base"; then
    rmdir "$data/base"
    mv "$data/base.disk" "$data/base"
    "${cluster[@]}" pg-start >/dev/null
    check 6 "PostgreSQL's disk full" "run" "skipped: mount -t tmpfs failed" skip
    return 0
  fi
  tmpfs="$data/base"
  cp -a "$data/base.disk/." "$data/base/"
  chown --reference="$data/base.disk" "$data/base"
  rm -rf "$data/base.disk"
  "${cluster[@]}" pg-start >/dev/null
  wait_all_ready 30 >/dev/null || true
  pg_before=$(head -n 1 "$data/postmaster.pid")
  # 6 KB of incompressible text per event: stored out of line (TOAST), so every insert needs a
  # new page rather than fitting in the free space of the table's last one.
  start_load s6 4 "feedback:s6-user:s6:6000" "feedback-list:s6-user"
  sleep 4
  # The rest of the tmpfs taken: from here on nothing can grow.
  dd if=/dev/zero of="$data/base/chaos-filler" bs=64k 2>/dev/null || true
  full_t=$(now)
  avail=$(df --output=avail -k "$data/base" | tail -n 1 | tr -d ' ')
  sleep 20
  rm -f "$data/base/chaos-filler"
  free_t=$(now)
  sleep 10
  stop_load
  pg_after=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || echo gone)
  stats --log "$work/s6.log" --op feedback --from "$full_t" --to "$free_t"
  n_w=$n codes_w=$codes
  check 6 "writes while the disk is full ($avail KiB free; of $n_w): refused" ">= 1" "$((n_w - ok))" ge "$((n_w - ok))" 1
  check 6 "how they are refused" "503/507, a clear code" "$codes_w" \
    eval "[[ '$codes_w' =~ ^((503|507):[a-z_]+=[0-9]+,?)+\$ ]] && [[ '$codes_w' != *internal* ]]"
  stats --log "$work/s6.log" --op feedback-list --from "$full_t" --to "$free_t"
  check 6 "reads while the disk is full: 2xx (of $n)" "$n" "$ok ($codes)" eq "$ok" "$n"
  check 6 "PostgreSQL still running (postmaster pid)" "$pg_before" "$pg_after" eq "$pg_after" "$pg_before"
  stats --log "$work/s6.log" --op feedback --from "$free_t"
  recovered=$(if ((ok > 0)); then elapsed "$free_t" "$first_ok_t0"; else echo never; fi)
  check 6 "first acknowledged write after space returns, s" "<= 5" "$recovered" le "${recovered/never/999}" 5
  check_acked 6 s6-user
}

state_logs="$state/logs"

mkdir -p "$work"
rm -f "$work"/*.log "$work"/*.stop
echo "chaos: a cluster of $replicas replicas on 127.0.0.1:$port (state in $state); scenarios $only"
# A failed `up` stops what it started itself; a cluster already running there is not ours to stop.
"${cluster[@]}" up --replicas "$replicas" --port "$port"
cluster_up=1
key=$("${cluster[@]}" key chaos 2>/dev/null)
start_upstream

for scenario in ${only//,/ }; do
  heal
  t=$SECONDS
  current=$scenario
  "scenario_$scenario"
  current=""
  echo "chaos: scenario $scenario took $((SECONDS - t)) s"
done
