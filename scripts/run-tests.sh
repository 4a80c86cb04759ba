#!/usr/bin/env bash
# Usage: scripts/run-tests.sh  (make test runs it inside with-test-postgres.sh and
# with-llama-server.sh)
#
# Builds the tests once, then runs them in two processes: the runtime's suites, which run the
# model on the test's own thread for long stretches, apart from the suites that wait on sockets,
# PostgreSQL and timers. In one process on 2 cores the first would hold every task thread while
# the second's deadlines ran out. Then the fault campaign's short subset (scripts/chaos.sh
# --quick: two replicas behind nginx, one kill -9, one PostgreSQL restart) on the release build.
# Every part always runs; the exit status is non-zero if any failed.
set -uo pipefail
swift=${SWIFT:-swift}
runtime=InferenceRuntimeTests

"$swift" build --build-tests || exit 1
status=0
echo "== tests: every target but $runtime"
"$swift" test --skip-build --skip "$runtime" || status=1
echo "== tests: $runtime"
"$swift" test --skip-build --filter "$runtime" || status=1
echo "== cluster: scripts/chaos.sh --quick"
if "$swift" build -c release --product popi; then
  POPI_BIN=.build/release/popi scripts/chaos.sh --quick || status=1
else
  status=1
fi
exit $status
