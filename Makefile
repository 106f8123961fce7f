# shellwatch developer tasks. `make run` and `make test` each install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test pytest lint types check bench docs clean

$(STAMP): pyproject.toml
	scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

install: $(STAMP)

## run: scan the bundled sample incident (events, alerts, summary) into shellwatch.db
run: $(STAMP)
	$(BIN)/shellwatch scan --sample

## test: the whole check: lint, types, and every test (what CI runs)
test: lint types pytest

pytest: $(STAMP)
	$(BIN)/pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

check: test

bench: $(STAMP)
	$(BIN)/python bench/bench_readers.py

docs: $(STAMP)
	$(BIN)/shellwatch schema --markdown > docs/schema.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache shellwatch.db shellwatch-deadletter.jsonl
