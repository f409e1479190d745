"""The order list and the order page run the same number of SQL queries however many orders
(and history rows) there are, never count a merchant's orders for the status tabs, and
search only with index-friendly conditions (no LIKE '%...%')."""

import re

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from orders.services import order_transition

from .dashboard_helpers import hold, login
from .test_order_list import page_link

VIEWS = {
    "default": {},
    "tab": {"group": "processing"},
    "sub-status": {"group": "processing", "status": "picked"},
    "hold reason": {"group": "action_required", "hold_reason": "invalid_address"},
    "number": {"q": "LP-00"},
    "email": {"q": "lp0@shop.test"},
    "tracking": {"q": "1Z999AA10123456784"},
    "sku": {"q": "tee-1"},
    "sorted by number": {"sort": "number"},
    "attention": {"view": "attention"},
}


def fill(make_order, drive, staff, n):
    for i in range(n):
        order = make_order(number=f"LP-{i:03d}", customer_email=f"lp{i}@shop.test")
        if i % 5 == 1:
            drive(order, "picked")
        elif i % 5 == 2:
            hold(order, staff)
        elif i % 5 == 3:
            drive(order, "shipped")


def list_queries(client, params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/orders/", params)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries], response


@pytest.mark.parametrize("n", [5, 60])
def test_list_queries_are_constant_and_never_count_for_the_tabs(
    client, manager, staff, make_order, drive, n
):
    fill(make_order, drive, staff, n)
    login(client, manager)
    client.get("/orders/")  # warm the session
    seen = {}
    for name, params in VIEWS.items():
        queries, response = list_queries(client, params)
        seen[name] = len(queries)
        # A search's last tier may read up to 1,001 of its keys, count them and sort them for
        # its page, in one statement: on PostgreSQL (orders.search.Bounded), on SQLite past
        # the newest orders it looks at first (orders.search.Window), none here.
        keys = [q for q in queries if q.startswith("WITH k(")]
        assert keys == [] or (connection.vendor == "postgresql" and len(keys) == 1), name
        assert all("LIMIT 1001" in q for q in keys), name
        counted = [
            q for q in queries if "orders_order" in q and "COUNT(" in q.upper() and q not in keys
        ]
        bounded = [q for q in counted if "LIMIT 1001" in q]
        # Nothing ever counts all of a merchant's orders.
        assert all("LIMIT 1001" in q for q in counted), name
        # The orders stuck in review (Waiting on us) are counted with a bound on every page,
        # in one statement with any other bounded count of the views.
        # So is the Closing soon view, from its own small index (the point of no return, only
        # accepted orders due within 2 hours).
        views = [q for q in bounded if "UNION ALL" in q or "import_review" in q]
        assert len(views) == 1, name
        assert "no_return_by" in views[0] and "UNION ALL" in views[0], name
        if name in ("default", "tab", "sub-status", "hold reason", "sorted by number"):
            # Status filters take their total from the kept counts.
            assert len(bounded) == 1, name
        elif "q" in VIEWS[name]:
            # A search counts (with a bound) each relevance tier its page did not read whole,
            # and only past one page: a SKU on every order fills the page from its tier, and
            # that tier and the rest are counted.
            has_next = "Next →" in response.content.decode()
            assert len(bounded) - 1 == (2 if has_next and name == "sku" else 0), name
        else:
            # Anything else is counted with a bound, and only past one page.
            assert (len(bounded) == 2) == ("Next →" in response.content.decode()), name
    # session, user, the merchants with the user's roles, counts, rows, centers; the user's
    # columns, their saved views, the bounded view counts (stuck in review), the page's lines
    # and latest notes. A search: is it a whole order number (the jump) or a SKU, in one
    # statement; its rows in two reads (number, name or e-mail starting with the text, then
    # the rest: orders.search.tiers) instead of one, four for a SKU (its orders come between,
    # their ids read newest first from the lines' index, then the orders); past one page the
    # bounded counts of the tiers not read whole.
    # On SQLite the last tier is looked for among the newest orders first, then the trigram
    # index past them (orders.search.Window): one more query when that tier is read. On
    # PostgreSQL its keys are read first, up to the bound (orders.search.Bounded), then its
    # rows by id when it has any: one more query when it has matches (here the tracking
    # number: the rest find nothing past their first tiers), and none to count it.
    many = n > 50
    window = connection.vendor == "sqlite"
    bounded = connection.vendor == "postgresql"
    assert seen == {
        "default": 11,
        "tab": 11,
        "sub-status": 11,
        "hold reason": 11,
        "number": 13 + window,
        "email": 13 + window,
        "tracking": 13 + (window or bounded),
        "sku": 15 + many + window,  # every order has this SKU
        "sorted by number": 11,
        "attention": 11,
    }


@pytest.mark.parametrize("n", [5, 60])
def test_deeper_pages_cost_the_same_queries(client, manager, staff, make_order, drive, n):
    fill(make_order, drive, staff, n)
    login(client, manager)
    first, response = list_queries(client, {})
    assert not any("OFFSET" in q.upper() for q in first)
    if n > 50:
        query = QueryDict(page_link(response, "next").split("?", 1)[1])
        second, response = list_queries(client, query)
        assert len(second) == len(first)
        assert "51–60 of 60" in response.content.decode()
        assert not any("OFFSET" in q.upper() for q in second)


def test_search_reads_the_search_index(client, manager, staff, make_order, drive, monkeypatch):
    """Substring search is answered by the trigram index (FTS5 on SQLite, pg_trgm GIN on
    PostgreSQL), never by LIKE '%...%' over the orders' own columns. (On SQLite past the
    newest orders, orders.search.Window: here past the newest one.)"""
    from orders import search

    monkeypatch.setattr(search, "WINDOW", 1)
    fill(make_order, drive, staff, 5)
    login(client, manager)
    for name in ("number", "email", "tracking", "sku"):
        queries, _response = list_queries(client, VIEWS[name])
        for sql in queries:
            for column in ("customer_name", "customer_email", "tracking_number", "sku"):
                assert not re.search(rf'"{column}"\)? LIKE', sql), sql
        joined = " ".join(queries)
        if connection.vendor == "sqlite":
            assert "order_search MATCH" in joined, name
        else:
            assert '"search_text"::text LIKE' in joined or '"search_text" LIKE' in joined


def test_search_finds_each_kind_case_insensitively(client, manager, staff, make_order, drive):
    fill(make_order, drive, staff, 5)
    order = make_order(number="Case-77", customer_email="Mixed.Case@Shop.test")
    login(client, manager)
    for q in ["CASE-7", "case", "mixed.case@shop.TEST", "MIXED.ca"]:
        _queries, response = list_queries(client, {"q": q})
        assert order.number in response.content.decode(), q
        assert "LP-000" not in response.content.decode(), q
    # The whole number, in any case, jumps straight to the order.
    assert client.get("/orders/", {"q": "Case-77"}).status_code == 302


def history_order(make_order, staff, manager, cycles):
    order = make_order()
    for _ in range(cycles):
        order = hold(order, staff)
        order = order_transition(order=order, name="retry", by=manager)
    return order


def test_order_page_queries_do_not_grow_with_history(client, manager, staff, make_order):
    short = history_order(make_order, staff, manager, 0)
    long = history_order(make_order, staff, manager, 15)
    assert short.history.count() == 1 and long.history.count() == 31
    login(client, manager)
    client.get("/orders/")
    counts = []
    for order in (short, long):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/orders/{order.number}/")
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    # session, user, the merchants with the user's roles, order, lines, history, events,
    # notes, address changes, and (orders not yet at a facility) the likely facility for the
    # point of no return
    assert counts == [10, 10]


def test_a_warm_order_page_builds_no_sql(client, manager, staff, make_order, drive, monkeypatch):
    """Every read of the order page runs a statement built once (orders/prepared.py): once
    one order page was shown, the next builds no SQL, whatever it shows (its center, an
    address change and who asked for it, the earlier order it reimports)."""
    from django.db.models.sql.compiler import SQLCompiler

    from orders.services import order_clean_sweep, order_request_address_change

    from .conftest import US_ADDRESS

    first = drive(make_order(), "in_transit")
    earlier = make_order(number="W-1")
    order_clean_sweep(order=earlier, by=manager)
    order = drive(make_order(number="W-1", reimport_of=earlier), "in_transit")
    order_request_address_change(order=order, by=manager, address={**US_ADDRESS, "city": "Troy"})
    login(client, manager)
    assert client.get(f"/orders/{first.number}/").status_code == 200
    built = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda *a, **k: built.append(1) or original(*a, **k))
    response = client.get("/orders/W-1/")
    assert response.status_code == 200
    assert built == []
    body = response.content.decode()
    assert "an earlier order W-1 (clean swept)" in body
    assert "Address change requested" in body and f"by {manager.get_username()}" in body
    assert "Newark (NJ1)" in body


