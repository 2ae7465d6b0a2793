# Two commands do all the set-up: `make demo` and `make test`. Each builds .venv from this repo's files.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 matches the Lambda runtime: pyenv's 3.13 when there is one, else python3.13, else python3.
PYTHON ?= $(shell p=$$(pyenv prefix 3.13 2>/dev/null) && echo $$p/bin/python3 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := function:.

.PHONY: help test lint typecheck cfn-lint pytest demo clean

help:
	@echo "make demo   play a stack's lifecycle through the handler, against a local Cognito emulator"
	@echo "make test   lint, type-check, cfn-lint and the whole test suite"

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
	$(BIN)/cfn-lint template.yaml

pytest: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
