# Quick start: `make run` and `make test`. Each installs what is missing first.
SWIFT ?= swift
CONFIG ?= release
BIN := .build/$(CONFIG)/workbench

.PHONY: run test build deps models bench clean

run: deps models build
	$(BIN)

build:
	$(SWIFT) build -c $(CONFIG) --product workbench

test: deps models
	$(SWIFT) build -c $(CONFIG) --build-tests
	$(SWIFT) test -c $(CONFIG) --skip-build --disable-swift-testing

deps:
	@bash scripts/install-deps.sh

models:
	@bash scripts/fetch-model.sh

# Side-by-side speed against llama.cpp (llama-cpp-python built in bench/.venv).
bench: deps models
	bash scripts/bench-vs-llamacpp.sh

clean:
	rm -rf .build
