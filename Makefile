# Every target installs what it needs (a virtualenv in .venv); `make demo` and `make test` are
# the README's two commands and work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export DAGSTER_HOME ?= $(CURDIR)/data/dagster
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false

.PHONY: install demo test dev clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/music-dwh prepare

## demo: generate sample data, materialize every asset for every day on DuckDB, print a summary
demo: install
	$(BIN)/music-dwh demo

## test: install and run the whole test suite (what CI runs)
test: install
	$(BIN)/python -m pytest

## dev: the Dagster web UI on http://127.0.0.1:3000
dev: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf data sql/target sql/logs .pytest_cache
