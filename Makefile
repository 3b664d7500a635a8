# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: serve test lint format seed bench clean install

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Vitrine needs Python 3.11 or newer: set PYTHON=python3.11 (or newer) and run make again.")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing Vitrine and its dependencies into $(VENV) (first run only)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --progress-bar on -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start embedded PostgreSQL, migrate, load demo data on first run, run projectors and the server.
serve: $(STAMP)
	$(BIN)/vitrine serve

## The whole test suite (embedded PostgreSQL unless VITRINE_TEST_DATABASE_URL is set).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

seed: $(STAMP)
	$(BIN)/vitrine demo seed --scale small

## The benchmark (never part of `make test`): make bench BENCH_ARGS="--quick". See bench/README.md.
bench: $(BENCH_STAMP)
	$(BIN)/vitrine bench $(BENCH_ARGS)

$(BENCH_STAMP): $(STAMP)
	@echo "Installing the bench extra (matplotlib) into $(VENV)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

clean:
	rm -rf $(VENV) .vitrine .pytest_cache .mypy_cache .ruff_cache
