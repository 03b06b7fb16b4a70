# Every routine task. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint format typecheck unit synth bench clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/jobwarden demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: setup
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

unit: setup
	$(BIN)/pytest tests/unit

synth: setup
	CDK_OUTDIR=cdk.out $(BIN)/python app.py
	@echo "templates written to cdk.out/"

bench: synth  # bench/cost.py reads the synthesized template
	$(BIN)/python bench/deadlines.py
	$(BIN)/python bench/sweep_calls.py
	$(BIN)/python bench/import_cost.py
	$(BIN)/python bench/cost.py

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
