# The two commands: `make demo` (the main job) and `make test` (the test suite).
# Each creates .venv when it is missing and installs the pinned dependencies; the
# second time only a stamp is checked.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The real datasets: RATIONALES_DATA if set, else ../shared/data beside the checkout.
export RATIONALES_DATA ?= $(abspath ../shared/data)
# Two cores here: keep BLAS/torch from oversubscribing.
export OMP_NUM_THREADS ?= 2
export TOKENIZERS_PARALLELISM ?= false

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-deps -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rationales demo

test: $(STAMP) lint
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# ruff (lint + import order) on the code and tests, mypy on src/: a new violation fails `make test`.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
