"""Five-character pieces (orders.search.long_grams, long_pieces): on PostgreSQL a search for
a long text of rare pieces (a whole tracking number, an e-mail, a number's digits) asks the
index of order_search_grams() (migration 0015) for its two rarest pieces instead of the
trigram index, whose lists grow with every order; the SQL function and the Python one give
the same pieces, and a text holding another holds every piece of it."""

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from orders import search
from orders.models import Order

from .dashboard_helpers import search_with_sample

REAL_SAMPLE = search.trigram_sample  # tests run with none (conftest); these bring their own

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the index of pieces is PostgreSQL's"
)

# Letters and digits in and out of ASCII, upper case, punctuation and line breaks: where
# runs start and end is what the two functions must agree on.
TEXT = st.text(
    alphabet=st.sampled_from("abcxyz0123456789ABZ.-@_ \néüßİ😀"),
    max_size=40,
)


@given(TEXT, st.integers(0, 40), st.integers(0, 40))
def test_a_text_holding_another_holds_every_piece_of_it(text, start, length):
    """No order holding the searched text is missed: each of its pieces is one of the
    stored text's."""
    inside = text[start : start + length]
    assert search.long_grams(inside) <= search.long_grams(text)


def test_pieces_are_five_ascii_letters_or_digits_within_one_run():
    assert search.long_grams("\n1z0000333\nana.jones335@example.com\n") == {
        "1z000", "z0000", "00003", "00033", "00333",
        "jones", "ones3", "nes33", "es335",
        "examp", "xampl", "ample",
    }  # fmt: skip
    # "ana", "com": runs shorter than five; "müller": ü ends a run, as in the SQL function.
    assert search.long_grams("ana müller com") == set()


def sampled(monkeypatch, counts, size=2000):
    monkeypatch.setattr(search, "trigram_sample", lambda alias=None: (size, {}))
    monkeypatch.setitem(search._gram_counts, connection.alias, counts)


@postgresql_only
def test_the_two_rarest_pieces_are_asked_later_ones_first_among_equals(monkeypatch):
    common = {"1z000": 900, "z0000": 900, "00000": 1500, "00003": 40, "00033": 12}
    sampled(monkeypatch, {**common, "00333": 6, "03333": 1, "33333": 2, "33334": 0})
    assert search.long_pieces("1z0000000003333334") == ["03333", "33334"]
    # Of pieces the sample never saw, the latest.
    sampled(monkeypatch, {**common, "00333": 0, "03333": 0, "33333": 0, "33334": 0})
    assert search.long_pieces("1z0000000003333334") == ["33333", "33334"]
    sampled(monkeypatch, {"ample": 2000, "xampl": 2000, "examp": 2000, "jones": 200})
    assert search.long_pieces("ana.jones335@example.com") == ["nes33", "es335"]
    # A number's first digits: one piece.
    assert search.long_pieces("43333") == ["43333"]


@postgresql_only
def test_trigrams_serve_when_no_piece_is_rare_or_there_is_nothing_to_go_by(monkeypatch):
    sampled(monkeypatch, {"uller": 50, "mulle": 50})
    assert search.long_pieces("muller") is None  # every piece in 2.5 % of the orders
    sampled(monkeypatch, {"uller": search.GRAM_RARE})
    assert search.long_pieces("uller") == ["uller"]  # as rare as still pays
    assert search.long_pieces("cas.mul") is None  # no run of five
    sampled(monkeypatch, {}, size=search.SAMPLE_MINIMUM - 1)
    assert search.long_pieces("1z0000000003333334") is None  # too few orders to sample
    monkeypatch.setattr(search, "trigram_sample", lambda alias=None: (2000, {}))
    monkeypatch.delitem(search._gram_counts, connection.alias, raising=False)
    assert search.long_pieces("1z0000000003333334") is None  # a sample without pieces


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's FTS5 has no pieces")
def test_sqlite_asks_fts5_alone(monkeypatch):
    sampled(monkeypatch, {})
    assert search.long_pieces("1z0000000003333334") is None


@postgresql_only
@pytest.mark.django_db
@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_the_sql_function_gives_the_pieces_python_gives(text):
    with connection.cursor() as cursor:
        cursor.execute("SELECT order_search_grams(%s)", [text])
        (stored,) = cursor.fetchone()
    assert set(stored) == search.long_grams(text)
    assert len(stored) == len(set(stored))


@postgresql_only
@pytest.mark.django_db
def test_a_whole_email_is_found_through_its_rare_pieces(client, manager, make_order, monkeypatch):
    """With a sample that calls its pieces rare, the search asks the index of pieces (and
    not the trigram index) and checks the whole text on the orders it gives: an order
    holding its pieces in other words is not listed; one holding the text inside a longer
    word is."""
    monkeypatch.setattr(search, "trigram_sample", REAL_SAMPLE)
    monkeypatch.setattr(search, "SAMPLE_MINIMUM", 10)
    search.forget_sample()
    for i in range(30):
        make_order(number=f"GR-{i}", customer_email=f"person{i}@example.com")
    make_order(number="GR-HIT", customer_email="zoe.quill481@example.com")
    make_order(number="GR-IN", customer_email="xzoe.quill481@example.com")
    # Every piece of "quill481", in two words: the index gives it, the check does not.
    make_order(number="GR-APART", customer_email="quill48@example.com", customer_name="Al Ill481")
    response, sql, pieces = search_with_sample(
        client, manager, "Zoe.Quill481@example.com", search.long_pieces
    )
    listed = [order.number for order in response.context["page"].object_list]
    assert sorted(listed) == ["GR-HIT", "GR-IN"]
    assert pieces and all(len(piece) == search.GRAM for piece in pieces)
    asked = ", ".join(f"'{piece}'" for piece in pieces)
    assert f'order_search_grams("orders_order"."search_text") @> ARRAY[{asked}]' in sql
    assert "gin_trgm" not in sql and '"search_text" LIKE \'%' not in sql
    assert "LIKE '%zoe.quill481@example.com%'" in sql  # the whole, checked on each order
    # What the index of pieces gives is what a plain check of every order gives.
    plain = Order.objects.filter(search_text__contains="zoe.quill481@example.com")
    assert sorted(plain.values_list("number", flat=True)) == ["GR-HIT", "GR-IN"]


@postgresql_only
@pytest.mark.django_db
def test_the_index_of_pieces_is_there_and_answers_a_lookup():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'order_search_grams'")
        (definition,) = cursor.fetchone()
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM orders_order "
            "WHERE order_search_grams(search_text) @> ARRAY['33334']::text[]"
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "USING gin (order_search_grams(search_text))" in definition
    assert "order_search_grams" in plan and "Index Scan" in plan
