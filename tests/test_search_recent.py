"""The trigram index of the newest orders (orders.search_recent): made, kept and moved forward
by `manage.py roll_search_index`, read back from the catalog, and asked first by the count
of a text the sample expects among the newest orders; when it holds fewer than the bound,
the whole index answers, so the count is right either way."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import search, search_recent
from orders.models import Order

from .dashboard_helpers import login

pytestmark = [
    # Built CONCURRENTLY, as in production: outside a transaction.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite searches FTS5 alone"),
]


@pytest.fixture(autouse=True)
def _forgotten():
    search_recent.forget()
    yield
    # A flush empties the tables, not the index: dropped, as for any small table.
    search_recent.roll(recent=10**9)
    search_recent.forget()


def created_newest_first():
    return list(Order.objects.order_by("-created_at").values_list("created_at", flat=True))


def test_the_index_holds_the_newest_orders_and_moves_forward_as_they_grow(make_order, monkeypatch):
    monkeypatch.setattr(search_recent, "TIERS", 1)  # the newest orders' alone (see below)
    for i in range(6):
        make_order(number=f"RC-{i}")
    # Six orders are no more than twice four: no index.
    assert "No recent index" in search_recent.roll(recent=4)
    assert search_recent.boundary() is None
    for i in range(6, 12):
        make_order(number=f"RC-{i}")
    assert "built" in search_recent.roll(recent=4, roll_after=2)
    assert search_recent.boundary() == (created_newest_first()[3],)
    assert "kept" in search_recent.roll(recent=4, roll_after=2)
    for i in range(12, 14):
        make_order(number=f"RC-{i}")
    assert "kept" in search_recent.roll(recent=4, roll_after=2)  # six: within 4 + 2
    make_order(number="RC-14")
    assert "built" in search_recent.roll(recent=4, roll_after=2)
    search_recent.forget()
    assert search_recent.boundary() == (created_newest_first()[3],)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname LIKE %s", [search_recent.NAME + "%"]
        )
        definitions = [row[0] for row in cursor.fetchall()]
    assert len(definitions) == 1  # the old one dropped, the new one renamed
    assert "gin_trgm_ops" in definitions[0]
    assert "WHERE (created_at >= '" in definitions[0]
    # The table shrinks back under twice the size (a test database, a purge): dropped.
    assert "dropped" in search_recent.roll(recent=100)
    search_recent.forget()
    assert search_recent.boundary() is None


def tier_definitions():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s ORDER BY 1",
            [search_recent.NAME + "%"],
        )
        return cursor.fetchall()


def test_the_next_tier_holds_the_orders_before_the_newest(make_order):
    for i in range(12):
        make_order(number=f"RT-{i}")
    assert "built" in search_recent.roll(recent=4)
    assert len(search_recent.boundary()) == 1  # twelve: a tier needs more than 3 * 4
    make_order(number="RT-12")
    assert "built" in search_recent.roll(recent=4)  # the tiers are not all there
    newest = created_newest_first()
    assert search_recent.boundary() == (newest[3], newest[7])
    (first, first_sql), (second, second_sql) = tier_definitions()
    assert (first, second) == (search_recent.NAME, search_recent.NAME + "_2")
    assert "WHERE (created_at >= '" in first_sql and " AND " not in first_sql
    assert "((created_at >= '" in second_sql and ") AND (created_at < '" in second_sql
    assert "kept" in search_recent.roll(recent=4, roll_after=1)
    # Every order of the tiers and none other, each in one (what the counts rely on).
    with connection.cursor() as cursor:
        held = []
        for _name, definition in tier_definitions():
            predicate = definition.split(" WHERE ", 1)[1]
            cursor.execute(f"SELECT number FROM orders_order WHERE {predicate}")
            held.append({row[0] for row in cursor.fetchall()})
    assert held == [{f"RT-{i}" for i in range(9, 13)}, {f"RT-{i}" for i in range(5, 9)}]
    # In the middle of a roll (the newest dropped, the next not yet): no tier is trusted
    # past a gap.
    with connection.cursor() as cursor:
        cursor.execute(f'DROP INDEX "{search_recent.NAME}"')
    search_recent.forget()
    assert search_recent.boundary() is None
    assert "built" in search_recent.roll(recent=4)
    assert search_recent.boundary() == (newest[3], newest[7])


def test_the_boundary_is_kept_a_minute(make_order, monkeypatch):
    for i in range(9):
        make_order(number=f"RK-{i}")
    search_recent.roll(recent=4)
    assert search_recent.boundary() is not None
    with CaptureQueriesContext(connection) as ctx:
        search_recent.boundary()
    assert len(ctx.captured_queries) == 0
    monkeypatch.setattr(search_recent, "KEEP_SECONDS", 0)
    with CaptureQueriesContext(connection) as ctx:
        search_recent.boundary()
    assert len(ctx.captured_queries) == 1


def test_one_roll_at_a_time(make_order):
    import psycopg

    for i in range(9):
        make_order(number=f"RL-{i}")
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        autocommit=True,
    )
    try:
        other.execute(f"SELECT pg_advisory_lock({search_recent.LOCK_KEY})")
        assert "Another roll" in search_recent.roll(recent=4)
        assert search_recent.boundary() is None  # nothing built
        # Released here, not by close(): a closed connection's server process lets its locks
        # go when it exits, which may be after close() returns and the roll below starts.
        other.execute(f"SELECT pg_advisory_unlock({search_recent.LOCK_KEY})")
    finally:
        other.close()
    assert "built" in search_recent.roll(recent=4)


def test_the_command_says_what_it_did(make_order, capsys):
    call_command("roll_search_index")
    assert "No recent index" in capsys.readouterr().out


def _counting(monkeypatch, bound):
    """The list counts to `bound` ("2+" past it: three keys are asked for), a page of 2 at a
    time, and the sample expects the text in every order (so the tiers are asked, never the
    newest-first walk)."""
    from dashboard import filters
    from dashboard.views import listing

    monkeypatch.setattr(filters, "COUNT_LIMIT", bound)
    monkeypatch.setattr(listing, "COUNT_LIMIT", bound)
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    monkeypatch.setattr(search, "NEWEST_WALK", 0)
    monkeypatch.setattr(search, "expected_orders", lambda pieces: 100)
    monkeypatch.setitem(search._spans, connection.alias, 100)


def _made(make_order, count, matching, tag):
    for i in range(count):
        email = f"p{tag}{i}.quokka@example.com" if i in matching else f"p{tag}{i}@example.com"
        make_order(number=f"RW-{tag}{i}", customer_email=email)


def _searched(client, manager, monkeypatch):
    """The list searched for "quokka", the tiers trusted for it, and its count statements."""
    monkeypatch.setattr(search_recent, "RECENT", 4 * search.RECENT_MARGIN)
    login(client, manager)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/orders/", {"q": "quokka"})
    counts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("WITH k(")]
    return response, counts, [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize(
    ("newest_matching", "older_matching", "total", "capped", "asked"),
    [
        (4, 4, 2, True, 1),  # the newest orders hold the bound: counted there alone ("2+")
        (1, 6, 2, True, 2),  # they do not: the whole index is asked too
        (1, 1, 2, False, 2),  # fewer than the bound in all: counted exactly
    ],
)
def test_a_count_asks_the_newest_orders_first(
    client, manager, make_order, monkeypatch, newest_matching, older_matching, total, capped, asked
):
    _counting(monkeypatch, 2)
    monkeypatch.setattr(search, "WINDOW", 1)
    monkeypatch.setattr(search, "COMMON_WINDOW", 1)
    _made(make_order, 8, range(older_matching), "a")
    _made(make_order, 4, range(newest_matching), "b")
    search_recent.roll(recent=4, roll_after=0)
    assert search_recent.boundary() == (created_newest_first()[3],)  # 12 orders: one tier
    response, counts, _sql = _searched(client, manager, monkeypatch)
    assert response.context["total"] == total
    assert response.context["total_capped"] is capped
    assert len(counts) == asked
    recent = '"orders_order"."created_at" >= '
    assert recent in counts[0]
    assert all(recent not in sql for sql in counts[1:])
    listed = {order.number for order in response.context["page"].object_list}
    expected = Order.objects.filter(customer_email__contains="quokka")
    assert listed <= set(expected.values_list("number", flat=True))
    assert len(listed) == 2


def test_when_the_newest_orders_fill_the_page_it_is_theirs(
    client, manager, make_order, monkeypatch
):
    """The newest orders hold fewer than the bound but a page of the text: the page is read
    by their ids (every other order is older), and only the count asks the whole index;
    the newest orders are not walked for it (no Window)."""
    from dashboard import filters
    from dashboard.views import listing

    monkeypatch.setattr(filters, "COUNT_LIMIT", 4)
    monkeypatch.setattr(listing, "COUNT_LIMIT", 4)
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    monkeypatch.setattr(search, "NEWEST_WALK", 0)
    monkeypatch.setattr(search, "expected_orders", lambda pieces: 100)
    monkeypatch.setitem(search._spans, connection.alias, 100)
    for i in range(8):
        make_order(number=f"RN-a{i}", customer_email=f"pa{i}.quokka@example.com")
    for i in range(4):
        email = f"pb{i}.quokka@example.com" if i % 4 != 1 else f"pb{i}@example.com"
        make_order(number=f"RN-b{i}", customer_email=email)
    search_recent.roll(recent=4, roll_after=0)
    monkeypatch.setattr(search_recent, "RECENT", 5 * search.RECENT_MARGIN)
    login(client, manager)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/orders/", {"q": "quokka"})
    assert response.context["total"] == 4
    assert response.context["total_capped"] is True
    assert [o.number for o in response.context["page"].object_list] == ["RN-b3", "RN-b2"]
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len([s for s in sql if s.startswith("WITH k(")]) == 2  # newest, then the count
    assert not any("OFFSET" in s for s in sql)  # no window of the newest orders walked
    # The next page goes on past them, older orders included.
    cursor = response.context["page"].older
    older = client.get("/orders/", {"q": "quokka", "cursor": cursor})
    assert [o.number for o in older.context["page"].object_list] == ["RN-b0", "RN-a7"]


@pytest.mark.parametrize(
    ("oldest", "older", "newest", "total", "capped", "asked"),
    [
        # The two tiers hold the bound between them: the whole index is not asked.
        ((), (1, 2), (2,), 2, True, 2),
        # They do not: the whole index counts, and finds the older orders' too.
        ((0, 1, 2), (), (2,), 2, True, 3),
        # Fewer than the bound anywhere: counted exactly.
        ((3,), (), (), 1, False, 3),
    ],
)
def test_a_count_asks_the_tiers_newest_first(
    client, manager, make_order, monkeypatch, oldest, older, newest, total, capped, asked
):
    _counting(monkeypatch, 2)
    _made(make_order, 5, oldest, "a")
    _made(make_order, 4, older, "b")
    _made(make_order, 4, newest, "c")
    search_recent.roll(recent=4)
    assert len(search_recent.boundary()) == 2
    response, counts, _sql = _searched(client, manager, monkeypatch)
    assert response.context["total"] == total
    assert response.context["total_capped"] is capped
    assert len(counts) == asked
    assert '"orders_order"."created_at" <' not in counts[0]  # the newest tier, open above
    assert '"orders_order"."created_at" <' in counts[1]  # the next, below the newest
    assert all('"orders_order"."created_at" >=' not in sql for sql in counts[2:])
    listed = [order.number for order in response.context["page"].object_list]
    expected = Order.objects.filter(customer_email__contains="quokka").order_by("-created_at")
    assert listed == list(expected.values_list("number", flat=True)[:2])


def test_the_newest_tier_known_whole_gives_the_page_when_the_next_reaches_the_bound(
    client, manager, make_order, monkeypatch
):
    """The newest tier holds a page of the text but not the bound, the next tier the rest of
    it: "1,000+" without the whole index, and the page read by the ids the newest tier gave
    (no window of the newest orders walked)."""
    _counting(monkeypatch, 4)
    _made(make_order, 5, (0, 1, 2, 3, 4), "a")
    _made(make_order, 4, (0, 1, 2, 3), "b")
    _made(make_order, 4, (0, 2, 3), "c")
    search_recent.roll(recent=4)
    assert len(search_recent.boundary()) == 2
    response, counts, sql = _searched(client, manager, monkeypatch)
    assert response.context["total"] == 4
    assert response.context["total_capped"] is True
    assert [o.number for o in response.context["page"].object_list] == ["RW-c3", "RW-c2"]
    assert len(counts) == 2  # the two tiers alone
    assert not any("OFFSET" in s for s in sql)
    older = client.get("/orders/", {"q": "quokka", "cursor": response.context["page"].older})
    assert [o.number for o in older.context["page"].object_list] == ["RW-c0", "RW-b3"]
