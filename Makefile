# The two commands a new user needs: `make run` and `make test`. Every target runs setup first.
SWIFT ?= swift
MODEL ?= models/SmolLM2-135M-Instruct.Q4_1.gguf
ARGS ?=

.PHONY: setup build release run test lint clean

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

run: release
	.build/release/popi serve --model $(MODEL) $(ARGS)

test: setup
	scripts/with-test-postgres.sh scripts/with-llama-server.sh $(SWIFT) test

lint: setup
	scripts/lint.sh

clean:
	rm -rf .build .build-*
