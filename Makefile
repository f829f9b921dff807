# PlanWise Navigator — developer entry points. Needs only python3.11, git and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= workspace

export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: install demo test lint typecheck unit bench clean browser

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(BIN)/python -m planwise_dbt
	touch $(STAMP)

install: $(STAMP)

## Run the main job on the built-in demo data (embedded DuckDB in ./workspace).
demo: $(STAMP)
	$(BIN)/planwise demo --workspace $(WORKSPACE)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

## Chromium for the browser test (tests/app): Debian's package, installed when missing and root.
browser:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || \
	if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else echo "chromium is missing: run 'apt-get install -y chromium' as root" >&2; exit 1; fi

## Lint, types and the whole test suite (two workers, each test file on one of them).
test: lint typecheck browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --cov=planwise --cov=planwise_app --cov=planwise_dagster --cov=planwise_dbt --cov-report=term:skip-covered

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --output benchmarks/results/latest.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dbt/target dbt/logs
