# Two commands do all set-up on a fresh machine (see README):
#   make demo   - set up, then run the IAAA demo on the bundled sample data
#   make test   - set up, then run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
export MMAUG_OFFLINE ?= 1

.PHONY: setup demo test
setup:
	VENV=$(VENV) bash tools/setup_env.sh

demo: setup
	VENV=$(VENV) bash tools/demo.sh

test: setup
	$(PY) -m pytest -q tests
