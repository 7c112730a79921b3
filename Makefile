# `make demo`: install and start the gateway with the demo page (XML-RPC default, no broker);
# `make demo DEMO=django` or `DEMO=flask` starts the Django or Flask demo instead.
# `make test`: install everything the tests need (Python, Node peers, Chromium) and run the suite.
PYTHON ?= python3
DEMO ?= script
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install-test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# DEMO=script (default): the core demo; DEMO=django: demo_project/; DEMO=flask: demo_flask/
demo: $(BIN)/python
	@case "$(DEMO)" in \
	  django) $(BIN)/pip install -q -e '.[django]' && cd demo_project && ../$(BIN)/python manage.py demo ;; \
	  flask) $(BIN)/pip install -q -e '.[flask]' && $(BIN)/python -c 'import demo_flask; demo_flask.create_app()' && \
	    { $(BIN)/flask --app demo_flask telegraphy gateway & gateway=$$!; \
	      trap 'kill $$gateway' EXIT INT TERM; $(BIN)/flask --app demo_flask run; } ;; \
	  *) $(BIN)/pip install -q -e . && $(BIN)/telegraphy demo ;; \
	esac

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
