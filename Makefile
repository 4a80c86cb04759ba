# The two commands a new user needs: `make run` and `make test`. Every target runs setup first.
SWIFT ?= swift
MODEL ?= models/SmolLM2-135M-Instruct.Q4_1.gguf
ARGS ?=
# make run prints a development key (loopback only); `make run DEV=` turns that off.
DEV ?= --dev

.PHONY: setup build release run test conformance lint clean

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

run: release
	.build/release/popi serve $(DEV) --model $(MODEL) $(ARGS)

test: setup
	scripts/with-test-postgres.sh scripts/with-llama-server.sh $(SWIFT) test

# The API against its contract: openapi.yaml validated, schemathesis (all checks), the official
# openai SDK, promtool on /metrics; one release server on a throwaway PostgreSQL.
conformance: setup
	scripts/api-conformance.sh

lint: setup
	scripts/lint.sh

clean:
	rm -rf .build .build-*
