"""Benchmark data: N orders for one merchant and N/10 for a second, written fast.

The rows are written with plain multi-row INSERTs (SQLite) or COPY (PostgreSQL), NOT through
the state machines: on purpose, and only here. Orders are given the status they would have
reached, with a short history (import, accept, and the transition into the current state),
so that a million orders take minutes instead of hours. Nothing outside bench/ may do this.

The status mix follows a store that has run for a year: old orders are almost all delivered
(some returned, cancelled, clean swept, failed or still held), the newest few percent are
spread over review, holds, the processing states and the carrier states.
"""

import datetime
import random
import threading
import time

from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.db import connection, connections, transaction
from django.utils import timezone

from orders import deadlines, search, search_recent
from orders import statuses as st
from orders.models import (
    FulfillmentCenter,
    InventoryLevel,
    Membership,
    Merchant,
    Order,
    OrderLine,
    Product,
    ShipOptionMapping,
    StatusChange,
)

BIG, SECOND = "bench-big", "bench-second"
MANAGER, STAFF = "bench-manager", "bench-ops"
HISTORY_ORDER_ROWS = 30
CHUNK = 20_000
RECENT_SHARE = 0.08  # the newest orders are the ones still moving

# (status, weight) for orders older than the newest RECENT_SHARE, then for the newest ones.
MATURE = [
    ("delivered", 880),
    ("returned", 12),
    ("delivery_exception", 3),
    ("cancelled", 40),
    ("clean_swept", 15),
    ("failed", 5),
    ("action_required", 15),
    ("draft", 3),
]
RECENT = [
    ("draft", 10),
    ("import_review", 10),
    ("action_required", 60),
    ("processing", 100),
    ("pick_in_process", 50),
    ("picked", 40),
    ("labeled", 50),
    ("digitizing", 10),
    ("uploading", 20),
    ("passed", 10),
    ("in_production", 30),
    ("printed", 20),
    ("shipped", 140),
    ("in_transit", 250),
    ("out_for_delivery", 60),
    ("delivered", 120),
    ("delivery_exception", 10),
    ("cancelled", 15),
    ("failed", 5),
]
HOLDS = [
    ("insufficient_inventory", 30),
    ("invalid_address", 25),
    ("product_configuration", 15),
    ("special_requirements", 5),
    ("not_connected", 5),
    ("pending_personalization", 10),
    ("pending_approval", 5),
    ("payment_refused", 5),
]
# The transition into each state and where it came from (for the history's last row).
LAST_STEP = {
    "action_required": ("hold", "import_review"),
    "processing": ("accept", "import_review"),
    "pick_in_process": ("start_pick", "processing"),
    "picked": ("finish_pick", "pick_in_process"),
    "labeled": ("pack_and_label", "picked"),
    "digitizing": ("start_digitizing", "processing"),
    "uploading": ("start_upload", "processing"),
    "passed": ("pass_file", "uploading"),
    "in_production": ("start_production", "passed"),
    "printed": ("finish_production", "in_production"),
    "shipped": ("hand_over", "labeled"),
    "in_transit": ("scan", "shipped"),
    "out_for_delivery": ("out_for_delivery", "in_transit"),
    "delivered": ("deliver", "out_for_delivery"),
    "delivery_exception": ("exception", "in_transit"),
    "returned": ("return_to_sender", "in_transit"),
    "cancelled": ("cancel", "processing"),
    "clean_swept": ("clean_sweep", "action_required"),
    "failed": ("fail", "uploading"),
}
PRINT_ONLY = {"digitizing", "uploading", "passed", "in_production", "printed"}
STOCK_ONLY = {"pick_in_process", "picked"}
ACCEPTED = set(st.STATES_BY_GROUP["processing"]) | set(st.STATES_BY_GROUP["shipped"])
RESERVED = {"processing", "pick_in_process", "picked", "labeled"}