def test_order_page_queries_are_constant_across_holds_and_states(
    client, manager, staff, make_order, drive
):
    """The order page costs the same whatever it shows: hold detail, payment history,
    tracking events, the point of no return."""
    from orders.review import review_order

    login(client, manager)
    client.get("/orders/")
    held = make_order(ship_option="Nowhere Express")
    review_order(held.pk)
    accepted = drive(make_order(), "picked")
    shipped = drive(make_order(), "in_transit")
    counts = {}
    for name, order in (("held", held), ("accepted", accepted), ("shipped", shipped)):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/orders/{order.number}/")
        assert response.status_code == 200
        counts[name] = len(ctx.captured_queries)
    # Accepted orders have their facility: no look-up of the likely one.
    assert counts == {"held": 10, "accepted": 9, "shipped": 9}


@pytest.mark.parametrize("sort", ["number", "-created", "changed", ""])
def test_sku_search_finds_the_same_orders_in_every_sort(client, manager, make_order, sort):
    for i in range(55):
        make_order(number=f"SK-{i:03d}", kind="print" if i % 2 else "stock")
    login(client, manager)
    params = {"q": "poster-1", **({"sort": sort} if sort else {})}
    _queries, response = list_queries(client, params)
    found = re.findall(r'class="col-number"><a href="[^"]+">([^<]+)</a>', response.text)
    assert sorted(found) == [f"SK-{i:03d}" for i in range(1, 55, 2)]
    _queries, response = list_queries(client, {"q": "TEE-1", "sort": "number"})
    assert "1–28 of 28" in response.text


