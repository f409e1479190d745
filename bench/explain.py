"""EXPLAIN the SQL the order list and the order page really run, on a filled database.

    DATABASE_URL=... python bench/explain.py [--merchant bench-big] [--out bench/explain]

Each page is requested through the test client as the merchant's manager; every query it
sends is captured and explained (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on
PostgreSQL), and written to <out>/<vendor>.txt. Point it at a database with a few hundred
thousand orders or more (the benchmark's), or the plans say little.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name, query string (or a callable building it from the first page's next link)
PAGES = [
    ("list: default view (All, newest first)", ""),
    ("list: status tab (Processing)", "group=processing"),
    ("list: sub-status (Picked)", "group=processing&status=picked"),
    ("list: hold reason (Invalid address)", "group=action_required&hold_reason=invalid_address"),
    ("list: sorted by last status change", "sort=-changed"),
    ("list: search, exact order number", "q={exact}"),
    ("list: search, order number prefix", "q={prefix}"),
    ("list: search, email", "q={email}"),
    ("list: search, tracking number", "q={tracking}"),
    ("list: search, SKU", "q={sku}"),
    ("list: page 1,000 (cursor)", "cursor={deep}"),
    ("order page: order with the longest history", "order:{history}"),
]


def setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("SECRET_KEY", "explain-only")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def samples(merchant):
    """Real values from the database to search for and a cursor 1,000 pages deep."""
    from django.db.models import Count

    from dashboard.paging import NEXT, encode_cursor
    from orders.models import Order, OrderLine, StatusChange

    orders = Order.objects.filter(merchant=merchant)
    middle = orders.order_by("-created_at", "-id")[orders.count() // 3]
    shipped = orders.exclude(tracking_number="").order_by("-created_at", "-id").first()
    line = OrderLine.objects.filter(order=middle).first()
    deep = orders.visible().order_by("-created_at", "-id").values_list("created_at", "id")[49_999]
    history = (
        StatusChange.objects.filter(order__merchant=merchant)
        .values("order_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    return {
        "exact": middle.number,
        "prefix": middle.number[:5],
        "email": middle.customer_email,
        "tracking": shipped.tracking_number if shipped else "none",
        "sku": line.sku if line else "none",
        "deep": encode_cursor("-created", NEXT, list(deep), 50_001),
        "history": Order.objects.get(pk=history["order_id"]).number,
    }


def explain(connection, sql, params):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(" " * 2 * (row[1] and 1) + row[-1] for row in cursor.fetchall())


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--merchant", default="bench-big")
    parser.add_argument("--out", default=str(ROOT / "bench" / "explain"))
    args = parser.parse_args(argv)
    setup()

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orders.models import Membership, Merchant, Order

    merchant = Merchant.objects.get(slug=args.merchant)
    member = Membership.objects.filter(merchant=merchant, role="manager").first()
    client = Client()
    client.force_login(member.user)
    values = samples(merchant)
    total = Order.objects.filter(merchant=merchant).count()
    out = [f"{connection.vendor}: {total:,} orders for {merchant.slug}", ""]
    for name, query in PAGES:
        query = query.format(**values)
        url = f"/orders/{query[6:]}/" if query.startswith("order:") else f"/orders/?{query}"
        client.get(url)  # warm
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        out.append("=" * 100)
        out.append(f"{name}  ->  GET {url[:90]}  ({response.status_code})")
        for captured in ctx.captured_queries:
            sql = captured["sql"]
            if not any(t in sql for t in ("orders_order", "orders_statuscount", "orders_status")):
                continue
            out.append("-" * 100)
            out.append(sql)
            out.append("")
            out.append(explain(connection, sql, None))
        out.append("")
    target = Path(args.out)
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{connection.vendor}.txt"
    path.write_text("\n".join(out) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
