# The two commands of a fresh machine: `make report` builds the report, `make test` runs the tests.
# Each creates the virtual environment and installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONFIG ?= reportgen.toml
ARGS ?=
PYTEST_ARGS ?=

.PHONY: report offline-report test test-slow lint benchmark clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

report: $(VENV)/.installed
	$(PY) -m reportgen build --config $(CONFIG) $(ARGS)

# The whole report with the network and data of ../shared, no download (see README).
offline-report: $(VENV)/.installed
	$(PY) -m reportgen build --config configs/offline.toml --offline $(ARGS)

test: $(VENV)/.installed
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-slow: $(VENV)/.installed
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m mypy

# Every benchmark with the offline configuration (figures printed, nothing asserted; about 30 min on 2 cores).
benchmark: $(VENV)/.installed
	$(PY) benchmarks/engine.py --config configs/offline.toml
	$(PY) benchmarks/ch1.py --config configs/offline.toml
	$(PY) benchmarks/ch2.py --config configs/offline.toml

clean:
	rm -rf build
