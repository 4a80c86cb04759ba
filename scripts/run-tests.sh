#!/usr/bin/env bash
# Usage: scripts/run-tests.sh  (make test runs it inside with-test-postgres.sh and
# with-llama-server.sh)
#
# Builds the tests once, then runs them in two processes: the runtime's suites, which run the
# model on the test's own thread for long stretches, apart from the suites that wait on sockets,
# PostgreSQL and timers. In one process on 2 cores the first would hold every task thread while
# the second's deadlines ran out. Then the fault campaign's short subset (scripts/chaos.sh
# --quick: two replicas behind nginx, one kill -9, one PostgreSQL restart) on the release build.
# Before them, the persona splits' own check (bench/personas/make-splits.py --check).
# Every part always runs; the exit status is non-zero if any failed.
set -uo pipefail
swift=${SWIFT:-swift}
runtime=InferenceRuntimeTests

"$swift" build --build-tests || exit 1
status=0
# The persona splits the training recipes and evaluations read: committed bytes still what the
# script makes, and its uncommitted builders valid (Python standard library, a few seconds).
echo "== bench: make-splits.py --check"
if ! splits=$(python3 bench/personas/make-splits.py --check 2>&1); then
  echo "$splits"
  status=1
fi
echo "== tests: every target but $runtime"
"$swift" test --skip-build --skip "$runtime" || status=1
echo "== tests: $runtime"
"$swift" test --skip-build --filter "$runtime" || status=1
echo "== cluster: scripts/chaos.sh --quick"
if "$swift" build -c release --product popi; then
  # As root, PostgreSQL runs as the postgres user, which must reach the cluster's folder; a clone
  # inside a private folder (mktemp -d makes them 0700) is out of its reach, so the state goes
  # to a folder of its own under /tmp, kept only if the campaign fails.
  chaos_dir=${POPI_CLUSTER_DIR:-}
  if [ -z "$chaos_dir" ] && [ "$(id -u)" = 0 ]; then
    chaos_dir=$(mktemp -d /tmp/popi-chaos.XXXXXX) && chmod 755 "$chaos_dir"
  fi
  if POPI_BIN=.build/release/popi POPI_CLUSTER_DIR=${chaos_dir:-.cluster-chaos} scripts/chaos.sh --quick; then
    [ -z "${POPI_CLUSTER_DIR:-}" ] && [ -n "$chaos_dir" ] && rm -rf "$chaos_dir"
  else
    status=1
    echo "chaos: state and logs kept in ${chaos_dir:-.cluster-chaos}"
  fi
else
  status=1
fi
exit $status
