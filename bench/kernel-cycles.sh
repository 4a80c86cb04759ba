#!/usr/bin/env bash
# Core cycles per output of popi's AVX-512 matrix products (Sources/CKernels) for one activation
# row (decode) and eight (batched decode), weights in cache (bench/kernel-cycles.c, built with the
# Swift toolchain's clang and the flags Package.swift gives CKernels), with the CPU model: what a
# product costs when it is not waiting on memory, which bounds batched decode.
#
#   bench/kernel-cycles.sh
set -euo pipefail
cd "$(dirname "$0")/.."
clang=$(dirname "$(readlink -f "$(command -v swift)")")/clang
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$clang" -O3 -ffp-contract=off -ISources/CKernels/include bench/kernel-cycles.c Sources/CKernels/matmul.c \
    Sources/CKernels/quantize.c Sources/CKernels/cpu.c -o "$work/kernel-cycles"
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
"$work/kernel-cycles"
