#!/usr/bin/env bash
# Inference runtime, popi vs llama.cpp (llama-cpp-python 0.3.36) on the same GGUF file:
# prefill tok/s (64 / 256 / 1024 prompt tokens), greedy decode tok/s (128 tokens after 16 and
# after 1024 prompt tokens), time to first token for 256 prompt tokens, and peak RSS, at 1 and
# 2 threads. llama.cpp runs with flash attention off and on; its better figure counts. Rounds
# interleave popi and llama.cpp so both see the same machine; each side keeps its best figure per
# measurement over the rounds. popi's aggregate decode of 8 sequences in one batch is compared
# with its own single-sequence decode.
#
#   bench/runtime-vs-llamacpp.sh [MODEL] [ROUNDS]
#
# Prompts are synthetic token ids, token i = ((i * 7919 + 13) % 40000 + 500) % vocabulary size on
# both sides (the same ids as without the wrap for vocabularies of 40500 tokens or more).
# Each configuration runs in a fresh process, so peak RSS is per configuration. llama.cpp gets
# n_ctx 2048 (enough for every measurement; a smaller KV cache than popi's 8192-token context)
# and runs with use_extra_bufts=False: its AMX repacking path dies with SIGILL (tileloadd) in this
# VM, and the reference vectors in ../shared/reference/ were made with the same standard kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
rounds=${2:-3}
venv=$(bench/llamacpp-venv.sh)
swift build -c release --product popi >&2
popi=.build/release/popi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/peer.py" <<'PY'
import json, resource, sys, time
import numpy as np
import llama_cpp
from llama_cpp import llama_cpp as C

model, threads, flash = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
default_params = C.llama_model_default_params
def params():
    p = default_params()
    p.use_extra_bufts = False
    return p
C.llama_model_default_params = params
llama_cpp.llama.llama_cpp.llama_model_default_params = params
llm = llama_cpp.Llama(model_path=model, n_ctx=2048, n_batch=512, n_ubatch=512, n_threads=threads,
                      n_threads_batch=threads, flash_attn=flash, verbose=False)
ctx, vocab = llm.ctx, llm.n_vocab()
memory = C.llama_get_memory(ctx)
batch = C.llama_batch_init(512, 0, 1)

def token(i):
    return ((i * 7919 + 13) % 40000 + 500) % vocab

def decode(ids, start, logits_last=True):
    for offset in range(0, len(ids), 512):
        chunk = ids[offset:offset + 512]
        batch.n_tokens = len(chunk)
        for j, t in enumerate(chunk):
            batch.token[j] = t
            batch.pos[j] = start + offset + j
            batch.n_seq_id[j] = 1
            batch.seq_id[j][0] = 0
            batch.logits[j] = logits_last and offset + j == len(ids) - 1
        if C.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")

def argmax():
    return int(np.argmax(np.ctypeslib.as_array(C.llama_get_logits_ith(ctx, -1), shape=(vocab,))))

def clear():
    C.llama_memory_clear(memory, True)

result = {"threads": threads, "flash_attn": flash, "prefill": {}, "decode": {}}
decode([token(i) for i in range(64)], 0)  # warm-up
for n in (64, 256, 1024):
    clear()
    start = time.perf_counter()
    decode([token(i) for i in range(n)], 0)
    result["prefill"][str(n)] = n / (time.perf_counter() - start)
for n in (16, 1024):
    clear()
    decode([token(i) for i in range(n)], 0)
    next_token = token(n)
    start = time.perf_counter()
    for step in range(128):
        decode([next_token], n + step)
        next_token = argmax()
    result["decode"][str(n)] = 128 / (time.perf_counter() - start)
clear()
start = time.perf_counter()
decode([token(i) for i in range(256)], 0)
argmax()
result["timeToFirstTokenMs"] = (time.perf_counter() - start) * 1000
result["peakRSSMiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
PY

for round in $(seq 1 "$rounds"); do
  for threads in 1 2; do
    echo "round $round, $threads thread(s)" >&2
    "$popi" bench runtime --model "$model" --threads "$threads" --repeats 1 --json >> "$work/popi.jsonl"
    for flash in 0 1; do
      "$venv/bin/python" "$work/peer.py" "$model" "$threads" "$flash" >> "$work/peer.jsonl"
    done
  done
done

python3 - "$work/popi.jsonl" "$work/peer.jsonl" "$(date -u +%Y-%m-%d)" "$(lscpu | sed -n 's/^Model name: *//p')" <<'PY'
import json, sys
popi_rows = [r for line in open(sys.argv[1]) for r in json.loads(line)]
peer_rows = [json.loads(line) for line in open(sys.argv[2])]
date, cpu = sys.argv[3], sys.argv[4]

def best(rows, threads, key, sub=None, lower=False):
    values = [(r[key][sub] if sub else r[key]) for r in rows if r["threads"] == threads]
    return min(values) if lower else max(values)

lines = [f"Runtime benchmark, {date}, {cpu}, 2 cores; best of the rounds on each side; llama.cpp = better of flash attention off/on.", "",
         "| threads | measurement | popi | llama.cpp | ratio | goal |", "|---|---|---|---|---|---|"]
for t in (1, 2):
    # Goals: issue 18 (prefill, single-stream decode, 8 sequences), the runtime's first issue (the rest).
    rows = [("prefill 64 tok/s", "prefill", "64", False, ">= 3x"),
            ("prefill 256 tok/s", "prefill", "256", False, ">= 3x"),
            ("prefill 1024 tok/s", "prefill", "1024", False, ">= 3x"),
            ("decode after 16 tok/s", "decode", "16", False, ">= 2.5x"),
            ("decode after 1024 tok/s", "decode", "1024", False, ">= 1.5x" if t == 2 else ""),
            ("TTFT 256 ms", "timeToFirstTokenMs", None, True, "<= 0.5x" if t == 2 else ""),
            ("peak RSS MiB", "peakRSSMiB", None, True, "<= 1x" if t == 2 else "")]
    for name, key, sub, lower, goal in rows:
        p, q = best(popi_rows, t, key, sub, lower), best(peer_rows, t, key, sub, lower)
        lines.append(f"| {t} | {name} | {p:.1f} | {q:.1f} | {p / q:.2f}x | {goal or ''} |")
    single = best(popi_rows, t, "decode", "16")
    batched = best(popi_rows, t, "batchedDecode8")
    lines.append(f"| {t} | popi: 8 sequences in one batch, aggregate tok/s | {batched:.1f} | (popi single: {single:.1f}) | {batched / single:.2f}x | >= 4x |")
popi_best = max(best(popi_rows, t, "decode", "16") for t in (1, 2))
peer_best = max(best(peer_rows, t, "decode", "16") for t in (1, 2))
lines += ["", f"Single-stream decode after 16 tokens, each side's best configuration: popi {popi_best:.1f}, "
          f"llama.cpp {peer_best:.1f} tok/s, {popi_best / peer_best:.2f}x (issue 18 goal: >= 2.5x)."]
print("\n".join(lines))
PY
