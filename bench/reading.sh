#!/usr/bin/env bash
# Measures whether the base model recognises the preferred response of labelled pairs
# (bench/reading.py says how). Usage: bench/reading.sh [DATASET] [PAIRS]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(bench/llamacpp-venv.sh)
grep -m1 "model name" /proc/cpuinfo || true
exec "$venv/bin/python" bench/reading.py "${1:-bench/personas/personas-train-wide.jsonl}" "${2:-200}"
