"""Where a request's time goes: each kind of request of the load mix, run in this process
through Django's test client on `make serve`'s database with production settings, timed and
profiled (cProfile). No network and no gunicorn: what is left is Django, the middleware,
the view, the templates and the database.

    .venv/bin/python loadtest/profile_requests.py            # ms, CPU ms, queries per kind
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
    if args.top:
        # CPU time, so a busy machine's waits do not land on whatever function was running.
        profiler = cProfile.Profile(time.process_time)
        for paths in wanted.values():
            for _ in range(args.rounds):
                for path, htmx in paths:
                    profiler.enable()
                    run(client, path, htmx)
                    profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(args.sort)
        stats.print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
