# Two commands do all set-up on a fresh machine (see README):
#   make demo   - set up, then run the IAAA demo on the bundled sample data
#   make test   - set up, then run the test suite
#   make test-fast - the tests not marked slow (the inner loop; docs/development.md)
VENV ?= .venv
PY := $(VENV)/bin/python
export MMAUG_OFFLINE ?= 1

.PHONY: setup demo test test-fast
setup:
	VENV=$(VENV) bash tools/setup_env.sh

demo: setup
	VENV=$(VENV) bash tools/demo.sh

test: setup
	$(PY) -m pytest -q tests

test-fast: setup
	$(PY) -m pytest -q -m "not slow" tests
