"""Search anywhere: a substring of the number, name, email, tracking number, a SKU or a note,
ignoring case and accents, answered from the trigram indexes, ranked exact number, prefix,
rest (newest first), and kept in step by every path that writes what it searches."""

import datetime
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import search
from orders.models import Order
from orders.services import order_transition

from .dashboard_helpers import login, search_with_sample
from .test_order_list import numbers

REAL_SAMPLE = search.trigram_sample  # tests run with none (conftest); this one brings it


def fts_rows():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rowid, text FROM {search.FTS_TABLE}")
        return dict(cursor.fetchall())


def assert_index_in_step():
    """search_text (and on SQLite the FTS5 table) equals what reindex would write now."""
    stored = dict(Order.objects.values_list("pk", "search_text"))
    search.reindex(list(stored))
    fresh = dict(Order.objects.values_list("pk", "search_text"))
    assert stored == fresh
    if connection.vendor == "sqlite":
        fts = fts_rows()
        assert {pk: fts.get(pk) for pk in fresh} == fresh


def test_fold_removes_case_and_accents():
    assert search.fold("  Müller  GARCÍA ") == "muller garcia"
    assert search.fold("Straße") == "strasse"


@pytest.fixture
def people(make_order):
    return {
        "garcia": make_order(
            number="GA-100", customer_name="Maria García", customer_email="maria.garcia@example.com"
        ),
        "muller": make_order(
            number="MU-200", customer_name="Jörg Müller", customer_email="jm@example.org"
        ),
        "other": make_order(number="OT-300", customer_name="Ava Smith"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("garcia", ["GA-100"]),  # inside the name (and the email), without its accent
        ("GARCÍA", ["GA-100"]),
        ("arcia@exam", ["GA-100"]),  # inside the email
        ("Muller", ["MU-200"]),  # finds "Müller"
        ("müll", ["MU-200"]),
        ("u-20", ["MU-200"]),  # inside the number
        ("ee-", ["GA-100", "MU-200", "OT-300"]),  # inside the SKU TEE-1
        ("zzz", []),
    ],
)
def test_search_finds_substrings_ignoring_case_and_accents(client, manager, people, text, expected):
    login(client, manager)
    response = client.get("/orders/", {"q": text})
    assert response.status_code == 200
    assert sorted(numbers(response)) == expected


def test_tracking_number_is_found_from_its_middle(client, manager, make_order, drive):
    order = drive(make_order(number="TR-1"), "shipped")  # tracking 1Z999AA10123456784
    make_order(number="TR-2")
    login(client, manager)
    assert numbers(client.get("/orders/", {"q": "aa1012345"})) == [order.number]


def test_ranking_exact_number_then_prefix_then_rest_newest_first(client, manager, make_order):
    now = timezone.now()
    made = {}
    for number, name, age in [
        ("X-1", "Old Rest x-10", 1),  # contains "x-10" in its name, not at the start
        ("ZX-100", "Newest Rest", 0),  # contains it in the number
        ("X-100", "Exact", 5),  # the exact number, oldest of all
        ("X-1000", "Prefix old", 4),
        ("X-1001", "Prefix new", 3),
    ]:
        made[number] = make_order(number=number, customer_name=name)
        Order.objects.filter(pk=made[number].pk).update(
            created_at=now - datetime.timedelta(hours=age)
        )
    login(client, manager)
    # A term that is not a whole number: ranked, not a jump.
    response = client.get("/orders/", {"q": "x-10"})
    assert numbers(response) == ["X-1001", "X-1000", "X-100", "ZX-100", "X-1"]
    # With a number that exists the list jumps; inside the other filters, ranking puts it first.
    response = client.get("/orders/", {"q": "x-100", "group": "draft"})
    assert numbers(response) == []
    response = client.get(
        "/orders/", {"q": "x-100", "sort": "-relevance", "group": "import_review"}
    )
    assert response.status_code == 302  # the exact number still jumps


def test_exact_number_in_any_case_jumps_to_the_order(client, manager, make_order):
    make_order(number="Case-77")
    login(client, manager)
    for text in ["Case-77", "CASE-77", " case-77 "]:
        response = client.get("/orders/", {"q": text})
        assert response.status_code == 302, text
        assert response["Location"] == "/orders/Case-77/"


