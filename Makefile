# The two commands of the quick start are `make run` and `make test`; the rest serve them.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
SQLITE_TEST_URL := sqlite:///$(CURDIR)/instance/test-suite.sqlite3

export FLASK_APP := wsgi

.PHONY: install run test test-sqlite test-postgres lint clean

$(INSTALLED): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

## Set up, migrate the local database, load the demo school when it is empty, and serve it.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --access-logfile - wsgi:app

## The whole suite on SQLite, then again on PostgreSQL.
test: install
	@$(MAKE) --no-print-directory test-sqlite
	@if $(BIN)/python -m tests.database_check "$(TEST_DATABASE_URL)"; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		echo "!! No PostgreSQL answers at TEST_DATABASE_URL: the PostgreSQL leg did NOT run."; \
		echo "!! Only SQLite was tested. Start PostgreSQL or set TEST_DATABASE_URL."; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi

test-sqlite: install
	@echo "== tests on SQLite"
	@mkdir -p instance
	TEST_DATABASE_URL="$(SQLITE_TEST_URL)" $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install
	@echo "== tests on PostgreSQL"
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis *.egg-info