FIRST = "Ava Liam Noah Emma Olivia Mia Lucas Lena Jonas Sofia Mateo Chloe Hugo Zoe Ben".split()
LAST = "Smith Jones Brown Miller Garcia Schmidt Muller Martin Bernard Rossi Wilson Klein".split()
DOMAINS = ["example.com", "example.org", "mail.example.net"]
STREETS = ["Market Street", "Main Street", "Oak Avenue", "Hauptstrasse", "High Street"]
PLACES = [  # country, city, region, postal code, weight
    ("US", "New York", "NY", "10001", 40),
    ("US", "Austin", "TX", "73301", 20),
    ("US", "Seattle", "WA", "98101", 10),
    ("CA", "Toronto", "ON", "M5H 2N2", 5),
    ("GB", "London", "", "SW1A 1AA", 8),
    ("DE", "Berlin", "", "10117", 10),
    ("FR", "Paris", "", "75001", 4),
    ("AU", "Sydney", "NSW", "2000", 3),
]
OPTIONS = [("Standard", "USPS", "Ground Advantage"), ("Express", "UPS", "2nd Day Air")]
KINDS = ["TEE", "HOOD", "MUG", "CAP", "TOTE", "SOCK", "POSTER", "PRINT", "PATCH", "EMB"]
COLORS = ["BLK", "WHT", "RED", "NVY", "GRN"]
SIZES = ["XS", "S", "M", "L", "XL", "2XL", "3XL", "4XL", "5XL", "OS"]


def _weights(pairs):
    values, weights = zip(*pairs, strict=True)
    return list(values), list(weights)


def _number(slug, i):
    return str(1_000_000 + i) if slug == BIG else f"NW-{500_000 + i}"


