"""The importer and the batch review work in chunks (bulk inserts, one transaction per chunk):
the rules must come out the same at every chunk boundary, a bad order must never be half
there, every order keeps its history, and a chunk costs a bounded number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import counts, review
from orders.importing import import_orders, importer, parse_api_order
from orders.models import ImportBatch, InventoryLevel, Order, OrderLine, StatusChange
from orders.review import review_orders
from orders.services import order_cancel, order_clean_sweep
from orders.tasks import reviews_deferred
from tests.conftest import US_ADDRESS
from tests.test_import import csv_text, run


def api_input(number, index, sku="TEE-1", quantity=1, **fields):
    data = {
        "number": number,
        "customer_name": "Ava Smith",
        **US_ADDRESS,
        "ship_option": "Standard",
        "lines": [{"sku": sku, "quantity": quantity}],
        **fields,
    }
    return parse_api_order(data, index)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(importer, "CHUNK", 3)
    monkeypatch.setattr(review, "REVIEW_CHUNK", 2)


def test_orders_across_chunk_boundaries_come_in_whole_and_reviewed(
    merchant, products, centers, small_chunks
):
    rows = []
    for n in range(7):
        rows += [{"order_number": f"B-{n}"}] + [
            # a second line, not a repeat of the first (that would be refused)
            {"order_number": f"B-{n}", "sku": "TEE-1", "item_name": "gift"}
        ] * (n % 2)
    batch = run(merchant, csv_text(*rows))
    assert (batch.state, batch.created, batch.errors) == ("done", 7, 0)
    assert batch.processed_rows == len(rows)
    assert batch.orders_reviewed == batch.orders_to_review == 7
    for n in range(7):
        order = Order.objects.get(merchant=merchant, number=f"B-{n}")
        assert order.status == "processing"
        assert order.lines.count() == 1 + n % 2
    # Stock was reserved once per unit: 1 + 2 units alternately, all at the home facility.
    assert InventoryLevel.objects.get(product=products["stock"], center=centers[0]).reserved == 10


def test_reimport_rules_hold_across_chunks(merchant, products, make_order, manager, small_chunks):
    swept = order_clean_sweep(order=make_order(number="SWEPT"), by=manager)
    live = make_order(number="LIVE")
    cancelled = order_cancel(order=make_order(number="GONE"), by=manager)
    text = csv_text(
        {"order_number": "N-1"},
        {"order_number": "N-2"},
        {"order_number": "SWEPT"},  # last of chunk 1
        {"order_number": "LIVE"},  # first of chunk 2
        {"order_number": "N-3"},
        {"order_number": "GONE"},
        {"order_number": "N-4"},
    )
    batch = run(merchant, text)
    got = {r.number: (r.outcome, r.earlier_id) for r in batch.rows.all()}
    assert got["SWEPT"][0] == "reimported" and got["SWEPT"][1] == swept.pk
    assert got["LIVE"] == ("skipped", live.pk)
    assert got["GONE"] == ("refused", cancelled.pk)
    assert [got[f"N-{i}"][0] for i in range(1, 5)] == ["created"] * 4
    again = run(merchant, text)
    assert (again.created, again.reimported, again.skipped, again.refused) == (0, 0, 6, 1)
    reimport = Order.objects.get(merchant=merchant, number="SWEPT", reimport_of=swept)
    assert reimport.history.filter(field="status").first().transition == "reimport"


def test_the_same_number_twice_in_one_request_is_imported_once(merchant, products, centers):
    inputs = [api_input("D-1", 1), api_input("D-2", 2), api_input("D-1", 3), api_input("D-2", 4)]
    outcomes = import_orders(merchant=merchant, inputs=inputs, by="api: test", chunk=3)
    assert [(o.number, o.outcome) for o in outcomes] == [
        ("D-1", "created"),
        ("D-2", "created"),
        ("D-1", "skipped"),
        ("D-2", "skipped"),
    ]
    assert Order.objects.filter(merchant=merchant, number__in=["D-1", "D-2"]).count() == 2


def test_a_bad_order_in_the_middle_is_reported_with_row_and_field_and_others_import(
    merchant, products, small_chunks
):
    batch = run(
        merchant,
        csv_text(
            {"order_number": "G-1"},
            {"order_number": "G-2"},
            {"order_number": "BAD", "quantity": "lots"},
            {"order_number": "BAD", "sku": "TEE-1"},
            {"order_number": "G-3"},
        ),
    )
    errors = list(batch.rows.filter(outcome="error").values_list("row", "number", "field"))
    assert errors == [(4, "BAD", "quantity")]
    assert batch.created == 3
    assert not Order.objects.filter(number="BAD").exists()
    assert not OrderLine.objects.filter(order__number="BAD").exists()


def test_a_chunk_the_database_refuses_is_redone_order_by_order(
    merchant, products, make_order, monkeypatch
):
    """Another import took LIVE between our look-up and our insert: the chunk's bulk insert
    fails as a whole, and order by order only LIVE is refused; nothing is left twice or half."""
    live = make_order(number="LIVE")
    real = importer._existing_orders

    def stale(merchant_, numbers):
        found = real(merchant_, numbers)
        found.pop("LIVE", None)
        return found

    monkeypatch.setattr(importer, "_existing_orders", stale)
    inputs = [api_input("M-1", 1), api_input("LIVE", 2), api_input("M-2", 3, quantity=2)]
    outcomes = import_orders(merchant=merchant, inputs=inputs, by="api: test")
    assert [(o.number, o.outcome) for o in outcomes] == [
        ("M-1", "created"),
        ("LIVE", "skipped"),
        ("M-2", "created"),
    ]
    assert list(Order.objects.filter(number="LIVE")) == [live]
    for number in ("M-1", "M-2"):
        order = Order.objects.get(number=number)
        assert order.lines.count() == 1
        assert order.history.filter(field="status").count() == 1
    assert OrderLine.objects.count() == 3
    assert StatusChange.objects.filter(order__number="LIVE").count() == 1


def test_every_order_has_its_history_rows(merchant, products, centers, small_chunks):
    batch = run(
        merchant,
        csv_text(
            {"order_number": "H-1", "payment": "paid"},
            {"order_number": "H-2", "payment": "refused"},
            {"order_number": "H-3", "address1": ""},
            {"order_number": "H-4", "draft": "yes"},
            {"order_number": "H-5"},
        ),
    )
    assert batch.created == 5
    history = {
        number: list(
            StatusChange.objects.filter(order__number=number)
            .order_by("id")
            .values_list("field", "transition", "target", "actor_name")
        )
        for number in ["H-1", "H-2", "H-3", "H-4", "H-5"]
    }
    who = f"import batch {batch.pk}"
    assert history["H-1"] == [
        ("status", "import", "import_review", who),
        ("payment_status", "import", "paid", who),
        ("status", "accept", "processing", "review"),
    ]
    assert history["H-2"][-1] == ("status", "hold", "action_required", "review")
    assert history["H-3"][-1] == ("status", "hold", "action_required", "review")
    assert history["H-4"] == [("status", "create", "draft", who)]
    assert history["H-5"][-1] == ("status", "accept", "processing", "review")
    held = Order.objects.get(number="H-3")
    assert held.hold_reason == "invalid_address"
    row = held.history.last()
    assert row.reason == held.hold_note


def test_review_in_chunks_never_takes_more_than_the_stock(merchant, products, centers):
    InventoryLevel.objects.filter(product=products["stock"]).update(on_hand=2)
    inputs = [api_input(f"S-{i}", i, quantity=1) for i in range(6)]
    with_ids = import_orders(merchant=merchant, inputs=inputs, by="api: test")
    review_orders([o.order.pk for o in with_ids], chunk=4)
    statuses = list(
        Order.objects.filter(number__startswith="S-").order_by("number").values_list("status")
    )
    assert statuses.count(("processing",)) == 4
    assert statuses.count(("action_required",)) == 2
    for level in InventoryLevel.objects.filter(product=products["stock"]):
        assert (level.on_hand, level.reserved) == (2, 2)


def test_the_kept_counts_are_told_about_every_bulk_change(merchant, products, centers, monkeypatch):
    told = []
    monkeypatch.setattr(counts, "add_counts", lambda m, d: told.append((m, dict(d))))
    monkeypatch.setattr("orders.review.add_counts", counts.add_counts)
    inputs = [api_input("K-1", 1), api_input("K-2", 2, sku="NOPE"), api_input("K-3", 3)]
    inputs.append(api_input("K-4", 4, draft=True))
    outcomes = import_orders(merchant=merchant, inputs=inputs, by="api: test")
    assert told == [(merchant.pk, {("import_review", ""): 3, ("draft", ""): 1})]
    review_orders([o.order.pk for o in outcomes if o.order.status == "import_review"])
    assert told[1] == (
        merchant.pk,
        {
            ("import_review", ""): -3,
            ("processing", ""): 2,
            ("action_required", "product_configuration"): 1,
        },
    )


def _queries(fn):
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_a_chunk_costs_the_same_queries_however_many_orders_it_holds(merchant, products, centers):
    """Import: the same queries for any chunk size. Review: the same, plus the one guarded
    UPDATE per order that Order's save writes (status only changes through a model save)."""
    costs = []
    # The first import and review of a merchant also create its status-count rows.
    for size in (1, 8, 16):
        inputs = [api_input(f"Q{size}-{i}", i, payment="paid") for i in range(size)]
        imported = _queries(
            lambda inputs=inputs: import_orders(merchant=merchant, inputs=inputs, by="api: x")
        )
        mine = Order.objects.filter(number__startswith=f"Q{size}-")
        ids = list(mine.values_list("pk", flat=True))
        reviewed = _queries(lambda ids=ids: review_orders(ids))
        assert mine.filter(status="processing").count() == size
        costs.append((imported, reviewed))
    costs = costs[1:]
    assert costs[0][0] == costs[1][0]
    assert costs[1][1] - costs[0][1] == 16 - 8
    # Import: two look-ups, products, orders, lines, history, events, the counts (an UPDATE in
    # its own savepoint), savepoint and release; on SQLite one more statement writes the
    # orders' search text to the FTS5 table (orders/search.py; PostgreSQL indexes the column).
    # Review: reference data (2), lock, lines, their products, stock lock, stock, history,
    # events, counts (two keys), savepoints, and one UPDATE per order.
    assert costs[0][0] <= 12 + (connection.vendor == "sqlite")
    assert costs[0][1] <= 15 + 8


