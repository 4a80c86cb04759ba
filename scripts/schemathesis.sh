#!/usr/bin/env bash
# Property-based conformance of the running service against openapi.yaml: schemathesis with every
# check (status codes, content types, headers and bodies against the schemas, valid data
# accepted, invalid data rejected, auth enforced, undeclared methods refused, deleted resources
# gone) over all phases (examples, coverage, fuzzing, stateful). Exits non-zero on any failure.
#
#   scripts/schemathesis.sh [extra schemathesis run options]
#
# Without POPI_URL it builds popi (release), starts `popi serve` against a throwaway PostgreSQL
# and creates a key with every scope; with POPI_URL and POPI_KEY (scopes read, write, generate
# and admin) it tests that server. POPI_ST_MAX_EXAMPLES (default 25) and POPI_ST_SEED set the
# amount and the seed of generated cases.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${POPI_URL:-}" ] && [ -z "${DATABASE_URL:-}" ]; then
  exec scripts/with-test-postgres.sh "$0" "$@"
fi
venv=$(scripts/conformance-venv.sh)
# shellcheck source=lib/popi-server.sh
source scripts/lib/popi-server.sh
if [ -z "${POPI_URL:-}" ]; then
  trap popi_server_stop EXIT
  popi_server_start
  POPI_KEY=$(popi_key read,write,generate,admin)
fi
: "${POPI_KEY:?set POPI_KEY (scopes read,write,generate,admin) with POPI_URL}"

"$venv/bin/openapi-spec-validator" openapi.yaml
"$venv/bin/python" scripts/openapi_check.py openapi.yaml

seed=${POPI_ST_SEED:-$RANDOM}
started=$SECONDS
set +e
"$venv/bin/st" --config-file Tests/Conformance/schemathesis.toml run openapi.yaml \
  --url "$POPI_URL" \
  --header "Authorization: Bearer $POPI_KEY" \
  --checks all \
  --max-examples "${POPI_ST_MAX_EXAMPLES:-25}" \
  --seed "$seed" \
  --workers 1 \
  --request-timeout 120 \
  --generation-database none \
  --no-color \
  "$@"
status=$?
set -e
echo "schemathesis: exit $status after $((SECONDS - started)) s (seed $seed)"
exit $status
