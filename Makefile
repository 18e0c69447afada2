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

.PHONY: install demo test lint dev clean postgres-server chromium

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
test: install postgres-server chromium
	$(BIN)/python -m pytest

## lint: ruff (lint and format check) on the Python code, sqlfluff on the dbt project in sql/
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint sql/

# The tests start their own PostgreSQL server (initdb + pg_ctl in a temporary directory);
# install the server binaries when they cannot be found (CI: Debian, as root).
postgres-server:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || { command -v pg_config >/dev/null 2>&1 && test -x "$$(pg_config --bindir)/initdb"; }; then :; \
	else \
	  echo "initdb not found: installing PostgreSQL (apt-get install -y postgresql)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; \
	fi

# The UI tests drive Debian's Chromium through Playwright (never `playwright install`, which
# downloads a browser build); install it when missing (CI: Debian, as root).
chromium:
	@if test -x /usr/bin/chromium; then :; \
	else \
	  echo "/usr/bin/chromium not found: installing Debian's chromium (apt-get install -y chromium)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; \
	fi

## dev: the Dagster web UI and daemon on http://127.0.0.1:3000 (Ctrl-C stops both within seconds)
PORT ?= 3000
dev: install
	$(BIN)/music-dwh dev --port $(PORT)

## clean: remove what the project writes under ./data (files of your own there are kept) and dbt's build files
clean:
	@if [ -x $(BIN)/music-dwh ]; then $(BIN)/music-dwh clean-demo; \
	elif [ -d data ]; then echo "no $(BIN)/music-dwh: ./data left as it is (it knows which files it wrote)"; fi
	rm -rf sql/target sql/logs .pytest_cache
