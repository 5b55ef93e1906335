# One command runs the gateway, one passes the tests; both set up .venv themselves.
#   make run [PORT=9000] [HOST=0.0.0.0] [CONFIG=other.yaml]   (unset: GATEWAY_* from the
#   environment or .env, then the config file's server section; the config file: config.yaml)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?=
PORT   ?=
HOST   ?=
GATEWAY_FLAGS = $(if $(CONFIG),--config $(CONFIG)) $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

.PHONY: run check test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The lock files pin every package, transitive ones included, to the versions CI runs.
$(VENV)/.runtime: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

$(VENV)/.test: requirements-test.lock $(VENV)/.runtime
	$(BIN)/python -m pip install -q -r requirements-test.lock
	@touch $@

$(VENV)/.lint: requirements-lint.lock $(VENV)/.runtime
	$(BIN)/python -m pip install -q -r requirements-lint.lock
	@touch $@

run: $(VENV)/.runtime
	$(BIN)/python -m app $(GATEWAY_FLAGS)

# Validate the config (and .env) without starting: every problem listed, exit status 2 if any.
check: $(VENV)/.runtime
	$(BIN)/python -m app --check $(GATEWAY_FLAGS)

test: $(VENV)/.test
	$(BIN)/python -m pytest

# ruff (errors, import order, the 110-character line) over everything; mypy --strict over the
# gateway's packages (settings in pyproject.toml).
lint: $(VENV)/.lint
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(VENV)/.test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
