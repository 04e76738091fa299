# riskdraw — one command per task. `make` (or `make help`) lists them.
#
# Every tool runs from the project's own environment in .venv, made by uv from
# uv.lock; `setup` makes it once and then costs nothing until the lock changes.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON_VERSION := 3.11.7
UV_VERSION := 0.13.9
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp

LAB_PORT ?= 8888
UI_PORT ?= 5000
MONITOR_PORT ?= 8000
SERVE_PORT ?= 3000
PYTEST_WORKERS ?= 2

# uv from PATH, else the one pip installed (a pyenv shim for `uv` may be
# missing until `pyenv rehash`, `python3 -m uv` always finds it).
UV := $(shell if uv --version >/dev/null 2>&1; then echo uv; else echo python3 -m uv; fi)

# The environment of every recipe (why each one: shared/STACK-NOTES.md).
export OMP_WAIT_POLICY := PASSIVE
export MLFLOW_DISABLE_TELEMETRY := true
export BENTOML_DO_NOT_TRACK := true
export DO_NOT_TRACK := 1
export DVC_NO_ANALYTICS := 1
export DVC_SITE_CACHE_DIR := $(CURDIR)/.dvc/site-cache
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db
export RISKDRAW_ARTIFACTS ?= $(CURDIR)/mlruns
export UV_PROJECT_ENVIRONMENT := $(VENV)
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
# Bytecode compiled at install (`--compile-bytecode` below): where the machine sets
# PYTHONDONTWRITEBYTECODE, every process would otherwise compile MLflow, pandas and the rest
# from source on each start (about 3.5 s of every stage's 7).

.PHONY: help setup browser run test bench serve lab ui monitor-ui lint format clean

help: ## list the targets
	@echo "riskdraw — make TARGET"
	@grep -E '^[a-z][a-z_-]*:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'
	@echo "variables: SERVE_PORT=$(SERVE_PORT) LAB_PORT=$(LAB_PORT) UI_PORT=$(UI_PORT) MONITOR_PORT=$(MONITOR_PORT) PYTEST_WORKERS=$(PYTEST_WORKERS)"

setup: $(STAMP) ## install uv if missing, sync .venv from uv.lock, check DVC is initialised
	@test -f .dvc/config || { echo "error: .dvc/config is missing: DVC is not initialised here" >&2; exit 1; }

$(STAMP): pyproject.toml uv.lock
	@if ! $(UV) --version >/dev/null 2>&1; then \
	  echo "uv not found: installing uv==$(UV_VERSION) with pip"; \
	  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "uv==$(UV_VERSION)"; \
	fi
	$(UV) sync --frozen --python $(PYTHON_VERSION) --compile-bytecode
	@touch $@

# The page's browser test drives Debian's chromium (Playwright's own browser download is not
# reachable here); a CJK font so that enterprise names render. Installed once, as root.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
browser: ## install Debian's chromium and a CJK font for the page's browser test (apt-get, once)
	@if [ ! -x $(CHROMIUM) ] || [ ! -e $(CJK_FONT) ]; then \
	  echo "installing Debian's chromium and fonts-wqy-zenhei with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium fonts-wqy-zenhei >/dev/null; \
	fi

run: setup ## build the simulated city (dvc repro), log what DVC skipped to MLflow, print the summary, push data versions, end with the monitor's verdict
	$(BIN)/dvc repro
	$(BIN)/riskdraw track
	$(BIN)/riskdraw summary
	$(BIN)/dvc push -q
	$(BIN)/riskdraw verdict

# --dist loadscope: a module's tests stay on one worker, so its module fixtures (a loop city,
# a tuned champion) are built once, not once per worker.
test: setup browser ## lint (ruff check) and the whole test suite (pytest; it starts and stops its own service)
	$(BIN)/ruff check src serving tests benchmarks
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadscope --durations=10

bench: setup ## run the benchmarks (benchmarks/), appending to BENCHMARKS.md
	$(BIN)/python -m benchmarks.run

serve: setup ## the BentoML service and its page on 127.0.0.1, port SERVE_PORT (after `make run`; /ui/ is the page)
	exec $(BIN)/riskdraw serve --host 127.0.0.1 --port $(SERVE_PORT)

lab: setup ## JupyterLab over notebooks/ on 127.0.0.1, port LAB_PORT
	exec $(BIN)/jupyter lab --ip 127.0.0.1 --port $(LAB_PORT) --no-browser --allow-root \
	  --notebook-dir $(CURDIR)/notebooks

ui: setup ## the MLflow UI on 127.0.0.1, port UI_PORT (runs in mlflow.db, artifacts in mlruns/)
	@mkdir -p $(RISKDRAW_ARTIFACTS)
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false exec $(BIN)/mlflow server \
	  --backend-store-uri $(MLFLOW_TRACKING_URI) \
	  --default-artifact-root $(RISKDRAW_ARTIFACTS) \
	  --host 127.0.0.1 --port $(UI_PORT) --workers 1

monitor-ui: setup ## Evidently's UI over the monitor's workspace on 127.0.0.1, port MONITOR_PORT (the checks over time)
	@mkdir -p data/monitoring/workspace
	exec $(BIN)/evidently ui --workspace data/monitoring/workspace --host 127.0.0.1 --port $(MONITOR_PORT)

lint: setup ## ruff check and ruff format --check over the project
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup ## ruff check --fix, then ruff format, over the project
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## remove tool caches (.pytest_cache, .ruff_cache, __pycache__); data stays DVC's
	rm -rf .pytest_cache .ruff_cache
	find . -path ./.venv -prune -o -path ./.git -prune -o -type d -name __pycache__ -print0 \
	  | xargs -0 -r rm -rf