def test_ranked_search_pages_with_cursors(client, manager, make_order):
    for i in range(60):
        make_order(number=f"PG-{i:03d}", customer_name=f"Page Person {i}")
    login(client, manager)
    response = client.get("/orders/", {"q": "person"})
    first = numbers(response)
    assert len(first) == 50 and "1–50 of 60" in response.text
    from .test_order_list import page_link

    second = numbers(client.get(page_link(response, "next")))
    assert len(second) == 10 and not set(first) & set(second)


def test_an_exact_sku_ranks_after_prefixes_and_before_the_rest(client, manager, make_order):
    now = timezone.now()
    made = [
        ("SK-1", "print", {"customer_email": "fan.tee-1@example.com"}, 0),  # inside: rest
        ("SK-2", "stock", {}, 1),  # a line of SKU TEE-1
        ("SK-3", "print", {"customer_name": "Tee-1 Fan"}, 5),  # the name starts with it
        ("SK-4", "stock", {}, 2),  # a line of SKU TEE-1
        ("SK-5", "print", {}, 3),  # no match
    ]
    for number, kind, fields, age in made:
        order = make_order(kind=kind, number=number, **fields)
        Order.objects.filter(pk=order.pk).update(created_at=now - datetime.timedelta(hours=age))
    login(client, manager)
    assert numbers(client.get("/orders/", {"q": "tee-1"})) == ["SK-3", "SK-2", "SK-4", "SK-1"]
    # Sorted otherwise, the same orders match.
    newest = numbers(client.get("/orders/", {"q": "tee-1", "sort": "-created"}))
    assert newest == ["SK-1", "SK-2", "SK-4", "SK-3"]


def test_a_long_text_asks_the_index_for_rare_trigrams_and_checks_the_whole(
    client, manager, make_order, monkeypatch
):
    """With a sample of the orders to go by, the trigram index gets a few of the text's
    rarest trigrams (not the "example" every e-mail has); the whole text is still what has
    to match."""
    monkeypatch.setattr(search, "trigram_sample", REAL_SAMPLE)
    monkeypatch.setattr(search, "SAMPLE_MINIMUM", 10)
    monkeypatch.setattr(search, "WINDOW", 1)  # past the newest order: the index
    # No five-character piece counts as rare: on PostgreSQL the trigram index is asked
    # (tests/test_search_grams.py: the index of pieces, which "ones7" would take).
    monkeypatch.setattr(search, "GRAM_RARE", -1)
    search.forget_sample()
    for i in range(30):
        make_order(number=f"EX-{i}", customer_email=f"person{i}@example.com")
    make_order(number="LT-1", customer_email="al.jones7@example.com")
    make_order(number="LT-2", customer_email="al.jones7@example.org")
    make_order(number="LT-3", customer_email="bo.jones8@example.com")
    response, sql, pieces = search_with_sample(
        client, manager, "Al.Jones7@Example.com", search.index_pieces
    )
    assert numbers(response) == ["LT-1"]
    assert "es7" in pieces
    assert not {"exa", "xam", "amp", "mpl", "ple"} & set(pieces)
    if connection.vendor == "sqlite":
        asked = " AND ".join(f'"{piece}"' for piece in pieces)
        assert f"MATCH '{asked}'" in sql
    else:
        pattern = search._pattern("al.jones7@example.com", pieces)
        assert f"\"search_text\" LIKE '{pattern}'" in sql
        assert "\"search_text\"::text LIKE '%al.jones7@example.com%'" not in sql
        assert "LIKE '%al.jones7@example.com%'" in sql  # the whole, checked on each order


