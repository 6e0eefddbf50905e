# Common commands. Every target sets up .venv itself on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
WHEELS ?= ../shared/wheels
PIP_FLAGS := $(if $(wildcard $(WHEELS)/*.whl),--find-links $(WHEELS))

.PHONY: test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q $(PIP_FLAGS) -e ".[test,bench]" ruff
	touch $@

test: $(VENV)/.installed  ## the whole test suite
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check jupyter_chat tests benchmarks

bench: $(VENV)/.installed  ## side-by-side benchmarks, printed as ratios
	$(PY) benchmarks/client.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
