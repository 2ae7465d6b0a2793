# Two commands do all the set-up: `make demo` and `make test`. Each builds .venv from this repo's files.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 matches the Lambda runtime: pyenv's 3.13 when there is one, else python3.13 on PATH.
# Any other is refused (python-3.13, below): its bytecode would ship in the build, and be ignored.
PYTHON ?= $(shell p=$$(pyenv prefix 3.13 2>/dev/null) && echo $$p/bin/python3 || command -v python3.13)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := function:.

SAM_VENV := $(VENV)/sam
SAM := $(SAM_VENV)/bin/sam
# The function's wheels, downloaded once, so that `make package` builds it offline.
WHEELS := $(VENV)/wheels
# The SDKs the built function is tested on, each as the Lambda runtime holds it in /var/runtime.
SDKS := $(VENV)/sdk/oldest/.installed $(VENV)/sdk/newest/.installed
BUILD := .aws-sam/build/Function
# Every install is hash-checked against a lock file that `make lock` writes.
PIP_INSTALL := python -m pip install --quiet --require-hashes --no-deps
# sam build without a container needs python3.13 on PATH; SAM's telemetry needs a network.
# function/Makefile builds with this PYTHON, from the wheels in FUNCTION_WHEELS, never from PyPI.
SAM_ENV := PATH="$(dir $(PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0 PYTHON="$(PYTHON)" FUNCTION_WHEELS="$(abspath $(WHEELS))"
EVENT ?= events/create.json

.PHONY: help test lint typecheck cfn-lint pytest model explore demo drift invoke emulator package release bench lock clean \
	local-invoke python-3.13

help:
	@echo "make demo      play a stack's lifecycle through the handler, against a local Cognito emulator"
	@echo "make drift     the drift check: servers made, two changed by hand, the schedule's event, its report"
	@echo "make test      lint, type-check, cfn-lint, sam validate and build, and the whole test suite"
	@echo "make invoke EVENT=events/update.json   one request through the handler; prints its answer"
	@echo "make emulator  the Cognito emulator on 127.0.0.1:5000 (HOST=172.17.0.1 PORT=5001 to change), for AWS_ENDPOINT_URL"
	@echo "make local-invoke  the events through a real sam local invoke, in a container (needs Docker)"
	@echo "make package   sam validate --lint and sam build, offline; prints the artifact's size"
	@echo "make bench     the provider against its floor: cold start, memory, warm cost, makespan, size"
	@echo "make model     many more random stack lives than make test plays (EXAMPLES=100 STEPS=10 by default)"
	@echo "make explore   the handler under every schedule of each scenario up to 2 preemptions, and random ones with faults"
	@echo "make lock      pin every dependency, with hashes, from the *.in files (needs PyPI)"
	@echo "make release   dist/: the zipped function and a template to deploy it, named with the version"

python-3.13:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || { \
		echo "make: Python 3.13 is needed, as the Lambda runtime runs it; $(if $(PYTHON),$(PYTHON) is not 3.13,none was found): install it (pyenv install 3.13, or your system's python3.13), or name it: make ... PYTHON=/path/to/python3.13" >&2; \
		exit 2; }

# The slow steps say what they do, and how long it took: pip --quiet is otherwise silent for a minute.
$(STAMP): tests/requirements.txt | python-3.13
	@echo "Building $(VENV) from tests/requirements.txt, hash-checked: about 30 s with pip's cache warm, a minute or more if pip must download; once"
	@SECONDS=0 && $(PYTHON) -m venv $(VENV) && $(BIN)/$(PIP_INSTALL) -r tests/requirements.txt && \
		touch $@ && echo "Built $(VENV) in $$SECONDS s"

# The runtime interface client and an SDK, as /var/runtime holds them: tests/artifact runs the build on each.
$(VENV)/sdk/%/.installed: tests/locks/sdk-%.txt $(STAMP)
	rm -rf $(dir $@) && mkdir -p $(dir $@)
	$(BIN)/$(PIP_INSTALL) --target $(dir $@) -r $<
	touch $@

test: lint typecheck cfn-lint package pytest

lint: $(STAMP)
	$(BIN)/ruff check function tests
	$(BIN)/ruff format --check function tests

typecheck: $(STAMP)
	$(BIN)/mypy function

