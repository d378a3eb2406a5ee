# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Python packages into $(VENV) (a few minutes on the first run; pip shows each one)..."
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar on -r requirements-dev.txt
	@echo "Python packages installed."
	rm -f $(VENV)/.installed-* && touch $@

## Install what is missing, create the demo database on first start, serve on :8050.
run: $(STAMP)
	$(PY) app.py

## Lint, then every test (browser tests skip with a reason where chromium is absent).
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest --headless -q -p no:warnings $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Callback timings at a scale: make bench SCALE=30 [ENGINE=postgresql]
bench: $(STAMP)
	$(PY) bench/bench.py --scale $(or $(SCALE),1) --engine $(or $(ENGINE),sqlite)

clean:
	rm -rf $(VENV) data/dashboard.db* data/bench
