#!/usr/bin/env bash
# Every API conformance check against one release `popi serve` on a throwaway PostgreSQL:
# openapi.yaml validated, the official openai SDK test, schemathesis with all checks, then
# `promtool check metrics` on /metrics after all that traffic. `make conformance` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  exec scripts/with-test-postgres.sh "$0" "$@"
fi
scripts/conformance-venv.sh >/dev/null
# shellcheck source=lib/popi-server.sh
source scripts/lib/popi-server.sh
trap popi_server_stop EXIT
trap 'exit 130' INT TERM
started=$SECONDS
# Rate limits (per key and per address) out of the way; generations capped so that schemathesis' cases finish in minutes
# (the copy of openapi.yaml it tests says the same cap).
export POPI_ST_MAX_GENERATION_TOKENS=16
popi_server_start --rate-limit 1000000 --rate-burst 1000000 --auth-failure-rate 1000000 --auth-failure-burst 1000000 --max-generation-tokens "$POPI_ST_MAX_GENERATION_TOKENS"
export POPI_URL
admin_key=$(popi_key read,write,generate,admin)
sdk_key=$(popi_key read,write,generate)

step=$SECONDS
POPI_KEY=$sdk_key scripts/openai-sdk-test.sh
sdk_seconds=$((SECONDS - step))
# One real summary refresh (POPI's best-of-N with the model), so the refresh metrics have samples.
step=$SECONDS
user=conformance-refresh-$$
auth=(-H "Authorization: Bearer $sdk_key" -H "Content-Type: application/json")
curl -sf "${auth[@]}" -X POST "$POPI_URL/v1/users/$user/feedback" -d @Tests/Conformance/refresh-feedback.json >/dev/null
curl -sf "${auth[@]}" -X POST "$POPI_URL/v1/users/$user/summary/refresh?wait=120" | python3 -c '
import json, sys
summary = json.load(sys.stdin)
assert summary.get("version") == 1 and summary["origin"] == "inferred" and summary["reward"] is not None, summary
print("refresh: version 1 with reward %.3f, accuracy %s, %s summary tokens for %s raw-signal tokens" % (
    summary["reward"], summary["accuracy"], summary["summary_tokens"], summary["raw_signal_tokens"]))'
refresh_seconds=$((SECONDS - step))

step=$SECONDS
POPI_KEY=$admin_key scripts/schemathesis.sh "$@"
st_seconds=$((SECONDS - step))
scripts/promtool-check.sh "$POPI_URL"
echo "api-conformance: passed in $((SECONDS - started)) s (openai SDK $sdk_seconds s, refresh $refresh_seconds s, schemathesis $st_seconds s)"
