#!/usr/bin/env bash
# Property-based conformance of the running service against openapi.yaml: schemathesis with every
# check (status codes, content types, headers and bodies against the schemas, valid data
# accepted, invalid data rejected, auth enforced, undeclared methods refused, deleted resources
# gone) over all phases (examples, coverage, fuzzing, stateful). Exits non-zero on any failure.
#
#   scripts/schemathesis.sh [extra schemathesis run options]
#
# Without POPI_URL it builds popi (release), starts `popi serve` against a throwaway PostgreSQL
# (rate limits out of the way, generations capped at POPI_ST_MAX_GENERATION_TOKENS, default 16,
# so a run takes minutes, not hours) and creates a key with every scope. With POPI_URL and
# POPI_KEY (scopes read, write, generate and admin) it tests that server; set
# POPI_ST_MAX_GENERATION_TOKENS to its --max-generation-tokens when that is not the default.
# openapi.yaml documents the default limits; when the cap differs, the run uses a copy whose
# max_tokens maxima say the configured cap. POPI_ST_MAX_EXAMPLES (default 25) and POPI_ST_SEED set
# the amount and the seed of generated cases.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${POPI_URL:-}" ] && [ -z "${DATABASE_URL:-}" ]; then
  exec scripts/with-test-postgres.sh "$0" "$@"
fi
venv=$(scripts/conformance-venv.sh)
# shellcheck source=lib/popi-server.sh
source scripts/lib/popi-server.sh
work=$(mktemp -d)
# shellcheck disable=SC2317  # run by the EXIT trap; shellcheck 0.9 calls it unreachable because the script ends in exit (koalaman/shellcheck#2542)
cleanup() {
  popi_server_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -z "${POPI_URL:-}" ]; then
  POPI_ST_MAX_GENERATION_TOKENS=${POPI_ST_MAX_GENERATION_TOKENS:-16}
  popi_server_start --rate-limit 1000000 --rate-burst 1000000 --auth-failure-rate 1000000 --auth-failure-burst 1000000 --max-generation-tokens "$POPI_ST_MAX_GENERATION_TOKENS"
  POPI_KEY=$(popi_key read,write,generate,admin)
fi
: "${POPI_KEY:?set POPI_KEY (scopes read,write,generate,admin) with POPI_URL}"

"$venv/bin/openapi-spec-validator" openapi.yaml
"$venv/bin/python" scripts/openapi_check.py openapi.yaml
spec=openapi.yaml
if [ -n "${POPI_ST_MAX_GENERATION_TOKENS:-}" ]; then
  spec=$work/openapi.yaml
  "$venv/bin/python" - "$POPI_ST_MAX_GENERATION_TOKENS" "$spec" <<'PY'
import sys
import yaml
cap, out = int(sys.argv[1]), sys.argv[2]
spec = yaml.safe_load(open("openapi.yaml", encoding="utf-8"))
schemas = spec["components"]["schemas"]
for field in (schemas["SamplingFields"]["properties"]["max_tokens"],
              schemas["ChatCompletionRequest"]["allOf"][1]["properties"]["max_completion_tokens"]):
    field["maximum"] = cap
    field["default"] = min(field.get("default", cap), cap)
yaml.safe_dump(spec, open(out, "w", encoding="utf-8"), sort_keys=False, allow_unicode=True)
PY
  echo "schemathesis: max_tokens capped at $POPI_ST_MAX_GENERATION_TOKENS in the copy of openapi.yaml it tests"
fi

# --max-response-time is a hang detector, not a speed target: `?wait=` on a refresh may
# legitimately hold a response for up to 120 s.
seed=${POPI_ST_SEED:-$RANDOM}
started=$SECONDS
set +e
"$venv/bin/st" --config-file Tests/Conformance/schemathesis.toml run "$spec" \
  --url "$POPI_URL" \
  --header "Authorization: Bearer $POPI_KEY" \
  --checks all \
  --max-examples "${POPI_ST_MAX_EXAMPLES:-25}" \
  --seed "$seed" \
  --workers 1 \
  --request-timeout 180 \
  --max-response-time 170 \
  --generation-database none \
  --no-color \
  "$@"
status=$?
set -e
echo "schemathesis: exit $status after $((SECONDS - started)) s (seed $seed)"
exit $status
