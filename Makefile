# Two commands on a fresh machine: `make demo` runs the pipeline, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test deps lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -e . -c constraints.txt
	touch $@

$(VENV)/.dev-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]' -c constraints.txt
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/tweetsense run --demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Servers and programs the tests start; some install into the virtualenv, so it comes first.
deps: $(VENV)/.dev-installed
	tools/install-deps

test: deps lint
	$(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/pipeline.py --tweets 100000 1000000 --analyzer vader

clean:
	rm -rf tweetsense-data .bench
