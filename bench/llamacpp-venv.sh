#!/usr/bin/env bash
# Prints the path of a Python venv holding llama-cpp-python (the peer for runtime benchmarks and
# the real OpenAI-compatible upstream in integration tests), creating it on first use.
# Building llama.cpp takes minutes on 2 cores, so the venv is cached outside the clone
# (POPI_LLAMACPP_VENV, default ~/.cache/popi/llamacpp-venv) and reused on this machine.
set -euo pipefail
VERSION=0.3.36
venv=${POPI_LLAMACPP_VENV:-$HOME/.cache/popi/llamacpp-venv-$VERSION}
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  echo "building llama-cpp-python $VERSION into $venv (several minutes, once per machine)" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  CMAKE_ARGS="-DGGML_NATIVE=ON" "$venv/bin/pip" install --quiet "llama-cpp-python[server]==$VERSION" >&2
  touch "$venv/.complete"
fi
echo "$venv"