@pytest.mark.parametrize(
    ("window", "bound", "sample", "reach"),
    [
        (2000, 1000, None, 20000),
        (7, 1000, None, 20000),
        (2000, 30, None, 20000),
        (7, 1000, "rare", 20000),
        (7, 30, "rare", 20000),
        (2, 1000, None, 64),
        (32, 40, None, 90),
        (2000, 30, "common", 20000),
        (7, 1000, "common", 20000),
    ],
)
def test_best_match_pages_run_through_the_tiers_in_order(
    client, manager, make_order, monkeypatch, window, bound, sample, reach
):
    """Pages read tier by tier (prefix matches, then the rest), newest first within each:
    forward and back, with cursors crossing from one tier to the next, they list exactly
    what one sort of every match lists; also when the last tier is found past the newest
    orders looked at first (orders.search.Window, on SQLite) and counted past them, and on
    PostgreSQL both when the last tier is known whole from its keys (orders.search.Bounded)
    and when it holds more than the count's bound (35 here past a bound of 30); and on
    SQLite when the sample calls the text rare (`rare`), so the last tier is read from FTS5
    at once with its count (Bounded), also when it turns out common after all; on
    PostgreSQL when the sample calls the text common, so the first page's keys are taken
    newest first with the count (Bounded.newest); and when a count goes on checking the
    next newest orders itself (`reach`, COUNT_REACH)."""
    from dashboard import filters
    from dashboard.views import listing
    from orders import search as search_module

    monkeypatch.setattr(search_module, "WINDOW", window)
    monkeypatch.setattr(search_module, "COUNT_WINDOW", window)
    monkeypatch.setattr(search_module, "COUNT_REACH", reach)
    monkeypatch.setattr(filters, "COUNT_LIMIT", bound)
    monkeypatch.setattr(listing, "COUNT_LIMIT", bound)
    if sample:
        guess = 0 if sample == "rare" else 10**9
        monkeypatch.setattr(search_module, "expected_orders", lambda pieces: guess)
        monkeypatch.setitem(search_module._spans, connection.alias, 100)
    now = timezone.now()
    for i in range(70):
        # Even i: the name starts with "tier" (prefix); odd i: "tier" is inside the e-mail.
        fields = (
            {"customer_name": f"Tiermann {i}", "customer_email": f"p{i}@example.com"}
            if i % 2 == 0
            else {"customer_name": f"Person {i}", "customer_email": f"p{i}.tier@example.com"}
        )
        order = make_order(number=f"TR-{i:03d}", **fields)
        Order.objects.filter(pk=order.pk).update(created_at=now - datetime.timedelta(minutes=i))
    expected = [f"TR-{i:03d}" for i in range(0, 70, 2)] + [f"TR-{i:03d}" for i in range(1, 70, 2)]
    login(client, manager)
    with CaptureQueriesContext(connection) as ctx:
        first = client.get("/orders/", {"q": "tier"})
    assert numbers(first) == expected[:50]
    assert ("1–50 of 70" if bound > 70 else f"1–50 of {bound}+") in first.text
    if connection.vendor == "postgresql":
        # The last tier's keys in the list's order, with its count, in one statement.
        counted = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("WITH k")]
        assert len(counted) == 1
        newest = re.search(r"ORDER BY 1 DESC, 2 DESC LIMIT \d+\) SELECT", counted[0])
        assert bool(newest) == (sample == "common"), counted[0]
    from .test_order_list import page_link

    second = client.get(page_link(first, "next"))
    assert numbers(second) == expected[50:]
    back = client.get(page_link(second, "prev"))
    assert numbers(back) == expected[:50]


def test_empty_state_says_what_was_searched_and_offers_to_drop_filters(client, manager, people):
    login(client, manager)
    response = client.get("/orders/", {"q": "nobody-here", "group": "shipped"})
    text = response.text
    assert "No orders match “nobody-here”" in text
    assert "Shipped" in text and "remove the filters" in text.lower()


def test_other_merchants_orders_are_never_found(client, outsider, people):
    login(client, outsider)
    response = client.get("/orders/", {"q": "garcia"})
    assert numbers(response) == []
    assert "García" not in response.text


def test_substring_search_reads_the_trigram_index(client, manager, people, monkeypatch):
    # On SQLite past the newest orders (orders.search.Window), here past the first.
    monkeypatch.setattr(search, "WINDOW", 1)
    login(client, manager)
    with CaptureQueriesContext(connection) as ctx:
        client.get("/orders/", {"q": "arcia"})
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    if connection.vendor == "sqlite":
        assert f"{search.FTS_TABLE} MATCH" in sql
    else:
        assert '"search_text"' in sql and "LIKE" in sql
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'order_search_trgm'")
            assert "gin_trgm_ops" in cursor.fetchone()[0]


