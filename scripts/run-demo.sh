#!/bin/sh
# `make run`: the dashboard with its live demo. Starts the background processes (each logging
# to its own file under $LOG_DIR), serves the dashboard in the foreground, prints the URL and
# the logins once the server answers, and stops everything when the server stops (Ctrl-C).
#
# A new background process is one line in the "background processes" part below:
#     background NAME COMMAND ARGS...
# Its log is $LOG_DIR/NAME.log and the banner lists it.
set -eu

PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
SIMULATE=${SIMULATE:-1}
SIM_INTERVAL=${SIM_INTERVAL:-5}
LOG_DIR=${LOG_DIR:-var/log}
URL="http://$HOST:$PORT/"
export DEBUG=1 PYTHONUNBUFFERED=1

mkdir -p "$LOG_DIR"
PIDS=""
LOGS=""

background() {
    name=$1
    shift
    "$@" >"$LOG_DIR/$name.log" 2>&1 &
    PIDS="$PIDS $!"
    LOGS="$LOGS --log $name=$LOG_DIR/$name.log"
}

stop_background() {
    for pid in $PIDS; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $PIDS; do
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_background EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- background processes -------------------------------------------------------------------
# The task worker (reviews, imports, events, webhook deliveries) and the demo webhook receiver.
background services "$PY" manage.py run_demo_services --watch-pid $$
if [ "$SIMULATE" = "1" ]; then
    background simulator "$PY" manage.py simulate_operations --interval "$SIM_INTERVAL"
fi

# -- the banner, once the server answers ----------------------------------------------------
# shellcheck disable=SC2086  # LOGS is a list of arguments
BANNER=$("$PY" manage.py demo_banner --url "$URL" $LOGS)
(
    "$PY" scripts/wait_for_server.py "$URL" 120
    # A server that cannot take the port stops at once, and this is stopped with it before
    # it says "up" for another program's server.
    sleep 1
    printf '%s\n' "$BANNER"
) &
PIDS="$PIDS $!"

# -- the server, in the foreground ----------------------------------------------------------
"$PY" manage.py runserver "$HOST:$PORT"
