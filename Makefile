# The two commands: `make run` (the local stack) and `make test` (the whole suite).
# Both create the virtual environment and install what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Node tools of the build (package.json, pinned by package-lock.json), never deployed.
NODE_STAMP := node_modules/.installed-stamp

.PHONY: run test lint typecheck unit bench eval-personas fuzz soak loadtest package rehearse node-tools clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $(NODE_STAMP)

node-tools: $(NODE_STAMP)

run: $(STAMP)
	$(BIN)/python -m infra.local.stack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	terraform fmt -check -recursive infra

typecheck: $(STAMP)
	$(BIN)/mypy shared functions infra bench tools

# The google provider's schema (tests/infra/test_provider_schema.py) comes from node-tools.
unit: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench.run

eval-personas: $(STAMP)
	$(BIN)/python -m tools.eval_personas

# Many more schemathesis examples per operation than `make test` tries.
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} $(BIN)/pytest tests/platform/test_fuzz.py -p no:logging

# A load-test scenario against the running local stack (`make run` in another terminal);
# needs ADMIN_TOKEN set the same in both.
loadtest: $(STAMP)
	$(BIN)/python -m tools.loadtest --scenario $(or $(SCENARIO),light)

# 50 guests for 60 s against a fresh local stack; figures in bench/results/soak.json.
soak: $(STAMP)
	$(BIN)/pytest tests/platform/test_soak.py -m soak -s -p no:logging

# dist/<entry>.zip per manifest entry: main.py, the shared modules it imports, and a
# requirements.txt derived from its imports.
package: $(STAMP)
	$(BIN)/python -m tools.package

# What Terraform deploys, configured as Terraform configures it, run locally on the
# emulators with Python 3.12 (docs/deploy-rehearsal.md); then the proofs that it fails
# when Terraform or a package drifts (tests marked `rehearse`).
rehearse: package
	$(BIN)/python -m infra.rehearsal
	$(BIN)/pytest -m rehearse tests/infra/rehearsal -p no:logging

clean:
	rm -rf $(VENV) dist node_modules .mypy_cache .ruff_cache
