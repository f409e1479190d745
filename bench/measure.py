"""The measurements of `make bench`: pages side by side with the Django admin, the CSV export,
a 10,000-line import with review. All through the real views and the real importer."""

import contextlib
import datetime
import gc
import html
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import django
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.generate import BIG, MANAGER, STAFF, big_numbers, big_texts
from orders import review
from orders.event_models import Event
from orders.importing import create_batch, run_batch
from orders.models import ImportBatch, InventoryLevel, Merchant, Order, Product

BENCH_DIR = Path(__file__).resolve().parent
MIN_RUNS = 15
WARMUP = 2
ROUNDS = 6
IMPORT_LINES = 10_000
IMPORT_ROUNDS = 3


# --- pages --------------------------------------------------------------------------------


def _sample(client, url, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _summary(client, url, times):
    """Median and p90 of `times`, and one more request's queries."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    times = sorted(times)
    p90 = times[max(0, int(round(0.9 * len(times))) - 1)]
    slowest = max(ctx.captured_queries, key=lambda q: float(q["time"]), default=None)
    return {
        "median": statistics.median(times),
        "p90": p90,
        "queries": len(ctx.captured_queries),
        "status": response.status_code,
        "slowest": slowest["sql"] if slowest else "",
        "slowest_ms": float(slowest["time"]) * 1000 if slowest else 0,
    }


def reference_ms():
    """A fixed pure-Python workload, timed (median of 5): this machine's speed drifts by a
    third and more over minutes, and this figure shows how fast it was during a run."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i % 7
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def explain(sql):
    """The plan of one captured query (with real run times on PostgreSQL)."""
    prefix = (
        "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql)
            rows = cursor.fetchall()
    except Exception as exc:  # a captured query is not always runnable as text
        return f"(no plan: {exc})"
    if connection.vendor == "sqlite":
        return "\n".join(f"{row[0]:>3} {row[1]:>3} {row[-1]}" for row in rows)
    return "\n".join(row[0] for row in rows)


def write_explains(n, pages):
    """bench/explain-<db>-<N>.txt: the slowest query of each case of ours and its plan."""
    out = []
    for r in pages:
        ours = r["ours"]
        out += [
            f"== {r['case']}: {r['url']}",
            f"slowest query ({ours['slowest_ms']:.1f} ms):",
            ours["slowest"],
            "plan:",
            explain(ours["slowest"]),
            "",
        ]
    path = BENCH_DIR / f"explain-{connection.vendor}-{n}.txt"
    path.write_text("\n".join(out))
    return path


def _runs_for(client, url):
    """At least MIN_RUNS; more when a request is quick, so the median is steady."""
    start = time.perf_counter()
    client.get(url)
    once = time.perf_counter() - start
    return MIN_RUNS if once > 0.05 else 31


def _deep_page_url(client):
    """Page 1,000: `?page=1000` while the list pages by number; with cursor paging, the URL
    reached by following the 'next' link 999 times from the first page."""
    first = client.get("/orders/").content.decode()
    found = re.search(r'<a [^>]*href="([^"]+)"[^>]*rel="next"', first)
    if found is None or "page=" in html.unescape(found.group(1)):
        return "/orders/?page=1000", "?page=1000"
    url = html.unescape(found.group(1))
    for _ in range(998):
        page = client.get(url).content.decode()
        found = re.search(r'<a [^>]*href="([^"]+)"[^>]*rel="next"', page)
        if found is None:
            break
        url = html.unescape(found.group(1))
    return url, "cursor after 999 'next' links"


def measure_pages(n):
    users = get_user_model().objects
    big = Merchant.objects.get(slug=BIG)
    ours, admin = Client(), Client()
    ours.force_login(users.get(username=MANAGER))
    admin.force_login(users.get(username=STAFF))
    numbers = big_numbers(n)
    probe = Order.objects.get(merchant=big, number=numbers["exact"])
    tracking = (
        Order.objects.filter(merchant=big, pk__gte=probe.pk)
        .exclude(tracking_number="")
        .order_by("pk")
        .values_list("tracking_number", flat=True)
        .first()
    )
    history = Order.objects.get(merchant=big, number=numbers["history"])
    sku = Product.objects.filter(merchant=big, kind="stock").order_by("sku").first().sku
    deep_url, deep_how = _deep_page_url(ours)
    scope = f"/admin/orders/order/?merchant__id__exact={big.pk}"

    def q(value):
        return urlencode({"q": value})

    # Substrings only a search anywhere finds (not at the start of the field), the same at
    # every N (they were cut from the probe order's name and e-mail, which differ with N:
    # "nas.jones3" at a million, counted exactly, "cas.muller" at ten, "1,000+").
    texts = big_texts()
    surname, inside_email, email_names = texts["surname"], texts["email"], texts["email_names"]

    cases = [
        ("List, default view (all tab counts)", "/orders/", scope),
        ("Status tab: Action Required", "/orders/?group=action_required",
         f"{scope}&status__exact=action_required"),
        ("Status tab: Shipped", "/orders/?group=shipped", None),
        ("Sub-status: In Transit", "/orders/?group=shipped&status=in_transit",
         f"{scope}&status__exact=in_transit"),
        ("Hold reason: Insufficient inventory",
         "/orders/?group=action_required&hold_reason=insufficient_inventory",
         f"{scope}&status__exact=action_required&hold_reason__exact=insufficient_inventory"),
        (f"Search: exact number ({probe.number}, answers 302 to the order)",
         f"/orders/?{q(probe.number)}", f"{scope}&{q(probe.number)}"),
        (f"Search: number prefix ({numbers['prefix']})", f"/orders/?{q(numbers['prefix'])}",
         None),
        ("Search: email", f"/orders/?{q(probe.customer_email)}",
         f"{scope}&{q(probe.customer_email)}"),
        ("Search: tracking number", f"/orders/?{q(tracking)}", f"{scope}&{q(tracking)}"),
        (f"Search: SKU ({sku})", f"/orders/?{q(sku)}", None),
        (f"Search: inside a surname ({surname})", f"/orders/?{q(surname)}",
         f"{scope}&{q(surname)}"),
        (f"Search: inside an email ({inside_email})", f"/orders/?{q(inside_email)}",
         f"{scope}&{q(inside_email)}"),
        (f"Search: inside an email, names only ({email_names})", f"/orders/?{q(email_names)}",
         f"{scope}&{q(email_names)}"),
        (f"Search: inside a tracking number ({tracking[3:11]})",
         f"/orders/?{q(tracking[3:11])}", f"{scope}&{q(tracking[3:11])}"),
        # The admin counts no further than 10,000 orders (orders/admin/order.py), so its
        # last page is p=99 of 100 a page; beyond it, it answers with a redirect.
        (f"Page 1,000 ({deep_how}; admin: its last page, p=99 of 100)", deep_url,
         f"{scope}&p=99"),
        ("Order page (30 history rows)", f"/orders/{history.number}/",
         f"/admin/orders/order/{history.pk}/change/"),
    ]  # fmt: skip
    # Searches are also measured in the admin as Django ships it (see django_admin_defaults).
    cases = [
        (name, url, admin_url, admin_url if name.startswith("Search") else None)
        for name, url, admin_url in cases
    ]
    if os.environ.get("BENCH_ADMIN", "1") == "0":
        # Growth runs (N = 10 million) measure our pages only: there each admin page takes
        # seconds, and the run would take an hour.
        cases = [(name, url, None, None) for name, url, *_admin in cases]
    # Every case is measured in ROUNDS passes over all cases, so a slow spell of the machine
    # weighs on all of them alike instead of on whichever case it fell on.
    clients = [(ours, 0), (admin, 1), (admin, 2)]
    runs, times = {}, {}
    for _name, *urls in cases:
        for (client, side), url in zip(clients, urls, strict=True):
            if url:
                with django_admin_defaults(side == 2):
                    for _ in range(WARMUP):
                        client.get(url)
                    runs[url, side] = -(-_runs_for(client, url) // ROUNDS)  # per round
                times[url, side] = []
    for _ in range(ROUNDS):
        for _name, *urls in cases:
            for (client, side), url in zip(clients, urls, strict=True):
                if url:
                    with django_admin_defaults(side == 2):
                        times[url, side] += _sample(client, url, runs[url, side])
    results = []
    for name, url, admin_url, stock_url in cases:
        mine = _summary(ours, url, times[url, 0])
        theirs = _summary(admin, admin_url, times[admin_url, 1]) if admin_url else None
        stock = None
        if stock_url:
            with django_admin_defaults(True):
                stock = _summary(admin, stock_url, times[stock_url, 2])
        results.append({"case": name, "url": url, "ours": mine, "admin": theirs, "stock": stock})
        print(f"  {name}: {mine['median']:.1f} ms" + (
            f" (admin {theirs['median']:.1f} ms)" if theirs else ""
        ) + (f" (Django's admin {stock['median']:.1f} ms)" if stock else ""))  # fmt: skip
    return results


@contextlib.contextmanager
def django_admin_defaults(active=True):
    """The order admin as Django ships a ModelAdmin, for the comparison column: a paginator
    that counts every match, the full count beside it, and the model's ordering. Our admin
    counts to 10,000 and lists by arrival (orders/admin/order.py), which made its searches
    of common texts several times faster than the baseline the issues were measured
    against. Only this benchmark process is changed, for the duration."""
    if not active:
        yield
        return
    from django.contrib.admin import ModelAdmin
    from django.contrib.admin import site as admin_site

    order_admin = admin_site._registry[Order]
    names = ("paginator", "show_full_result_count", "get_ordering")
    kept = {name: order_admin.__dict__.get(name) for name in names}
    order_admin.paginator = ModelAdmin.paginator
    order_admin.show_full_result_count = True
    order_admin.get_ordering = lambda request: ModelAdmin.get_ordering(order_admin, request)
    try:
        yield
    finally:
        for name, value in kept.items():
            if value is None:
                order_admin.__dict__.pop(name, None)
            else:
                setattr(order_admin, name, value)


# --- export -------------------------------------------------------------------------------


def measure_export(n):
    """Runs the export in a fresh process so its peak RSS is the export's own."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--n", str(n), "--export-child"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        cwd=BENCH_DIR.parent,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def export_child(n):
    client = Client()
    client.force_login(get_user_model().objects.get(username=MANAGER))
    # Warm the code path and the connection on an export that matches nothing.
    b"".join(client.get("/orders/export.csv?created_after=2999-01-01").streaming_content)
    before = _memory_kb("VmRSS")
    start = time.perf_counter()
    response = client.get("/orders/export.csv")
    rows = size = 0
    for piece in response.streaming_content:
        rows += piece.count(b"\n")
        size += len(piece)
    seconds = time.perf_counter() - start
    peak = _memory_kb("VmHWM")
    print(
        json.dumps(
            {
                "rows": rows - 1,
                "bytes": size,
                "seconds": seconds,
                "rows_per_s": (rows - 1) / seconds,
                "peak_rss_mb": peak / 1024,
                "rss_before_mb": before / 1024,
            }
        )
    )
    return 0


def _memory_kb(key):
    """VmRSS (now) or VmHWM (peak) of this process from /proc, in KB. Not getrusage: Linux
    hands a child the parent's peak across fork and exec, which would count the benchmark's
    own memory. Elsewhere: getrusage's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- import -------------------------------------------------------------------------------


def import_csv(merchant, lines, seed=1):
    """A store's CSV of `lines` rows: mostly good orders of 1-3 lines, and the usual share of
    unknown SKUs, bad addresses, approvals, refused payments and row errors."""
    rng = random.Random(seed)
    skus = list(
        Product.objects.filter(merchant=merchant, kind="stock").values_list("sku", flat=True)
    )
    tag = timezone.now().strftime("%H%M%S")
    header = (
        "order_number,customer_name,customer_email,ship_name,address1,city,region,postal_code,"
        "country,ship_option,payment,needs_approval,sku,quantity,unit_price"
    )
    out = [header]
    k = 0
    while len(out) - 1 < lines:
        k += 1
        number = f"IMP-{tag}-{k:05d}"
        roll = rng.random()
        address = (
            ("Ava Smith", "1 Market Street", "New York", "NY", "10001", "US")
            if rng.random() < 0.8
            else ("Lena Schmidt", "Unter den Linden 1", "Berlin", "", "10117", "DE")
        )
        if 0.02 <= roll < 0.04:
            address = (*address[:4], "", address[5])  # no postal code: review holds it
        payment = "refused" if 0.04 <= roll < 0.05 else "paid"
        approval = "yes" if 0.05 <= roll < 0.07 else ""
        for _ in range(min(rng.choices((1, 2, 3), (60, 30, 10))[0], lines - len(out) + 1)):
            sku = f"NOPE-{k}" if roll < 0.02 else rng.choice(skus)
            quantity = "x" if 0.07 <= roll < 0.075 else str(rng.choice((1, 1, 2)))
            out.append(
                ",".join(
                    [
                        number,
                        "Ava Smith",
                        f"ava{k}@example.com",
                        *address[:1],
                        *address[1:],
                        "Standard",
                        payment,
                        approval,
                        sku,
                        quantity,
                        "24.00",
                    ]
                )
            )
    return "\n".join(out) + "\n"


def _import_once(big, seed):
    """One 10,000-line import with review, timed in two parts."""
    text = import_csv(big, IMPORT_LINES, seed=seed)
    spent = {"review": 0.0, "reviewed": 0}
    real = review.review_orders

    def timed(order_ids, **kwargs):
        start = time.perf_counter()
        done = real(order_ids, **kwargs)
        spent["review"] += time.perf_counter() - start
        spent["reviewed"] += done
        return done

    review.review_orders = timed
    try:
        start = time.perf_counter()
        batch = create_batch(merchant=big, content=text, filename="bench.csv", source="command")
        run_batch(batch.pk)
        seconds = time.perf_counter() - start
    finally:
        review.review_orders = real
    batch = ImportBatch.objects.get(pk=batch.pk)
    created = list(batch.rows.exclude(order=None).values_list("order_id", flat=True))
    outcome = {
        "seconds": seconds,
        "import_seconds": seconds - spent["review"],
        "review_seconds": spent["review"],
        "reviewed": spent["reviewed"],
        "state": batch.state,
        "created": batch.created,
        "errors": batch.errors,
        "statuses": _tally(Order.objects.filter(pk__in=created)),
    }
    return batch, created, outcome


def measure_import(n):
    """IMPORT_ROUNDS rounds, each: the reference loop, a 10,000-line import with review, then
    the admin's bulk Hold… and Release on BULK_ORDERS of the orders it created (bench/bulk.py),
    then the removal of everything the round created. Medians of the rounds."""
    from bench.bulk import measure_bulk_round, staff_client

    big = Merchant.objects.get(slug=BIG)
    client = staff_client()
    rounds, bulk, reference = [], [], []
    for round_ in range(IMPORT_ROUNDS):
        reference.append(reference_ms())
        batch, created, outcome = _import_once(big, seed=round_ + 1)
        try:
            bulk.append(measure_bulk_round(client, created))
        finally:
            _remove_import(batch, created)
        rounds.append(outcome)
        print(
            f"  round {round_ + 1}: import {outcome['seconds']:.1f} s "
            f"({outcome['import_seconds']:.1f} + {outcome['review_seconds']:.1f} review); "
            f"bulk hold {bulk[-1]['orders'] / bulk[-1]['hold_s']:,.0f}/s, release "
            f"{bulk[-1]['orders'] / bulk[-1]['release_s']:,.0f}/s; reference {reference[-1]:.0f} ms"
        )
    median = statistics.median
    review_s = median(r["review_seconds"] for r in rounds)
    return {
        **rounds[-1],
        "lines": IMPORT_LINES,
        "rounds": len(rounds),
        "seconds": median(r["seconds"] for r in rounds),
        "import_seconds": median(r["import_seconds"] for r in rounds),
        "review_seconds": review_s,
        "orders_per_s": median(r["reviewed"] / r["review_seconds"] for r in rounds),
        "all_seconds": [r["seconds"] for r in rounds],
        "reference": reference,
        "bulk_orders": bulk[-1]["orders"],
        "hold_per_s": median(b["orders"] / b["hold_s"] for b in bulk),
        "release_per_s": median(b["orders"] / b["release_s"] for b in bulk),
    }


def _tally(orders):
    tally = {}
    for status in orders.values_list("status", flat=True):
        tally[status] = tally.get(status, 0) + 1
    return dict(sorted(tally.items(), key=lambda kv: -kv[1]))


def _remove_import(batch, order_ids):
    """Leave the benchmark database as it was, so the next run can reuse it.

    Orders are never deleted by the product (orders/integrity.py refuses it through the ORM);
    this benchmark removes the orders it imported itself with plain SQL, on purpose, so the
    next run measures the same database. The batch and its rows go first, then whatever
    points at the orders (lines, history, tracking events, address changes), then the
    orders."""
    batch.delete()
    relations = [
        rel
        for rel in Order._meta.get_fields(include_hidden=True)
        if rel.one_to_many and rel.related_model is not Order
    ]
    tables = [(rel.related_model._meta.db_table, rel.field.column) for rel in relations]
    tables.append((Order._meta.db_table, "id"))
    quote = connection.ops.quote_name
    postgresql = connection.vendor == "postgresql"
    events = quote(Event._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if postgresql:
            # Events have no index on their order (the product never deletes orders), so the
            # foreign-key check of each deleted order would read the whole event table, dead
            # rows included: minutes per round. A temporary index for this transaction, with
            # the checks made while it exists rather than at commit.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"CREATE INDEX bench_event_order ON {events} (order_id)")
        for start in range(0, len(order_ids), 500):
            ids = order_ids[start : start + 500]
            marks = ", ".join(["%s"] * len(ids))
            for table, column in tables:
                cursor.execute(
                    f"DELETE FROM {quote(table)} WHERE {quote(column)} IN ({marks})", ids
                )
        if postgresql:
            cursor.execute("DROP INDEX bench_event_order")
    InventoryLevel.objects.filter(product__merchant__slug=BIG).update(reserved=0)
    if "rebuild_status_counts" in get_commands():
        call_command("rebuild_status_counts")


# --- report -------------------------------------------------------------------------------


def _ms(value):
    return f"{value:.1f}"


def _ratio(value):
    return f"{value:.2f}×" if value >= 0.1 else f"{value:.3f}×"


def render(n, pages, export, imported, elapsed, reference=(), more=()):
    vendor = connection.vendor
    if vendor == "sqlite":
        version = connection.Database.sqlite_version
    else:
        number = connection.cursor().connection.info.server_version  # e.g. 150020
        version = f"{number // 10000}.{number % 10000}"
        with connection.cursor() as cursor:
            cursor.execute("SHOW shared_buffers")
            version += f" (shared_buffers {cursor.fetchone()[0]})"
    lines = [
        f"### {'SQLite' if vendor == 'sqlite' else 'PostgreSQL'} {version}, N = {n:,}",
        "",
        f"{n:,} orders for one merchant plus {n // 10:,} for a second; "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; Python "
        f"{platform.python_version()}, Django {django.get_version()}; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} when the table was written (whatever else "
        "runs on the machine counts in the times).",
        "",
    ]
    if reference:
        lines += [
            "Machine speed during the run: a fixed Python loop (bench/measure.py "
            f"reference_ms) took {' ms, then '.join(f'{r:.0f}' for r in reference)} ms; "
            "the lower, the faster the machine was.",
            "",
        ]
    if pages:
        lines += [
            "| case | ours median ms | ours p90 ms | queries | admin median ms | ratio "
            "| Django's admin defaults, median ms | ratio |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in pages:
            ours, admin, stock = r["ours"], r["admin"], r.get("stock")
            status = "" if ours["status"] in (200, 302) else f" (HTTP {ours['status']})"
            if admin and admin["status"] != 200:
                status += f" (admin: HTTP {admin['status']})"
            cells = [r["case"] + status, _ms(ours["median"]), _ms(ours["p90"]), ours["queries"]]
            for other in (admin, stock):
                if other:
                    cells += [_ms(other["median"]), _ratio(ours["median"] / other["median"])]
                else:
                    cells += ["—", "—"]
            lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
        lines.append("")
    if export:
        lines.append(
            f"- **CSV export** of all {export['rows']:,} visible orders of the big merchant: "
            f"{export['seconds']:.1f} s, **{export['rows_per_s']:,.0f} rows/s**, "
            f"{export['bytes'] / 1e6:.0f} MB of CSV; peak RSS of the exporting process "
            f"**{export['peak_rss_mb']:.0f} MB** (VmHWM; {export['rss_before_mb']:.0f} MB "
            "right before the export started)."
        )
    if imported:
        refs = ", ".join(f"{r:.0f}" for r in imported["reference"])
        lines.append(
            f"- **Import of {imported['lines']:,} CSV lines** ({imported['created']:,} orders "
            f"created, {imported['errors']} row errors) including review: "
            f"**{imported['seconds']:.1f} s** ({imported['import_seconds']:.1f} s import, "
            f"{imported['review_seconds']:.1f} s review); medians of {imported['rounds']} "
            f"interleaved rounds (each: {', '.join(f'{x:.1f}' for x in imported['all_seconds'])} "
            f"s; reference loop before each: {refs} ms); batch {imported['state']}."
        )
        lines.append(
            f"- **Review throughput**: {imported['reviewed']:,} orders in "
            f"{imported['review_seconds']:.1f} s = **{imported['orders_per_s']:,.0f} orders/s** "
            f"(outcomes: {', '.join(f'{k} {v}' for k, v in imported['statuses'].items())})."
        )
        lines.append(
            f"- **Bulk staff transitions** in the admin, {imported['bulk_orders']:,} orders per "
            f"POST (Hold… then Release on the import's orders in Processing, through "
            f"orders/bulk.py: row locks, history, counts, stock, events, audit): "
            f"**{imported['hold_per_s']:,.0f} orders/s** hold, "
            f"**{imported['release_per_s']:,.0f} orders/s** release; medians of the same "
            f"{imported['rounds']} rounds (reference loop {refs} ms)."
        )
    lines += [*more, "", f"Whole run: {elapsed:.0f} s.", ""]
    return "\n".join(lines)


def run(n, parts, started):
    pages = export = imported = events = None
    # As dashboard/wsgi.py does once the application is loaded: long-lived objects (here also
    # the benchmark's own) are kept out of the collector's full passes during requests.
    gc.collect()
    gc.freeze()
    reference = [reference_ms()]
    if "pages" in parts:
        print("Pages (ours, then the admin's) ...")
        pages = measure_pages(n)
        reference.append(reference_ms())
        print(f"Plans of the slowest queries: {write_explains(n, pages).name}")
    if "export" in parts:
        print("CSV export ...")
        export = measure_export(n)
    if "import" in parts:
        print("Import of 10,000 lines with review, and bulk staff transitions ...")
        imported = measure_import(n)
    if "events" in parts:
        from bench.events import measure_events

        print("Status change with its event, and webhook delivery ...")
        events = measure_events()
    more = []
    if events:
        from bench.events import render as render_events

        more = render_events(events)
    text = render(n, pages, export, imported, time.perf_counter() - started, reference, more)
    print()
    print(text)
    path = BENCH_DIR / f"results-{connection.vendor}-{n}.md"
    path.write_text(text)
    print(f"Written to {path.relative_to(BENCH_DIR.parent)}")
