#!/usr/bin/env bash
# The official `openai` Python SDK, unmodified, against popi's OpenAI-compatible endpoints
# (Tests/Conformance/openai_sdk_test.py: models, completions plain and streamed with usage,
# personalization through `user` and X-Popi-User, errors).
#
#   scripts/openai-sdk-test.sh [extra pytest options]
#
# Without POPI_URL it builds popi (release), starts `popi serve` against a throwaway PostgreSQL
# and creates a key; with POPI_URL and POPI_KEY (scopes read, write, generate) it tests that server.
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
  trap 'exit 130' INT TERM
  # shellcheck disable=SC2119  # no extra serve flags: this script's own arguments are pytest's
  popi_server_start
  POPI_KEY=$(popi_key read,write,generate)
fi
: "${POPI_KEY:?set POPI_KEY (scopes read,write,generate) with POPI_URL}"
started=$SECONDS
POPI_URL=$POPI_URL POPI_KEY=$POPI_KEY "$venv/bin/python" -m pytest -p no:cacheprovider -q \
  Tests/Conformance/openai_sdk_test.py "$@"
echo "openai SDK test: $((SECONDS - started)) s"
