#!/usr/bin/env bash
# Builds the parser fuzzer with libFuzzer + AddressSanitizer and runs it.
# Usage: fuzz/run.sh [RUNS]   (default 10000000 executions; extra libFuzzer flags via FUZZ_FLAGS)
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${1:-10000000}
swift build -c release --sanitize fuzzer --sanitize address --scratch-path .build-fuzz
binary=$(swift build -c release --sanitize fuzzer --sanitize address --scratch-path .build-fuzz --show-bin-path)/HTTPParserFuzzer
work=$(mktemp -d /tmp/popi-fuzz.XXXXXX)
cp corpus/* "$work/"
# Inputs that once crashed must pass before the run starts.
SWIFT_BACKTRACE=enable=no "$binary" regressions/*
# Fresh inputs go to a scratch corpus; the committed seeds stay as they are. A crash leaves its
# input as crash-* in fuzz/ (Swift's own backtracer is off so libFuzzer reports it).
read -r -a fuzz_flags <<<"${FUZZ_FLAGS:-}"   # space-separated
SWIFT_BACKTRACE=enable=no "$binary" -runs="$RUNS" -max_len=4096 -print_final_stats=1 "${fuzz_flags[@]}" "$work"
rm -rf "$work"
