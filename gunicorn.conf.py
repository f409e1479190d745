"""gunicorn's settings for the dashboard (gunicorn reads ./gunicorn.conf.py by itself).

`make serve` runs `gunicorn dashboard.wsgi` with these; production can too. The worker count
and class were chosen by measurement with the load client (loadtest/README.md, "Choosing
the workers"): on this 2-core machine, shared by gunicorn, PostgreSQL and the load client
(and other people's work), 2 gthread workers of 4 threads each served about twice the
requests a second of 3, 4 or 6 sync workers, with a lower p99 and about 15% less CPU per
request. Every value can be changed from the environment without editing this file.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8100")
# gunicorn's own convention for the worker count is WEB_CONCURRENCY.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# More than 1 thread makes gunicorn use gthread workers (GUNICORN_THREADS=1: sync workers).
# A thread waiting for PostgreSQL or for a slow client lets another one of its process run.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Load Django once in the master, then fork: workers start in a fraction of a second and
# share the pages dashboard/wsgi.py froze out of the garbage collector's sight.
preload_app = True
# A request that takes longer than this is a bug or a stuck database: the worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
# Keep-alive lets a browser (and the load client) reuse its connection for the next request.
keepalive = 5
# One line per request costs a write on every request; off unless asked for ("-": stdout).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# gunicorn's control socket (gunicornc) defaults to one path per user: two servers of one
# user on one machine would take each other's. Ours lives beside the checkout.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "var/gunicorn.ctl")