def big_numbers(n):
    """Numbers the measurements look up; the generator guarantees what they point at."""
    return {
        "exact": _number(BIG, n // 3),
        "prefix": _number(BIG, n // 3)[:5],
        "history": _number(BIG, n // 2),
    }


def big_texts():
    """Texts the searches look for inside a field: the same texts at any N, in the same share
    of the orders, as names are drawn alike at any N and the number after them runs over
    997 × N / 1M values, a ninth of which start with 3."""
    return {
        "surname": LAST[1][1:].lower(),  # "ones": a twelfth of the orders
        "email": f"{FIRST[8][2:]}.{LAST[1]}3".lower(),  # "nas.jones3": about 0.06 %
        "email_names": f"{FIRST[6][2:]}.{LAST[6]}".lower(),  # "cas.muller": about 0.56 %
    }


# --- is there a usable database already? --------------------------------------------------


def existing_ok(n):
    """True when this database already holds the benchmark data for this N."""
    try:
        big = Merchant.objects.filter(slug=BIG).first()
        second = Merchant.objects.filter(slug=SECOND).first()
    except Exception:  # no tables yet
        return False
    if big is None or second is None:
        return False
    return (
        Order.objects.filter(merchant=big).count() == n
        and Order.objects.filter(merchant=second).count() == n // 10
        and Order.objects.filter(merchant=big, number=big_numbers(n)["history"]).exists()
        # Data of an older generator has no point of no return (it came with issue 15).
        and Order.objects.filter(merchant=big, no_return_by__isnull=False).exists()
    )


# --- writing rows -------------------------------------------------------------------------


# COPY's text format: a backslash, line break or tab inside a value is written escaped.
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


class Writer:
    """Bulk rows into one table: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, model):
        self.table = model._meta.db_table
        self.columns = [f.column for f in model._meta.concrete_fields]
        self.index = {name: i for i, name in enumerate(self.columns)}
        self.pg = connection.vendor == "postgresql"
        defaults = []
        for f in model._meta.concrete_fields:
            value = f.get_default()
            if isinstance(value, bool):
                pass
            elif value is not None and not isinstance(value, (int, str)):
                value = str(value)
            defaults.append(value)
        self.defaults = defaults

    def row(self, **values):
        out = list(self.defaults)
        index = self.index
        for name, value in values.items():
            out[index[name]] = value
        return out

    def write(self, rows):
        if not rows:
            return
        if self.pg:
            self._copy(rows)
        else:
            marks = ",".join("?" * len(self.columns))
            sql = f'INSERT INTO "{self.table}" ({",".join(self.columns)}) VALUES ({marks})'
            connection.connection.cursor().executemany(sql, rows)

    def _copy(self, rows):
        def cell(v):
            if v is None:
                return "\\N"
            if v is True:
                return "t"
            if v is False:
                return "f"
            v = str(v)
            if "\n" in v or "\\" in v or "\t" in v or "\r" in v:  # search_text has line breaks
                v = v.translate(COPY_ESCAPES)
            return v

        text = "\n".join("\t".join(map(cell, r)) for r in rows) + "\n"
        cols = ",".join(f'"{c}"' for c in self.columns)
        sql = f'COPY "{self.table}" ({cols}) FROM STDIN'
        with connection.connection.cursor() as cur, cur.copy(sql) as copy:
            copy.write(text)


def _stamp(pg):
    # Django keeps SQLite datetimes as naive UTC text and compares them as text.
    if pg:
        return lambda dt: dt.isoformat(" ", "microseconds") + "+00"
    return lambda dt: dt.isoformat(" ", "microseconds")


# --- reference data -----------------------------------------------------------------------


def _reference():
    user_model = get_user_model()
    manager = user_model.objects.create_user(MANAGER, f"{MANAGER}@example.com", "bench-pass")
    user_model.objects.create_superuser(STAFF, f"{STAFF}@example.com", "bench-pass")
    centers = {
        "US": FulfillmentCenter.objects.create(
            code="BNJ",
            name="Bench Newark",
            country="US",
            time_zone="America/New_York",
            handles_stock=True,
            handles_print=True,
        ),
        "DE": FulfillmentCenter.objects.create(
            code="BLE",
            name="Bench Leipzig",
            country="DE",
            time_zone="Europe/Berlin",
            handles_stock=True,
            handles_print=True,
        ),
    }
    merchants = {}
    for slug, name in [(BIG, "Bench Big Store"), (SECOND, "Bench Second Store")]:
        merchant = Merchant.objects.create(name=name, slug=slug)
        merchants[slug] = merchant
        for option, carrier, service in OPTIONS:
            ShipOptionMapping.objects.create(
                merchant=merchant, store_option=option, carrier=carrier, service=service
            )
        products = Product.objects.bulk_create(
            Product(
                merchant=merchant,
                sku=f"{kind}-{color}-{size}",
                name=f"{kind.title()} {color} {size}",
                kind="stock"
                if kind not in ("POSTER", "PRINT", "PATCH", "EMB")
                else ("embroidery" if kind in ("PATCH", "EMB") else "print"),
            )
            for kind in KINDS
            for color in COLORS
            for size in SIZES
        )
        InventoryLevel.objects.bulk_create(
            InventoryLevel(center=center, product=p, on_hand=1_000_000_000)
            for p in products
            if p.kind == "stock"
            for center in centers.values()
        )
    Membership.objects.create(user=manager, merchant=merchants[BIG], role="manager")
    return merchants, centers


# --- orders -------------------------------------------------------------------------------


def _orders(merchant, n, start_ids, centers, now, rng, special):
    """Write n orders of one merchant with their lines and history; returns the next ids."""
    orders_w, lines_w, history_w = Writer(Order), Writer(OrderLine), Writer(StatusChange)
    stamp = _stamp(orders_w.pg)
    order_id, line_id, history_id = start_ids
    products = list(
        Product.objects.filter(merchant=merchant).values_list("pk", "sku", "name", "kind")
    )
    stock_products = [p for p in products if p[3] == "stock"]
    print_products = [p for p in products if p[3] == "print"]
    emb_products = [p for p in products if p[3] == "embroidery"]
    mature, mature_w = _weights(MATURE)
    recent, recent_w = _weights(RECENT)
    holds, holds_w = _weights(HOLDS)
    places, places_w = _weights([(p[:4], p[4]) for p in PLACES])
    span = datetime.timedelta(days=365).total_seconds()
    begin = now - datetime.timedelta(days=365, hours=1)
    recent_from = int(n * (1 - RECENT_SHARE))
    # About two orders per e-mail address at any N, as a store ten times the size has about
    # ten times the customers: 180 names, 997 numbers per million orders (the data of a
    # million or fewer is as before), three domains. With 997 at any N, ten million orders
    # had each address about 19 times, and searching one read ten times the orders.
    customers = 997 * max(1, round(n / 1_000_000))
    slug = merchant.slug
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        statuses = rng.choices(mature, mature_w, k=size)
        for k in range(size):
            if start + k >= recent_from:
                statuses[k] = rng.choices(recent, recent_w)[0]
        order_rows, line_rows, history_rows, search_rows = [], [], [], []
        for k in range(size):
            i = start + k
            status = "delivered" if i == special else statuses[k]
            created = begin + datetime.timedelta(seconds=span * i / n + rng.random() * 30)
            country, city, region, postal = rng.choices(places, places_w)[0]
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if status in PRINT_ONLY:
                flow = st.PRINT
            elif status in STOCK_ONLY:
                flow = st.STOCK
            else:
                flow = st.STOCK if rng.random() < 0.75 else st.PRINT
            embroidery = status == "digitizing" or (flow == st.PRINT and rng.random() < 0.2)
            option, carrier, service = OPTIONS[0] if rng.random() < 0.8 else OPTIONS[1]
            if country not in ("US", "CA"):
                carrier, service = "DHL", "Express Worldwide"
            accepted = status in ACCEPTED or status in ("cancelled", "failed")
            center = centers["US" if country in ("US", "CA") else "DE"].pk if accepted else None
            hold = rng.choices(holds, holds_w)[0] if status == "action_required" else ""
            changed = min(created + datetime.timedelta(hours=rng.random() * 72), now)
            if status in ("draft", "import_review", "action_required"):
                payment = (
                    "refused" if hold == "payment_refused" else rng.choice(["paid", "pending"])
                )
            elif status == "cancelled":
                payment = "refunded"
            else:
                payment = "paid"
            tracking = ""
            if status in st.STATES_BY_GROUP["shipped"]:
                tracking = (
                    f"1Z{order_id:016d}"
                    if carrier == "UPS"
                    else f"9400{order_id:018d}"
                    if carrier == "USPS"
                    else f"{order_id:010d}"
                )
            count = rng.choices((1, 2, 3), (35, 35, 30))[0]
            pool = (
                emb_products
                if embroidery
                else print_products
                if flow == st.PRINT
                else (stock_products)
            )
            lines = [rng.choice(pool) for _ in range(count)]
            quantities = [rng.choice((1, 1, 1, 2, 3)) for _ in lines]
            prices = [rng.choice((12, 18, 24, 36, 48)) for _ in lines]
            number = _number(slug, i)
            email = f"{first}.{last}{i % customers}@{DOMAINS[i % 3]}".lower()
            # What orders.search.reindex() writes, written here at once (no second pass).
            text = search.search_text(
                number, f"{first} {last}", email, tracking, [p[1] for p in lines]
            )
            search_rows.append((text, order_id))
            order_rows.append(
                orders_w.row(
                    id=order_id,
                    merchant_id=merchant.pk,
                    number=number,
                    search_text=text,
                    flow=flow,
                    has_embroidery=embroidery,
                    customer_name=f"{first} {last}",
                    customer_email=email,
                    customer_phone=f"+1 555 {i % 10_000:04d}",
                    ship_name=f"{first} {last}",
                    address1=f"{1 + i % 900} {STREETS[i % len(STREETS)]}",
                    city=city,
                    region=region,
                    postal_code=postal,
                    country=country,
                    ship_option=option,
                    carrier=carrier if accepted else "",
                    service=service if accepted else "",
                    tracking_number=tracking,
                    center_id=center,
                    status=status,
                    payment_status=payment,
                    hold_reason=hold,
                    hold_note=f"Held by review: {hold.replace('_', ' ')}." if hold else "",
                    failure_reason="Artwork could not be printed." if status == "failed" else "",
                    total=f"{sum(q * p for q, p in zip(quantities, prices, strict=True))}.00",
                    refunded_amount="0.00",
                    currency="USD",
                    needs_approval=hold == "pending_approval",
                    stock_reserved=flow == st.STOCK and status in RESERVED,
                    created_at=stamp(created),
                    status_changed_at=stamp(changed),
                    ship_by=stamp(created + datetime.timedelta(days=2)) if accepted else None,
                    # The point of no return (docs/deadlines.md) of accepted open orders: the
                    # cut-off a day after creation, so the newest fall in "Closing soon".
                    no_return_by=(
                        stamp(created + datetime.timedelta(days=1))
                        if status in deadlines.OPEN_ACCEPTED
                        else None
                    ),
                )
            )
            for (pid, sku, name, _kind), qty, price in zip(lines, quantities, prices, strict=True):
                line_rows.append(
                    lines_w.row(
                        id=line_id,
                        order_id=order_id,
                        product_id=pid,
                        sku=sku,
                        name=name,
                        quantity=qty,
                        unit_price=f"{price}.00",
                        personalization="",
                        personalization_complete=hold != "pending_personalization",
                        merchant_id=merchant.pk,
                        order_created_at=stamp(created),
                        listed=status != "clean_swept",
                    )
                )
                line_id += 1
            steps = [("import", "", "draft" if status == "draft" else "import_review")]
            if status == "draft":
                steps[0] = ("create", "", "draft")
            elif accepted and status != "processing":
                steps.append(("accept", "import_review", "processing"))
            if status in LAST_STEP:
                name, source = LAST_STEP[status]
                steps.append((name, source, status))
            if i == special:
                steps = _long_history()
            for j, (name, source, target) in enumerate(steps):
                when = created + (changed - created) * j / max(len(steps) - 1, 1)
                history_rows.append(
                    history_w.row(
                        id=history_id,
                        order_id=order_id,
                        field="status",
                        transition=name,
                        source=source,
                        target=target,
                        actor_id=None,
                        actor_name="api: Shopify" if j == 0 else "review" if j == 1 else "ops",
                        reason="",
                        created_at=stamp(when),
                    )
                )
                history_id += 1
            order_id += 1
        with transaction.atomic():
            orders_w.write(order_rows)
            lines_w.write(line_rows)
            history_w.write(history_rows)
            if not orders_w.pg:  # SQLite's FTS5 table (PostgreSQL indexes the column)
                connection.connection.cursor().executemany(
                    f"INSERT INTO {search.FTS_TABLE} (text, rowid) VALUES (?, ?)", search_rows
                )
    return order_id, line_id, history_id


def _long_history():
    """An order that bounced between the carrier's states: HISTORY_ORDER_ROWS rows."""
    steps = [
        ("import", "", "import_review"),
        ("accept", "import_review", "processing"),
        ("start_pick", "processing", "pick_in_process"),
        ("finish_pick", "pick_in_process", "picked"),
        ("pack_and_label", "picked", "labeled"),
        ("hand_over", "labeled", "shipped"),
        ("scan", "shipped", "in_transit"),
    ]
    while len(steps) < HISTORY_ORDER_ROWS - 2:
        steps.append(("exception", "in_transit", "delivery_exception"))
        steps.append(("scan", "delivery_exception", "in_transit"))
    steps.append(("out_for_delivery", "in_transit", "out_for_delivery"))
    steps.append(("deliver", "out_for_delivery", "delivered"))
    return steps[:HISTORY_ORDER_ROWS]


# --- the whole database -------------------------------------------------------------------


def reset_database():
    """Empty the benchmark database: a new SQLite file or a new PostgreSQL schema."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    else:
        with connection.cursor() as cur:
            # The search's FTS5 table first: its shadow tables go with it.
            cur.execute(f"DROP TABLE IF EXISTS {search.FTS_TABLE}")
            tables = connection.introspection.table_names(cur)
            cur.execute("PRAGMA foreign_keys = OFF")
            for table in tables:
                cur.execute(f'DROP TABLE IF EXISTS "{table}"')
            cur.execute("PRAGMA foreign_keys = ON")
        connection.close()
    call_command("migrate", verbosity=0, interactive=False)


def build(n, log=print):
    """Generate the benchmark data for N orders (plus N/10 for a second merchant)."""
    started = time.perf_counter()
    reset_database()
    rng = random.Random(20261201)
    now = timezone.now().astimezone(datetime.UTC).replace(tzinfo=None)
    with transaction.atomic():
        merchants, centers = _reference()
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            # A bulk load that fails is simply redone: no journal, no fsync.
            cur.execute("PRAGMA journal_mode = OFF")
            cur.execute("PRAGMA synchronous = OFF")
            cur.execute("PRAGMA cache_size = -1000000")
    ids = (1, 1, StatusChange.objects.count() + 1)
    special = n // 2
    rebuilt = _bulk_load_begin()
    ids = _orders(merchants[BIG], n, ids, centers, now, rng, special)
    log(f"  {n:,} orders of {BIG} written ({time.perf_counter() - started:.0f} s)")
    ids = _orders(merchants[SECOND], n // 10, ids, centers, now, rng, special=-1)
    log(f"  {n // 10:,} orders of {SECOND} written ({time.perf_counter() - started:.0f} s)")
    _bulk_load_end(rebuilt, log, started)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for model in (Order, OrderLine, StatusChange):
                for sql in connection.ops.sequence_reset_sql(_no_style(), [model]):
                    cur.execute(sql)
            cur.execute("VACUUM ANALYZE")
        else:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("ANALYZE")
    if "rebuild_status_counts" in get_commands():
        call_command("rebuild_status_counts")
    # The trigram indexes of the newest orders (orders.search_recent), on a large table.
    log("  " + search_recent.roll())
    log(f"  database ready in {time.perf_counter() - started:.0f} s")


# The tables the generator fills; on PostgreSQL their secondary indexes are built after the
# rows are in, not row by row (at ten million orders, maintaining a dozen indexes while
# copying, the trigram one above all, was most of the time).
BULK_TABLES = (Order, OrderLine, StatusChange)


def _bulk_load_begin():
    """PostgreSQL: drop the bulk tables' indexes that no constraint owns (their definitions
    are returned, to be built again by _bulk_load_end) and stop checking foreign keys for
    this session: the generator writes ids it made itself, and checking each one cost a
    look-up per row. SQLite: nothing (its load is already unlogged)."""
    if connection.vendor != "postgresql":
        return []
    tables = [model._meta.db_table for model in BULK_TABLES]
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT ic.relname, pg_get_indexdef(ix.indexrelid)
            FROM pg_index ix
            JOIN pg_class ic ON ic.oid = ix.indexrelid
            JOIN pg_class t ON t.oid = ix.indrelid
            WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
            """,
            [tables],
        )
        indexes = cur.fetchall()
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET session_replication_role = replica")
    return indexes


def _bulk_load_end(indexes, log, started):
    """Foreign keys checked again from here on; the dropped indexes built once, each in one
    pass over its table."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = DEFAULT")
    # Two at a time, on two connections (two cores): the two GIN indexes of the search text
    # (trigrams, five-character pieces) take most of the time, so they start first, side by
    # side (at ten million orders about five minutes each, one after the other before).
    pending = sorted(indexes, key=lambda index: " USING gin " not in index[1])
    lock, failed = threading.Lock(), []

    def build_some():
        try:
            with connections[connection.alias].cursor() as cur:
                cur.execute("SET maintenance_work_mem = '1GB'")
                while not failed:
                    with lock:
                        if not pending:
                            return
                        _name, definition = pending.pop(0)
                    cur.execute(definition)
        except Exception as error:  # raised again below, in the generator's thread
            failed.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=build_some) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failed:
        raise failed[0]
    log(f"  {len(indexes)} indexes built ({time.perf_counter() - started:.0f} s)")


def _no_style():
    from django.core.management.color import no_style

    return no_style()
