#!/bin/sh
# `make serve`: the dashboard as production runs it, on this machine: gunicorn (settings in
# gunicorn.conf.py) with DEBUG off on PostgreSQL, static files through whitenoise, and the
# task worker beside it. Creates the database if it is missing, migrates, loads the demo data
# once, collects the static files, prints the URL and the logins once the server answers,
# and stops everything on Ctrl-C.
#
# Production settings except two: this serves plain HTTP on 127.0.0.1, so the redirect to
# https and the Secure flag on cookies are off (a browser would not send Secure cookies back
# over http://, and sign-in would fail with a CSRF error).
set -eu

PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8100}
LOG_DIR=${LOG_DIR:-var/log}
URL="http://$HOST:$PORT/"

export DATABASE_URL="${SERVE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/fulfillment_serve}"
export DEBUG=0 SECURE_SSL_REDIRECT=0 SECURE_COOKIES=0 PYTHONUNBUFFERED=1
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-$HOST,localhost,127.0.0.1}"
export TASKS_BACKEND="${TASKS_BACKEND:-django_tasks_db.DatabaseBackend}"
export SITE_URL="${SITE_URL:-http://$HOST:$PORT}"
export GUNICORN_BIND="$HOST:$PORT"

mkdir -p "$LOG_DIR" var
# A secret key of this machine's own, kept in var/ so sessions survive a restart.
if [ -z "${SECRET_KEY:-}" ]; then
    if [ ! -s var/serve-secret-key ]; then
        (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' >var/serve-secret-key)
    fi
    SECRET_KEY=$(cat var/serve-secret-key)
    export SECRET_KEY
fi

# The database, created if missing (through the server's `postgres` database).
"$PY" - <<'EOF'
import os, sys

import dj_database_url
import psycopg
from psycopg import sql

db = dj_database_url.parse(os.environ["DATABASE_URL"])
if db["ENGINE"] != "django.db.backends.postgresql":
    sys.exit("make serve runs on PostgreSQL: set SERVE_DATABASE_URL=postgres://...")
params = {k: v for k, v in {
    "host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"],
}.items() if v}
try:
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not found:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
            print(f"Created the database {db['NAME']}.")
except psycopg.OperationalError as exc:
    sys.exit(f"PostgreSQL is not reachable at {db['HOST']}:{db['PORT']}: {exc}")
EOF

"$PY" manage.py migrate --noinput
"$PY" manage.py seed_demo
# The trigram indexes of the newest orders (only on a table of more than two million orders;
# run it daily from cron too: docs/deployment.md, "Scheduled commands").
"$PY" manage.py roll_search_index
"$PY" manage.py collectstatic --noinput --verbosity 0

PIDS=""
stop_all() {
    for pid in $PIDS; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $PIDS; do
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The task worker: reviews, imports, merchant notifications.
"$PY" manage.py db_worker --interval 1 >"$LOG_DIR/serve-worker.log" 2>&1 &
PIDS="$PIDS $!"

BANNER=$("$PY" manage.py demo_banner --url "$URL" --log "worker=$LOG_DIR/serve-worker.log" \
    --footer "Ctrl-C stops everything; \`make loadtest\` (another shell) loads it for 5 minutes.")
(
    "$PY" scripts/wait_for_server.py "$URL" 60
    sleep 1
    printf '%s\n' "$BANNER"
) &
PIDS="$PIDS $!"

# The server in the foreground (not exec'd, so the trap above stops the worker with it).
"${PY%/python}/gunicorn" dashboard.wsgi &
SERVER=$!
PIDS="$SERVER $PIDS"
wait "$SERVER"
