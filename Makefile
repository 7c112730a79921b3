# `make demo`: install and start the gateway with the demo page (XML-RPC default, no broker).
# `make test`: install everything the tests need (Python, Node peers, Chromium) and run the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo demo-django demo-flask test install-test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

demo: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/telegraphy demo

demo-django: $(BIN)/python
	$(BIN)/pip install -q -e '.[django]'
	cd demo_project && ../$(BIN)/python manage.py demo

demo-flask: $(BIN)/python
	$(BIN)/pip install -q -e '.[flask]'
	$(BIN)/flask --app demo_flask telegraphy gateway & gateway=$$!; \
	  trap 'kill $$gateway' EXIT INT TERM; $(BIN)/flask --app demo_flask run

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[all,test]'
	cd tests/js && npm install --no-audit --no-fund --loglevel=error
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }

test: install-test
	$(BIN)/python -m pytest

lint: $(BIN)/python
	$(BIN)/pip install -q ruff
	$(BIN)/ruff check telegraphy plugins tests benchmarks

bench: install-test
	$(BIN)/python -m benchmarks
