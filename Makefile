# make demo: run the weekly flow on ./workspace (made from the sample company on first use).
# make test: the whole test suite, slow integration tests included (what CI runs).
# make check: lint and type-check. make bench: the speed table. make server: Prefect server, UI, deployments, worker.
# Installs happen once per change of pyproject.toml (stamp files in .venv), so repeated targets start at once.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev
INSTALLED_BENCH := $(VENV)/.installed-bench

.PHONY: demo test check bench server clean-install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(INSTALLED_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(INSTALLED)

$(INSTALLED_BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@ $(INSTALLED)

# The sample is written only here and by `opsflow sample`: `opsflow run` never makes one up. It is marked
# `sample: true`, so the demo posts nothing to Slack unless you add --post-sample (or set OPSFLOW_POST_SAMPLE=true).
demo: $(INSTALLED)
	test -f workspace/opsflow.yaml || $(BIN)/opsflow sample --out workspace
	$(BIN)/opsflow run weekly-audit --workspace workspace $(DEMO_ARGS)

# Two workers (the CI machine's two cores), each taking whole test files, so module fixtures are built once.
test: $(INSTALLED_DEV)
	$(BIN)/python -m pytest -n 2 --dist loadfile

check: $(INSTALLED_DEV)
	$(BIN)/ruff check .
	$(BIN)/mypy flows tasks opsflow deployments bench
	$(BIN)/lint-imports

# make server: Prefect server + UI on 127.0.0.1:4200, the opsflow pool, every deployment, a worker; Ctrl-C stops all.
server: $(INSTALLED)
	$(BIN)/python -m deployments.server $(SERVER_ARGS)

bench: $(INSTALLED_BENCH)
	$(BIN)/python -m bench

clean-install:
	rm -f $(INSTALLED) $(INSTALLED_DEV) $(INSTALLED_BENCH)
