# Common commands. Every target sets up .venv itself on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
VENV8 ?= .venv-ipython8
WHEELS ?= ../shared/wheels
PIP_FLAGS := $(if $(wildcard $(WHEELS)/*.whl),--find-links $(WHEELS))

.PHONY: test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q $(PIP_FLAGS) -e ".[test,bench]" ruff
	touch $@

# The magics and the kernel-side API also run on IPython 8 (the main venv has IPython 9).
$(VENV8)/.installed: pyproject.toml
	python3 -m venv $(VENV8)
	$(VENV8)/bin/python -m pip install -q -U pip
	$(VENV8)/bin/python -m pip install -q $(PIP_FLAGS) "ipython>=8,<9" -e ".[test]"
	touch $@

test: $(VENV)/.installed $(VENV8)/.installed  ## the whole test suite
	$(VENV8)/bin/python -m pytest -q -p no:cacheprovider tests/test_magics.py tests/test_api.py
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check jupyter_chat tests benchmarks

bench: $(VENV)/.installed  ## side-by-side benchmarks, printed as ratios
	$(PY) benchmarks/client.py

clean:
	rm -rf $(VENV) $(VENV8) .pytest_cache .hypothesis
