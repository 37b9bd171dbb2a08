# The two commands of the README:
#   make run    set everything up, then start the dashboard on the embedded Jilin data
#   make test   set everything up (test extras and the browser included), then lint, check
#               the formatting and run the tests (doctests of geoapp/ and layers/ included)
# Each is idempotent: set-up steps re-run only when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run test setup setup-test clean

run: setup
	$(VENV)/bin/geoapp run

test: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

setup: $(VENV)/.installed-run
setup-test: $(VENV)/.installed-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml scripts/setup-system.sh | $(VENV)/bin/python
	bash scripts/setup-system.sh
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV)
