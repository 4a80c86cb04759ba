#!/usr/bin/env bash
# Export memory check: a release `popi serve` on a throwaway PostgreSQL, one user with EVENTS
# feedback events (inserted by SQL in one statement, ~250 bytes of text each), exported once over
# HTTP. Prints the server's peak RSS (VmHWM) before and after the export and the growth, and fails
# when the growth reaches LIMIT_MIB (the export streams page by page, so it must not grow with
# the user's size). Loopback only, bounded in time.
#
# Usage: bench/export-rss.sh      (env: EVENTS=200000 LIMIT_MIB=64 POPI_PORT=28200;
#                                  POPI_BIN=path measures that popi build instead of building this tree's)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then
  exec scripts/with-test-postgres.sh "$0" "$@"
fi

EVENTS=${EVENTS:-200000}
LIMIT_MIB=${LIMIT_MIB:-64}
POPI_PORT=${POPI_PORT:-28200}

work=$(mktemp -d /tmp/popi-export-rss.XXXXXX)
if [ -n "${POPI_BIN:-}" ]; then
  POPI=$POPI_BIN
else
  echo "building release popi..."
  swift build -c release --product popi >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
  POPI=.build/release/popi
fi

popi_pid=""
cleanup() {
  if [ -n "$popi_pid" ] && kill -INT "$popi_pid" 2>/dev/null; then
    wait "$popi_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if ss -Hltn "sport = :$POPI_PORT" | grep -q .; then echo "bench/export-rss.sh: port $POPI_PORT is in use; set POPI_PORT" >&2; exit 1; fi
key=$("$POPI" keys create --tenant export-bench --scopes read,write --data-dir "$work/data" 2>/dev/null)
# No refresh workers: nothing but the export runs in the server.
"$POPI" serve --host 127.0.0.1 --port "$POPI_PORT" --data-dir "$work/data" --workers 0 >"$work/popi.log" 2>&1 &
popi_pid=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$POPI_PORT/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$POPI_PORT/healthz" >/dev/null || { echo "popi did not start"; cat "$work/popi.log"; exit 1; }

api="http://127.0.0.1:$POPI_PORT/v1/users/bench-user"
auth=(-H "Authorization: Bearer $key")
curl -sf "${auth[@]}" -H 'Content-Type: application/json' "$api/feedback" \
  -d '{"events":[{"kind":"statement","text":"creates the user"}]}' >/dev/null
echo "inserting $EVENTS events..."
psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO feedback_events (user_id, idempotency_key, kind, prompt, chosen, rejected, body, metadata)
SELECT u.id, 'bench-' || g,
       CASE WHEN g % 2 = 0 THEN 'pair' ELSE 'statement' END,
       CASE WHEN g % 2 = 0 THEN 'Question ' || g || ': how should a long answer about boiling eggs be written?' END,
       CASE WHEN g % 2 = 0 THEN 'Short and direct, ' || g || ' minutes.' END,
       CASE WHEN g % 2 = 0 THEN 'A long meandering answer about the culinary history of eggs, case ' || g || '.' END,
       CASE WHEN g % 2 = 1 THEN 'Statement ' || g || ': prefers concise answers with numbered steps and no small talk at all.' END,
       jsonb_build_object('n', g, 'source', 'bench')
FROM users u, generate_series(1, $EVENTS) g
WHERE u.external_id = 'bench-user';
ANALYZE feedback_events;
SQL

hwm() { awk '/VmHWM/ {print $2}' "/proc/$popi_pid/status"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$popi_pid/status"; }
# Warm the export path on a small user first, so one-time allocations are not counted.
curl -sf "${auth[@]}" -H 'Content-Type: application/json' "http://127.0.0.1:$POPI_PORT/v1/users/warm/feedback" \
  -d '{"events":[{"kind":"statement","text":"warm"}]}' >/dev/null
curl -sf "${auth[@]}" "http://127.0.0.1:$POPI_PORT/v1/users/warm/export" >/dev/null
before=$(hwm); rss_before=$(rss)
started=$(date +%s.%N)
curl -sf "${auth[@]}" "$api/export" -o "$work/export.json"
elapsed=$(echo "$(date +%s.%N) - $started" | bc)
after=$(hwm); rss_after=$(rss)

exported=$(jq '.feedback | length' "$work/export.json")
bytes=$(stat -c %s "$work/export.json")
growth=$(( (after - before) / 1024 ))
printf 'events exported: %s (%.1f MiB of JSON in %.1f s)\n' "$exported" "$(echo "$bytes / 1048576" | bc -l)" "$elapsed"
printf 'VmHWM before: %.1f MiB, after: %.1f MiB, growth: %d MiB (limit %d MiB)\n' \
  "$(echo "$before / 1024" | bc -l)" "$(echo "$after / 1024" | bc -l)" "$growth" "$LIMIT_MIB"
printf 'VmRSS before: %.1f MiB, after: %.1f MiB\n' "$(echo "$rss_before / 1024" | bc -l)" "$(echo "$rss_after / 1024" | bc -l)"
[ "$exported" -eq $((EVENTS + 1)) ] || { echo "FAIL: expected $((EVENTS + 1)) events in the export"; exit 1; }
[ "$growth" -lt "$LIMIT_MIB" ] || { echo "FAIL: peak RSS grew by $growth MiB"; exit 1; }
echo "OK"
