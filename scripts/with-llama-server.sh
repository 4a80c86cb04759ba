#!/usr/bin/env bash
# Usage: scripts/with-llama-server.sh CMD [ARGS...]
#
# Runs CMD with a real OpenAI-compatible upstream that no one on the team wrote: llama-cpp-python's
# server (0.3.36, cached venv from bench/llamacpp-venv.sh) on the default model, on a free port of
# 127.0.0.1, requiring an API key. Exports for CMD:
#   POPI_TEST_LLAMA_URL      base URL, e.g. http://127.0.0.1:PORT/v1
#   POPI_TEST_LLAMA_KEY      the key the server accepts (random per run)
#   POPI_TEST_LLAMA_PYTHON   the venv's python, and
#   POPI_TEST_LLAMA_LAUNCHER scripts/llama-server.py: for tests that start a server of their own
#   POPI_TEST_LLAMA_MODEL    the model file
# The server is stopped when CMD ends, whatever its outcome; CMD's exit status is returned.
#
# If the server cannot be installed or started, CMD still runs, with POPI_TEST_LLAMA_SKIP set to
# the reason (the integration tests then report themselves skipped with it), after a loud notice.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
model=${POPI_TEST_LLAMA_MODEL:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}
launcher=$root/scripts/llama-server.py
workdir=$(mktemp -d "${TMPDIR:-/tmp}/popi-llama.XXXXXX")
log=$workdir/server.log
server_pid=

stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run_skipping() {
  local reason=$1
  shift
  {
    echo
    echo "################################################################################"
    echo "##  NO llama-cpp-python SERVER: the upstream integration tests will be SKIPPED"
    echo "##  reason: $reason"
    echo "################################################################################"
    echo
  } >&2
  export POPI_TEST_LLAMA_SKIP="$reason"
  set +e
  "$@"
  exit $?
}

[ -f "$model" ] || { echo "model file $model is missing: run scripts/setup.sh" >&2; exit 1; }

if ! venv=$("$root/bench/llamacpp-venv.sh"); then
  run_skipping "llama-cpp-python could not be installed (bench/llamacpp-venv.sh failed)" "$@"
fi
python=$venv/bin/python
if ! "$python" -c "import llama_cpp.server" 2>/dev/null; then
  run_skipping "the venv $venv cannot import llama_cpp.server" "$@"
fi

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key="popi-test-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
url="http://127.0.0.1:$port/v1"

started=$(date +%s%N)
"$python" "$launcher" --model "$model" --host 127.0.0.1 --port "$port" --n_ctx 2048 --api_key "$key" >"$log" 2>&1 &
server_pid=$!

# Ready once /v1/models answers 200 with the key (the model is loaded before uvicorn listens).
if ! "$python" - "$url/models" "$key" "$server_pid" <<'EOF'
import os, sys, time, urllib.request
url, key, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 180
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        request = urllib.request.Request(url, headers={"Authorization": "Bearer " + key})
        with urllib.request.urlopen(request, timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
then
  echo "llama-cpp-python server did not become ready; its log ends with:" >&2
  tail -n 20 "$log" >&2 || true
  stop_server
  server_pid=
  run_skipping "llama-cpp-python server did not start (see the log above)" "$@"
fi
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
printf 'llama-cpp-python server ready at %s after %d.%03d s (pid %s)\n' \
  "$url" $((elapsed_ms / 1000)) $((elapsed_ms % 1000)) "$server_pid" >&2

export POPI_TEST_LLAMA_URL=$url
export POPI_TEST_LLAMA_KEY=$key
export POPI_TEST_LLAMA_PYTHON=$python
export POPI_TEST_LLAMA_LAUNCHER=$launcher
export POPI_TEST_LLAMA_MODEL=$model
unset POPI_TEST_LLAMA_SKIP

set +e
"$@"
status=$?
set -e
exit $status
