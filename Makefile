# Two commands on a fresh machine: `make run` (app with demo data) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export RAGAS_DO_NOT_TRACK := true

.PHONY: run test install install-test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamp files: reinstall only when pyproject.toml changes. Each install also builds deduce's
# lookup cache (minutes, once, atomically) so no scrub has to, and a damaged cache is rebuilt.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/python -m workbench.domain.privacy_cache
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/python -m workbench.domain.privacy_cache
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/workbench start

test: install-test
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check workbench tests bench

clean:
	rm -rf $(VENV) data test-output
