# Two commands set everything up on a fresh machine:
#   make demo   -- create .venv, simulate an HSC visit into a Butler repo (demo/repo),
#                  pipetask run the sky correction, write PNG previews and a summary
#   make test   -- create .venv (Python >= 3.12), install, lint, type-check, run the tests
#   make install -- the environment alone
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: install test lint typecheck pytest demo clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh

lint: $(STAMP)
	$(PY) -m ruff check python tests bench scripts
	$(PY) -m ruff format --check python tests bench scripts

typecheck: $(STAMP)
	$(PY) -m mypy python/lsst/sky/correction

pytest: $(STAMP)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck pytest

# DEMO_ARGS, e.g. "--detectors 49,50,57" for a quick look or "--instrument LSSTCam".
demo: $(STAMP)
	$(PY) -m lsst.sky.correction.tools.demo --root demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
