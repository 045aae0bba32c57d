# Two commands do everything on a fresh machine:
#   make run    install, seed simulated data if the landing zone is empty, start Dagster
#   make test   install (with test tools), lint, run the whole test suite
#   make demo   like make run without the UI: the daemon builds every layer, then a summary
PYTHON ?= python3
UV = $(PYTHON) -m uv
# the uv that wrote uv.lock: a missing uv is installed at this version, not whatever is newest
UV_VERSION = 0.13.10
HOST ?= 127.0.0.1
PORT ?= 3000
export DAGSTER_HOME := $(CURDIR)

.PHONY: install install-dev run demo test lint benchmark clean

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"

install: uv
	$(UV) sync --frozen --no-dev

install-dev: uv
	$(UV) sync --frozen

run: install
	.venv/bin/mlplatform seed
	.venv/bin/dagster dev -w workspace.yaml -h $(HOST) -p $(PORT)

demo: install
	.venv/bin/mlplatform demo --ui-url http://$(HOST):$(PORT)

lint: install-dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

test: lint
	.venv/bin/pytest

benchmark: install-dev
	.venv/bin/python -m benchmarks.feature_benchmark --resources 2000 --days 90 --repeats 3

clean:
	rm -rf .dagster .pytest_cache .ruff_cache