def test_every_write_path_keeps_the_index_in_step(
    merchant, manager, staff, make_order, drive, client
):
    order = make_order(number="WP-1", customer_name="Zoë Writer")
    assert_index_in_step()
    order = drive(order, "shipped")  # hand-over writes the tracking number
    assert "1z999aa10123456784" in Order.objects.get(pk=order.pk).search_text
    assert_index_in_step()
    order = order_transition(order=order, name="scan", by="carrier")
    assert_index_in_step()
    # The importers (bulk path).
    from orders.services import order_create_many

    order_create_many(
        merchant=merchant,
        by="test",
        items=[
            {"number": "BULK-1", "lines": [{"sku": "MUG-7", "quantity": 1}], "fields": {}},
            {"number": "BULK-2", "lines": [{"sku": "Tee-1", "quantity": 2}], "fields": {}},
        ],
    )
    assert "\nmug-7\n" in Order.objects.get(number="BULK-1").search_text
    assert_index_in_step()
    login(client, manager)
    assert numbers(client.get("/orders/", {"q": "ug-"})) == ["BULK-1"]
    assert numbers(client.get("/orders/", {"q": "zoe wri"})) == ["WP-1"]


def test_short_text_matches_the_start_of_number_name_or_email(client, manager, people):
    login(client, manager)
    assert numbers(client.get("/orders/", {"q": "mu"})) == ["MU-200"]  # number's start
    assert numbers(client.get("/orders/", {"q": "jm"})) == ["MU-200"]  # email's start


def test_rebuild_command_restores_a_stale_index(make_order, client, manager):
    from django.core.management import call_command

    make_order(number="RB-1", customer_name="Renée Rebuild")
    Order.objects.update(search_text=None)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {search.FTS_TABLE}")
    login(client, manager)
    assert numbers(client.get("/orders/", {"q": "rebuil"})) == []
    call_command("rebuild_search_index", stdout=io.StringIO())
    assert numbers(client.get("/orders/", {"q": "rebuil"})) == ["RB-1"]
    assert_index_in_step()


@pytest.mark.parametrize(
    "text",
    ['"', 'a"b"c', "NEAR(ab cd)", "abc*", "x OR y", "-abc", "%_%", "\\", "ab\x00cd", "é" * 300],
)
def test_search_syntax_of_the_index_is_just_text(client, manager, make_order, text):
    """FTS5 and LIKE syntax in the search box is searched for, never interpreted."""
    make_order(number="SYN-1", customer_name='Odd "quoted" NEAR(ab cd) 100%_off')
    login(client, manager)
    response = client.get("/orders/", {"q": text})
    assert response.status_code == 200
    if "\x00" in text:  # the form refuses a NUL: said, and the search is not applied
        assert "could not be used" in response.text
        return
    folded = search.fold(text)
    if len(folded) >= 3:
        found = folded in search.fold('Odd "quoted" NEAR(ab cd) 100%_off')
        assert numbers(response) == (["SYN-1"] if found else []), text


def test_the_sort_menu_says_best_match_while_searching(client, manager, people):
    login(client, manager)
    searching = client.get("/orders/", {"q": "garcia"}).text
    assert '<option value="-relevance" selected>' in searching
    plain = client.get("/orders/").text
    assert '<option value="-created" selected>' in plain
    chosen = client.get("/orders/", {"q": "garcia", "sort": "number"}).text
    assert '<option value="number" selected>' in chosen


@pytest.mark.parametrize(
    ("limit", "expected", "queries"), [(100, 2 + 10, 3), (5, 5, 5), (3, 3, 5), (2, 2, 2)]
)
def test_a_windowed_count_checks_the_newest_orders_then_goes_on_or_past_them(
    make_order, limit, expected, queries
):
    """orders.search.Window's count: the newest count_size orders, then (when the text is
    common enough there) up to count_reach orders, then the indexed query past them; each
    order counted once."""
    from dashboard.paging import windowed_count

    now = timezone.now()
    for i in range(30):
        # The newest four: every second one matches; the next six: none; then every second.
        match = (i < 4 and i % 2 == 0) or (i >= 10 and i % 2 == 0)
        order = make_order(number=f"WC-{i:02d}", customer_name="Match" if match else "Other")
        Order.objects.filter(pk=order.pk).update(created_at=now - datetime.timedelta(minutes=i))
    around = Order.objects.filter(number__startswith="WC-")
    plain = around.filter(customer_name="Match")
    window = search.Window(around, plain, size=4, count_size=4, count_reach=10)
    with CaptureQueriesContext(connection) as ctx:
        assert windowed_count(plain, window, limit) == expected
    # 100: the window's last order, its 2, then past it. 5 and 3: 2 in the window is common
    # enough to go on through the tenth order (none there), then past it. 2: the window's.
    assert len(ctx.captured_queries) == queries
