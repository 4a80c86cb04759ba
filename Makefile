# The two commands a new user needs: `make run` and `make test`. Every target runs setup first.
SWIFT ?= swift
MODEL ?= models/SmolLM2-135M-Instruct.Q4_1.gguf
ARGS ?=
# make run prints a development key (loopback only); `make run DEV=` turns that off.
DEV ?= --dev
# The embedded PostgreSQL runs as the postgres user when popi runs as root, and root's home is
# private (0700): as root, its data lives where that user can reach it.
DATA_DIR ?= $(if $(filter 0,$(shell id -u)),/var/lib/popi,data)

.PHONY: setup build release run test conformance readme-samples lint clean cluster-up cluster-status cluster-down chaos

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

run: release
	.build/release/popi serve $(DEV) --model $(MODEL) --data-dir $(DATA_DIR) $(ARGS)

test: setup
	SWIFT=$(SWIFT) scripts/with-test-postgres.sh scripts/with-llama-server.sh scripts/run-tests.sh

# The API against its contract: openapi.yaml validated, schemathesis (all checks), the official
# openai SDK, promtool on /metrics; one release server on a throwaway PostgreSQL.
conformance: setup
	scripts/api-conformance.sh

# Every code sample of the README run as written, against `make run` (scripts/readme-samples.sh).
readme-samples: setup
	scripts/readme-samples.sh

lint: setup
	scripts/lint.sh

# A local cluster (scripts/cluster.sh): PostgreSQL, 3 replicas and nginx on 127.0.0.1:8080;
# `make cluster-up ARGS="--replicas 2 --port 9080"`. It runs the release build, made first, unless
# POPI_BIN names a binary.
cluster-up: $(if $(POPI_BIN),setup,release)
	POPI_MODEL=$(MODEL) scripts/cluster.sh up $(ARGS)

cluster-status: setup
	scripts/cluster.sh status

cluster-down: setup
	scripts/cluster.sh down

# The fault campaign (scripts/chaos.sh) on a cluster of its own (.cluster-chaos, port 9180): kill -9,
# PostgreSQL restarts, SIGTERM, upstream and disk failures, each checked by counting; exits 1 if a
# check fails. `make chaos ARGS=--quick` is the subset `make test` ends with. Release build unless POPI_BIN is set.
chaos: $(if $(POPI_BIN),setup,release)
	POPI_MODEL=$(MODEL) scripts/chaos.sh $(ARGS)

.PHONY: workload soak capacity

# The workload generator (bench/workload/run.sh, wrk) against the running cluster (make
# cluster-up): 3 tenants' feedback, summary reads with ETags, refreshes, short generations and chat
# completions through nginx; per-route requests/s, latency p50/p95/p99 and errors by status.
# `make workload ARGS="--rate 20 --duration 120"`. bench/workload/README.md.
workload: setup
	bench/workload/run.sh $(ARGS)

# The workload for an hour (bench/workload/soak.sh) while each replica is sampled every 10 s;
# exits 1 if a series grows beyond its noise or errors reach 0.1%. `make soak ARGS="--rate 5"`.
soak: setup
	bench/workload/soak.sh $(ARGS)

# Closed-loop capacity of the same mix on 1 replica, then 3 (bench/workload/capacity.sh), each on
# a cluster of its own (.cluster-capacity, port 9380). Release build unless POPI_BIN is set.
capacity: $(if $(POPI_BIN),setup,release)
	POPI_MODEL=$(MODEL) bench/workload/capacity.sh $(ARGS)

clean:
	rm -rf .build .build-*
