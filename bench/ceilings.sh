#!/usr/bin/env bash
# What this machine allows the runtime (issue 18), printed with the CPU model:
# - streaming read bandwidth at 1 and 2 threads (bench/ceilings/memory-bandwidth.c), and the
#   single-stream decode ceiling it sets for MODEL: decode reads every weight once per token, and
#   for a model whose output head is its token embedding (SmolLM2) that is the whole file;
# - core cycles per output of popi's AVX-512 matrix products for 1 and 8 activation rows, weights
#   in cache (bench/ceilings/q4-cycles.c, built with CKernels' own flags): what batched decode
#   costs when it is not waiting on memory.
#
#   bench/ceilings.sh [MODEL]
#   bench/ceilings.sh --build DIR     (only build both programs into DIR)
#
# Built with the Swift toolchain's clang (the only compiler `make` assumes), into a temporary
# folder. Bandwidth on these VMs moves between runs (33-53 GB/s at 2 threads seen on one day), so
# compare a ceiling with figures measured in the same run (bench/runtime-vs-llamacpp.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."

build() {
  local clang
  clang=$(dirname "$(readlink -f "$(command -v swift)")")/clang
  "$clang" -O3 -march=native -pthread bench/ceilings/memory-bandwidth.c -o "$1/memory-bandwidth"
  "$clang" -O3 -ffp-contract=off -ISources/CKernels/include bench/ceilings/q4-cycles.c Sources/CKernels/matmul.c \
      Sources/CKernels/quantize.c Sources/CKernels/cpu.c -o "$1/q4-cycles"
}

if [ "${1:-}" = --build ]; then
  build "$2"
  exit 0
fi
model=${1:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -f "$model" ] || { echo "ceilings: no model file $model (run make setup)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build "$work"

echo "$(date -u +%Y-%m-%d), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
bytes=$(stat -c %s "$model")
for threads in 1 2; do
  gbs=$("$work/memory-bandwidth" "$threads")
  echo "$threads thread(s): streaming read $gbs GB/s; decode ceiling for $(basename "$model") ($bytes bytes a token): $(python3 -c "print(f'{$gbs * 1e9 / $bytes:.0f}')") tok/s"
done
"$work/q4-cycles"
