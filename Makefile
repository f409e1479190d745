# Two commands matter: `make run` (the dashboard on SQLite with a live demo) and `make test`;
# `make reset` gives a fresh demo database.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
N ?= 1000000
# The live demo: `make run` moves orders along beside the server (SIMULATE=0 turns it off).
SIMULATE ?= 1
SIM_INTERVAL ?= 5
# `make test` runs the suite in parallel, one worker per core (TEST_WORKERS=0: one process).
# The fuzz tests draw 30 examples per property; FUZZ_EXAMPLES=2000 FUZZ_RANDOM=1 searches harder.
TEST_WORKERS ?= auto

.PHONY: install run serve reset test lint format bench graph clean loadtest screenshots

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# The demo: migrate, load the demo data once, then scripts/run-demo.sh serves the dashboard,
# runs the background processes (the simulator; logs in var/log/) and prints the banner
# (URL, logins, log files) once the server answers. Ctrl-C stops everything.
# Reviews, imports and merchant notifications run on the real worker beside the server
# (docs/webhooks.md); the demo receiver and endpoints live on 127.0.0.1.
run: export TASKS_BACKEND ?= django_tasks_db.DatabaseBackend
run: export WEBHOOK_ALLOW_LOOPBACK ?= 1
run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	@PY=$(PY) HOST=$(HOST) PORT=$(PORT) SIMULATE=$(SIMULATE) SIM_INTERVAL=$(SIM_INTERVAL) \
		sh scripts/run-demo.sh

# Production on this machine: gunicorn (gunicorn.conf.py) with DEBUG off on PostgreSQL, the
# task worker and whitenoise, on http://127.0.0.1:8100/ (scripts/serve.sh). The database is
# created if missing and the demo data loaded once. `make loadtest` in another shell loads it.
SERVE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/fulfillment_serve
SERVE_PORT ?= 8100
serve: install
	@PY=$(PY) HOST=$(HOST) PORT=$(SERVE_PORT) SERVE_DATABASE_URL=$(SERVE_DATABASE_URL) \
		sh scripts/serve.sh

# A fresh demo database (the virtualenv stays): the SQLite file is deleted and rebuilt, or
# with DATABASE_URL set, that database is emptied (flush) and the demo loaded again.
reset: install
	@if [ -z "$${DATABASE_URL:-}" ]; then \
		rm -f db.sqlite3 db.sqlite3-journal db.sqlite3-wal db.sqlite3-shm; \
	else \
		DEBUG=1 $(PY) manage.py flush --noinput; \
	fi
	rm -f var/log/*.log
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo

# The tests write bytecode caches (git ignores them) even where the environment sets
# PYTHONDONTWRITEBYTECODE: the project is then compiled once, by the first pytest process,
# instead of again in every test worker, and a second run compiles nothing.
test: export PYTHONDONTWRITEBYTECODE =
test: install
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "NOTE: /usr/bin/chromium not found: the real-browser tests in tests/e2e are skipped."; \
		echo "      Install it with 'apt-get install -y chromium' to run them."; \
	fi
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The README's screenshots (docs/screenshots/), taken by the browser tests.
screenshots: install
	DOCS_SCREENSHOTS=1 $(PY) -m pytest -q tests/e2e

# The load client against `make serve` (start that first, in another shell): 5 minutes of
# mixed traffic; the summary also goes to loadtest/last-run.json (loadtest/README.md).
LOADTEST_URL ?= http://127.0.0.1:$(SERVE_PORT)
LOADTEST_DURATION ?= 300
LOADTEST_WORKERS ?= 8
loadtest: install
	$(PY) loadtest/run.py --base-url $(LOADTEST_URL) --duration $(LOADTEST_DURATION) \
		--workers $(LOADTEST_WORKERS) --json loadtest/last-run.json

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The benchmark: builds (or reuses) a database with N orders and measures the list, search,
# order page, export and import beside the Django admin. SQLite by default (bench/bench-N.sqlite3);
# DATABASE_URL=postgres://... measures PostgreSQL. Results: stdout and bench/results-<db>-<N>.md.
bench: install
	$(PY) -m bench --n $(N)

graph: install
	DEBUG=1 $(PY) manage.py graph_transitions orders.Order.status > docs/status-machine.dot
	DEBUG=1 $(PY) manage.py graph_transitions orders.Order.payment_status > docs/payment-machine.dot
	DEBUG=1 $(PY) manage.py graph_transitions orders.Order.status -o docs/status-machine.png && rm -f docs/status-machine
	DEBUG=1 $(PY) manage.py graph_transitions orders.Order.payment_status -o docs/payment-machine.png && rm -f docs/payment-machine

# Everything the Makefile made, the virtualenv included (`make reset` keeps it).
clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles var
