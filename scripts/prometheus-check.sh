#!/usr/bin/env bash
# Checks the example Prometheus setup in deploy/prometheus with promtool: the scrape config (and
# the rule files it names), the alert rules, and their unit tests (alerts.test.yml). `make lint`
# runs it.
#
# promtool: on PATH, or fetched from Debian's prometheus package into ~/.cache/popi
# (scripts/lib/promtool.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/promtool.sh
source scripts/lib/promtool.sh
promtool_find prometheus-check || exit 1
dir=deploy/prometheus
"$PROMTOOL" check config "$dir/prometheus.yml"
"$PROMTOOL" check rules "$dir/alerts.yml"
"$PROMTOOL" test rules "$dir/alerts.test.yml"
echo "prometheus-check: $dir is valid and its alert tests pass ($("$PROMTOOL" --version 2>&1 | head -n 1))"
