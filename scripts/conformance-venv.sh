#!/usr/bin/env bash
# Prints the path of a Python venv holding the API conformance tools (schemathesis, the official
# openai SDK, openapi-spec-validator), creating it on first use. Cached outside the clone
# (POPI_CONFORMANCE_VENV, default ~/.cache/popi/conformance-venv-<hash of the pins>) and reused.
set -euo pipefail
PINS=(schemathesis==4.32.5 openai==3.57.0 openapi-spec-validator==0.9.0 pyyaml jsonschema)
hash=$(printf '%s\n' "${PINS[@]}" | sha256sum | cut -c1-12)
venv=${POPI_CONFORMANCE_VENV:-$HOME/.cache/popi/conformance-venv-$hash}
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  echo "installing ${PINS[*]} into $venv (once per machine)" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  "$venv/bin/pip" install --quiet "${PINS[@]}" >&2
  touch "$venv/.complete"
fi
echo "$venv"
