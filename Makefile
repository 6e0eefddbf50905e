# Common commands. Every target sets up .venv itself on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
VENV8 ?= .venv-ipython8
WHEELS ?= ../shared/wheels
# A prebuilt llama-cpp-python wheel saves an 8-minute compile when it is there; a source build
# gets flags that run on any x86-64 with AVX2 (the default native build can crash on AMX CPUs).
PIP_FLAGS := $(if $(wildcard $(WHEELS)/*.whl),--find-links $(WHEELS))
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
JUPYTER_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab quickstart test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q $(PIP_FLAGS) -e ".[local,lab,verify,test,bench]" ruff
	touch $@

# The JupyterLab extension (labextension/, TypeScript): pip builds it with jlpm (Node.js >= 20)
# into jupyter_chat/labextension and installs it into the venv; again when its sources change.
LABEXT_SRC := $(wildcard labextension/src/*.ts labextension/style/* labextension/schema/*) \
	labextension/package.json labextension/yarn.lock labextension/tsconfig.json install.json
$(VENV)/.labextension: $(VENV)/.installed $(LABEXT_SRC)
	$(PY) -m pip install -q --no-deps -e .
	touch $@

lab: $(VENV)/.installed $(VENV)/.labextension  ## JupyterLab on the quickstart, with the local model as the default
	$(VENV)/bin/jupyter lab $(JUPYTER_ROOT) notebooks/quickstart.ipynb

quickstart: $(VENV)/.installed  ## the same without a browser: execute it, print where it went
	$(PY) scripts/quickstart.py

# The magics and the kernel-side API also run on IPython 8 (the main venv has IPython 9).
$(VENV8)/.installed: pyproject.toml
	python3 -m venv $(VENV8)
	$(VENV8)/bin/python -m pip install -q -U pip
	$(VENV8)/bin/python -m pip install -q $(PIP_FLAGS) "ipython>=8,<9" -e ".[test]"
	touch $@

test: lint $(VENV8)/.installed  ## the lint, then the whole test suite
	$(VENV8)/bin/python -m pytest -q -p no:cacheprovider tests/magics tests/session/test_api.py
	$(PY) -m pytest

# ruff (lint and format) on the Python, eslint and prettier on the TypeScript (labextension/)
lint: $(VENV)/.installed $(VENV)/.labextension
	$(VENV)/bin/ruff check jupyter_chat tests benchmarks scripts notebooks
	$(VENV)/bin/ruff format --check jupyter_chat tests benchmarks scripts notebooks
	cd labextension && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" jlpm lint:check

bench: $(VENV)/.installed  ## every benchmark in one table of ratios (QUICK=1: fewer runs)
	$(PY) benchmarks/run.py $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) $(VENV8) build .pytest_cache .hypothesis
