#!/usr/bin/env bash
# Attack run (issue 17): a release `popi serve` with its default limits, a legitimate client
# making 20 requests a second to a keyed route (a new connection each), measured quiet and then
# while 2,000 connections without a key trickle request bodies from 127.0.0.2 and random bearer
# keys flood in from 127.0.0.3. Reports the legitimate client's success rate and p99 latency for
# both phases and whether the goal holds (>= 99% success, p99 under 2x the quiet figure).
#
# Usage: bench/attack.sh [extra popi serve flags]
#   env: QUIET=20 ATTACK=40 RATE=20 TRICKLE=2000 FLOODS=8 POPI_BIN=<built popi to measure>
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  exec scripts/with-test-postgres.sh "$0" "$@"
fi
ulimit -n 16384
# shellcheck source=../scripts/lib/popi-server.sh
source scripts/lib/popi-server.sh
trap popi_server_stop EXIT
trap 'exit 130' INT TERM

# Workers off: the run measures the front door, not summary refreshes.
popi_server_start --workers 0 --rate-limit 100 --rate-burst 100 "$@"
KEY=$(popi_key read,write,generate)
auth=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
curl -sf "${auth[@]}" "$POPI_URL/v1/users/legit/feedback" -d '{"kind":"statement","text":"I like short answers."}' >/dev/null
curl -sf "${auth[@]}" -X PUT "$POPI_URL/v1/users/legit/summary" -d '{"text":"Prefers short answers."}' >/dev/null

echo "CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "popi: $POPI_BIN $*"
report=$(python3 bench/attack.py "$POPI_URL" "$KEY" --quiet "${QUIET:-20}" --attack "${ATTACK:-40}" --rate "${RATE:-20}" \
  --trickle "${TRICKLE:-2000}" --floods "${FLOODS:-8}")
echo "$report"
python3 - "$report" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
q, a = r["quiet"], r["attack"]
ratio = a["p99_ms"] / q["p99_ms"] if q["p99_ms"] else float("inf")
print(f"legitimate client: quiet {q['success']:.1%} ok, p99 {q['p99_ms']} ms; "
      f"under attack {a['success']:.1%} ok, p99 {a['p99_ms']} ms ({ratio:.2f}x quiet)")
goal = a["success"] >= 0.99 and ratio < 2
print("goal (>= 99% success, p99 < 2x quiet):", "met" if goal else "NOT met")
sys.exit(0 if goal else 1)
PY
