# Two commands matter: `make run` (the dashboard on SQLite with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
N ?= 1000000
# The live demo: `make run` moves orders along beside the server (SIMULATE=0 turns it off).
SIMULATE ?= 1
SIM_INTERVAL ?= 5

.PHONY: install run serve test lint format bench graph clean loadtest

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Reviews, imports and merchant notifications run on the real worker beside the server
# (docs/webhooks.md); the demo receiver and endpoints live on 127.0.0.1.
run: export TASKS_BACKEND ?= django_tasks_db.DatabaseBackend
run: export WEBHOOK_ALLOW_LOOPBACK ?= 1
run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	@DEBUG=1 $(PY) manage.py demo_banner --url http://$(HOST):$(PORT)/
	@# The task worker and the demo webhook receiver; they stop when make exits.
	@DEBUG=1 $(PY) manage.py run_demo_services --watch-pid $$PPID &
	@# The simulator runs in the background and is stopped whenever runserver exits
	@# (Ctrl-C, an error, or a kill): the trap runs on the shell's exit.
	@if [ "$(SIMULATE)" = "1" ]; then \
		DEBUG=1 $(PY) manage.py simulate_operations --interval $(SIM_INTERVAL) & SIM_PID=$$!; \
		trap 'kill $$SIM_PID 2>/dev/null; wait $$SIM_PID 2>/dev/null' EXIT INT TERM; \
		DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT); \
	else \
		DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT); \
	fi

test: install
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "NOTE: /usr/bin/chromium not found: the real-browser tests in tests/e2e are skipped."; \
		echo "      Install it with 'apt-get install -y chromium' to run them."; \
	fi
	$(PY) -m pytest $(PYTEST_ARGS)

# The load client only: start gunicorn on PostgreSQL first (see loadtest/README.md).
LOADTEST_URL ?= http://127.0.0.1:8100
LOADTEST_DURATION ?= 180
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

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles
