#!/usr/bin/env bash
# Tokenizer throughput, popi vs llama.cpp (llama-cpp-python 0.3.36), on the same ~1 MB English
# text in plain mode (special=False), interleaved round by round in one run, and a check that
# both produce identical token ids on the whole text.
#
#   bench/tokenizer-vs-llamacpp.sh [MODEL] [ROUNDS]
#
# Each round runs popi's in-process benchmark (best of 3 timed encodes after a warm-up) and
# then llama.cpp's (same protocol); the reported figure per side is the median of the rounds.
# llama.cpp is timed through one llama_tokenize call (its tokenizer alone); the figure through
# Llama.tokenize (which calls it twice on long texts, plus list conversion) is printed too.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
rounds=${2:-5}
venv=$(bench/llamacpp-venv.sh)
text=$(bench/english-text.sh)
swift build -c release --product popi >&2
popi=.build/release/popi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/peer.py" <<'PY'
import sys, time
from llama_cpp import Llama, llama_cpp
model, path, runs, ids_out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
llm = Llama(model_path=model, vocab_only=True, verbose=False)
data = open(path, "rb").read()
# Llama.tokenize calls llama_tokenize twice on long texts (the first, with a buffer of the
# training context, only learns the size), so the tokenizer itself is also timed with one
# direct llama_tokenize call into a buffer large enough.
vocab = llm._model.vocab
buffer = (llama_cpp.llama_token * (len(data) + 16))()
def direct():
    n = llama_cpp.llama_tokenize(vocab, data, len(data), buffer, len(buffer), False, False)
    return list(buffer[:n])
def api():
    return llm.tokenize(data, add_bos=False, special=False)
def best(f):
    f()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)
ids = direct()
assert ids == api(), "Llama.tokenize and llama_tokenize disagree"
direct_s, api_s = best(direct), best(api)
if ids_out != "-":
    open(ids_out, "w").write("".join(f"{i}\n" for i in ids))
print(f"{len(data) / direct_s / 1e6:.3f} {len(data) / api_s / 1e6:.3f} {len(ids)}")
PY

popi_mbs=()
peer_mbs=()
api_mbs=()
for round in $(seq 1 "$rounds"); do
  line=$("$popi" bench tokenizer --model "$model" --file "$text" --runs 3 --ids-out "$work/popi.ids")
  mbs=$(echo "$line" | sed -E 's/.*best [0-9.]+ ms \(([0-9.]+) MB\/s\).*/\1/')
  popi_mbs+=("$mbs")
  if ! "$venv/bin/python" "$work/peer.py" "$model" "$text" 3 "$work/peer.ids" > "$work/peer.out" 2> "$work/peer.err"; then
    cat "$work/peer.err" >&2
    exit 1
  fi
  read -r peer_rate api_rate peer_tokens < "$work/peer.out"
  peer_mbs+=("$peer_rate")
  api_mbs+=("$api_rate")
  echo "round $round: popi $mbs MB/s, llama.cpp $peer_rate MB/s (llama_tokenize), $api_rate MB/s (Llama.tokenize)"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p=$(median "${popi_mbs[@]}")
l=$(median "${peer_mbs[@]}")
a=$(median "${api_mbs[@]}")
bytes=$(wc -c < "$text")
tokens=$(wc -l < "$work/popi.ids")
echo "text: $text ($bytes bytes, $tokens tokens with popi, $peer_tokens with llama.cpp)"
if cmp -s "$work/popi.ids" "$work/peer.ids"; then
  echo "ids: identical on the whole text"
else
  echo "ids: DIFFERENT; first differing line:"
  diff "$work/popi.ids" "$work/peer.ids" | head -5
  exit 1
fi
echo "popi      $p MB/s (median of $rounds rounds, best of 3 each)"
echo "llama.cpp $l MB/s (one llama_tokenize call; through Llama.tokenize, which tokenizes twice: $a MB/s)"
awk -v p="$p" -v l="$l" 'BEGIN { printf "ratio     popi / llama.cpp = %.2f\n", p / l }'
