#!/usr/bin/env bash
# Checks popi's /metrics with `promtool check metrics` (format and Prometheus naming rules).
#
#   scripts/promtool-check.sh URL     (e.g. http://127.0.0.1:8080)
#
# promtool comes from Debian's `prometheus` package. Installing that package would also start a
# Prometheus server through its init script, so unless promtool is already on PATH the script
# downloads the package with apt and unpacks only promtool into ~/.cache/popi (run as root, it
# refreshes the package lists first when the download fails).
set -euo pipefail
url=${1:?usage: promtool-check.sh URL}
promtool=$(command -v promtool || true)
if [ -z "$promtool" ]; then
  cache=${POPI_PROMTOOL_DIR:-$HOME/.cache/popi/promtool}
  promtool=$cache/usr/bin/promtool
  if [ ! -x "$promtool" ]; then
    mkdir -p "$cache"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
      [ "$(id -u)" -eq 0 ] || { echo "promtool-check: cannot download Debian's prometheus package; install promtool" >&2; exit 1; }
      apt-get update >/dev/null
      (cd "$work" && apt-get download prometheus >/dev/null 2>&1)
    fi
    dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$cache" ./usr/bin/promtool
  fi
fi
metrics=$(curl -sf "$url/metrics")
echo "$metrics" | "$promtool" check metrics
echo "promtool check metrics: OK ($(echo "$metrics" | grep -c '^# TYPE') metric families, $(echo "$metrics" | grep -vc '^#') samples; $("$promtool" --version 2>&1 | head -n 1))"