@pytest.mark.parametrize("n", [5, 60])
def test_notes_and_saved_views_keep_the_list_constant(client, manager, staff, make_order, drive, n):
    """A note on every order and a dozen saved views (status-only and searches) cost the same
    queries whatever the number of orders, notes and views."""
    from orders.models import Order, SavedView
    from orders.notes import order_add_note

    fill(make_order, drive, staff, n)
    for order in Order.objects.all():
        order_add_note(order=order, by=manager, text=f"note on {order.number}")
        order_add_note(order=order, by=manager, text=f"second note on {order.number}")
    login(client, manager)
    client.get("/orders/")
    baseline, _response = list_queries(client, {})
    for i in range(6):
        SavedView.objects.create(
            merchant=manager.memberships.get().merchant,
            owner=manager,
            name=f"S{i}",
            query="group=processing",
            shared=bool(i % 2),
        )
        SavedView.objects.create(
            merchant=manager.memberships.get().merchant,
            owner=manager,
            name=f"Q{i}",
            query=f"q=lp-0{i}",
        )
    queries, response = list_queries(client, {})
    # The search views' bounded counts are one statement, however many views there are.
    assert len(queries) == len(baseline)
    assert response.text.count("<b>Note</b> (alice): second note on") == min(n, 50)


def test_every_list_filter_but_the_search_and_sort_counts_as_narrowing():
    """A SKU's tier is counted from its lines only when no other filter is in use
    (orders.search.Keys.alone): a new filter must be in that list."""
    from dashboard.filters import FILTERS, OrderFilter

    assert set(OrderFilter.base_filters) - {"q", "sort", "created"} == set(FILTERS)


def test_smart_view_counts_are_built_once_and_agree_with_the_orm(
    client, manager, merchant, make_order, drive, monkeypatch
):
    """The stuck and closing-soon counts every list shows run a statement built once; with
    saved views to count they share the saved views' statement instead. Both give what the
    queryset methods find."""
    import datetime

    import time_machine
    from django.db.models.sql.compiler import SQLCompiler

    from orders.models import Order, SavedView

    start = datetime.datetime(2026, 6, 4, 15, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        stuck = [make_order(), make_order()]  # in review since 15:00
        soon = drive(make_order(), "processing")  # its point of no return: Thursday 18:00
    now = start + datetime.timedelta(hours=1, minutes=30)
    mine = Order.objects.for_merchant(merchant)
    assert set(mine.stuck(now)) == set(stuck) and set(mine.closing_soon(now)) == {soon}

    def smart_counts():
        with time_machine.travel(now, tick=False):
            response = client.get("/orders/")
        return {v["value"]: v["count"] for v in response.context["views"]}

    login(client, manager)
    counted = smart_counts()
    built = []
    original = SQLCompiler.as_sql

    def spy(self, *args, **kwargs):
        sql, params = original(self, *args, **kwargs)
        built.append(sql)
        return sql, params

    monkeypatch.setattr(SQLCompiler, "as_sql", spy)
    assert smart_counts() == counted
    assert built  # the page's own rows are still built
    counting = ('"no_return_by" >= %s', '"status_changed_at" < %s')
    assert not [sql for sql in built if any(part in sql for part in counting)]
    SavedView.objects.create(merchant=merchant, owner=manager, name="Q", query="q=nothing-like-it")
    assert smart_counts() == counted
    assert counted["closing_soon"] == 1
    assert counted["waiting_on_us"] == 2  # the two stuck in review (nothing held for us)
