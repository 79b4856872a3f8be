# The two commands of the quick start are `make run` and `make test`; the rest serve them.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
DEMO_STRIPE_PORT ?= 12111
DEMO_SMTP_PORT ?= 8025
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
CHROMIUM := /usr/bin/chromium
HAPROXY := /usr/sbin/haproxy
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
SQLITE_TEST_URL := sqlite:///$(CURDIR)/instance/test-suite.sqlite3

export FLASK_APP := wsgi

.PHONY: install run test test-sqlite test-postgres lint clean bench soak

$(INSTALLED): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The translations: each language's .po files, merged into the messages.mo Flask-Babel reads.
CATALOGUES := $(wildcard app/translations/*/LC_MESSAGES/*.po)
COMPILED := app/translations/fr/LC_MESSAGES/messages.mo

$(COMPILED): $(CATALOGUES) $(INSTALLED)
	$(BIN)/python -m app.catalogue compile

install: $(INSTALLED) $(COMPILED)

# The browser tests drive Debian's Chromium (never a downloaded browser).
$(CHROMIUM):
	@echo "== installing Debian's Chromium for the browser tests"
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The scale-out test puts Debian's HAProxy in front of two web instances.
$(HAPROXY):
	@echo "== installing Debian's HAProxy for the scale-out test"
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq haproxy

## Set up, migrate, load the demo school when the database is empty, and serve it with the
## scheduler beside it. Without STRIPE_API_KEY a local Stripe-compatible server is the provider;
## without SMTP_HOST a local mail server keeps the emails sent in instance/mail/.
run: install
	@mkdir -p instance
	@trap 'kill 0' EXIT INT TERM; \
	export BASE_URL=$${BASE_URL:-http://$(HOST):$(PORT)}; \
	if [ -z "$$STRIPE_API_KEY" ]; then \
		$(BIN)/python -m app.demo_provider serve --port $(DEMO_STRIPE_PORT) --state instance/localstripe.pickle & \
		$(BIN)/python -m app.demo_provider wait --port $(DEMO_STRIPE_PORT) || exit 1; \
		export STRIPE_API_KEY=sk_test_demo STRIPE_API_BASE=http://127.0.0.1:$(DEMO_STRIPE_PORT); \
		export EXECUTOR_INTERVAL_SECONDS=$${EXECUTOR_INTERVAL_SECONDS:-15}; \
	fi; \
	if [ -z "$$SMTP_HOST" ]; then \
		$(BIN)/python -m app.demo_mailbox --port $(DEMO_SMTP_PORT) --dir instance/mail & \
		export SMTP_HOST=127.0.0.1 SMTP_PORT=$(DEMO_SMTP_PORT); \
	fi; \
	$(BIN)/flask db upgrade || exit 1; \
	$(BIN)/flask demo load || exit 1; \
	$(BIN)/python -m jobs & \
	echo; echo "Job Guarantee: http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/api/docs)"; echo; \
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --access-logfile - wsgi:app

## The whole suite on SQLite, then again on PostgreSQL.
test: install $(CHROMIUM) $(HAPROXY)
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

## A benchmark, not a test: the sweep's SQL against hand-written SQL on a million graduations,
## in a PostgreSQL schema of its own (BENCH_DATABASE_URL; BENCH_GRADUATIONS for a quick check);
## then the expected liability's backtest error on graduates drawn from a known placement curve;
## then a school of 200,000 graduations (BENCH_SCHOOL_GRADUATIONS): each service against
## hand-written SQL, and its growth from 20,000 graduations; then, on a school of that size, the
## import, the API's single GET and lists, and the executor beside their baselines.
bench: install
	$(BIN)/python -m bench.sweep_bench
	$(BIN)/python -m bench.forecast_bench
	$(BIN)/python -m bench.school_bench
	$(BIN)/python -m bench.records_bench
	$(BIN)/python -m bench.pages_bench

## A soak, not a test: the claim's stateful model with many more examples, on both databases
## (SOAK_EXAMPLES, SOAK_STEPS to change how long it runs).
SOAK_EXAMPLES ?= 2000
SOAK_STEPS ?= 50
soak: install
	@mkdir -p instance
	CLAIM_MODEL_EXAMPLES=$(SOAK_EXAMPLES) CLAIM_MODEL_STEPS=$(SOAK_STEPS) \
		TEST_DATABASE_URL="$(SQLITE_TEST_URL)" $(BIN)/python -m pytest -q -s tests/refunds/test_claim_model.py
	CLAIM_MODEL_EXAMPLES=$(SOAK_EXAMPLES) CLAIM_MODEL_STEPS=$(SOAK_STEPS) \
		TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/python -m pytest -q -s tests/refunds/test_claim_model.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis *.egg-info
