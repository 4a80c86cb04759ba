#!/usr/bin/env bash
# Usage: scripts/run-tests.sh  (make test runs it inside with-test-postgres.sh and
# with-llama-server.sh)
#
# Builds the tests once, then runs them in two processes: the runtime's suites, which run the
# model on the test's own thread for long stretches, apart from the suites that wait on sockets,
# PostgreSQL and timers. In one process on 2 cores the first would hold every task thread while
# the second's deadlines ran out. Both halves always run; the exit status is non-zero if either
# failed.
set -uo pipefail
swift=${SWIFT:-swift}
runtime=InferenceRuntimeTests

"$swift" build --build-tests || exit 1
status=0
echo "== tests: every target but $runtime"
"$swift" test --skip-build --skip "$runtime" || status=1
echo "== tests: $runtime"
"$swift" test --skip-build --filter "$runtime" || status=1
exit $status
