"""Where a request's time goes: each kind of request of the load mix, run in this process
through Django's test client on `make serve`'s database with production settings, timed and
profiled (cProfile). No network and no gunicorn: what is left is Django, the middleware,
the view, the templates and the database.

    .venv/bin/python loadtest/profile_requests.py            # ms, CPU ms, queries per kind
    .venv/bin/python loadtest/profile_requests.py --areas    # CPU shares: templates, ORM...
    .venv/bin/python loadtest/profile_requests.py --top 30   # and the 30 costliest functions
    .venv/bin/python loadtest/profile_requests.py --kind order --top 40 --sort tottime

It reads SERVE_DATABASE_URL (default: make serve's) and only reads: the action kind asks
for the cancel confirmation, it never confirms.
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = os.environ.get(
    "SERVE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fulfillment_serve"
)
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "profile-only-secret-key-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("LOG_LEVEL", "ERROR")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from orders.models import Order  # noqa: E402


def kinds(numbers):
    """Each kind of request the load client sends, as (kind, path, htmx) lists."""
    n = numbers
    return {
        "list": [
            ("/orders/", False),
            ("/orders/?group=processing&sort=-changed", False),
            ("/orders/?view=attention&page=2", False),
            ("/orders/?group=shipped&flow=print&sort=number", False),
        ],
        "list_fragment": [("/orders/?group=action_required", True), ("/orders/?view=stuck", True)],
        "search": [("/orders/?q=Smith", False), ("/orders/?q=Berlin", False)],
        "order": [(f"/orders/{x}/", False) for x in n[:4]],
        "order_fragment": [(f"/orders/{x}/", True) for x in n[4:6]],
        "action_confirm": [(f"/orders/{x}/cancel/", True) for x in n[6:8]],
        "export": [("/orders/export.csv?group=processing", False)],
        "page": [("/status-guide/", False)],
    }


def run(client, path, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(path, **headers)
    if response.streaming:
        b"".join(response.streaming_content)
    if response.status_code >= 500:
        raise SystemExit(f"{path} answered {response.status_code}")
    return response


class QueryCount:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", default="manager")
    parser.add_argument("--rounds", type=int, default=30, help="requests per path (30)")
    parser.add_argument("--kind", action="append", help="only this kind (repeatable)")
    parser.add_argument("--top", type=int, default=0, help="print the N slowest functions")
    parser.add_argument("--sort", default="cumulative", help="pstats order (cumulative)")
    parser.add_argument("--areas", action="store_true", help="CPU shares by area of the code")
    args = parser.parse_args(argv)

    user = get_user_model().objects.get(username=args.user)
    client = Client()
    client.force_login(user)
    numbers = list(
        Order.objects.filter(merchant__memberships__user=user)
        .order_by("-pk")
        .values_list("number", flat=True)[:8]
    )
    wanted = kinds(numbers)
    if args.kind:
        wanted = {k: v for k, v in wanted.items() if k in args.kind}

    for paths in wanted.values():  # warm up: imports, template loading, prepared statements
        for path, htmx in paths:
            for _ in range(6):
                run(client, path, htmx)

    # Timed without the profiler (it slows Python code several times more than database
    # waits, so its times are not the real proportions); then profiled, if asked for.
    # Wall time includes waiting for PostgreSQL (and for the CPU, on a busy machine); CPU
    # time is this process's own work: Django, the view, the templates, the driver.
    print(
        f"{'kind':<16}{'requests':>9}{'wall p50 ms':>12}{'wall mean':>10}"
        f"{'CPU mean':>9}{'queries':>8}"
    )
    for kind, paths in wanted.items():
        times, counter = [], QueryCount()
        cpu_started = time.process_time()
        with connection.execute_wrapper(counter):
            for _ in range(args.rounds):
                for path, htmx in paths:
                    started = time.perf_counter()
                    run(client, path, htmx)
                    times.append(time.perf_counter() - started)
        cpu = (time.process_time() - cpu_started) / len(times)
        print(
            f"{kind:<16}{len(times):>9}{statistics.median(times) * 1000:>12.2f}"
            f"{statistics.mean(times) * 1000:>10.2f}{cpu * 1000:>9.2f}"
            f"{counter.count / len(times):>8.1f}"
        )
    if args.top or args.areas:
        # CPU time, so a busy machine's waits do not land on whatever function was running.
        profiler = cProfile.Profile(time.process_time)
        for paths in wanted.values():
            for _ in range(args.rounds):
                for path, htmx in paths:
                    profiler.enable()
                    run(client, path, htmx)
                    profiler.disable()
        stats = pstats.Stats(profiler)
        if args.areas:
            print_areas(stats)
        if args.top:
            out = io.StringIO()
            stats.stream = out
            stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())


# Where a function's own time is counted, by the path of its file (first match wins).
AREAS = [
    ("django/template/", "templates (Django's engine)"),
    ("dashboard/templatetags/", "templates (our tags and filters)"),
    ("django/forms/", "forms and widgets"),
    ("django_filters/", "forms and widgets"),
    ("django/db/models/sql/", "ORM: building SQL"),
    ("django/db/models/", "ORM: querysets, rows to objects"),
    ("django/db/backends/", "database driver (psycopg) and wrappers"),
    ("psycopg", "database driver (psycopg) and wrappers"),
    ("django/contrib/sessions/", "sessions and authentication"),
    ("django/contrib/auth/", "sessions and authentication"),
    ("django/core/signing", "sessions and authentication"),
    ("django/middleware/", "middleware"),
    ("django/contrib/messages/", "middleware"),
    ("csp/", "middleware"),
    ("axes/", "middleware"),
    ("whitenoise/", "middleware"),
    ("django_htmx/", "middleware"),
    ("django/urls/", "URLs: resolving and reversing"),
    ("django/utils/html", "escaping, formatting (django.utils)"),
    ("django/utils/safestring", "escaping, formatting (django.utils)"),
    ("django/utils/formats", "escaping, formatting (django.utils)"),
    ("django/utils/dateformat", "escaping, formatting (django.utils)"),
    ("django/utils/numberformat", "escaping, formatting (django.utils)"),
    ("django/utils/timezone", "escaping, formatting (django.utils)"),
    ("django/utils/functional", "lazy objects, translation (django.utils)"),
    ("django/utils/translation", "lazy objects, translation (django.utils)"),
    ("django/utils/", "Django, other"),
    ("django/core/handlers", "request handling (django.core)"),
    ("django/http/", "request handling (django.core)"),
    ("django/test/", "test client (not in gunicorn)"),
    ("dashboard/", "our views and helpers"),
    ("orders/", "our domain code"),
    ("django/", "Django, other"),
]


def _area(func):
    path = func[0].replace("\\", "/")
    return next((label for part, label in AREAS if part in path), None)


def print_areas(stats):
    """Each function's own CPU time, summed by the area of the code it belongs to. Time in
    the standard library and built-ins (escaping, copying, joining strings) goes to the
    area that called them, split by how much each caller spent there."""
    totals = {}

    def add(func, amount, depth=0):
        area = _area(func)
        callers = stats.stats[func][4] if func in stats.stats else {}
        if area is None and callers and depth < 12:
            spent = sum(entry[3] for entry in callers.values()) or 1.0
            for caller, entry in callers.items():
                add(caller, amount * entry[3] / spent, depth + 1)
            return
        area = area or "Python, other"
        totals[area] = totals.get(area, 0.0) + amount

    for func, (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        add(func, own)
    whole = sum(totals.values()) or 1.0
    print(f"{'area':<42}{'share':>7}")
    for area, own in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"{area:<42}{own / whole:>7.0%}")


if __name__ == "__main__":
    main()