def test_the_batch_page_counts_match_what_was_imported(merchant, products, small_chunks):
    batch = run(merchant, csv_text(*[{"order_number": f"P-{i}"} for i in range(5)]))
    batch = ImportBatch.objects.get(pk=batch.pk)
    assert batch.rows.filter(outcome="created").count() == batch.created == 5


@pytest.mark.django_db(transaction=True)
def test_review_prepares_its_repeated_statements_on_postgresql_and_pages_do_not(
    merchant, products, centers
):
    """orders/plans.py: inside a review chunk psycopg prepares what the connection runs five
    times (the guarded UPDATE of each order); outside it nothing is prepared."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    connection.close()  # a new session: nothing prepared by earlier tests

    def prepared_updates():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements "
                "WHERE statement LIKE 'UPDATE \"orders_order\" SET%%'"
            )
            return cursor.fetchone()[0]

    inputs = [api_input(f"PR-{i}", i) for i in range(8)]
    with reviews_deferred():  # this test commits: the review task must not run first
        outcomes = import_orders(merchant=merchant, inputs=inputs, by="api: x")
    ids = [o.order.pk for o in outcomes]
    assert prepared_updates() == 0
    review_orders(ids, processes=1)
    assert Order.objects.filter(pk__in=ids, status="processing").count() == 8
    assert prepared_updates() == 1
    assert connection.connection.prepare_threshold is None  # back to the pages' setting

    def prepared_statements():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            return cursor.fetchone()[0]

    before = prepared_statements()
    for _ in range(6):
        list(Order.objects.filter(merchant=merchant).values_list("pk")[:1])
    assert prepared_statements() == before
