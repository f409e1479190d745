"""The order list and the order page run the same number of SQL queries however many orders
(and history rows) there are, never count a merchant's orders for the status tabs, and
search only with index-friendly conditions (no LIKE '%...%')."""

import re

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from dashboard import filters
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
        # The Closing soon view's count reads its own small index (the point of no return,
        # only accepted orders due within 2 hours), bounded like the others.
        soon = [q for q in queries if "no_return_by" in q and "COUNT(" in q.upper()]
        assert len(soon) == 1 and "LIMIT 1001" in soon[0], name
        queries = [q for q in queries if q not in soon]
        counted = [q for q in queries if "orders_order" in q and "COUNT(" in q.upper()]
        # A SKU's orders are counted from its lines (a few more lines than the bound, as an
        # order may have two lines of one SKU).
        lines_bound = f"LIMIT {filters._with_slack(1001)}"
        bounded = [
            q
            for q in queries
            if ("orders_order" in q and "LIMIT 1001" in q)
            or ("orders_orderline" in q and lines_bound in q)
        ]
        # Nothing ever counts all of a merchant's orders.
        assert all("LIMIT 1001" in q for q in counted), name
        if name in ("default", "tab", "sub-status", "hold reason", "sorted by number"):
            # Status filters take their total from the kept counts.
            assert bounded == [], name
        else:
            # Anything else is counted with a bound, and only past one page.
            assert bool(bounded) == ("Next →" in response.content.decode()), name
    # session, user, the merchants with the user's roles, counts, rows, centers, the
    # Closing soon count. A search:
    # the orders of lines with that SKU, is it a whole order number (the jump), then the
    # first page of each of its 5 terms that can match (one statement), then those rows; no
    # count when it all fits on one page, else the first 1,001 ids of each term that had
    # more than a page (one statement).
    assert seen == {
        "default": 7,
        "tab": 7,
        "sub-status": 7,
        "hold reason": 7,
        "number": 10,
        "email": 10,
        "tracking": 10,
        "sku": 10 if n <= 50 else 11,  # every order has this SKU: past one page, counted
        "sorted by number": 7,
        "attention": 7,
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


def test_search_uses_no_contains_patterns(client, manager, staff, make_order, drive):
    fill(make_order, drive, staff, 5)
    login(client, manager)
    for name in ("number", "email", "tracking", "sku"):
        queries, _response = list_queries(client, VIEWS[name])
        for sql in queries:
            assert not re.search(r"LIKE\s+'%", sql, re.IGNORECASE), sql
            assert "UPPER(" not in sql.upper() or "orders_order" not in sql


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
    # address changes, and (orders not yet at a facility) the likely facility for the point
    # of no return
    assert counts == [9, 9]


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
    assert counts == {"held": 9, "accepted": 8, "shipped": 8}


@pytest.mark.parametrize(
    ("sku_ids", "walk_from"),
    [(10_000, 2_000), (10_000, 0), (1, 2_000)],
    ids=["ids looked up", "ids while walking the sort index", "a subquery for many lines"],
)
def test_sku_search_finds_the_same_orders_whichever_way_it_runs(
    client, manager, staff, make_order, drive, monkeypatch, sku_ids, walk_from
):
    from dashboard import filters

    monkeypatch.setattr(filters, "SKU_IDS", sku_ids)
    monkeypatch.setattr(filters, "SQLITE_WALK_IDS", walk_from)
    for i in range(55):
        make_order(number=f"SK-{i:03d}", kind="print" if i % 2 else "stock")
    login(client, manager)
    _queries, response = list_queries(client, {"q": "poster-1", "sort": "number"})
    first = re.findall(r'class="col-number"><a href="[^"]+">([^<]+)</a>', response.text)
    assert first == [f"SK-{i:03d}" for i in range(1, 55, 2)]
    _queries, response = list_queries(client, {"q": "TEE-1", "sort": "number"})
    assert "1–28 of 28" in response.text
