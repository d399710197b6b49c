# Two commands set everything up on a fresh machine:
#   make test   -- create .venv (Python >= 3.12), install, lint, type-check, run the tests
#   make install -- the environment alone
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install test lint typecheck pytest clean

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
