# The two commands: `make run` (the local stack) and `make test` (the whole suite).
# Both create the virtual environment and install what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Node tools of the build (package.json, pinned by package-lock.json), never deployed.
NODE_STAMP := node_modules/.installed-stamp

.PHONY: run test lint typecheck unit bench bench-medians eval-personas eval-commands train-router fuzz soak abuse loadtest package docs mutation \
	clean browser test-browser screenshot rehearse node-tools capacity restore-drill

$(STAMP): pyproject.toml
	@echo "Installing .venv from pyproject.toml (about 4.5 minutes the first time)..."
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
	$(BIN)/lint-imports
	terraform fmt -check -recursive infra

typecheck: $(STAMP)
	$(BIN)/mypy shared functions infra bench tools agent_platform_cli

# The google provider's schema (tests/infra/test_provider_schema.py) and the OpenAPI
# linter (tests/platform/test_openapi_contract.py) come from node-tools.
unit: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest

test: lint typecheck unit

# Debian's Chromium for the console's browser tests (playwright's own browser download is
# not used), with fonts for Korean and emoji. Needs root, as on CI.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		apt-get install -y -qq chromium fonts-nanum fonts-noto-color-emoji; }

# Only the console's tests (browser and axe-core); they fail, rather than skip, without
# Chromium.
test-browser: $(STAMP) $(NODE_STAMP) browser
	REQUIRE_BROWSER=1 $(BIN)/pytest tests/functions/console

# The console screenshot in docs/images/, taken by the browser test's journey.
screenshot: $(STAMP) browser
	CONSOLE_SCREENSHOT=docs/images/console.png REQUIRE_BROWSER=1 \
		$(BIN)/pytest tests/functions/console/test_browser.py -k a_guest_creates

# BENCH_ARGS, e.g. "--only cost --growth-sizes 10,100" (options: docs/benchmarks.md).
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The median of each ratio over the three newest full `make bench` runs.
bench-medians: $(STAMP)
	$(BIN)/python -m bench.medians

# The earlier labelled set, then the blind set (frozen 2026-12-07, never tuned on) with
# the floors of issue 23: 85 % overall, 75 % per language, persona and the hard third.
eval-personas: $(STAMP)
	$(BIN)/python -m tools.eval_personas --floor 0.90
	$(BIN)/python -m tools.eval_personas --set tests/data/personas/blind_2026-12-07.jsonl \
		--floor 0.85 --floor-part 0.75

# The persona classifier's weights (shared/personas/router_model.json) from the corpus in
# tools/data/; a test fails when the committed weights are stale.
train-router: $(STAMP)
	$(BIN)/python -m tools.train_router

# Ops-command planning on the earlier set, then on the blind set (frozen 2026-12-07, never
# tuned on); MISSES=1 lists every miss. The blind floors hold today's figures (86.6 %
# tool and arguments, 97.3 % of changing plans exact), below issue 23's goals (90 %, 99 %).
eval-commands: $(STAMP)
	$(BIN)/python -m tools.eval_commands $(if $(MISSES),--misses) --floor-tool-arguments 0.95
	$(BIN)/python -m tools.eval_commands --set tests/data/ops/blind_2026-12-07.jsonl \
		--floor-tool-arguments 0.85 --floor-right-changing 0.97

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

# Many sessions and messages from one address and from many; spend must stay inside
# every budget. Figures in bench/results/abuse.json (docs/testing.md).
abuse: $(STAMP)
	$(BIN)/pytest tests/platform/test_abuse.py -m abuse -s -p no:logging

# dist/<entry>.zip per manifest entry: main.py, the shared modules it imports, and a
# requirements.txt derived from its imports.
package: $(STAMP)
	$(BIN)/python -m tools.package

# Mutation testing of the critical modules (about 15 minutes); writes
# docs/mutation-report.md. Not part of `make test`: run it before a release.
mutation: $(STAMP)
	$(BIN)/python -m tools.mutation

# The capacity model: what the manifest's maximum instances write to Firestore, publish and
# take of Cloud Run's quotas at 1x, 10x and 100x, and the first limit each scale reaches;
# writes docs/capacity.md (a test fails when it is stale or the manifest passes a limit).
capacity: $(STAMP)
	$(BIN)/python -m tools.capacity

# Fill a Firestore emulator through the API, export it, destroy it, import the export into a
# new emulator and prove through the API that everything came back (docs/restore.md).
restore-drill: $(STAMP)
	$(BIN)/python -m tools.restore_drill

# docs/configuration.md from the settings classes (a test fails when it is stale).
docs: $(STAMP)
	$(BIN)/python -m tools.settings_doc

# What Terraform deploys, configured as Terraform configures it, run locally on the
# emulators with Python 3.12 (docs/deploy-rehearsal.md); then the proofs that it fails
# when Terraform or a package drifts (tests marked `rehearse`).
rehearse: package
	$(BIN)/python -m infra.rehearsal
	$(BIN)/pytest -m rehearse tests/infra/rehearsal -p no:logging

clean:
	rm -rf $(VENV) dist node_modules .mypy_cache .ruff_cache