cfn-lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml examples/*.yaml

# LAMBDA_PYTHON runs the built function, as the python3.13 runtime does: no site-packages of ours.
pytest: $(STAMP) $(SDKS)
	LAMBDA_PYTHON=$(PYTHON) $(BIN)/python -m pytest

# The stateful models of stack operations, run long: make test plays 12 lives of 6 steps of one
# stack, and 5 of 5 of two stacks sharing one provider. EXAMPLES and STEPS scale both.
model: $(STAMP)
	STACK_MODEL_EXAMPLES=$(or $(EXAMPLES),100) STACK_MODEL_STEPS=$(or $(STEPS),10) \
	PROVIDER_MODEL_EXAMPLES=$(or $(EXAMPLES),100) PROVIDER_MODEL_STEPS=$(or $(STEPS),10) \
		$(BIN)/python -m pytest tests/operations/test_stack_model.py tests/operations/test_provider_model.py \
		-q -p no:randomly --durations=0 -s

# The explorer run long (tests/support/explorer.py): make test explores every schedule with one
# preemption, 12 a scenario, and 6 random ones. BOUND, SCHEDULES and SEEDS scale it.
explore: $(STAMP)
	@$(BIN)/python -m tests.tools.explore --bound $(or $(BOUND),2) --schedules $(or $(SCHEDULES),400) \
		--seeds $(or $(SEEDS),100)

demo: $(STAMP)
	@$(BIN)/python -m tests.tools.demo

drift: $(STAMP)
	@$(BIN)/python -m tests.tools.drift

invoke: $(STAMP)
	@$(BIN)/python -m tests.tools.invoke "$(EVENT)" $(if $(LOGS),--logs)

emulator: $(STAMP)
	@$(BIN)/python -m tests.tools.emulator --host $(or $(HOST),127.0.0.1) --port $(or $(PORT),5000)

# aws-sam-cli pins its own boto3 and pydantic, so it lives in a venv of its own inside .venv.
$(SAM): tests/locks/sam.txt $(STAMP) | python-3.13
	@echo "Building the SAM CLI's venv, $(SAM_VENV), from tests/locks/sam.txt, hash-checked: about 30 s, once"
	@SECONDS=0 && $(PYTHON) -m venv $(SAM_VENV) && $(SAM_VENV)/bin/$(PIP_INSTALL) -r tests/locks/sam.txt && \
		touch $@ && echo "Built $(SAM_VENV) in $$SECONDS s"

# The function's locked wheels, for Lambda's platform (python3.13, arm64), so that `sam build`
# (function/Makefile, given FUNCTION_WHEELS) installs them with no network: PyPI is needed once.
$(WHEELS)/.downloaded: function/requirements.txt $(STAMP)
	@echo "Downloading the function's wheels into $(WHEELS), hash-checked: a few seconds, once (needs PyPI)"
	@rm -rf $(WHEELS) && SECONDS=0 && \
		$(BIN)/python -m pip download --quiet --require-hashes --no-deps --only-binary=:all: \
			--platform manylinux2014_aarch64 --implementation cp --python-version 3.13 \
			-d $(WHEELS) -r function/requirements.txt && \
		touch $@ && echo "Downloaded $$(ls $(WHEELS)/*.whl | wc -l) wheels in $$SECONDS s"

# The events through a real `sam local invoke`, in a container, against the emulator. Needs a Docker
# engine; builds a stand-in for the Lambda image when no registry is reachable (CONTRIBUTING.md).
# Docker is checked first, with any python3 (the tool is standard library only): without it,
# nothing is built.
local-invoke:
	@python3 -m tests.tools.local_invoke --check-docker
	@$(MAKE) --no-print-directory package
	@$(BIN)/python -m tests.tools.local_invoke .

# sam validate --lint, then sam build (function/Makefile), offline once .venv, its SAM CLI and the
# function's wheels are there.
package: $(SAM) $(WHEELS)/.downloaded | python-3.13
	$(SAM_ENV) $(SAM) validate --lint
	$(SAM_ENV) $(SAM) build
	@$(BIN)/python -m tests.tools.artifact $(BUILD)

# What a release attaches, in dist/; the same commit gives the same bytes.
release: package
	@$(BIN)/python -m tests.tools.release $(BUILD) dist $(if $(HOME_URL),--home-url $(HOME_URL))

# Pins every dependency, and all they need, with hashes. The function's set is resolved for
# Lambda's platform (python3.13, arm64); the others for any platform.
LOCKS := function/requirements tests/requirements tests/locks/sam tests/locks/sdk-oldest tests/locks/sdk-newest
# A lock is rewritten only when its content changes: a new date on it would rebuild .venv. uv
# reads the lock it writes to as the versions to keep, so it compiles a copy of it.
lock: $(STAMP)
	@for lock in $(LOCKS); do \
		platform=$$([ $$lock = function/requirements ] && echo "--python-platform aarch64-manylinux2014" || echo --universal); \
		cp $$lock.txt $$lock.txt.new && \
		$(BIN)/uv pip compile $$lock.in -o $$lock.txt.new --generate-hashes --python-version 3.13 $$platform \
			--no-header --quiet || { rm -f $$lock.txt.new; exit 1; }; \
		if cmp -s $$lock.txt $$lock.txt.new; then rm $$lock.txt.new; echo "$$lock.txt: unchanged"; \
		else mv $$lock.txt.new $$lock.txt; echo "$$lock.txt: updated"; fi; \
	done

clean:
	rm -rf $(VENV) .aws-sam dist .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Prints the table, and writes it into docs/performance.md; figure 6b needs the SDK folders.
bench: package $(SDKS)
	@$(BIN)/python -m tests.tools.bench --write docs/performance.md
