"""`python -m bench --n N`: build (or reuse) the benchmark database, then measure.

Without DATABASE_URL the database is bench/bench-<N>.sqlite3; with it, that PostgreSQL
database (created if missing). Results go to stdout and bench/results-<db>-<N>.md.
"""

import argparse
import os
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--n", type=int, default=1_000_000, help="orders of the big merchant")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="regenerate even if usable")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated parts: pages,export,import,events (default all)",
    )
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{BENCH_DIR / f'bench-{args.n}.sqlite3'}")
    _create_pg_database(os.environ["DATABASE_URL"])
    sys.path.insert(0, str(BENCH_DIR.parent))
    import django

    django.setup()
    from bench import generate, measure

    if args.export_child:
        return measure.export_child(args.n)

    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    if args.rebuild or not generate.existing_ok(args.n):
        print(f"Building the benchmark database ({connection.vendor}, N={args.n:,}) ...")
        generate.build(args.n)
        if not args.generate_only:
            # Measure in a fresh process, as a server would run: the generator leaves a large
            # heap behind, and Python's garbage collector then slows every request measured.
            again = [a for a in (argv or sys.argv[1:]) if a != "--rebuild"]
            sys.stdout.flush()
            os.execv(sys.executable, [sys.executable, "-m", "bench", *again])
    else:
        call_command("migrate", verbosity=0, interactive=False)
        print(f"Reusing the benchmark database ({connection.vendor}, N={args.n:,}).")
        from django.core.management import get_commands

        # A migration may have added kept counts since the data was written.
        if "rebuild_status_counts" in get_commands():
            call_command("rebuild_status_counts")
        # ...or indexes: without fresh statistics the planners ignore them (SQLite picks the
        # indexes it has statistics for, whatever the query). On PostgreSQL the last run's
        # import and its removal left dead rows behind, which slow every index scan until a
        # vacuum: each run starts from a vacuumed database.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        # The trigram indexes of the newest orders, as a deployment keeps them (a large table).
        call_command("roll_search_index")
    if args.generate_only:
        return 0
    parts = set(filter(None, args.only.split(","))) or {"pages", "export", "import", "events"}
    measure.run(args.n, parts, started)
    return 0


def _create_pg_database(url):
    """A PostgreSQL benchmark database is created on first use."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    params = {
        "host": cfg.get("HOST") or None,
        "port": cfg.get("PORT") or None,
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]])
        if found.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


if __name__ == "__main__":
    sys.exit(main())
