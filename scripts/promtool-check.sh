#!/usr/bin/env bash
# Checks popi's /metrics with `promtool check metrics` (format and Prometheus naming rules).
#
#   scripts/promtool-check.sh URL     (e.g. http://127.0.0.1:8080)
#
# promtool: on PATH, or fetched from Debian's prometheus package into ~/.cache/popi
# (scripts/lib/promtool.sh).
set -euo pipefail
url=${1:?usage: promtool-check.sh URL}
# shellcheck source=lib/promtool.sh
source "$(dirname "$0")/lib/promtool.sh"
promtool_find promtool-check || exit 1
metrics=$(curl -sf "$url/metrics")
echo "$metrics" | "$PROMTOOL" check metrics
echo "promtool check metrics: OK ($(echo "$metrics" | grep -c '^# TYPE') metric families, $(echo "$metrics" | grep -vc '^#') samples; $("$PROMTOOL" --version 2>&1 | head -n 1))"
