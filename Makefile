# Two commands do all the set-up: `make demo` and `make test`. Each builds .venv from this repo's files.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 matches the Lambda runtime: pyenv's 3.13 when there is one, else python3.13, else python3.
PYTHON ?= $(shell p=$$(pyenv prefix 3.13 2>/dev/null) && echo $$p/bin/python3 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := function:.

SAM_VENV := $(VENV)/sam
SAM := $(SAM_VENV)/bin/sam
# sam build without a container needs python3.13 on PATH; SAM's telemetry needs a network.
SAM_ENV := PATH="$(dir $(PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0
EVENT ?= events/create.json

.PHONY: help test lint typecheck cfn-lint pytest model demo invoke emulator package bench clean

help:
	@echo "make demo      play a stack's lifecycle through the handler, against a local Cognito emulator"
	@echo "make test      lint, type-check, cfn-lint and the whole test suite"
	@echo "make invoke EVENT=events/update.json   one request through the handler; prints its answer"
	@echo "make emulator  the Cognito emulator on port 5000, for sam local invoke or AWS_ENDPOINT_URL"
	@echo "make package   sam validate --lint and sam build, offline; prints the artifact's size"
	@echo "make bench     the provider against its floor: cold start, memory, warm cost, makespan, size"
	@echo "make model     many more random stack lives than make test plays (EXAMPLES=300 STEPS=10 by default)"

$(STAMP): tests/requirements.txt function/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	touch $@

test: lint typecheck cfn-lint pytest

lint: $(STAMP)
	$(BIN)/ruff check function tests
	$(BIN)/ruff format --check function tests

typecheck: $(STAMP)
	$(BIN)/mypy function

cfn-lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml examples/*.yaml

pytest: $(STAMP)
	$(BIN)/python -m pytest

# The stateful model of stack operations, run long: make test plays 12 lives of 6 steps.
model: $(STAMP)
	STACK_MODEL_EXAMPLES=$(or $(EXAMPLES),300) STACK_MODEL_STEPS=$(or $(STEPS),10) \
		$(BIN)/python -m pytest tests/operations/test_stack_model.py -q

demo: $(STAMP)
	@$(BIN)/python -m tests.support.demo

invoke: $(STAMP)
	@$(BIN)/python -m tests.support.invoke $(EVENT) $(if $(LOGS),--logs)

emulator: $(STAMP)
	@$(BIN)/python -m tests.support.emulator --host $(or $(HOST),0.0.0.0) --port $(or $(PORT),5000)

# aws-sam-cli pins its own boto3 and pydantic, so it lives in a venv of its own inside .venv.
$(SAM): $(STAMP)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==1.170.0

package: $(SAM)
	$(SAM_ENV) $(SAM) validate --lint
	$(SAM_ENV) $(SAM) build
	@$(BIN)/python -m tests.support.artifact .aws-sam/build/Function

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis

# About two minutes; prints the table the README's Performance section shows.
bench: package
	@$(BIN)/python -m tests.support.bench
