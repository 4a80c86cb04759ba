#!/usr/bin/env bash
# Serving many users at once (issue 18): a release `popi serve` against llama.cpp's `llama-server`
# (bench/llama-server.sh) on the same GGUF, under C concurrent clients (bench/serving.py), each
# sending streamed chat completions one after another through the OpenAI-compatible route:
# prompts of 50-500 tokens of English prose, max_tokens 64-128, temperature 0, the same requests
# for both servers. Per server and C: aggregate output tokens/s, TTFT and inter-token latency
# p50/p99, requests done and failed; then the popi / llama-server ratios and popi's C = 8 over its
# own C = 1; then each server's peak RSS over the run. For each C popi runs first, then
# llama-server; only one is under load at a time.
#
# popi runs with its defaults (model `popi-local`, no summary: each client is a user of its own
# tenant, so popi's per-tenant share of the generation slots does not bind). llama-server gets
# 8 slots (-np 8, continuous batching is its default), 1024 tokens of context each (the longest
# prompt plus 128 fits), and flash attention on (20.0 against 15.6 output
# tokens/s off, at C = 8 on this VM). Both see the same prompt tokens (an explicit system message
# keeps llama-server's template from adding its default one).
#
# Threads: both get THREADS (default: the cores). On a 2-core machine that other jobs keep busy,
# llama-server's threads, which meet at every operation, stall whenever one loses its core (0.2
# output tokens/s at C = 1 with -t 2 and two niced jobs running, 30-80 with -t 1): give it
# PEER_THREADS=1 there. PEER_FLAGS adds llama-server flags: on the Intel VMs with AMX, llama.cpp's
# weight repacking died with SIGILL (in the Python binding); `--no-repack` turns it off there. This
# AMD EPYC has no AMX and runs with repacking.
#
# Then a user's second request (serving.py conversation, CONVERSATIONS users one after another, 0
# to skip): a new question and turn 2 of a chat, TTFT when the server may reuse the first
# request's KV (popi's per-user prefix cache, llama-server's slot prompt cache) against the same
# request when it may not.
#
# Usage: bench/serving.sh   (env: CLIENTS="1 4 8 16" DURATION=30 (seconds per C per server)
#                            CONVERSATIONS=8
#                            MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf THREADS=<cores>
#                            PEER_THREADS=$THREADS PEER_FLAGS= FLASH_ATTN=on SEED=1
#                            POPI_BIN=<popi to measure>)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  exec scripts/with-test-postgres.sh "$0" "$@"
fi
CLIENTS=${CLIENTS:-1 4 8 16}
DURATION=${DURATION:-30}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
THREADS=${THREADS:-$(nproc)}
PEER_THREADS=${PEER_THREADS:-$THREADS}
FLASH_ATTN=${FLASH_ATTN:-on}
read -ra peer_flags <<<"${PEER_FLAGS:-}"
SEED=${SEED:-1}
CONVERSATIONS=${CONVERSATIONS:-8}

llama_server=$(bench/llama-server.sh)
text=$(bench/english-text.sh)
# shellcheck source=../scripts/lib/popi-server.sh
source scripts/lib/popi-server.sh
work=$(mktemp -d /tmp/popi-bench-serving.XXXXXX)
peer_pid=""
cleanup() {
  popi_server_stop
  if [ -n "$peer_pid" ]; then
    kill -TERM "$peer_pid" 2>/dev/null || true
    wait "$peer_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

popi_server_start --model "$MODEL" --threads "$THREADS"
most=0
for c in $CLIENTS; do [ "$c" -gt "$most" ] && most=$c; done
keys=()
for _ in $(seq "$most"); do keys+=(--key "$(popi_key generate)"); done
chat_key=$(popi_key generate,write)

peer_port=$(popi_free_port)
peer_url="http://127.0.0.1:$peer_port"
"$llama_server" -m "$MODEL" --host 127.0.0.1 --port "$peer_port" -np 8 -c 8192 -t "$PEER_THREADS" -fa "$FLASH_ATTN" \
  --no-webui ${peer_flags[@]+"${peer_flags[@]}"} >"$work/llama-server.log" 2>&1 &
peer_pid=$!
until curl -sf "$peer_url/health" >/dev/null; do
  kill -0 "$peer_pid" 2>/dev/null || { echo "llama-server exited; its log:" >&2; tail -n 40 "$work/llama-server.log" >&2; exit 1; }
  sleep 0.2
done

# One short request each, so neither pays for first-touch page faults in the measurement.
for url in "$POPI_URL" "$peer_url"; do
  curl -sf "$url/v1/chat/completions" -H "Authorization: Bearer ${keys[1]}" -H 'Content-Type: application/json' \
    -d '{"model":"popi-local","messages":[{"role":"user","content":"Hello"}],"max_tokens":8,"temperature":0}' >/dev/null \
    || { echo "warm-up request to $url failed" >&2; exit 1; }
done

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%MZ)
for c in $CLIENTS; do
  for server in popi llama-server; do
    if [ "$server" = popi ]; then
      args=("$POPI_URL" "${keys[@]}" --user-prefix bench-user-); pid=$POPI_SERVER_PID
    else
      args=("$peer_url"); pid=$peer_pid
    fi
    echo "$server, C = $c, ${DURATION} s" >&2
    python3 bench/serving.py load "${args[@]}" --clients "$c" --duration "$DURATION" --text "$text" \
      --label "$server" --seed "$SEED" | tee -a "$work/results.jsonl" >&2
    kill -0 "$pid" 2>/dev/null || { echo "$server exited during the run" >&2; exit 1; }
  done
done

if [ "$CONVERSATIONS" -gt 0 ]; then
  echo "conversations: $CONVERSATIONS users, popi then llama-server" >&2
  python3 bench/serving.py conversation "$POPI_URL" --key "$chat_key" --user-prefix chat-user- --users "$CONVERSATIONS" \
    --text "$text" --label popi --seed "$SEED" | tee -a "$work/conversation.jsonl" >&2
  python3 bench/serving.py conversation "$peer_url" --users "$CONVERSATIONS" --text "$text" --label llama-server \
    --seed "$SEED" | tee -a "$work/conversation.jsonl" >&2
fi

# Peak resident memory of each server over the whole run (the kernel's high-water mark), which
# includes C = 8 and 16 with every generation slot busy.
peak_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
popi_peak=$(peak_mib "$POPI_SERVER_PID")
peer_peak=$(peak_mib "$peer_pid")
machine="$started, $cpu, load $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after"
echo
echo "model: $MODEL  ${DURATION} s per C per server  seed: $SEED"
echo "popi: $POPI_BIN ($("$POPI_BIN" --version 2>/dev/null || echo unknown version)), defaults, --threads $THREADS"
echo "llama-server: $("$llama_server" --version 2>&1 | head -1), -np 8 -c 8192 -t $PEER_THREADS -fa $FLASH_ATTN ${PEER_FLAGS:-}"
echo
python3 bench/serving.py report "$work/results.jsonl" --machine "$machine"
echo
echo "peak RSS over the run: popi $popi_peak MiB, llama-server $peer_peak MiB ($(python3 -c "print(f'{$popi_peak / $peer_peak:.2f}x')"))"
if [ "$CONVERSATIONS" -gt 0 ]; then
  echo
  echo "A user's second request: TTFT with the server's prompt reuse (warm) and without (cold)"
  python3 bench/serving.py conversation-report "$work/conversation.jsonl" --machine "$machine"
fi
